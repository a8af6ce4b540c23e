//! [`Config`] of a bucket and its [`Status`] (J20): the bucket as the stream `KV_<bucket>` on
//! `$KV.<bucket>.>` with the ADR-8 settings (one message per key per history slot, discard
//! new, deletes only through markers, roll-ups for purges, a duplicate window no longer than
//! the TTL).

use std::time::Duration;

use crate::stream::{self, DiscardPolicy, Placement, Republish, Source, StorageType};

use super::error::Error;
use super::keys::validate_bucket;

/// The most revisions a bucket keeps per key (ADR-8).
pub const MAX_HISTORY: i64 = 64;
/// The duplicate window of a bucket without a shorter TTL (the server's default).
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// A bucket's configuration (J20). `Default`: history 1, no TTL, no size limits, file
/// storage, one replica, direct get allowed (as the reference libraries do).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use nats_jetstream::kv;
/// use nats_jetstream::stream::StorageType;
/// let config = kv::Config {
///     bucket: "sessions".into(),
///     history: 5,
///     max_age: Duration::from_secs(3600), // entries expire after an hour (the TTL)
///     storage: StorageType::Memory,
///     ..Default::default()
/// };
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The bucket's name: `[-_a-zA-Z0-9]+`.
    pub bucket: String,
    /// A description.
    pub description: Option<String>,
    /// The largest write accepted, bytes; `-1` for no limit. The server counts a write's
    /// headers too: this client's message id (about 40 bytes with its header block) on every
    /// write, and the marker headers on deletes and purges.
    pub max_value_size: i32,
    /// Revisions kept per key, 1..=64.
    pub history: i64,
    /// How long a revision lives (the bucket's TTL); zero for ever.
    pub max_age: Duration,
    /// The most bytes the bucket holds; `-1` for no limit.
    pub max_bytes: i64,
    /// File or memory.
    pub storage: StorageType,
    /// Replicas (1, 3 or 5 in a cluster).
    pub num_replicas: usize,
    /// Let any replica answer reads (direct get, ADR-31); reads may then lag a write by a
    /// moment on another replica.
    pub allow_direct: bool,
    /// Re-publish every write to another subject.
    pub republish: Option<Republish>,
    /// Mirror another bucket (its name, with or without `KV_`): reads come from the mirror,
    /// writes go to the origin.
    pub mirror: Option<Source>,
    /// Source other buckets into this one (needs a 2.10+ server, which rewrites their keys'
    /// subjects into this bucket).
    pub sources: Vec<Source>,
    /// Where the bucket's stream is placed.
    pub placement: Option<Placement>,
    /// Compress the stored values (s2; needs a 2.10+ server).
    pub compression: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bucket: String::new(),
            description: None,
            max_value_size: -1,
            history: 1,
            max_age: Duration::ZERO,
            max_bytes: -1,
            storage: StorageType::File,
            num_replicas: 1,
            allow_direct: true,
            republish: None,
            mirror: None,
            sources: Vec::new(),
            placement: None,
            compression: false,
        }
    }
}

/// `KV_<bucket>`.
pub(crate) fn stream_name(bucket: &str) -> String {
    format!("KV_{bucket}")
}

/// A source or mirror name as a stream name: `KV_` added when missing.
fn kv_stream(name: &str) -> String {
    if name.starts_with("KV_") {
        name.to_owned()
    } else {
        stream_name(name)
    }
}

