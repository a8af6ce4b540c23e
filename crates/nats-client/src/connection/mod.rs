//! The connection: one sans-I/O state machine that owns the life cycle, and the tokio task
//! that drives it.
//!
//! - [`machine`]: [`Connection`](machine::Connection) — status, pool, back-off, keep-alive,
//!   timers, sid table, handshake, drain, close; `handle_*` in, `poll_*` out, `now` passed in.
//! - [`handshake`]: one attempt's handshake steps (R22–R30) and the CONNECT it sends.
//! - [`drain`]: the drain's stages (R113).
//! - [`timer`]: the table of deadlines, keyed by [`Timer`](timer::Timer).
//! - [`ping`]: keep-alive arithmetic (R37, R38).
//! - [`confirm`]: when `at_least_once` sends a confirmation PING.
//! - [`dial`]: one attempt's TCP connection: resolve, shuffle, try every address (R20).
//! - [`transport`]: TCP and TLS sockets and WebSockets, polled without cancellation.
//! - [`websocket`]: the WebSocket transport (`ws://`, `wss://`) as a byte pipe.
//! - [`driver`]: the task: moves bytes and timers, carries out the machine's actions.

pub(crate) mod confirm;
pub(crate) mod dial;
pub(crate) mod drain;
pub(crate) mod driver;
pub(crate) mod handshake;
pub(crate) mod machine;
pub(crate) mod ping;
pub(crate) mod timer;
pub(crate) mod transport;
pub(crate) mod websocket;

#[cfg(test)]
mod tests;
