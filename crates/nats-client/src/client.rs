//! [`Client`]: the cloneable handle to one NATS connection and everything it survives.

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use nats_proto::{HeaderMap, ServerInfo};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::connection::buffer::Phase;
use crate::connection::handshake;
use crate::connection::supervisor::Supervisor;
use crate::error::{
    ConnectError, ConnectionError, DrainError, FlushError, PublishError, RequestError,
    SubscribeError,
};
use crate::events::{EventStream, Events, Status};
use crate::message::Message;
use crate::options::ConnectOptions;
use crate::pool::{PoolServer, ServerPool};
use crate::rng::Rng;
use crate::server_addr::{ServerAddr, DEFAULT_PORT};
use crate::shared::{Command, Shared};
use crate::stats::Statistics;
use crate::subscriber::{SubState, Subscriber};

/// A handle to a NATS connection. Cheap to clone; every clone talks to the same connection.
///
/// - **Cloning** shares the connection; all clones see the same status, events and statistics.
/// - **Dropping the last handle** (subscribers hold one too) closes the connection after a
///   best-effort flush of what was published.
/// - [`close`](Client::close) closes explicitly and idempotently; afterwards every call returns a
///   `Closed` error.
///
/// The connection is re-established automatically when it breaks (see [`ConnectOptions`]):
/// publishes are buffered meanwhile, subscriptions are re-sent, and [`events`](Client::events)
/// reports every step.
///
/// # Examples
///
/// ```no_run
/// use bytes::Bytes;
/// use futures_util::StreamExt;
///
/// # async fn demo() -> Result<(), nats_client::Error> {
/// let client = nats_client::connect("nats://127.0.0.1:4222").await?;
/// let mut sub = client.subscribe("greet.>").await?;
/// client.publish("greet.joe", Bytes::from_static(b"hello")).await?;
/// let msg = sub.next().await.expect("subscription open");
/// assert_eq!(msg.payload, "hello");
/// client.close().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
    _handle: Arc<HandleGuard>,
}

/// Counts user handles (the tasks hold `Shared`, never this): when the last one goes, the
/// supervisor closes the connection.
struct HandleGuard {
    commands: mpsc::UnboundedSender<Command>,
}

impl Drop for HandleGuard {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::HandlesDropped);
    }
}

impl Client {
    pub(crate) async fn connect_with(
        options: ConnectOptions,
        mut seeds: Vec<ServerAddr>,
    ) -> Result<Client, ConnectError> {
        if seeds.is_empty() {
            // R4: no URL at all means the local default server.
            seeds.push(ServerAddr::parse(&format!(
                "nats://127.0.0.1:{DEFAULT_PORT}"
            ))?);
        }
        let mut rng = Rng::new();
        let tls = options.require_tls || seeds.iter().any(ServerAddr::is_tls);
        let mut pool = ServerPool::new(
            seeds,
            !options.no_randomize,
            options.max_reconnects,
            &mut rng,
        );
        if tls {
            pool.require_tls();
        }
        let (commands, command_rx) = mpsc::unbounded_channel();
        let events = Events::start(options.callbacks.clone(), Status::Connecting);
        let shared = Arc::new(Shared::new(options, pool, events, commands.clone(), rng));

        // R7: the first connect tries each server once, in pool order, without waiting.
        let mut last_error = None;
        let mut all_refused = true;
        let mut index = 0;
        let established = loop {
            let Some(addr) = shared.pool().get(index).cloned() else {
                break None;
            };
            index += 1;
            shared.pool().set_current(&addr);
            match handshake::connect(&shared.options, &addr).await {
                Ok(est) => break Some(est),
                Err(e) => {
                    tracing::debug!(server = %addr, error = %e, "initial connect failed");
                    all_refused &= e.is_refused();
                    last_error = Some(e);
                }
            }
        };
        let initial_error = match (&last_error, all_refused) {
            (_, true) | (None, _) => ConnectError::NoServers,
            (Some(e), false) => e.clone(),
        };
        match established {
            Some(est) => {
                let live = Supervisor::activate(&shared, est, true);
                let supervisor = Supervisor::new(Arc::clone(&shared), command_rx, true);
                tokio::spawn(supervisor.run(Some(live)));
            }
            None if shared.options.retry_on_failed_connect => {
                // R108: a client in the reconnecting state, publishes buffered.
                shared.write.set_phase(Phase::Disconnected);
                shared.events.set_status(Status::Reconnecting);
                let server = shared
                    .pool()
                    .current()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                shared.events.emit(crate::events::Event::ReconnectFailed {
                    server,
                    error: initial_error,
                    attempt: 0,
                });
                let supervisor = Supervisor::new(Arc::clone(&shared), command_rx, false);
                tokio::spawn(supervisor.run(None));
            }
            None => return Err(initial_error),
        }
        Ok(Client {
            shared,
            _handle: Arc::new(HandleGuard { commands }),
        })
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.shared.events.status() == Status::Closed
    }

