//! One subscription's state, shared by the driver (which queues messages) and the
//! [`Subscriber`](crate::Subscriber) (which takes them), and the driver's sid table.
//!
//! Each subscription's queue is bounded in messages and bytes (nats.go's pending limits). When
//! either limit is reached a message is dropped and counted, and the first drop of an episode
//! raises one [`Event::SlowConsumer`](crate::Event::SlowConsumer); the episode ends when the
//! subscriber catches up.
//!
//! The table ([`SubTable`]) has one writer, the connection state machine: handles never touch
//! it, they queue subscribe and unsubscribe records in the write queue, which the machine
//! applies before any byte of theirs reaches the socket.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::BytesMut;
use nats_proto::ServerError;

use crate::callback::{guarded, CallbackKind, CallbackPanic};
use crate::message::Message;
use crate::signal::DriverSignal;

/// A message handler run by the connection for each message of its subscription.
pub(crate) type Handler = Box<dyn Fn(Message) + Send + Sync>;

/// The handler of a subscription, if it has one (instead of a queue).
#[derive(Default)]
struct HandlerSlot(Option<Handler>);

impl std::fmt::Debug for HandlerSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Some(handler)"
        } else {
            "None"
        })
    }
}

/// What happened to a message handed to a subscription.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Delivery {
    Queued,
    /// Dropped for the pending limits; `first` when it starts a slow-consumer episode.
    Dropped {
        first: bool,
        total: u64,
    },
    /// Queued, and the auto-unsubscribe limit is reached: remove the subscription.
    LastMessage,
    /// The subscription no longer takes messages.
    Ignored,
    /// Handed to the subscription's handler, which panicked; `last` as for `LastMessage`.
    Panicked {
        panic: CallbackPanic,
        last: bool,
    },
}

#[derive(Debug)]
struct Queue {
    msgs: VecDeque<Message>,
    bytes: usize,
    max_msgs: usize,
    max_bytes: usize,
    waker: Option<Waker>,
    /// No more messages will be queued; the stream ends once the queue is empty.
    closed: bool,
    dropped: u64,
    /// Messages the server delivered to this subscription, dropped ones included.
    received: u64,
    /// Messages ever put in the queue (the subscriber has consumed everything when it has
    /// yielded this many).
    queued: u64,
    /// `received` when the SUB was last sent (server-side counting restarts per connection).
    received_at_subscribe: u64,
    /// Auto-unsubscribe after this many messages in total (R57).
    max: Option<u64>,
    slow: bool,
    /// The server refused this subscription on the current connection (cleared when the SUB
    /// is re-sent, R59).
    denied: Option<ServerError>,
}

/// One subscription: written by the driver, read by its [`Subscriber`](crate::Subscriber).
#[derive(Debug)]
pub(crate) struct SubState {
    pub(crate) sid: u64,
    pub(crate) subject: String,
    pub(crate) queue_group: Option<String>,
    /// The request multiplexer's inbox subscription.
    pub(crate) is_mux: bool,
    queue: Mutex<Queue>,
    /// Messages the subscriber has handed to the application (written by the subscriber only).
    yielded: AtomicU64,
    /// Being drained: not re-sent at reconnect (D3); consumption progress wakes the driver.
    draining: AtomicBool,
    driver: Arc<DriverSignal>,
    handler: HandlerSlot,
}

impl SubState {
    pub(crate) fn new(
        sid: u64,
        subject: String,
        queue_group: Option<String>,
        is_mux: bool,
        limits: (usize, usize),
        driver: Arc<DriverSignal>,
    ) -> SubState {
        SubState {
            sid,
            subject,
            queue_group,
            is_mux,
            queue: Mutex::new(Queue {
                msgs: VecDeque::new(),
                bytes: 0,
                max_msgs: limits.0,
                max_bytes: limits.1,
                waker: None,
                closed: false,
                dropped: 0,
                received: 0,
                queued: 0,
                received_at_subscribe: 0,
                max: None,
                slow: false,
                denied: None,
            }),
            yielded: AtomicU64::new(0),
            draining: AtomicBool::new(false),
            driver,
            handler: HandlerSlot::default(),
        }
    }