impl Config {
    /// The stream that holds the bucket (ADR-8). `modern`: the server is 2.10+.
    pub(crate) fn to_stream_config(&self, modern: bool) -> Result<stream::Config, Error> {
        validate_bucket(&self.bucket).map_err(Error::InvalidBucket)?;
        if !(1..=MAX_HISTORY).contains(&self.history) {
            return Err(Error::InvalidHistory(self.history));
        }
        if self.num_replicas == 0 {
            return Err(Error::InvalidConfig(
                "num_replicas must be at least 1".into(),
            ));
        }
        if self.max_value_size == 0 || self.max_value_size < -1 {
            return Err(Error::InvalidConfig(
                "max_value_size must be positive, or -1 for no limit".into(),
            ));
        }
        let needs_modern =
            |what: &str| Err(Error::InvalidConfig(format!("{what} needs a 2.10+ server")));
        if self.compression && !modern {
            return needs_modern("compression");
        }
        if !self.sources.is_empty() && !modern {
            return needs_modern("sources");
        }
        let duplicate_window = if !self.max_age.is_zero() && self.max_age < DUPLICATE_WINDOW {
            self.max_age
        } else {
            DUPLICATE_WINDOW
        };
        let mut config = stream::Config {
            name: stream_name(&self.bucket),
            description: self.description.clone(),
            subjects: vec![format!("$KV.{}.>", self.bucket)],
            max_messages: -1,
            max_bytes: self.max_bytes,
            max_age: self.max_age,
            max_messages_per_subject: self.history,
            max_message_size: self.max_value_size,
            discard: DiscardPolicy::New,
            storage: self.storage,
            num_replicas: self.num_replicas,
            duplicate_window,
            allow_direct: self.allow_direct,
            allow_rollup_hdrs: true,
            deny_delete: true,
            deny_purge: false,
            placement: self.placement.clone(),
            republish: self.republish.clone(),
            ..Default::default()
        };
        if self.compression {
            config.extra.insert("compression".into(), "s2".into());
        }
        if let Some(mirror) = &self.mirror {
            let mut mirror = mirror.clone();
            mirror.name = kv_stream(&mirror.name);
            config.subjects.clear();
            config.mirror = Some(mirror);
            config.mirror_direct = true;
        }
        for source in &self.sources {
            let mut source = source.clone();
            let origin = source.name.trim_start_matches("KV_").to_owned();
            source.name = kv_stream(&source.name);
            if origin != self.bucket {
                // 2.10: the sourced keys land in this bucket's subjects.
                source.extra.insert(
                    "subject_transforms".into(),
                    serde_json::json!([{
                        "src": format!("$KV.{origin}.>"),
                        "dest": format!("$KV.{}.>", self.bucket),
                    }]),
                );
            }
            config.sources.push(source);
        }
        Ok(config)
    }
}

/// A bucket's state and settings (J20), from its stream's info.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(kv: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
/// let status = kv.status().await?;
/// println!("{}: {} values, history {}, ttl {:?}, {} bytes in {}",
///          status.bucket(), status.values(), status.history(), status.max_age(),
///          status.bytes(), status.stream_name());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Status {
    /// The bucket's name.
    pub bucket: String,
    /// The stream's info as the server sent it.
    pub info: stream::Info,
}

impl Status {
    /// The bucket's name.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(s: nats_jetstream::kv::Status) { println!("{}", s.bucket()); }
    /// ```
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Revisions stored, markers and history included.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(s: nats_jetstream::kv::Status) { println!("{}", s.values()); }
    /// ```
    pub fn values(&self) -> u64 {
        self.info.state.messages
    }

    /// Revisions kept per key.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(s: nats_jetstream::kv::Status) { println!("{}", s.history()); }
    /// ```
    pub fn history(&self) -> i64 {
        self.info.config.max_messages_per_subject
    }

    /// How long a revision lives (the TTL); zero for ever.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(s: nats_jetstream::kv::Status) { println!("{:?}", s.max_age()); }
    /// ```
    pub fn max_age(&self) -> Duration {
        self.info.config.max_age
    }

    /// Bytes stored.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(s: nats_jetstream::kv::Status) { println!("{}", s.bytes()); }
    /// ```
    pub fn bytes(&self) -> u64 {
        self.info.state.bytes
    }

