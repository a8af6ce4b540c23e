//! Object Store (ADR-20, J25–J27): buckets of objects of any size, each stored as chunks on
//! `$O.<bucket>.C.<nuid>` and one metadata message on `$O.<bucket>.M.<base64url(name)>`, in
//! the stream `OBJ_<bucket>`.
//!
//! - [`ObjectStore::put`] streams from an `AsyncRead` in chunks (128 KiB by default) with a
//!   bounded number of chunk publishes in flight through the context's ack window, so each
//!   chunk is re-sent with its message id until acked (exactly once across fail-overs, J9),
//!   and the object is never held in memory. The metadata goes last; a put that fails leaves
//!   nothing visible and purges its chunks; a replaced object's chunks are purged only after
//!   the new metadata is stored (J26).
//! - [`ObjectStore::get`] returns an [`Object`]: an `AsyncRead` / `AsyncBufRead` (and a
//!   `Stream` of chunk `Bytes`) fed by an ordered consumer, which resumes after a reconnect
//!   from the last chunk read; the SHA-256 digest is checked when the last chunk arrives
//!   (J27).
//! - [`info`](ObjectStore::info), [`list`](ObjectStore::list), [`watch`](ObjectStore::watch),
//!   [`delete`](ObjectStore::delete), [`update_metadata`](ObjectStore::update_metadata),
//!   [`add_link`](ObjectStore::add_link), [`add_bucket_link`](ObjectStore::add_bucket_link),
//!   [`status`](ObjectStore::status), [`seal`](ObjectStore::seal).
//!
//! Files: `bucket.rs` (the `Context` methods), `config.rs`, `info.rs` (the JSON), `put.rs`,
//! `get.rs` (the reader), `ops.rs` (info, delete, update, links), `watch.rs` (list, watch),
//! `digest.rs` (names, subjects, SHA-256), `error.rs`.
//!
//! ```no_run
//! # async fn demo(js: nats_jetstream::Context) -> Result<(), Box<dyn std::error::Error>> {
//! use nats_jetstream::object_store;
//! use tokio::io::AsyncReadExt;
//!
//! let store = js
//!     .create_object_store(object_store::Config { bucket: "files".into(), ..Default::default() })
//!     .await?;
//! let mut file = tokio::fs::File::open("report.pdf").await?;
//! let info = store.put("report.pdf", &mut file).await?;
//! println!("{} bytes in {} chunks, {:?}", info.size, info.chunks, info.digest);
//!
//! let mut object = store.get("report.pdf").await?;
//! let mut bytes = Vec::new();
//! object.read_to_end(&mut bytes).await?; // fails if the digest does not match
//! # Ok(()) }
//! ```

mod bucket;
mod config;
mod digest;
mod error;
mod get;
mod info;
mod ops;
mod order;
mod put;
mod watch;

use std::future::{Future, IntoFuture};
use std::time::Duration;

pub use bucket::BucketNames;
pub use config::{Config, Status};
pub use error::ObjectStoreError;
pub use get::Object;
pub use info::{ObjectInfo, ObjectLink, ObjectMeta, ObjectOptions};
pub use watch::{List, Watch};

use crate::context::Context;
use crate::error::Error;
use crate::stream;

/// The chunk size when neither the put nor the store sets one (ADR-20).
pub const DEFAULT_CHUNK_SIZE: usize = 128 * 1024;
/// Bytes of chunks a put keeps in flight (sent, not yet acked) by default.
pub const DEFAULT_PUT_WINDOW: usize = 8 * 1024 * 1024;
/// Bytes of chunks a get asks the server for at once by default.
pub const DEFAULT_GET_WINDOW: usize = 16 * 1024 * 1024;

/// A handle to one bucket. Cheap to clone.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(js: nats_jetstream::Context) -> Result<(), Box<dyn std::error::Error>> {
/// let store = js.get_object_store("files").await?;
/// store.put("hello.txt", &mut &b"hello"[..]).await?;
/// let info = store.info("hello.txt").await?;
/// assert_eq!(info.size, 5);
/// store.delete("hello.txt").await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ObjectStore {
    pub(crate) name: String,
    /// `OBJ_<name>`; its cached info says direct get is off, so reads go to the leader
    /// (a put is visible to the next get).
    pub(crate) stream: stream::Stream,
    pub(crate) chunk_size: usize,
    pub(crate) put_window: usize,
    pub(crate) get_window: usize,
}

