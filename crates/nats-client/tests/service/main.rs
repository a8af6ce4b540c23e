//! The service API (ADR-32, `nats_client::service`) against real nats-server processes:
//! discovery through `$SRV` requests made with our own client, the exact JSON of the
//! responses, per-endpoint stats and error headers, groups and queue groups across
//! instances, stop with drain, a server restart on the same port and a cluster fail-over
//! (R54, R55: the endpoints are ordinary subscriptions, re-sent at reconnect), and interop
//! with nats.go's `micro` package when Go is installed.

#![allow(clippy::unwrap_used)]

mod util;

mod discovery;
mod endpoints;
mod interop;
mod lifecycle;
