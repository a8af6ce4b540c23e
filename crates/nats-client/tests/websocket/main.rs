//! The WebSocket transport (`ws://`, `wss://`) against real nats-server processes with a
//! `websocket { }` block: messaging, the reconnect behaviour of `spec/reconnect-behaviour.md`
//! over WebSocket (restart, cluster fail-over to discovered ws URLs, lame duck, stale
//! detection through the fault proxy), wss with a test CA, and the errors (R5 mixed pool, a
//! ws URL at a plain NATS port).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/wait.rs"]
mod wait;

mod messaging;
mod reconnect;
mod tls;

use std::time::Duration;

use nats_client::ConnectOptions;

/// Quick reconnects for tests.
pub(crate) fn fast() -> ConnectOptions {
    ConnectOptions::new()
        .reconnect_wait(Duration::from_millis(50))
        .reconnect_jitter(Duration::ZERO, Duration::ZERO)
        .connection_timeout(Duration::from_secs(2))
        .max_reconnects(None)
}
