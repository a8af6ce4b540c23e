//! [`View`]: what the handles read about the connection. Written only by the connection state
//! machine (in the driver task); every handle method that reports state reads a snapshot here
//! and never waits for the driver.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use nats_proto::ServerInfo;
use tokio::sync::watch;

use crate::error::{ConnectError, ConnectionError, DrainError};
use crate::events::Status;
use crate::pool::PoolServer;
use crate::server_addr::ServerAddr;

fn read<T: Clone>(lock: &RwLock<T>) -> T {
    lock.read().unwrap_or_else(|p| p.into_inner()).clone()
}

fn write<T>(lock: &RwLock<T>, value: T) {
    *lock.write().unwrap_or_else(|p| p.into_inner()) = value;
}

/// Snapshots of the connection's state.
#[derive(Debug)]
pub(crate) struct View {
    status: watch::Sender<Status>,
    info: RwLock<Arc<ServerInfo>>,
    connected: RwLock<Option<ServerAddr>>,
    pool: RwLock<Arc<Vec<PoolServer>>>,
    closed_reason: RwLock<Option<ConnectionError>>,
    /// The first connect's outcome: `Ok` once connected (or handed over to the retry loop).
    connect: watch::Sender<Option<Result<(), ConnectError>>>,
    /// The drain's outcome, once it has one.
    drain: watch::Sender<Option<Result<(), DrainError>>>,
    /// The last server's `max_payload`, kept while disconnected (R69).
    max_payload: AtomicUsize,
    headers: AtomicBool,
}

impl View {
    pub(crate) fn new(pool: Vec<PoolServer>) -> View {
        View {
            status: watch::channel(Status::Connecting).0,
            info: RwLock::new(Arc::new(ServerInfo::default())),
            connected: RwLock::new(None),
            pool: RwLock::new(Arc::new(pool)),
            closed_reason: RwLock::new(None),
            connect: watch::channel(None).0,
            drain: watch::channel(None).0,
            max_payload: AtomicUsize::new(usize::MAX),
            headers: AtomicBool::new(true),
        }
    }

    pub(crate) fn status(&self) -> Status {
        *self.status.borrow()
    }

    pub(crate) fn watch_status(&self) -> watch::Receiver<Status> {
        self.status.subscribe()
    }

    /// Changes the status; `Closed` is final.
    pub(crate) fn set_status(&self, status: Status) {
        self.status.send_if_modified(|s| {
            if *s == status || *s == Status::Closed {
                false
            } else {
                *s = status;
                true
            }
        });
    }

    pub(crate) fn info(&self) -> Arc<ServerInfo> {
        read(&self.info)
    }

    pub(crate) fn set_info(&self, info: ServerInfo) {
        if info.max_payload > 0 {
            self.max_payload.store(info.max_payload, Ordering::Relaxed);
        }
        self.headers.store(info.headers, Ordering::Relaxed);
        write(&self.info, Arc::new(info));
    }

    pub(crate) fn max_payload(&self) -> usize {
        self.max_payload.load(Ordering::Relaxed)
    }

    pub(crate) fn headers_supported(&self) -> bool {
        self.headers.load(Ordering::Relaxed)
    }

    pub(crate) fn connected(&self) -> Option<ServerAddr> {
        read(&self.connected)
    }

    pub(crate) fn set_connected(&self, addr: Option<ServerAddr>) {
        write(&self.connected, addr);
    }

    pub(crate) fn pool(&self) -> Arc<Vec<PoolServer>> {
        read(&self.pool)
    }

    pub(crate) fn set_pool(&self, pool: Vec<PoolServer>) {
        write(&self.pool, Arc::new(pool));
    }

    pub(crate) fn closed_reason(&self) -> Option<ConnectionError> {
        read(&self.closed_reason)
    }

    pub(crate) fn set_closed_reason(&self, reason: ConnectionError) {
        let mut slot = self
            .closed_reason
            .write()
            .unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert(reason);
    }

    /// The first connect's outcome; only the first one counts.
    pub(crate) fn set_connect_result(&self, result: Result<(), ConnectError>) {
        self.connect.send_if_modified(|slot| {
            if slot.is_some() {
                return false;
            }
            *slot = Some(result);
            true
        });
    }

    pub(crate) fn watch_connect(&self) -> watch::Receiver<Option<Result<(), ConnectError>>> {
        self.connect.subscribe()
    }

    /// The drain's outcome; only the first one counts.
    pub(crate) fn set_drain_result(&self, result: Result<(), DrainError>) {
        self.drain.send_if_modified(|slot| {
            if slot.is_some() {
                return false;
            }
            *slot = Some(result);
            true
        });
    }

    pub(crate) fn drain_result(&self) -> Option<Result<(), DrainError>> {
        self.drain.borrow().clone()
    }

    pub(crate) fn watch_drain(&self) -> watch::Receiver<Option<Result<(), DrainError>>> {
        self.drain.subscribe()
    }
}
