//! Pull consumers (J11–J15): [`PullConsumer`] with `fetch()` / `batch()` (one pull request,
//! J12) and `messages()` (ADR-37 consume, J13–J15).

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use nats_client::Event;
use tokio::time::Instant;

pub use super::config::Config;
pub use super::ordered::OrderedConfig;

use super::engine::{diagnose, pull_subject, refusal, Engine, PullPlan, PullRequest, Step};
use super::status::{status_action, StatusAction};
use super::{Info, Messages, NextItem};
use crate::context::Context;
use crate::error::{ConsumeError, Error};
use crate::message::Message;
use crate::retry::{Attempts, CONSUMER_BACKOFF};
use crate::wire::later;

/// A pull consumer: pull batches with [`fetch`](PullConsumer::fetch) /
/// [`batch`](PullConsumer::batch), or a continuous stream with
/// [`messages`](PullConsumer::messages). Cheap to clone.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(stream: nats_jetstream::stream::Stream) -> Result<(), Box<dyn std::error::Error>> {
/// use futures_util::StreamExt;
/// use nats_jetstream::consumer::pull;
/// let c = stream
///     .create_consumer(pull::Config { durable_name: Some("billing".into()), ..Default::default() })
///     .await?;
/// let mut batch = c.fetch().max_messages(100).messages().await?;
/// while let Some(msg) = batch.next().await {
///     msg?.ack().await?;
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PullConsumer {
    context: Context,
    info: Info,
}

impl PullConsumer {
    pub(crate) fn new(context: Context, info: Info) -> PullConsumer {
        PullConsumer { context, info }
    }

    /// The consumer's name.
    ///
    /// # Examples
    ///
    /// ``` no_run
    /// # fn demo(c: nats_jetstream::consumer::PullConsumer) {
    /// println!("{} on {}", c.name(), c.stream_name());
    /// # }
    /// ```
    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// The stream's name.
    ///
    /// # Examples
    ///
    /// ``` no_run
    /// # fn demo(c: nats_jetstream::consumer::PullConsumer) {
    /// assert!(!c.stream_name().is_empty());
    /// # }
    /// ```
    pub fn stream_name(&self) -> &str {
        &self.info.stream_name
    }

    /// The info as it was when this handle was made (no request).
    ///
    /// # Examples
    ///
    /// ``` no_run
    /// # fn demo(c: nats_jetstream::consumer::PullConsumer) {
    /// println!("{:?}", c.cached_info().config.ack_policy);
    /// # }
    /// ```
    pub fn cached_info(&self) -> &Info {
        &self.info
    }

    /// The consumer's current config and state (J11).
    ///
    /// # Errors
    ///
    /// 10014 when it was deleted; as [`Context::stream_info`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(c: nats_jetstream::consumer::PullConsumer) -> Result<(), nats_jetstream::Error> {
    /// println!("{} waiting pulls", c.info().await?.num_waiting);
    /// # Ok(()) }
    /// ```
    pub async fn info(&self) -> Result<Info, Error> {
        super::consumer_info(&self.context, self.stream_name(), self.name()).await
    }

