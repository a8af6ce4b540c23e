//! [`ObjectStore::put`]: an `AsyncRead` streamed into chunks with a bounded window of chunk
//! publishes in flight, then the metadata; cleanup when it fails (J26).

use std::collections::VecDeque;
use std::time::SystemTime;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt};

use super::digest::{validate_object, Hasher};
use super::info::{ObjectInfo, ObjectMeta};
use super::{ObjectStore, ObjectStoreError};
use crate::error::Error;
use crate::publish::PubAckFuture;

/// Room left in a message for the chunk's headers (`Nats-Msg-Id`) next to its payload.
const HEADER_ROOM: usize = 1024;

impl ObjectStore {
    /// Stores an object read from `reader` to its end (J26), replacing any object of the
    /// same name, and returns its info.
    ///
    /// The data goes out in chunks (the meta's `max_chunk_size`, else the store's, else
    /// 128 KiB) with at most the put window (16 MiB) of chunks sent and not yet acked: memory
    /// stays bounded whatever the size. Each chunk is re-sent with its message id until
    /// acked, so a leader fail-over stores it exactly once (J9). The metadata message goes
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
    in_flight: VecDeque<PubAckFuture>,
    hasher: Hasher,
    size: u64,
    count: u64,
    keep: bool,
}

impl Chunks {
    fn new(store: ObjectStore, nuid: String, chunk_size: usize) -> Chunks {
        Chunks {
            subject: store.chunk_subject(&nuid),
            window: (store.put_window / chunk_size).max(1),
            store,
            nuid,
            chunk_size,
            in_flight: VecDeque::new(),
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
            self.count += 1;
            while self.in_flight.len() >= self.window {
                self.next_ack().await?;
            }
            let ack = self.store.context().publish(&self.subject, chunk).await?;
            self.in_flight.push_back(ack);
            if last {
                break;
            }
        }
        while !self.in_flight.is_empty() {
            self.next_ack().await?;
        }
        Ok(())
    }

    async fn next_ack(&mut self) -> Result<(), ObjectStoreError> {
        if let Some(ack) = self.in_flight.pop_front() {
            ack.await?;
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

async fn purge(store: ObjectStore, nuid: String, in_flight: VecDeque<PubAckFuture>) {
    for ack in in_flight {
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
