//! Streams (J4–J5): create, get, update, delete, info, purge, list; get a message by sequence
//! or last by subject (direct get when the stream allows it, ADR-31), delete a message.

mod config;

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::SystemTime;

use bytes::Bytes;
use nats_client::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use config::{
    ClusterInfo, Config, DiscardPolicy, External, Info, PeerInfo, Placement, Republish,
    RetentionPolicy, Source, State, StorageType,
};

use crate::context::Context;
use crate::error::{ApiError, Error, ErrorCode};
use crate::paged::Paged;
use crate::wire::{base64_decode, parse_rfc3339, validate_name};

/// A handle to one stream: its name, the info it had when the handle was made, and the
/// context to talk through. Cheap to clone.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::Error> {
/// let stream = js.get_stream("ORDERS").await?;
/// let info = stream.info().await?;
/// let purged = stream.purge().filter("orders.old").await?;
/// let msg = stream.get_raw_message(1).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Stream {
    pub(crate) context: Context,
    pub(crate) name: String,
    pub(crate) info: Info,
}

#[derive(Deserialize)]
struct Success {
    #[serde(default)]
    success: bool,
}

impl Context {
    /// Creates a stream (J4). Creating one that exists with the same config succeeds.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`] (J3), [`Error::Api`] (e.g. 10058 the name is in use with another
    /// config, 10005 not enough servers for the replicas), [`Error::JetStreamNotEnabled`] (J2),
    /// [`Error::TimedOut`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::Error> {
    /// use nats_jetstream::stream;
    /// let s = js.create_stream(stream::Config {
    ///     name: "ORDERS".into(),
    ///     subjects: vec!["orders.>".into()],
    ///     num_replicas: 3,
    ///     ..Default::default()
    /// }).await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_stream(&self, config: Config) -> Result<Stream, Error> {
        validate_name("stream", &config.name)?;
        let info: Info = self
            .api(&format!("STREAM.CREATE.{}", config.name), Some(&config))
            .await?;
        Ok(self.stream_handle(info))
    }

    /// A handle to an existing stream (one `STREAM.INFO`).
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with 10059 when it does not exist (see [`Error::is_not_found`]), and
    /// as [`create_stream`](Context::create_stream).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::Error> {
    /// let stream = js.get_stream("ORDERS").await?;
    /// # Ok(()) }
    /// ```
    pub async fn get_stream(&self, name: impl AsRef<str>) -> Result<Stream, Error> {
        let info = self.stream_info(name.as_ref()).await?;
        Ok(self.stream_handle(info))
    }

    /// The stream named in `config` if it exists (its config unchanged), else a new one.
    ///
    /// # Errors
    ///
    /// As [`create_stream`](Context::create_stream).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::Error> {
    /// let stream = js.get_or_create_stream("EVENTS".into()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn get_or_create_stream(&self, config: Config) -> Result<Stream, Error> {
        match self.get_stream(&config.name).await {
            Ok(stream) => Ok(stream),
            Err(e) if e.is_stream_not_found() => self.create_stream(config).await,
            Err(e) => Err(e),
        }
    }

    /// Changes a stream's config (the server refuses changes to storage and a few others).
    ///
    /// # Errors
    ///
    /// As [`create_stream`](Context::create_stream); 10059 when it does not exist.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::Error> {
    /// let mut config = js.get_stream("ORDERS").await?.cached_info().config.clone();
    /// config.max_messages = 1_000;
    /// let info = js.update_stream(config).await?;
    /// # Ok(()) }
    /// ```
    pub async fn update_stream(&self, config: Config) -> Result<Info, Error> {
        validate_name("stream", &config.name)?;
        self.api(&format!("STREAM.UPDATE.{}", config.name), Some(&config))
            .await
    }

    /// Deletes a stream with all its messages and consumers.
    ///
    /// # Errors
    ///
    /// 10059 when it does not exist; as [`create_stream`](Context::create_stream).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::Error> {
    /// js.delete_stream("ORDERS").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_stream(&self, name: impl AsRef<str>) -> Result<(), Error> {
        let name = name.as_ref();
        validate_name("stream", name)?;
        let r: Success = self
            .api(&format!("STREAM.DELETE.{name}"), None::<&()>)
            .await?;
        success(r, "stream delete")
    }

    /// A stream's current config and state.
    ///
    /// # Errors
    ///
    /// 10059 when it does not exist; as [`create_stream`](Context::create_stream).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::Error> {
    /// let info = js.stream_info("ORDERS").await?;
    /// # Ok(()) }
    /// ```
    pub async fn stream_info(&self, name: impl AsRef<str>) -> Result<Info, Error> {
        let name = name.as_ref();
        validate_name("stream", name)?;
        self.api(&format!("STREAM.INFO.{name}"), None::<&()>).await
    }

    /// The names of all streams, paged (J4).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::Error> {
    /// use futures_util::TryStreamExt;
    /// let mut names = js.stream_names();
    /// while let Some(name) = names.try_next().await? {
    ///     println!("{name}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn stream_names(&self) -> Paged<String> {
        Paged::new(self.clone(), "STREAM.NAMES".into(), "streams", Map::new())
    }

    /// The names of the streams that store `subject` (wildcards allowed), paged.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::Error> {
    /// use futures_util::TryStreamExt;
    /// let names: Vec<String> = js.stream_names_for_subject("orders.new").try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn stream_names_for_subject(&self, subject: impl Into<String>) -> Paged<String> {
        let mut filter = Map::new();
        filter.insert("subject".into(), Value::from(subject.into()));
        Paged::new(self.clone(), "STREAM.NAMES".into(), "streams", filter)
    }

    /// The info of all streams, paged (J4).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::Error> {
    /// use futures_util::TryStreamExt;
    /// let infos: Vec<nats_jetstream::stream::Info> = js.streams().try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn streams(&self) -> Paged<Info> {
        Paged::new(self.clone(), "STREAM.LIST".into(), "streams", Map::new())
    }

    fn stream_handle(&self, info: Info) -> Stream {
        Stream {
            context: self.clone(),
            name: info.config.name.clone(),
            info,
        }
    }
}

