//! [`ClientGuard`]: what a [`Client`](crate::Client) and a [`Subscriber`](crate::Subscriber)
//! hold, and the round trips both need (flush).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::error::FlushError;
use crate::events::Status;
use crate::outbound::{Command, PongWaiter};
use crate::shared::Shared;

/// What a [`Client`](crate::Client) and a [`Subscriber`](crate::Subscriber) hold: the shared state and a
/// count of user handles. The driver holds `Shared` only, so it never keeps the connection
/// alive by itself.
#[derive(Clone)]
pub(crate) struct ClientGuard {
    shared: Arc<Shared>,
    _handle: Arc<HandleGuard>,
}

impl ClientGuard {
    /// The first handle of a new client.
    pub(crate) fn new(shared: Arc<Shared>) -> ClientGuard {
        ClientGuard {
            _handle: Arc::new(HandleGuard {
                shared: Arc::clone(&shared),
            }),
            shared,
        }
    }
}

/// When the last user handle goes, the connection closes.
struct HandleGuard {
    shared: Arc<Shared>,
}

impl Drop for HandleGuard {
    fn drop(&mut self) {
        self.shared.queue.command(Command::HandlesDropped);
    }
}

impl ClientGuard {
    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.shared.view.status() == Status::Closed
    }

    /// A PING/PONG round trip, waiting for a reconnect first (R75).
    pub(crate) async fn flush(&self) -> Result<(), FlushError> {
        flush_within(&self.shared, self.shared.options.flush_timeout).await
    }
}

/// A flush with `timeout`: a PING/PONG on the live connection, or, while reconnecting, a wait
/// for the next connection first (R75).
pub(crate) async fn flush_within(shared: &Shared, timeout: Duration) -> Result<(), FlushError> {
    let deadline = Instant::now().checked_add(timeout);
    let mut status = shared.view.watch_status();
    loop {
        if shared.view.status() == Status::Closed {
            return Err(FlushError::Closed);
        }
        if let Some(result) = round_trip(shared, deadline, timeout).await {
            return result;
        }
        // Not connected: wait for the next status change (R75).
        match until(deadline, status.changed()).await {
            Some(Ok(())) => {}
            Some(Err(_)) => return Err(FlushError::Closed),
            None => return Err(FlushError::TimedOut(timeout)),
        }
    }
}

/// One PING/PONG on the live connection, the PONG awaited until `deadline` (`None`: no
/// deadline). `None` when no connection is live (nothing was sent).
pub(crate) async fn round_trip(
    shared: &Shared,
    deadline: Option<Instant>,
    timeout: Duration,
) -> Option<Result<(), FlushError>> {
    let (tx, rx) = oneshot::channel();
    shared.queue.ping(PongWaiter::User(tx)).ok()?;
    Some(match until(deadline, rx).await {
        Some(Ok(())) => Ok(()),
        Some(Err(_)) if shared.view.status() == Status::Closed => Err(FlushError::Closed),
        Some(Err(_)) => Err(FlushError::Disconnected),
        None => Err(FlushError::TimedOut(timeout)),
    })
}

/// `fut`, or `None` at `deadline` (`None`: never).
pub(crate) async fn until<F: std::future::Future>(
    deadline: Option<Instant>,
    fut: F,
) -> Option<F::Output> {
    match deadline {
        Some(at) => tokio::time::timeout_at(at, fut).await.ok(),
        None => Some(fut.await),
    }
}
