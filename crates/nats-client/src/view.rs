//! [`View`]: what the handles read about the connection. Written only by the connection state
//! machine (in the driver task); every handle method that reports state reads a snapshot here
//! and never waits for the driver.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use nats_proto::ServerInfo;
use tokio::sync::watch;

use crate::error::{ConnectError, ConnectionError, DrainError};
use crate::events::{Event, Status};
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
    /// The most recent error an event reported ([`error_of`]).
    last_error: RwLock<Option<ConnectionError>>,
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
            last_error: RwLock::new(None),
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

    pub(crate) fn last_error(&self) -> Option<ConnectionError> {
        read(&self.last_error)
    }

    /// Keeps the error `event` reports, if it reports one (every event leaves the state
    /// machine through here, so `last_error` is current when a callback sees the event).
    pub(crate) fn record_event(&self, event: &Event) {
        if let Some(error) = error_of(event) {
            write(&self.last_error, Some(error));
        }
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

/// The error an event reports, for [`View::last_error`]: why a connection ended, why a reconnect
/// attempt failed, a `-ERR` the connection survived (R51), why the client closed (R13, R35,
/// R52, R93). A deliberate end (`close()`, `drain()`, `force_reconnect()`, leaving a lame-duck
/// server, every handle dropped) is not an error: after a `close()` during reconnecting the last
/// error stays the cause of the outage instead of becoming "no servers".
fn error_of(event: &Event) -> Option<ConnectionError> {
    let error = match event {
        Event::Disconnected { error } => error.clone(),
        Event::Closed { reason } => reason.clone(),
        Event::ReconnectFailed { error, .. } => ConnectionError::Connect(error.clone()),
        Event::ServerError { error } => ConnectionError::Server(error.clone()),
        _ => return None,
    };
    (!error.is_deliberate()).then_some(error)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use nats_proto::ServerError;

    use super::*;

    fn last_after(events: &[Event]) -> Option<String> {
        let view = View::new(Vec::new());
        for e in events {
            view.record_event(e);
        }
        view.last_error().map(|e| e.to_string())
    }

    #[test]
    fn r51_r93_last_error_keeps_the_latest_error_an_event_reports() {
        let denied = ServerError::parse("Permissions Violation for Publish to \"x\"");
        let seen = last_after(&[
            Event::Connected,
            Event::ServerError {
                error: denied.clone(),
            },
            Event::Reconnected,
            Event::SlowConsumer { sid: 1, dropped: 3 },
        ]);
        assert_eq!(seen, Some(ConnectionError::Server(denied).to_string()));
        let seen = last_after(&[
            Event::Disconnected {
                error: ConnectionError::StaleConnection,
            },
            Event::ReconnectFailed {
                server: "nats://127.0.0.1:1".into(),
                error: ConnectError::TimedOut(Duration::from_secs(2)),
                attempt: 1,
            },
        ]);
        assert_eq!(
            seen,
            Some(
                ConnectionError::Connect(ConnectError::TimedOut(Duration::from_secs(2)))
                    .to_string()
            )
        );
        assert_eq!(last_after(&[Event::Connected, Event::Reconnected]), None);
    }

    #[test]
    fn r13_r35_a_close_with_a_cause_is_the_last_error_a_deliberate_one_is_not() {
        let closed = |reason| Event::Closed { reason };
        assert_eq!(
            last_after(&[closed(ConnectionError::NoServers)]),
            Some(ConnectionError::NoServers.to_string())
        );
        // close() while reconnecting: the outage's cause stays (not "no servers")
        let seen = last_after(&[
            Event::Disconnected {
                error: ConnectionError::StaleConnection,
            },
            closed(ConnectionError::ClosedByUser),
        ]);
        assert_eq!(seen, Some(ConnectionError::StaleConnection.to_string()));
        for deliberate in [
            ConnectionError::ClosedByUser,
            ConnectionError::ForcedReconnect,
            ConnectionError::LameDuck,
            ConnectionError::Drained,
            ConnectionError::HandlesDropped,
        ] {
            let ended = Event::Disconnected {
                error: deliberate.clone(),
            };
            assert_eq!(last_after(&[ended, closed(deliberate)]), None);
        }
    }
}