fn success(r: Success, what: &str) -> Result<(), Error> {
    if r.success {
        Ok(())
    } else {
        Err(Error::Decode(format!("{what} did not report success")))
    }
}

impl Stream {
    /// The stream's name.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(stream: nats_jetstream::stream::Stream) {
    /// println!("{}", stream.name());
    /// # }
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The context this handle uses.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(stream: nats_jetstream::stream::Stream) {
    /// let js = stream.context();
    /// # }
    /// ```
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// The info as it was when this handle was made (no request).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(stream: nats_jetstream::stream::Stream) {
    /// println!("{:?}", stream.cached_info().config.subjects);
    /// # }
    /// ```
    pub fn cached_info(&self) -> &Info {
        &self.info
    }

    /// The current config and state (J4).
    ///
    /// # Errors
    ///
    /// As [`Context::stream_info`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(stream: nats_jetstream::stream::Stream) -> Result<(), nats_jetstream::Error> {
    /// println!("{} messages", stream.info().await?.state.messages);
    /// # Ok(()) }
    /// ```
    pub async fn info(&self) -> Result<Info, Error> {
        self.context.stream_info(&self.name).await
    }

    /// Purges messages: all of them, or narrowed with `filter`, `keep` and `sequence` on the
    /// returned builder; awaiting it returns how many were purged (J4).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(stream: nats_jetstream::stream::Stream) -> Result<(), nats_jetstream::Error> {
    /// let all = stream.purge().await?;
    /// let some = stream.purge().filter("orders.eu.>").keep(10).await?;
    /// let below = stream.purge().sequence(100).await?; // everything below seq 100
    /// # Ok(()) }
    /// ```
    pub fn purge(&self) -> Purge<'_> {
        Purge {
            stream: self,
            request: PurgeRequest::default(),
        }
    }

    /// The message stored at `sequence` (J4); direct get when the stream has
    /// `allow_direct` (ADR-31), else `STREAM.MSG.GET`.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with 10037 (no message found) when there is none; as
    /// [`Context::stream_info`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(stream: nats_jetstream::stream::Stream) -> Result<(), nats_jetstream::Error> {
    /// let msg = stream.get_raw_message(1).await?;
    /// println!("{} {:?}", msg.subject, msg.payload);
    /// # Ok(()) }
    /// ```
    pub async fn get_raw_message(&self, sequence: u64) -> Result<RawMessage, Error> {
        self.get_message(MessageGet {
            seq: Some(sequence),
            last_by_subj: None,
        })
        .await
    }

    /// The last message stored on `subject` (J4); direct get when allowed.
    ///
    /// # Errors
    ///
    /// As [`get_raw_message`](Stream::get_raw_message).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(stream: nats_jetstream::stream::Stream) -> Result<(), nats_jetstream::Error> {
    /// let latest = stream.get_last_raw_message_by_subject("orders.new").await?;
    /// # Ok(()) }
    /// ```
    pub async fn get_last_raw_message_by_subject(
        &self,
        subject: impl Into<String>,
    ) -> Result<RawMessage, Error> {
        self.get_message(MessageGet {
            seq: None,
            last_by_subj: Some(subject.into()),
        })
        .await
    }

