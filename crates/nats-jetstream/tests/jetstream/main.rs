//! nats-jetstream against real nats-server processes (single JetStream servers and 3-node
//! JetStream clusters). One test binary, one module per topic; every test names the J-numbers
//! of `spec/jetstream-behaviour.md` it checks.

#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

mod util;

mod api;
mod durations;
mod failover;
mod kv;
mod kv_resume;
mod kv_watch;
mod messages;
mod object;
mod object_failover;
mod ordered;
mod publish;
mod pull;
mod scripted;
mod streams;
