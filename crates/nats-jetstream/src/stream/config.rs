//! [`Config`] and [`Info`]: the stream's configuration and state as the server's JSON has them
//! (J5). Durations are nanoseconds on the wire; fields a newer server adds are kept in `extra`.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::wire::{nanos, opt_time};

/// What the stream keeps and for how long (J5). Mirrors the server's `StreamConfig` JSON;
/// `Default` is a file stream with no limits, R1, discard old, the server's 2 min duplicate
/// window.
///
/// Limits use `-1` for unlimited, as the server does; `max_age` and `duplicate_window` use
/// zero for "unlimited" / "server default".
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use nats_jetstream::stream::{Config, RetentionPolicy, StorageType};
///
/// let config = Config {
///     name: "ORDERS".into(),
///     subjects: vec!["orders.>".into()],
///     retention: RetentionPolicy::WorkQueue,
///     storage: StorageType::Memory,
///     max_age: Duration::from_secs(3600),
///     num_replicas: 3,
///     ..Default::default()
/// };
/// let json = serde_json::to_value(&config).unwrap();
/// assert_eq!(json["retention"], "workqueue");
/// assert_eq!(json["max_age"], 3_600_000_000_000u64);
/// // Fields from a newer server survive a round trip.
/// let back: Config = serde_json::from_str(r#"{"name":"X","compression":"s2"}"#).unwrap();
/// assert_eq!(back.extra["compression"], "s2");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// The stream's name (J3: no `.`, `*`, `>`, whitespace or path separators).
    pub name: String,
    /// A description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The subjects stored (wildcards allowed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<String>,
    /// Limits, interest or work queue.
    pub retention: RetentionPolicy,
    /// Most consumers, `-1` unlimited.
    pub max_consumers: i64,
    /// Most messages, `-1` unlimited.
    #[serde(rename = "max_msgs")]
    pub max_messages: i64,
    /// Most bytes, `-1` unlimited.
    pub max_bytes: i64,
    /// Oldest message age, zero unlimited.
    #[serde(with = "nanos")]
    pub max_age: Duration,
    /// Most messages per subject, `-1` unlimited.
    #[serde(rename = "max_msgs_per_subject")]
    pub max_messages_per_subject: i64,
    /// Largest message, `-1` unlimited.
    #[serde(rename = "max_msg_size")]
    pub max_message_size: i32,
    /// What goes when a limit is hit.
    pub discard: DiscardPolicy,
    /// File or memory.
    pub storage: StorageType,
    /// Replicas (1, 3 or 5 in a cluster).
    pub num_replicas: usize,
    /// Do not ack publishes.
    #[serde(skip_serializing_if = "is_false")]
    pub no_ack: bool,
    /// The window in which `Nats-Msg-Id` dedupes, zero for the server default (2 min).
    #[serde(with = "nanos")]
    pub duplicate_window: Duration,
    /// Allow direct get (ADR-31) from any replica.
    pub allow_direct: bool,
    /// Allow direct get from mirrors of this stream.
    #[serde(skip_serializing_if = "is_false")]
    pub mirror_direct: bool,
    /// Allow `Nats-Rollup` headers.
    pub allow_rollup_hdrs: bool,
    /// Refuse message deletes.
    pub deny_delete: bool,
    /// Refuse purges.
    pub deny_purge: bool,
    /// With `discard: new`, apply `max_messages_per_subject` per subject.
    #[serde(skip_serializing_if = "is_false")]
    pub discard_new_per_subject: bool,
    /// Sealed: no more writes, deletes or purges.
    #[serde(skip_serializing_if = "is_false")]
    pub sealed: bool,
    /// Mirror another stream.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mirror: Option<Source>,
    /// Source messages from other streams.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
    /// Cluster and tags to place the stream on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placement: Option<Placement>,
    /// Re-publish stored messages to another subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub republish: Option<Republish>,
    /// Free-form metadata (2.10+ servers keep it).
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub metadata: HashMap<String, String>,
    /// Fields this client does not know (from newer servers), kept as they came.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Default for Config {
    fn default() -> Self {
        Config {
            name: String::new(),
            description: None,
            subjects: Vec::new(),
            retention: RetentionPolicy::Limits,
            max_consumers: -1,
            max_messages: -1,
            max_bytes: -1,
            max_age: Duration::ZERO,
            max_messages_per_subject: -1,
            max_message_size: -1,
            discard: DiscardPolicy::Old,
            storage: StorageType::File,
            num_replicas: 1,
            no_ack: false,
            duplicate_window: Duration::ZERO,
            allow_direct: false,
            mirror_direct: false,
            allow_rollup_hdrs: false,
            deny_delete: false,
            deny_purge: false,
            discard_new_per_subject: false,
            sealed: false,
            mirror: None,
            sources: Vec::new(),
            placement: None,
            republish: None,
            metadata: HashMap::new(),
            extra: serde_json::Map::new(),
        }
    }
}

impl From<&str> for Config {
    /// A default config named `name` (its subject defaults to the name on the server).
    fn from(name: &str) -> Config {
        Config {
            name: name.to_owned(),
            ..Default::default()
        }
    }
}

/// When messages may be removed.
///
/// # Examples
///
/// ```
/// use nats_jetstream::stream::RetentionPolicy;
/// assert_eq!(serde_json::to_string(&RetentionPolicy::Interest).unwrap(), "\"interest\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum RetentionPolicy {
    /// Kept until a limit removes them.
    #[default]
    Limits,
    /// Kept while some consumer has not acked them.
    Interest,
    /// Removed when acked by the (single) consumer.
    #[serde(rename = "workqueue")]
    WorkQueue,
}

