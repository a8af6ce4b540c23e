//! The pull engine shared by `messages()` and the ordered consumer (ADR-37 consume, J13–J14):
//! pending counts, refills at the threshold, idle heartbeats with a timer paused while
//! disconnected, re-pull on reconnect, and status messages through [`status_action`].

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use nats_client::{Event, EventStream, Message, Subject, Subscriber};
use serde::Serialize;
use tokio::time::Instant;

use super::status::{status_action, StatusAction};
use crate::context::Context;
use crate::error::{ConsumeError, Error};

/// The size and timing of the pulls of one consumer stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PullPlan {
    /// Messages in flight at most.
    pub(crate) max_messages: usize,
    /// Bytes in flight at most (0: no byte limit).
    pub(crate) max_bytes: usize,
    /// Pull again once pending messages fall to this.
    pub(crate) threshold_messages: usize,
    /// Pull again once pending bytes fall to this.
    pub(crate) threshold_bytes: usize,
    /// Each pull request's expiry.
    pub(crate) expires: Duration,
    /// The idle heartbeat asked for with each pull.
    pub(crate) heartbeat: Duration,
}

/// ADR-37 defaults: expires 30 s, heartbeat half of it capped at 30 s.
pub(crate) const DEFAULT_EXPIRES: Duration = Duration::from_secs(30);
/// Messages in flight by default (ADR-37).
pub(crate) const DEFAULT_MAX_MESSAGES: usize = 500;
/// With only a byte limit, the message limit is this large (ADR-37).
pub(crate) const MESSAGES_WITH_BYTE_LIMIT: usize = 1_000_000;
/// The shortest expiry the server takes with a heartbeat.
const MIN_EXPIRES: Duration = Duration::from_secs(1);

impl PullPlan {
    /// A plan from the user's settings, filling the ADR-37 defaults.
    pub(crate) fn new(
        max_messages: Option<usize>,
        max_bytes: Option<usize>,
        expires: Option<Duration>,
        heartbeat: Option<Duration>,
        threshold: Option<usize>,
    ) -> Result<PullPlan, Error> {
        let max_bytes = max_bytes.unwrap_or(0);
        let max_messages = match (max_messages, max_bytes) {
            (Some(n), _) => n,
            (None, 0) => DEFAULT_MAX_MESSAGES,
            (None, _) => MESSAGES_WITH_BYTE_LIMIT,
        }
        .max(1);
        let expires = expires.unwrap_or(DEFAULT_EXPIRES).max(MIN_EXPIRES);
        let heartbeat = heartbeat.unwrap_or_else(|| (expires / 2).min(Duration::from_secs(30)));
        if heartbeat.is_zero() || heartbeat > expires / 2 {
            return Err(Error::InvalidArgument(format!(
                "the heartbeat ({heartbeat:?}) must be above zero and at most half of expires ({expires:?})"
            )));
        }
        let threshold_messages = threshold.unwrap_or(max_messages / 2).min(max_messages - 1);
        Ok(PullPlan {
            max_messages,
            max_bytes,
            threshold_messages,
            threshold_bytes: max_bytes / 2,
            expires,
            heartbeat,
        })
    }
}

/// A pull request (`CONSUMER.MSG.NEXT`).
#[derive(Debug, Serialize)]
pub(crate) struct PullRequest {
    pub(crate) batch: usize,
    #[serde(skip_serializing_if = "is_zero")]
    pub(crate) max_bytes: usize,
    #[serde(with = "crate::wire::nanos", skip_serializing_if = "Duration::is_zero")]
    pub(crate) expires: Duration,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) no_wait: bool,
    #[serde(
        serialize_with = "crate::wire::opt_nanos",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) idle_heartbeat: Option<Duration>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// What the engine hands its owner.
#[derive(Debug)]
pub(crate) enum Step {
    /// A message for the user.
    Message(Message),
    /// Two heartbeats missed; pending counts are reset so the next step re-pulls.
    MissedHeartbeats,
    /// The pull subject has no responders (consumer gone, no leader, no JetStream).
    NoResponders,
    /// A new connection; pending counts are reset so the next step re-pulls (J13).
    Reconnected,
    /// The stream must end with this error.
    Ended(ConsumeError),
}

/// One consumer stream's pulling: the inbox subscription, the pending counts, the heartbeat.
pub(crate) struct Engine {
    pub(crate) context: Context,
    pub(crate) stream: String,
    pub(crate) consumer: String,
    pub(crate) plan: PullPlan,
    sub: Subscriber,
    events: EventStream,
    inbox: String,
    /// The reply subject of the current consumer's pulls: `<inbox>.<serial>`; status
    /// messages to another serial belong to an older consumer and are dropped.
    serial: u64,
    pending_messages: usize,
    pending_bytes: usize,
    last_seen: Instant,
    connected: bool,
}