    /// One pull that returns what is available now, up to the batch size (`no_wait`); ends
    /// on a 404 / 408 status (J12).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(c: nats_jetstream::consumer::PullConsumer) -> Result<(), nats_jetstream::Error> {
    /// let batch = c.fetch().max_messages(100).messages().await?;
    /// # Ok(()) }
    /// ```
    pub fn fetch(&self) -> FetchBuilder<'_> {
        FetchBuilder {
            consumer: self,
            max_messages: DEFAULT_BATCH,
            max_bytes: 0,
            expires: None,
            heartbeat: None,
            no_wait: true,
        }
    }

    /// One pull that waits up to its expiry (default 30 s) for a full batch (J12).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(c: nats_jetstream::consumer::PullConsumer) -> Result<(), nats_jetstream::Error> {
    /// use std::time::Duration;
    /// let batch = c.batch().max_messages(10).expires(Duration::from_secs(2)).messages().await?;
    /// # Ok(()) }
    /// ```
    pub fn batch(&self) -> FetchBuilder<'_> {
        FetchBuilder {
            no_wait: false,
            ..self.fetch()
        }
    }

    /// A stream that keeps pulling with the ADR-37 defaults (500 messages in flight, expires
    /// 30 s, heartbeat 15 s); see [`consume`](PullConsumer::consume) for the settings.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for bad settings, or when the inbox cannot be subscribed.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(c: nats_jetstream::consumer::PullConsumer) -> Result<(), Box<dyn std::error::Error>> {
    /// use futures_util::StreamExt;
    /// let mut messages = c.messages().await?;
    /// while let Some(msg) = messages.next().await {
    ///     msg?.ack().await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn messages(&self) -> Result<Messages, Error> {
        self.consume().messages().await
    }

    /// Settings of a [`messages`](PullConsumer::messages) stream.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(c: nats_jetstream::consumer::PullConsumer) -> Result<(), nats_jetstream::Error> {
    /// use std::time::Duration;
    /// let messages = c
    ///     .consume()
    ///     .max_messages(100)
    ///     .expires(Duration::from_secs(4))   // heartbeat: 2 s
    ///     .max_retries(Some(20))
    ///     .messages()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn consume(&self) -> ConsumeBuilder<'_> {
        ConsumeBuilder {
            consumer: self,
            max_messages: None,
            max_bytes: None,
            expires: None,
            heartbeat: None,
            threshold: None,
            max_retries: None,
        }
    }
}

/// The batch size of `fetch()` / `batch()` when none is set.
const DEFAULT_BATCH: usize = 10;
/// How long `fetch()` waits for its answer when no expiry is set.
const FETCH_WAIT: Duration = Duration::from_secs(5);
/// Extra time past a pull's expiry before the client ends the batch by itself.
const EXPIRY_SLACK: Duration = Duration::from_secs(1);

/// Settings of one pull (see [`PullConsumer::fetch`] and [`PullConsumer::batch`]).
///
/// # Examples
///
/// ```no_run
/// # async fn demo(c: nats_jetstream::consumer::PullConsumer) -> Result<(), nats_jetstream::Error> {
/// let builder: nats_jetstream::consumer::FetchBuilder<'_> = c.fetch().max_messages(10);
/// let batch = builder.messages().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use]
pub struct FetchBuilder<'a> {
    consumer: &'a PullConsumer,
    max_messages: usize,
    max_bytes: usize,
    expires: Option<Duration>,
    heartbeat: Option<Duration>,
    no_wait: bool,
}

