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
//! JetStream, Key-Value and Object Store live in the `nats-jetstream` crate, on this crate's
//! public API.
//!
//! ## WebSocket
//!
//! `ws://host:port/path` and `wss://host:port/path` URLs connect through a server's
//! `websocket { }` block: the same client, the same reconnect behaviour (pool, discovered
//! servers, back-off, buffer, resubscription, lame duck, events); only the transport differs.
//! `wss://` takes the same TLS options as `tls://` (roots, client certificates, a custom
//! rustls config). A pool is either all WebSocket or all plain
//! ([`ConnectError::MixingWebSocketSchemes`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), nats_client::Error> {
//! let client = nats_client::ConnectOptions::new()
//!     .tls_root_certificates("ca.pem")
//!     .connect("wss://nats.example.com:8443")
//!     .await?;
//! client.publish("greeting", "hello over websocket".into()).await?;
//! # Ok(()) }
//! ```
//!
//! ## Design
//!
//! ```text
//!  Client / Subscriber handles
//!     │ publish, SUB/UNSUB, PING (one short lock, no channel hop)   commands: connect, drain,
//!     ▼                                                             close, force_reconnect
//!  WriteQueue ── batches of whole frames (the reconnect buffer too) ──┐  (records in the
//!     ▲ records: subscribe / unsubscribe / commands                   │   same queue)
//!     │                                                               ▼
//!  Driver task (the only I/O): transport ⇄ bytes, timers, dial / TLS / credentials steps
//!     │ handle_*(…, now)                                poll_action / poll_event / poll_timeout
//!     ▼                                                               ▲
//!  Connection state machine (sans-I/O): status, pool, back-off, pings, timers, sid table,
//!     handshake, drain, close ── writes the View (snapshots) ── dispatches MSG to Subscribers
//!  EventHub ──▶ EventStreams (bounded: slow-consumer reports merge) and the callback task
//! ```
//!
//! Every piece of state has one owner: the state machine owns the life cycle and the sid
//! table, the handles only append to the write queue and read snapshots. Every public future
//! only hands over work and waits for an outcome, so dropping one never wedges the client. User
//! callbacks run guarded: a panic is caught and reported as
//! [`Event::CallbackPanicked`]. See `docs/architecture.md` in the repository for the whole
//! picture.
//!
//! ## Layout
//!
//! - `options`: [`ConnectOptions`], every setting with nats.go's defaults.
//! - `client/`: [`Client`], the cloneable handle: publish, subscribe, request, life cycle.
//! - `subscriber`: [`Subscriber`], the user's stream; `subscription`: the queue it shares
//!   with the driver, and the driver's sid table.
//! - `request`: the request/reply multiplexer and [`Request`].
//! - `outbound/`: the write queue and its batches of frames.
//! - `connection/`: the state machine (`machine`), handshake, drain, timers, keep-alive,
//!   transport (TCP, TLS, WebSocket), and the tokio driver.
//! - `view`, `shared`, `signal`: snapshots for handles, the client-lifetime state, driver
//!   wake-ups.
//! - `events`, `event_stream`, `callback`: [`Event`], [`Status`], [`EventStream`], guarded
//!   callbacks.
//! - `pool`: the server pool and reconnect policy (pure, unit-tested with an injected clock).
//! - `at_least_once`: the opt-in at-least-once publishing settings (the unconfirmed store is
//!   `outbound/unconfirmed.rs`, the ping policy `connection/confirm.rs`).
//! - `service`: the NATS Service API (`$SRV` discovery, endpoints, groups, statistics).
//! - `server_addr`, `tls`, `auth`, `message`, `stats`, `error`, `rng`.
//!
//! Logs go through `tracing`; no password, token or seed ever appears in `Debug` output, logs
//! or events.

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod at_least_once;
mod auth;
mod callback;
mod client;
mod connection;
mod dedup;
mod error;
mod event_stream;
mod events;
mod handle;
mod message;
mod message_id;
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

pub mod service;

pub use bytes::Bytes;
pub use nats_proto::{
    AsSubject, HeaderError, HeaderMap, QueueGroup, ServerError, ServerErrorKind, ServerInfo,
    StatusCode, Subject, SubjectError, SubjectFilter,
};
/// The rustls version used for TLS, for [`ConnectOptions::tls_client_config`].
pub use rustls;

pub use at_least_once::{
    DEFAULT_AT_LEAST_ONCE_INTERVAL, DEFAULT_AT_LEAST_ONCE_LIMIT, DEFAULT_AT_LEAST_ONCE_THRESHOLD,
};
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
pub use message_id::{message_id, MESSAGE_ID_HEADER, MESSAGE_ID_PREFIX_LEN};
pub use options::{
    ConnectOptions, ToServerAddrs, DEFAULT_CONNECTION_TIMEOUT, DEFAULT_DRAIN_TIMEOUT,
    DEFAULT_FLUSHER_TIMEOUT, DEFAULT_FLUSH_TIMEOUT, DEFAULT_MAX_CONTROL_LINE,
    DEFAULT_MAX_PINGS_OUT, DEFAULT_MAX_RECONNECTS, DEFAULT_PENDING_BYTES, DEFAULT_PENDING_MSGS,
    DEFAULT_PING_INTERVAL, DEFAULT_RECONNECT_BUFFER_SIZE, DEFAULT_RECONNECT_JITTER,
    DEFAULT_RECONNECT_JITTER_TLS, DEFAULT_RECONNECT_WAIT, DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_WRITE_BUFFER_SIZE,
};
pub use pool::{PoolServer, ReconnectDelay, ReconnectToServer};
pub use request::Request;
pub use server_addr::{ServerAddr, DEFAULT_PORT, DEFAULT_WSS_PORT, DEFAULT_WS_PORT};
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
