//! [`Subscriber`]: the user's `Stream` of messages for one subscription.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::{FusedStream, Stream};
use nats_proto::ServerError;

use crate::dedup::Dedup;
use crate::error::{DrainError, SubscribeError};
use crate::handle::ClientGuard;
use crate::message::Message;
use crate::subscription::SubState;

/// A subscription: a [`Stream`] of [`Message`]s.
///
/// Dropping it unsubscribes (without waiting). Its messages wait in a queue bounded by the
/// pending limits (defaults 512 Ki messages and 64 MiB, see
/// [`set_pending_limits`](Subscriber::set_pending_limits)); beyond them messages are dropped,
/// counted by [`dropped`](Subscriber::dropped), and one
/// [`Event::SlowConsumer`](crate::Event::SlowConsumer) is raised per episode.
///
/// Across a reconnect the subscription is re-sent with the same sid, queue group and remaining
/// auto-unsubscribe count (R54–R57); messages already queued are kept (R61). A subscriber keeps
/// the connection open like a [`Client`](crate::Client) handle does.
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
    client: ClientGuard,
    /// Messages taken from the shared queue in one batch, not yielded yet.
    local: VecDeque<Message>,
    /// Messages yielded so far.
    yielded: u64,
    unsubscribed: bool,
    ended: bool,
    /// `dedup`: the filter and the copies it dropped.
    dedup: Option<Box<Dedup>>,
    duplicates: u64,
}

impl Subscriber {
    pub(crate) fn new(state: Arc<SubState>, client: ClientGuard) -> Subscriber {
        Subscriber {
            state,
            client,
            local: VecDeque::new(),
            yielded: 0,
            unsubscribed: false,
            ended: false,
            dedup: None,
            duplicates: 0,
        }
    }

    /// Drops the copies of messages this subscription delivered already, by their message id:
    /// for publishers using [`ConnectOptions::message_ids`](crate::ConnectOptions::message_ids)
    /// with [`at_least_once`](crate::ConnectOptions::at_least_once), whose re-sends after a
    /// reconnect may be duplicates. Each publisher's ids increase in the order it published, and
    /// a re-send repeats them in that order, so the filter keeps only the highest id per
    /// publisher; a publisher not heard from for `window` is forgotten (memory grows with the
    /// publishers active within the window, not with the messages). A message without such an
    /// id is always delivered. Dropped copies are counted by
    /// [`duplicates`](Subscriber::duplicates).
    ///
    /// Use a window longer than a publisher's longest outage plus its re-send; `Duration::MAX`
    /// never forgets.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::Error> {
    /// use futures_util::StreamExt;
    /// use std::time::Duration;
    /// let mut sub = client.subscribe("orders.>").await?.dedup(Duration::from_secs(120));
    /// while let Some(msg) = sub.next().await {
    ///     println!("once: {:?}", msg.payload);
    /// }
    /// println!("duplicates dropped: {}", sub.duplicates());
    /// # Ok(()) }
    /// ```
    pub fn dedup(mut self, window: Duration) -> Subscriber {
        self.dedup = Some(Box::new(Dedup::new(window)));
        self
    }

    /// Copies dropped by [`dedup`](Subscriber::dedup) so far.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::Error> {
    /// let sub = client.subscribe("orders.>").await?.dedup(std::time::Duration::from_secs(60));
    /// assert_eq!(sub.duplicates(), 0);
    /// # Ok(()) }
    /// ```
    pub fn duplicates(&self) -> u64 {
        self.duplicates
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
        self.local.len() + self.state.queued_now()
    }

