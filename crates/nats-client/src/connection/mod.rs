//! One connection at a time, and the supervisor that replaces it when it breaks.
//!
//! - [`handshake`]: dial, INFO, CONNECT + PING, PONG (R22–R26).
//! - [`reader`]: parses the socket and dispatches (zero-copy, resumable).
//! - [`writer`]: the one task that writes the shared buffer to the socket.
//! - [`buffer`]: the shared write buffer that doubles as the reconnect buffer.
//! - [`frames`]: frame boundaries of our own bytes, for what a dropped connection keeps (D1).
//! - [`ping`]: keep-alive arithmetic (R37, R38).
//! - [`supervisor`]: the life cycle: serve, detect loss, reconnect, close.

pub(crate) mod buffer;
pub(crate) mod frames;
pub(crate) mod handshake;
pub(crate) mod ping;
pub(crate) mod reader;
pub(crate) mod supervisor;
pub(crate) mod writer;

use std::sync::atomic::AtomicU32;

use crate::server_addr::ServerAddr;

/// Per-connection state shared by the reader and the supervisor.
#[derive(Debug)]
pub(crate) struct ConnCtx {
    /// Client PINGs not yet answered (R37).
    pub(crate) pings_out: AtomicU32,
    /// The server this connection goes to.
    pub(crate) addr: ServerAddr,
}
