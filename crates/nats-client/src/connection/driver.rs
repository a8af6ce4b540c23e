//! [`Driver`]: the one tokio task per client. It moves bytes and timers and does what the
//! [`Connection`] state machine asks; it decides nothing itself.
//!
//! Each wake-up does bounded work (quinn's `ConnectionDriver::poll` shape): take the queued
//! records and commands, advance a dial / TLS upgrade / credentials step, fire due timers, read
//! and parse, write the queue's batches, forward events; then sleep until the next deadline,
//! or yield if there is more to do. The driver is a hand-written future, so nothing it does is
//! ever cancelled half-way: a write is counted when the transport accepts it.
//!
//! The driver runs inside [`Guarded`]: a panic anywhere in it (a bug) closes the client with
//! [`ConnectionError::Internal`] instead of leaving handles waiting for ever.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::BytesMut;
use nats_proto::ConnectInfo;

use super::handshake;
use super::machine::{Action, Connection};
use super::transport::{self, Transport};
use crate::callback::{panic_message, CallbackPanic};
use crate::error::{ConnectError, ConnectionError, DrainError, RequestError};
use crate::events::{Event, Status};
use crate::outbound::{Batch, Phase, Record, Take, COALESCE_WAIT};
use crate::shared::Shared;
use crate::stats::Counters;

/// Size of a read buffer allocation.
pub(crate) const READ_BUFFER_SIZE: usize = 64 * 1024;

/// Free space below which the read buffer gets a fresh allocation before the next read.
const MIN_READ_SPACE: usize = 8 * 1024;

/// How long a connection left on purpose may take to hand its last bytes to the server
/// before it is dropped anyway ([`Transport::retire`]).
const RETIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Rounds of work per wake-up before the driver yields to other tasks.
const ROUNDS: usize = 32;

/// Bytes written per round at most, so that reading is not starved by a publish burst.
const WRITE_BUDGET: usize = 1024 * 1024;

type Step<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type Credentials = (Result<ConnectInfo, ConnectError>, Option<CallbackPanic>);

/// The connection's task.
pub(crate) struct Driver {
    machine: Connection,
    shared: Arc<Shared>,
    transport: Option<Transport>,
    dialing: Option<Step<Result<Transport, ConnectError>>>,
    upgrading: Option<Step<Result<Transport, ConnectError>>>,
    authenticating: Option<Step<Credentials>>,
    /// The machine said GoLive: the queue's batches are written.
    live: bool,
    /// A graceful close: write everything, flush, shut down.
    shutting_down: bool,
    read_buf: BytesMut,
    /// The batch being written and how much of it the transport accepted.
    inflight: Batch,
    sent: usize,
    /// Handshake bytes and how much of them was written.
    transmit: BytesMut,
    transmit_sent: usize,
    needs_flush: bool,
    /// A burst is gathering in the queue: write it by then at the latest.
    coalesce_until: Option<Instant>,
    records: Vec<Record>,
    sleep: Pin<Box<tokio::time::Sleep>>,
    sleep_at: Option<Instant>,
}

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

impl Driver {
    pub(crate) fn new(mut machine: Connection, shared: Arc<Shared>) -> Driver {
        machine.start(now());
        Driver {
            machine,
            shared,
            transport: None,
            dialing: None,
            upgrading: None,
            authenticating: None,
            live: false,
            shutting_down: false,
            read_buf: BytesMut::with_capacity(READ_BUFFER_SIZE),
            inflight: Batch::default(),
            sent: 0,
            transmit: BytesMut::new(),
            transmit_sent: 0,
            needs_flush: false,
            coalesce_until: None,
            records: Vec::new(),
            sleep: Box::pin(tokio::time::sleep(std::time::Duration::ZERO)),
            sleep_at: None,
        }
    }

    /// One round; whether anything happened.
    fn round(&mut self, cx: &mut Context<'_>) -> bool {
        let now = now();
        let mut busy = false;
        self.shared.queue.take_records(&mut self.records);
        if !self.records.is_empty() {
            self.machine.handle_records(&mut self.records, now);
            busy = true;
        }
        if self.machine.is_draining() {
            self.machine.poll_drain(now);
        }
        busy |= self.poll_steps(cx, now);
        if self.machine.poll_timeout().is_some_and(|at| at <= now) {
            self.machine.handle_timeout(now);
            busy = true;
        }
        if self.coalesce_until.is_some_and(|until| until <= now) {
            busy = true;
        }
        busy |= self.apply_actions(now);
        busy |= self.poll_read(cx, now);
        busy |= self.apply_actions(now);
        busy |= self.poll_write(cx, now);
        if self.live && self.shared.options.at_least_once.enabled {
            self.machine.poll_confirm(now);
        }
        busy |= self.apply_actions(now);
        while let Some(event) = self.machine.poll_event() {
            self.shared.events.emit(event);
        }
        busy
    }

