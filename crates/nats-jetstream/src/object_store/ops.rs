//! Metadata operations of [`ObjectStore`]: info, delete, update_metadata, links (J27), and the
//! one place a metadata message is written.

use std::time::SystemTime;

use bytes::Bytes;

use super::digest::{validate_bucket, validate_object};
use super::info::{ObjectInfo, ObjectLink, ObjectMeta};
use super::{retry_transient, ObjectStore, ObjectStoreError};
use crate::error::ErrorCode;
use crate::publish::Publish;
use crate::PubAck;

/// `Nats-Rollup`: the metadata message replaces the subject's earlier ones.
const ROLLUP: &str = "Nats-Rollup";
const ROLLUP_SUBJECT: &str = "sub";

impl ObjectStore {
    /// An object's info (J27). Deleted objects are [`ObjectStoreError::NotFound`]; see
    /// [`info_including_deleted`](ObjectStore::info_including_deleted).
    ///
    /// # Errors
    ///
    /// [`ObjectStoreError::NotFound`], [`ObjectStoreError::InvalidName`],
    /// [`ObjectStoreError::Api`], [`ObjectStoreError::Decode`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::object_store::ObjectStore) -> Result<(), nats_jetstream::object_store::ObjectStoreError> {
    /// let info = store.info("report.pdf").await?;
    /// println!("{} bytes, {} chunks, {:?}", info.size, info.chunks, info.digest);
    /// # Ok(()) }
    /// ```
    pub async fn info(&self, name: impl AsRef<str>) -> Result<ObjectInfo, ObjectStoreError> {
        let name = name.as_ref();
        match self.info_including_deleted(name).await? {
            info if info.deleted => Err(self.not_found(name)),
            info => Ok(info),
        }
    }

    /// An object's info, also when it is deleted (then `deleted` is set).
    ///
    /// # Errors
    ///
    /// As [`info`](ObjectStore::info); `NotFound` only when nothing was ever stored under
    /// the name (or the bucket was purged).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::object_store::ObjectStore) -> Result<(), nats_jetstream::object_store::ObjectStoreError> {
    /// let info = store.info_including_deleted("old.txt").await?;
    /// println!("deleted: {}", info.deleted);
    /// # Ok(()) }
    /// ```
    pub async fn info_including_deleted(
        &self,
        name: impl AsRef<str>,
    ) -> Result<ObjectInfo, ObjectStoreError> {
        let name = name.as_ref();
        validate_object(name)?;
        let subject = self.meta_subject(name);
        let raw = retry_transient(|| self.stream.get_last_raw_message_by_subject(subject.clone()))
            .await
            .map_err(|e| match e.err_code() {
                Some(ErrorCode::NO_MESSAGE_FOUND) => self.not_found(name),
                _ if e.is_stream_not_found() => ObjectStoreError::BucketNotFound {
                    bucket: self.name.clone(),
                },
                _ => ObjectStoreError::Api(e),
            })?;
        let mut info = decode_info(&raw.payload)?;
        if let Some(time) = raw.time {
            info.mtime = time;
        }
        Ok(info)
    }

    /// The info in the metadata message on `subject`, `None` when there is none.
    pub(crate) async fn info_by_subject(
        &self,
        subject: String,
    ) -> Result<Option<ObjectInfo>, ObjectStoreError> {
        let raw =
            match retry_transient(|| self.stream.get_last_raw_message_by_subject(subject.clone()))
                .await
            {
                Ok(raw) => raw,
                Err(e) if e.err_code() == Some(ErrorCode::NO_MESSAGE_FOUND) => return Ok(None),
                Err(e) => return Err(ObjectStoreError::Api(e)),
            };
        let mut info = decode_info(&raw.payload)?;
        if let Some(time) = raw.time {
            info.mtime = time;
        }
        Ok(Some(info))
    }