impl ObjectStore {
    pub(crate) fn new(context: Context, name: String, mut info: stream::Info) -> ObjectStore {
        info.config.allow_direct = false;
        ObjectStore {
            stream: stream::Stream {
                context,
                name: info.config.name.clone(),
                info,
            },
            name,
            chunk_size: DEFAULT_CHUNK_SIZE,
            put_window: DEFAULT_PUT_WINDOW,
            get_window: DEFAULT_GET_WINDOW,
        }
    }

    /// The bucket's name.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(store: nats_jetstream::object_store::ObjectStore) {
    /// println!("{}", store.name());
    /// # }
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The context this handle uses.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(store: nats_jetstream::object_store::ObjectStore) {
    /// let js = store.context();
    /// # }
    /// ```
    pub fn context(&self) -> &Context {
        &self.stream.context
    }

    /// This handle with another default chunk size for puts (a put's
    /// [`ObjectMeta::max_chunk_size`] wins). At least 1 byte.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(store: nats_jetstream::object_store::ObjectStore) {
    /// let store = store.with_chunk_size(512 * 1024);
    /// # }
    /// ```
    #[must_use]
    pub fn with_chunk_size(mut self, bytes: usize) -> ObjectStore {
        self.chunk_size = bytes.max(1);
        self
    }

    /// This handle with another put window: at most this many bytes of chunks are sent and
    /// not yet acked (default 8 MiB; at least one chunk). A put holds at most twice this
    /// (the acked chunks of the last window are kept to re-send them in order after a
    /// fail-over).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(store: nats_jetstream::object_store::ObjectStore) {
    /// let store = store.with_put_window(4 << 20);
    /// # }
    /// ```
    #[must_use]
    pub fn with_put_window(mut self, bytes: usize) -> ObjectStore {
        self.put_window = bytes;
        self
    }

    /// This handle with another get window: a get asks for at most this many bytes of
    /// chunks at once (default 16 MiB; at least two chunks). Bounds a get's memory.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(store: nats_jetstream::object_store::ObjectStore) {
    /// let store = store.with_get_window(4 << 20);
    /// # }
    /// ```
    #[must_use]
    pub fn with_get_window(mut self, bytes: usize) -> ObjectStore {
        self.get_window = bytes;
        self
    }

    pub(crate) fn meta_subject(&self, name: &str) -> String {
        digest::meta_subject(&self.name, name)
    }

    pub(crate) fn chunk_subject(&self, nuid: &str) -> String {
        digest::chunk_subject(&self.name, nuid)
    }

    /// A fresh object id: the random token of a new inbox (22 base62 characters).
    pub(crate) fn new_nuid(&self) -> String {
        let inbox = self.context().client().new_inbox();
        inbox.rsplit('.').next().unwrap_or_default().to_owned()
    }

    /// Purges the chunks of object version `nuid`, retrying while the stream has no leader.
    pub(crate) async fn purge_chunks(&self, nuid: &str) -> Result<u64, Error> {
        self.purge_subject(&self.chunk_subject(nuid)).await
    }

    /// Purges every message on `subject`, retrying while the stream has no leader.
    pub(crate) async fn purge_subject(&self, subject: &str) -> Result<u64, Error> {
        retry_transient(|| self.stream.purge().filter(subject).into_future()).await
    }
}

impl AsRef<str> for ObjectStore {
    /// The bucket's name (so a store can be given where a bucket name is asked for).
    fn as_ref(&self) -> &str {
        &self.name
    }
}

/// How long an API call inside an object operation is retried while it fails transiently
/// (no stream leader during an election, a reconnect): longer than a 2.9 election.
const TRANSIENT_RETRY: Duration = Duration::from_secs(60);

/// Runs `call` until it succeeds, fails for good, or [`TRANSIENT_RETRY`] passed, backing off
/// 100 ms doubling to 2 s between transient failures.
pub(crate) async fn retry_transient<T, F, Fut>(mut call: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let deadline = tokio::time::Instant::now() + TRANSIENT_RETRY;
    let mut delay = Duration::from_millis(100);
    loop {
        match call().await {
            Err(e) if e.is_transient() && tokio::time::Instant::now() + delay < deadline => {
                tracing::debug!(error = %e, ?delay, "object store: transient failure; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
            other => return other,
        }
    }
}
