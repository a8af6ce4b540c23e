//! The supervisor task: owns the connection's life cycle. It serves a live connection until it
//! is lost (reader EOF or error, writer error, stale pings, a fatal `-ERR`), a command arrives
//! (close, force_reconnect, lame duck), then reconnects through the pool and back-off policy of
//! [`pool`](crate::pool), and closes for good when the rules say so (spec §2 A–D, §3 timelines).
//!
//! No lock is held across an await; handles talk to it through [`Command`]s.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::buffer::Phase;
use super::handshake::{self, Established};
use super::ping::{self, Tick};
use super::writer::{self, Mode};
use super::{reader, ConnCtx};
use crate::error::{ConnectError, ConnectionError, RequestError};
use crate::events::{Event, Status};
use crate::pool::{Backoff, DelayPolicy};
use crate::server_addr::ServerAddr;
use crate::shared::{Command, Shared};
use crate::stats::Counters;

/// How long a graceful close waits for the writer to hand the buffer to the socket.
const CLOSE_FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// A live connection's tasks.
pub(crate) struct LiveConn {
    ctx: Arc<ConnCtx>,
    reader: JoinHandle<ConnectionError>,
    writer: JoinHandle<writer::Exit>,
    writer_mode: watch::Sender<Mode>,
}

/// How a wait of the reconnect loop ended.
enum Waited<T> {
    Done(T),
    /// `force_reconnect()` was called meanwhile.
    Forced,
}

/// What follows a lost connection.
#[derive(Debug)]
enum After {
    Reconnect { skip_wait: bool },
    Close(ConnectionError),
}

pub(crate) struct Supervisor {
    shared: Arc<Shared>,
    commands: mpsc::UnboundedReceiver<Command>,
    ever_connected: bool,
    /// `close()` callers, released once `Closed` is emitted.
    close_waiters: Vec<oneshot::Sender<()>>,
}

impl Supervisor {
    pub(crate) fn new(
        shared: Arc<Shared>,
        commands: mpsc::UnboundedReceiver<Command>,
        ever_connected: bool,
    ) -> Supervisor {
        Supervisor {
            shared,
            commands,
            ever_connected,
            close_waiters: Vec::new(),
        }
    }

    /// Makes an established connection live: pool bookkeeping, server info, subscriptions
    /// re-sent before the buffered publishes (R54, R65), reader and writer started, status and
    /// events (R26, R83).
    pub(crate) fn activate(shared: &Arc<Shared>, est: Established, first: bool) -> LiveConn {
        let Established {
            addr,
            info,
            read,
            write,
            leftover,
            parser,
        } = est;
        shared.pool().record_connected(&addr);
        shared.apply_info(info, first);
        shared.set_connected_addr(Some(addr.clone()));
        let resubscribed = {
            let table = shared.subs();
            let mut prefix = BytesMut::new();
            let n = table.resubscribe(&mut prefix);
            shared.write.connect(&prefix, write.direct());
            n
        };
        let ctx = Arc::new(ConnCtx {
            pings_out: Default::default(),
            addr,
        });
        let (writer_mode, mode_rx) = watch::channel(Mode::Run);
        let writer = tokio::spawn(writer::run(Arc::clone(shared), write, mode_rx));
        let reader = tokio::spawn(reader::run(
            Arc::clone(shared),
            Arc::clone(&ctx),
            read,
            leftover,
            parser,
        ));
        if !shared.draining.load(Ordering::Relaxed) {
            shared.events.set_status(Status::Connected);
        }
        tracing::info!(server = %ctx.addr, "connected");
        if first {
            shared.events.emit(Event::Connected);
        } else {
            shared.events.emit(Event::Reconnected);
            if resubscribed > 0 {
                shared.events.emit(Event::Resubscribed);
            }
        }
        LiveConn {
            ctx,
            reader,
            writer,
            writer_mode,
        }
    }

    /// Runs until the client is closed.
    pub(crate) async fn run(mut self, mut live: Option<LiveConn>) {
        let mut skip_wait = false;
        loop {
            if let Some(conn) = live.take() {
                match self.serve(conn).await {
                    After::Close(reason) => return self.finish(reason),
                    After::Reconnect { skip_wait: skip } => skip_wait = skip,
                }
            }
            match self.reconnect(skip_wait).await {
                Ok(conn) => live = Some(conn),
                Err(reason) => return self.finish(reason),
            }
            skip_wait = false;
        }
    }

    /// What a lost connection leads to (R33, R35, R36, R50, R52).
    fn after_loss(&self, cause: &ConnectionError) -> After {
        if self.shared.draining.load(Ordering::Relaxed) {
            return After::Close(cause.clone());
        }
        if let ConnectionError::Server(e) = cause {
            if !e.triggers_reconnect() {
                return After::Close(cause.clone());
            }
        }
        if !self.shared.options.allow_reconnect {
            return After::Close(cause.clone());
        }
        After::Reconnect { skip_wait: false }
    }