    /// The server's refusal of this subscription (`-ERR 'Permissions Violation for
    /// Subscription to …'`, also a [`ServerError`](crate::Event::ServerError) event), until a
    /// new connection re-sends the subscription (R59). `None` while it is accepted, as far as
    /// the client knows: a server only ever answers a SUB it refuses.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::Error> {
    /// let sub = client.subscribe("payroll.>").await?;
    /// client.flush().await?;
    /// if let Some(refusal) = sub.permission_error() {
    ///     eprintln!("not allowed: {refusal}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn permission_error(&self) -> Option<ServerError> {
        self.state.denied()
    }

    /// The next message, as the `Stream` gives it (`StreamExt::next`), or
    /// the server's refusal of the subscription: with
    /// [`ConnectOptions::permission_error_on_subscribe`](crate::ConnectOptions::permission_error_on_subscribe),
    /// a refused subscription returns [`SubscribeError::PermissionDenied`] once no message is
    /// waiting (messages that arrived before the refusal come first), until a new connection
    /// re-sends it (R59). Without the option it only waits for messages. `Ok(None)`: the
    /// subscription has ended. Cancel-safe: dropping the future loses no message.
    ///
    /// # Errors
    ///
    /// [`SubscribeError::PermissionDenied`], as described.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::Error> {
    /// let mut sub = client.subscribe("orders.>").await?;
    /// while let Some(msg) = sub.try_next().await? {
    ///     println!("{:?}", msg.payload);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn try_next(&mut self) -> Result<Option<Message>, SubscribeError> {
        std::future::poll_fn(|cx| self.poll_try_next(cx)).await
    }

    fn poll_try_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Option<Message>, SubscribeError>> {
        if self.local.is_empty()
            && !self.ended
            && self.client.shared().options.permission_error_on_subscribe
        {
            if let Some(refusal) = self.state.denied_when_empty() {
                return Poll::Ready(Err(SubscribeError::PermissionDenied(refusal)));
            }
        }
        Pin::new(self).poll_next(cx).map(Ok)
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
        self.client.shared().queue.unsubscribe(self.state.sid, true);
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
        let sid = self.state.sid;
        match self.state.set_max(max) {
            Some(remaining) => {
                self.client
                    .shared()
                    .queue
                    .control(|b| nats_proto::encode_unsub(b, sid, Some(remaining)));
            }
            None => {
                self.unsubscribed = true;
                self.client.shared().queue.unsubscribe(sid, true);
            }
        }
        Ok(())
    }

    /// Drains: unsubscribes, waits until the server has processed that, and lets the messages
    /// already received be consumed; the stream then ends. A draining subscription is not
    /// re-sent at reconnect (D3). Dropping the future leaves the subscription draining; a later
    /// `drain()` completes it.
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
        let sid = self.state.sid;
        if !self.state.is_draining() {
            self.state.set_draining();
            self.client
                .shared()
                .queue
                .control(|b| nats_proto::encode_unsub(b, sid, None));
        }
        // Best effort: while disconnected there is nothing in flight to wait for.
        let _ = self.client.flush().await;
        self.unsubscribed = true;
        self.state.close();
        self.client.shared().queue.unsubscribe(sid, false);
        Ok(())
    }
}

impl Stream for Subscriber {
    type Item = Message;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        let this = &mut *self;
        loop {
            if this.local.is_empty() && !this.ended {
                match this.state.poll_batch(&mut this.local, cx) {
                    Poll::Ready(true) => {}
                    Poll::Ready(false) => this.ended = true,
                    Poll::Pending => return Poll::Pending,
                }
            }
            let Some(msg) = this.local.pop_front() else {
                return Poll::Ready(None);
            };
            // a dropped copy counts as consumed (drain, auto-unsubscribe)
            this.yielded += 1;
            // Published once the local batch is used up: only then can the subscriber have
            // consumed everything queued (what a drain waits for), so a store per message
            // would only add writes to memory the driver's thread reads.
            if this.local.is_empty() {
                this.state.set_yielded(this.yielded);
            }
            if let Some(dedup) = &mut this.dedup {
                if dedup.is_duplicate(&msg, Instant::now()) {
                    this.duplicates += 1;
                    continue;
                }
            }
            return Poll::Ready(Some(msg));
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.local.len(), None)
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
            self.client.shared().queue.unsubscribe(self.state.sid, true);
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
