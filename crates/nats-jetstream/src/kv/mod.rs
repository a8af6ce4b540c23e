//! Key-Value store (J20–J24, ADR-8): a bucket is the stream `KV_<bucket>` on
//! `$KV.<bucket>.>`; every write of a key is one message on `$KV.<bucket>.<key>`, its stream
//! sequence the key's revision; deletes and purges are marker messages (`KV-Operation: DEL`
//! / `PURGE`).
//!
//! - bucket management: [`Context::create_key_value`], [`get_key_value`](Context::get_key_value),
//!   [`update_key_value`](Context::update_key_value), [`delete_key_value`](Context::delete_key_value),
//!   [`key_value_store_names`](Context::key_value_store_names), [`Store::status`] (J20);
//! - keys (J21): [`validate_key`], [`validate_bucket`]; wildcards only in filters;
//! - entries (J22): [`Store::put`] (through the JetStream publisher, so a write is re-sent
//!   with the same message id across a fail-over and stored once), [`Store::get`],
//!   [`Store::entry`] (direct get when the bucket allows it), [`Store::create`],
//!   [`Store::update`] (compare-and-set), [`Store::delete`], [`Store::purge`],
//!   [`Store::purge_deletes`], [`Store::history`], [`Store::keys`];
//! - watches (J23, J24): [`Store::watch`], [`Store::watch_all`], [`Store::watch_many`],
//!   [`Store::watch_with_history`], [`Store::watcher`] for the options. A watch runs on the
//!   ordered consumer (J18) and resumes after a reconnect, a server restart or a stream
//!   leader change from the last revision it delivered: no gap, no duplicate, polled or not.
//!
//! ```no_run
//! use futures_util::StreamExt;
//! use nats_jetstream::kv;
//!
//! # async fn demo(js: nats_jetstream::Context) -> Result<(), Box<dyn std::error::Error>> {
//! let store = js
//!     .create_key_value(kv::Config { bucket: "cfg".into(), history: 5, ..Default::default() })
//!     .await?;
//! let r1 = store.put("db.url", "postgres://a".into()).await?;
//! store.update("db.url", "postgres://b".into(), r1).await?; // compare-and-set
//! assert_eq!(store.get("db.url").await?.as_deref(), Some(&b"postgres://b"[..]));
//!
//! let mut watch = store.watch("db.>").await?;
//! while let Some(entry) = watch.next().await {
//!     let entry = entry?;
//!     println!("{} = {:?} (revision {}, {})", entry.key, entry.value, entry.revision, entry.operation);
//! }
//! # Ok(()) }
//! ```

mod config;
mod entry;
mod error;
mod keys;
mod ops;
mod scan;
mod watch;

use std::fmt;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use futures_core::Stream as FuturesStream;
use futures_util::StreamExt;

pub use config::{Config, Status, MAX_HISTORY};
pub use entry::{Entry, Operation};
pub use error::Error;
pub use keys::{validate_bucket, validate_key};
pub use scan::{History, Keys};
pub use watch::{Watch, WatchBuilder, WatchEvent};

use crate::context::Context;
use crate::stream;
use config::stream_name;

