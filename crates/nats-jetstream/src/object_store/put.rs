//! [`ObjectStore::put`]: an `AsyncRead` streamed into chunks with a bounded window of chunk
//! publishes in flight, then the metadata; cleanup when it fails (J26).

use std::collections::VecDeque;
use std::time::SystemTime;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::digest::{validate_object, Hasher};
use super::info::{ObjectInfo, ObjectMeta};
use super::order::safe_prefix;
use super::{retry_transient, ObjectStore, ObjectStoreError};
use crate::error::Error;
use crate::publish::PubAckFuture;

/// Room left in a message for the chunk's headers (`Nats-Msg-Id`) next to its payload.
const HEADER_ROOM: usize = 1024;

impl ObjectStore {
    /// Stores an object read from `reader` to its end (J26), replacing any object of the
    /// same name, and returns its info.
    ///
    /// The data goes out in chunks (the meta's `max_chunk_size`, else the store's, else
    /// 128 KiB) with at most the put window (8 MiB) of chunks sent and not yet acked: memory
    /// stays bounded whatever the size. Each chunk is re-sent with its message id until
    /// acked, so a leader fail-over stores it exactly once (J9); chunks a fail-over left out
    /// of order (a re-send stored after later chunks; the acks' sequences tell) are deleted
    /// and sent again in order, which is why a put also keeps up to the window again of acked
    /// chunks. The metadata message goes
    /// last; only then are a replaced object's chunks purged. When anything fails (the
    /// reader, a chunk beyond the publish retry window), the chunks written so far are
    /// purged and no new metadata is written: the old object, if any, stays as it was.
    /// Dropping the future midway also purges the chunks (in a background task).
    ///
    /// # Errors
    ///
    /// [`ObjectStoreError::Read`] (the reader failed), [`ObjectStoreError::Publish`] (a chunk
    /// or the metadata was refused or not acked: sealed or full bucket, no stream),
    /// [`ObjectStoreError::InvalidName`], [`ObjectStoreError::Api`] (an argument: a chunk
    /// size above the server's max payload).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::object_store::ObjectStore) -> Result<(), Box<dyn std::error::Error>> {
    /// let mut file = tokio::fs::File::open("video.mp4").await?;
    /// let info = store.put("video.mp4", &mut file).await?;
    /// println!("{} bytes, {} chunks, {}", info.size, info.chunks, info.digest.unwrap_or_default());
    /// # Ok(()) }
    /// ```
    pub async fn put<R>(
        &self,
        meta: impl Into<ObjectMeta>,
        reader: &mut R,
    ) -> Result<ObjectInfo, ObjectStoreError>
    where
        R: AsyncRead + Unpin + ?Sized,
    {
        let meta = meta.into();
        validate_object(&meta.name)?;
        let chunk_size = self.chunk_size_for(&meta)?;
        let existing = self.existing(&meta.name).await?;
        let nuid = self.new_nuid();
        let mut info = ObjectInfo::new(&self.name, nuid.clone(), &meta);
        info.options.max_chunk_size = Some(chunk_size);

        let mut chunks = Chunks::new(self.clone(), nuid, chunk_size);
        if let Err(e) = chunks.send_all(reader).await {
            chunks.abandon().await;
            return Err(e);
        }
        info.size = chunks.size;
        info.chunks = chunks.count;
        info.digest = Some(std::mem::take(&mut chunks.hasher).finish());
        info.mtime = SystemTime::now();
        if let Err(e) = self.publish_meta(&info).await {
            // The metadata may have been stored although its ack was lost: then the object
            // is complete and its chunks must stay.
            if matches!(&e, ObjectStoreError::Publish(p) if p.may_be_stored()) {
                chunks.keep();
            } else {
                chunks.abandon().await;
            }
            return Err(e);
        }
        chunks.keep();
        if let Some(old) = existing {
            if !old.deleted && !old.nuid.is_empty() && old.nuid != info.nuid {
                if let Err(e) = self.purge_chunks(&old.nuid).await {
                    tracing::warn!(error = %e, object = %info.name, "the replaced object's chunks were not purged");
                }
            }
        }
        Ok(info)
    }

