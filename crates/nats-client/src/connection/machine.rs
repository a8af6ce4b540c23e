//! [`Connection`]: the one owner of the connection's life cycle, as a sans-I/O state machine
//! (quinn-proto's shape).
//!
//! It owns the status, the server pool, the back-off, the keep-alive counters, the timers, the
//! sid table, the handshake and the drain. It does no I/O and reads no clock: the driver feeds
//! it inputs (`handle_*`, each with `now`) and carries out its outputs, drained in this order
//! after every input:
//!
//! 1. [`poll_action`](Connection::poll_action): dial, upgrade to TLS, build CONNECT, go live,
//!    drop or shut down the transport;
//! 2. [`poll_transmit`](Connection::poll_transmit): handshake bytes (once live, everything goes
//!    through the write queue, in order with the publishes);
//! 3. [`poll_event`](Connection::poll_event): events for the application, in order;
//! 4. [`poll_timeout`](Connection::poll_timeout): the earliest deadline to sleep until.
//!
//! Commands (`connect` is the start, then close, drain, force_reconnect, the server pool) come
//! in as records through the write queue, so every public future only hands over a command
//! and waits for the outcome in the [`View`](crate::view::View): dropping one changes nothing.

use std::collections::VecDeque;
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use nats_proto::{ConnectInfo, Parser, ServerError, ServerErrorKind, ServerInfo, ServerOp};

use super::confirm::{ConfirmPolicy, Step};
use super::drain::{Drain, Stage};
use super::handshake::{Handshake, Next};
use super::ping::{self, Tick};
use super::timer::{deadline, Timer, TimerTable};
use crate::callback::{guarded, CallbackKind, CallbackPanic};
use crate::error::{ConnectError, ConnectionError, DrainError, RequestError};
use crate::events::{Event, Status};
use crate::message::Message;
use crate::options::ConnectOptions;
use crate::outbound::{Command, Phase, PongWaiter, Record};
use crate::pool::{Backoff, DelayPolicy, ServerPool};
use crate::rng::Rng;
use crate::server_addr::ServerAddr;
use crate::shared::Shared;
use crate::stats::Counters;
use crate::subscription::{Delivery, SubTable};

/// How long a graceful close waits for the queue to reach the socket.
const CLOSE_FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// How long the last step of a drain (publishes flushed) may take once the drain timeout has
/// passed.
const DRAIN_FLUSH_TIMEOUT: Duration = Duration::from_secs(1);

/// What the driver must do.
#[derive(Debug)]
pub(crate) enum Action {
    /// Open a transport to `addr` (TCP; with `tls_first`, TLS before anything else) and report
    /// with [`Connection::handle_dialed`].
    Dial { addr: ServerAddr, tls_first: bool },
    /// Upgrade the open transport to TLS; report with [`Connection::handle_tls`].
    UpgradeTls { addr: ServerAddr },
    /// Build CONNECT for this attempt (may read files or call user code); report with
    /// [`Connection::handle_credentials`].
    Authenticate {
        addr: ServerAddr,
        info: Box<ServerInfo>,
        tls: bool,
    },
    /// The handshake is done: write the queue's batches from now on.
    GoLive,
    /// Drop the transport (and any dial in progress) at once and put what it did not write
    /// back in front of the queue (D1, D4).
    DropTransport,
    /// As `DropTransport`, for a healthy connection left on purpose (`force_reconnect`, a
    /// lame-duck move): the old transport is first closed gently in the background (its
    /// write side shut, then read until the server closes, bounded), so that what it had
    /// taken still reaches the server instead of being reset away by a late server write.
    RetireTransport,
    /// Write what is queued, flush, shut the transport down, then report with
    /// [`Connection::handle_transport_closed`].
    Shutdown,
}

/// What follows a lost connection.
#[derive(Debug)]
enum After {
    Reconnect { skip_wait: bool },
    Close(ConnectionError),
}

/// The first connect (R7): each server once, in pool order, without waiting.
#[derive(Debug)]
struct InitialWalk {
    next: usize,
    all_refused: bool,
    last_error: Option<ConnectError>,
}

#[derive(Debug)]
enum State {
    /// Waiting to dial `next` at [`Timer::Reconnect`].
    Waiting {
        next: ServerAddr,
    },
    /// The driver opens a transport to `addr`.
    Dialing {
        addr: ServerAddr,
    },
    Handshaking(Box<Handshake>),
    Connected {
        addr: ServerAddr,
        pings_out: u32,
    },
    /// A graceful close: the driver flushes the queue, then shuts down.
    Closing {
        reason: ConnectionError,
    },
    Closed,
}

/// The connection's life cycle.
#[derive(Debug)]
pub(crate) struct Connection {
    shared: Arc<Shared>,
    opts: Arc<ConnectOptions>,
    pool: ServerPool,
    rng: Rng,
    backoff: Backoff,
    policy: DelayPolicy,
    timers: TimerTable,
    state: State,
    /// The attempt number of the current dial, for `ReconnectFailed` (R86).
    attempt: u32,
    subs: SubTable,
    parser: Parser,
    transmit: BytesMut,
    actions: VecDeque<Action>,
    events: VecDeque<Event>,
    initial: Option<InitialWalk>,
    ever_connected: bool,
    drain: Option<Drain>,
    next_token: u64,
    /// Subscribers to wake after a read batch (once each, not per message).
    wake: Vec<Waker>,
}

