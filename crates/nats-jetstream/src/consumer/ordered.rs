//! The ordered consumer (ADR-17, J18–J19): an ephemeral, AckNone, memory, R1 pull consumer
//! that the client re-creates from the last stream sequence + 1 whenever delivery may have a
//! hole. One cursor `{stream_seq, consumer_seq}`; each re-created consumer gets the next serial
//! (`<prefix>_<serial>`, and its pulls the reply `<inbox>.<serial>`), so deliveries of an
//! older consumer are dropped by comparison, not by timing. The stop conditions of J19 are in
//! `Ordered::reset`.

use std::pin::Pin;
use std::time::{Duration, SystemTime};

use super::config::{AckPolicy, Config, DeliverPolicy, ReplayPolicy};
use super::engine::{Engine, PullPlan, Step};
use super::{create, Action, ConsumerKind, Messages, NextItem};
use crate::context::Context;
use crate::error::{ConsumeError, Error};
use crate::message::{Info, Message};
use crate::retry::{Attempts, CONSUMER_BACKOFF};
use crate::stream;

/// Resets tried in a row before an ordered consumer gives up, by default (J19).
pub const DEFAULT_MAX_RESET_ATTEMPTS: u32 = 10;
/// How long the server keeps an ordered consumer nobody pulls from.
const INACTIVE_THRESHOLD: Duration = Duration::from_secs(300);

/// The config of an ordered consumer (J18). The consumer itself is always ephemeral,
/// AckNone, memory storage, R1, one delivery.
///
/// # Examples
///
/// ```
/// use nats_jetstream::consumer::{pull::OrderedConfig, DeliverPolicy};
/// let config = OrderedConfig {
///     filter_subject: "orders.>".into(),
///     deliver_policy: DeliverPolicy::New,
///     max_reset_attempts: Some(5),
///     ..Default::default()
/// };
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct OrderedConfig {
    /// Only this subject (empty: all).
    pub filter_subject: String,
    /// Only these subjects (2.10+).
    pub filter_subjects: Vec<String>,
    /// Where delivery starts (the first consumer; resets continue after the last message).
    pub deliver_policy: DeliverPolicy,
    /// With [`DeliverPolicy::ByStartSequence`].
    pub opt_start_seq: Option<u64>,
    /// With [`DeliverPolicy::ByStartTime`].
    pub opt_start_time: Option<SystemTime>,
    /// Instant or at the original pace.
    pub replay_policy: ReplayPolicy,
    /// Only headers.
    pub headers_only: bool,
    /// Failed resets in a row before the stream ends with [`ConsumeError::GaveUp`]
    /// (default 10, with back-off 250 ms doubling to 10 s); `None` retries forever. A deleted
    /// stream always ends it with [`ConsumeError::StreamDeleted`] (J19).
    pub max_reset_attempts: Option<u32>,
    /// Messages in flight at most (default 500).
    pub max_messages: Option<usize>,
    /// Each pull's expiry (default 30 s; the heartbeat is half of it, capped at 30 s).
    pub expires: Option<Duration>,
    /// The idle heartbeat; two missed ones reset the consumer.
    pub heartbeat: Option<Duration>,
}

impl Default for OrderedConfig {
    fn default() -> Self {
        OrderedConfig {
            filter_subject: String::new(),
            filter_subjects: Vec::new(),
            deliver_policy: DeliverPolicy::All,
            opt_start_seq: None,
            opt_start_time: None,
            replay_policy: ReplayPolicy::Instant,
            headers_only: false,
            max_reset_attempts: Some(DEFAULT_MAX_RESET_ATTEMPTS),
            max_messages: None,
            expires: None,
            heartbeat: None,
        }
    }
}

impl ConsumerKind for OrderedConfig {
    type Consumer = OrderedConsumer;

    fn create(
        self,
        stream: stream::Stream,
    ) -> Pin<Box<dyn std::future::Future<Output = Result<OrderedConsumer, Error>> + Send>> {
        Box::pin(async move {
            let plan = PullPlan::new(self.max_messages, None, self.expires, self.heartbeat, None)?;
            Ok(OrderedConsumer {
                context: stream.context,
                stream: stream.name,
                config: self,
                plan,
            })
        })
    }
}

