//! [`Entry`] and [`Operation`] (J22): one revision of a key, read from a stream message — a
//! direct get, a `STREAM.MSG.GET`, or a consumer delivery (watch, history). The operation is
//! the `KV-Operation` header: none for a put, `DEL` for a delete, `PURGE` for a purge.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use nats_client::HeaderMap;

use crate::stream::RawMessage;

/// The header that marks deletes and purges.
pub(crate) const KV_OPERATION: &str = "KV-Operation";
pub(crate) const OP_DELETE: &str = "DEL";
pub(crate) const OP_PURGE: &str = "PURGE";
/// `Nats-Rollup: sub`: a purge replaces every earlier revision of its key.
pub(crate) const ROLLUP: &str = "Nats-Rollup";
pub(crate) const ROLLUP_SUBJECT: &str = "sub";

/// What a revision did to its key (J22).
///
/// # Examples
///
/// ```
/// use nats_jetstream::kv::Operation;
/// assert_eq!(Operation::Delete.to_string(), "DEL");
/// assert!(Operation::Purge.is_marker());
/// assert!(!Operation::Put.is_marker());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// A value was put.
    Put,
    /// The key was deleted (a `DEL` marker; earlier revisions are kept as history).
    Delete,
    /// The key was purged (a `PURGE` marker that replaced every earlier revision).
    Purge,
}

impl Operation {
    /// The operation a stored message's headers say.
    pub(crate) fn from_headers(headers: Option<&HeaderMap>) -> Operation {
        match headers.and_then(|h| h.get(KV_OPERATION)).map(str::trim) {
            Some(OP_DELETE) => Operation::Delete,
            Some(OP_PURGE) => Operation::Purge,
            _ => Operation::Put,
        }
    }

    /// Delete or purge: the key has no value.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(nats_jetstream::kv::Operation::Delete.is_marker());
    /// ```
    pub fn is_marker(self) -> bool {
        !matches!(self, Operation::Put)
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Operation::Put => "PUT",
            Operation::Delete => OP_DELETE,
            Operation::Purge => OP_PURGE,
        })
    }
}

/// One revision of a key (J22): its value, revision (the stream sequence), when it was
/// written, and what it did. From [`Store::entry`](super::Store::entry), a watch, or a
/// history.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(kv: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
/// use nats_jetstream::kv::Operation;
/// if let Some(e) = kv.entry("config").await? {
///     match e.operation {
///         Operation::Put => println!("{} = {:?} (revision {})", e.key, e.value, e.revision),
///         Operation::Delete | Operation::Purge => println!("{} was removed", e.key),
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Entry {
    /// The bucket.
    pub bucket: String,
    /// The key.
    pub key: String,
    /// The value (empty for a delete or purge marker, and for a headers-only watch).
    pub value: Bytes,
    /// The revision: the stream sequence of this write, unique across the bucket.
    pub revision: u64,
    /// When it was written.
    pub created: SystemTime,
    /// In a watch or history: how many later entries the consumer still had pending when this
    /// one was delivered (0: the newest); 0 from `entry`.
    pub delta: u64,
    /// Put, delete or purge.
    pub operation: Operation,
    /// In a watch: the initial values are all delivered (this is the last one, or a later
    /// update). Always `false` outside a watch.
    pub seen_current: bool,
}

impl Entry {
    /// An entry read by subject (`entry`, `entry_for_revision`); `key` is known.
    pub(crate) fn from_raw(bucket: &str, key: &str, raw: RawMessage) -> Entry {
        Entry {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            operation: Operation::from_headers(raw.headers.as_ref()),
            value: raw.payload,
            revision: raw.sequence,
            created: raw.time.unwrap_or(UNIX_EPOCH),
            delta: 0,
            seen_current: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn j22_operations_from_headers() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(KV_OPERATION, v).unwrap();
            h
        };
        assert_eq!(Operation::from_headers(None), Operation::Put);
        assert_eq!(
            Operation::from_headers(Some(&HeaderMap::new())),
            Operation::Put
        );
        assert_eq!(
            Operation::from_headers(Some(&with("DEL"))),
            Operation::Delete
        );
        assert_eq!(
            Operation::from_headers(Some(&with("PURGE"))),
            Operation::Purge
        );
        assert_eq!(
            Operation::from_headers(Some(&with("other"))),
            Operation::Put
        );
    }
}