    /// Serves one live connection until it ends, then tears it down: the writer hands back its
    /// unsent bytes (D1), PING waiters fail (R74), `Disconnected` fires once with its cause (D2).
    async fn serve(&mut self, mut conn: LiveConn) -> After {
        let shared = Arc::clone(&self.shared);
        let ping_every = shared.options.ping_interval;
        let mut ping = (!ping_every.is_zero()).then(|| {
            let mut i = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
            i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            i
        });
        let mut lame_duck_at: Option<Instant> = None;
        let mut writer_exit: Option<writer::Exit> = None;
        let (cause, after, graceful) = loop {
            tokio::select! {
                ended = &mut conn.reader => {
                    let cause = ended.unwrap_or_else(|e| {
                        ConnectionError::io(std::io::Error::other(format!("reader task failed: {e}")))
                    });
                    let after = self.after_loss(&cause);
                    break (cause, after, false);
                }
                exit = &mut conn.writer => {
                    let exit = exit.unwrap_or_else(|e| writer::Exit {
                        taken: BytesMut::new(),
                        sent: 0,
                        error: Some(std::io::Error::other(format!("writer task failed: {e}"))),
                    });
                    let cause = ConnectionError::io(exit.error.as_ref().map_or_else(
                        || std::io::Error::other("writer stopped"),
                        |e| std::io::Error::new(e.kind(), e.to_string()),
                    ));
                    writer_exit = Some(exit);
                    let after = self.after_loss(&cause);
                    break (cause, after, false);
                }
                _ = tick(&mut ping) => {
                    let out = conn.ctx.pings_out.fetch_add(1, Ordering::Relaxed) + 1;
                    match ping::on_tick(out, shared.options.max_pings_out) {
                        Tick::Stale => {
                            let cause = ConnectionError::StaleConnection;
                            let after = self.after_loss(&cause);
                            break (cause, after, false);
                        }
                        Tick::SendPing => {
                            let _ = shared.write.ping(None);
                        }
                    }
                }
                () = sleep_until(lame_duck_at) => {
                    break (ConnectionError::LameDuck, After::Reconnect { skip_wait: true }, true);
                }
                command = self.commands.recv() => match command {
                    Some(Command::Close { reason, done }) => {
                        self.close_waiters.push(done);
                        break (reason.clone(), After::Close(reason), true);
                    }
                    Some(Command::ForceReconnect) => {
                        shared.requests.fail_all(&RequestError::ConnectionReset);
                        break (ConnectionError::ForcedReconnect, After::Reconnect { skip_wait: true }, false);
                    }
                    Some(Command::LameDuck) => {
                        if let Some(window) = shared.options.lame_duck_reconnect {
                            let delay = shared.rng().duration_below(window);
                            lame_duck_at.get_or_insert(Instant::now() + delay);
                        }
                    }
                    Some(Command::HandlesDropped) | None => {
                        let reason = ConnectionError::HandlesDropped;
                        break (reason.clone(), After::Close(reason), true);
                    }
                },
            }
        };

        let exit = match writer_exit {
            Some(exit) => exit,
            None => stop_writer(&mut conn, graceful).await,
        };
        conn.reader.abort();
        shared
            .write
            .disconnect(&exit.taken, exit.sent, Phase::Disconnected);
        shared.set_connected_addr(None);
        if matches!(after, After::Reconnect { .. }) {
            shared.events.set_status(Status::Reconnecting);
        }
        tracing::info!(server = %conn.ctx.addr, error = %cause, "disconnected");
        shared.events.emit(Event::Disconnected { error: cause });
        after
    }

    /// The reconnect loop (R11–R17, R43–R49, R103–R106): pick a server, wait as the policy
    /// says (interruptible by close and force_reconnect), dial, handshake; until one succeeds or
    /// the rules end it.
    async fn reconnect(&mut self, skip_wait: bool) -> Result<LiveConn, ConnectionError> {
        let shared = Arc::clone(&self.shared);
        let opts = &shared.options;
        let policy = DelayPolicy {
            wait: opts.reconnect_wait,
            jitter: opts.reconnect_jitter,
            jitter_tls: opts.reconnect_jitter_tls,
            tls: opts.require_tls || shared.pool().get(0).is_some_and(ServerAddr::is_tls),
            custom: opts.reconnect_delay.clone(),
        };
        let mut backoff = Backoff::new();
        if skip_wait {
            backoff.skip_next_wait();
        }
        loop {
            let now = Instant::now();
            let Some((addr, deadline)) = self.choose(&mut backoff, &policy, now) else {
                return Err(ConnectionError::NoServers);
            };
            if deadline > now {
                let sleep = tokio::time::sleep_until(deadline);
                tokio::pin!(sleep);
                // D5: a forced reconnect cuts this wait short, once.
                self.await_serving_commands(&mut sleep).await?;
            }
            let attempt = {
                let mut pool = shared.pool();
                pool.record_attempt(&addr);
                pool.entries()
                    .iter()
                    .find(|e| e.addr == addr)
                    .map_or(1, |e| e.attempts)
            };
            let handshake = handshake::connect(opts, &addr);
            tokio::pin!(handshake);
            // A forced reconnect during a handshake is already being served by it.
            let result = loop {
                if let Waited::Done(result) = self.await_serving_commands(&mut handshake).await? {
                    break result;
                }
            };
            match result {
                Ok(est) => {
                    let first = !self.ever_connected;
                    if !first {
                        Counters::add(&shared.counters.reconnects, 1);
                    }
                    self.ever_connected = true;
                    return Ok(Self::activate(&shared, est, first));
                }
                Err(error) => {
                    Counters::add(&shared.counters.failed_reconnects, 1);
                    tracing::debug!(server = %addr, %error, attempt, "reconnect attempt failed");
                    shared.events.emit(Event::ReconnectFailed {
                        server: addr.to_string(),
                        error: error.clone(),
                        attempt,
                    });
                    if let ConnectError::Server(e) = &error {
                        if e.is_auth_error() {
                            let repeated = shared.pool().record_auth_error(&addr, e.kind());
                            if repeated && !opts.ignore_auth_error_abort {
                                return Err(ConnectionError::Connect(error));
                            }
                        }
                    }
                }
            }
        }
    }