/// An ordered consumer (J18): [`messages`](OrderedConsumer::messages) delivers every message
/// of the stream (matching the filter) once and in order, across any number of resets, and
/// ends with [`ConsumeError::StreamDeleted`] when the stream is deleted (J19). Dropping the
/// stream deletes the current server-side consumer.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(stream: nats_jetstream::stream::Stream) -> Result<(), Box<dyn std::error::Error>> {
/// use futures_util::StreamExt;
/// use nats_jetstream::consumer::pull::OrderedConfig;
/// let ordered = stream.create_consumer(OrderedConfig::default()).await?;
/// let mut messages = ordered.messages().await?;
/// while let Some(msg) = messages.next().await {
///     let msg = msg?;
///     println!("#{} {:?}", msg.info()?.stream_sequence, msg.payload);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct OrderedConsumer {
    context: Context,
    stream: String,
    config: OrderedConfig,
    plan: PullPlan,
}

impl OrderedConsumer {
    /// Creates the first consumer and starts delivering.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with 10059 when the stream does not exist, and as
    /// [`Context::stream_info`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(c: nats_jetstream::consumer::OrderedConsumer) -> Result<(), nats_jetstream::Error> {
    /// let messages = c.messages().await?;
    /// # Ok(()) }
    /// ```
    pub async fn messages(&self) -> Result<Messages, Error> {
        Ok(self.messages_with_pending().await?.0)
    }

    /// [`messages`](OrderedConsumer::messages), and how many messages the first consumer had
    /// pending when it was created (the Key-Value watch and keys know from it whether there
    /// are initial values at all).
    pub(crate) async fn messages_with_pending(&self) -> Result<(Messages, u64), Error> {
        let client = self.context.client();
        // Unique per ordered stream: the inbox's random token.
        let prefix = client
            .new_inbox()
            .rsplit('.')
            .next()
            .unwrap_or("ordered")
            .to_owned();
        let mut ordered = Ordered {
            context: self.context.clone(),
            stream: self.stream.clone(),
            config: self.config.clone(),
            prefix,
            serial: 1,
            current: None,
            engine: None,
            stream_seq: 0,
            consumer_seq: 0,
            done: false,
        };
        let info = create(
            &self.context,
            &self.stream,
            &ordered.consumer_config(),
            Action::Create,
        )
        .await?;
        let engine = Engine::start(
            self.context.clone(),
            self.stream.clone(),
            info.name.clone(),
            self.plan,
        )
        .await?;
        let pending = info.num_pending;
        ordered.current = Some(info.name);
        ordered.engine = Some(engine);
        Ok((Messages::new(ordered), pending))
    }
}

/// The config of ordered consumer number `serial`: from the start policy while nothing was
/// delivered, after the last delivered stream sequence later.
fn consumer_config(c: &OrderedConfig, prefix: &str, serial: u64, stream_seq: u64) -> Config {
    let (deliver_policy, opt_start_seq, opt_start_time) = if stream_seq > 0 {
        (DeliverPolicy::ByStartSequence, Some(stream_seq + 1), None)
    } else {
        (c.deliver_policy, c.opt_start_seq, c.opt_start_time)
    };
    Config {
        name: Some(format!("{prefix}_{serial}")),
        deliver_policy,
        opt_start_seq,
        opt_start_time,
        ack_policy: AckPolicy::None,
        max_deliver: 1,
        filter_subject: c.filter_subject.clone(),
        filter_subjects: c.filter_subjects.clone(),
        replay_policy: c.replay_policy,
        headers_only: c.headers_only,
        inactive_threshold: INACTIVE_THRESHOLD,
        num_replicas: 1,
        memory_storage: true,
        ..Default::default()
    }
}

struct Ordered {
    context: Context,
    stream: String,
    config: OrderedConfig,
    prefix: String,
    serial: u64,
    current: Option<String>,
    engine: Option<Engine>,
    stream_seq: u64,
    consumer_seq: u64,
    done: bool,
}

impl NextItem for Ordered {
    async fn next_item(&mut self) -> Option<Result<Message, ConsumeError>> {
        self.next_message().await
    }
}

impl Ordered {
    fn consumer_config(&self) -> Config {
        consumer_config(&self.config, &self.prefix, self.serial, self.stream_seq)
    }