    /// Messages go to `handler`, called on the connection's task, instead of a queue.
    pub(crate) fn with_handler(mut self, handler: Option<Handler>) -> SubState {
        self.handler = HandlerSlot(handler);
        self
    }

    /// The queue lock ("subscription queue"): held for a push or a batch pop.
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a message from the driver, enforcing the pending limits. The consumer's waker, if
    /// it waits, goes to `wake`, so the driver wakes it once per read batch, not per message.
    pub(crate) fn deliver(&self, msg: Message, wake: &mut Vec<Waker>) -> Delivery {
        let mut q = self.lock();
        if q.closed {
            return Delivery::Ignored;
        }
        q.received += 1;
        let last = q.max.is_some_and(|max| q.received >= max);
        if let Some(handler) = &self.handler.0 {
            q.queued += 1;
            let queued = q.queued;
            if last {
                q.closed = true;
            }
            drop(q);
            let outcome = guarded(CallbackKind::MessageHandler, || handler(msg));
            // Handed to the application: consumed as far as a drain is concerned.
            self.yielded.store(queued, Ordering::Release);
            return match outcome {
                Err(panic) => Delivery::Panicked { panic, last },
                Ok(()) if last => Delivery::LastMessage,
                Ok(()) => Delivery::Queued,
            };
        }
        let size = msg.payload.len();
        let outcome = if q.msgs.len() >= q.max_msgs || q.bytes.saturating_add(size) > q.max_bytes {
            q.dropped += 1;
            let first = !q.slow;
            q.slow = true;
            Delivery::Dropped {
                first,
                total: q.dropped,
            }
        } else {
            q.bytes += size;
            q.queued += 1;
            q.msgs.push_back(msg);
            Delivery::Queued
        };
        if last {
            q.closed = true;
        }
        if let Some(w) = q.waker.take() {
            wake.push(w);
        }
        drop(q);
        match outcome {
            Delivery::Queued if last => Delivery::LastMessage,
            other => other,
        }
    }

