//! The kit's own tests: real `nats-server` processes, the fault proxy and the scripted server,
//! driven from the client side with raw tokio sockets.
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

mod raw;

mod cluster;
mod jetstream;
mod proxy;
mod scripted;
mod server;