impl FetchBuilder<'_> {
    /// At most this many messages (default 10).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(c: nats_jetstream::consumer::PullConsumer) -> Result<(), nats_jetstream::Error> {
    /// let batch = c.fetch().max_messages(50).messages().await?;
    /// # Ok(()) }
    /// ```
    pub fn max_messages(mut self, n: usize) -> Self {
        self.max_messages = n.max(1);
        self
    }

    /// At most this many bytes.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(c: nats_jetstream::consumer::PullConsumer) -> Result<(), nats_jetstream::Error> {
    /// let batch = c.fetch().max_messages(1000).max_bytes(64 * 1024).messages().await?;
    /// # Ok(()) }
    /// ```
    pub fn max_bytes(mut self, n: usize) -> Self {
        self.max_bytes = n;
        self
    }

    /// The pull's expiry (default: 30 s for `batch`, 5 s for `fetch`).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(c: nats_jetstream::consumer::PullConsumer) -> Result<(), nats_jetstream::Error> {
    /// let batch = c.batch().expires(std::time::Duration::from_secs(5)).messages().await?;
    /// # Ok(()) }
    /// ```
    pub fn expires(mut self, d: Duration) -> Self {
        self.expires = Some(d);
        self
    }

    /// Ask for idle heartbeats (at most half the expiry); missing two ends the batch.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(c: nats_jetstream::consumer::PullConsumer) -> Result<(), nats_jetstream::Error> {
    /// use std::time::Duration;
    /// let batch = c.batch().expires(Duration::from_secs(10)).heartbeat(Duration::from_secs(2)).messages().await?;
    /// # Ok(()) }
    /// ```
    pub fn heartbeat(mut self, d: Duration) -> Self {
        self.heartbeat = Some(d);
        self
    }

    /// Sends the pull request and returns its messages as a stream that ends after the
    /// batch, a 404 / 408 status, or the expiry (J12); with
    /// [`ConsumeError::PermissionDenied`] as its last item when the server refuses the pull or
    /// the subscription of its inbox.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] when the heartbeat is above half the expiry or the inbox
    /// cannot be subscribed; [`Error::Request`] when the pull cannot be sent.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(c: nats_jetstream::consumer::PullConsumer) -> Result<(), Box<dyn std::error::Error>> {
    /// use futures_util::StreamExt;
    /// let mut batch = c.batch().max_messages(5).messages().await?;
    /// while let Some(msg) = batch.next().await {
    ///     msg?.ack().await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn messages(self) -> Result<Messages, Error> {
        let c = self.consumer;
        let expires = self.expires.unwrap_or(if self.no_wait {
            FETCH_WAIT
        } else {
            crate::consumer::engine::DEFAULT_EXPIRES
        });
        if let Some(hb) = self.heartbeat {
            if hb.is_zero() || hb > expires / 2 {
                return Err(Error::InvalidArgument(format!(
                    "the heartbeat ({hb:?}) must be above zero and at most half of expires ({expires:?})"
                )));
            }
        }
        let client = c.context.client().clone();
        let inbox = client.new_inbox();
        // Before the SUB and the pull go out: a refusal of either comes as an event.
        let events = client.events();
        let sub = client
            .subscribe(&inbox)
            .await
            .map_err(|e| Error::InvalidArgument(e.to_string()))?;
        let request = PullRequest {
            batch: self.max_messages,
            max_bytes: self.max_bytes,
            // With no_wait the server answers at once; an expiry would make it wait.
            expires: if self.no_wait {
                Duration::ZERO
            } else {
                expires
            },
            no_wait: self.no_wait,
            idle_heartbeat: self.heartbeat,
        };
        let subject = pull_subject(&c.context, c.stream_name(), c.name());
        let body = serde_json::to_vec(&request).map_err(|e| Error::Decode(e.to_string()))?;
        client
            .publish_with_reply(&subject, &inbox, Bytes::from(body))
            .await
            .map_err(|e| Error::Request(nats_client::RequestError::Publish(e)))?;
        let state = BatchState {
            context: c.context.clone(),
            stream: c.stream_name().to_owned(),
            consumer: c.name().to_owned(),
            sub,
            events,
            pull_subject: subject,
            remaining: self.max_messages,
            deadline: later(Instant::now(), expires.saturating_add(EXPIRY_SLACK)),
            heartbeat: self.heartbeat,
            done: false,
        };
        Ok(Messages::new(state))
    }
}

struct BatchState {
    context: Context,
    stream: String,
    consumer: String,
    sub: nats_client::Subscriber,
    /// Watched for a refusal of the inbox subscription or of the pull request.
    events: nats_client::EventStream,
    pull_subject: String,
    remaining: usize,
    deadline: Instant,
    heartbeat: Option<Duration>,
    done: bool,
}

