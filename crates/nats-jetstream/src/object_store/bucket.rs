//! The bucket methods of [`Context`] (create, get, delete, names) and of [`ObjectStore`]
//! (status, seal) (J25).

use std::fmt;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use futures_core::Stream;

use super::config::{Config, Status, STREAM_PREFIX};
use super::digest::validate_bucket;
use super::{ObjectStore, ObjectStoreError};
use crate::context::Context;
use crate::error::Error;
use crate::paged::Paged;

fn stream_name(bucket: &str) -> String {
    format!("{STREAM_PREFIX}{bucket}")
}

/// A missing stream is a missing bucket.
fn bucket_error(bucket: &str, e: Error) -> ObjectStoreError {
    if e.is_stream_not_found() {
        ObjectStoreError::BucketNotFound {
            bucket: bucket.to_owned(),
        }
    } else {
        ObjectStoreError::Api(e)
    }
}

impl Context {
    /// Creates an object store bucket: the stream `OBJ_<bucket>` (J25). Creating one that
    /// exists with the same config succeeds.
    ///
    /// # Errors
    ///
    /// [`ObjectStoreError::InvalidName`] unless the name is `[a-zA-Z0-9_-]+`;
    /// [`ObjectStoreError::Api`] (e.g. 10058: it exists with another config, 10005: not
    /// enough servers for the replicas, JetStream not enabled).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::object_store::ObjectStoreError> {
    /// use nats_jetstream::object_store;
    /// let store = js
    ///     .create_object_store(object_store::Config { bucket: "files".into(), num_replicas: 3, ..Default::default() })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_object_store(
        &self,
        config: Config,
    ) -> Result<ObjectStore, ObjectStoreError> {
        validate_bucket(&config.bucket)?;
        let stream = self.create_stream(config.stream_config()).await?;
        Ok(ObjectStore::new(
            self.clone(),
            config.bucket,
            stream.cached_info().clone(),
        ))
    }

    /// A handle to an existing bucket (one `STREAM.INFO`).
    ///
    /// # Errors
    ///
    /// [`ObjectStoreError::BucketNotFound`], [`ObjectStoreError::InvalidName`],
    /// [`ObjectStoreError::Api`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::object_store::ObjectStoreError> {
    /// let store = js.get_object_store("files").await?;
    /// # Ok(()) }
    /// ```
    pub async fn get_object_store(
        &self,
        bucket: impl AsRef<str>,
    ) -> Result<ObjectStore, ObjectStoreError> {
        let bucket = bucket.as_ref();
        validate_bucket(bucket)?;
        let info = self
            .stream_info(stream_name(bucket))
            .await
            .map_err(|e| bucket_error(bucket, e))?;
        Ok(ObjectStore::new(self.clone(), bucket.to_owned(), info))
    }

    /// Deletes a bucket with all its objects.
    ///
    /// # Errors
    ///
    /// [`ObjectStoreError::BucketNotFound`], [`ObjectStoreError::InvalidName`],
    /// [`ObjectStoreError::Api`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::object_store::ObjectStoreError> {
    /// js.delete_object_store("files").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_object_store(
        &self,
        bucket: impl AsRef<str>,
    ) -> Result<(), ObjectStoreError> {
        let bucket = bucket.as_ref();
        validate_bucket(bucket)?;
        self.delete_stream(stream_name(bucket))
            .await
            .map_err(|e| bucket_error(bucket, e))
    }

    /// The names of all object store buckets (the `OBJ_` streams), paged.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::Error> {
    /// use futures_util::TryStreamExt;
    /// let buckets: Vec<String> = js.object_store_names().try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn object_store_names(&self) -> BucketNames {
        BucketNames {
            inner: self.stream_names_for_subject("$O.*.M.>"),
        }
    }
}

/// The bucket names of [`Context::object_store_names`]: a `Stream` of `Result<String,
/// Error>`.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::Error> {
/// use futures_util::TryStreamExt;
/// let mut names: nats_jetstream::object_store::BucketNames = js.object_store_names();
/// while let Some(bucket) = names.try_next().await? {
///     println!("{bucket}");
/// }
/// # Ok(()) }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct BucketNames {
    inner: Paged<String>,
}

impl Stream for BucketNames {
    type Item = Result<String, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        loop {
            match Pin::new(&mut self.inner).poll_next(cx) {
                Poll::Ready(Some(Ok(name))) => match name.strip_prefix(STREAM_PREFIX) {
                    Some(bucket) => return Poll::Ready(Some(Ok(bucket.to_owned()))),
                    None => continue,
                },
                other => return other,
            }
        }
    }
}

impl fmt::Debug for BucketNames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BucketNames").finish_non_exhaustive()
    }
}

impl ObjectStore {
    /// The bucket's state: size, sealed, TTL, replicas and the backing stream's info.
    ///
    /// # Errors
    ///
    /// [`ObjectStoreError::BucketNotFound`], [`ObjectStoreError::Api`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::object_store::ObjectStore) -> Result<(), nats_jetstream::object_store::ObjectStoreError> {
    /// let status = store.status().await?;
    /// println!("{} bytes in {}", status.size, status.stream_name());
    /// # Ok(()) }
    /// ```
    pub async fn status(&self) -> Result<Status, ObjectStoreError> {
        let info = self
            .stream
            .info()
            .await
            .map_err(|e| bucket_error(&self.name, e))?;
        Ok(Status::new(&self.name, info))
    }

    /// Seals the bucket: from now on puts, deletes and updates fail (J25). Cannot be undone.
    ///
    /// # Errors
    ///
    /// [`ObjectStoreError::BucketNotFound`], [`ObjectStoreError::Api`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::object_store::ObjectStore) -> Result<(), nats_jetstream::object_store::ObjectStoreError> {
    /// let status = store.seal().await?;
    /// assert!(status.sealed);
    /// # Ok(()) }
    /// ```
    pub async fn seal(&self) -> Result<Status, ObjectStoreError> {
        let context = self.context();
        let mut config = self
            .stream
            .info()
            .await
            .map_err(|e| bucket_error(&self.name, e))?
            .config;
        config.sealed = true;
        let info = context
            .update_stream(config)
            .await
            .map_err(|e| bucket_error(&self.name, e))?;
        Ok(Status::new(&self.name, info))
    }
}
