//! The one error type of the kit.

use std::time::Duration;

/// Everything that can go wrong while starting or driving a server, proxy or scripted peer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestkitError {
    /// No `nats-server` binary: set `NATS_SERVER_BIN`, put it on `PATH`, or install
    /// `/usr/sbin/nats-server`.
    #[error("nats-server not found (NATS_SERVER_BIN, PATH, /usr/sbin/nats-server)")]
    ServerNotFound,
    /// An I/O error from a socket, a file or a child process.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The server did not accept connections (with an INFO line) before the deadline.
    #[error("nats-server on 127.0.0.1:{port} not ready after {waited:?}; log:\n{log}")]
    StartTimeout {
        /// The client port it should have listened on.
        port: u16,
        /// How long we waited.
        waited: Duration,
        /// The server log so far.
        log: String,
    },
    /// The server process exited before it became ready.
    #[error("nats-server on 127.0.0.1:{port} exited ({status}) before it was ready; log:\n{log}")]
    Exited {
        /// The client port it should have listened on.
        port: u16,
        /// The exit status, as text.
        status: String,
        /// The server log so far.
        log: String,
    },
    /// The operation needs a running server process.
    #[error("nats-server is not running")]
    NotRunning,
    /// Sending a signal to the server failed.
    #[error("signal {signal} to pid {pid} failed: {detail}")]
    Signal {
        /// The `nats-server --signal` name (`ldm`, `reload`, `term`).
        signal: &'static str,
        /// The target PID.
        pid: u32,
        /// What went wrong.
        detail: String,
    },
    /// The server rejected a configuration reload.
    #[error("nats-server rejected the reload: {0}")]
    ReloadFailed(String),
    /// `nats-server --version` printed something unexpected.
    #[error("cannot parse nats-server version from {0:?}")]
    Version(String),
    /// Something did not happen before its deadline.
    #[error("timed out after {waited:?} waiting for {what}")]
    Timeout {
        /// What we waited for.
        what: String,
        /// How long we waited.
        waited: Duration,
    },
    /// The peer sent bytes the protocol parser rejects.
    #[error("protocol error: {0}")]
    Proto(#[from] nats_proto::ParseError),
    /// The peer sent something other than what the script expected.
    #[error("unexpected: {0}")]
    Unexpected(String),
    /// The peer closed the connection.
    #[error("connection closed by the peer")]
    Closed,
}

impl TestkitError {
    pub(crate) fn timeout(what: impl Into<String>, waited: Duration) -> Self {
        TestkitError::Timeout {
            what: what.into(),
            waited,
        }
    }
}
