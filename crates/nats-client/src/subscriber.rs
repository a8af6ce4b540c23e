//! Subscriptions: the table the reader dispatches into (sid → bounded queue), and
//! [`Subscriber`], the user's `Stream` of messages.
//!
//! Each subscription has a queue bounded in messages and bytes (nats.go's pending limits).
//! When either limit is reached a message is dropped, counted (`dropped()`), and the first drop
//! of an episode raises one [`Event::SlowConsumer`](crate::Event::SlowConsumer); the episode
//! ends when the subscriber catches up.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::BytesMut;
use futures_core::{FusedStream, Stream};

use crate::client::Client;
use crate::error::{DrainError, SubscribeError};
use crate::message::Message;

/// What happened to a message handed to a subscription.
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
}

struct Queue {
    msgs: VecDeque<Message>,
    bytes: usize,
    max_msgs: usize,
    max_bytes: usize,
    waker: Option<Waker>,
    /// No more messages will be queued; the stream ends once `msgs` is empty.
    closed: bool,
    dropped: u64,
    /// Messages the server delivered to this subscription, dropped ones included.
    received: u64,
    /// `received` when the SUB was last sent (server-side counting restarts per connection).
    received_at_subscribe: u64,
    /// Auto-unsubscribe after this many messages in total (R57).
    max: Option<u64>,
    slow: bool,
    /// Being drained: not re-sent at reconnect (D3).
    draining: bool,
}

/// One subscription's shared state: written by the reader, read by the [`Subscriber`].
pub(crate) struct SubState {
    pub(crate) sid: u64,
    pub(crate) subject: String,
    pub(crate) queue_group: Option<String>,
    /// The request multiplexer's inbox subscription.
    pub(crate) is_mux: bool,
    queue: Mutex<Queue>,
    /// Messages the subscriber took from the queue and has not yielded yet (kept exact while
    /// draining, so `drain()` waits until they are consumed).
    local_backlog: AtomicUsize,
    /// Mirror of `Queue::draining`, readable without the lock on every yield.
    draining: AtomicBool,
}

