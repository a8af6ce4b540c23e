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
//!
//! This file holds the state, the inputs and the outputs; the steps are grouped by phase in
//! the child modules: [`dialling`] (the first walk, attempts, back-off, the handshake, a new
//! connection's start), [`live`] (the server's ops, keep-alive), [`ending`] (lost or closed)
//! and [`drain`].

mod dialling;
mod drain;
mod ending;
mod live;

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