    fn apply_actions(&mut self, now: Instant) -> bool {
        let mut any = false;
        while let Some(action) = self.machine.poll_action() {
            any = true;
            match action {
                Action::Dial { addr, tls_first } => {
                    self.drop_transport();
                    let options = Arc::clone(&self.shared.options);
                    self.dialing = Some(Box::pin(transport::dial(options, addr, tls_first)));
                }
                Action::UpgradeTls { addr } => match self.transport.take() {
                    Some(t) => {
                        let options = Arc::clone(&self.shared.options);
                        self.upgrading = Some(Box::pin(transport::upgrade(options, addr, t)));
                    }
                    None => self.machine.handle_tls(
                        Err(ConnectError::Tls("no transport to upgrade".into())),
                        now,
                    ),
                },
                Action::Authenticate { addr, info, tls } => {
                    let options = Arc::clone(&self.shared.options);
                    let build = move || {
                        let mut panicked = None;
                        let result =
                            handshake::connect_info(&options, &addr, &info, tls, &mut panicked);
                        (result, panicked)
                    };
                    if self.shared.options.auth.may_block() {
                        // A credentials file is read or user code runs: off the async workers.
                        let task = tokio::task::spawn_blocking(build);
                        self.authenticating = Some(Box::pin(async move {
                            task.await.unwrap_or_else(|e| {
                                let error = ConnectError::Credentials(format!(
                                    "building the credentials failed: {e}"
                                ));
                                (Err(error), None)
                            })
                        }));
                    } else {
                        let (result, panicked) = build();
                        self.machine.handle_credentials(result, panicked, now);
                        if !self.read_buf.is_empty() {
                            self.machine.handle_input(&mut self.read_buf, now);
                        }
                    }
                }
                Action::GoLive => {
                    self.live = true;
                    let direct = self.transport.as_ref().and_then(Transport::direct);
                    self.shared.queue.set_direct(direct);
                }
                Action::DropTransport => self.drop_transport(),
                Action::RetireTransport => {
                    if let Some(old) = self.transport.take() {
                        tokio::spawn(old.retire(RETIRE_TIMEOUT));
                    }
                    self.drop_transport();
                }
                Action::Shutdown => self.shutting_down = true,
            }
        }
        any
    }

    /// Drops the transport and every step in progress at once (D4); what was being written
    /// goes back to the queue (D1).
    fn drop_transport(&mut self) {
        self.transport = None;
        self.dialing = None;
        self.upgrading = None;
        self.authenticating = None;
        self.live = false;
        self.shutting_down = false;
        self.needs_flush = false;
        self.coalesce_until = None;
        self.shared.queue.requeue(&mut self.inflight, self.sent);
        self.inflight.clear();
        self.sent = 0;
        self.transmit.clear();
        self.transmit_sent = 0;
        self.read_buf.clear();
    }

    /// Dial, TLS upgrade and credentials steps.
    fn poll_steps(&mut self, cx: &mut Context<'_>, now: Instant) -> bool {
        let mut any = false;
        if let Some(step) = &mut self.dialing {
            if let Poll::Ready(result) = step.as_mut().poll(cx) {
                self.dialing = None;
                any = true;
                match result {
                    Ok(t) => {
                        let tls = t.is_tls();
                        self.transport = Some(t);
                        self.read_buf.clear();
                        self.machine.handle_dialed(Ok(tls), now);
                    }
                    Err(e) => self.machine.handle_dialed(Err(e), now),
                }
            }
        }
        if let Some(step) = &mut self.upgrading {
            if let Poll::Ready(result) = step.as_mut().poll(cx) {
                self.upgrading = None;
                any = true;
                match result {
                    Ok(t) => {
                        self.transport = Some(t);
                        self.machine.handle_tls(Ok(()), now);
                    }
                    Err(e) => self.machine.handle_tls(Err(e), now),
                }
            }
        }
        if let Some(step) = &mut self.authenticating {
            if let Poll::Ready((result, panicked)) = step.as_mut().poll(cx) {
                self.authenticating = None;
                any = true;
                self.machine.handle_credentials(result, panicked, now);
                self.parse_buffered(now);
            }
        }
        any
    }