    /// The info, or `None` when nothing is stored under the name.
    pub(crate) async fn existing(
        &self,
        name: &str,
    ) -> Result<Option<ObjectInfo>, ObjectStoreError> {
        match self.info_including_deleted(name).await {
            Ok(info) => Ok(Some(info)),
            Err(ObjectStoreError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub(crate) fn not_found(&self, name: &str) -> ObjectStoreError {
        ObjectStoreError::NotFound {
            bucket: self.name.clone(),
            name: name.to_owned(),
        }
    }

    /// Writes `info` as the object's metadata message (rolling up the subject) and waits for
    /// its ack.
    pub(crate) async fn publish_meta(&self, info: &ObjectInfo) -> Result<PubAck, ObjectStoreError> {
        let json = serde_json::to_vec(info).map_err(|e| ObjectStoreError::Decode(e.to_string()))?;
        let publish = Publish::build()
            .payload(Bytes::from(json))
            .header(ROLLUP, ROLLUP_SUBJECT);
        let ack = self
            .context()
            .send_publish(self.meta_subject(&info.name), publish)
            .await?
            .await?;
        Ok(ack)
    }

    /// Deletes an object: its info stays as a deleted marker, its chunks are purged (J27).
    ///
    /// # Errors
    ///
    /// [`ObjectStoreError::NotFound`] (also when already deleted), and as
    /// [`info`](ObjectStore::info); [`ObjectStoreError::Publish`] on a sealed bucket.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::object_store::ObjectStore) -> Result<(), nats_jetstream::object_store::ObjectStoreError> {
    /// store.delete("report.pdf").await?;
    /// assert!(store.info("report.pdf").await.unwrap_err().is_not_found());
    /// # Ok(()) }
    /// ```
    pub async fn delete(&self, name: impl AsRef<str>) -> Result<(), ObjectStoreError> {
        let mut info = self.info(name).await?;
        let nuid = info.nuid.clone();
        info.deleted = true;
        info.size = 0;
        info.chunks = 0;
        info.digest = None;
        info.mtime = SystemTime::now();
        self.publish_meta(&info).await?;
        if !nuid.is_empty() {
            self.purge_chunks(&nuid).await?;
        }
        Ok(())
    }

    /// Changes an object's name, description, headers and metadata (not its data, chunk
    /// size or link). A new name must not be taken by another (not deleted) object; the
    /// metadata then moves to the new name's subject (J27).
    ///
    /// # Errors
    ///
    /// [`ObjectStoreError::NotFound`], [`ObjectStoreError::AlreadyExists`],
    /// [`ObjectStoreError::InvalidName`], and as [`info`](ObjectStore::info).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::object_store::ObjectStore) -> Result<(), nats_jetstream::object_store::ObjectStoreError> {
    /// use nats_jetstream::object_store::ObjectMeta;
    /// let info = store
    ///     .update_metadata("draft.txt", ObjectMeta { description: Some("final".into()), ..ObjectMeta::from("final.txt") })
    ///     .await?;
    /// assert_eq!(info.name, "final.txt");
    /// # Ok(()) }
    /// ```
    pub async fn update_metadata(
        &self,
        name: impl AsRef<str>,
        meta: impl Into<ObjectMeta>,
    ) -> Result<ObjectInfo, ObjectStoreError> {
        let name = name.as_ref();
        let meta = meta.into();
        validate_object(&meta.name)?;
        let mut info = self.info(name).await?;
        let renamed = meta.name != name;
        if renamed {
            if let Some(other) = self.existing(&meta.name).await? {
                if !other.deleted {
                    return Err(ObjectStoreError::AlreadyExists {
                        bucket: self.name.clone(),
                        name: meta.name,
                    });
                }
            }
        }
        info.name = meta.name;
        info.description = meta.description;
        info.headers = meta.headers;
        info.metadata = meta.metadata;
        self.publish_meta(&info).await?;
        if renamed {
            self.purge_subject(&self.meta_subject(name)).await?;
        }
        Ok(info)
    }

    /// Stores `name` as a link to the object `target` (in this or another bucket). Links
    /// to deleted objects and to links are refused; a link may replace a link, not an
    /// object (J27).
    ///
    /// # Errors
    ///
    /// [`ObjectStoreError::LinkToDeleted`], [`ObjectStoreError::LinkToLink`],
    /// [`ObjectStoreError::AlreadyExists`], [`ObjectStoreError::NotFound`] (the target is
    /// gone), [`ObjectStoreError::InvalidName`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::object_store::ObjectStore) -> Result<(), nats_jetstream::object_store::ObjectStoreError> {
    /// let target = store.info("report-2026-q3.pdf").await?;
    /// store.add_link("latest-report", &target).await?;
    /// # Ok(()) }
    /// ```
    pub async fn add_link(
        &self,
        name: impl AsRef<str>,
        target: &ObjectInfo,
    ) -> Result<ObjectInfo, ObjectStoreError> {
        let name = name.as_ref();
        validate_object(name)?;
        if target.deleted {
            return Err(ObjectStoreError::LinkToDeleted {
                name: target.name.clone(),
            });
        }
        if target.is_link() {
            return Err(ObjectStoreError::LinkToLink {
                name: target.name.clone(),
            });
        }
        // The caller's info may be old: the target must still be there.
        let store = if target.bucket.is_empty() || target.bucket == self.name {
            self.clone()
        } else {
            self.context().get_object_store(&target.bucket).await?
        };
        match store.existing(&target.name).await? {
            Some(now) if now.deleted => {
                return Err(ObjectStoreError::LinkToDeleted {
                    name: target.name.clone(),
                })
            }
            Some(_) => {}
            None => return Err(store.not_found(&target.name)),
        }
        let link = ObjectLink {
            bucket: store.name.clone(),
            name: Some(target.name.clone()),
        };
        self.store_link(name, link).await
    }

    /// Stores `name` as a link to a whole bucket (`bucket` is a name or an
    /// [`ObjectStore`]).
    ///
    /// # Errors
    ///
    /// [`ObjectStoreError::BucketNotFound`], [`ObjectStoreError::AlreadyExists`],
    /// [`ObjectStoreError::InvalidName`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::object_store::ObjectStore, archive: nats_jetstream::object_store::ObjectStore) -> Result<(), nats_jetstream::object_store::ObjectStoreError> {
    /// store.add_bucket_link("archive", &archive).await?;
    /// store.add_bucket_link("backups", "backups").await?;
    /// # Ok(()) }
    /// ```
    pub async fn add_bucket_link(
        &self,
        name: impl AsRef<str>,
        bucket: impl AsRef<str>,
    ) -> Result<ObjectInfo, ObjectStoreError> {
        let (name, bucket) = (name.as_ref(), bucket.as_ref());
        validate_object(name)?;
        validate_bucket(bucket)?;
        if bucket != self.name {
            self.context().get_object_store(bucket).await?;
        }
        let link = ObjectLink {
            bucket: bucket.to_owned(),
            name: None,
        };
        self.store_link(name, link).await
    }

    async fn store_link(
        &self,
        name: &str,
        link: ObjectLink,
    ) -> Result<ObjectInfo, ObjectStoreError> {
        if let Some(existing) = self.existing(name).await? {
            if !existing.deleted && !existing.is_link() {
                return Err(ObjectStoreError::AlreadyExists {
                    bucket: self.name.clone(),
                    name: name.to_owned(),
                });
            }
        }
        let mut info = ObjectInfo::new(&self.name, self.new_nuid(), &ObjectMeta::from(name));
        info.options.link = Some(link);
        self.publish_meta(&info).await?;
        Ok(info)
    }
}

/// A metadata message's JSON.
pub(crate) fn decode_info(payload: &[u8]) -> Result<ObjectInfo, ObjectStoreError> {
    serde_json::from_slice(payload).map_err(|e| ObjectStoreError::Decode(e.to_string()))
}
