//! # nats-jetstream
//!
//! JetStream for [`nats_client`]: streams, publishing with acks, pull and ordered consumers,
//! the Key-Value store ([`kv`]) and the Object Store ([`object_store`]). A layer on
//! nats-client's public API (request, publish with headers, subscribe, events), like nats.go's
//! `jetstream` package.
//!
//! What it adds to the reference clients:
//! a publish is re-sent with the same message id until it is acked, so the application sees
//! one ack per message and no error while a stream leader is killed (J9); a consumer whose
//! consumer or stream is gone ends its stream with a typed error instead of yielding errors
//! forever (J15, J19); ordered-consumer resets delete the old consumer (J19); a Key-Value
//! watch resumes after a reconnect, a server restart or a leader change from the last
//! revision it delivered, without a gap or a duplicate (J24).
//!
//! ```no_run
//! use futures_util::StreamExt;
//! use nats_jetstream::{consumer, stream};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let client = nats_client::connect("nats://127.0.0.1:4222").await?;
//! let js = nats_jetstream::new(client);
//! let orders = js
//!     .create_stream(stream::Config {
//!         name: "ORDERS".into(),
//!         subjects: vec!["orders.>".into()],
//!         ..Default::default()
//!     })
//!     .await?;
//! let ack = js.publish("orders.new", "order 1".into()).await?.await?;
//! println!("stored as #{}", ack.sequence);
//!
//! let billing = orders
//!     .create_consumer(consumer::pull::Config {
//!         durable_name: Some("billing".into()),
//!         ..Default::default()
//!     })
//!     .await?;
//! let mut messages = billing.messages().await?;
//! while let Some(msg) = messages.next().await {
//!     let msg = msg?;
//!     println!("{}: {:?}", msg.subject, msg.payload);
//!     msg.ack().await?;
//! }
//! # Ok(()) }
//! ```
//!
//! ## Layout
//!
//! - `context`: [`Context`], [`new`], [`ContextBuilder`] (domain, API prefix, timeout), the
//!   one function every API request goes through, typed API errors (J1–J3).
//! - `stream`: [`stream::Stream`], [`stream::Config`], info, purge, get/delete message (J4–J5).
//! - `publish`: [`Publish`], [`PubAck`], [`PubAckFuture`]; `publish/window.rs` is the ack window
//!   as a pure state machine, `publish/driver.rs` its tokio driver (J6–J10).
//! - `consumer`: pull consumers (`pull.rs`: fetch, batch, messages), the ordered consumer
//!   (`ordered.rs`), the config (`config.rs`), the status-message state machine
//!   (`status.rs`) (J11–J19).
//! - `message`: [`Message`], [`AckKind`], metadata from the ack subject (J16–J17).
//! - `kv`: the Key-Value store (J20–J24): [`kv::Config`] and [`kv::Status`] (`config.rs`),
//!   bucket management on [`Context`] and [`kv::Store`] (`mod.rs`), key rules (`keys.rs`),
//!   [`kv::Entry`] (`entry.rs`), reads and writes (`ops.rs`), keys and history (`scan.rs`),
//!   watches on the ordered consumer (`watch.rs`), [`kv::Error`] (`error.rs`).
//! - `object_store`: [`object_store::ObjectStore`] buckets (`bucket.rs`, `config.rs`), object
//!   info JSON (`info.rs`), streaming `put` through the ack window (`put.rs`), the digest-
//!   checked `get` reader over an ordered consumer (`get.rs`), info/delete/update/links
//!   (`ops.rs`), list/watch (`watch.rs`), names and SHA-256 (`digest.rs`) (J25–J27).
//! - `retry`: back-off and retry-window policies, pure functions of (attempt, now).
//! - `paged`: [`Paged`], the paged API lists.
//! - `wire`: nanosecond durations, base64, RFC 3339, name validation (J3).
//! - `error`: [`Error`], [`PublishError`], [`ConsumeError`], [`AckError`], [`ApiError`],
//!   [`ErrorCode`].
//!
//! Logs go through `tracing`.

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod consumer;
pub mod context;
mod error;
pub mod kv;
pub mod message;
pub mod object_store;
mod paged;
pub mod publish;
mod retry;
pub mod stream;
mod wire;

pub use context::{
    new, with_domain, with_prefix, AccountInfo, Context, ContextBuilder, DEFAULT_API_PREFIX,
    DEFAULT_API_TIMEOUT,
};
pub use error::{AckError, ApiError, ConsumeError, Error, ErrorCode, NameError, PublishError};
pub use message::{AckKind, Message};
pub use paged::Paged;
pub use publish::{
    PubAck, PubAckFuture, Publish, DEFAULT_MAX_ACK_PENDING, DEFAULT_PUBLISH_RETRY_WINDOW,
};
pub use wire::validate_name;
