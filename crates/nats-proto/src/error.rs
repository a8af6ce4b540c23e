//! [`ParseError`]: everything that can be wrong with bytes received from the wire.

use crate::headers::HeaderError;

/// A protocol violation found while parsing a byte stream.
///
/// Every variant is a fault of the peer (or of the bytes in transit); the parser never panics on
/// wire data. After the first error a [`Parser`](crate::Parser) is poisoned and returns
/// [`ParseError::Poisoned`] until [`reset`](crate::Parser::reset).
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use nats_proto::{ParseError, Parser};
///
/// let mut parser = Parser::new();
/// let mut buf = BytesMut::from(&b"BOGUS\r\n"[..]);
/// assert!(matches!(parser.parse(&mut buf), Err(ParseError::UnknownOp { .. })));
/// assert_eq!(parser.parse(&mut buf), Err(ParseError::Poisoned));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// A control line (without its terminator) is longer than `limit` bytes; reported as soon as
    /// more than `limit` bytes arrived without a line terminator.
    #[error("control line longer than {limit} bytes")]
    ControlLineTooLong {
        /// The limit in force.
        limit: usize,
    },
    /// The line does not start with a known operation.
    #[error("unknown protocol operation: {line:?}")]
    UnknownOp {
        /// The start of the offending line (at most 64 bytes, lossily decoded).
        line: String,
    },
    /// Wrong number or shape of arguments for `op`.
    #[error("invalid arguments for {op}")]
    InvalidArguments {
        /// The operation whose arguments were bad (upper case).
        op: &'static str,
    },
    /// A number (sid, size, max) is empty, not decimal, or overflows.
    #[error("invalid number")]
    InvalidNumber,
    /// The declared payload size exceeds the parser's limit.
    #[error("payload of {size} bytes exceeds the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The declared size.
        size: usize,
        /// The limit in force.
        limit: usize,
    },
    /// The payload was not followed by CRLF.
    #[error("payload not followed by CRLF")]
    MissingPayloadCrlf,
    /// The JSON of an `INFO` line could not be decoded.
    #[error("invalid INFO: {0}")]
    InvalidInfo(String),
    /// The JSON of a `CONNECT` line could not be decoded (client-op parser only).
    #[error("invalid CONNECT: {0}")]
    InvalidConnect(String),
    /// The header block of an `HMSG`/`HPUB` is malformed.
    #[error("invalid headers: {0}")]
    InvalidHeaders(#[from] HeaderError),
    /// The parser saw an error before and refuses to continue; call `reset`.
    #[error("parser is poisoned by an earlier error")]
    Poisoned,
}

/// Builds [`ParseError::UnknownOp`] from the start of a line (at most 64 bytes).
pub(crate) fn unknown_op(line: &[u8]) -> ParseError {
    let end = line.len().min(64);
    let head = line.get(..end).unwrap_or(line);
    ParseError::UnknownOp {
        line: String::from_utf8_lossy(head).into_owned(),
    }
}