    /// Applies `change` to the queue and wakes the subscriber if it waits.
    fn change_and_wake(&self, change: impl FnOnce(&mut Queue)) {
        let mut q = self.lock();
        change(&mut q);
        let waker = q.waker.take();
        drop(q);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Ends the stream once the queued messages are consumed.
    pub(crate) fn close(&self) {
        self.change_and_wake(|q| q.closed = true);
    }

    /// Ends the stream now, discarding queued messages.
    pub(crate) fn close_now(&self) {
        let mut q = self.lock();
        q.msgs.clear();
        q.bytes = 0;
        let queued = q.queued;
        drop(q);
        self.yielded.store(queued, Ordering::Release);
        self.close();
        if self.is_draining() {
            self.driver.wake();
        }
    }

    pub(crate) fn set_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    pub(crate) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// Everything queued has been handed to the application (or the subscriber is gone).
    pub(crate) fn is_consumed(&self) -> bool {
        let queued = self.lock().queued;
        self.yielded.load(Ordering::Acquire) >= queued
    }

    /// Whether the stream will take no more messages.
    pub(crate) fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Appends this subscription's SUB (and UNSUB with the remaining count, R57) for a new
    /// connection. Returns false when it must not be re-sent (draining, D3; or finished).
    pub(crate) fn encode_resubscribe(&self, buf: &mut BytesMut) -> bool {
        if self.is_draining() {
            return false;
        }
        let mut q = self.lock();
        if q.closed {
            return false;
        }
        nats_proto::encode_sub(buf, &self.subject, self.queue_group.as_deref(), self.sid);
        q.received_at_subscribe = q.received;
        // R59: the new connection asks again.
        q.denied = None;
        if let Some(max) = q.max {
            nats_proto::encode_unsub(buf, self.sid, Some(max.saturating_sub(q.received)));
        }
        true
    }

    /// Sets the auto-unsubscribe limit; returns the count to send in UNSUB on the current
    /// connection, or `None` when the limit is already reached (the stream then ends).
    pub(crate) fn set_max(&self, max: u64) -> Option<u64> {
        let mut q = self.lock();
        q.max = Some(max);
        if q.received >= max {
            q.closed = true;
            None
        } else {
            Some(max - q.received_at_subscribe)
        }
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    /// The server refused this subscription: recorded, and a waiting subscriber is woken.
    pub(crate) fn deny(&self, error: &ServerError) {
        self.change_and_wake(|q| q.denied = Some(error.clone()));
    }

    /// The refusal recorded for the current connection, if any.
    pub(crate) fn denied(&self) -> Option<ServerError> {
        self.lock().denied.clone()
    }

    /// The refusal, if one is recorded and no message is waiting in the shared queue.
    pub(crate) fn denied_when_empty(&self) -> Option<ServerError> {
        let q = self.lock();
        if q.msgs.is_empty() {
            q.denied.clone()
        } else {
            None
        }
    }

    pub(crate) fn set_limits(&self, msgs: usize, bytes: usize) {
        let mut q = self.lock();
        q.max_msgs = msgs;
        q.max_bytes = bytes;
    }

    /// Messages waiting in the queue.
    pub(crate) fn queued_now(&self) -> usize {
        self.lock().msgs.len()
    }

    /// Moves every queued message to `local`; `Ready(false)` when the stream has ended.
    pub(crate) fn poll_batch(
        &self,
        local: &mut VecDeque<Message>,
        cx: &mut Context<'_>,
    ) -> Poll<bool> {
        let mut q = self.lock();
        if !q.msgs.is_empty() {
            std::mem::swap(&mut q.msgs, local);
            q.bytes = 0;
            q.slow = false;
            return Poll::Ready(true);
        }
        if q.closed {
            return Poll::Ready(false);
        }
        match &q.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => q.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// The subscriber has handed `total` messages to the application so far and holds none
    /// it has not (it calls this when its local batch is used up). While draining, the driver
    /// is told, since that may have caught up with the queue.
    #[inline]
    pub(crate) fn set_yielded(&self, total: u64) {
        self.yielded.store(total, Ordering::Release);
        if self.is_draining() {
            self.driver.wake();
        }
    }
}

/// Hashes sids (small sequential integers) with one multiplication: the table is looked up for
/// every received message, and SipHash would cost more than the rest of the dispatch.
#[derive(Default, Clone, Copy)]
pub(crate) struct SidHasher(u64);

impl Hasher for SidHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        // Fibonacci hashing spreads sequential sids over the high bits hashbrown uses.
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// The sid table, owned by the connection state machine.
#[derive(Debug, Default)]
pub(crate) struct SubTable {
    map: HashMap<u64, Arc<SubState>, BuildHasherDefault<SidHasher>>,
}

impl SubTable {
    pub(crate) fn insert(&mut self, sub: Arc<SubState>) {
        self.map.insert(sub.sid, sub);
    }

    pub(crate) fn remove(&mut self, sid: u64) -> Option<Arc<SubState>> {
        self.map.remove(&sid)
    }

    pub(crate) fn get(&self, sid: u64) -> Option<&Arc<SubState>> {
        self.map.get(&sid)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Every subscription except the request inbox.
    pub(crate) fn user_subscriptions(&self) -> Vec<Arc<SubState>> {
        let mut subs: Vec<_> = self.map.values().filter(|s| !s.is_mux).cloned().collect();
        subs.sort_by_key(|s| s.sid);
        subs
    }

    /// SUB (+UNSUB) of every live subscription, in sid order, for a new connection (R54).
    pub(crate) fn resubscribe(&self, buf: &mut BytesMut) -> usize {
        let mut subs: Vec<&Arc<SubState>> = self.map.values().collect();
        subs.sort_by_key(|s| s.sid);
        subs.into_iter()
            .filter(|s| s.encode_resubscribe(buf))
            .count()
    }

    /// Records a subscription refusal (`-ERR 'Permissions Violation for Subscription to "S"'`,
    /// with `using queue "Q"` for a queue subscription) on every subscription with exactly that
    /// subject and queue group; returns how many.
    pub(crate) fn deny(&self, subject: &str, queue: Option<&str>, error: &ServerError) -> usize {
        let mut n = 0;
        for s in self.map.values() {
            if !s.is_mux && s.subject == subject && s.queue_group.as_deref() == queue {
                s.deny(error);
                n += 1;
            }
        }
        n
    }

    /// Ends every subscription's stream (close).
    pub(crate) fn close_all(&mut self) {
        for s in self.map.values() {
            s.close();
        }
        self.map.clear();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn msg(n: u8) -> Message {
        Message::for_test("s", Bytes::from(vec![n; 4]))
    }

    fn state(limits: (usize, usize)) -> SubState {
        SubState::new(1, "s".into(), None, false, limits, Arc::default())
    }

    #[test]
    fn pending_limits_drop_and_count_one_episode() {
        let s = state((2, 1024));
        let mut wake = Vec::new();
        assert_eq!(s.deliver(msg(1), &mut wake), Delivery::Queued);
        assert_eq!(s.deliver(msg(2), &mut wake), Delivery::Queued);
        assert_eq!(
            s.deliver(msg(3), &mut wake),
            Delivery::Dropped {
                first: true,
                total: 1
            }
        );
        assert_eq!(
            s.deliver(msg(4), &mut wake),
            Delivery::Dropped {
                first: false,
                total: 2
            }
        );
        assert_eq!(s.dropped(), 2);
    }

    #[test]
    fn consumed_means_everything_queued_was_yielded() {
        let s = state((10, 1024));
        let mut wake = Vec::new();
        for n in 0..3 {
            s.deliver(msg(n), &mut wake);
        }
        assert!(!s.is_consumed());
        s.set_yielded(2);
        assert!(!s.is_consumed());
        s.set_yielded(3);
        assert!(s.is_consumed());
    }

    #[test]
    fn r57_auto_unsubscribe_counts_across_connections() {
        let s = state((10, 1024));
        let mut wake = Vec::new();
        s.deliver(msg(1), &mut wake);
        assert_eq!(
            s.set_max(3),
            Some(3),
            "UNSUB count on the connection it was sent on"
        );
        let mut buf = BytesMut::new();
        assert!(s.encode_resubscribe(&mut buf));
        assert_eq!(&buf[..], b"SUB s 1\r\nUNSUB 1 2\r\n");
        s.deliver(msg(2), &mut wake);
        assert_eq!(s.deliver(msg(3), &mut wake), Delivery::LastMessage);
        assert_eq!(s.deliver(msg(4), &mut wake), Delivery::Ignored);
    }

    #[test]
    fn r59_a_refusal_goes_to_the_exact_subscription_and_is_cleared_at_resend() {
        let sub = |sid, subject: &str, queue: Option<&str>| {
            Arc::new(SubState::new(
                sid,
                subject.into(),
                queue.map(String::from),
                false,
                (10, 1024),
                Arc::default(),
            ))
        };
        let plain = sub(1, "a.b", None);
        let grouped = sub(2, "a.b", Some("g"));
        let other = sub(3, "a.*", None);
        let mut table = SubTable::default();
        for s in [&plain, &grouped, &other] {
            table.insert(Arc::clone(s));
        }
        let refusal =
            ServerError::parse("-ERR 'Permissions Violation for Subscription to \"a.b\"'");
        assert_eq!(table.deny("a.b", None, &refusal), 1);
        assert_eq!(plain.denied(), Some(refusal.clone()));
        assert_eq!(grouped.denied(), None, "a queue refusal names its group");
        assert_eq!(other.denied(), None, "subjects are compared as written");
        assert_eq!(table.deny("a.b", Some("g"), &refusal), 1);
        assert!(grouped.denied().is_some());
        // a queued message comes before the refusal
        let mut wake = Vec::new();
        plain.deliver(msg(1), &mut wake);
        assert_eq!(plain.denied_when_empty(), None);
        // the new connection's SUB asks again
        let mut buf = BytesMut::new();
        assert_eq!(table.resubscribe(&mut buf), 3);
        assert_eq!(plain.denied(), None);
        assert_eq!(grouped.denied(), None);
    }
}
