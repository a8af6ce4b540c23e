//! Publishing to streams (J6–J10): [`Publish`] options, [`PubAck`], the [`PubAckFuture`], and
//! the ack window that keeps every message until it is acked, re-sending it with the same
//! message id across fail-overs (J9).
//!
//! How it works: every publish gets a `Nats-Msg-Id` (the caller's or a generated one) and a
//! reply subject `<inbox>.<id>-<attempt>` under ONE wildcard subscription per context. A
//! window permit (`max_ack_pending`) is taken before sending, so a full window makes `publish`
//! wait. A driver task reads the replies, the connection events and the timers and asks the
//! pure `window` state machine what to do; it completes the futures in publish order.

mod ack_wire;
mod driver;
mod slots;
mod window;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use bytes::Bytes;
use nats_client::HeaderMap;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::context::Context;
use crate::error::PublishError;

pub(crate) use driver::Publisher;

/// The ack window when none is set (J8).
pub const DEFAULT_MAX_ACK_PENDING: usize = 4_000;
/// How long a publish is re-sent when no ack comes (J9): the server's default duplicate
/// window, so re-sends are deduplicated.
pub const DEFAULT_PUBLISH_RETRY_WINDOW: Duration = Duration::from_secs(120);

/// `Nats-Msg-Id`.
pub(crate) const MSG_ID: &str = "Nats-Msg-Id";
const EXPECTED_STREAM: &str = "Nats-Expected-Stream";
const EXPECTED_LAST_SEQUENCE: &str = "Nats-Expected-Last-Sequence";
const EXPECTED_LAST_SUBJECT_SEQUENCE: &str = "Nats-Expected-Last-Subject-Sequence";
const EXPECTED_LAST_MSG_ID: &str = "Nats-Expected-Last-Msg-Id";

/// Publish settings of a context (see [`ContextBuilder`](crate::ContextBuilder)).
#[derive(Debug, Clone)]
pub(crate) struct PublishOptions {
    pub(crate) max_ack_pending: usize,
    pub(crate) retry_window: Duration,
    pub(crate) ack_timeout: Duration,
    pub(crate) ack_timeout_set: bool,
}

impl Default for PublishOptions {
    fn default() -> Self {
        PublishOptions {
            max_ack_pending: DEFAULT_MAX_ACK_PENDING,
            retry_window: DEFAULT_PUBLISH_RETRY_WINDOW,
            ack_timeout: crate::context::DEFAULT_API_TIMEOUT,
            ack_timeout_set: false,
        }
    }
}

/// The stream's acknowledgement of a stored message (J6).
///
/// # Examples
///
/// ```
/// let ack: nats_jetstream::PubAck =
///     serde_json::from_str(r#"{"stream":"ORDERS","seq":42,"duplicate":true}"#).unwrap();
/// assert_eq!((ack.stream.as_str(), ack.sequence, ack.duplicate), ("ORDERS", 42, true));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PubAck {
    /// The stream that stored it.
    pub stream: String,
    /// Its sequence in that stream.
    #[serde(rename = "seq")]
    pub sequence: u64,
    /// The message id was seen within the duplicate window: it was not stored again. Never
    /// set because of this client's own re-sends (J9).
    #[serde(default)]
    pub duplicate: bool,
    /// The stream's domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

/// A message to publish with options: payload, headers, message id, expectations (J6).
///
/// # Examples
///
/// ```no_run
/// # async fn demo(js: nats_jetstream::Context) -> Result<(), Box<dyn std::error::Error>> {
/// use nats_jetstream::Publish;
/// let ack = js
///     .send_publish(
///         "orders.new",
///         Publish::build()
///             .payload("order 1".into())
///             .message_id("o-1")
///             .expected_stream("ORDERS")
///             .expected_last_sequence(41)
///             .header("Trace-Id", "abc"),
///     )
///     .await?
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct Publish {
    payload: Bytes,
    headers: HeaderMap,
    error: Option<String>,
}