    async fn get_message(&self, request: MessageGet) -> Result<RawMessage, Error> {
        let body =
            Bytes::from(serde_json::to_vec(&request).map_err(|e| Error::Decode(e.to_string()))?);
        if self.info.config.allow_direct {
            let reply = self
                .context
                .request(&format!("DIRECT.GET.{}", self.name), body)
                .await?;
            return RawMessage::from_direct(reply);
        }
        #[derive(Deserialize)]
        struct Reply {
            message: StoredMessage,
        }
        let reply = self
            .context
            .request(&format!("STREAM.MSG.GET.{}", self.name), body)
            .await?;
        let r: Reply = crate::context::decode_reply(&reply.payload)?;
        r.message.into_raw()
    }

    /// Deletes the message at `sequence`; its storage is not overwritten (the server's
    /// `no_erase`).
    ///
    /// # Errors
    ///
    /// [`Error::Api`] (no such message, `deny_delete`); as [`Context::stream_info`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(stream: nats_jetstream::stream::Stream) -> Result<(), nats_jetstream::Error> {
    /// stream.delete_message(3).await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_message(&self, sequence: u64) -> Result<(), Error> {
        self.remove_message(sequence, true).await
    }

    /// Deletes the message at `sequence` and overwrites its storage.
    ///
    /// # Errors
    ///
    /// As [`delete_message`](Stream::delete_message).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(stream: nats_jetstream::stream::Stream) -> Result<(), nats_jetstream::Error> {
    /// stream.erase_message(3).await?;
    /// # Ok(()) }
    /// ```
    pub async fn erase_message(&self, sequence: u64) -> Result<(), Error> {
        self.remove_message(sequence, false).await
    }

    async fn remove_message(&self, seq: u64, no_erase: bool) -> Result<(), Error> {
        #[derive(Serialize)]
        struct Req {
            seq: u64,
            #[serde(skip_serializing_if = "std::ops::Not::not")]
            no_erase: bool,
        }
        let r: Success = self
            .context
            .api(
                &format!("STREAM.MSG.DELETE.{}", self.name),
                Some(&Req { seq, no_erase }),
            )
            .await?;
        success(r, "message delete")
    }
}

#[derive(Serialize)]
struct MessageGet {
    #[serde(skip_serializing_if = "Option::is_none")]
    seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_by_subj: Option<String>,
}

#[derive(Debug, Default, Serialize)]
struct PurgeRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    filter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    keep: Option<u64>,
}

/// A purge to narrow and then await (see [`Stream::purge`]); resolves to the number of
/// messages purged.
///
/// # Errors
///
/// [`Error::Api`] (e.g. `deny_purge`, `keep` together with `sequence`), and as
/// [`Context::stream_info`].
///
/// # Examples
///
/// ```no_run
/// # async fn demo(stream: nats_jetstream::stream::Stream) -> Result<(), nats_jetstream::Error> {
/// let purged: u64 = stream.purge().filter("orders.>").keep(5).await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a purge does nothing until awaited"]
pub struct Purge<'a> {
    stream: &'a Stream,
    request: PurgeRequest,
}

impl Purge<'_> {
    /// Only messages on subjects matching `filter`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(stream: nats_jetstream::stream::Stream) -> Result<(), nats_jetstream::Error> {
    /// let purged = stream.purge().filter("orders.eu.>").await?;
    /// # Ok(()) }
    /// ```
    pub fn filter(mut self, filter: impl Into<String>) -> Self {
        self.request.filter = Some(filter.into());
        self
    }

    /// Keep the newest `n` messages (per `filter`).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(stream: nats_jetstream::stream::Stream) -> Result<(), nats_jetstream::Error> {
    /// let purged = stream.purge().keep(100).await?;
    /// # Ok(()) }
    /// ```
    pub fn keep(mut self, n: u64) -> Self {
        self.request.keep = Some(n);
        self
    }

    /// Purge everything below `sequence` (not including it).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(stream: nats_jetstream::stream::Stream) -> Result<(), nats_jetstream::Error> {
    /// let purged = stream.purge().sequence(1_000).await?;
    /// # Ok(()) }
    /// ```
    pub fn sequence(mut self, sequence: u64) -> Self {
        self.request.seq = Some(sequence);
        self
    }
}

impl<'a> IntoFuture for Purge<'a> {
    type Output = Result<u64, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<u64, Error>> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            #[derive(Deserialize)]
            struct Reply {
                #[serde(default)]
                purged: u64,
            }
            let r: Reply = self
                .stream
                .context
                .api(
                    &format!("STREAM.PURGE.{}", self.stream.name),
                    Some(&self.request),
                )
                .await?;
            Ok(r.purged)
        })
    }
}

/// A message read from a stream by sequence or subject (not through a consumer).
///
/// # Examples
///
/// ```no_run
/// # async fn demo(stream: nats_jetstream::stream::Stream) -> Result<(), nats_jetstream::Error> {
/// let m = stream.get_raw_message(7).await?;
/// assert_eq!(m.sequence, 7);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RawMessage {
    /// The subject it was published to.
    pub subject: String,
    /// Its stream sequence.
    pub sequence: u64,
    /// Its headers, if it had any.
    pub headers: Option<HeaderMap>,
    /// Its payload.
    pub payload: Bytes,
    /// When it was stored.
    pub time: Option<SystemTime>,
}

