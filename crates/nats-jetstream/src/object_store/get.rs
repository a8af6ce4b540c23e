//! [`ObjectStore::get`] and [`Object`]: the chunks of one object from an ordered consumer,
//! as an `AsyncRead` / `AsyncBufRead` and a `Stream` of `Bytes`, the digest checked when the
//! last chunk arrives (J27).

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context as TaskContext, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes};
use futures_core::Stream;
use tokio::io::{AsyncBufRead, AsyncRead, ReadBuf};

use super::digest::{same_digest, Hasher};
use super::info::ObjectInfo;
use super::{ObjectStore, ObjectStoreError};
use crate::consumer::pull::OrderedConfig;
use crate::consumer::{DeliverPolicy, Messages};

/// Most links followed from one name (links to links are refused when made; this bounds a
/// loop another client may have written).
const MAX_LINK_HOPS: usize = 8;
/// The pull expiry of a get's ordered consumer: with a 3 s heartbeat, a lost consumer is
/// noticed within 6 s (and at once after a reconnect).
const PULL_EXPIRES: Duration = Duration::from_secs(10);
const PULL_HEARTBEAT: Duration = Duration::from_secs(3);
/// A read with no chunk for this long fails instead of waiting for ever (the object was
/// replaced or deleted while being read; fail-overs resume well within it).
const STALL: Duration = Duration::from_secs(120);
/// How long a read waits for more chunks once the consumer said none are pending although
/// the object is not complete. Right after a fail-over a new stream leader's consumer can
/// report 0 pending for a moment, so this is not taken as proof of a missing chunk at once.
const SHORT_STALL: Duration = Duration::from_secs(10);

impl ObjectStore {
    /// Opens an object for reading (J27): an [`Object`] that reads its chunks as they are
    /// asked for, following a link to an object (in this or another bucket). The SHA-256
    /// digest is checked when the last chunk arrives: a mismatch fails the read with
    /// [`ObjectStoreError::DigestMismatch`] inside the `io::Error` (see
    /// [`ObjectStoreError::from_io`]) and the last chunk is not handed out. The chunks come
    /// from an ordered consumer, which resumes after the last chunk read when the connection
    /// or the server is lost (J18). At most the get window (16 MiB) of chunks is in flight.
    ///
    /// # Errors
    ///
    /// [`ObjectStoreError::NotFound`] (missing or deleted, also behind a link),
    /// [`ObjectStoreError::BucketLink`] (the name links a whole bucket),
    /// [`ObjectStoreError::BucketNotFound`], [`ObjectStoreError::InvalidName`],
    /// [`ObjectStoreError::Api`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::object_store::ObjectStore) -> Result<(), Box<dyn std::error::Error>> {
    /// let mut object = store.get("video.mp4").await?;
    /// println!("{} bytes", object.info().size);
    /// let mut file = tokio::fs::File::create("/tmp/video.mp4").await?;
    /// tokio::io::copy_buf(&mut object, &mut file).await?; // digest checked at the end
    /// # Ok(()) }
    /// ```
    pub async fn get(&self, name: impl AsRef<str>) -> Result<Object, ObjectStoreError> {
        let mut store = self.clone();
        let mut info = store.info(name.as_ref()).await?;
        for _ in 0..MAX_LINK_HOPS {
            let Some(link) = info.link().cloned() else {
                return store.open(info).await;
            };
            let Some(target) = link.name else {
                return Err(ObjectStoreError::BucketLink {
                    name: info.name,
                    bucket: link.bucket,
                });
            };
            if link.bucket != store.name {
                store = self.context().get_object_store(&link.bucket).await?;
            }
            info = store.info(&target).await?;
        }
        Err(ObjectStoreError::Corrupt {
            name: name.as_ref().to_owned(),
            reason: format!("more than {MAX_LINK_HOPS} links in a row"),
        })
    }

