//! Test support for the NATS client: real `nats-server` processes and misbehaving peers.
//!
//! Everything binds `127.0.0.1` on ports chosen free at run time, and every process it starts is
//! stopped by PID when its handle drops. Readiness is polled with a deadline, never slept for.
//!
//! Layout:
//! - `bin.rs`: locating `nats-server` ([`nats_server_bin`]), its version
//!   ([`nats_server_version`]), [`free_port`].
//! - `config.rs`: [`ServerConfig`], the builder that renders a `nats-server.conf`.
//! - `server.rs`: [`NatsServer`], one process: start, kill, stop, restart, lame duck, reload.
//! - `cluster.rs`: [`Cluster`], n routed nodes, waiting until the mesh is complete.
//! - `jetstream.rs`: JetStream servers and clusters ([`NatsServer::start_jetstream`],
//!   [`Cluster::start_jetstream`]), readiness (meta leader elected), the stream leader
//!   ([`Cluster::stream_leader`], [`Cluster::kill_leader`]), a restarted node caught up
//!   ([`Cluster::wait_for_stream_current`]) and [`jetstream_request`], a minimal
//!   JetStream API request over a raw connection.
//! - `proxy.rs`: [`FaultProxy`], a TCP proxy that passes, black-holes, resets or delays
//!   ([`Fault`]).
//! - `scripted.rs`: [`ScriptedServer`] / [`ScriptedConn`], a fake server driven like a
//!   transcript.
//! - `error.rs`: [`TestkitError`].
//!
//! Facts about `nats-server` 2.9.10 the kit relies on: it logs `Server is ready` once the client
//! port listens (readiness), `Reloaded server configuration` or `Failed to reload server
//! configuration` after SIGHUP, refuses `lame_duck_duration` below 30 s (the grace period may be
//! as short as 1 ms), and sends the lame-duck `INFO {"ldm":true}` only to clients whose CONNECT
//! said `"protocol":1`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), nats_testkit::TestkitError> {
//! use nats_testkit::{Fault, FaultProxy, NatsServer};
//!
//! let server = NatsServer::start().await?;
//! let proxy = FaultProxy::start(server.addr()).await?;
//! // connect the client under test to proxy.url(), then:
//! proxy.set_fault(Fault::BlackHole);
//! # Ok(()) }
//! ```

mod bin;
mod cluster;
mod config;
mod error;
mod jetstream;
mod proxy;
mod report;
mod scripted;
mod server;

pub use bin::{free_port, nats_server_bin, nats_server_version};
pub use cluster::Cluster;
pub use config::ServerConfig;
pub use error::TestkitError;
pub use jetstream::jetstream_request;
pub use proxy::{Fault, FaultProxy};
pub use report::report_line;
pub use scripted::{default_info, ScriptedConn, ScriptedServer};
pub use server::NatsServer;
