//! Automatic reconnection against real nats-server processes (kill -9, SIGTERM, restart on the
//! same port, clusters, lame duck, config reload, a fault proxy) and a scripted fake server for
//! misbehaviour. One test binary, one module per topic; every test names the R/D numbers of
//! `spec/reconnect-behaviour.md` it checks.

#![allow(clippy::unwrap_used)]

mod util;

mod at_least_once;
mod auth;
mod buffer;
mod cluster;
mod drain;
mod lame_duck;
mod policy;
mod restart;
mod scripted;
mod stale;