/// A handle to one bucket (J20–J24): reads, writes, watches. Cheap to clone.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::kv::Error> {
/// let store = js.get_key_value("cfg").await?;
/// let revision = store.put("feature.x", "on".into()).await?;
/// if let Some(entry) = store.entry("feature.x").await? {
///     assert_eq!(entry.revision, revision);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Store {
    pub(crate) context: Context,
    pub(crate) bucket: String,
    pub(crate) stream: stream::Stream,
    /// `$KV.<bucket>.` (the origin's for a mirror): the subjects the keys are stored under.
    pub(crate) key_prefix: String,
    /// Where writes go: the key prefix, behind the API prefix for a custom JetStream prefix
    /// or a mirror in another domain.
    pub(crate) put_prefix: String,
    /// `<api>.DIRECT.GET.KV_<bucket>.<key prefix>` when the bucket allows direct get.
    pub(crate) direct_prefix: Option<String>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("bucket", &self.bucket)
            .field("stream", &self.stream.name())
            .field("direct_get", &self.direct_prefix.is_some())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// The handle for a bucket's stream info (ADR-8 prefixes, direct get or not).
    fn new(context: Context, bucket: String, stream: stream::Stream) -> Store {
        let config = &stream.cached_info().config;
        let mut key_prefix = format!("$KV.{bucket}.");
        let mut put_prefix = if context.api_prefix() == crate::DEFAULT_API_PREFIX {
            key_prefix.clone()
        } else {
            format!("{}.{key_prefix}", context.api_prefix())
        };
        if let Some(mirror) = &config.mirror {
            let origin = mirror.name.trim_start_matches("KV_");
            key_prefix = format!("$KV.{origin}.");
            put_prefix = match &mirror.external {
                Some(ext) if !ext.api.is_empty() => {
                    format!("{}.{key_prefix}", ext.api.trim_end_matches('.'))
                }
                _ => key_prefix.clone(),
            };
        }
        let direct_prefix = config.allow_direct.then(|| {
            format!(
                "{}.DIRECT.GET.{}.{key_prefix}",
                context.api_prefix(),
                stream.name()
            )
        });
        Store {
            context,
            bucket,
            stream,
            key_prefix,
            put_prefix,
            direct_prefix,
        }
    }

    /// The bucket's name.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(store: nats_jetstream::kv::Store) { println!("{}", store.bucket()); }
    /// ```
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The bucket's stream (`KV_<bucket>`), as it was when the handle was made.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(store: nats_jetstream::kv::Store) {
    /// println!("replicas: {}", store.stream().cached_info().config.num_replicas);
    /// # }
    /// ```
    pub fn stream(&self) -> &stream::Stream {
        &self.stream
    }

    /// The bucket's current state and settings (J20).
    ///
    /// # Errors
    ///
    /// [`Error::BucketNotFound`] after the bucket was deleted; [`Error::Api`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
    /// let status = store.status().await?;
    /// println!("{} values, history {}", status.values(), status.history());
    /// # Ok(()) }
    /// ```
    pub async fn status(&self) -> Result<Status, Error> {
        let info = self
            .stream
            .info()
            .await
            .map_err(|e| Error::api(&self.bucket, e))?;
        Ok(Status {
            bucket: self.bucket.clone(),
            info,
        })
    }

    /// The subject a key is stored under.
    pub(crate) fn key_subject(&self, key: &str) -> String {
        concat(&self.key_prefix, key)
    }

    /// The key of a stored subject; `None` when it is not under this bucket's prefix.
    pub(crate) fn key_of<'a>(&self, subject: &'a str) -> Option<&'a str> {
        subject.strip_prefix(self.key_prefix.as_str())
    }
}

/// `a` then `b` in one allocation.
pub(crate) fn concat(a: &str, b: &str) -> String {
    let mut s = String::with_capacity(a.len() + b.len());
    s.push_str(a);
    s.push_str(b);
    s
}