    /// Publishes `payload` to `subject`.
    ///
    /// Returns once the message is in the write buffer (or, while disconnected, in the reconnect
    /// buffer, R62); use [`flush`](Client::flush) to know the server has it. Waits only when the
    /// write buffer is above its high-water mark (back-pressure).
    ///
    /// # Errors
    ///
    /// [`PublishError::InvalidSubject`], [`PublishError::PayloadTooLarge`] (checked locally
    /// against the server's `max_payload`; the connection stays up),
    /// [`PublishError::ReconnectBufferFull`] while disconnected, `Draining`, `Closed`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::PublishError> {
    /// client.publish("orders.new", bytes::Bytes::from_static(b"hi")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn publish(
        &self,
        subject: impl AsRef<str>,
        payload: Bytes,
    ) -> Result<(), PublishError> {
        self.publish_inner(subject.as_ref(), None, None, &payload)
            .await
    }

    /// Publishes with a reply subject, for a responder to answer on.
    ///
    /// # Errors
    ///
    /// As [`publish`](Client::publish), plus [`PublishError::InvalidReply`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::PublishError> {
    /// client.publish_with_reply("svc.time", "my.inbox", bytes::Bytes::new()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn publish_with_reply(
        &self,
        subject: impl AsRef<str>,
        reply: impl AsRef<str>,
        payload: Bytes,
    ) -> Result<(), PublishError> {
        self.publish_inner(subject.as_ref(), Some(reply.as_ref()), None, &payload)
            .await
    }

    /// Publishes with headers (HPUB).
    ///
    /// # Errors
    ///
    /// As [`publish`](Client::publish), plus [`PublishError::HeadersNotSupported`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let mut headers = nats_client::HeaderMap::new();
    /// headers.insert("Trace-Id", "abc123")?;
    /// client.publish_with_headers("orders.new", headers, "hi".into()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn publish_with_headers(
        &self,
        subject: impl AsRef<str>,
        headers: HeaderMap,
        payload: Bytes,
    ) -> Result<(), PublishError> {
        self.publish_inner(subject.as_ref(), None, Some(&headers), &payload)
            .await
    }

    /// Publishes with a reply subject and headers.
    ///
    /// # Errors
    ///
    /// As [`publish_with_headers`](Client::publish_with_headers).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::PublishError> {
    /// let headers = nats_client::HeaderMap::new();
    /// client.publish_with_reply_and_headers("svc", "inbox.1", headers, "hi".into()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn publish_with_reply_and_headers(
        &self,
        subject: impl AsRef<str>,
        reply: impl AsRef<str>,
        headers: HeaderMap,
        payload: Bytes,
    ) -> Result<(), PublishError> {
        self.publish_inner(
            subject.as_ref(),
            Some(reply.as_ref()),
            Some(&headers),
            &payload,
        )
        .await
    }

    async fn publish_inner(
        &self,
        subject: &str,
        reply: Option<&str>,
        headers: Option<&HeaderMap>,
        payload: &[u8],
    ) -> Result<(), PublishError> {
        let len = self.check_publish(subject, reply, headers, payload.len())?;
        let encode = |buf: &mut bytes::BytesMut| match headers {
            None => nats_proto::encode_pub(buf, subject, reply, payload),
            Some(h) => nats_proto::encode_hpub(buf, subject, reply, h, payload),
        };
        // Fast path: decided under one short lock, no await. The back-pressure path is boxed so
        // this future stays small (it is created and moved on every publish).
        match self.shared.write.try_publish(len, encode) {
            Ok(result) => result,
            Err(encode) => Box::pin(self.shared.write.publish(len, encode)).await,
        }
    }

    /// Validates a publish and returns its frame length.
    #[inline]
    fn check_publish(
        &self,
        subject: &str,
        reply: Option<&str>,
        headers: Option<&HeaderMap>,
        payload_len: usize,
    ) -> Result<usize, PublishError> {
        nats_proto::validate_publish_subject(subject).map_err(PublishError::InvalidSubject)?;
        if let Some(reply) = reply {
            nats_proto::validate_publish_subject(reply).map_err(PublishError::InvalidReply)?;
        }
        let max = self.shared.max_payload.load(Ordering::Relaxed);
        match headers {
            None => {
                if payload_len > max {
                    return Err(PublishError::PayloadTooLarge {
                        size: payload_len,
                        max,
                    });
                }
                Ok(nats_proto::pub_len(subject, reply, payload_len))
            }
            Some(headers) => {
                if !self.shared.headers_supported.load(Ordering::Relaxed) {
                    return Err(PublishError::HeadersNotSupported);
                }
                let size = headers.encoded_len() + payload_len;
                if size > max {
                    return Err(PublishError::PayloadTooLarge { size, max });
                }
                Ok(nats_proto::hpub_len(subject, reply, headers, payload_len))
            }
        }
    }

    /// Subscribes to `subject` (wildcards `*` and `>` allowed).
    ///
    /// While disconnected the subscription is registered and sent at reconnect (R55).
    ///
    /// # Errors
    ///
    /// [`SubscribeError::InvalidSubject`], `Draining`, `Closed`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::SubscribeError> {
    /// let sub = client.subscribe("orders.>").await?;
    /// # Ok(()) }
    /// ```
    pub async fn subscribe(&self, subject: impl AsRef<str>) -> Result<Subscriber, SubscribeError> {
        self.subscribe_inner(subject.as_ref(), None)
    }

    /// Subscribes as a member of a queue group: each message goes to one member.
    ///
    /// # Errors
    ///
    /// As [`subscribe`](Client::subscribe), plus [`SubscribeError::InvalidQueueGroup`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::SubscribeError> {
    /// let worker = client.queue_subscribe("work", "workers").await?;
    /// # Ok(()) }
    /// ```
    pub async fn queue_subscribe(
        &self,
        subject: impl AsRef<str>,
        queue_group: impl AsRef<str>,
    ) -> Result<Subscriber, SubscribeError> {
        nats_proto::validate_queue_group(queue_group.as_ref())
            .map_err(SubscribeError::InvalidQueueGroup)?;
        self.subscribe_inner(subject.as_ref(), Some(queue_group.as_ref()))
    }

    fn subscribe_inner(
        &self,
        subject: &str,
        queue_group: Option<&str>,
    ) -> Result<Subscriber, SubscribeError> {
        nats_proto::validate_subscribe_subject(subject).map_err(SubscribeError::InvalidSubject)?;
        let state = self.register(subject, queue_group, false)?;
        Ok(Subscriber::new(state, self.clone()))
    }

    /// Adds a subscription to the table and sends its SUB if a connection is live.
    fn register(
        &self,
        subject: &str,
        queue_group: Option<&str>,
        is_mux: bool,
    ) -> Result<Arc<SubState>, SubscribeError> {
        match self.shared.events.status() {
            Status::Closed => return Err(SubscribeError::Closed),
            Status::Draining => return Err(SubscribeError::Draining),
            _ => {}
        }
        let opts = &self.shared.options;
        let mut table = self.shared.subs();
        let sid = table.next_sid();
        let state = Arc::new(SubState::new(
            sid,
            subject.to_string(),
            queue_group.map(str::to_string),
            is_mux,
            (opts.pending_msgs, opts.pending_bytes),
        ));
        table.map.insert(sid, Arc::clone(&state));
        // Under the table lock, so a reconnect's resubscription cannot send it twice.
        self.shared
            .write
            .control(|b| nats_proto::encode_sub(b, subject, queue_group, sid));
        drop(table);
        if self.is_closed() {
            return Err(SubscribeError::Closed);
        }
        Ok(state)
    }

    /// Removes a subscription from the table, sending UNSUB if asked and a connection is live.
    pub(crate) fn remove_subscription(&self, sid: u64, send_unsub: bool) {
        let mut table = self.shared.subs();
        let removed = table.map.remove(&sid).is_some();
        if removed && send_unsub {
            self.shared
                .write
                .control(|b| nats_proto::encode_unsub(b, sid, None));
        }
        drop(table);
        self.shared.drain_progress.notify_waiters();
    }

    /// Sends a request and waits for the first reply, within the default request timeout
    /// (10 s unless set with [`ConnectOptions::request_timeout`]).
    ///
    /// Replies come through one shared inbox subscription. A request in flight during a
    /// reconnect keeps waiting (D7); a request made while disconnected is buffered (R80).
    ///
    /// # Errors
    ///
    /// [`RequestError::NoResponders`] when nobody listens, [`RequestError::TimedOut`],
    /// [`RequestError::Publish`] for a bad subject or payload, `ConnectionReset`, `Closed`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::RequestError> {
    /// let reply = client.request("svc.time", "".into()).await?;
    /// println!("{:?}", reply.payload);
    /// # Ok(()) }
    /// ```
    pub async fn request(
        &self,
        subject: impl AsRef<str>,
        payload: Bytes,
    ) -> Result<Message, RequestError> {
        let timeout = self.shared.options.request_timeout;
        self.request_inner(subject.as_ref(), None, payload, timeout)
            .await
    }

    /// [`request`](Client::request) with its own timeout.
    ///
    /// # Errors
    ///
    /// As [`request`](Client::request).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::RequestError> {
    /// use std::time::Duration;
    /// let reply = client.request_with_timeout("svc", "ping".into(), Duration::from_millis(500)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn request_with_timeout(
        &self,
        subject: impl AsRef<str>,
        payload: Bytes,
        timeout: Duration,
    ) -> Result<Message, RequestError> {
        self.request_inner(subject.as_ref(), None, payload, timeout)
            .await
    }

    /// [`request`](Client::request) with headers.
    ///
    /// # Errors
    ///
    /// As [`request`](Client::request).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::RequestError> {
    /// let reply = client.request_with_headers("svc", nats_client::HeaderMap::new(), "".into()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn request_with_headers(
        &self,
        subject: impl AsRef<str>,
        headers: HeaderMap,
        payload: Bytes,
    ) -> Result<Message, RequestError> {
        let timeout = self.shared.options.request_timeout;
        self.request_inner(subject.as_ref(), Some(headers), payload, timeout)
            .await
    }

    async fn request_inner(
        &self,
        subject: &str,
        headers: Option<HeaderMap>,
        payload: Bytes,
        timeout: Duration,
    ) -> Result<Message, RequestError> {
        nats_proto::validate_publish_subject(subject)
            .map_err(|e| RequestError::Publish(PublishError::InvalidSubject(e)))?;
        if self.is_closed() {
            return Err(RequestError::Closed);
        }
        let mux = Arc::clone(&self.shared.requests);
        mux.sid
            .get_or_try_init(|| async {
                self.register(&mux.wildcard(), None, true)
                    .map(|state| state.sid)
            })
            .await
            .map_err(|e| match e {
                SubscribeError::Closed => RequestError::Closed,
                other => RequestError::Subscribe(other),
            })?;
        // The deadline is enforced by the multiplexer's sweeper, not a timer per request.
        let (reply, rx, _pending) = mux.register(timeout);
        self.publish_inner(subject, Some(&reply), headers.as_ref(), &payload)
            .await?;
        match rx.await {
            Ok(Ok(msg)) if msg.is_no_responders() => Err(RequestError::NoResponders),
            Ok(Ok(msg)) => Ok(msg),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(RequestError::Closed),
        }
    }

    /// A new unique inbox subject, for hand-made request/reply patterns.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(client: nats_client::Client) {
    /// let inbox = client.new_inbox();
    /// assert!(inbox.starts_with("_INBOX."));
    /// # }
    /// ```
    pub fn new_inbox(&self) -> String {
        format!(
            "{}.{}",
            self.shared.options.inbox_prefix,
            self.shared.rng().base62(22)
        )
    }

    /// Waits until the server has processed everything published before: a real PING/PONG
    /// round trip, with the flush timeout (default 10 s). While reconnecting it waits for the
    /// new connection (R75).
    ///
    /// # Errors
    ///
    /// [`FlushError::TimedOut`], [`FlushError::Disconnected`] when the connection dropped with
    /// the PING unanswered (R74), [`FlushError::Closed`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::Error> {
    /// client.publish("a", "1".into()).await?;
    /// client.flush().await?; // the server has the message
    /// # Ok(()) }
    /// ```
    pub async fn flush(&self) -> Result<(), FlushError> {
        self.flush_timeout(self.shared.options.flush_timeout).await
    }

    /// [`flush`](Client::flush) with its own timeout.
    ///
    /// # Errors
    ///
    /// As [`flush`](Client::flush).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::FlushError> {
    /// client.flush_timeout(std::time::Duration::from_secs(1)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn flush_timeout(&self, timeout: Duration) -> Result<(), FlushError> {
        let deadline = Instant::now() + timeout;
        let mut status = self.shared.events.watch_status();
        loop {
            if self.is_closed() {
                return Err(FlushError::Closed);
            }
            if let Some(result) = self.round_trip(deadline, timeout).await {
                return result;
            }
            // Not connected: wait for the next status change (R75).
            match tokio::time::timeout_at(deadline, status.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(FlushError::Closed),
                Err(_) => return Err(FlushError::TimedOut(timeout)),
            }
        }
    }

    /// One PING/PONG on the live connection, the PONG awaited until `deadline`. `None` when no
    /// connection is live (nothing was sent).
    async fn round_trip(
        &self,
        deadline: Instant,
        timeout: Duration,
    ) -> Option<Result<(), FlushError>> {
        let (tx, rx) = oneshot::channel();
        self.shared.write.ping(Some(tx)).ok()?;
        Some(match tokio::time::timeout_at(deadline, rx).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) if self.is_closed() => Err(FlushError::Closed),
            Ok(Err(_)) => Err(FlushError::Disconnected),
            Err(_) => Err(FlushError::TimedOut(timeout)),
        })
    }

    /// The round-trip time to the server: one PING/PONG (R79). Unlike [`flush`](Client::flush)
    /// it does not wait for a reconnect.
    ///
    /// # Errors
    ///
    /// [`FlushError::Disconnected`] while reconnecting, [`FlushError::Closed`] once closed,
    /// [`FlushError::TimedOut`] after the flush timeout.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::FlushError> {
    /// println!("rtt {:?}", client.rtt().await?);
    /// # Ok(()) }
    /// ```
    pub async fn rtt(&self) -> Result<Duration, FlushError> {
        match self.status() {
            Status::Closed => return Err(FlushError::Closed),
            Status::Reconnecting | Status::Connecting => return Err(FlushError::Disconnected),
            Status::Connected | Status::Draining => {}
        }
        let start = Instant::now();
        let timeout = self.shared.options.flush_timeout;
        match self.round_trip(start + timeout, timeout).await {
            Some(result) => result.map(|()| start.elapsed()),
            None if self.is_closed() => Err(FlushError::Closed),
            None => Err(FlushError::Disconnected),
        }
    }

    /// Drains the connection (R113): unsubscribes everything, lets the messages already
    /// received be consumed, waits for requests in flight, stops accepting publishes, flushes,
    /// closes, and returns when all that is done.
    ///
    /// # Errors
    ///
    /// [`DrainError::Reconnecting`] when called while reconnecting (the client is closed
    /// instead, R112); [`DrainError::TimedOut`] when subscribers did not consume their messages
    /// within the drain timeout (the client still closes); [`DrainError::Closed`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::DrainError> {
    /// client.drain().await?;
    /// assert_eq!(client.status(), nats_client::Status::Closed);
    /// # Ok(()) }
    /// ```
    pub async fn drain(&self) -> Result<(), DrainError> {
        match self.shared.events.status() {
            Status::Closed => return Err(DrainError::Closed),
            Status::Reconnecting | Status::Connecting => {
                self.close().await;
                return Err(DrainError::Reconnecting);
            }
            Status::Draining => {
                self.wait_for_status(Status::Closed).await;
                return Ok(());
            }
            Status::Connected => {}
        }
        let shared = &self.shared;
        let timeout = shared.options.drain_timeout;
        let deadline = Instant::now() + timeout;
        shared.draining.store(true, Ordering::Relaxed);
        shared.events.set_status(Status::Draining);

        // Phase 1: stop interest, keep what already arrived.
        let mux_sid = shared.requests.sid.get().copied();
        let subs: Vec<Arc<SubState>> = {
            let table = shared.subs();
            let subs: Vec<_> = table
                .map
                .values()
                .filter(|s| Some(s.sid) != mux_sid)
                .cloned()
                .collect();
            for s in &subs {
                s.set_draining();
                let sid = s.sid;
                shared
                    .write
                    .control(|b| nats_proto::encode_unsub(b, sid, None));
            }
            subs
        };
        let _ = self.flush_timeout(remaining(deadline)).await;
        {
            let mut table = shared.subs();
            for s in &subs {
                s.close();
                table.map.remove(&s.sid);
            }
        }
        let mut timed_out = !self
            .wait_until(deadline, || subs.iter().all(|s| s.is_consumed()))
            .await;
        // The request inbox goes last: let requests in flight finish.
        timed_out |= !self
            .wait_until(deadline, || shared.requests.in_flight() == 0)
            .await;

        // Phase 2: no more publishes; what is buffered reaches the server; close.
        shared.write.set_phase(Phase::DrainingPubs);
        let _ = self
            .flush_timeout(remaining(deadline).max(Duration::from_secs(1)))
            .await;
        if self.is_closed() {
            // R36: the connection was lost (or closed) during the drain: it closed instead.
            return Err(DrainError::Closed);
        }
        self.close_with(ConnectionError::Drained).await;
        if timed_out {
            Err(DrainError::TimedOut(timeout))
        } else {
            Ok(())
        }
    }

    /// Polls `done` whenever drain progress is signalled, until it holds or `deadline`.
    async fn wait_until(&self, deadline: Instant, done: impl Fn() -> bool) -> bool {
        loop {
            let progress = self.shared.drain_progress.notified();
            if done() {
                return true;
            }
            if self.is_closed() {
                return false;
            }
            // Progress is signalled by consumers; the short timeout covers requests completing.
            let step = remaining(deadline).min(Duration::from_millis(20));
            if step.is_zero() {
                return done();
            }
            let _ = tokio::time::timeout(step, progress).await;
        }
    }

    /// Closes the connection: what was published is flushed best-effort, every waiter (flush,
    /// request, a pending publish) fails with a `Closed` error, subscriptions end, and
    /// [`Event::Closed`] fires once. Idempotent; returns when the client is closed.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) {
    /// client.close().await;
    /// client.close().await; // no-op
    /// assert_eq!(client.status(), nats_client::Status::Closed);
    /// # }
    /// ```
    pub async fn close(&self) {
        self.close_with(ConnectionError::ClosedByUser).await;
    }

    async fn close_with(&self, reason: ConnectionError) {
        if self.is_closed() {
            return;
        }
        let (done, wait) = oneshot::channel();
        if self
            .shared
            .commands
            .send(Command::Close { reason, done })
            .is_ok()
        {
            let _ = wait.await;
        }
        self.wait_for_status(Status::Closed).await;
    }

    /// Drops the current connection and reconnects, first attempt without waiting (R103); while
    /// reconnecting it cuts the current wait short, once (R105, D5). Works even with
    /// `allow_reconnect(false)` (R104). Requests in flight fail with
    /// [`RequestError::ConnectionReset`] (D7).
    ///
    /// # Errors
    ///
    /// The reason the client closed, when it is closed.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::ConnectionError> {
    /// client.force_reconnect().await?;
    /// # Ok(()) }
    /// ```
    pub async fn force_reconnect(&self) -> Result<(), ConnectionError> {
        if self.is_closed() {
            return Err(self.closed_error());
        }
        self.shared
            .commands
            .send(Command::ForceReconnect)
            .map_err(|_| self.closed_error())
    }

    fn closed_error(&self) -> ConnectionError {
        self.shared
            .closed_reason()
            .unwrap_or(ConnectionError::ClosedByUser)
    }

    /// The connection's status (R90).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(client: nats_client::Client) {
    /// if client.status() == nats_client::Status::Reconnecting {
    ///     println!("buffering {} bytes", client.buffered());
    /// }
    /// # }
    /// ```
    pub fn status(&self) -> Status {
        self.shared.events.status()
    }

    /// A watch of the status: `changed().await` wakes on every change. The channel stays open
    /// while any handle exists, so stop watching at [`Status::Closed`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) {
    /// let mut status = client.status_changes();
    /// while status.changed().await.is_ok() {
    ///     let now = *status.borrow_and_update();
    ///     println!("now {now}");
    ///     if now == nats_client::Status::Closed {
    ///         break;
    ///     }
    /// }
    /// # }
    /// ```
    pub fn status_changes(&self) -> watch::Receiver<Status> {
        self.shared.events.watch_status()
    }

    /// Waits until the status is `wanted` (returns at once if it already is). Returns false if
    /// the client closed without reaching it.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) {
    /// client.wait_for_status(nats_client::Status::Connected).await;
    /// # }
    /// ```
    pub async fn wait_for_status(&self, wanted: Status) -> bool {
        let mut rx = self.shared.events.watch_status();
        loop {
            let now = *rx.borrow_and_update();
            if now == wanted {
                return true;
            }
            if now == Status::Closed || rx.changed().await.is_err() {
                return *rx.borrow() == wanted;
            }
        }
    }

    /// Every connection event from now on, in order (R82). The stream ends after `Closed`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) {
    /// use futures_util::StreamExt;
    /// let mut events = client.events();
    /// while let Some(event) = events.next().await {
    ///     println!("{event}");
    /// }
    /// # }
    /// ```
    pub fn events(&self) -> EventStream {
        self.shared.events.listen()
    }

    /// Counters kept across reconnects (R73, D8).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(client: nats_client::Client) {
    /// println!("{} reconnects", client.statistics().reconnects);
    /// # }
    /// ```
    pub fn statistics(&self) -> Statistics {
        let (out_msgs, out_bytes) = self.shared.write.out_counts();
        self.shared.counters.snapshot(out_msgs, out_bytes)
    }

    /// The latest INFO of the server (R100); kept while disconnected.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(client: nats_client::Client) {
    /// println!("max payload {}", client.server_info().max_payload);
    /// # }
    /// ```
    pub fn server_info(&self) -> ServerInfo {
        (*self.shared.info()).clone()
    }

    /// The URL of the server while connected, without credentials (R92).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(client: nats_client::Client) {
    /// println!("{:?}", client.connected_url());
    /// # }
    /// ```
    pub fn connected_url(&self) -> Option<String> {
        match self.status() {
            Status::Connected | Status::Draining => {
                self.shared.connected_addr().map(|a| a.to_string())
            }
            _ => None,
        }
    }

    /// Every server of the pool, without credentials (R98).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(client: nats_client::Client) {
    /// for url in client.servers() { println!("{url}"); }
    /// # }
    /// ```
    pub fn servers(&self) -> Vec<String> {
        self.shared
            .pool()
            .entries()
            .iter()
            .map(|e| e.addr.to_string())
            .collect()
    }

    /// The servers learned from the cluster's INFO (R95, R98).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(client: nats_client::Client) {
    /// println!("{:?}", client.discovered_servers());
    /// # }
    /// ```
    pub fn discovered_servers(&self) -> Vec<String> {
        self.shared
            .pool()
            .entries()
            .iter()
            .filter(|e| e.implicit)
            .map(|e| e.addr.to_string())
            .collect()
    }

    /// A snapshot of the pool with attempt counters (R107).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(client: nats_client::Client) {
    /// for s in client.server_pool() { println!("{} tried {}", s.addr, s.attempts); }
    /// # }
    /// ```
    pub fn server_pool(&self) -> Vec<PoolServer> {
        self.shared.pool().entries().to_vec()
    }

    /// Replaces the pool (R107): used from the next reconnect; counters survive for servers in
    /// both lists. Does not reconnect by itself.
    ///
    /// # Errors
    ///
    /// [`ConnectError::InvalidUrl`] (the pool is unchanged), [`ConnectError::InvalidOptions`]
    /// for an empty list, [`ConnectError::NoServers`] when the client is closed.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(client: nats_client::Client) -> Result<(), nats_client::ConnectError> {
    /// client.set_server_pool(["nats://c:4222", "nats://d:4222"])?;
    /// # Ok(()) }
    /// ```
    pub fn set_server_pool<S: crate::options::ToServerAddrs>(
        &self,
        servers: S,
    ) -> Result<(), ConnectError> {
        let mut addrs = servers.to_server_addrs()?;
        if addrs.is_empty() {
            return Err(ConnectError::InvalidOptions(
                "the server pool cannot be empty".into(),
            ));
        }
        if self.is_closed() {
            return Err(ConnectError::NoServers);
        }
        let tls = self.shared.options.require_tls
            || self.shared.pool().get(0).is_some_and(ServerAddr::is_tls);
        if tls {
            for a in &mut addrs {
                a.set_tls(true);
            }
        }
        self.shared.pool().replace(addrs);
        Ok(())
    }

    /// Bytes waiting to be written; while disconnected, the reconnect buffer's fill (R64).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(client: nats_client::Client) {
    /// println!("{} bytes buffered", client.buffered());
    /// # }
    /// ```
    pub fn buffered(&self) -> usize {
        self.shared.write.buffered()
    }

    /// Why the client closed, once it has (R93).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(client: nats_client::Client) {
    /// if let Some(reason) = client.closed_reason() { println!("closed: {reason}"); }
    /// # }
    /// ```
    pub fn closed_reason(&self) -> Option<ConnectionError> {
        self.shared.closed_reason()
    }
}

fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("status", &self.status())
            .field("server", &self.shared.connected_addr())
            .finish_non_exhaustive()
    }
}
