//! The state one client's handles and tasks share. Each piece has one owner for writes: the
//! supervisor owns the life cycle (status, pool, server info), the reader owns dispatch, the
//! handles append to the write buffer and the subscription table.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use nats_proto::{ServerError, ServerInfo};
use tokio::sync::{mpsc, oneshot, Notify};

use crate::connection::buffer::WriteBuffer;
use crate::error::ConnectionError;
use crate::events::{Event, Events};
use crate::options::ConnectOptions;
use crate::pool::ServerPool;
use crate::request::RequestMux;
use crate::rng::Rng;
use crate::server_addr::ServerAddr;
use crate::stats::Counters;
use crate::subscriber::SubTable;

/// Requests to the supervisor (rare control operations; never on the publish path).
#[derive(Debug)]
pub(crate) enum Command {
    /// Close for good with this reason; the sender is dropped once `Closed` was emitted.
    Close {
        reason: ConnectionError,
        done: oneshot::Sender<()>,
    },
    /// Drop the connection and reconnect, first attempt without waiting (R103, R105).
    ForceReconnect,
    /// The server announced lame-duck mode and `lame_duck_reconnect` is set.
    LameDuck,
    /// Every `Client` handle is gone.
    HandlesDropped,
}

pub(crate) struct Shared {
    pub(crate) options: ConnectOptions,
    pub(crate) write: WriteBuffer,
    subs: Mutex<SubTable>,
    pub(crate) requests: Arc<RequestMux>,
    pub(crate) events: Events,
    pub(crate) counters: Counters,
    info: RwLock<Arc<ServerInfo>>,
    /// The last server's `max_payload`, kept while disconnected (R69).
    pub(crate) max_payload: AtomicUsize,
    pub(crate) headers_supported: AtomicBool,
    pool: Mutex<ServerPool>,
    connected: Mutex<Option<ServerAddr>>,
    pub(crate) commands: mpsc::UnboundedSender<Command>,
    /// Set by `drain()`: a lost connection then closes instead of reconnecting (R36).
    pub(crate) draining: AtomicBool,
    /// Signalled when a draining subscription's queue empties or its subscriber goes away.
    pub(crate) drain_progress: Notify,
    closed_reason: Mutex<Option<ConnectionError>>,
    rng: Mutex<Rng>,
}

fn recover<T>(r: std::sync::LockResult<MutexGuard<'_, T>>) -> MutexGuard<'_, T> {
    r.unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    pub(crate) fn new(
        options: ConnectOptions,
        pool: ServerPool,
        events: Events,
        commands: mpsc::UnboundedSender<Command>,
        mut rng: Rng,
    ) -> Shared {
        let requests = Arc::new(RequestMux::new(&options.inbox_prefix, rng.base62(22)));
        Shared {
            write: WriteBuffer::new(options.reconnect_buffer_size),
            subs: Mutex::new(SubTable::default()),
            requests,
            events,
            counters: Counters::default(),
            info: RwLock::new(Arc::new(ServerInfo::default())),
            max_payload: AtomicUsize::new(usize::MAX),
            headers_supported: AtomicBool::new(true),
            pool: Mutex::new(pool),
            connected: Mutex::new(None),
            commands,
            draining: AtomicBool::new(false),
            drain_progress: Notify::new(),
            closed_reason: Mutex::new(None),
            rng: Mutex::new(rng),
            options,
        }
    }

    /// The subscription table lock ("subscriptions"). Order: subscriptions, then write buffer.
    pub(crate) fn subs(&self) -> MutexGuard<'_, SubTable> {
        recover(self.subs.lock())
    }

    /// The pool lock ("server pool"): never held across I/O or a callback.
    pub(crate) fn pool(&self) -> MutexGuard<'_, ServerPool> {
        recover(self.pool.lock())
    }

    pub(crate) fn rng(&self) -> MutexGuard<'_, Rng> {
        recover(self.rng.lock())
    }

    pub(crate) fn info(&self) -> Arc<ServerInfo> {
        Arc::clone(&self.info.read().unwrap_or_else(|p| p.into_inner()))
    }

    pub(crate) fn connected_addr(&self) -> Option<ServerAddr> {
        recover(self.connected.lock()).clone()
    }

    pub(crate) fn set_connected_addr(&self, addr: Option<ServerAddr>) {
        *recover(self.connected.lock()) = addr;
    }

    pub(crate) fn closed_reason(&self) -> Option<ConnectionError> {
        recover(self.closed_reason.lock()).clone()
    }

    pub(crate) fn set_closed_reason(&self, reason: ConnectionError) {
        recover(self.closed_reason.lock()).get_or_insert(reason);
    }

    /// Applies a server INFO (R95–R102). `initial` is the INFO of the very first connection,
    /// which raises no discovery or lame-duck event (R96, R102).
    pub(crate) fn apply_info(&self, info: ServerInfo, initial: bool) {
        let lame_duck = info.ldm;
        if !self.options.ignore_discovered_servers {
            let new = {
                let mut rng = self.rng();
                self.pool().apply_connect_urls(&info.connect_urls, &mut rng)
            };
            if !new.is_empty() && !initial {
                self.events.emit(Event::DiscoveredServers);
            }
        }
        if info.max_payload > 0 {
            self.max_payload.store(info.max_payload, Ordering::Relaxed);
        }
        self.headers_supported
            .store(info.headers, Ordering::Relaxed);
        *self.info.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(info);
        if lame_duck && !initial {
            self.events.emit(Event::LameDuckMode);
            if self.options.lame_duck_reconnect.is_some() {
                let _ = self.commands.send(Command::LameDuck);
            }
        }
    }

    /// A `-ERR` on a live connection. `Ok` when the connection stays up (R51, R46: auth errors
    /// are reported and remembered; the server closes the socket itself), otherwise the cause
    /// that ends the connection.
    pub(crate) fn server_error(&self, error: ServerError) -> Result<(), ConnectionError> {
        if error.is_connection_kept() {
            self.events.emit(Event::ServerError { error });
            return Ok(());
        }
        if error.is_auth_error() {
            if let Some(addr) = self.connected_addr() {
                self.pool().record_auth_error(&addr, error.kind());
            }
            self.events.emit(Event::ServerError { error });
            return Ok(());
        }
        if matches!(error.kind(), nats_proto::ServerErrorKind::StaleConnection) {
            return Err(ConnectionError::StaleConnection);
        }
        Err(ConnectionError::Server(error))
    }
}