    async fn next_message(&mut self) -> Option<Result<Message, ConsumeError>> {
        loop {
            if self.done {
                return None;
            }
            let engine = self.engine.as_mut()?;
            let reason = match engine.step().await {
                Step::Message(msg) => {
                    let reply = msg.reply.as_deref().unwrap_or_default();
                    let Some(info) = Info::parse(reply) else {
                        continue;
                    };
                    if Some(info.consumer) != self.current.as_deref() {
                        continue; // an older consumer's message
                    }
                    if info.consumer_sequence != self.consumer_seq + 1 {
                        tracing::debug!(
                            expected = self.consumer_seq + 1,
                            got = info.consumer_sequence,
                            "ordered consumer: sequence gap"
                        );
                        "sequence gap"
                    } else {
                        self.consumer_seq = info.consumer_sequence;
                        self.stream_seq = info.stream_sequence;
                        let ctx = &self.context;
                        return Some(Ok(Message::new(msg, ctx.client().clone(), ctx.timeout())));
                    }
                }
                Step::MissedHeartbeats => "missed heartbeats",
                Step::NoResponders => "no responders",
                Step::Reconnected => "reconnected",
                Step::Ended(ConsumeError::ConsumerDeleted) => "consumer deleted",
                Step::Ended(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            if let Err(e) = self.reset(reason).await {
                self.done = true;
                return Some(Err(e));
            }
        }
    }

    /// Re-creates the consumer after the last delivered message (J18) and deletes the old one,
    /// and any that an attempt whose answer was lost may have created (J19). Ends with [`ConsumeError::StreamDeleted`] when the stream is gone, and with
    /// [`ConsumeError::GaveUp`] after the configured number of failed attempts.
    async fn reset(&mut self, reason: &str) -> Result<(), ConsumeError> {
        let retry = Attempts {
            backoff: CONSUMER_BACKOFF,
            max: self.config.max_reset_attempts,
        };
        let mut failures = 0;
        // Attempts whose answer was lost may have created their consumer all the same.
        let mut maybe_created = Vec::new();
        loop {
            self.serial += 1;
            tracing::debug!(
                reason,
                serial = self.serial,
                from = self.stream_seq + 1,
                "ordered consumer reset"
            );
            let config = self.consumer_config();
            match create(&self.context, &self.stream, &config, Action::Create).await {
                Ok(info) => {
                    if let Some(old) = self.current.replace(info.name.clone()) {
                        self.delete_in_background(old);
                    }
                    for orphan in maybe_created.drain(..) {
                        self.delete_in_background(orphan);
                    }
                    if let Some(engine) = self.engine.as_mut() {
                        engine.switch(info.name);
                    }
                    self.consumer_seq = 0;
                    return Ok(());
                }
                Err(e) if e.is_stream_not_found() => return Err(ConsumeError::StreamDeleted),
                Err(e) => {
                    if e.api_error().is_none() {
                        maybe_created.extend(config.name);
                    }
                    failures += 1;
                    let Some(delay) = retry.next_delay(failures) else {
                        return Err(ConsumeError::GaveUp {
                            attempts: failures,
                            source: e,
                        });
                    };
                    tracing::debug!(error = %e, ?delay, "ordered consumer reset failed; backing off");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    fn delete_in_background(&self, consumer: String) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (context, stream) = (self.context.clone(), self.stream.clone());
        runtime.spawn(async move {
            if let Err(e) = context
                .delete_consumer_from_stream(&stream, &consumer)
                .await
            {
                tracing::debug!(error = %e, %consumer, "could not delete the old ordered consumer");
            }
        });
    }
}

impl Drop for Ordered {
    fn drop(&mut self) {
        if !self.done {
            if let Some(current) = self.current.take() {
                self.delete_in_background(current);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resets_continue_after_the_last_stream_sequence() {
        let mut o = OrderedConfig {
            deliver_policy: DeliverPolicy::New,
            filter_subject: "a.>".into(),
            ..Default::default()
        };
        o.headers_only = true;
        let cfg = |stream_seq: u64, serial: u64| consumer_config(&o, "p", serial, stream_seq);
        let first = cfg(0, 1);
        assert_eq!(first.name.as_deref(), Some("p_1"));
        assert_eq!(first.deliver_policy, DeliverPolicy::New);
        assert_eq!(first.ack_policy, AckPolicy::None);
        assert!(first.memory_storage);
        assert_eq!(first.num_replicas, 1);
        let later = cfg(41, 3);
        assert_eq!(later.name.as_deref(), Some("p_3"));
        assert_eq!(later.deliver_policy, DeliverPolicy::ByStartSequence);
        assert_eq!(later.opt_start_seq, Some(42));
        assert_eq!(later.filter_subject, "a.>");
        assert!(later.headers_only);
    }
}