impl SubState {
    pub(crate) fn new(
        sid: u64,
        subject: String,
        queue_group: Option<String>,
        is_mux: bool,
        limits: (usize, usize),
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
                received_at_subscribe: 0,
                max: None,
                slow: false,
                draining: false,
            }),
            local_backlog: AtomicUsize::new(0),
            draining: AtomicBool::new(false),
        }
    }

    /// The queue lock ("subscription queue"): held for a push or a batch pop.
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a message from the reader, enforcing the pending limits. The consumer's waker,
    /// if it waits, goes to `wake` so the reader can wake it once per batch, not per message.
    pub(crate) fn deliver(&self, msg: Message, wake: &mut Vec<Waker>) -> Delivery {
        let mut q = self.lock();
        if q.closed {
            return Delivery::Ignored;
        }
        q.received += 1;
        let last = q.max.is_some_and(|max| q.received >= max);
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

    /// Ends the stream once the queued messages are consumed.
    pub(crate) fn close(&self) {
        let mut q = self.lock();
        q.closed = true;
        let waker = q.waker.take();
        drop(q);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Ends the stream now, discarding queued messages.
    fn close_now(&self) {
        let mut q = self.lock();
        q.msgs.clear();
        q.bytes = 0;
        drop(q);
        self.local_backlog.store(0, Ordering::Release);
        self.close();
    }

    pub(crate) fn set_draining(&self) {
        self.lock().draining = true;
        self.draining.store(true, Ordering::Release);
    }

    pub(crate) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// Everything received has been handed to the application (or the subscriber is gone).
    pub(crate) fn is_consumed(&self) -> bool {
        self.local_backlog.load(Ordering::Acquire) == 0 && self.lock().msgs.is_empty()
    }

    /// Appends this subscription's SUB (and UNSUB with the remaining count, R57) for a new
    /// connection. Returns false when it must not be re-sent (draining, D3; or finished).
    pub(crate) fn encode_resubscribe(&self, buf: &mut BytesMut) -> bool {
        let mut q = self.lock();
        if q.draining || q.closed {
            return false;
        }
        nats_proto::encode_sub(buf, &self.subject, self.queue_group.as_deref(), self.sid);
        q.received_at_subscribe = q.received;
        if let Some(max) = q.max {
            nats_proto::encode_unsub(buf, self.sid, Some(max.saturating_sub(q.received)));
        }
        true
    }

    /// Sets the auto-unsubscribe limit; returns the count to send in UNSUB on the current
    /// connection, or `None` when the limit is already reached.
    fn set_max(&self, max: u64) -> Option<u64> {
        let mut q = self.lock();
        q.max = Some(max);
        if q.received >= max {
            q.closed = true;
            None
        } else {
            Some(max - q.received_at_subscribe)
        }
    }

    fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    fn set_limits(&self, msgs: usize, bytes: usize) {
        let mut q = self.lock();
        q.max_msgs = msgs;
        q.max_bytes = bytes;
    }

    /// Moves every queued message to `local`; `Ready(false)` when the stream has ended.
    fn poll_batch(&self, local: &mut VecDeque<Message>, cx: &mut Context<'_>) -> Poll<bool> {
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

/// The subscription table: sid → state. Lock order: this table, then the write buffer, then a
/// subscription's queue.
#[derive(Default)]
pub(crate) struct SubTable {
    pub(crate) map: HashMap<u64, Arc<SubState>, BuildHasherDefault<SidHasher>>,
    next_sid: u64,
}

impl SubTable {
    pub(crate) fn next_sid(&mut self) -> u64 {
        self.next_sid += 1;
        self.next_sid
    }

    /// SUB (+UNSUB) of every live subscription, in sid order, for a new connection (R54).
    pub(crate) fn resubscribe(&self, buf: &mut BytesMut) -> usize {
        let mut subs: Vec<&Arc<SubState>> = self.map.values().collect();
        subs.sort_by_key(|s| s.sid);
        subs.into_iter()
            .filter(|s| s.encode_resubscribe(buf))
            .count()
    }

    /// Ends every subscription's stream (close).
    pub(crate) fn close_all(&mut self) {
        for s in self.map.values() {
            s.close();
        }
        self.map.clear();
    }
}

/// A subscription: a [`Stream`] of [`Message`]s.
///
/// Dropping it unsubscribes (without waiting). Its messages wait in a queue bounded by the
/// pending limits (defaults 512 Ki messages and 64 MiB, see
/// [`set_pending_limits`](Subscriber::set_pending_limits)); beyond them messages are dropped,
/// counted by [`dropped`](Subscriber::dropped), and one
/// [`Event::SlowConsumer`](crate::Event::SlowConsumer) is raised per episode.
///
/// Across a reconnect the subscription is re-sent with the same sid, queue group and remaining
/// auto-unsubscribe count (R54–R57); messages already queued are kept (R61).
///
/// # Examples
///
/// ```no_run
/// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::Error> {
/// use futures_util::StreamExt;
/// let mut sub = client.subscribe("orders.>").await?;
/// while let Some(msg) = sub.next().await {
///     println!("{}: {:?}", msg.subject, msg.payload);
/// }
/// # Ok(()) }
/// ```
pub struct Subscriber {
    state: Arc<SubState>,
    client: Client,
    local: VecDeque<Message>,
    unsubscribed: bool,
    ended: bool,
}

impl Subscriber {
    pub(crate) fn new(state: Arc<SubState>, client: Client) -> Subscriber {
        Subscriber {
            state,
            client,
            local: VecDeque::new(),
            unsubscribed: false,
            ended: false,
        }
    }

    /// The subscription id sent to the server.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::Error> {
    /// let sub = client.subscribe("orders.>").await?;
    /// println!("subscription {}", sub.sid());
    /// # Ok(()) }
    /// ```
    pub fn sid(&self) -> u64 {
        self.state.sid
    }

    /// The subject filter.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::Error> {
    /// let sub = client.subscribe("orders.>").await?;
    /// assert_eq!(sub.subject(), "orders.>");
    /// # Ok(()) }
    /// ```
    pub fn subject(&self) -> &str {
        &self.state.subject
    }

    /// The queue group, if any.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::Error> {
    /// let sub = client.queue_subscribe("work", "workers").await?;
    /// assert_eq!(sub.queue_group(), Some("workers"));
    /// # Ok(()) }
    /// ```
    pub fn queue_group(&self) -> Option<&str> {
        self.state.queue_group.as_deref()
    }

    /// Messages dropped because the pending limits were reached.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::Error> {
    /// let sub = client.subscribe("metrics.>").await?;
    /// if sub.dropped() > 0 {
    ///     eprintln!("slow consumer: {} messages dropped", sub.dropped());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn dropped(&self) -> u64 {
        self.state.dropped()
    }

    /// Changes the pending limits (messages, bytes) for messages arriving from now on.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::Error> {
    /// let sub = client.subscribe("metrics.>").await?;
    /// sub.set_pending_limits(10_000, 8 * 1024 * 1024);
    /// # Ok(()) }
    /// ```
    pub fn set_pending_limits(&self, msgs: usize, bytes: usize) {
        self.state.set_limits(msgs, bytes);
    }

    /// Messages received and not yet taken from this stream.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::Error> {
    /// let sub = client.subscribe("orders.>").await?;
    /// println!("{} messages waiting", sub.pending());
    /// # Ok(()) }
    /// ```
    pub fn pending(&self) -> usize {
        self.local.len() + self.state.lock().msgs.len()
    }

    /// Unsubscribes now; messages still queued are discarded and the stream ends.
    /// Idempotent. While disconnected it takes effect locally and the subscription is simply
    /// not re-sent (R56).
    ///
    /// # Errors
    ///
    /// [`SubscribeError::Closed`] when the client is closed.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::Error> {
    /// let mut sub = client.subscribe("orders.>").await?;
    /// sub.unsubscribe().await?;
    /// # Ok(()) }
    /// ```
    pub async fn unsubscribe(&mut self) -> Result<(), SubscribeError> {
        if self.unsubscribed {
            return Ok(());
        }
        self.unsubscribed = true;
        self.local.clear();
        self.state.close_now();
        self.client.remove_subscription(self.state.sid, true);
        if self.client.is_closed() {
            return Err(SubscribeError::Closed);
        }
        Ok(())
    }

    /// Unsubscribes automatically once `max` messages in total have been received (R57).
    /// The limit survives reconnects: only the remaining count is sent to a new server.
    ///
    /// # Errors
    ///
    /// [`SubscribeError::Closed`] when the client is closed.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::Error> {
    /// use futures_util::StreamExt;
    /// let mut sub = client.subscribe("config.updated").await?;
    /// sub.unsubscribe_after(1).await?;
    /// let first = sub.next().await; // the stream ends after this message
    /// # Ok(()) }
    /// ```
    pub async fn unsubscribe_after(&mut self, max: u64) -> Result<(), SubscribeError> {
        if self.client.is_closed() {
            return Err(SubscribeError::Closed);
        }
        match self.state.set_max(max) {
            Some(remaining) => {
                let sid = self.state.sid;
                self.client
                    .shared()
                    .write
                    .control(|b| nats_proto::encode_unsub(b, sid, Some(remaining)));
            }
            None => {
                self.unsubscribed = true;
                self.client.remove_subscription(self.state.sid, true);
            }
        }
        Ok(())
    }

    /// Drains: unsubscribes, waits until the server has processed that, and lets the messages
    /// already received be consumed; the stream then ends. A draining subscription is not
    /// re-sent at reconnect (D3).
    ///
    /// # Errors
    ///
    /// [`DrainError::Closed`] when the client is closed.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::Error> {
    /// use futures_util::StreamExt;
    /// let mut sub = client.subscribe("orders.>").await?;
    /// sub.drain().await?;
    /// while let Some(msg) = sub.next().await {
    ///     println!("{}", msg.subject); // messages received before the drain
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn drain(&mut self) -> Result<(), DrainError> {
        if self.client.is_closed() {
            return Err(DrainError::Closed);
        }
        if self.unsubscribed {
            return Ok(());
        }
        self.state.set_draining();
        let sid = self.state.sid;
        self.client
            .shared()
            .write
            .control(|b| nats_proto::encode_unsub(b, sid, None));
        // Best effort: while disconnected there is nothing in flight to wait for.
        let _ = self.client.flush().await;
        self.unsubscribed = true;
        self.state.close();
        self.client.remove_subscription(sid, false);
        Ok(())
    }
}

impl Stream for Subscriber {
    type Item = Message;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        let this = &mut *self;
        if let Some(msg) = this.local.pop_front() {
            if this.state.is_draining() {
                this.state
                    .local_backlog
                    .store(this.local.len(), Ordering::Release);
                this.client.shared().drain_progress.notify_waiters();
            }
            return Poll::Ready(Some(msg));
        }
        if this.ended {
            return Poll::Ready(None);
        }
        match this.state.poll_batch(&mut this.local, cx) {
            Poll::Ready(true) => {
                let msg = this.local.pop_front();
                this.state
                    .local_backlog
                    .store(this.local.len(), Ordering::Release);
                if this.state.is_draining() {
                    this.client.shared().drain_progress.notify_waiters();
                }
                Poll::Ready(msg)
            }
            Poll::Ready(false) => {
                this.ended = true;
                this.state.local_backlog.store(0, Ordering::Release);
                Poll::Ready(None)
            }
            Poll::Pending => {
                this.state.local_backlog.store(0, Ordering::Release);
                Poll::Pending
            }
        }
    }
}

impl FusedStream for Subscriber {
    fn is_terminated(&self) -> bool {
        self.ended && self.local.is_empty()
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        if !self.unsubscribed {
            self.state.close_now();
            self.client.remove_subscription(self.state.sid, true);
        }
    }
}

impl fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscriber")
            .field("sid", &self.state.sid)
            .field("subject", &self.state.subject)
            .field("queue_group", &self.state.queue_group)
            .finish_non_exhaustive()
    }
}
