//! Reads and writes of entries (J22): put, get, entry, create, update (compare-and-set),
//! delete, purge, purge_deletes.
//!
//! Writes go through the context's JetStream publisher, so each is re-sent with the same
//! message id until acked and is stored once across a fail-over (J9). Reads use direct get
//! (`<api>.DIRECT.GET.KV_<bucket>.$KV.<bucket>.<key>`, empty body) when the bucket allows it,
//! else `STREAM.MSG.GET` with `last_by_subj`.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use nats_client::StatusCode;

use super::entry::{KV_OPERATION, OP_DELETE, OP_PURGE, ROLLUP, ROLLUP_SUBJECT};
use super::keys::validate_key;
use super::{concat, Entry, Error, Operation, Store};
use crate::error::{ApiError, Error as JsError, ErrorCode};
use crate::publish::{Publish, MSG_ID};
use crate::stream::RawMessage;

/// How often `create` re-reads a key whose last revision changed under it before giving up
/// with the conflict.
const CREATE_ATTEMPTS: usize = 3;

impl Store {
    /// Writes `value` under `key` and returns the new revision (J22).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKey`] (J21), [`Error::BucketNotFound`], [`Error::Publish`] (the value
    /// is above `max_value_size`, the bucket is full, no ack within the retry window).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
    /// let revision = store.put("db.url", "postgres://db".into()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn put(&self, key: impl AsRef<str>, value: Bytes) -> Result<u64, Error> {
        let key = key.as_ref();
        validate_key(key).map_err(Error::InvalidKey)?;
        let subject = concat(&self.put_prefix, key);
        let ack = async { self.context.publish(&subject, value).await?.await }
            .await
            .map_err(|e| Error::publish(&self.bucket, key, None, e))?;
        Ok(ack.sequence)
    }

    /// The current value of `key`; `None` when it has none (never written, deleted or
    /// purged) (J22).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKey`], [`Error::Api`] (timeout, no JetStream).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
    /// match store.get("db.url").await? {
    ///     Some(url) => println!("{}", String::from_utf8_lossy(&url)),
    ///     None => println!("not set"),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn get(&self, key: impl AsRef<str>) -> Result<Option<Bytes>, Error> {
        let key = key.as_ref();
        validate_key(key).map_err(Error::InvalidKey)?;
        let Some(direct) = &self.direct_prefix else {
            let entry = self.entry(key).await?;
            return Ok(entry
                .filter(|e| e.operation == Operation::Put)
                .map(|e| e.value));
        };
        // The hot path: one request, no JSON, the value is the reply's payload.
        let reply = self
            .context
            .client()
            .send_request(
                concat(direct, key),
                nats_client::Request::new().timeout(self.context.timeout()),
            )
            .await
            .map_err(request_error)?;
        if let Some(status) = reply.status {
            return if status == StatusCode::NOT_FOUND {
                Ok(None)
            } else {
                Err(direct_status_error(status, reply.description()))
            };
        }
        Ok(match Operation::from_headers(reply.headers.as_ref()) {
            Operation::Put => Some(reply.payload),
            Operation::Delete | Operation::Purge => None,
        })
    }

    /// The latest revision of `key` with its metadata (J22), or `None` when the key was
    /// never written (or its markers were purged). A deleted or purged key gives its marker:
    /// an entry whose [`operation`](Entry::operation) is `Delete` or `Purge`.
    ///
    /// # Errors
    ///
    /// As [`get`](Store::get).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
    /// if let Some(e) = store.entry("db.url").await? {
    ///     println!("revision {} written {:?}: {}", e.revision, e.created, e.operation);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn entry(&self, key: impl AsRef<str>) -> Result<Option<Entry>, Error> {
        let key = key.as_ref();
        validate_key(key).map_err(Error::InvalidKey)?;
        Ok(self
            .last_raw(key)
            .await?
            .map(|raw| Entry::from_raw(&self.bucket, key, raw)))
    }

    /// Revision `revision` of `key`, or `None` when that revision is not (or no longer) one
    /// of this key's.
    ///
    /// # Errors
    ///
    /// As [`get`](Store::get).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
    /// let old = store.entry_for_revision("db.url", 3).await?;
    /// # Ok(()) }
    /// ```
    pub async fn entry_for_revision(
        &self,
        key: impl AsRef<str>,
        revision: u64,
    ) -> Result<Option<Entry>, Error> {
        let key = key.as_ref();
        validate_key(key).map_err(Error::InvalidKey)?;
        match self.stream.get_raw_message(revision).await {
            Ok(raw) if self.key_of(&raw.subject) == Some(key) => {
                Ok(Some(Entry::from_raw(&self.bucket, key, raw)))
            }
            Ok(_) => Ok(None),
            Err(e) if e.err_code() == Some(ErrorCode::NO_MESSAGE_FOUND) => Ok(None),
            Err(e) => Err(Error::api(&self.bucket, e)),
        }
    }

    /// Writes `value` only if `key` has no value (J22): never written, deleted, or purged.
    /// Returns the new revision.
    ///
    /// # Errors
    ///
    /// [`Error::KeyExists`] when the key holds a value; as [`put`](Store::put).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
    /// use nats_jetstream::kv;
    /// match store.create("lock", "me".into()).await {
    ///     Ok(revision) => println!("got the lock at {revision}"),
    ///     Err(kv::Error::KeyExists { revision, .. }) => println!("taken at {revision}"),
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn create(&self, key: impl AsRef<str>, value: Bytes) -> Result<u64, Error> {
        let key = key.as_ref();
        validate_key(key).map_err(Error::InvalidKey)?;
        let mut last = None;
        for _ in 0..CREATE_ATTEMPTS {
            // ADR-8: expect no message on the key; if the last one is a delete or purge
            // marker, expect that marker's revision instead.
            let expected = last.unwrap_or(0);
            let publish = Publish::build().payload(value.clone());
            match self.write_expecting(key, publish, expected).await {
                Ok(revision) => return Ok(revision),
                Err(Error::WrongLastRevision { .. }) => match self.entry(key).await? {
                    Some(e) if e.operation == Operation::Put => {
                        return Err(Error::KeyExists {
                            key: key.to_owned(),
                            revision: e.revision,
                        })
                    }
                    Some(marker) => last = Some(marker.revision),
                    None => last = None,
                },
                Err(e) => return Err(e),
            }
        }
        Err(Error::WrongLastRevision {
            key: key.to_owned(),
            expected: last.unwrap_or(0),
            current: None,
        })
    }

    /// Writes `value` only if `key`'s latest revision is `revision` (compare-and-set, J22).
    /// Returns the new revision.
    ///
    /// # Errors
    ///
    /// [`Error::WrongLastRevision`] when the key is at another revision; as
    /// [`put`](Store::put).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
    /// let r1 = store.put("counter", "1".into()).await?;
    /// let r2 = store.update("counter", "2".into(), r1).await?;
    /// assert!(store.update("counter", "3".into(), r1).await.is_err()); // r1 is stale
    /// # Ok(()) }
    /// ```
    pub async fn update(
        &self,
        key: impl AsRef<str>,
        value: Bytes,
        revision: u64,
    ) -> Result<u64, Error> {
        let key = key.as_ref();
        validate_key(key).map_err(Error::InvalidKey)?;
        self.write_expecting(key, Publish::build().payload(value), revision)
            .await
    }

    /// Deletes `key` (J22): writes a `DEL` marker; earlier revisions stay as history. `get`
    /// returns `None` afterwards. Returns the marker's revision.
    ///
    /// # Errors
    ///
    /// As [`put`](Store::put).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
    /// store.delete("db.url").await?;
    /// assert!(store.get("db.url").await?.is_none());
    /// # Ok(()) }
    /// ```
    pub async fn delete(&self, key: impl AsRef<str>) -> Result<u64, Error> {
        self.delete_expect_revision(key, None).await
    }

    /// [`delete`](Store::delete), only if the key's latest revision is `revision` (when
    /// given).
    ///
    /// # Errors
    ///
    /// [`Error::WrongLastRevision`]; as [`put`](Store::put).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
    /// let r = store.put("job", "x".into()).await?;
    /// store.delete_expect_revision("job", Some(r)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_expect_revision(
        &self,
        key: impl AsRef<str>,
        revision: Option<u64>,
    ) -> Result<u64, Error> {
        let key = key.as_ref();
        validate_key(key).map_err(Error::InvalidKey)?;
        let publish = Publish::build().header(KV_OPERATION, OP_DELETE);
        match revision {
            Some(r) => self.write_expecting(key, publish, r).await,
            None => self.write(key, publish, None).await,
        }
    }

    /// Purges `key` (J22): writes a `PURGE` marker that replaces every earlier revision
    /// (`Nats-Rollup: sub`). Returns the marker's revision.
    ///
    /// # Errors
    ///
    /// As [`put`](Store::put).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
    /// store.purge("db.url").await?;
    /// # Ok(()) }
    /// ```
    pub async fn purge(&self, key: impl AsRef<str>) -> Result<u64, Error> {
        self.purge_expect_revision(key, None).await
    }

    /// [`purge`](Store::purge), only if the key's latest revision is `revision` (when given).
    ///
    /// # Errors
    ///
    /// [`Error::WrongLastRevision`]; as [`put`](Store::put).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
    /// store.purge_expect_revision("db.url", Some(12)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn purge_expect_revision(
        &self,
        key: impl AsRef<str>,
        revision: Option<u64>,
    ) -> Result<u64, Error> {
        let key = key.as_ref();
        validate_key(key).map_err(Error::InvalidKey)?;
        let publish = Publish::build()
            .header(KV_OPERATION, OP_PURGE)
            .header(ROLLUP, ROLLUP_SUBJECT);
        match revision {
            Some(r) => self.write_expecting(key, publish, r).await,
            None => self.write(key, publish, None).await,
        }
    }

    /// Housekeeping of delete and purge markers (ADR-8): a key whose latest revision is a
    /// marker older than `older_than` loses every revision (the marker too); a newer marker
    /// is kept but the revisions before it go. `Duration::ZERO` removes every marker.
    /// Writes made while it runs are never removed. Returns how many keys it cleaned.
    ///
    /// # Errors
    ///
    /// [`Error::Consume`] when reading the markers fails; [`Error::Api`] when a purge does.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
    /// use std::time::Duration;
    /// let cleaned = store.purge_deletes(Duration::from_secs(30 * 60)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn purge_deletes(&self, older_than: Duration) -> Result<u64, Error> {
        let markers = self.current_markers().await?;
        let now = SystemTime::now();
        let mut cleaned = 0;
        for marker in markers {
            let old = older_than.is_zero()
                || now
                    .duration_since(marker.created)
                    .is_ok_and(|age| age >= older_than);
            let subject = self.key_subject(&marker.key);
            // Bounded by the marker's revision, so a write after it is never purged.
            let below = if old {
                marker.revision + 1
            } else {
                marker.revision
            };
            self.stream
                .purge()
                .filter(subject)
                .sequence(below)
                .await
                .map_err(|e| Error::api(&self.bucket, e))?;
            cleaned += 1;
        }
        Ok(cleaned)
    }

    /// The latest stored message of `key`, `None` when there is none.
    async fn last_raw(&self, key: &str) -> Result<Option<RawMessage>, Error> {
        match self
            .stream
            .get_last_raw_message_by_subject(self.key_subject(key))
            .await
        {
            Ok(raw) => Ok(Some(raw)),
            Err(e) if e.err_code() == Some(ErrorCode::NO_MESSAGE_FOUND) => Ok(None),
            Err(e) => Err(Error::api(&self.bucket, e)),
        }
    }

    /// Publishes `publish` to `key` and returns the revision.
    async fn write(
        &self,
        key: &str,
        publish: Publish,
        expected: Option<u64>,
    ) -> Result<u64, Error> {
        let subject = concat(&self.put_prefix, key);
        let ack = async { self.context.send_publish(&subject, publish).await?.await }
            .await
            .map_err(|e| Error::publish(&self.bucket, key, expected, e))?;
        Ok(ack.sequence)
    }

    /// A compare-and-set write: only if `key`'s last revision is `expected` (0: none).
    ///
    /// Its message id is ours, so a refusal caused by our own earlier attempt (its ack was
    /// lost in a fail-over, and the re-send was checked before it was deduplicated) is
    /// recognised: the key's latest message carries our id, and that is our revision.
    async fn write_expecting(
        &self,
        key: &str,
        publish: Publish,
        expected: u64,
    ) -> Result<u64, Error> {
        let id = unique_id(self.context.client());
        let publish = publish
            .message_id(&id)
            .expected_last_subject_sequence(expected);
        match self.write(key, publish, Some(expected)).await {
            Err(conflict @ Error::WrongLastRevision { .. }) => {
                if let Ok(Some(raw)) = self.last_raw(key).await {
                    if raw.headers.as_ref().and_then(|h| h.get(MSG_ID)) == Some(id.as_str()) {
                        return Ok(raw.sequence);
                    }
                }
                Err(conflict)
            }
            other => other,
        }
    }
}

/// A message id nobody else uses: the random token of a new inbox.
fn unique_id(client: &nats_client::Client) -> String {
    let inbox = client.new_inbox();
    let token = inbox.rsplit('.').next().unwrap_or(&inbox);
    concat("kv-", token)
}

/// A request failure as the API errors say it (J2: no responders is no JetStream).
fn request_error(e: nats_client::RequestError) -> Error {
    Error::Api(match e {
        nats_client::RequestError::NoResponders => JsError::JetStreamNotEnabled,
        nats_client::RequestError::TimedOut(d) => JsError::TimedOut(d),
        other => JsError::Request(other),
    })
}

/// A direct get answered with a status other than 404.
fn direct_status_error(status: StatusCode, description: Option<&str>) -> Error {
    Error::Api(JsError::Api(ApiError::new(
        status.as_u16(),
        ErrorCode::BAD_REQUEST,
        description.unwrap_or_default(),
    )))
}