impl Engine {
    pub(crate) async fn start(
        context: Context,
        stream: String,
        consumer: String,
        plan: PullPlan,
    ) -> Result<Engine, Error> {
        let client = context.client().clone();
        let inbox = client.new_inbox();
        let events = client.events();
        let sub = client
            .subscribe(format!("{inbox}.*"))
            .await
            .map_err(|e| Error::InvalidArgument(e.to_string()))?;
        Ok(Engine {
            context,
            stream,
            consumer,
            plan,
            sub,
            events,
            inbox,
            serial: 1,
            pending_messages: 0,
            pending_bytes: 0,
            last_seen: Instant::now(),
            connected: true,
        })
    }

    /// Switches to a new consumer (an ordered reset): later deliveries to the old one are
    /// dropped by their serial.
    pub(crate) fn switch(&mut self, consumer: String) {
        self.consumer = consumer;
        self.serial += 1;
        self.reset_pending();
    }

    pub(crate) fn reset_pending(&mut self) {
        self.pending_messages = 0;
        self.pending_bytes = 0;
        self.last_seen = Instant::now();
    }

    fn reply(&self) -> String {
        format!("{}.{}", self.inbox, self.serial)
    }

    fn needs_pull(&self) -> bool {
        let p = &self.plan;
        self.pending_messages <= p.threshold_messages
            || (p.max_bytes > 0 && self.pending_bytes <= p.threshold_bytes)
    }

    async fn pull(&mut self) -> Result<(), ConsumeError> {
        let p = self.plan;
        let request = PullRequest {
            batch: p.max_messages - self.pending_messages.min(p.max_messages),
            max_bytes: p.max_bytes.saturating_sub(self.pending_bytes),
            expires: p.expires,
            no_wait: false,
            idle_heartbeat: Some(p.heartbeat),
        };
        if request.batch == 0 || (p.max_bytes > 0 && request.max_bytes == 0) {
            return Ok(());
        }
        let subject = self.pull_subject();
        // A struct of numbers and a bool: serializing it cannot fail.
        let body = serde_json::to_vec(&request).unwrap_or_default();
        tracing::trace!(consumer = %self.consumer, batch = request.batch, "pull");
        match self
            .context
            .client()
            .publish_with_reply(&subject, self.reply(), Bytes::from(body))
            .await
        {
            Ok(()) => {
                self.pending_messages += request.batch;
                self.pending_bytes += request.max_bytes;
                Ok(())
            }
            Err(nats_client::PublishError::Closed) => Err(ConsumeError::Closed),
            Err(e) => {
                // The reconnect buffer is full: wait for the connection like a lost pull.
                tracing::debug!(error = %e, "pull request not sent");
                Ok(())
            }
        }
    }

