//! # nats-client
//!
//! A NATS client for tokio whose connection never silently loses your messages or your
//! subscriptions. When a connection breaks it reconnects through the server pool, buffers
//! publishes meanwhile (keeping even the bytes not yet written when the socket died), re-sends
//! every subscription, and reports each step as an [`Event`], the way the NATS documentation
//! describes and nats.go does, with nats.go's known flaws fixed.
//!
//! ```no_run
//! use bytes::Bytes;
//! use futures_util::StreamExt;
//!
//! # async fn demo() -> Result<(), nats_client::Error> {
//! let client = nats_client::connect("nats://127.0.0.1:4222").await?;
//! let mut sub = client.subscribe("orders.>").await?;
//! client.publish("orders.new", Bytes::from_static(b"hi")).await?;
//! let reply = client.request("svc.time", Bytes::new()).await;
//! if let Some(msg) = sub.next().await {
//!     println!("{}: {:?}", msg.subject, msg.payload);
//! }
//! client.drain().await?;
//! # Ok(()) }
//! ```
//!
//! It does not implement JetStream, websockets or the NATS service API.
//!
//! ## Design
//!
//! ```text
//!  Client handles ──publish──▶ WriteBuffer (one BytesMut, short lock) ──▶ writer task ──▶ socket
//!        │                         ▲ doubles as the reconnect buffer
//!        └──commands──▶ supervisor task (life cycle, pool, back-off, events)
//!  socket ──▶ reader task (resumable zero-copy parser) ──▶ sid table ──▶ Subscriber queues
//!  events ──▶ dispatcher task ──▶ callbacks and EventStreams (in order, never dropped)
//! ```
//!
//! ## Layout
//!
//! - `options`: [`ConnectOptions`], every setting with nats.go's defaults.
//! - `client`: [`Client`], the cloneable handle.
//! - `subscriber`: [`Subscriber`], pending limits, auto-unsubscribe.
//! - `request`: the request/reply multiplexer.
//! - `events`: [`Event`], [`Status`], the ordered dispatcher.
//! - `pool`: the server pool and reconnect policy (pure, unit-tested with an injected clock).
//! - `server_addr`: URL parsing ([`ServerAddr`]).
//! - `connection`: handshake, reader, writer, write buffer, keep-alive, supervisor.
//! - `tls`: rustls configuration and the TLS upgrade (R27, R29, R30).
//! - `auth`: CONNECT credentials: user, token, NKey, credentials file, callback (R27, R28).
//! - `message`, `stats`, `error`.
//!
//! Logs go through `tracing`; no password, token or seed ever appears in `Debug` output, logs
//! or events.

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod auth;
mod callback;
mod client;
mod connection;
mod error;
mod event_stream;
mod events;
mod message;
mod options;
mod outbound;
mod pool;
mod request;
mod rng;
mod server_addr;
mod shared;
mod signal;
mod stats;
mod subscriber;
mod subscription;
mod tls;
mod view;

pub use bytes::Bytes;
pub use nats_proto::{
    AsSubject, HeaderError, HeaderMap, ServerError, ServerErrorKind, ServerInfo, StatusCode,
    Subject, SubjectError,
};
/// The rustls version used for TLS, for [`ConnectOptions::tls_client_config`].
pub use rustls;

pub use auth::Auth;
pub use callback::CallbackKind;
pub use client::Client;
pub use error::{
    ConnectError, ConnectionError, DrainError, Error, FlushError, PublishError, RequestError,
    SubscribeError,
};
pub use event_stream::EventStream;
pub use events::{Event, Status};
pub use message::Message;
pub use options::{
    ConnectOptions, ToServerAddrs, DEFAULT_CONNECTION_TIMEOUT, DEFAULT_DRAIN_TIMEOUT,
    DEFAULT_FLUSH_TIMEOUT, DEFAULT_MAX_CONTROL_LINE, DEFAULT_MAX_PINGS_OUT, DEFAULT_MAX_RECONNECTS,
    DEFAULT_PENDING_BYTES, DEFAULT_PENDING_MSGS, DEFAULT_PING_INTERVAL,
    DEFAULT_RECONNECT_BUFFER_SIZE, DEFAULT_RECONNECT_JITTER, DEFAULT_RECONNECT_JITTER_TLS,
    DEFAULT_RECONNECT_WAIT, DEFAULT_REQUEST_TIMEOUT,
};
pub use pool::{PoolServer, ReconnectDelay, ReconnectToServer};
pub use request::Request;
pub use server_addr::{ServerAddr, DEFAULT_PORT};
pub use stats::Statistics;
pub use subscriber::Subscriber;

/// Connects with default options to one server or a comma-separated list.
///
/// # Errors
///
/// See [`ConnectOptions::connect`].
///
/// # Examples
///
/// ```no_run
/// # async fn demo() -> Result<(), nats_client::ConnectError> {
/// let client = nats_client::connect("nats://127.0.0.1:4222").await?;
/// # Ok(()) }
/// ```
pub async fn connect<S: ToServerAddrs>(servers: S) -> Result<Client, ConnectError> {
    ConnectOptions::new().connect(servers).await
}