    fn poll_read(&mut self, cx: &mut Context<'_>, now: Instant) -> bool {
        let Some(transport) = &mut self.transport else {
            return false;
        };
        if self.read_buf.capacity() - self.read_buf.len() < MIN_READ_SPACE {
            self.read_buf.reserve(READ_BUFFER_SIZE);
        }
        match transport.poll_read(cx, &mut self.read_buf) {
            Poll::Ready(Ok(0)) => {
                self.machine
                    .handle_transport_error(ConnectionError::eof(), now);
                true
            }
            Poll::Ready(Ok(n)) => {
                Counters::add(&self.shared.counters.in_bytes, n as u64);
                self.machine.handle_input(&mut self.read_buf, now);
                true
            }
            Poll::Ready(Err(e)) => {
                self.transport_failed(ConnectionError::io(e), now);
                true
            }
            Poll::Pending => false,
        }
    }

    /// The transport broke. What arrived before is handled first: a `-ERR` the server sent
    /// before closing (`maximum connections exceeded`) is the real cause.
    fn transport_failed(&mut self, error: ConnectionError, now: Instant) {
        self.parse_buffered(now);
        if self.transport.is_some() {
            self.machine.handle_transport_error(error, now);
        }
    }

    /// Lets the machine parse what is already read (after a handshake step that paused
    /// parsing).
    fn parse_buffered(&mut self, now: Instant) {
        if !self.read_buf.is_empty() && self.transport.is_some() {
            self.machine.handle_input(&mut self.read_buf, now);
            let _ = self.apply_actions(now);
        }
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, now: Instant) -> bool {
        match self.write(cx, now) {
            Ok(busy) => {
                if self.live {
                    self.machine.handle_write(busy.blocked, busy.progress, now);
                }
                if busy.closed {
                    self.machine.handle_transport_closed(now);
                }
                busy.progress || busy.closed
            }
            Err(e) => {
                self.transport_failed(ConnectionError::io(e), now);
                true
            }
        }
    }

    /// Writes handshake bytes, then (when live) the queue's batches; flushes when idle, and
    /// shuts down at the end of a graceful close.
    fn write(&mut self, cx: &mut Context<'_>, now: Instant) -> std::io::Result<Written> {
        let mut out = Written::default();
        let Some(transport) = &mut self.transport else {
            return Ok(out);
        };
        self.machine.poll_transmit(&mut self.transmit);
        while self.transmit_sent < self.transmit.len() {
            let rest = self.transmit.get(self.transmit_sent..).unwrap_or_default();
            match transport.poll_write(cx, rest) {
                Poll::Ready(Ok(0)) => return Err(std::io::ErrorKind::WriteZero.into()),
                Poll::Ready(Ok(n)) => {
                    self.transmit_sent += n;
                    self.needs_flush = true;
                    out.progress = true;
                }
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => {
                    out.blocked = true;
                    return Ok(out);
                }
            }
        }
        self.transmit.clear();
        self.transmit_sent = 0;
        if self.live {
            let mut budget = WRITE_BUDGET;
            loop {
                if self.sent >= self.inflight.len() {
                    let force =
                        self.shutting_down || self.coalesce_until.is_some_and(|until| now >= until);
                    // Hands back the written batch, takes the next one into it.
                    match self.shared.queue.take(&mut self.inflight, now, force) {
                        Take::Batch { skip } => {
                            self.coalesce_until = None;
                            self.sent = skip;
                            continue;
                        }
                        Take::Idle => {
                            self.coalesce_until = None;
                            self.inflight.clear();
                            self.sent = 0;
                            break;
                        }
                        Take::Records => {
                            // Another round: its first step applies them.
                            self.inflight.clear();
                            self.sent = 0;
                            out.progress = true;
                            break;
                        }
                        Take::Later => {
                            // Flush what is written; the rest of the burst gathers meanwhile.
                            self.coalesce_until.get_or_insert(now + COALESCE_WAIT);
                            self.inflight.clear();
                            self.sent = 0;
                            break;
                        }
                    }
                }
                if budget == 0 {
                    // More to write: the caller's next round goes on.
                    out.progress = true;
                    return Ok(out);
                }
                match transport.poll_write_batch(cx, &self.inflight, self.sent) {
                    Poll::Ready(Ok(0)) => return Err(std::io::ErrorKind::WriteZero.into()),
                    Poll::Ready(Ok(n)) => {
                        self.sent += n;
                        budget = budget.saturating_sub(n);
                        self.needs_flush = true;
                        out.progress = true;
                    }
                    Poll::Ready(Err(e)) => return Err(e),
                    Poll::Pending => {
                        out.blocked = true;
                        return Ok(out);
                    }
                }
            }
        }
        if self.needs_flush {
            match transport.poll_flush(cx) {
                Poll::Ready(Ok(())) => self.needs_flush = false,
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => {
                    out.blocked = true;
                    return Ok(out);
                }
            }
        }
        if self.shutting_down {
            match transport.poll_shutdown(cx) {
                Poll::Ready(_) => {
                    self.shutting_down = false;
                    out.closed = true;
                }
                Poll::Pending => {
                    out.blocked = true;
                    return Ok(out);
                }
            }
        }
        Ok(out)
    }