/// What a full stream discards.
///
/// # Examples
///
/// ```
/// use nats_jetstream::stream::DiscardPolicy;
/// assert_eq!(serde_json::to_string(&DiscardPolicy::New).unwrap(), "\"new\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum DiscardPolicy {
    /// The oldest messages.
    #[default]
    Old,
    /// The new message (the publish fails).
    New,
}

/// Where messages are kept.
///
/// # Examples
///
/// ```
/// use nats_jetstream::stream::StorageType;
/// assert_eq!(serde_json::to_string(&StorageType::Memory).unwrap(), "\"memory\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum StorageType {
    /// On disk.
    #[default]
    File,
    /// In memory.
    Memory,
}

/// A stream to mirror or source from.
///
/// # Examples
///
/// ```
/// let source = nats_jetstream::stream::Source { name: "ORDERS".into(), ..Default::default() };
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Source {
    /// The origin stream.
    pub name: String,
    /// Start at this sequence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opt_start_seq: Option<u64>,
    /// Start at this time.
    #[serde(with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub opt_start_time: Option<SystemTime>,
    /// Only these subjects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_subject: Option<String>,
    /// The origin is in another domain or account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external: Option<External>,
    /// Fields this client does not know.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The API and deliver prefixes of a source in another domain or account.
///
/// # Examples
///
/// ```
/// let ext = nats_jetstream::stream::External { api: "$JS.hub.API".into(), deliver: None };
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct External {
    /// The API prefix.
    pub api: String,
    /// The deliver prefix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deliver: Option<String>,
}

/// Where a stream is placed in a super-cluster.
///
/// # Examples
///
/// ```
/// let p = nats_jetstream::stream::Placement { cluster: Some("east".into()), tags: vec![] };
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Placement {
    /// The cluster's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// Server tags required.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// Re-publish each stored message from `src` to `dest`.
///
/// # Examples
///
/// ```
/// let r = nats_jetstream::stream::Republish { src: ">".into(), dest: "copy.>".into(), headers_only: false };
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Republish {
    /// Source subject filter.
    pub src: String,
    /// Destination subject.
    pub dest: String,
    /// Only the headers (and the size), no payload.
    #[serde(skip_serializing_if = "is_false")]
    pub headers_only: bool,
}

/// A stream's config and state, from `STREAM.INFO` (J4).
///
/// # Examples
///
/// ```no_run
/// # async fn demo(stream: nats_jetstream::stream::Stream) -> Result<(), nats_jetstream::Error> {
/// let info = stream.info().await?;
/// println!("{} messages, seq {}..={}", info.state.messages, info.state.first_sequence, info.state.last_sequence);
/// if let Some(cluster) = &info.cluster {
///     println!("leader {:?}, {} replicas", cluster.leader, cluster.replicas.len());
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Info {
    /// The config as the server holds it (defaults filled in).
    pub config: Config,
    /// When it was created (RFC 3339).
    #[serde(default)]
    pub created: String,
    /// Messages, bytes, sequences, consumers.
    pub state: State,
    /// Leader and replicas, in a cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterInfo>,
    /// Everything else the server sent (mirror and source state, ...).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// What a stream holds.
///
/// # Examples
///
/// ```
/// let s: nats_jetstream::stream::State = serde_json::from_str(
///     r#"{"messages":2,"bytes":90,"first_seq":1,"last_seq":2,"consumer_count":1}"#).unwrap();
/// assert_eq!((s.first_sequence, s.last_sequence), (1, 2));
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct State {
    /// Messages stored.
    pub messages: u64,
    /// Bytes stored.
    pub bytes: u64,
    /// Sequence of the first message.
    #[serde(rename = "first_seq")]
    pub first_sequence: u64,
    /// Time of the first message (RFC 3339).
    #[serde(rename = "first_ts")]
    pub first_timestamp: String,
    /// Sequence of the last message.
    #[serde(rename = "last_seq")]
    pub last_sequence: u64,
    /// Time of the last message (RFC 3339).
    #[serde(rename = "last_ts")]
    pub last_timestamp: String,
    /// Distinct subjects.
    pub num_subjects: u64,
    /// Deleted messages inside the sequence range.
    pub num_deleted: u64,
    /// Consumers.
    pub consumer_count: usize,
}

/// A clustered stream's or consumer's leader and replicas.
///
/// # Examples
///
/// ```
/// let c: nats_jetstream::stream::ClusterInfo = serde_json::from_str(
///     r#"{"name":"c","leader":"n1","replicas":[{"name":"n2","current":true,"active":1000}]}"#).unwrap();
/// assert_eq!(c.leader.as_deref(), Some("n1"));
/// assert!(c.replicas[0].current);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ClusterInfo {
    /// The cluster's name.
    pub name: Option<String>,
    /// The leader's server name; `None` during an election.
    pub leader: Option<String>,
    /// The other replicas.
    pub replicas: Vec<PeerInfo>,
}

/// One replica.
///
/// # Examples
///
/// ```
/// let p = nats_jetstream::stream::PeerInfo::default();
/// assert!(!p.current);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct PeerInfo {
    /// Server name.
    pub name: String,
    /// Caught up with the leader.
    pub current: bool,
    /// Unreachable.
    pub offline: bool,
    /// Since it was last seen.
    #[serde(with = "nanos")]
    pub active: Duration,
    /// Operations behind the leader.
    pub lag: u64,
}
