//! [`Error`]: the one error of the Key-Value store (J20–J24), typed so callers can match on
//! what went wrong: a bad key or bucket name, a history out of range, a compare-and-set
//! conflict, a key that exists, a bucket that does not.

use crate::error::{ConsumeError, Error as JsError, ErrorCode, NameError, PublishError};

/// The error of a Key-Value operation.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(kv: nats_jetstream::kv::Store) {
/// use nats_jetstream::kv;
/// match kv.update("config", "v2".into(), 7).await {
///     Ok(revision) => println!("now at {revision}"),
///     Err(kv::Error::WrongLastRevision { current, .. }) => println!("lost the race; key is at {current:?}"),
///     Err(kv::Error::InvalidKey(e)) => println!("{e}"),
///     Err(e) => eprintln!("failed: {e}"),
/// }
/// # }
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A key or key filter the bucket cannot hold (J21): see [`validate_key`](super::validate_key).
    #[error(transparent)]
    InvalidKey(NameError),
    /// A bucket name that is not `[-_a-zA-Z0-9]+` (J21).
    #[error(transparent)]
    InvalidBucket(NameError),
    /// `history` outside 1..=64 (J20).
    #[error("history must be between 1 and {max}, got {0}", max = super::MAX_HISTORY)]
    InvalidHistory(i64),
    /// A bucket config the server would reject or this server cannot do.
    #[error("invalid bucket config: {0}")]
    InvalidConfig(String),
    /// No such bucket (its stream `KV_<bucket>` does not exist).
    #[error("key-value bucket {0:?} not found")]
    BucketNotFound(String),
    /// `create` on a key that holds a value (J22).
    #[error("key {key:?} exists (revision {revision})")]
    KeyExists {
        /// The key.
        key: String,
        /// Its current revision.
        revision: u64,
    },
    /// A compare-and-set (`update`, `create`, a delete or purge with an expected revision)
    /// found the key at another revision (server `err_code` 10071, J22).
    #[error("wrong last revision of key {key:?}: expected {expected}, the key is at {}",
            current.map_or_else(|| "an unknown revision".to_string(), |c| c.to_string()))]
    WrongLastRevision {
        /// The key.
        key: String,
        /// The revision the write expected (0: no value).
        expected: u64,
        /// The key's revision as the server reported it, when it did.
        current: Option<u64>,
    },
    /// A JetStream API call failed (timeout, no JetStream, another API error).
    #[error(transparent)]
    Api(JsError),
    /// A write failed (refused by the stream, no ack within the retry window, closed).
    #[error(transparent)]
    Publish(PublishError),
    /// A watch, keys or history stream failed (the bucket was deleted, the client closed).
    #[error(transparent)]
    Consume(ConsumeError),
}

impl Error {
    /// The server's `err_code`, when the error came from the server.
    ///
    /// # Examples
    ///
    /// ```
    /// use nats_jetstream::{kv, ErrorCode};
    /// let e = kv::Error::WrongLastRevision { key: "a".into(), expected: 1, current: Some(2) };
    /// assert_eq!(e.err_code(), Some(ErrorCode::WRONG_LAST_SEQUENCE));
    /// ```
    pub fn err_code(&self) -> Option<ErrorCode> {
        match self {
            Error::WrongLastRevision { .. } => Some(ErrorCode::WRONG_LAST_SEQUENCE),
            Error::BucketNotFound(_) => Some(ErrorCode::STREAM_NOT_FOUND),
            Error::Api(e) => e.err_code(),
            Error::Publish(e) => e.err_code(),
            _ => None,
        }
    }

    /// Maps an API error about `KV_<bucket>`: stream not found is [`Error::BucketNotFound`].
    pub(crate) fn api(bucket: &str, e: JsError) -> Error {
        if e.is_stream_not_found() {
            Error::BucketNotFound(bucket.to_owned())
        } else {
            Error::Api(e)
        }
    }

    /// Maps a failed write of `key` that expected revision `expected`.
    pub(crate) fn publish(
        bucket: &str,
        key: &str,
        expected: Option<u64>,
        e: PublishError,
    ) -> Error {
        match (&e, expected) {
            (PublishError::Api(a), Some(expected))
                if a.err_code == ErrorCode::WRONG_LAST_SEQUENCE =>
            {
                Error::WrongLastRevision {
                    key: key.to_owned(),
                    expected,
                    current: current_revision(&a.description),
                }
            }
            (PublishError::Api(a), _) if a.err_code == ErrorCode::STREAM_NOT_FOUND => {
                Error::BucketNotFound(bucket.to_owned())
            }
            (PublishError::NoStream { .. }, _) => Error::BucketNotFound(bucket.to_owned()),
            _ => Error::Publish(e),
        }
    }
}

impl From<JsError> for Error {
    fn from(e: JsError) -> Error {
        Error::Api(e)
    }
}

impl From<ConsumeError> for Error {
    fn from(e: ConsumeError) -> Error {
        Error::Consume(e)
    }
}

/// The current revision in the server's "wrong last sequence: 5" description.
fn current_revision(description: &str) -> Option<u64> {
    description
        .rsplit(':')
        .next()
        .and_then(|n| n.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;

    #[test]
    fn j22_wrong_last_sequence_is_wrong_last_revision() {
        let refused = PublishError::Api(ApiError::new(
            400,
            ErrorCode::WRONG_LAST_SEQUENCE,
            "wrong last sequence: 5",
        ));
        match Error::publish("b", "k", Some(3), refused.clone()) {
            Error::WrongLastRevision {
                key,
                expected,
                current,
            } => assert_eq!((key.as_str(), expected, current), ("k", 3, Some(5))),
            other => panic!("{other:?}"),
        }
        // Without an expectation it is just a refused publish.
        assert!(matches!(
            Error::publish("b", "k", None, refused),
            Error::Publish(_)
        ));
        assert!(matches!(
            Error::publish("b", "k", None, PublishError::NoStream { subject: "x".into() }),
            Error::BucketNotFound(b) if b == "b"
        ));
        let e = Error::WrongLastRevision {
            key: "k".into(),
            expected: 1,
            current: None,
        };
        assert!(e.to_string().contains("unknown revision"), "{e}");
        assert_eq!(current_revision("nonsense"), None);
    }

    #[test]
    fn stream_not_found_is_bucket_not_found() {
        let e = JsError::Api(ApiError::new(
            404,
            ErrorCode::STREAM_NOT_FOUND,
            "stream not found",
        ));
        assert!(matches!(Error::api("cfg", e), Error::BucketNotFound(b) if b == "cfg"));
        assert_eq!(
            Error::BucketNotFound("x".into()).err_code(),
            Some(ErrorCode::STREAM_NOT_FOUND)
        );
    }
}