    /// Awaits `fut` while serving commands during reconnecting: close and the last handle going
    /// away end reconnecting (`Err` with the reason), force_reconnect returns
    /// [`Waited::Forced`] for the caller to decide, lame duck is moot while disconnected.
    async fn await_serving_commands<F: Future + Unpin>(
        &mut self,
        fut: &mut F,
    ) -> Result<Waited<F::Output>, ConnectionError> {
        loop {
            tokio::select! {
                out = &mut *fut => return Ok(Waited::Done(out)),
                command = self.commands.recv() => match command {
                    Some(Command::Close { reason, done }) => {
                        self.close_waiters.push(done);
                        return Err(reason);
                    }
                    Some(Command::ForceReconnect) => return Ok(Waited::Forced),
                    Some(Command::LameDuck) => {}
                    Some(Command::HandlesDropped) | None => {
                        return Err(ConnectionError::HandlesDropped)
                    }
                },
            }
        }
    }

    /// The next server and when to dial it: the R106 callback if set and it picks a pool
    /// member, otherwise the default rotation (R11) and back-off (R15). `None`: pool empty (R13).
    fn choose(
        &mut self,
        backoff: &mut Backoff,
        policy: &DelayPolicy,
        now: Instant,
    ) -> Option<(ServerAddr, Instant)> {
        let shared = &self.shared;
        if let Some(callback) = shared.options.reconnect_to_server.clone() {
            let snapshot = {
                let mut pool = shared.pool();
                pool.remove_exhausted();
                if pool.is_empty() {
                    return None;
                }
                pool.entries().to_vec()
            };
            let info = shared.info();
            if let Some((addr, delay)) = callback(&snapshot, Some(&info)) {
                if shared.pool().choose(&addr) {
                    return Some((addr, now + delay));
                }
                shared.events.emit(Event::ReconnectFailed {
                    server: addr.to_string(),
                    error: ConnectError::ServerNotInPool,
                    attempt: 0,
                });
            }
        }
        let (addr, len) = {
            let mut pool = shared.pool();
            let addr = pool.select_next()?;
            (addr, pool.len())
        };
        let deadline = {
            let mut rng = shared.rng();
            backoff.next_deadline(now.into_std(), len, policy, &mut rng)
        };
        Some((addr, Instant::from_std(deadline)))
    }

    /// Closed for good (R13, R68, R81, R87, R114): the buffer is discarded, waiters fail,
    /// subscriptions end, `Closed` fires once, `close()` callers are released.
    fn finish(mut self, reason: ConnectionError) {
        let shared = &self.shared;
        shared.write.set_phase(Phase::Closed);
        shared.requests.close(&RequestError::Closed);
        shared.subs().close_all();
        shared.set_connected_addr(None);
        shared.set_closed_reason(reason.clone());
        shared.events.set_status(Status::Closed);
        tracing::info!(%reason, "closed");
        shared.events.emit(Event::Closed { reason });
        shared.drain_progress.notify_waiters();
        self.close_waiters.clear();
        self.commands.close();
    }
}

/// Stops the writer: gracefully (everything buffered is handed to the socket, bounded by
/// [`CLOSE_FLUSH_TIMEOUT`]) or at once; returns its unsent bytes.
async fn stop_writer(conn: &mut LiveConn, graceful: bool) -> writer::Exit {
    let failed = |e: tokio::task::JoinError| writer::Exit {
        taken: BytesMut::new(),
        sent: 0,
        error: Some(std::io::Error::other(format!("writer task failed: {e}"))),
    };
    if graceful {
        let _ = conn.writer_mode.send(Mode::Finish);
        if let Ok(exit) = tokio::time::timeout(CLOSE_FLUSH_TIMEOUT, &mut conn.writer).await {
            return exit.unwrap_or_else(failed);
        }
    }
    let _ = conn.writer_mode.send(Mode::Stop);
    (&mut conn.writer).await.unwrap_or_else(failed)
}

async fn tick(interval: &mut Option<tokio::time::Interval>) {
    match interval {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
