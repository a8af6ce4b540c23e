//! The NATS client wire protocol, without I/O.
//!
//! **Contract:** this crate does no I/O, reads no clock, spawns nothing and has no global state;
//! every function is deterministic in its inputs. It never panics on bytes from the wire: every
//! malformed input is a typed error. The caller owns sockets, buffers and time.
//!
//! # Layout
//!
//! * [`parser`] — [`Parser`]: resumable, zero-copy server → client parser ([`ServerOp`], [`MsgOp`]).
//! * [`encoder`] — `encode_*` functions and exact-size helpers ([`pub_len`], [`hpub_len`]).
//! * [`client_op`] — [`ClientOpParser`]: client → server parser for fake servers and tests.
//! * [`info`] — [`ServerInfo`] (`INFO`) and [`ConnectInfo`] (`CONNECT`).
//! * [`subject`] — subject, filter and queue-group validation.
//! * [`headers`] — [`HeaderMap`], [`StatusCode`].
//! * [`server_error`] — [`ServerError`]: `-ERR` text classified (fatal / reconnect / kept).
//! * [`error`] — [`ParseError`].
//!
//! # Example
//!
//! ```
//! use bytes::BytesMut;
//! use nats_proto::{encode_msg, Parser, ServerOp};
//!
//! let mut wire = BytesMut::new();
//! encode_msg(&mut wire, "greet.joe", 1, None, b"hi");
//! let mut parser = Parser::new();
//! match parser.parse(&mut wire)? {
//!     Some(ServerOp::Msg(msg)) => assert_eq!(&msg.payload[..], b"hi"),
//!     other => panic!("unexpected {other:?}"),
//! }
//! # Ok::<(), nats_proto::ParseError>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod client_op;
pub mod encoder;
pub mod error;
mod header_lines;
pub mod headers;
pub mod info;
pub mod parser;
pub mod server_error;
pub mod subject;

pub use client_op::{ClientOp, ClientOpParser, MAX_CLIENT_CONTROL_LINE};
pub use encoder::{
    encode_connect, encode_err, encode_hmsg, encode_hpub, encode_hpub_block,
    encode_hpub_block_header, encode_hpub_header, encode_info, encode_msg, encode_ok, encode_ping,
    encode_pong, encode_pub, encode_pub_header, encode_sub, encode_unsub, hpub_len, pub_len,
    push_u64,
};
pub use error::ParseError;
pub use headers::{HeaderError, HeaderMap, StatusCode};
pub use info::{ConnectInfo, ServerInfo};
pub use parser::{
    parse_u64, MsgOp, Parser, ServerOp, DEFAULT_MAX_PAYLOAD_LIMIT, MAX_CONTROL_LINE, MAX_INFO_LINE,
};
pub use server_error::{ServerError, ServerErrorKind};
pub use subject::{
    validate_publish_subject, validate_queue_group, validate_subscribe_subject, AsSubject,
    QueueGroup, Subject, SubjectError, SubjectFilter, MAX_SUBJECT_LEN,
};