impl Publish {
    /// An empty message without headers.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::PublishError> {
    /// use nats_jetstream::Publish;
    /// let ack = js.send_publish("a", Publish::build()).await?.await?;
    /// # Ok(()) }
    /// ```
    pub fn build() -> Publish {
        Publish::default()
    }

    /// The payload.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::PublishError> {
    /// use nats_jetstream::Publish;
    /// js.send_publish("a", Publish::build().payload("hi".into())).await?;
    /// # Ok(()) }
    /// ```
    pub fn payload(mut self, payload: Bytes) -> Publish {
        self.payload = payload;
        self
    }

    /// Adds a header (an invalid name or value fails the publish with
    /// [`PublishError::InvalidArgument`]).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::PublishError> {
    /// use nats_jetstream::Publish;
    /// js.send_publish("a", Publish::build().header("Trace-Id", "t1").header("Tag", "x")).await?;
    /// # Ok(()) }
    /// ```
    pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Publish {
        if let Err(e) = self.headers.append(name.as_ref(), value.as_ref()) {
            self.error.get_or_insert_with(|| e.to_string());
        }
        self
    }

    /// Adds every header of `headers`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::PublishError> {
    /// use nats_jetstream::Publish;
    /// let mut h = nats_client::HeaderMap::new();
    /// h.insert("Trace-Id", "t1").map_err(|e| nats_jetstream::PublishError::InvalidArgument(e.to_string()))?;
    /// js.send_publish("a", Publish::build().headers(h)).await?;
    /// # Ok(()) }
    /// ```
    pub fn headers(mut self, headers: HeaderMap) -> Publish {
        for (name, value) in headers.iter() {
            if let Err(e) = self.headers.append(name, value) {
                self.error.get_or_insert_with(|| e.to_string());
            }
        }
        self
    }

    /// The message id (`Nats-Msg-Id`) the stream deduplicates on. Without one a unique id is
    /// generated, so re-sends after a fail-over are deduplicated too (J9).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::PublishError> {
    /// use nats_jetstream::Publish;
    /// js.send_publish("orders.new", Publish::build().message_id("order-17")).await?;
    /// # Ok(()) }
    /// ```
    pub fn message_id(self, id: impl AsRef<str>) -> Publish {
        self.set(MSG_ID, id.as_ref())
    }

    /// Only store it if the subject belongs to stream `stream` (`Nats-Expected-Stream`).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::PublishError> {
    /// use nats_jetstream::Publish;
    /// js.send_publish("orders.new", Publish::build().expected_stream("ORDERS")).await?;
    /// # Ok(()) }
    /// ```
    pub fn expected_stream(self, stream: impl AsRef<str>) -> Publish {
        self.set(EXPECTED_STREAM, stream.as_ref())
    }

    /// Only store it if the stream's last sequence is `sequence`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::PublishError> {
    /// use nats_jetstream::Publish;
    /// js.send_publish("orders.new", Publish::build().expected_last_sequence(41)).await?;
    /// # Ok(()) }
    /// ```
    pub fn expected_last_sequence(self, sequence: u64) -> Publish {
        self.set(EXPECTED_LAST_SEQUENCE, &sequence.to_string())
    }

    /// Only store it if the last message on its subject has sequence `sequence` (0: no
    /// message on the subject yet).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::PublishError> {
    /// use nats_jetstream::Publish;
    /// js.send_publish("cfg.a", Publish::build().expected_last_subject_sequence(0)).await?; // only if cfg.a is new
    /// # Ok(()) }
    /// ```
    pub fn expected_last_subject_sequence(self, sequence: u64) -> Publish {
        self.set(EXPECTED_LAST_SUBJECT_SEQUENCE, &sequence.to_string())
    }

    /// Only store it if the stream's last message id is `id`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::PublishError> {
    /// use nats_jetstream::Publish;
    /// js.send_publish("orders.new", Publish::build().expected_last_message_id("order-16")).await?;
    /// # Ok(()) }
    /// ```
    pub fn expected_last_message_id(self, id: impl AsRef<str>) -> Publish {
        self.set(EXPECTED_LAST_MSG_ID, id.as_ref())
    }

