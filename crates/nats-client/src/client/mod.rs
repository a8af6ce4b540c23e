//! [`Client`]: the cloneable handle to one NATS connection and everything it survives.
//!
//! - `mod.rs`: the handle, connect, the life-cycle commands (flush, drain, close,
//!   force_reconnect) and the state snapshots.
//! - `publish.rs`, `subscribe.rs`, `request.rs`: messaging.
//!
//! Every method here either works on the write queue directly (publish, subscribe) or hands
//! the connection a command and waits for the outcome in a snapshot. No method holds a lock
//! across an await, and dropping any of the futures leaves the client consistent: a dropped
//! `drain()` keeps draining, a dropped `connect()` closes the half-made client.

mod publish;
mod request;
mod subscribe;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use nats_proto::ServerInfo;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::connection::driver::{Driver, Guarded};
use crate::connection::machine::Connection;
use crate::error::{ConnectError, ConnectionError, DrainError, FlushError};
use crate::event_stream::EventStream;
use crate::events::Status;
use crate::handle::{flush_within, round_trip, ClientGuard};
use crate::options::{ConnectOptions, ToServerAddrs};
use crate::outbound::Command;
use crate::pool::{PoolServer, ServerPool};
use crate::rng::Rng;
use crate::server_addr::{ServerAddr, DEFAULT_PORT};
use crate::shared::Shared;
use crate::stats::Statistics;

/// A handle to a NATS connection. Cheap to clone; every clone talks to the same connection.
///
/// - **Cloning** shares the connection; all clones see the same status, events and statistics.
/// - **Dropping the last handle** (subscribers count as handles) closes the connection after a
///   best-effort flush of what was published.
/// - [`close`](Client::close) closes explicitly and idempotently; afterwards every call returns a
///   `Closed` error.
///
/// The connection is re-established automatically when it breaks (see [`ConnectOptions`]):
/// publishes are buffered meanwhile, subscriptions are re-sent, and [`events`](Client::events)
/// reports every step. Every future a method returns may be dropped at any point.
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
    inner: ClientGuard,
}

impl ConnectOptions {
    /// Connects to the given servers: a URL, a comma-separated list, or a collection of them.
    ///
    /// The first connect tries each server once, in pool order (R7). With
    /// `retry_on_failed_connect` a failure still returns a client that keeps trying.
    /// Dropping the future closes the half-made client.
    ///
    /// # Errors
    ///
    /// [`ConnectError::InvalidUrl`] / [`ConnectError::InvalidOptions`] /
    /// [`ConnectError::MixingWebSocketSchemes`] for bad input (always, R5, R110); otherwise [`ConnectError::NoServers`] when every server refused, or the last
    /// server's error (e.g. an auth error, R8).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_client::ConnectError> {
    /// let client = nats_client::ConnectOptions::new()
    ///     .name("orders")
    ///     .connect("nats://a:4222,nats://b:4222")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect<S: ToServerAddrs>(self, servers: S) -> Result<Client, ConnectError> {
        let addrs = servers.to_server_addrs()?;
        crate::server_addr::check_schemes(&addrs)?;
        self.validate()?;
        Client::connect_with(self, addrs).await
    }
}

impl Client {
    async fn connect_with(
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
        let callbacks = options.callbacks.clone();
        let shared = Arc::new(Shared::new(
            Arc::new(options),
            pool.entries().to_vec(),
            Rng::new(),
        ));
        shared
            .events
            .start_callbacks(callbacks, shared.options.no_callbacks_after_client_close);
        let machine = Connection::new(Arc::clone(&shared), pool, rng);
        let client = Client {
            inner: ClientGuard::new(Arc::clone(&shared)),
        };
        let mut connected = shared.view.watch_connect();
        tokio::spawn(Guarded::new(Driver::new(machine, Arc::clone(&shared))));
        // If this future is dropped here, `client` goes and the connection closes itself.
        let outcome = connected
            .wait_for(Option::is_some)
            .await
            .map(|r| r.clone())
            .ok()
            .flatten();
        match outcome {
            Some(Ok(())) => Ok(client),
            Some(Err(e)) => Err(e),
            None => Err(ConnectError::NoServers),
        }
    }

    fn shared(&self) -> &Shared {
        self.inner.shared()
    }

    pub(crate) fn guard(&self) -> ClientGuard {
        self.inner.clone()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.inner.is_closed()
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
        let shared = self.shared();
        format!(
            "{}.{}",
            shared.options.inbox_prefix,
            shared.rng().base62(22)
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
        self.inner.flush().await
    }

    /// [`flush`](Client::flush) with its own timeout (`Duration::MAX`: no timeout).
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
        flush_within(self.shared(), timeout).await
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
        let timeout = self.shared().options.flush_timeout;
        match round_trip(self.shared(), start.checked_add(timeout), timeout).await {
            Some(result) => result.map(|()| start.elapsed()),
            None if self.is_closed() => Err(FlushError::Closed),
            None => Err(FlushError::Disconnected),
        }
    }