impl NextItem for BatchState {
    async fn next_item(&mut self) -> Option<Result<Message, ConsumeError>> {
        loop {
            if self.done || self.remaining == 0 {
                return None;
            }
            let wait = match self.heartbeat {
                Some(hb) => self
                    .deadline
                    .min(later(Instant::now(), hb.saturating_mul(2))),
                None => self.deadline,
            };
            let msg = tokio::select! {
                biased;
                msg = tokio::time::timeout_at(wait, self.sub.next()) => {
                    let Ok(msg) = msg else {
                        // Expired (or two heartbeats missed): the batch is over.
                        self.done = true;
                        return None;
                    };
                    msg
                }
                event = self.events.next() => match event {
                    Some(Event::ServerError { error }) => {
                        if let Some(refused) = refusal(&self.sub, &error, &self.pull_subject) {
                            self.done = true;
                            return Some(Err(ConsumeError::PermissionDenied(refused)));
                        }
                        continue;
                    }
                    Some(Event::Closed { .. }) | None => {
                        self.done = true;
                        return Some(Err(ConsumeError::Closed));
                    }
                    Some(_) => continue,
                }
            };
            let Some(msg) = msg else {
                self.done = true;
                return Some(Err(ConsumeError::Closed));
            };
            let Some(status) = msg.status else {
                self.remaining -= 1;
                let (client, timeout) = (self.context.client().clone(), self.context.timeout());
                return Some(Ok(Message::new(msg, client, timeout)));
            };
            let description = msg.description().unwrap_or_default();
            match status_action(status, description, msg.headers.as_ref()) {
                StatusAction::Heartbeat => {}
                StatusAction::RequestDone { .. } | StatusAction::Reset => {
                    self.done = true;
                    return None;
                }
                StatusAction::NoResponders => {
                    self.done = true;
                    let error = match diagnose(&self.context, &self.stream, &self.consumer).await {
                        Ok(gone) => gone,
                        Err(source) => ConsumeError::GaveUp {
                            attempts: 1,
                            source,
                        },
                    };
                    return Some(Err(error));
                }
                StatusAction::Terminal(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

/// Settings of a [`Messages`] stream (see [`PullConsumer::consume`]).
///
/// # Examples
///
/// ```no_run
/// # async fn demo(c: nats_jetstream::consumer::PullConsumer) -> Result<(), nats_jetstream::Error> {
/// let builder: nats_jetstream::consumer::ConsumeBuilder<'_> = c.consume().max_messages(10);
/// let messages = builder.messages().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use]
pub struct ConsumeBuilder<'a> {
    consumer: &'a PullConsumer,
    max_messages: Option<usize>,
    max_bytes: Option<usize>,
    expires: Option<Duration>,
    heartbeat: Option<Duration>,
    threshold: Option<usize>,
    max_retries: Option<u32>,
}

impl ConsumeBuilder<'_> {
    /// Messages in flight at most (default 500; 1,000,000 when only
    /// [`max_bytes`](ConsumeBuilder::max_bytes) is set). Memory: at most this many messages
    /// wait in the client when the reader is slow.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(c: nats_jetstream::consumer::PullConsumer) -> Result<(), nats_jetstream::Error> {
    /// let messages = c.consume().max_messages(100).messages().await?;
    /// # Ok(()) }
    /// ```
    pub fn max_messages(mut self, n: usize) -> Self {
        self.max_messages = Some(n);
        self
    }

    /// Bytes in flight at most (default: no byte limit).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(c: nats_jetstream::consumer::PullConsumer) -> Result<(), nats_jetstream::Error> {
    /// let messages = c.consume().max_bytes(4 << 20).messages().await?;
    /// # Ok(()) }
    /// ```
    pub fn max_bytes(mut self, n: usize) -> Self {
        self.max_bytes = Some(n);
        self
    }

    /// Each pull's expiry (default 30 s); the heartbeat defaults to half of it, capped at 30 s.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(c: nats_jetstream::consumer::PullConsumer) -> Result<(), nats_jetstream::Error> {
    /// let messages = c.consume().expires(std::time::Duration::from_secs(10)).messages().await?;
    /// # Ok(()) }
    /// ```
    pub fn expires(mut self, d: Duration) -> Self {
        self.expires = Some(d);
        self
    }

    /// The idle heartbeat (at most half the expiry).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(c: nats_jetstream::consumer::PullConsumer) -> Result<(), nats_jetstream::Error> {
    /// let messages = c.consume().heartbeat(std::time::Duration::from_secs(5)).messages().await?;
    /// # Ok(()) }
    /// ```
    pub fn heartbeat(mut self, d: Duration) -> Self {
        self.heartbeat = Some(d);
        self
    }

    /// Pull again when pending messages fall to this (default: half of `max_messages`).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(c: nats_jetstream::consumer::PullConsumer) -> Result<(), nats_jetstream::Error> {
    /// let messages = c.consume().max_messages(100).threshold_messages(20).messages().await?;
    /// # Ok(()) }
    /// ```
    pub fn threshold_messages(mut self, n: usize) -> Self {
        self.threshold = Some(n);
        self
    }

    /// How many consecutive failed re-pulls are retried before the stream ends with
    /// [`ConsumeError::GaveUp`] (J15). A re-pull fails when it goes unanswered for two
    /// heartbeats (paced by the heartbeat) or has no responders (back-off 250 ms doubling to
    /// 10 s), while the consumer still exists or its state cannot be read. `None` (the
    /// default): retry as long as the consumer exists. A deleted consumer always ends the
    /// stream with [`ConsumeError::ConsumerDeleted`], a deleted stream with
    /// [`ConsumeError::StreamDeleted`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(c: nats_jetstream::consumer::PullConsumer) -> Result<(), nats_jetstream::Error> {
    /// let messages = c.consume().max_retries(Some(5)).messages().await?;
    /// # Ok(()) }
    /// ```
    pub fn max_retries(mut self, n: Option<u32>) -> Self {
        self.max_retries = n;
        self
    }

    /// Starts the stream.
    ///
    /// # Errors
    ///
    /// As [`PullConsumer::messages`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(c: nats_jetstream::consumer::PullConsumer) -> Result<(), nats_jetstream::Error> {
    /// let messages = c.consume().max_bytes(1 << 20).messages().await?;
    /// # Ok(()) }
    /// ```
    pub async fn messages(self) -> Result<Messages, Error> {
        let plan = PullPlan::new(
            self.max_messages,
            self.max_bytes,
            self.expires,
            self.heartbeat,
            self.threshold,
        )?;
        let c = self.consumer;
        let engine = Engine::start(
            c.context.clone(),
            c.stream_name().to_owned(),
            c.name().to_owned(),
            plan,
        )
        .await?;
        let state = Consume {
            engine,
            retry: Attempts {
                backoff: CONSUMER_BACKOFF,
                max: self.max_retries,
            },
            failures: 0,
            done: false,
        };
        Ok(Messages::new(state))
    }
}

struct Consume {
    engine: Engine,
    retry: Attempts,
    failures: u32,
    done: bool,
}

impl NextItem for Consume {
    async fn next_item(&mut self) -> Option<Result<Message, ConsumeError>> {
        loop {
            if self.done {
                return None;
            }
            match self.engine.step().await {
                Step::Message(msg) => {
                    self.failures = 0;
                    let ctx = &self.engine.context;
                    return Some(Ok(Message::new(msg, ctx.client().clone(), ctx.timeout())));
                }
                Step::MissedHeartbeats => {
                    // A deleted consumer's pulls are dropped silently: silence is the only
                    // sign, so ask whether it still exists (J15). Each silent re-pull counts
                    // as a failed attempt; the heartbeat wait paces them.
                    match self.engine.diagnose().await {
                        Ok(gone) => {
                            self.done = true;
                            return Some(Err(gone));
                        }
                        Err(source) => {
                            self.failures += 1;
                            if self.retry.next_delay(self.failures).is_none() {
                                self.done = true;
                                let attempts = self.failures;
                                return Some(Err(ConsumeError::GaveUp { attempts, source }));
                            }
                        }
                    }
                    return Some(Err(ConsumeError::MissingHeartbeats { missed: 2 }));
                }
                Step::Reconnected => {}
                Step::NoResponders => match self.engine.diagnose().await {
                    Ok(gone) => {
                        self.done = true;
                        return Some(Err(gone));
                    }
                    Err(source) => {
                        self.failures += 1;
                        let Some(delay) = self.retry.next_delay(self.failures) else {
                            self.done = true;
                            let attempts = self.failures;
                            return Some(Err(ConsumeError::GaveUp { attempts, source }));
                        };
                        tracing::debug!(error = %source, ?delay, "re-pull failed; backing off");
                        tokio::time::sleep(delay).await;
                        self.engine.reset_pending();
                    }
                },
                Step::Ended(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}