    /// The chunk size of a put: the meta's, else the store's; below the server's max payload.
    fn chunk_size_for(&self, meta: &ObjectMeta) -> Result<usize, ObjectStoreError> {
        let size = meta.max_chunk_size.unwrap_or(self.chunk_size).max(1);
        let max_payload = self.context().client().server_info().max_payload;
        if max_payload > 0 && size + HEADER_ROOM > max_payload {
            return Err(ObjectStoreError::Api(Error::InvalidArgument(format!(
                "chunk size {size} does not fit the server's max payload of {max_payload} bytes"
            ))));
        }
        Ok(size)
    }
}

/// The chunk publishes of one put: read, hash, publish, with a bounded window of acks due.
/// Unless [`keep`](Chunks::keep) is called, its chunks are purged: by
/// [`abandon`](Chunks::abandon), or by a background task when it is dropped (the put's
/// future was dropped midway) — in both cases after the acks still due, so no chunk lands
/// after the purge.
struct Chunks {
    store: ObjectStore,
    nuid: String,
    subject: String,
    chunk_size: usize,
    window: usize,
    /// Chunk index and ack future of each chunk sent and not yet acked.
    in_flight: VecDeque<(u64, PubAckFuture)>,
    /// The data and stream sequence (once acked) of the latest chunks, so that chunks stored
    /// out of order can be re-sent: the in-flight ones and as many acked ones again.
    retained: VecDeque<Retained>,
    /// The highest stream sequence of the chunks no longer retained.
    dropped_max: u64,
    /// The highest stream sequence acked so far.
    max_seq: u64,
    repairs: u32,
    hasher: Hasher,
    size: u64,
    count: u64,
    keep: bool,
}

struct Retained {
    index: u64,
    data: Bytes,
    seq: Option<u64>,
}

/// Order repairs one put may make before it fails.
const MAX_REPAIRS: u32 = 10;

impl Chunks {
    fn new(store: ObjectStore, nuid: String, chunk_size: usize) -> Chunks {
        Chunks {
            subject: store.chunk_subject(&nuid),
            window: (store.put_window / chunk_size).max(1),
            store,
            nuid,
            chunk_size,
            in_flight: VecDeque::new(),
            retained: VecDeque::new(),
            dropped_max: 0,
            max_seq: 0,
            repairs: 0,
            hasher: Hasher::default(),
            size: 0,
            count: 0,
            keep: false,
        }
    }

    /// Reads `reader` to its end, publishing each full chunk (and the last, shorter one),
    /// then waits for every ack.
    async fn send_all<R>(&mut self, reader: &mut R) -> Result<(), ObjectStoreError>
    where
        R: AsyncRead + Unpin + ?Sized,
    {
        loop {
            let mut buf = BytesMut::with_capacity(self.chunk_size);
            while buf.len() < self.chunk_size {
                let n = reader
                    .read_buf(&mut buf)
                    .await
                    .map_err(ObjectStoreError::Read)?;
                if n == 0 {
                    break;
                }
            }
            if buf.is_empty() {
                break;
            }
            let last = buf.len() < self.chunk_size;
            let chunk = buf.freeze();
            self.hasher.update(&chunk);
            self.size += chunk.len() as u64;
            let index = self.count;
            self.count += 1;
            while self.in_flight.len() >= self.window {
                self.next_ack().await?;
            }
            self.retained.push_back(Retained {
                index,
                data: chunk.clone(),
                seq: None,
            });
            self.send(index, chunk).await?;
            if last {
                break;
            }
        }
        while !self.in_flight.is_empty() {
            self.next_ack().await?;
        }
        Ok(())
    }