    /// Drains the connection (R113): unsubscribes everything, lets the messages already
    /// received be consumed, waits for requests in flight, stops accepting publishes, flushes,
    /// closes, and returns when all that is done.
    ///
    /// The drain is run by the connection, not by this future: dropping the future (a
    /// `timeout` around it, say) does not stop it, and a later `drain()` waits for the same
    /// drain.
    ///
    /// # Errors
    ///
    /// [`DrainError::Reconnecting`] when called while reconnecting (the client is closed
    /// instead, R112); [`DrainError::TimedOut`] when subscribers did not consume their messages
    /// within the drain timeout (the client still closes); [`DrainError::Closed`] when the
    /// client was closed, or the connection was lost during the drain (R36).
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
        let shared = self.shared();
        if let Some(result) = shared.view.drain_result() {
            return result;
        }
        let mut outcome = shared.view.watch_drain();
        let mut status = shared.view.watch_status();
        if *status.borrow() == Status::Closed {
            return Err(DrainError::Closed);
        }
        if !shared.queue.command(Command::Drain) {
            return Err(DrainError::Closed);
        }
        loop {
            if let Some(result) = outcome.borrow_and_update().clone() {
                return result;
            }
            if *status.borrow_and_update() == Status::Closed {
                // Closed without a drain result: closed by someone else meanwhile.
                return shared
                    .view
                    .drain_result()
                    .unwrap_or(Err(DrainError::Closed));
            }
            tokio::select! {
                changed = outcome.changed() => if changed.is_err() { return Err(DrainError::Closed) },
                changed = status.changed() => if changed.is_err() { return Err(DrainError::Closed) },
            }
        }
    }

    /// Closes the connection: what was published is flushed best-effort (2 s at most), every
    /// waiter (flush, request, a pending publish) fails with a `Closed` error, subscriptions
    /// end, and [`Event::Closed`](crate::Event::Closed) fires once. Idempotent; returns when
    /// the client is closed. Dropping the future does not stop the close.
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
        if self.is_closed() {
            return;
        }
        self.shared()
            .queue
            .command(Command::Close(ConnectionError::ClosedByUser));
        self.wait_for_status(Status::Closed).await;
    }

    /// Drops the current connection and reconnects, first attempt without waiting (R103); while
    /// reconnecting it cuts the current wait short, once (R105, D5). Works even with
    /// `allow_reconnect(false)` (R104). Requests in flight fail with
    /// [`RequestError::ConnectionReset`](crate::RequestError::ConnectionReset) (D7); a publish
    /// or request made after this call returns goes to the next connection. It returns at once
    /// (the reconnect happens in the background, as in nats.go), so calls in a row make one
    /// reconnect.
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
        let requests = &self.shared().requests;
        let queued = self
            .shared()
            .queue
            .command_with(|| Command::ForceReconnect {
                requests_before: requests.next_token(),
            });
        if self.is_closed() || !queued {
            return Err(self.closed_error());
        }
        Ok(())
    }

    fn closed_error(&self) -> ConnectionError {
        self.shared()
            .view
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
        self.shared().view.status()
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
        self.shared().view.watch_status()
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
        let mut rx = self.shared().view.watch_status();
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
        self.shared().events.listen()
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
        let (out_msgs, out_bytes) = self.shared().queue.out_counts();
        let resent = self.shared().queue.resent();
        self.shared().counters.snapshot(out_msgs, out_bytes, resent)
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
        (*self.shared().view.info()).clone()
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
                self.shared().view.connected().map(|a| a.to_string())
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
        self.shared()
            .view
            .pool()
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
        self.shared()
            .view
            .pool()
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
        self.shared().view.pool().to_vec()
    }

    /// Replaces the pool (R107): used from the next reconnect; counters survive for servers in
    /// both lists. Does not reconnect by itself. [`servers`](Client::servers) shows the new
    /// pool at once.
    ///
    /// # Errors
    ///
    /// [`ConnectError::InvalidUrl`] or [`ConnectError::MixingWebSocketSchemes`] (R5; the pool
    /// is unchanged), [`ConnectError::InvalidOptions`] for an empty list,
    /// [`ConnectError::NoServers`] when the client is closed.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(client: nats_client::Client) -> Result<(), nats_client::ConnectError> {
    /// client.set_server_pool(["nats://c:4222", "nats://d:4222"])?;
    /// # Ok(()) }
    /// ```
    pub fn set_server_pool<S: ToServerAddrs>(&self, servers: S) -> Result<(), ConnectError> {
        let mut addrs = servers.to_server_addrs()?;
        if addrs.is_empty() {
            return Err(ConnectError::InvalidOptions(
                "the server pool cannot be empty".into(),
            ));
        }
        crate::server_addr::check_schemes(&addrs)?;
        let shared = self.shared();
        let pool = shared.view.pool();
        let tls = shared.options.require_tls || pool.first().is_some_and(|e| e.addr.is_tls());
        if tls {
            for a in &mut addrs {
                a.set_tls(true);
            }
        }
        // The view shows the new pool at once; the state machine computes the same one.
        let preview = ServerPool::replaced(&pool, addrs.clone());
        if !shared.queue.command(Command::SetServerPool(addrs)) {
            return Err(ConnectError::NoServers);
        }
        shared.view.set_pool(preview);
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
        self.shared().queue.buffered()
    }

    /// The most recent error the connection reported, if any (R51, R93): why the last
    /// connection ended, why the last reconnect attempt failed, a `-ERR` the connection survived
    /// (a permissions violation arrives as [`ConnectionError::Server`]), or why the client closed.
    ///
    /// It is current when an [`Event`](crate::Event) carrying the error reaches a callback or an
    /// [`events`](Client::events) stream, and a reconnect does not clear it. A deliberate end is
    /// not an error: after a `close()` during reconnecting it still holds what caused the
    /// outage; `drain()`, `force_reconnect()` and leaving a lame-duck server leave it as it was.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(client: nats_client::Client) {
    /// if let Some(error) = client.last_error() {
    ///     eprintln!("last connection error: {error}");
    /// }
    /// # }
    /// ```
    pub fn last_error(&self) -> Option<ConnectionError> {
        self.shared().view.last_error()
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
        self.shared().view.closed_reason()
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("status", &self.status())
            .field("server", &self.shared().view.connected())
            .finish_non_exhaustive()
    }
}
