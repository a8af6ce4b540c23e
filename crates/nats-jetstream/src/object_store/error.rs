//! [`ObjectStoreError`]: every way an Object Store operation fails, one enum callers can match
//! (J25–J27).

use std::io;

use crate::error::{ConsumeError, Error, NameError, PublishError};

/// The error of an Object Store operation.
///
/// Reading an [`Object`](super::Object) fails with an [`io::Error`] (it is an `AsyncRead`);
/// its inner error is one of these — [`ObjectStoreError::from_io`] gets it back:
///
/// ```no_run
/// # async fn demo(store: nats_jetstream::object_store::ObjectStore) -> Result<(), Box<dyn std::error::Error>> {
/// use nats_jetstream::object_store::ObjectStoreError;
/// use tokio::io::AsyncReadExt;
///
/// let mut object = store.get("report.pdf").await?;
/// let mut bytes = Vec::new();
/// match object.read_to_end(&mut bytes).await {
///     Ok(_) => println!("{} bytes, digest verified", bytes.len()),
///     Err(e) => match ObjectStoreError::from_io(&e) {
///         Some(ObjectStoreError::DigestMismatch { expected, actual, .. }) => {
///             eprintln!("corrupt: expected {expected}, got {actual}")
///         }
///         _ => eprintln!("read failed: {e}"),
///     },
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ObjectStoreError {
    /// A bucket or object name the store refuses, caught locally (`what` is `"bucket"` or
    /// `"object"`).
    #[error(transparent)]
    InvalidName(#[from] NameError),
    /// The bucket does not exist (its stream `OBJ_<bucket>` is missing).
    #[error("object store bucket {bucket:?} not found")]
    BucketNotFound {
        /// The bucket.
        bucket: String,
    },
    /// No such object in the bucket (never stored, or deleted).
    #[error("object {name:?} not found in bucket {bucket:?}")]
    NotFound {
        /// The bucket.
        bucket: String,
        /// The object's name.
        name: String,
    },
    /// An object with the name exists already (rename target, link name).
    #[error("object {name:?} already exists in bucket {bucket:?}")]
    AlreadyExists {
        /// The bucket.
        bucket: String,
        /// The object's name.
        name: String,
    },
    /// A link to a deleted object (or an object deleted since the link was made).
    #[error("object {name:?} is deleted: links to it are refused")]
    LinkToDeleted {
        /// The deleted object's name.
        name: String,
    },
    /// A link to a link: links point at objects or buckets only.
    #[error("object {name:?} is a link: a link cannot point at a link")]
    LinkToLink {
        /// The link's name.
        name: String,
    },
    /// The object is a link to a whole bucket; open that bucket instead of reading it.
    #[error("object {name:?} is a link to bucket {bucket:?}, not to an object")]
    BucketLink {
        /// The link's name.
        name: String,
        /// The bucket it points at.
        bucket: String,
    },
    /// The bytes read do not hash to the digest stored with the object (J27).
    #[error("object {name:?}: digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        /// The object's name.
        name: String,
        /// The digest in the object's info.
        expected: String,
        /// The digest of the bytes read.
        actual: String,
    },
    /// The chunks read do not add up to the info's size or chunk count.
    #[error("object {name:?} is incomplete or corrupt: {reason}")]
    Corrupt {
        /// The object's name.
        name: String,
        /// What does not add up.
        reason: String,
    },
    /// The reader given to `put` failed; nothing of the object stays visible (J26).
    #[error("reading the object's data failed: {0}")]
    Read(#[source] io::Error),
    /// A chunk or the metadata could not be stored (e.g. the bucket is sealed or full).
    #[error("storing the object failed: {0}")]
    Publish(#[source] PublishError),
    /// A JetStream API call failed.
    #[error(transparent)]
    Api(#[from] Error),
    /// Reading the chunks through the ordered consumer failed.
    #[error("reading the object's chunks failed: {0}")]
    Consume(#[source] ConsumeError),
    /// Stored metadata that cannot be understood.
    #[error("invalid object metadata: {0}")]
    Decode(String),
}

impl ObjectStoreError {
    /// The Object Store error inside an [`io::Error`] returned while reading an
    /// [`Object`](super::Object), if that is what it carries.
    ///
    /// # Examples
    ///
    /// ```
    /// use nats_jetstream::object_store::ObjectStoreError;
    /// let e = std::io::Error::new(
    ///     std::io::ErrorKind::InvalidData,
    ///     ObjectStoreError::DigestMismatch { name: "a".into(), expected: "x".into(), actual: "y".into() },
    /// );
    /// assert!(matches!(ObjectStoreError::from_io(&e), Some(ObjectStoreError::DigestMismatch { .. })));
    /// ```
    pub fn from_io(e: &io::Error) -> Option<&ObjectStoreError> {
        e.get_ref()?.downcast_ref::<ObjectStoreError>()
    }

    /// Whether it is [`ObjectStoreError::NotFound`] (or the bucket is gone).
    ///
    /// # Examples
    ///
    /// ```
    /// use nats_jetstream::object_store::ObjectStoreError;
    /// let e = ObjectStoreError::NotFound { bucket: "b".into(), name: "n".into() };
    /// assert!(e.is_not_found());
    /// ```
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            ObjectStoreError::NotFound { .. } | ObjectStoreError::BucketNotFound { .. }
        )
    }

    /// This error as an [`io::Error`] whose inner error is `self` (for the `AsyncRead`).
    pub(crate) fn into_io(self) -> io::Error {
        let kind = match &self {
            ObjectStoreError::DigestMismatch { .. } | ObjectStoreError::Corrupt { .. } => {
                io::ErrorKind::InvalidData
            }
            ObjectStoreError::NotFound { .. } | ObjectStoreError::BucketNotFound { .. } => {
                io::ErrorKind::NotFound
            }
            ObjectStoreError::Consume(ConsumeError::Closed) => io::ErrorKind::NotConnected,
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, self)
    }
}

impl From<PublishError> for ObjectStoreError {
    fn from(e: PublishError) -> Self {
        ObjectStoreError::Publish(e)
    }
}