    /// Pulls as needed and waits for the next thing the owner must see.
    pub(crate) async fn step(&mut self) -> Step {
        loop {
            if self.connected && self.needs_pull() {
                if let Err(e) = self.pull().await {
                    return Step::Ended(e);
                }
            }
            let deadline =
                crate::wire::later(self.last_seen, self.plan.heartbeat.saturating_mul(2));
            let connected = self.connected;
            let heartbeat = async {
                if connected {
                    tokio::time::sleep_until(deadline).await;
                } else {
                    // Paused while disconnected (J13).
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                biased;
                msg = self.sub.next() => {
                    let Some(msg) = msg else { return Step::Ended(ConsumeError::Closed) };
                    // Status messages come to the pull's reply subject: one of an older
                    // consumer (an ordered reset) is dropped. Deliveries keep their own
                    // subject; the ordered consumer tells them apart by the ack subject.
                    if msg.status.is_some() && msg.subject.as_str() != self.reply() {
                        continue;
                    }
                    self.last_seen = Instant::now();
                    if let Some(step) = self.on_message(msg) {
                        return step;
                    }
                }
                event = self.events.next() => match event {
                    Some(Event::Disconnected { .. }) => self.connected = false,
                    Some(Event::Reconnected) => {
                        self.connected = true;
                        self.reset_pending();
                        return Step::Reconnected;
                    }
                    Some(Event::Closed { .. }) | None => return Step::Ended(ConsumeError::Closed),
                    Some(Event::ServerError { error }) => {
                        if let Some(refusal) = self.refusal(&error) {
                            return Step::Ended(ConsumeError::PermissionDenied(refusal));
                        }
                    }
                    Some(_) => {}
                },
                () = heartbeat => {
                    tracing::debug!(consumer = %self.consumer, "two idle heartbeats missed");
                    self.reset_pending();
                    return Step::MissedHeartbeats;
                }
            }
        }
    }

    /// Whether a server error refuses this consumer what it needs: its inbox subscription
    /// (recorded on the subscriber before the event), or its pull requests.
    fn refusal(&self, error: &nats_client::ServerError) -> Option<nats_client::ServerError> {
        refusal(&self.sub, error, &self.pull_subject())
    }

    fn pull_subject(&self) -> String {
        pull_subject(&self.context, &self.stream, &self.consumer)
    }

    fn on_message(&mut self, msg: Message) -> Option<Step> {
        let Some(status) = msg.status else {
            self.pending_messages = self.pending_messages.saturating_sub(1);
            self.pending_bytes = self.pending_bytes.saturating_sub(message_size(&msg));
            return Some(Step::Message(msg));
        };
        let description = msg.description().unwrap_or_default();
        match status_action(status, description, msg.headers.as_ref()) {
            StatusAction::Heartbeat => None,
            StatusAction::RequestDone { messages, bytes } => {
                match messages {
                    Some(n) => {
                        self.pending_messages = self.pending_messages.saturating_sub(n as usize);
                        self.pending_bytes = self
                            .pending_bytes
                            .saturating_sub(bytes.unwrap_or(0) as usize);
                    }
                    None => {
                        self.pending_messages = 0;
                        self.pending_bytes = 0;
                    }
                }
                None
            }
            StatusAction::Reset => {
                self.reset_pending();
                None
            }
            StatusAction::NoResponders => {
                self.reset_pending();
                Some(Step::NoResponders)
            }
            StatusAction::Terminal(e) => Some(Step::Ended(e)),
        }
    }

    /// Why the pull subject had no responders: the consumer (10014) or its stream (10059) is
    /// gone, or something transient (returned as the error to back off on).
    pub(crate) async fn diagnose(&self) -> Result<ConsumeError, Error> {
        diagnose(&self.context, &self.stream, &self.consumer).await
    }
}

/// The subject pull requests for `consumer` of `stream` go to (`CONSUMER.MSG.NEXT`).
pub(crate) fn pull_subject(context: &Context, stream: &str, consumer: &str) -> String {
    format!(
        "{}.CONSUMER.MSG.NEXT.{stream}.{consumer}",
        context.api_prefix()
    )
}

/// Whether a server error refuses a pull what it needs: the subscription of its inbox `sub`
/// (recorded on the subscriber before the error's event goes out), or its pull requests to
/// `pull_subject` (a publish violation for exactly that subject).
pub(crate) fn refusal(
    sub: &Subscriber,
    error: &nats_client::ServerError,
    pull_subject: &str,
) -> Option<nats_client::ServerError> {
    if let Some(refusal) = sub.permission_error() {
        return Some(refusal);
    }
    match error.permission_subject() {
        Some(("publish", subject, _)) if subject == pull_subject => Some(error.clone()),
        _ => None,
    }
}

/// A delivered message's size as the server counts it against a pull's `max_bytes`:
/// subject, reply, headers and payload.
fn message_size(msg: &Message) -> usize {
    msg.subject.len()
        + msg.reply.as_ref().map_or(0, Subject::len)
        + msg
            .headers
            .as_ref()
            .map_or(0, nats_client::HeaderMap::encoded_len)
        + msg.payload.len()
}

/// See [`Engine::diagnose`].
pub(crate) async fn diagnose(
    context: &Context,
    stream: &str,
    consumer: &str,
) -> Result<ConsumeError, Error> {
    match super::consumer_info(context, stream, consumer).await {
        Err(e) if e.is_consumer_not_found() => Ok(ConsumeError::ConsumerDeleted),
        Err(e) if e.is_stream_not_found() => Ok(ConsumeError::StreamDeleted),
        Err(e) => Err(e),
        // Push consumers do not serve pulls (J14).
        Ok(info)
            if info
                .config
                .extra
                .get("deliver_subject")
                .is_some_and(|d| d.as_str().is_some_and(|d| !d.is_empty())) =>
        {
            Ok(ConsumeError::ConsumerPushBased)
        }
        // It exists: its leader was missing for a moment (the pull had no responders).
        Ok(_) => Err(Error::JetStreamNotEnabled),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_follow_adr37_defaults() {
        let p = PullPlan::new(None, None, None, None, None).unwrap();
        assert_eq!(p.max_messages, 500);
        assert_eq!(p.threshold_messages, 250);
        assert_eq!(p.expires, Duration::from_secs(30));
        assert_eq!(p.heartbeat, Duration::from_secs(15));
        let p = PullPlan::new(
            None,
            Some(1 << 20),
            Some(Duration::from_secs(120)),
            None,
            None,
        )
        .unwrap();
        assert_eq!(p.max_messages, MESSAGES_WITH_BYTE_LIMIT);
        assert_eq!(p.threshold_bytes, 1 << 19);
        assert_eq!(p.heartbeat, Duration::from_secs(30));
        assert!(PullPlan::new(
            None,
            None,
            Some(Duration::from_secs(2)),
            Some(Duration::from_secs(2)),
            None
        )
        .is_err());
        let one = PullPlan::new(Some(1), None, None, None, None).unwrap();
        assert_eq!(one.threshold_messages, 0);
    }

    #[test]
    fn pull_requests_serialize_as_the_server_wants() {
        let r = PullRequest {
            batch: 10,
            max_bytes: 0,
            expires: Duration::from_secs(1),
            no_wait: false,
            idle_heartbeat: Some(Duration::from_millis(500)),
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"batch":10,"expires":1000000000,"idle_heartbeat":500000000}"#
        );
    }
}
