//! Core client behaviour against a real nats-server (issue: core client). One test binary, one
//! module per topic.

#![allow(clippy::unwrap_used)]

mod util;

mod connect;
mod errors;
mod lifecycle;
mod pubsub;
mod request;