    async fn send(&mut self, index: u64, chunk: Bytes) -> Result<(), ObjectStoreError> {
        let ack = self.store.context().publish(&self.subject, chunk).await?;
        self.in_flight.push_back((index, ack));
        Ok(())
    }

    /// Records the stream sequence of chunk `index`.
    fn record(&mut self, index: u64, seq: u64) {
        let first = self.retained.front().map_or(0, |r| r.index);
        if let Some(r) = index
            .checked_sub(first)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.retained.get_mut(i))
        {
            r.seq = Some(seq);
        }
    }

    /// Waits for the oldest ack; a chunk stored before an earlier one starts a repair.
    async fn next_ack(&mut self) -> Result<(), ObjectStoreError> {
        let Some((index, ack)) = self.in_flight.pop_front() else {
            return Ok(());
        };
        let seq = ack.await?.sequence;
        self.record(index, seq);
        if seq <= self.max_seq {
            return self.repair().await;
        }
        self.max_seq = seq;
        while self.retained.len() > 2 * self.window {
            match self.retained.front() {
                Some(Retained { seq: Some(s), .. }) => {
                    self.dropped_max = self.dropped_max.max(*s);
                    self.retained.pop_front();
                }
                _ => break,
            }
        }
        Ok(())
    }

    /// Chunks were stored out of order (a re-send after a fail-over landed after chunks sent
    /// later): waits for every ack, deletes the chunks from the first one out of place on,
    /// and sends them again in order (J26).
    async fn repair(&mut self) -> Result<(), ObjectStoreError> {
        while let Some((index, ack)) = self.in_flight.pop_front() {
            let seq = ack.await?.sequence;
            self.record(index, seq);
        }
        self.repairs += 1;
        let seqs: Vec<u64> = self.retained.iter().filter_map(|r| r.seq).collect();
        let good = match safe_prefix(self.dropped_max, &seqs) {
            Some(good) if seqs.len() == self.retained.len() && self.repairs <= MAX_REPAIRS => good,
            _ => {
                return Err(ObjectStoreError::Corrupt {
                    name: self.subject.clone(),
                    reason: "chunks were stored out of order and cannot be put back in order"
                        .into(),
                })
            }
        };
        tracing::debug!(
            subject = %self.subject,
            resend = seqs.len() - good,
            "chunks stored out of order after a fail-over; re-sending them in order"
        );
        for &seq in &seqs[good..] {
            retry_transient(|| self.store.stream.delete_message(seq)).await?;
        }
        self.max_seq = if good > 0 {
            seqs[good - 1]
        } else {
            self.dropped_max
        };
        let resend: Vec<(u64, Bytes)> = self
            .retained
            .iter_mut()
            .skip(good)
            .map(|r| {
                r.seq = None;
                (r.index, r.data.clone())
            })
            .collect();
        for (index, data) in resend {
            self.send(index, data).await?;
        }
        Ok(())
    }

    /// The chunks belong to a stored object now.
    fn keep(&mut self) {
        self.keep = true;
    }

    /// Waits for the acks still due (whatever they say), then purges the chunks.
    async fn abandon(&mut self) {
        self.keep = true;
        let in_flight = std::mem::take(&mut self.in_flight);
        purge(
            self.store.clone(),
            std::mem::take(&mut self.nuid),
            in_flight,
        )
        .await;
    }
}

async fn purge(store: ObjectStore, nuid: String, in_flight: VecDeque<(u64, PubAckFuture)>) {
    for (_, ack) in in_flight {
        let _ = ack.await;
    }
    if let Err(e) = store.purge_chunks(&nuid).await {
        tracing::warn!(error = %e, %nuid, "a failed put's chunks were not purged");
    }
}

impl Drop for Chunks {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let in_flight = std::mem::take(&mut self.in_flight);
        runtime.spawn(purge(
            self.store.clone(),
            std::mem::take(&mut self.nuid),
            in_flight,
        ));
    }
}
