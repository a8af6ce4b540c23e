//! TLS and authentication against real nats-server configs written by the testkit (issue: TLS
//! and every authentication method, refreshed on every reconnect). Certificates and JWTs are
//! generated at test time. One module per topic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod auth;
mod operator;
mod secrets;
mod tls;
mod tls_dupes;
