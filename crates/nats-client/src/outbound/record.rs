//! What the handles hand the connection besides bytes: [`Record`]s (subscribe, unsubscribe and
//! the life-cycle [`Command`]s), and who waits for each PING's PONG ([`PongWaiter`]). The
//! [`WriteQueue`](super::WriteQueue) carries them; the state machine applies them.

use std::sync::Arc;

use tokio::sync::oneshot;

use crate::error::ConnectionError;
use crate::server_addr::ServerAddr;
use crate::subscription::SubState;

/// A life-cycle request to the connection (rare control operations, never on the publish path).
#[derive(Debug)]
pub(crate) enum Command {
    /// Close for good with this reason.
    Close(ConnectionError),
    /// Start draining (or join the drain in progress).
    Drain,
    /// Drop the connection and reconnect, first attempt without waiting (R103, R105); fail the
    /// requests with a token below `requests_before` (in flight when the command was queued).
    ForceReconnect { requests_before: u64 },
    /// Replace the server pool (R107).
    SetServerPool(Vec<ServerAddr>),
    /// Every handle to the client is gone.
    HandlesDropped,
}

/// What the handles hand the connection besides bytes.
#[derive(Debug)]
pub(crate) enum Record {
    Subscribe(Arc<SubState>),
    Unsubscribe(u64),
    Command(Command),
}

/// Who waits for the PONG of a PING in the byte stream (R78).
#[derive(Debug)]
pub(crate) enum PongWaiter {
    /// A keep-alive PING: nobody.
    KeepAlive,
    /// `flush()` / `rtt()`.
    User(oneshot::Sender<()>),
    /// The state machine's own round trip (drain), by token.
    Internal(u64),
    /// A confirmation PING of `at_least_once`: its PONG confirms what was written before it.
    Confirm,
}
