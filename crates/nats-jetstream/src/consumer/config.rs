//! [`Config`] and [`Info`]: a consumer's configuration and state as the server's JSON has them
//! (J11). Durations are nanoseconds on the wire; unknown fields are kept in `extra`.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::stream::ClusterInfo;
use crate::wire::{nanos, opt_time, vec_nanos};

/// A pull consumer's configuration (J11), mirroring the server's `ConsumerConfig`.
/// `Default` is an ephemeral consumer delivering everything with explicit acks; zero values
/// mean "the server's default".
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use nats_jetstream::consumer::{AckPolicy, Config, DeliverPolicy};
///
/// let config = Config {
///     durable_name: Some("billing".into()),
///     deliver_policy: DeliverPolicy::ByStartSequence,
///     opt_start_seq: Some(100),
///     ack_policy: AckPolicy::Explicit,
///     ack_wait: Duration::from_secs(10),
///     filter_subject: "orders.>".into(),
///     memory_storage: true,
///     ..Default::default()
/// };
/// let json = serde_json::to_value(&config).unwrap();
/// assert_eq!(json["deliver_policy"], "by_start_sequence");
/// assert_eq!(json["ack_wait"], 10_000_000_000u64);
/// assert_eq!(json["mem_storage"], true); // the server's JSON names
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// A durable name: the consumer survives without clients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub durable_name: Option<String>,
    /// A name for an ephemeral consumer (2.9+).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Where delivery starts.
    pub deliver_policy: DeliverPolicy,
    /// With [`DeliverPolicy::ByStartSequence`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opt_start_seq: Option<u64>,
    /// With [`DeliverPolicy::ByStartTime`].
    #[serde(with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub opt_start_time: Option<SystemTime>,
    /// How messages are acknowledged.
    pub ack_policy: AckPolicy,
    /// How long the server waits for an ack before redelivering (zero: 30 s).
    #[serde(with = "nanos", skip_serializing_if = "Duration::is_zero")]
    pub ack_wait: Duration,
    /// Most deliveries of one message, `-1` unlimited.
    pub max_deliver: i64,
    /// Redelivery delays, one per delivery.
    #[serde(with = "vec_nanos", skip_serializing_if = "Vec::is_empty")]
    pub backoff: Vec<Duration>,
    /// Only messages on this subject (empty: all).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub filter_subject: String,
    /// Only messages on these subjects (2.10+).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub filter_subjects: Vec<String>,
    /// Instant or at the original pace.
    pub replay_policy: ReplayPolicy,
    /// Percentage of acks to sample for metrics, e.g. `"50%"`.
    #[serde(rename = "sample_freq", skip_serializing_if = "Option::is_none")]
    pub sample_frequency: Option<String>,
    /// Most pull requests waiting at once (zero: 512).
    #[serde(skip_serializing_if = "is_zero")]
    pub max_waiting: i64,
    /// Most unacked messages (zero: 1,000; `-1` unlimited).
    #[serde(skip_serializing_if = "is_zero")]
    pub max_ack_pending: i64,
    /// Deliver only headers (and `Nats-Msg-Size`), no payload.
    #[serde(skip_serializing_if = "is_false")]
    pub headers_only: bool,
    /// Largest batch a pull may ask for (zero: unlimited).
    #[serde(skip_serializing_if = "is_zero")]
    pub max_batch: i64,
    /// Longest expiry a pull may ask for (zero: unlimited).
    #[serde(with = "nanos", skip_serializing_if = "Duration::is_zero")]
    pub max_expires: Duration,
    /// Most bytes a pull may ask for (zero: unlimited).
    #[serde(skip_serializing_if = "is_zero")]
    pub max_bytes: i64,
    /// An ephemeral consumer without pulls for this long is deleted (zero: 5 s).
    #[serde(with = "nanos", skip_serializing_if = "Duration::is_zero")]
    pub inactive_threshold: Duration,
    /// Replicas (zero: the stream's).
    #[serde(skip_serializing_if = "is_zero_usize")]
    pub num_replicas: usize,
    /// Keep the consumer's state in memory.
    #[serde(rename = "mem_storage", skip_serializing_if = "is_false")]
    pub memory_storage: bool,
    /// Free-form metadata (2.10+ servers keep it).
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub metadata: HashMap<String, String>,
    /// Fields this client does not know (and push-consumer fields), kept as they came.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