    /// Starts reading the chunks of `info` (not a link).
    async fn open(&self, info: ObjectInfo) -> Result<Object, ObjectStoreError> {
        let messages = if info.chunks == 0 {
            None
        } else {
            let chunk = info
                .options
                .max_chunk_size
                .unwrap_or_else(|| usize::try_from(info.size / info.chunks).unwrap_or(usize::MAX))
                .max(1);
            let ordered = self
                .stream
                .create_consumer(OrderedConfig {
                    filter_subject: self.chunk_subject(&info.nuid),
                    deliver_policy: DeliverPolicy::All,
                    max_messages: Some((self.get_window / chunk).clamp(2, 1_000)),
                    expires: Some(PULL_EXPIRES),
                    heartbeat: Some(PULL_HEARTBEAT),
                    ..Default::default()
                })
                .await?;
            Some(ordered.messages().await?)
        };
        Ok(Object {
            info,
            messages,
            current: Bytes::new(),
            hasher: Hasher::default(),
            received_bytes: 0,
            received_chunks: 0,
            state: State::Reading,
            stall: Box::pin(tokio::time::sleep(STALL)),
            none_pending: false,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Reading,
    /// Every chunk arrived and the digest matched: what is left is `current`.
    Verified,
    /// An error was returned; reads keep failing.
    Failed,
}

/// An object being read (from [`ObjectStore::get`]): an [`AsyncRead`] and [`AsyncBufRead`]
/// over its bytes, and a `Stream` of its chunks as `Bytes` (no copy: the payloads as they
/// came from the server). End of data comes only after the digest matched.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(store: nats_jetstream::object_store::ObjectStore) -> Result<(), Box<dyn std::error::Error>> {
/// use futures_util::TryStreamExt;
/// let mut object = store.get("log.txt").await?;
/// while let Some(chunk) = object.try_next().await? {
///     print!("{}", String::from_utf8_lossy(&chunk));
/// }
/// # Ok(()) }
/// ```
pub struct Object {
    info: ObjectInfo,
    messages: Option<Messages>,
    /// The part of the current chunk not read yet.
    current: Bytes,
    hasher: Hasher,
    received_bytes: u64,
    received_chunks: u64,
    state: State,
    /// Fires when no chunk came for [`STALL`].
    stall: Pin<Box<tokio::time::Sleep>>,
    /// The last chunk's consumer reported nothing pending although chunks are missing.
    none_pending: bool,
}

impl Object {
    /// The object's info (of the linked object, when opened through a link).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::object_store::ObjectStore) -> Result<(), nats_jetstream::object_store::ObjectStoreError> {
    /// let object = store.get("report.pdf").await?;
    /// println!("{} bytes, modified {:?}", object.info().size, object.info().mtime);
    /// # Ok(()) }
    /// ```
    pub fn info(&self) -> &ObjectInfo {
        &self.info
    }

    /// Fills `current` with the next chunk. `Ok(false)` at the (verified) end.
    fn poll_chunk(&mut self, cx: &mut TaskContext<'_>) -> Poll<io::Result<bool>> {
        loop {
            if !self.current.is_empty() {
                return Poll::Ready(Ok(true));
            }
            match self.state {
                State::Verified => return Poll::Ready(Ok(false)),
                State::Failed => {
                    return Poll::Ready(Err(io::Error::other("the object read failed before")))
                }
                State::Reading => {}
            }
            if self.received_chunks >= self.info.chunks {
                let result = self.verify();
                return Poll::Ready(self.finish(result).map(|()| !self.current.is_empty()));
            }
            let Some(messages) = self.messages.as_mut() else {
                let result = self.verify();
                return Poll::Ready(self.finish(result).map(|()| false));
            };
            let item = match Pin::new(messages).poll_next(cx) {
                Poll::Ready(item) => item,
                Poll::Pending => {
                    ready!(self.stall.as_mut().poll(cx));
                    let r = Err(self.corrupt(if self.none_pending {
                        format!("{} of {} chunks stored", self.received_chunks, self.info.chunks)
                    } else {
                        format!(
                            "no chunk for {STALL:?} after {} of {} (replaced or deleted meanwhile?)",
                            self.received_chunks, self.info.chunks
                        )
                    }));
                    return Poll::Ready(self.finish(r).map(|()| false));
                }
            };
            let msg = match item {
                Some(Ok(msg)) => msg,
                Some(Err(e)) if !e.is_terminal() => continue,
                Some(Err(e)) => {
                    let r = Err(ObjectStoreError::Consume(e));
                    return Poll::Ready(self.finish(r).map(|()| false));
                }
                None => {
                    let r = Err(self.corrupt("the chunk stream ended early".into()));
                    return Poll::Ready(self.finish(r).map(|()| false));
                }
            };
            let pending = msg.info().map(|i| i.pending).unwrap_or(u64::MAX);
            let payload = msg.payload.clone();
            self.received_chunks += 1;
            self.received_bytes += payload.len() as u64;
            self.hasher.update(&payload);
            if self.received_bytes > self.info.size {
                let r = Err(self.corrupt(format!(
                    "more than the {} bytes of its info",
                    self.info.size
                )));
                return Poll::Ready(self.finish(r).map(|()| false));
            }
            // None pending while chunks are missing: wait a short while for more (a fail-over
            // can make a new consumer report 0 for a moment), then the object is incomplete.
            self.none_pending = self.received_chunks < self.info.chunks && pending == 0;
            let wait = if self.none_pending {
                SHORT_STALL
            } else {
                STALL
            };
            self.stall
                .as_mut()
                .reset(tokio::time::Instant::now() + wait);
            if self.received_chunks == self.info.chunks {
                // The last chunk: handed out only with a matching digest.
                let result = self.verify();
                self.finish(result)?;
                self.messages = None;
            }
            self.current = payload;
        }
    }

    /// Checks size, chunk count and digest once everything arrived.
    fn verify(&mut self) -> Result<(), ObjectStoreError> {
        if self.received_bytes != self.info.size {
            return Err(self.corrupt(format!(
                "{} bytes read, its info says {}",
                self.received_bytes, self.info.size
            )));
        }
        let actual = std::mem::take(&mut self.hasher).finish();
        match &self.info.digest {
            Some(expected) if !same_digest(expected, &actual) => {
                Err(ObjectStoreError::DigestMismatch {
                    name: self.info.name.clone(),
                    expected: expected.clone(),
                    actual,
                })
            }
            _ => Ok(()),
        }
    }

    fn finish(&mut self, result: Result<(), ObjectStoreError>) -> io::Result<()> {
        match result {
            Ok(()) => {
                self.state = State::Verified;
                Ok(())
            }
            Err(e) => {
                self.state = State::Failed;
                self.messages = None;
                self.current = Bytes::new();
                Err(e.into_io())
            }
        }
    }

    fn corrupt(&self, reason: String) -> ObjectStoreError {
        ObjectStoreError::Corrupt {
            name: self.info.name.clone(),
            reason,
        }
    }
}

impl AsyncRead for Object {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        if !ready!(this.poll_chunk(cx))? {
            return Poll::Ready(Ok(()));
        }
        let n = this.current.len().min(buf.remaining());
        buf.put_slice(&this.current[..n]);
        this.current.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncBufRead for Object {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        ready!(this.poll_chunk(cx))?;
        Poll::Ready(Ok(&this.current[..]))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let this = self.get_mut();
        let n = amt.min(this.current.len());
        this.current.advance(n);
    }
}

impl Stream for Object {
    type Item = io::Result<Bytes>;

    /// The rest of the current chunk, then each following chunk, as it came from the server.
    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        match ready!(this.poll_chunk(cx)) {
            Ok(true) => Poll::Ready(Some(Ok(std::mem::take(&mut this.current)))),
            Ok(false) => Poll::Ready(None),
            Err(e) => Poll::Ready(Some(Err(e))),
        }
    }
}

impl fmt::Debug for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Object")
            .field("name", &self.info.name)
            .field("size", &self.info.size)
            .field("received_bytes", &self.received_bytes)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}