impl Context {
    /// Creates a bucket (J20): the stream `KV_<bucket>` on `$KV.<bucket>.>` with the ADR-8
    /// settings. Creating one that exists with the same config returns it.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidBucket`], [`Error::InvalidHistory`] (outside 1..=64),
    /// [`Error::InvalidConfig`], [`Error::Api`] (e.g. 10058 the bucket exists with another
    /// config, 10005 not enough servers for the replicas, no JetStream).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::kv::Error> {
    /// use nats_jetstream::kv;
    /// let store = js
    ///     .create_key_value(kv::Config { bucket: "cfg".into(), history: 5, ..Default::default() })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_key_value(&self, config: Config) -> Result<Store, Error> {
        let stream_config = config.to_stream_config(self.server_at_least(2, 10))?;
        let stream = self.create_stream(stream_config).await?;
        Ok(Store::new(self.clone(), config.bucket, stream))
    }

    /// A handle to an existing bucket (one `STREAM.INFO`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidBucket`], [`Error::BucketNotFound`], [`Error::Api`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::kv::Error> {
    /// let store = js.get_key_value("cfg").await?;
    /// # Ok(()) }
    /// ```
    pub async fn get_key_value(&self, bucket: impl AsRef<str>) -> Result<Store, Error> {
        let bucket = bucket.as_ref();
        validate_bucket(bucket).map_err(Error::InvalidBucket)?;
        let stream = self
            .get_stream(stream_name(bucket))
            .await
            .map_err(|e| Error::api(bucket, e))?;
        Ok(Store::new(self.clone(), bucket.to_owned(), stream))
    }

    /// Changes a bucket's settings (history, TTL, limits, ...; the server refuses changing
    /// the storage).
    ///
    /// # Errors
    ///
    /// As [`create_key_value`](Context::create_key_value); [`Error::BucketNotFound`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::kv::Error> {
    /// use nats_jetstream::kv;
    /// let store = js
    ///     .update_key_value(kv::Config { bucket: "cfg".into(), history: 10, ..Default::default() })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn update_key_value(&self, config: Config) -> Result<Store, Error> {
        let stream_config = config.to_stream_config(self.server_at_least(2, 10))?;
        self.update_stream(stream_config)
            .await
            .map_err(|e| Error::api(&config.bucket, e))?;
        self.get_key_value(&config.bucket).await
    }

    /// Deletes a bucket with every key and revision.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidBucket`], [`Error::BucketNotFound`], [`Error::Api`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::kv::Error> {
    /// js.delete_key_value("cfg").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_key_value(&self, bucket: impl AsRef<str>) -> Result<(), Error> {
        let bucket = bucket.as_ref();
        validate_bucket(bucket).map_err(Error::InvalidBucket)?;
        self.delete_stream(stream_name(bucket))
            .await
            .map_err(|e| Error::api(bucket, e))
    }

    /// The names of the buckets (the streams named `KV_<bucket>`), paged like
    /// [`stream_names`](Context::stream_names).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::kv::Error> {
    /// use futures_util::TryStreamExt;
    /// let buckets: Vec<String> = js.key_value_store_names().try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn key_value_store_names(&self) -> Names {
        let names = self.stream_names().filter_map(|name| async move {
            match name {
                Ok(n) => n.strip_prefix("KV_").map(|b| Ok(b.to_owned())),
                Err(e) => Some(Err(Error::Api(e))),
            }
        });
        Names {
            inner: Box::pin(names),
        }
    }

    /// The status of every bucket, paged.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::kv::Error> {
    /// use futures_util::TryStreamExt;
    /// let all: Vec<nats_jetstream::kv::Status> = js.key_value_stores().try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn key_value_stores(&self) -> Stores {
        let stores = self.streams().filter_map(|info| async move {
            match info {
                Ok(info) => info
                    .config
                    .name
                    .strip_prefix("KV_")
                    .map(str::to_owned)
                    .map(|bucket| Ok(Status { bucket, info })),
                Err(e) => Some(Err(Error::Api(e))),
            }
        });
        Stores {
            inner: Box::pin(stores),
        }
    }
}

/// The bucket names, from [`Context::key_value_store_names`]. An error ends it.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::kv::Error> {
/// use futures_util::TryStreamExt;
/// let mut names: nats_jetstream::kv::Names = js.key_value_store_names();
/// while let Some(bucket) = names.try_next().await? {
///     println!("{bucket}");
/// }
/// # Ok(()) }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct Names {
    inner: Pin<Box<dyn FuturesStream<Item = Result<String, Error>> + Send>>,
}

impl FuturesStream for Names {
    type Item = Result<String, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl fmt::Debug for Names {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Names").finish_non_exhaustive()
    }
}

/// The status of every bucket, from [`Context::key_value_stores`]. An error ends it.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::kv::Error> {
/// use futures_util::TryStreamExt;
/// let mut stores: nats_jetstream::kv::Stores = js.key_value_stores();
/// while let Some(s) = stores.try_next().await? {
///     println!("{}: {} values", s.bucket(), s.values());
/// }
/// # Ok(()) }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct Stores {
    inner: Pin<Box<dyn FuturesStream<Item = Result<Status, Error>> + Send>>,
}

impl FuturesStream for Stores {
    type Item = Result<Status, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl fmt::Debug for Stores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stores").finish_non_exhaustive()
    }
}