fn is_zero_usize(n: &usize) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Default for Config {
    fn default() -> Self {
        Config {
            durable_name: None,
            name: None,
            description: None,
            deliver_policy: DeliverPolicy::All,
            opt_start_seq: None,
            opt_start_time: None,
            ack_policy: AckPolicy::Explicit,
            ack_wait: Duration::ZERO,
            max_deliver: -1,
            backoff: Vec::new(),
            filter_subject: String::new(),
            filter_subjects: Vec::new(),
            replay_policy: ReplayPolicy::Instant,
            sample_frequency: None,
            max_waiting: 0,
            max_ack_pending: 0,
            headers_only: false,
            max_batch: 0,
            max_expires: Duration::ZERO,
            max_bytes: 0,
            inactive_threshold: Duration::ZERO,
            num_replicas: 0,
            memory_storage: false,
            metadata: HashMap::new(),
            extra: serde_json::Map::new(),
        }
    }
}

impl Config {
    /// The consumer's name: the durable name, else the name.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = nats_jetstream::consumer::Config { durable_name: Some("d".into()), ..Default::default() };
    /// assert_eq!(c.consumer_name(), Some("d"));
    /// ```
    pub fn consumer_name(&self) -> Option<&str> {
        self.durable_name.as_deref().or(self.name.as_deref())
    }
}

/// Where a consumer starts.
///
/// # Examples
///
/// ```
/// use nats_jetstream::consumer::DeliverPolicy;
/// assert_eq!(serde_json::to_string(&DeliverPolicy::LastPerSubject).unwrap(), "\"last_per_subject\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeliverPolicy {
    /// From the first message.
    #[default]
    All,
    /// From the last message.
    Last,
    /// Only messages stored from now on.
    New,
    /// From `opt_start_seq`.
    ByStartSequence,
    /// From `opt_start_time`.
    ByStartTime,
    /// The last message of each subject.
    LastPerSubject,
}

/// How messages are acknowledged.
///
/// # Examples
///
/// ```
/// use nats_jetstream::consumer::AckPolicy;
/// assert_eq!(serde_json::to_string(&AckPolicy::None).unwrap(), "\"none\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum AckPolicy {
    /// Each message is acked.
    #[default]
    Explicit,
    /// An ack acks every message up to it.
    All,
    /// No acks.
    None,
}

/// The pace of delivery.
///
/// # Examples
///
/// ```
/// use nats_jetstream::consumer::ReplayPolicy;
/// assert_eq!(serde_json::to_string(&ReplayPolicy::Original).unwrap(), "\"original\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ReplayPolicy {
    /// As fast as possible.
    #[default]
    Instant,
    /// At the pace the messages were stored.
    Original,
}

/// A consumer's config and state (J11).
///
/// # Examples
///
/// ```no_run
/// # async fn demo(c: nats_jetstream::consumer::PullConsumer) -> Result<(), nats_jetstream::Error> {
/// let info = c.info().await?;
/// println!("{} pending, {} unacked", info.num_pending, info.num_ack_pending);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Info {
    /// The stream.
    pub stream_name: String,
    /// The consumer's name.
    pub name: String,
    /// When it was created (RFC 3339).
    #[serde(default)]
    pub created: String,
    /// Its config as the server holds it.
    pub config: Config,
    /// The last delivered sequences.
    #[serde(default)]
    pub delivered: SequenceInfo,
    /// The sequences acked so far.
    #[serde(default)]
    pub ack_floor: SequenceInfo,
    /// Delivered and not acked.
    #[serde(default)]
    pub num_ack_pending: u64,
    /// Redelivered and not acked.
    #[serde(default)]
    pub num_redelivered: u64,
    /// Pull requests waiting.
    #[serde(default)]
    pub num_waiting: u64,
    /// Messages not delivered yet.
    #[serde(default)]
    pub num_pending: u64,
    /// Leader and replicas, in a cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterInfo>,
    /// Everything else the server sent.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// A consumer and stream sequence pair.
///
/// # Examples
///
/// ```
/// let s: nats_jetstream::consumer::SequenceInfo =
///     serde_json::from_str(r#"{"consumer_seq":3,"stream_seq":9}"#).unwrap();
/// assert_eq!(s.stream_sequence, 9);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct SequenceInfo {
    /// Consumer sequence.
    #[serde(rename = "consumer_seq")]
    pub consumer_sequence: u64,
    /// Stream sequence.
    #[serde(rename = "stream_seq")]
    pub stream_sequence: u64,
}