impl Connection {
    pub(crate) fn new(shared: Arc<Shared>, pool: ServerPool, rng: Rng) -> Connection {
        let opts = Arc::clone(&shared.options);
        let policy = DelayPolicy {
            wait: opts.reconnect_wait,
            jitter: opts.reconnect_jitter,
            jitter_tls: opts.reconnect_jitter_tls,
            tls: opts.require_tls || pool.get(0).is_some_and(ServerAddr::is_tls),
            custom: opts.reconnect_delay.clone(),
        };
        Connection {
            parser: new_parser(&opts),
            shared,
            opts,
            pool,
            rng,
            backoff: Backoff::new(),
            policy,
            timers: TimerTable::default(),
            state: State::Closed,
            attempt: 0,
            subs: SubTable::default(),
            transmit: BytesMut::new(),
            actions: VecDeque::new(),
            events: VecDeque::new(),
            initial: None,
            ever_connected: false,
            drain: None,
            next_token: 0,
            wake: Vec::new(),
        }
    }

    /// The connect command: starts the first walk over the pool (R7).
    pub(crate) fn start(&mut self, now: Instant) {
        self.initial = Some(InitialWalk {
            next: 0,
            all_refused: true,
            last_error: None,
        });
        self.dial_initial(now);
    }

    // ----- outputs -------------------------------------------------------------------------

    pub(crate) fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Handshake bytes to write, appended to `out`.
    pub(crate) fn poll_transmit(&mut self, out: &mut BytesMut) {
        if !self.transmit.is_empty() {
            out.extend_from_slice(&self.transmit);
            self.transmit.clear();
        }
    }