/// `STREAM.MSG.GET`'s `message` member.
#[derive(Deserialize)]
struct StoredMessage {
    subject: String,
    seq: u64,
    #[serde(default)]
    hdrs: Option<String>,
    #[serde(default)]
    data: Option<String>,
    #[serde(default)]
    time: Option<String>,
}

impl StoredMessage {
    fn into_raw(self) -> Result<RawMessage, Error> {
        let bad = |what: &str| Error::Decode(format!("message {what} is not valid base64"));
        let headers = match self.hdrs.as_deref() {
            None | Some("") => None,
            Some(h) => {
                let block = base64_decode(h).ok_or_else(|| bad("headers"))?;
                Some(HeaderMap::decode(&block).map_err(|e| Error::Decode(e.to_string()))?)
            }
        };
        let payload = match self.data.as_deref() {
            None => Bytes::new(),
            Some(d) => Bytes::from(base64_decode(d).ok_or_else(|| bad("data"))?),
        };
        Ok(RawMessage {
            subject: self.subject,
            sequence: self.seq,
            headers,
            payload,
            time: self.time.as_deref().and_then(parse_rfc3339),
        })
    }
}

/// Headers a direct get adds to the stored message's own.
const DIRECT_STREAM: &str = "Nats-Stream";
const DIRECT_SUBJECT: &str = "Nats-Subject";
const DIRECT_SEQUENCE: &str = "Nats-Sequence";
const DIRECT_TIME: &str = "Nats-Time-Stamp";

impl RawMessage {
    /// A direct-get reply (ADR-31): the stored message with `Nats-Stream`, `Nats-Subject`,
    /// `Nats-Sequence` and `Nats-Time-Stamp` headers, or a 404/408 status.
    fn from_direct(msg: nats_client::Message) -> Result<RawMessage, Error> {
        if let Some(status) = msg.status {
            let description = msg.description().unwrap_or_default().to_owned();
            return Err(Error::Api(if status == StatusCode::NOT_FOUND {
                ApiError::new(404, ErrorCode::NO_MESSAGE_FOUND, description)
            } else {
                ApiError::new(status.as_u16(), ErrorCode::BAD_REQUEST, description)
            }));
        }
        let mut headers = msg
            .headers
            .ok_or_else(|| Error::Decode("direct get reply without headers".into()))?;
        let subject = headers
            .get(DIRECT_SUBJECT)
            .ok_or_else(|| Error::Decode("direct get reply without Nats-Subject".into()))?
            .to_owned();
        let sequence = headers
            .get(DIRECT_SEQUENCE)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| Error::Decode("direct get reply without Nats-Sequence".into()))?;
        let time = headers.get(DIRECT_TIME).and_then(parse_direct_time);
        for name in [DIRECT_STREAM, DIRECT_SUBJECT, DIRECT_SEQUENCE, DIRECT_TIME] {
            headers.remove(name);
        }
        Ok(RawMessage {
            subject,
            sequence,
            headers: (!headers.is_empty()).then_some(headers),
            payload: msg.payload,
            time,
        })
    }
}

/// `Nats-Time-Stamp` is RFC 3339 on current servers; 2.9 writes Go's
/// `2006-01-02 15:04:05.999999999 +0000 UTC`.
fn parse_direct_time(s: &str) -> Option<SystemTime> {
    parse_rfc3339(s).or_else(|| {
        let mut parts = s.split(' ');
        let (date, time) = (parts.next()?, parts.next()?);
        parse_rfc3339(&format!("{date}T{time}Z"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_messages_decode_base64_headers_and_data() {
        let m: StoredMessage = serde_json::from_str(
            r#"{"subject":"a.b","seq":4,"hdrs":"TkFUUy8xLjANClg6IDENCg0K","data":"aGk=","time":"2025-12-02T08:00:00Z"}"#,
        )
        .unwrap();
        let raw = m.into_raw().unwrap();
        assert_eq!(raw.subject, "a.b");
        assert_eq!(raw.sequence, 4);
        assert_eq!(raw.payload, "hi");
        assert_eq!(raw.headers.unwrap().get("X"), Some("1"));
        assert!(raw.time.is_some());
    }

    #[test]
    fn go_time_stamps_parse() {
        assert!(parse_direct_time("2025-12-02 08:00:00.123 +0000 UTC").is_some());
        assert!(parse_direct_time("2025-12-02T08:00:00.123Z").is_some());
        assert!(parse_direct_time("yesterday").is_none());
    }
}