    /// Sleeps until the machine's next deadline; `true` if it is due already.
    fn poll_sleep(&mut self, cx: &mut Context<'_>) -> bool {
        let next = match (self.machine.poll_timeout(), self.coalesce_until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let Some(at) = next else {
            self.sleep_at = None;
            return false;
        };
        if self.sleep_at != Some(at) {
            self.sleep_at = Some(at);
            self.sleep
                .as_mut()
                .reset(tokio::time::Instant::from_std(at));
        }
        self.sleep.as_mut().poll(cx).is_ready()
    }

    fn finished(&self) -> bool {
        self.machine.is_closed() && self.transport.is_none() && self.dialing.is_none()
    }
}

#[derive(Debug, Default)]
struct Written {
    progress: bool,
    /// Bytes wait that the transport did not take (it will wake the driver when it can).
    blocked: bool,
    /// A graceful shutdown completed.
    closed: bool,
}

impl Future for Driver {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        this.shared.driver.register(cx.waker());
        for _ in 0..ROUNDS {
            let busy = this.round(cx);
            if this.finished() {
                return Poll::Ready(());
            }
            if !busy {
                if this.poll_sleep(cx) {
                    continue;
                }
                return Poll::Pending;
            }
        }
        // Work is left: yield, and come back at once.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Runs the driver, turning a panic (a bug) into a closed client with an error anyone can see.
pub(crate) struct Guarded {
    driver: Option<Driver>,
    shared: Arc<Shared>,
}

impl Guarded {
    pub(crate) fn new(driver: Driver) -> Guarded {
        let shared = Arc::clone(&driver.shared);
        Guarded {
            driver: Some(driver),
            shared,
        }
    }
}

impl Future for Guarded {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(driver) = &mut self.driver else {
            return Poll::Ready(());
        };
        match catch_unwind(AssertUnwindSafe(|| Pin::new(driver).poll(cx))) {
            Ok(poll) => poll,
            Err(payload) => {
                let message = panic_message(payload.as_ref());
                tracing::error!(%message, "the connection driver panicked; the client is closed");
                if let Some(mut driver) = self.driver.take() {
                    // Best effort: end the subscriptions' streams too.
                    let _ = catch_unwind(AssertUnwindSafe(|| driver.machine.close_subscriptions()));
                }
                fail(&self.shared, ConnectionError::Internal(message));
                Poll::Ready(())
            }
        }
    }
}

/// Closes everything a handle can wait on, without the state machine.
fn fail(shared: &Shared, reason: ConnectionError) {
    shared.queue.set_phase(Phase::Closed);
    shared.requests.close(&RequestError::Closed);
    shared.view.set_connected(None);
    shared.view.set_closed_reason(reason.clone());
    shared
        .view
        .set_connect_result(Err(ConnectError::Protocol(reason.to_string())));
    shared.view.set_drain_result(Err(DrainError::Closed));
    shared.view.set_status(Status::Closed);
    let closed = Event::Closed { reason };
    shared.view.record_event(&closed);
    shared.events.emit(closed);
}