    pub(crate) fn poll_event(&mut self) -> Option<Event> {
        let event = self.events.pop_front()?;
        self.shared.view.record_event(&event);
        Some(event)
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    pub(crate) fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// Whether the driver writes the queue's batches (connected, or flushing a close).
    pub(crate) fn is_live(&self) -> bool {
        matches!(self.state, State::Connected { .. } | State::Closing { .. })
    }

    /// Whether a drain waits for subscribers or requests (the driver then re-checks it when
    /// woken, [`poll_drain`](Self::poll_drain)).
    pub(crate) fn is_draining(&self) -> bool {
        self.drain.is_some()
    }

    /// Ends every subscription's stream (the driver failed).
    pub(crate) fn close_subscriptions(&mut self) {
        self.subs.close_all();
    }

    /// Subscriptions in the table (for tests and diagnostics).
    #[cfg(test)]
    pub(crate) fn subscriptions(&self) -> usize {
        self.subs.len()
    }

    // ----- inputs --------------------------------------------------------------------------

    /// Records taken from the write queue: subscriptions and commands.
    pub(crate) fn handle_records(&mut self, records: &mut Vec<Record>, now: Instant) {
        for record in records.drain(..) {
            match record {
                Record::Subscribe(sub) => {
                    if let Some(drain) = &mut self.drain {
                        // Made while the drain started (the handle saw no Draining yet).
                        sub.set_draining();
                        let sid = sub.sid;
                        self.shared
                            .queue
                            .control(|b| nats_proto::encode_unsub(b, sid, None));
                        if !matches!(drain.stage, Stage::Unsubscribing(_)) {
                            sub.close();
                        }
                        drain.subs.push(Arc::clone(&sub));
                    }
                    if !sub.is_closed() {
                        self.subs.insert(sub);
                    }
                }
                Record::Unsubscribe(sid) => {
                    self.subs.remove(sid);
                }
                Record::Command(command) => self.handle_command(command, now),
            }
        }
    }

    fn handle_command(&mut self, command: Command, now: Instant) {
        match command {
            Command::Close(reason) => self.close(reason, now),
            Command::HandlesDropped => self.close(ConnectionError::HandlesDropped, now),
            Command::Drain => self.start_drain(now),
            Command::ForceReconnect { requests_before } => match &self.state {
                State::Connected { .. } => {
                    // D7: requests in flight fail at once with a typed error; those made after
                    // the call go to the next connection.
                    self.shared
                        .requests
                        .fail_before(requests_before, &RequestError::ConnectionReset);
                    self.lose(ConnectionError::ForcedReconnect, true, now);
                }
                State::Waiting { next } => {
                    // R105, D5: cut the current wait short, once.
                    let next = next.clone();
                    self.timers.stop(Timer::Reconnect);
                    self.start_attempt(next, now);
                }
                // Already dialling: the attempt in progress is the reconnect.
                _ => {}
            },
            Command::SetServerPool(addrs) => {
                self.pool.replace(addrs);
                self.publish_pool();
            }
        }
    }

    /// The transport is open (`Ok(tls)`: TLS is on from the first byte) or could not be.
    pub(crate) fn handle_dialed(&mut self, result: Result<bool, ConnectError>, now: Instant) {
        let State::Dialing { addr } = &self.state else {
            // A dial that finished after a close: not wanted any more.
            self.actions.push_back(Action::DropTransport);
            return;
        };
        match result {
            Ok(tls) => {
                let addr = addr.clone();
                self.parser = new_parser(&self.opts);
                self.state = State::Handshaking(Box::new(Handshake::new(addr, tls)));
            }
            Err(e) => self.attempt_failed(e, now),
        }
    }

    /// The TLS upgrade finished.
    pub(crate) fn handle_tls(&mut self, result: Result<(), ConnectError>, now: Instant) {
        let State::Handshaking(hs) = &mut self.state else {
            return;
        };
        let next = hs.on_tls(result);
        self.after_handshake_step(next, now);
    }

    /// CONNECT was built for this attempt (or could not be); `panicked` reports a panicking
    /// auth callback.
    pub(crate) fn handle_credentials(
        &mut self,
        result: Result<ConnectInfo, ConnectError>,
        panicked: Option<CallbackPanic>,
        now: Instant,
    ) {
        if let Some(panic) = panicked {
            self.report_panic(panic);
        }
        let State::Handshaking(hs) = &mut self.state else {
            return;
        };
        let next = hs.on_credentials(&result);
        if let Ok(connect) = &result {
            nats_proto::encode_connect(&mut self.transmit, connect);
            nats_proto::encode_ping(&mut self.transmit);
        }
        self.after_handshake_step(next, now);
    }

    /// Bytes read from the transport: parsed and handled; what is left is an incomplete op.
    pub(crate) fn handle_input(&mut self, buf: &mut BytesMut, now: Instant) {
        match &self.state {
            State::Handshaking(_) => self.handshake_input(buf, now),
            State::Connected { .. } | State::Closing { .. } => self.live_input(buf, now),
            _ => buf.clear(),
        }
        for waker in self.wake.drain(..) {
            waker.wake();
        }
    }

    /// Reading or writing failed, or the server closed the connection.
    pub(crate) fn handle_transport_error(&mut self, error: ConnectionError, now: Instant) {
        match &self.state {
            State::Handshaking(_) | State::Dialing { .. } => {
                let error = match error {
                    ConnectionError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                        ConnectError::Io(Arc::new(std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            "server closed the connection during the handshake",
                        )))
                    }
                    ConnectionError::Io(e) => ConnectError::Io(e),
                    other => ConnectError::Protocol(other.to_string()),
                };
                self.attempt_failed(error, now);
            }
            State::Connected { .. } => self.lose(error, false, now),
            State::Closing { .. } => self.handle_transport_closed(now),
            State::Waiting { .. } | State::Closed => {}
        }
    }

    /// A graceful shutdown completed (or could not complete in time).
    pub(crate) fn handle_transport_closed(&mut self, now: Instant) {
        if let State::Closing { reason } = &self.state {
            let reason = reason.clone();
            self.teardown(reason.clone(), now);
            self.finish(reason);
        }
    }

    /// What the last write attempt on the live connection did (R42): `blocked` when bytes wait
    /// that the socket did not take, `progressed` when it took some. The write deadline runs
    /// from the last progress while blocked and stops once nothing waits.
    pub(crate) fn handle_write(&mut self, blocked: bool, progressed: bool, now: Instant) {
        if !blocked {
            self.timers.stop(Timer::Write);
        } else if (progressed || !self.timers.is_set(Timer::Write))
            && matches!(self.state, State::Connected { .. })
        {
            let timeout = self.opts.flusher_timeout;
            let at = if timeout.is_zero() {
                None
            } else {
                deadline(now, timeout)
            };
            self.timers.set(Timer::Write, at);
        }
    }

    /// Deadlines that have passed.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        while let Some(timer) = self.timers.expired(now) {
            match timer {
                Timer::Reconnect => {
                    if let State::Waiting { next } = &self.state {
                        let next = next.clone();
                        self.start_attempt(next, now);
                    }
                }
                Timer::Handshake => {
                    if matches!(self.state, State::Dialing { .. } | State::Handshaking(_)) {
                        let timeout = self.opts.connection_timeout;
                        self.attempt_failed(ConnectError::TimedOut(timeout), now);
                    }
                }
                Timer::Ping => self.ping_tick(now),
                Timer::Write => {
                    if matches!(self.state, State::Connected { .. }) {
                        let timeout = self.opts.flusher_timeout;
                        self.lose(ConnectionError::WriteTimeout(timeout), false, now);
                    }
                }
                Timer::LameDuck => {
                    if matches!(self.state, State::Connected { .. }) {
                        self.lose(ConnectionError::LameDuck, true, now);
                    }
                }
                Timer::Drain => self.drain_timer(now),
                Timer::CloseFlush => {
                    self.actions.push_back(Action::DropTransport);
                    self.handle_transport_closed(now);
                }
                Timer::Confirm => self.poll_confirm(now),
            }
        }
    }

    // ----- dialling ------------------------------------------------------------------------

    fn dial_initial(&mut self, now: Instant) {
        let Some(walk) = &mut self.initial else {
            return;
        };
        let Some(addr) = self.pool.get(walk.next).cloned() else {
            return self.initial_exhausted(now);
        };
        walk.next += 1;
        self.pool.set_current(&addr);
        self.attempt = 0;
        self.dial(addr, now);
    }

    /// Every server failed once (R7, R8): give up, or with `retry_on_failed_connect` go on as a
    /// reconnecting client (R108).
    fn initial_exhausted(&mut self, now: Instant) {
        let Some(walk) = self.initial.take() else {
            return;
        };
        let error = match (walk.last_error, walk.all_refused) {
            (Some(e), false) => e,
            _ => ConnectError::NoServers,
        };
        if self.opts.retry_on_failed_connect {
            self.shared.queue.set_phase(Phase::Disconnected);
            self.set_reconnecting();
            let server = self
                .pool
                .current()
                .map(ToString::to_string)
                .unwrap_or_default();
            self.events.push_back(Event::ReconnectFailed {
                server,
                error,
                attempt: 0,
            });
            self.shared.view.set_connect_result(Ok(()));
            self.next_attempt(now);
        } else {
            self.shared.view.set_connect_result(Err(error.clone()));
            self.finish_unobserved(ConnectionError::Connect(error));
        }
    }

    /// Picks the next server and when to dial it (R11–R17, R106), then dials or waits.
    fn next_attempt(&mut self, now: Instant) {
        match self.choose(now) {
            None => self.finish(ConnectionError::NoServers),
            Some((addr, Some(at))) if at <= now => self.start_attempt(addr, now),
            Some((addr, at)) => {
                self.timers.set(Timer::Reconnect, at);
                self.state = State::Waiting { next: addr };
            }
        }
    }

    /// The next server and its dial deadline (`None`: never): the R106 callback if set and it
    /// picks a pool member, otherwise the default rotation (R11) and back-off (R15). `None`
    /// when the pool is empty (R13).
    fn choose(&mut self, now: Instant) -> Option<(ServerAddr, Option<Instant>)> {
        if let Some(callback) = self.opts.reconnect_to_server.clone() {
            self.pool.remove_exhausted();
            self.publish_pool();
            if self.pool.is_empty() {
                return None;
            }
            let snapshot = self.pool.entries().to_vec();
            let info = self.shared.view.info();
            match guarded(CallbackKind::ReconnectToServer, || {
                callback(&snapshot, Some(&info))
            }) {
                Ok(Some((addr, delay))) => {
                    if self.pool.choose(&addr) {
                        return Some((addr, deadline(now, delay)));
                    }
                    self.events.push_back(Event::ReconnectFailed {
                        server: addr.to_string(),
                        error: ConnectError::ServerNotInPool,
                        attempt: 0,
                    });
                }
                Ok(None) => {}
                Err(panic) => self.report_panic(panic),
            }
        }
        let addr = self.pool.select_next()?;
        let mut panicked = None;
        let at = self.backoff.next_deadline(
            now,
            self.pool.len(),
            &self.policy,
            &mut self.rng,
            &mut panicked,
        );
        if let Some(panic) = panicked {
            self.report_panic(panic);
        }
        self.publish_pool();
        Some((addr, at))
    }

    /// A reconnect attempt (counted against the server's budget, R12).
    fn start_attempt(&mut self, addr: ServerAddr, now: Instant) {
        self.pool.record_attempt(&addr);
        self.attempt = self
            .pool
            .entries()
            .iter()
            .find(|e| e.addr == addr)
            .map_or(1, |e| e.attempts);
        self.publish_pool();
        self.dial(addr, now);
    }

    fn dial(&mut self, addr: ServerAddr, now: Instant) {
        self.timers.set(
            Timer::Handshake,
            deadline(now, self.opts.connection_timeout),
        );
        self.actions.push_back(Action::Dial {
            addr: addr.clone(),
            tls_first: self.opts.tls.first,
        });
        self.state = State::Dialing { addr };
    }

    /// One attempt failed: the transport goes at once (D4), then the next server (or the rules
    /// end reconnecting: R44 same auth error twice).
    fn attempt_failed(&mut self, error: ConnectError, now: Instant) {
        self.actions.push_back(Action::DropTransport);
        self.timers.stop(Timer::Handshake);
        let addr = match std::mem::replace(&mut self.state, State::Closed) {
            State::Dialing { addr } => addr,
            State::Handshaking(hs) => hs.addr,
            other => {
                self.state = other;
                return;
            }
        };
        tracing::debug!(server = %addr, %error, attempt = self.attempt, "connect attempt failed");
        if let Some(walk) = &mut self.initial {
            walk.all_refused &= error.is_refused();
            walk.last_error = Some(error);
            return self.dial_initial(now);
        }
        Counters::add(&self.shared.counters.failed_reconnects, 1);
        self.events.push_back(Event::ReconnectFailed {
            server: addr.to_string(),
            error: error.clone(),
            attempt: self.attempt,
        });
        if let ConnectError::Server(e) = &error {
            if e.is_auth_error() {
                let repeated = self.pool.record_auth_error(&addr, e.kind());
                if repeated && !self.opts.ignore_auth_error_abort {
                    return self.finish(ConnectionError::Connect(error));
                }
            }
        }
        self.next_attempt(now);
    }

    fn after_handshake_step(&mut self, next: Next, now: Instant) {
        if matches!(next, Next::UpgradeTls | Next::Authenticate) {
            // the INFO has just arrived
            self.learn_during_first_walk();
        }
        let State::Handshaking(hs) = &self.state else {
            return;
        };
        match next {
            Next::Wait => {}
            Next::UpgradeTls => self.actions.push_back(Action::UpgradeTls {
                addr: hs.addr.clone(),
            }),
            Next::Authenticate => {
                let info = hs.info.clone().unwrap_or_default();
                self.actions.push_back(Action::Authenticate {
                    addr: hs.addr.clone(),
                    info: Box::new(info),
                    tls: hs.tls,
                });
            }
            Next::SendPong => nats_proto::encode_pong(&mut self.transmit),
            Next::Established => self.established(now),
            Next::Failed(e) => self.attempt_failed(e, now),
        }
    }

    fn handshake_input(&mut self, buf: &mut BytesMut, now: Instant) {
        while let State::Handshaking(hs) = &mut self.state {
            if !hs.reads_ops() {
                break;
            }
            match self.parser.parse(buf) {
                Ok(None) => break,
                Ok(Some(op)) => {
                    let next = hs.on_op(op, &self.opts);
                    self.after_handshake_step(next, now);
                }
                Err(e) => {
                    self.attempt_failed(ConnectError::Protocol(e.to_string()), now);
                    break;
                }
            }
        }
        // R24: bytes after the PONG belong to the live connection.
        if matches!(self.state, State::Connected { .. }) && !buf.is_empty() {
            self.live_input(buf, now);
        }
    }

    /// The handshake completed: the pool, the server info, the subscriptions re-sent before
    /// the buffered publishes (R54, R65), the status and events (R26, R83).
    fn established(&mut self, now: Instant) {
        let State::Handshaking(hs) = std::mem::replace(&mut self.state, State::Closed) else {
            return;
        };
        self.timers.stop(Timer::Handshake);
        let first = !self.ever_connected;
        self.pool.record_connected(&hs.addr);
        if let Some(info) = hs.info {
            // R96, R102: the first connection's INFO raises no discovery or lame-duck event.
            self.apply_info(info, first, now);
        }
        if !first {
            Counters::add(&self.shared.counters.reconnects, 1);
        }
        self.ever_connected = true;
        self.initial = None;
        let subs = &mut self.subs;
        let mut commands = Vec::new();
        let mut resubscribed = 0;
        let resent = self
            .shared
            .queue
            .connect(Phase::Connected, |records, prefix| {
                for record in records.drain(..) {
                    match record {
                        Record::Subscribe(sub) => subs.insert(sub),
                        Record::Unsubscribe(sid) => {
                            subs.remove(sid);
                        }
                        Record::Command(c) => commands.push(Record::Command(c)),
                    }
                }
                resubscribed = subs.resubscribe(prefix);
            });
        tracing::info!(server = %hs.addr, "connected");
        self.shared.view.set_connected(Some(hs.addr.clone()));
        self.state = State::Connected {
            addr: hs.addr,
            pings_out: 0,
        };
        self.arm_ping(now);
        self.actions.push_back(Action::GoLive);
        self.shared.view.set_status(Status::Connected);
        if first {
            self.events.push_back(Event::Connected);
        } else {
            self.events.push_back(Event::Reconnected);
            if resubscribed > 0 {
                self.events.push_back(Event::Resubscribed);
            }
            if resent > 0 {
                tracing::info!(messages = resent, "re-sent unconfirmed publishes");
                self.events.push_back(Event::Resent { messages: resent });
            }
        }
        self.shared.view.set_connect_result(Ok(()));
        self.publish_pool();
        self.handle_records(&mut commands, now);
        if !first {
            // R76: one round trip after each reconnect, behind the resubscriptions and the
            // reconnect buffer: its PONG shows the new server took them (with
            // `at_least_once` it confirms the re-sent publishes at once), and a server that
            // accepted the handshake but cannot serve is found by the keep-alive rules.
            let _ = self.shared.queue.ping(PongWaiter::KeepAlive);
        }
    }

    // ----- the live connection -------------------------------------------------------------

    fn live_input(&mut self, buf: &mut BytesMut, now: Instant) {
        let mut msgs = 0u64;
        loop {
            if !self.is_live() {
                break;
            }
            match self.parser.parse(buf) {
                Ok(None) => break,
                Ok(Some(ServerOp::Msg(op))) => {
                    msgs += 1;
                    let sid = op.sid;
                    let Some(sub) = self.subs.get(sid) else {
                        // For a subscription already gone (unsubscribed, drained): ignored.
                        continue;
                    };
                    if sub.is_mux {
                        self.shared.requests.complete(Message::from_op(op));
                        continue;
                    }
                    match sub.deliver(Message::from_op(op), &mut self.wake) {
                        Delivery::Queued | Delivery::Ignored => {}
                        Delivery::Dropped { first, total } => {
                            Counters::add(&self.shared.counters.dropped_msgs, 1);
                            if first {
                                self.events.push_back(Event::SlowConsumer {
                                    sid,
                                    dropped: total,
                                });
                            }
                        }
                        Delivery::LastMessage => {
                            self.subs.remove(sid);
                        }
                        Delivery::Panicked { panic, last } => {
                            if last {
                                self.subs.remove(sid);
                            }
                            self.report_panic(panic);
                        }
                    }
                }
                Ok(Some(ServerOp::Ping)) => {
                    self.shared.queue.control(nats_proto::encode_pong);
                }
                Ok(Some(ServerOp::Pong)) => {
                    if let State::Connected { pings_out, .. } = &mut self.state {
                        *pings_out = 0;
                    }
                    if let Some(token) = self.shared.queue.pong() {
                        self.drain_pong(token, now);
                    }
                }
                Ok(Some(ServerOp::Info(info))) => self.apply_info(*info, false, now),
                Ok(Some(ServerOp::Err(error))) => self.server_error(error, now),
                Ok(Some(_)) => {}
                Err(e) => {
                    self.lose(ConnectionError::Protocol(e), false, now);
                    break;
                }
            }
        }
        if msgs > 0 {
            Counters::add(&self.shared.counters.in_msgs, msgs);
        }
    }

    /// R10: servers the INFO of a handshake announces during the first walk join the pool at
    /// once (quietly, as the first connection's INFO does), so the walk reaches them in the
    /// same pass even if this server then refuses; the walk reads the pool afresh for each
    /// server, so a pool that grows or shrinks under it is fine.
    fn learn_during_first_walk(&mut self) {
        if self.initial.is_none() || self.opts.ignore_discovered_servers {
            return;
        }
        let State::Handshaking(hs) = &self.state else {
            return;
        };
        let Some(urls) = hs.info.as_ref().map(|i| i.connect_urls.clone()) else {
            return;
        };
        if !urls.is_empty() {
            self.pool.apply_connect_urls(&urls, &mut self.rng);
            self.publish_pool();
        }
    }

    /// Applies a server INFO (R95–R102). `initial` is the first connection's INFO.
    fn apply_info(&mut self, info: ServerInfo, initial: bool, now: Instant) {
        if !self.opts.ignore_discovered_servers {
            let new = self
                .pool
                .apply_connect_urls(&info.connect_urls, &mut self.rng);
            if !new.is_empty() && !initial {
                self.events.push_back(Event::DiscoveredServers);
            }
            self.publish_pool();
        }
        let lame_duck = info.ldm;
        self.shared.view.set_info(info);
        if lame_duck && !initial {
            self.events.push_back(Event::LameDuckMode);
            if let Some(window) = self.opts.lame_duck_reconnect {
                if !self.timers.is_set(Timer::LameDuck) {
                    let delay = self.rng.duration_below(window);
                    self.timers.set(Timer::LameDuck, deadline(now, delay));
                }
            }
        }
    }

    /// A `-ERR` on a live connection (R43, R46, R50–R52).
    fn server_error(&mut self, error: ServerError, now: Instant) {
        if error.is_connection_kept() {
            self.events.push_back(Event::ServerError { error });
            return;
        }
        if error.is_auth_error() {
            // Reported and remembered; the server closes the socket itself (R46).
            if let State::Connected { addr, .. } = &self.state {
                let addr = addr.clone();
                self.pool.record_auth_error(&addr, error.kind());
            }
            self.events.push_back(Event::ServerError { error });
            return;
        }
        let cause = if matches!(error.kind(), ServerErrorKind::StaleConnection) {
            ConnectionError::StaleConnection
        } else {
            ConnectionError::Server(error)
        };
        self.lose(cause, false, now);
    }

    fn arm_ping(&mut self, now: Instant) {
        let every = self.opts.ping_interval;
        if every.is_zero() {
            self.timers.stop(Timer::Ping);
        } else {
            self.timers.set(Timer::Ping, deadline(now, every));
        }
    }

    /// `at_least_once`: queues a confirmation PING when the policy asks for one, or sets the
    /// timer for its age trigger. The driver calls it after every round of writing; the timer
    /// and a PONG bring the next look.
    pub(crate) fn poll_confirm(&mut self, now: Instant) {
        let settings = &self.opts.at_least_once;
        if !settings.enabled || !matches!(self.state, State::Connected { .. }) {
            return;
        }
        let policy = ConfirmPolicy {
            threshold: settings.threshold,
            interval: settings.interval,
        };
        let Some(status) = self.shared.queue.confirm_status() else {
            return;
        };
        match policy.step(status, now) {
            Step::Ping => {
                self.timers.stop(Timer::Confirm);
                let _ = self.shared.queue.ping(PongWaiter::Confirm);
            }
            Step::At(at) => self.timers.set(Timer::Confirm, Some(at)),
            Step::Idle => self.timers.stop(Timer::Confirm),
        }
    }

    /// Keep-alive (R37–R39).
    fn ping_tick(&mut self, now: Instant) {
        let State::Connected { pings_out, .. } = &mut self.state else {
            return;
        };
        *pings_out += 1;
        match ping::on_tick(*pings_out, self.opts.max_pings_out) {
            Tick::Stale => self.lose(ConnectionError::StaleConnection, false, now),
            Tick::SendPing => {
                let _ = self.shared.queue.ping(PongWaiter::KeepAlive);
                self.arm_ping(now);
            }
        }
    }

    /// An established connection is gone, by error or by choice (`forced`: force_reconnect or
    /// lame duck, which reconnect even with `allow_reconnect(false)`, R104, and skip the first
    /// wait, R103). What follows: R33, R35, R36, R50, R52.
    fn lose(&mut self, cause: ConnectionError, forced: bool, now: Instant) {
        if matches!(self.state, State::Closing { .. }) {
            // Closing already: this ends the flush, the close reason stays.
            return self.handle_transport_closed(now);
        }
        let fatal = matches!(&cause, ConnectionError::Server(e) if !e.triggers_reconnect());
        let after = if self.drain.is_some() || fatal || (!self.opts.allow_reconnect && !forced) {
            After::Close(cause.clone())
        } else {
            After::Reconnect { skip_wait: forced }
        };
        // teardown takes the queue out of Connected before the status says Reconnecting
        self.teardown(cause, now);
        match after {
            After::Reconnect { skip_wait } => {
                self.set_reconnecting();
                self.backoff = Backoff::new();
                if skip_wait {
                    self.backoff.skip_next_wait();
                }
                self.next_attempt(now);
            }
            After::Close(reason) => self.finish(reason),
        }
    }

    /// Publishes the status `Reconnecting`, once the queue has left `Connected`: a caller that
    /// has seen `Reconnecting` publishes into the reconnect buffer under its limit (R63, R64),
    /// never into the dead connection's batch, where the frame could go to a closed socket.
    fn set_reconnecting(&self) {
        debug_assert!(
            self.shared.queue.phase() != Phase::Connected,
            "Reconnecting shown while the queue still takes publishes for the old connection"
        );
        self.shared.view.set_status(Status::Reconnecting);
    }

    /// Ends the live connection: the transport goes, the queue keeps what was not written (D1),
    /// PING waiters fail (R74), `Disconnected` fires once with its cause (D2).
    fn teardown(&mut self, cause: ConnectionError, _now: Instant) {
        // a live connection left on purpose (force_reconnect, a lame-duck move)
        self.actions.push_back(
            if cause.is_deliberate() && matches!(self.state, State::Connected { .. }) {
                Action::RetireTransport
            } else {
                Action::DropTransport
            },
        );
        self.shared.queue.disconnect(Phase::Disconnected);
        for timer in [
            Timer::Ping,
            Timer::LameDuck,
            Timer::CloseFlush,
            Timer::Confirm,
            Timer::Write,
        ] {
            self.timers.stop(timer);
        }
        if let State::Connected { addr, .. } = &self.state {
            tracing::info!(server = %addr, error = %cause, "disconnected");
        }
        self.state = State::Closed;
        self.shared.view.set_connected(None);
        self.events.push_back(Event::Disconnected { error: cause });
    }

    /// Close: a live connection flushes what is queued first (bounded), anything else closes
    /// at once.
    fn close(&mut self, reason: ConnectionError, now: Instant) {
        match &self.state {
            State::Connected { .. } => {
                self.shared.queue.set_phase(Phase::Closing);
                for timer in [Timer::Ping, Timer::LameDuck, Timer::Drain] {
                    self.timers.stop(timer);
                }
                self.timers
                    .set(Timer::CloseFlush, deadline(now, CLOSE_FLUSH_TIMEOUT));
                self.actions.push_back(Action::Shutdown);
                self.state = State::Closing { reason };
            }
            State::Closing { .. } | State::Closed => {}
            State::Waiting { .. } | State::Dialing { .. } | State::Handshaking(_) => {
                self.actions.push_back(Action::DropTransport);
                if self.initial.take().is_some() {
                    // The connect future was dropped: nobody holds a client to see events.
                    self.shared
                        .view
                        .set_connect_result(Err(ConnectError::NoServers));
                    self.finish_unobserved(reason);
                } else {
                    self.finish(reason);
                }
            }
        }
    }

    /// Closed for good (R13, R68, R81, R87, R114): the queue is discarded, waiters fail,
    /// subscriptions end, `Closed` fires once.
    fn finish(&mut self, reason: ConnectionError) {
        self.finish_quietly(reason.clone());
        tracing::info!(%reason, "closed");
        self.events.push_back(Event::Closed { reason });
    }

    /// Closes a client nobody holds (its first connect failed, or the connect future was
    /// dropped): no event at all, and every event stream ends, so the callback task does not
    /// outlive it (R9).
    fn finish_unobserved(&mut self, reason: ConnectionError) {
        self.finish_quietly(reason);
        self.shared.events.end_quietly();
    }

    fn finish_quietly(&mut self, reason: ConnectionError) {
        self.state = State::Closed;
        self.timers.stop_all();
        self.actions.push_back(Action::DropTransport);
        self.shared.queue.set_phase(Phase::Closed);
        self.shared.requests.close(&RequestError::Closed);
        self.subs.close_all();
        if self.drain.take().is_some() {
            self.shared.view.set_drain_result(Err(DrainError::Closed));
        }
        self.shared.view.set_connected(None);
        self.shared.view.set_closed_reason(reason);
        self.shared.view.set_status(Status::Closed);
    }

    // ----- drain (R113) --------------------------------------------------------------------

    fn start_drain(&mut self, now: Instant) {
        if self.drain.is_some() {
            return;
        }
        match &self.state {
            State::Connected { .. } => {}
            State::Closing { .. } | State::Closed => {
                self.shared.view.set_drain_result(Err(DrainError::Closed));
                return;
            }
            // R112: while (re)connecting, close at once instead.
            State::Waiting { .. } | State::Dialing { .. } | State::Handshaking(_) => {
                self.shared
                    .view
                    .set_drain_result(Err(DrainError::Reconnecting));
                self.close(ConnectionError::ClosedByUser, now);
                return;
            }
        }
        self.shared.view.set_status(Status::Draining);
        self.shared.requests.set_draining();
        let subs = self.subs.user_subscriptions();
        for sub in &subs {
            sub.set_draining();
            let sid = sub.sid;
            self.shared
                .queue
                .control(|b| nats_proto::encode_unsub(b, sid, None));
        }
        let token = self.round_trip();
        self.timers
            .set(Timer::Drain, deadline(now, self.opts.drain_timeout));
        self.drain = Some(Drain::new(token, subs));
    }

    /// A PING in the queue whose PONG comes back to [`drain_pong`](Self::drain_pong).
    fn round_trip(&mut self) -> u64 {
        self.next_token += 1;
        let token = self.next_token;
        let _ = self.shared.queue.ping(PongWaiter::Internal(token));
        token
    }

    fn drain_pong(&mut self, token: u64, now: Instant) {
        let Some(drain) = &mut self.drain else {
            return;
        };
        match drain.stage {
            Stage::Unsubscribing(t) if t == token => {
                // The server has processed every UNSUB: nothing more arrives for them. Their
                // streams end once what arrived is consumed.
                for sub in &drain.subs {
                    sub.close();
                    self.subs.remove(sub.sid);
                }
                drain.stage = Stage::Consuming;
                self.poll_drain(now);
            }
            Stage::Flushing(t) if t == token => self.drain_done(now),
            _ => {}
        }
    }

    /// Re-checks a drain waiting for consumers and requests in flight.
    pub(crate) fn poll_drain(&mut self, now: Instant) {
        let Some(drain) = &self.drain else {
            return;
        };
        if drain.stage == Stage::Consuming
            && drain.consumed()
            && self.shared.requests.in_flight() == 0
        {
            self.drain_flush(now, None);
        }
    }

    /// The publish phase: no more publishes (R70); what is queued reaches the server.
    fn drain_flush(&mut self, now: Instant, limit: Option<Duration>) {
        self.shared.queue.set_phase(Phase::DrainingPubs);
        let token = self.round_trip();
        if let Some(limit) = limit {
            self.timers.set(Timer::Drain, deadline(now, limit));
        }
        if let Some(drain) = &mut self.drain {
            drain.stage = Stage::Flushing(token);
        }
    }

    fn drain_timer(&mut self, now: Instant) {
        let Some(drain) = &mut self.drain else {
            return;
        };
        drain.timed_out = true;
        match drain.stage {
            Stage::Unsubscribing(_) | Stage::Consuming => {
                self.drain_flush(now, Some(DRAIN_FLUSH_TIMEOUT))
            }
            Stage::Flushing(_) => self.drain_done(now),
        }
    }

    fn drain_done(&mut self, now: Instant) {
        let Some(drain) = self.drain.take() else {
            return;
        };
        self.timers.stop(Timer::Drain);
        let result = if drain.timed_out {
            Err(DrainError::TimedOut(self.opts.drain_timeout))
        } else {
            Ok(())
        };
        self.shared.view.set_drain_result(result);
        self.close(ConnectionError::Drained, now);
    }

    // ----- helpers -------------------------------------------------------------------------

    fn report_panic(&mut self, panic: CallbackPanic) {
        self.events.push_back(Event::CallbackPanicked {
            callback: panic.kind,
            message: panic.message,
        });
    }

    fn publish_pool(&self) {
        self.shared.view.set_pool(self.pool.entries().to_vec());
    }
}

fn new_parser(opts: &ConnectOptions) -> Parser {
    Parser::new().with_max_control_line(opts.max_control_line)
}
