//! [`Config`] of a bucket and its [`Status`]; the stream a bucket is (J25).

use std::collections::HashMap;
use std::time::Duration;

use crate::stream::{self, DiscardPolicy, Placement, StorageType};

/// The stream name prefix of a bucket.
pub(crate) const STREAM_PREFIX: &str = "OBJ_";

/// A bucket's settings (J25). `Default` is a file bucket, R1, no limits.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::object_store::ObjectStoreError> {
/// use std::time::Duration;
/// use nats_jetstream::{object_store, stream::StorageType};
/// let store = js
///     .create_object_store(object_store::Config {
///         bucket: "files".into(),
///         description: Some("uploads".into()),
///         max_age: Duration::from_secs(7 * 86_400),
///         max_bytes: 10 << 30,
///         storage: StorageType::File,
///         num_replicas: 3,
///         ..Default::default()
///     })
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The bucket's name: `[a-zA-Z0-9_-]+`.
    pub bucket: String,
    /// A description.
    pub description: Option<String>,
    /// How long objects live (the TTL), zero for ever.
    pub max_age: Duration,
    /// Most bytes the bucket holds, `-1` unlimited.
    pub max_bytes: i64,
    /// File or memory.
    pub storage: StorageType,
    /// Replicas (1, 3 or 5 in a cluster).
    pub num_replicas: usize,
    /// Where to place the bucket's stream.
    pub placement: Option<Placement>,
    /// Free-form metadata of the bucket (2.10+ servers keep it).
    pub metadata: HashMap<String, String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bucket: String::new(),
            description: None,
            max_age: Duration::ZERO,
            max_bytes: -1,
            storage: StorageType::File,
            num_replicas: 1,
            placement: None,
            metadata: HashMap::new(),
        }
    }
}

impl From<&str> for Config {
    /// A default bucket named `bucket`.
    fn from(bucket: &str) -> Config {
        Config {
            bucket: bucket.to_owned(),
            ..Default::default()
        }
    }
}

impl Config {
    /// The stream of the bucket: `OBJ_<bucket>` on `$O.<bucket>.C.>` and `$O.<bucket>.M.>`,
    /// roll-ups allowed (the metadata), discard new, direct get (J25).
    pub(crate) fn stream_config(&self) -> stream::Config {
        let b = &self.bucket;
        stream::Config {
            name: format!("{STREAM_PREFIX}{b}"),
            description: self.description.clone(),
            subjects: vec![format!("$O.{b}.C.>"), format!("$O.{b}.M.>")],
            max_age: self.max_age,
            max_bytes: self.max_bytes,
            storage: self.storage,
            num_replicas: self.num_replicas.max(1),
            discard: DiscardPolicy::New,
            allow_rollup_hdrs: true,
            allow_direct: true,
            placement: self.placement.clone(),
            metadata: self.metadata.clone(),
            ..Default::default()
        }
    }
}

/// A bucket's state (from its stream's info).
///
/// # Examples
///
/// ```no_run
/// # async fn demo(store: nats_jetstream::object_store::ObjectStore) -> Result<(), nats_jetstream::object_store::ObjectStoreError> {
/// let status = store.status().await?;
/// println!("{}: {} bytes, sealed {}", status.bucket, status.size, status.sealed);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Status {
    /// The bucket.
    pub bucket: String,
    /// Its description.
    pub description: Option<String>,
    /// The TTL of objects, zero for ever.
    pub max_age: Duration,
    /// File or memory.
    pub storage: StorageType,
    /// Replicas.
    pub replicas: usize,
    /// Sealed: no more writes or deletes.
    pub sealed: bool,
    /// Bytes stored (chunks and metadata).
    pub size: u64,
    /// Free-form metadata.
    pub metadata: HashMap<String, String>,
    /// The backing stream's info.
    pub stream: stream::Info,
}

impl Status {
    pub(crate) fn new(bucket: &str, info: stream::Info) -> Status {
        let c = &info.config;
        Status {
            bucket: bucket.to_owned(),
            description: c.description.clone(),
            max_age: c.max_age,
            storage: c.storage,
            replicas: c.num_replicas,
            sealed: c.sealed,
            size: info.state.bytes,
            metadata: c.metadata.clone(),
            stream: info,
        }
    }

    /// The backing stream's name, `OBJ_<bucket>`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::object_store::ObjectStore) -> Result<(), nats_jetstream::object_store::ObjectStoreError> {
    /// assert_eq!(store.status().await?.stream_name(), "OBJ_files");
    /// # Ok(()) }
    /// ```
    pub fn stream_name(&self) -> &str {
        &self.stream.config.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn j25_bucket_stream_config() {
        let c = Config {
            num_replicas: 3,
            max_age: Duration::from_secs(60),
            ..Config::from("files")
        }
        .stream_config();
        assert_eq!(c.name, "OBJ_files");
        assert_eq!(c.subjects, ["$O.files.C.>", "$O.files.M.>"]);
        assert_eq!(c.discard, DiscardPolicy::New);
        assert!(c.allow_rollup_hdrs && c.allow_direct);
        assert_eq!(c.num_replicas, 3);
        assert_eq!(c.max_age, Duration::from_secs(60));
    }
}
