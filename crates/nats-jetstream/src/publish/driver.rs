//! The tokio side of the ack window: the publish path (in the caller's task, no channel hop),
//! the ack handler (on the connection's task: an ack completes its future with no hop in
//! between), and the driver task that follows connection events and timers and carries out
//! what the [`Window`] decides (re-sends, stream checks).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use bytes::Bytes;
use futures_util::StreamExt;
use nats_client::{
    message_id, Client, Event, EventStream, HeaderMap, Message, Subscriber, MESSAGE_ID_PREFIX_LEN,
};
use tokio::sync::{mpsc, oneshot, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::window::{Action, Reply, Window};
use super::{PubAck, MSG_ID};
use crate::context::{decode_reply, Context, Inner};
use crate::error::{Error, PublishError};
use crate::retry::{PublishRetry, PROBE_BACKOFF};

/// What a completed publish hands back: the ack sender and the window permit it held.
struct Waiter {
    tx: oneshot::Sender<Result<PubAck, PublishError>>,
    _permit: OwnedSemaphorePermit,
}

/// The prefix of this context's generated message ids: the head of its inbox's random token
/// (ids are `nats_client::message_id(prefix, n)`: short, because the server keeps every id of
/// its duplicate window and stores it with the message; 15 characters at 100,000 publishes
/// instead of the 29 of a whole token and a decimal counter cut the server's CPU per publish).
fn id_prefix(inbox: &str) -> String {
    let token = inbox.rsplit('.').next().unwrap_or_default();
    token.chars().take(MESSAGE_ID_PREFIX_LEN).collect()
}

/// State shared by the publishing callers and the driver.
struct Shared {
    client: Client,
    /// Replies arrive on `<inbox>.<id>-<attempt>`.
    inbox: String,
    /// Generated message ids are `<id_prefix><n in base62>` ([`message_id`]).
    id_prefix: String,
    next_msg_id: AtomicU64,
    permits: Arc<Semaphore>,
    /// The window lock ("ack window"): held for one state-machine step, never across an await.
    window: Mutex<Window<Waiter>>,
    wake: Notify,
    /// What the ack handler decided and the driver must carry out (it cannot await).
    actions: Mutex<Vec<Action>>,
    /// Every context handle is gone: finish what is pending, then stop.
    detached: AtomicBool,
    /// Outcomes taken from the window, completed after its lock is released ([`finish`]).
    ///
    /// [`finish`]: Shared::finish
    ready: Mutex<Vec<Ready>>,
}

/// A publish's waiter and its outcome.
type Ready = (Waiter, Result<PubAck, PublishError>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Window<Waiter>> {
        self.window.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Completes the publishes the window has outcomes for, in publish order (J10), after
    /// releasing its lock: the caller an ack wakes (on another thread) must not find the lock
    /// still held and block on it. `ready` is taken before the window lock is released, so two
    /// threads finishing at once still complete in order; its buffer is reused.
    fn finish(&self, mut w: MutexGuard<'_, Window<Waiter>>) {
        let mut ready = self.ready.lock().unwrap_or_else(|p| p.into_inner());
        w.for_each_ready(|waiter, result| ready.push((waiter, result)));
        drop(w);
        for (waiter, result) in ready.drain(..) {
            complete(waiter, result);
        }
    }

    fn take_actions(&self) -> Vec<Action> {
        std::mem::take(&mut *self.actions.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// A reply on the inbox, on the connection's task: completes what it acks (in publish
    /// order, J10) and hands anything to send to the driver.
    fn on_reply(&self, msg: &Message) {
        let Some((id, attempt)) = parse_token(&msg.subject, &self.inbox) else {
            return;
        };
        let reply = classify(msg);
        let (actions, wake) = {
            let mut w = self.lock();
            let actions = w.on_reply(id, attempt, reply, Instant::now());
            let wake = w.deadline_moved_up();
            self.finish(w);
            (actions, wake)
        };
        let send = !actions.is_empty();
        if send {
            self.actions
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend(actions);
        }
        if send || wake {
            self.wake.notify_one();
        }
    }
}

/// The context's publisher: its handle to the driver. Dropped with the last context clone;
/// the driver then finishes the pending publishes and stops.
pub(crate) struct Publisher {
    shared: Arc<Shared>,
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.shared.detached.store(true, Ordering::Release);
        self.shared.wake.notify_one();
    }
}

impl Publisher {
    /// Subscribes to the reply inbox and starts the driver.
    pub(crate) async fn start(context: &Context) -> Result<Publisher, PublishError> {
        let inner = &context.inner;
        let client = inner.client.clone();
        let inbox = client.new_inbox();
        let id_prefix = id_prefix(&inbox);
        let events = client.events();
        let opts = &inner.publish;
        let policy = PublishRetry {
            backoff: PROBE_BACKOFF,
            window: opts.retry_window,
        };
        let shared = Arc::new(Shared {
            client,
            inbox,
            id_prefix,
            next_msg_id: AtomicU64::new(1),
            permits: Arc::new(Semaphore::new(opts.max_ack_pending)),
            window: Mutex::new(Window::new(policy, opts.ack_timeout)),
            wake: Notify::new(),
            actions: Mutex::new(Vec::new()),
            detached: AtomicBool::new(false),
            ready: Mutex::new(Vec::new()),
        });
        // The handler holds the publisher weakly: the client owns the handler, and the
        // publisher owns a client handle.
        let acks = Arc::downgrade(&shared);
        let sub = shared
            .client
            .subscribe_with_handler(format!("{}.*", shared.inbox), move |msg| {
                if let Some(shared) = acks.upgrade() {
                    shared.on_reply(&msg);
                }
            })
            .await
            .map_err(|e| match e {
                nats_client::SubscribeError::Closed => PublishError::Closed,
                other => PublishError::InvalidArgument(other.to_string()),
            })?;
        let driver = Driver {
            shared: Arc::clone(&shared),
            context: Arc::downgrade(inner),
            _sub: sub,
            events,
        };
        tokio::spawn(driver.run());
        Ok(Publisher { shared })
    }

    /// Takes a window permit (waiting while the window is full, J8), registers the message
    /// and sends its first attempt from the caller's task.
    pub(crate) async fn publish(
        &self,
        subject: &str,
        mut headers: HeaderMap,
        payload: Bytes,
    ) -> Result<oneshot::Receiver<Result<PubAck, PublishError>>, PublishError> {
        let shared = &self.shared;
        nats_proto::validate_publish_subject(subject)
            .map_err(|e| PublishError::Publish(nats_client::PublishError::InvalidSubject(e)))?;
        let permit = Arc::clone(&shared.permits)
            .acquire_owned()
            .await
            .map_err(|_| PublishError::Closed)?;
        if headers.get(MSG_ID).is_none() {
            let n = shared.next_msg_id.fetch_add(1, Ordering::Relaxed);
            headers
                .insert(MSG_ID, message_id(&shared.id_prefix, n))
                .map_err(|e| PublishError::InvalidArgument(e.to_string()))?;
        }
        let (tx, rx) = oneshot::channel();
        let waiter = Waiter {
            tx,
            _permit: permit,
        };
        let now = Instant::now();
        let (id, action, wake) = {
            let mut w = shared.lock();
            let (id, action) = w.insert(
                subject.to_owned(),
                headers.clone(),
                payload.clone(),
                waiter,
                now,
            );
            (id, action, w.deadline_moved_up())
        };
        if wake {
            shared.wake.notify_one();
        }
        if let Some(Action::Send { attempt, .. }) = action {
            let reply = reply_subject(&shared.inbox, id, attempt);
            if let Err(e) = shared
                .client
                .publish_with_reply_and_headers(subject, reply, headers, payload)
                .await
            {
                let mut w = shared.lock();
                w.remove(id);
                shared.finish(w);
                return Err(PublishError::Publish(e));
            }
        }
        Ok(rx)
    }
}

/// Hands a publish its outcome. The caller may have dropped its future; the window permit
/// goes back either way, first: the caller the outcome wakes may publish again at once, and
/// with a small window it would otherwise find the permit not yet returned and wait for it
/// (another wake-up).
fn complete(waiter: Waiter, result: Result<PubAck, PublishError>) {
    let Waiter {
        tx,
        _permit: permit,
    } = waiter;
    drop(permit);
    let _ = tx.send(result);
}

struct Driver {
    shared: Arc<Shared>,
    context: Weak<Inner>,
    /// The ack inbox; its handler does the work, the driver keeps it subscribed.
    _sub: Subscriber,
    events: EventStream,
}

/// A stream check's answer: the subject and whether a stream stores it.
type Verdict = (String, Option<bool>);

impl Driver {
    async fn run(mut self) {
        let (verdict_tx, mut verdicts) = mpsc::unbounded_channel::<Verdict>();
        loop {
            let deadline = {
                let mut w = self.shared.lock();
                let d = keep_armed(w.next_deadline(), w.driver_deadline, Instant::now());
                w.driver_deadline = d;
                if w.is_empty() && self.shared.detached.load(Ordering::Acquire) {
                    break;
                }
                d
            };
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            let actions = tokio::select! {
                biased;
                event = self.events.next() => match event {
                    Some(Event::Disconnected { .. }) => {
                        self.shared.lock().on_disconnected();
                        Vec::new()
                    }
                    Some(Event::Reconnected) => self.shared.lock().on_reconnected(Instant::now()),
                    Some(Event::Closed { .. }) | None => {
                        self.close();
                        break;
                    }
                    Some(_) => Vec::new(),
                },
                Some((subject, verdict)) = verdicts.recv() => {
                    self.shared.lock().on_verdict(&subject, verdict, Instant::now());
                    Vec::new()
                }
                () = self.shared.wake.notified() => Vec::new(),
                () = sleep => self.shared.lock().on_timer(Instant::now()),
            };
            let mut actions = actions;
            actions.extend(self.shared.take_actions());
            self.perform(actions, &verdict_tx).await;
            self.shared.finish(self.shared.lock());
        }
        tracing::debug!("JetStream publisher stopped");
    }

    fn close(&self) {
        let mut w = self.shared.lock();
        w.fail_all(&PublishError::Closed);
        self.shared.finish(w);
    }

    async fn perform(&self, actions: Vec<Action>, verdicts: &mpsc::UnboundedSender<Verdict>) {
        for action in actions {
            match action {
                Action::Send { id, attempt } => {
                    let message = self
                        .shared
                        .lock()
                        .message(id)
                        .map(|(s, h, p)| (s.to_owned(), h.clone(), p.clone()));
                    let Some((subject, headers, payload)) = message else {
                        continue;
                    };
                    tracing::trace!(id, attempt, %subject, "re-sending publish");
                    let reply = reply_subject(&self.shared.inbox, id, attempt);
                    if let Err(e) = self
                        .shared
                        .client
                        .publish_with_reply_and_headers(&subject, reply, headers, payload)
                        .await
                    {
                        // Closed: the Closed event fails everything; anything else was
                        // accepted the first time, so it is transient. The ack timeout
                        // covers both.
                        tracing::debug!(id, error = %e, "re-send failed");
                    }
                }
                Action::CheckStream { subject } => {
                    let context = self.context.upgrade().map(|inner| Context { inner });
                    let tx = verdicts.clone();
                    tokio::spawn(async move {
                        let verdict = match context {
                            Some(js) => stream_stores(&js, &subject).await,
                            None => None,
                        };
                        let _ = tx.send((subject, verdict));
                    });
                }
            }
        }
    }
}

/// What the driver sleeps until: the window's `next` deadline, unless a deadline it already
/// sleeps until (`armed`, not passed yet) comes first. Waking at `armed` when nothing is due
/// there costs one empty round; re-arming to every new deadline would not: a publish into an
/// empty window would have to wake the driver (a thread hand-off, with sequential publishes
/// one per publish) only to set a timer seconds away. `deadline_moved_up` still wakes it for a
/// deadline before `armed`.
fn keep_armed(next: Option<Instant>, armed: Option<Instant>, now: Instant) -> Option<Instant> {
    match armed.filter(|armed| *armed > now) {
        Some(armed) => Some(next.map_or(armed, |next| next.min(armed))),
        None => next,
    }
}

/// Whether some stream stores `subject`: `None` when the API cannot tell (no meta leader).
async fn stream_stores(js: &Context, subject: &str) -> Option<bool> {
    use futures_util::TryStreamExt;
    match js.stream_names_for_subject(subject).try_next().await {
        Ok(first) => Some(first.is_some()),
        Err(Error::JetStreamNotEnabled) => Some(false),
        Err(e) => {
            tracing::debug!(error = %e, %subject, "cannot tell whether a stream stores the subject");
            None
        }
    }
}

/// `<inbox>.<id>-<attempt>` → `(id, attempt)`.
/// `<inbox>.<id>-<attempt>`, the reply subject of one attempt ([`parse_token`] reads it back).
/// Built by hand: `format!` cost about a tenth of a publish's CPU.
fn reply_subject(inbox: &str, id: u64, attempt: u32) -> String {
    let mut s = String::with_capacity(inbox.len() + 1 + 20 + 1 + 10);
    s.push_str(inbox);
    s.push('.');
    nats_proto::push_u64(&mut s, id);
    s.push('-');
    nats_proto::push_u64(&mut s, u64::from(attempt));
    s
}

fn parse_token(subject: &str, inbox: &str) -> Option<(u64, u32)> {
    let token = subject.strip_prefix(inbox)?.strip_prefix('.')?;
    let (id, attempt) = token.split_once('-')?;
    Some((id.parse().ok()?, attempt.parse().ok()?))
}

/// What a reply to a publish says.
fn classify(msg: &Message) -> Reply {
    if msg.is_no_responders() {
        return Reply::NoResponders;
    }
    if let Some(status) = msg.status {
        return Reply::Failed(PublishError::Decode(format!(
            "status {} {}",
            status.as_u16(),
            msg.description().unwrap_or_default()
        )));
    }
    if let Some(ack) = super::ack_wire::parse(&msg.payload) {
        return Reply::Ack(ack);
    }
    match decode_reply::<PubAck>(&msg.payload) {
        Ok(ack) => Reply::Ack(ack),
        Err(Error::Api(e)) => Reply::from_api(e),
        Err(e) => Reply::Failed(PublishError::Decode(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_armed_deadline_is_kept_until_it_passes() {
        let now = Instant::now();
        let s = |n| Some(now + std::time::Duration::from_secs(n));
        // nothing due: keep sleeping until the armed deadline
        assert_eq!(keep_armed(None, s(5), now), s(5));
        // a later deadline: the armed one first (an empty round there)
        assert_eq!(keep_armed(s(9), s(5), now), s(5));
        // an earlier one wins
        assert_eq!(keep_armed(s(2), s(5), now), s(2));
        // once the armed deadline has passed, the window's own
        assert_eq!(keep_armed(s(9), Some(now), now), s(9));
        assert_eq!(keep_armed(None, Some(now), now), None);
        assert_eq!(keep_armed(s(3), None, now), s(3));
    }

    #[test]
    fn tokens_parse() {
        assert_eq!(parse_token("_INBOX.abc.12-3", "_INBOX.abc"), Some((12, 3)));
        assert_eq!(parse_token("_INBOX.abc.12", "_INBOX.abc"), None);
        assert_eq!(parse_token("_INBOX.other.1-1", "_INBOX.abc"), None);
        assert_eq!(parse_token("_INBOX.abcd.1-1", "_INBOX.abc"), None);
    }

    #[test]
    fn reply_subjects_read_back() {
        assert_eq!(reply_subject("_INBOX.abc", 12, 3), "_INBOX.abc.12-3");
        assert_eq!(reply_subject("i", 0, 0), "i.0-0");
        for (id, attempt) in [(1, 1), (9, 10), (u64::MAX, u32::MAX), (1_000_000, 7)] {
            let s = reply_subject("_INBOX.x", id, attempt);
            assert_eq!(s, format!("_INBOX.x.{id}-{attempt}"));
            assert_eq!(parse_token(&s, "_INBOX.x"), Some((id, attempt)));
        }
    }

    #[test]
    fn generated_ids_are_short_distinct_and_keep_the_prefix() {
        let prefix = id_prefix("_INBOX.0123456789ABCDEFGHIJKL");
        assert_eq!(prefix, "0123456789AB");
        assert_eq!(
            id_prefix("my.inbox.x9"),
            "x9",
            "a short token is taken whole"
        );
        assert_eq!(message_id("p", 0), "p0");
        assert_eq!(message_id("p", 61), "pz");
        assert_eq!(message_id("p", 62), "p10");
        assert_eq!(message_id("p", u64::MAX), "pLygHa16AHYF");
        let mut seen = std::collections::HashSet::new();
        for n in (0..200_000u64).chain([u64::MAX - 1, u64::MAX]) {
            let id = message_id(&prefix, n);
            assert!(id.starts_with(&prefix));
            assert!(id.len() <= MESSAGE_ID_PREFIX_LEN + 11);
            assert!(seen.insert(id), "id of {n} repeated");
        }
        assert_eq!(message_id(&prefix, 100_000).len(), 15, "29 before");
    }
}