    /// The backing stream, `KV_<bucket>`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(s: nats_jetstream::kv::Status) { assert!(s.stream_name().starts_with("KV_")); }
    /// ```
    pub fn stream_name(&self) -> &str {
        &self.info.config.name
    }

    /// Whether the values are compressed (2.10+ servers only).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(s: nats_jetstream::kv::Status) { println!("{}", s.is_compressed()); }
    /// ```
    pub fn is_compressed(&self) -> bool {
        self.info
            .config
            .extra
            .get("compression")
            .and_then(|c| c.as_str())
            .is_some_and(|c| c != "none")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(bucket: &str) -> Config {
        Config {
            bucket: bucket.into(),
            ..Default::default()
        }
    }

    #[test]
    fn j20_the_stream_follows_adr8() {
        let s = Config {
            history: 5,
            max_age: Duration::from_secs(30),
            max_value_size: 1024,
            ..config("cfg")
        }
        .to_stream_config(false)
        .unwrap();
        assert_eq!(s.name, "KV_cfg");
        assert_eq!(s.subjects, ["$KV.cfg.>"]);
        assert_eq!(s.max_messages_per_subject, 5);
        assert_eq!(s.discard, DiscardPolicy::New);
        assert!(s.deny_delete && !s.deny_purge && s.allow_rollup_hdrs && s.allow_direct);
        assert_eq!(s.max_message_size, 1024);
        // The duplicate window is at most the TTL...
        assert_eq!(s.duplicate_window, Duration::from_secs(30));
        // ... and 2 min otherwise.
        let s = config("cfg").to_stream_config(false).unwrap();
        assert_eq!(s.duplicate_window, DUPLICATE_WINDOW);
        assert_eq!(s.max_age, Duration::ZERO);
        let s = Config {
            max_age: Duration::from_secs(3600),
            ..config("cfg")
        }
        .to_stream_config(false)
        .unwrap();
        assert_eq!(s.duplicate_window, DUPLICATE_WINDOW);
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["discard"], "new");
        assert_eq!(json["max_msgs_per_subject"], 1);
    }

    #[test]
    fn j20_bad_configs_are_typed_errors() {
        for history in [0, -1, 65] {
            let e = Config {
                history,
                ..config("b")
            }
            .to_stream_config(false)
            .unwrap_err();
            assert!(
                matches!(e, Error::InvalidHistory(h) if h == history),
                "{e:?}"
            );
        }
        assert!(Config {
            history: 64,
            ..config("b")
        }
        .to_stream_config(false)
        .is_ok());
        assert!(matches!(
            config("a.b").to_stream_config(false),
            Err(Error::InvalidBucket(_))
        ));
        assert!(matches!(
            Config {
                compression: true,
                ..config("b")
            }
            .to_stream_config(false),
            Err(Error::InvalidConfig(_))
        ));
        let s = Config {
            compression: true,
            ..config("b")
        }
        .to_stream_config(true)
        .unwrap();
        assert_eq!(s.extra["compression"], "s2");
        assert!(matches!(
            Config {
                num_replicas: 0,
                ..config("b")
            }
            .to_stream_config(false),
            Err(Error::InvalidConfig(_))
        ));
    }

    #[test]
    fn mirrors_and_sources() {
        let s = Config {
            mirror: Some(Source {
                name: "origin".into(),
                ..Default::default()
            }),
            ..config("copy")
        }
        .to_stream_config(false)
        .unwrap();
        assert!(s.subjects.is_empty());
        assert_eq!(s.mirror.unwrap().name, "KV_origin");
        assert!(s.mirror_direct);
        let s = Config {
            sources: vec![Source {
                name: "KV_a".into(),
                ..Default::default()
            }],
            ..config("all")
        }
        .to_stream_config(true)
        .unwrap();
        assert_eq!(s.sources[0].name, "KV_a");
        assert_eq!(
            s.sources[0].extra["subject_transforms"][0]["dest"],
            "$KV.all.>"
        );
    }
}