    fn set(mut self, name: &str, value: &str) -> Publish {
        if let Err(e) = self.headers.insert(name, value) {
            self.error.get_or_insert_with(|| e.to_string());
        }
        self
    }
}

/// The ack of one publish, to await (J6). Dropping it does not cancel the publish.
///
/// # Errors
///
/// The [`PublishError`] of the publish: refused by the stream ([`PublishError::Api`]), no
/// stream ([`PublishError::NoStream`]), no ack within the retry window
/// ([`PublishError::TimedOut`]), client closed.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::PublishError> {
/// let mut acks = Vec::new();
/// for i in 0..100 {
///     acks.push(js.publish("orders.new", format!("order {i}").into()).await?);
/// }
/// for ack in acks {
///     println!("stored at {}", ack.await?.sequence);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "the ack tells whether the message was stored"]
pub struct PubAckFuture {
    rx: oneshot::Receiver<Result<PubAck, PublishError>>,
}

impl Future for PubAckFuture {
    type Output = Result<PubAck, PublishError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.unwrap_or(Err(PublishError::Closed)))
    }
}

impl Context {
    /// Publishes `payload` to `subject` and returns the future of its ack (J6). Waits while
    /// `max_ack_pending` acks are outstanding (J8); never fails because the window is full.
    ///
    /// The message gets a generated message id and is re-sent with it until acked (J9).
    ///
    /// # Errors
    ///
    /// [`PublishError::Publish`] when the client refuses it (bad subject, payload too large,
    /// closed); the ack's errors come from the returned future.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::PublishError> {
    /// let ack = js.publish("orders.new", "hello".into()).await?.await?;
    /// println!("{} #{}", ack.stream, ack.sequence);
    /// # Ok(()) }
    /// ```
    pub async fn publish(
        &self,
        subject: impl AsRef<str>,
        payload: Bytes,
    ) -> Result<PubAckFuture, PublishError> {
        self.send_publish(subject, Publish::build().payload(payload))
            .await
    }

    /// [`publish`](Context::publish) with headers.
    ///
    /// # Errors
    ///
    /// As [`publish`](Context::publish), plus [`PublishError::InvalidArgument`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), Box<dyn std::error::Error>> {
    /// let mut headers = nats_client::HeaderMap::new();
    /// headers.insert("Trace-Id", "abc")?;
    /// js.publish_with_headers("orders.new", headers, "hi".into()).await?.await?;
    /// # Ok(()) }
    /// ```
    pub async fn publish_with_headers(
        &self,
        subject: impl AsRef<str>,
        headers: HeaderMap,
        payload: Bytes,
    ) -> Result<PubAckFuture, PublishError> {
        self.send_publish(subject, Publish::build().headers(headers).payload(payload))
            .await
    }

    /// Publishes a [`Publish`] (message id, expectations, headers) and returns the future of
    /// its ack (J6).
    ///
    /// # Errors
    ///
    /// As [`publish_with_headers`](Context::publish_with_headers).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::PublishError> {
    /// use nats_jetstream::Publish;
    /// let ack = js
    ///     .send_publish("orders.new", Publish::build().payload("x".into()).message_id("o-1"))
    ///     .await?
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_publish(
        &self,
        subject: impl AsRef<str>,
        publish: Publish,
    ) -> Result<PubAckFuture, PublishError> {
        if let Some(e) = publish.error {
            return Err(PublishError::InvalidArgument(e));
        }
        let publisher = self.publisher().await?;
        let rx = publisher
            .publish(subject.as_ref(), publish.headers, publish.payload)
            .await?;
        Ok(PubAckFuture { rx })
    }

    async fn publisher(&self) -> Result<&Publisher, PublishError> {
        self.inner
            .publisher
            .get_or_try_init(|| Publisher::start(self))
            .await
    }
}
