//! The server → client parser: [`Parser`] turns bytes into [`ServerOp`]s.
//!
//! The parser is a resumable state machine (like watermelon's decoder and nats.go's parser):
//!
//! * **awaiting a control line** — remembers how far it already searched for `\n`, so a control
//!   line cut by the socket read is never rescanned from its start;
//! * **awaiting a payload** — once a `MSG`/`HMSG` control line is complete its bytes are consumed
//!   and its parsed fields kept; each later call only checks whether `len + 2` bytes are there
//!   (the payload is never inspected byte by byte and the control line never re-parsed);
//! * **poisoned** — after any error, until [`Parser::reset`].
//!
//! Lines may end in CRLF or, leniently, in a bare LF. A payload must be followed by exactly CRLF.
//! Op names are matched case-insensitively; arguments are separated by runs of spaces and tabs.
//! Subject, reply and payload are zero-copy [`Bytes`] slices of the read buffer; subjects become
//! [`Subject`]s after a cheap UTF-8 (usually ASCII) check.

use bytes::{Buf, Bytes, BytesMut};

use crate::error::{unknown_op, ParseError};
use crate::headers::HeaderMap;
use crate::info::ServerInfo;
use crate::server_error::ServerError;
use crate::subject::Subject;

/// The longest control line accepted by default, without its line terminator: the server's
/// default `max_control_line` (spec D.3). [`Parser::with_max_control_line`] changes it.
pub const MAX_CONTROL_LINE: usize = 4096;

/// The longest `INFO` line accepted, without its line terminator. `INFO` is not bound by the
/// control-line limit: a large cluster's `connect_urls` (and, on newer servers, its websocket
/// URLs) easily pass 4 KiB — 64 KiB holds roughly 2,500 advertised URLs — and one INFO per
/// connection (plus the rare update) is not a memory concern at 1 MiB, while an endless line
/// from a broken peer still ends in a typed error.
pub const MAX_INFO_LINE: usize = 1024 * 1024;

/// The default limit on a declared `MSG`/`HMSG` size: the server's largest configurable
/// `max_payload` (64 MiB) plus 64 KiB of slack for a header block.
pub const DEFAULT_MAX_PAYLOAD_LIMIT: usize = 64 * 1024 * 1024 + 64 * 1024;

/// One operation sent by the server.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use nats_proto::{Parser, ServerOp};
///
/// let mut buf = BytesMut::from(&b"PING\r\n"[..]);
/// assert_eq!(Parser::new().parse(&mut buf)?, Some(ServerOp::Ping));
/// # Ok::<(), nats_proto::ParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ServerOp {
    /// `INFO {json}`.
    Info(Box<ServerInfo>),
    /// `MSG` or `HMSG`.
    Msg(MsgOp),
    /// `PING`: answer with `PONG`.
    Ping,
    /// `PONG`.
    Pong,
    /// `+OK` (verbose mode only).
    Ok,
    /// `-ERR 'text'`.
    Err(ServerError),
}

/// A delivered message (`MSG` or `HMSG`).
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use nats_proto::{Parser, ServerOp};
///
/// let mut buf = BytesMut::from(&b"MSG foo.bar 9 _INBOX.1 5\r\nhello\r\n"[..]);
/// let Some(ServerOp::Msg(msg)) = Parser::new().parse(&mut buf)? else { panic!() };
/// assert_eq!(msg.subject, "foo.bar");
/// assert_eq!(msg.sid, 9);
/// assert_eq!(msg.reply.as_deref(), Some("_INBOX.1"));
/// assert_eq!(&msg.payload[..], b"hello");
/// assert_eq!(msg.headers, None);
/// assert_eq!(msg.wire_len, 33);
/// # Ok::<(), nats_proto::ParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MsgOp {
    /// The concrete subject (zero-copy).
    pub subject: Subject,
    /// The subscription id.
    pub sid: u64,
    /// The reply subject, if any (zero-copy).
    pub reply: Option<Subject>,
    /// The decoded header block, including its status line; `Some` only for `HMSG`.
    pub headers: Option<HeaderMap>,
    /// The payload (zero-copy; without the header block).
    pub payload: Bytes,
    /// Total bytes this op occupied on the wire, control line and both terminators included.
    pub wire_len: usize,
}

/// A `MSG`/`HMSG` whose control line is parsed and consumed but whose payload is still arriving.
#[derive(Debug)]
struct PendingMsg {
    subject: Subject,
    sid: u64,
    reply: Option<Subject>,
    header_len: Option<usize>,
    total_len: usize,
    line_len: usize,
}

#[derive(Debug)]
enum State {
    /// Waiting for a control line; `scanned` bytes at the front of the buffer hold no `\n`.
    ControlLine { scanned: usize },
    /// Waiting for the payload of a parsed `MSG`/`HMSG`.
    Payload(PendingMsg),
    /// An error was returned; nothing more is parsed.
    Poisoned,
}

/// The resumable server → client parser.
///
/// Feed it the connection's read buffer; it consumes exactly the bytes of each op it returns
/// from the front of the buffer.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use nats_proto::{Parser, ServerOp};
///
/// let mut parser = Parser::new();
/// let mut buf = BytesMut::from(&b"MSG foo 1 5\r\nhel"[..]);
/// assert_eq!(parser.parse(&mut buf)?, None); // control line consumed, payload pending
/// assert_eq!(&buf[..], b"hel"); // only the payload bytes are left
/// buf.extend_from_slice(b"lo\r\nPONG\r\n");
/// assert!(matches!(parser.parse(&mut buf)?, Some(ServerOp::Msg(_))));
/// assert_eq!(parser.parse(&mut buf)?, Some(ServerOp::Pong));
/// assert_eq!(parser.parse(&mut buf)?, None);
/// # Ok::<(), nats_proto::ParseError>(())
/// ```
#[derive(Debug)]
pub struct Parser {
    state: State,
    max_payload: usize,
    max_control_line: usize,
    control_lines: u64,
}

impl Default for Parser {
    fn default() -> Self {
        Parser::new()
    }
}

#[inline]
fn is_sep(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

#[inline]
fn all_sep(s: &[u8]) -> bool {
    s.iter().all(|b| is_sep(*b))
}

/// Little-endian word of an ASCII op name.
const fn word(op: &[u8; 4]) -> u32 {
    u32::from_le_bytes(*op)
}
/// Clears bit 5 of each byte: upper-cases ASCII letters (only compared against letters).
const UPPER4: u32 = 0xDFDF_DFDF;
const UPPER3: u32 = 0x00DF_DFDF;
const W_MSG: u32 = word(b"MSG\0");
const W_HMSG: u32 = word(b"HMSG");
const W_PING: u32 = word(b"PING");
const W_PONG: u32 = word(b"PONG");
const W_INFO: u32 = word(b"INFO");

/// Parses a non-empty run of ASCII digits; `None` on anything else or on overflow (the
/// parsers' number reader; [`push_u64`](crate::push_u64) writes what it reads).
///
/// ```
/// assert_eq!(nats_proto::parse_u64(b"1207"), Some(1207));
/// assert_eq!(nats_proto::parse_u64(b"18446744073709551616"), None);
/// assert_eq!(nats_proto::parse_u64(b"-1"), None);
/// assert_eq!(nats_proto::parse_u64(b""), None);
/// ```
#[inline]
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let mut n: u64 = 0;
    for &b in s {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    Some(n)
}

#[inline]
pub(crate) fn parse_usize(s: &[u8]) -> Option<usize> {
    parse_u64(s).and_then(|n| usize::try_from(n).ok())
}

/// Splits `line[start..]` on runs of spaces/tabs into at most `N` `(start, end)` ranges of
/// `line`. Returns the count, or `None` if there are more than `N` arguments.
#[inline]
pub(crate) fn split_args<const N: usize>(
    line: &[u8],
    start: usize,
    out: &mut [(usize, usize); N],
) -> Option<usize> {
    // Separators are found eight bytes at a time (an exact SWAR byte compare); a run of
    // separators yields no empty argument.
    let mut n = 0;
    let mut token = start;
    let rest = line.get(start..).unwrap_or_default();
    let mut chunks = rest.chunks_exact(8);
    let mut base = start;
    for chunk in chunks.by_ref() {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let mut seps = zero_bytes(w ^ SPACES) | zero_bytes(w ^ TABS);
        while seps != 0 {
            // Little-endian: the lowest set bit belongs to the first separator byte.
            let sep = base + (seps.trailing_zeros() / 8) as usize;
            push_arg(out, &mut n, &mut token, sep)?;
            seps &= seps - 1;
        }
        base += 8;
    }
    for (i, &b) in chunks.remainder().iter().enumerate() {
        if is_sep(b) {
            push_arg(out, &mut n, &mut token, base + i)?;
        }
    }
    push_arg(out, &mut n, &mut token, line.len())?;
    Some(n)
}

const SPACES: u64 = 0x2020_2020_2020_2020;
const TABS: u64 = 0x0909_0909_0909_0909;

/// 0x80 in every byte of `x` that is zero, 0 elsewhere (exact: no carries between bytes).
#[inline]
fn zero_bytes(x: u64) -> u64 {
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    !(((x & LOW7).wrapping_add(LOW7)) | x | LOW7)
}

/// Records the argument `token..sep` if it is not empty; the next one starts after `sep`.
#[inline]
fn push_arg<const N: usize>(
    out: &mut [(usize, usize); N],
    n: &mut usize,
    token: &mut usize,
    sep: usize,
) -> Option<()> {
    if sep > *token {
        *out.get_mut(*n)? = (*token, sep);
        *n += 1;
    }
    *token = sep + 1;
    Some(())
}

#[inline]
fn arg(line: &[u8], r: (usize, usize)) -> &[u8] {
    line.get(r.0..r.1).unwrap_or_default()
}

impl Parser {
    /// A parser with the [`DEFAULT_MAX_PAYLOAD_LIMIT`].
    ///
    /// ```
    /// let parser = nats_proto::Parser::new();
    /// assert!(!parser.is_awaiting_payload());
    /// ```
    pub fn new() -> Parser {
        Parser::with_max_payload(DEFAULT_MAX_PAYLOAD_LIMIT)
    }

    /// A parser that refuses `MSG`/`HMSG` declaring more than `limit` bytes
    /// ([`ParseError::PayloadTooLarge`]).
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use nats_proto::{ParseError, Parser};
    /// let mut buf = BytesMut::from(&b"MSG a 1 11\r\n"[..]);
    /// assert_eq!(
    ///     Parser::with_max_payload(10).parse(&mut buf),
    ///     Err(ParseError::PayloadTooLarge { size: 11, limit: 10 })
    /// );
    /// ```
    pub fn with_max_payload(limit: usize) -> Parser {
        Parser {
            state: State::ControlLine { scanned: 0 },
            max_payload: limit,
            max_control_line: MAX_CONTROL_LINE,
            control_lines: 0,
        }
    }

    /// The same parser with another control-line limit for every op but `INFO` (which has its
    /// own, [`MAX_INFO_LINE`]). Use the `max_control_line` the server is configured with when it
    /// differs from the default [`MAX_CONTROL_LINE`]; a limit above [`MAX_INFO_LINE`] is clamped.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use nats_proto::{ParseError, Parser};
    /// let mut buf = BytesMut::from(&b"MSG a.very.long.subject 1 0\r\n\r\n"[..]);
    /// assert_eq!(
    ///     Parser::new().with_max_control_line(16).parse(&mut buf),
    ///     Err(ParseError::ControlLineTooLong { limit: 16 })
    /// );
    /// ```
    #[must_use]
    pub fn with_max_control_line(mut self, limit: usize) -> Parser {
        self.max_control_line = limit.min(MAX_INFO_LINE);
        self
    }

    /// Back to a fresh state (per connection); keeps the payload limit.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// let mut parser = nats_proto::Parser::new();
    /// assert!(parser.parse(&mut BytesMut::from(&b"XX\r\n"[..])).is_err());
    /// parser.reset();
    /// assert!(parser.parse(&mut BytesMut::from(&b"PING\r\n"[..])).is_ok());
    /// ```
    pub fn reset(&mut self) {
        self.state = State::ControlLine { scanned: 0 };
    }

    /// `true` while a `MSG`/`HMSG` control line has been consumed and its payload is pending.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// let mut parser = nats_proto::Parser::new();
    /// parser.parse(&mut BytesMut::from(&b"MSG a 1 3\r\n"[..]))?;
    /// assert!(parser.is_awaiting_payload());
    /// # Ok::<(), nats_proto::ParseError>(())
    /// ```
    pub fn is_awaiting_payload(&self) -> bool {
        matches!(self.state, State::Payload(_))
    }

    /// Diagnostic counter: how many complete control lines this parser has parsed (never reset).
    /// Each op's control line is parsed exactly once, however the stream is split.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// let mut parser = nats_proto::Parser::new();
    /// let mut buf = BytesMut::from(&b"MSG a 1 3\r\n"[..]);
    /// parser.parse(&mut buf)?;
    /// buf.extend_from_slice(b"ab");
    /// parser.parse(&mut buf)?;
    /// buf.extend_from_slice(b"c\r\n");
    /// assert!(parser.parse(&mut buf)?.is_some());
    /// assert_eq!(parser.control_lines_parsed(), 1);
    /// # Ok::<(), nats_proto::ParseError>(())
    /// ```
    pub fn control_lines_parsed(&self) -> u64 {
        self.control_lines
    }

    /// Parses the next op from the front of `buf`.
    ///
    /// Returns `Ok(Some(op))` and removes exactly that op's bytes from `buf`, or `Ok(None)` when
    /// more bytes are needed. Bytes already understood are not looked at again: a complete
    /// `MSG`/`HMSG` control line is consumed (and kept in the parser) even while its payload is
    /// still arriving, and a partial control line is scanned only from where the last call
    /// stopped. Never consumes more than `buf` holds and never panics on any input.
    ///
    /// # Errors
    ///
    /// Any [`ParseError`]; after one, the parser is poisoned and returns
    /// [`ParseError::Poisoned`] until [`reset`](Self::reset).
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use nats_proto::{Parser, ServerOp};
    /// let mut buf = BytesMut::from(&b"hmsg\tfoo  1 16 18\r\nNATS/1.0 503\r\n\r\nhi\r\n"[..]);
    /// let Some(ServerOp::Msg(m)) = Parser::new().parse(&mut buf)? else { panic!() };
    /// assert_eq!(m.headers.and_then(|h| h.status()), Some(nats_proto::StatusCode::NO_RESPONDERS));
    /// assert_eq!(&m.payload[..], b"hi");
    /// # Ok::<(), nats_proto::ParseError>(())
    /// ```
    #[inline(always)]
    pub fn parse(&mut self, buf: &mut BytesMut) -> Result<Option<ServerOp>, ParseError> {
        let result = match self.state {
            State::ControlLine { scanned } => self.parse_control_line(buf, scanned),
            State::Payload(_) => self.parse_payload(buf),
            State::Poisoned => return Err(ParseError::Poisoned),
        };
        if result.is_err() {
            self.state = State::Poisoned;
        }
        result
    }

    #[inline(always)]
    fn parse_control_line(
        &mut self,
        buf: &mut BytesMut,
        scanned: usize,
    ) -> Result<Option<ServerOp>, ParseError> {
        // Content, '\r' and '\n' of the longest acceptable line. An INFO line has its own,
        // larger limit; it is only looked for when the ordinary window holds no line end, so
        // the MSG path pays nothing for it.
        let mut limit = self.max_control_line;
        let mut window_end = buf.len().min(limit.saturating_add(2));
        let mut from = scanned.min(window_end);
        let mut found = buf
            .get(from..window_end)
            .and_then(|w| memchr::memchr(b'\n', w));
        if found.is_none() && buf.len() > window_end && starts_with_info(buf) {
            limit = MAX_INFO_LINE.max(limit);
            let small_end = window_end;
            window_end = buf.len().min(limit.saturating_add(2));
            from = scanned.max(small_end).min(window_end);
            found = buf
                .get(from..window_end)
                .and_then(|w| memchr::memchr(b'\n', w));
        }
        let Some(offset) = found else {
            if buf.len() > limit.saturating_add(1) {
                return Err(ParseError::ControlLineTooLong { limit });
            }
            self.state = State::ControlLine { scanned: buf.len() };
            return Ok(None);
        };
        let nl = from + offset;
        let line_end = nl + 1;
        let line = buf.get(..nl).unwrap_or_default();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > limit && !(line.len() <= MAX_INFO_LINE && starts_with_info(line)) {
            return Err(ParseError::ControlLineTooLong { limit });
        }
        self.state = State::ControlLine { scanned: 0 };
        self.control_lines += 1;

        let mut head = [0u8; 4];
        for (dst, src) in head.iter_mut().zip(line) {
            *dst = *src;
        }
        let w = u32::from_le_bytes(head);
        let b3 = head[3];

        if w & UPPER3 == W_MSG && is_sep(b3) {
            let content_len = line.len();
            return self.parse_msg(buf, content_len, line_end, 4, false);
        }
        match w & UPPER4 {
            W_HMSG if line.get(4).is_some_and(|b| is_sep(*b)) => {
                let content_len = line.len();
                return self.parse_msg(buf, content_len, line_end, 5, true);
            }
            W_PING if all_sep(line.get(4..).unwrap_or_default()) => {
                buf.advance(line_end);
                return Ok(Some(ServerOp::Ping));
            }
            W_PONG if all_sep(line.get(4..).unwrap_or_default()) => {
                buf.advance(line_end);
                return Ok(Some(ServerOp::Pong));
            }
            W_INFO if line.get(4).is_none_or(|b| is_sep(*b)) => {
                let info = ServerInfo::parse(line.get(4..).unwrap_or_default())?;
                buf.advance(line_end);
                return Ok(Some(ServerOp::Info(Box::new(info))));
            }
            _ => {}
        }
        if let Some(rest) = line.strip_prefix(b"-") {
            if rest
                .get(..3)
                .is_some_and(|e| e.eq_ignore_ascii_case(b"ERR"))
                && rest.get(3).is_none_or(|b| is_sep(*b))
            {
                let text = String::from_utf8_lossy(rest.get(3..).unwrap_or_default());
                let err = ServerError::parse(&text);
                buf.advance(line_end);
                return Ok(Some(ServerOp::Err(err)));
            }
        } else if let Some(rest) = line.strip_prefix(b"+") {
            if rest.get(..2).is_some_and(|e| e.eq_ignore_ascii_case(b"OK"))
                && all_sep(rest.get(2..).unwrap_or_default())
            {
                buf.advance(line_end);
                return Ok(Some(ServerOp::Ok));
            }
        }
        Err(unknown_op(line))
    }

    /// `MSG subject sid [reply] len` / `HMSG subject sid [reply] hdr_len total_len`.
    #[inline(always)]
    fn parse_msg(
        &mut self,
        buf: &mut BytesMut,
        content_len: usize,
        line_end: usize,
        args_start: usize,
        has_headers: bool,
    ) -> Result<Option<ServerOp>, ParseError> {
        let op = if has_headers { "HMSG" } else { "MSG" };
        // Built only on the error path (an error value has drop glue to run otherwise).
        let bad_args = || ParseError::InvalidArguments { op };
        let line = buf.get(..content_len).unwrap_or_default();
        let mut args = [(0usize, 0usize); 5];
        let n = split_args(line, args_start, &mut args).ok_or_else(bad_args)?;
        let [a0, a1, a2, a3, a4] = args;
        let (subject, sid, reply, header_len, total_len) = match (has_headers, n) {
            (false, 3) => (a0, a1, None, None, a2),
            (false, 4) => (a0, a1, Some(a2), None, a3),
            (true, 4) => (a0, a1, None, Some(a2), a3),
            (true, 5) => (a0, a1, Some(a2), Some(a3), a4),
            _ => return Err(bad_args()),
        };
        let sid = parse_u64(arg(line, sid)).ok_or(ParseError::InvalidNumber)?;
        let total_len = parse_usize(arg(line, total_len)).ok_or(ParseError::InvalidNumber)?;
        if total_len > self.max_payload {
            return Err(ParseError::PayloadTooLarge {
                size: total_len,
                limit: self.max_payload,
            });
        }
        let header_len = match header_len {
            Some(h) => {
                let h = parse_usize(arg(line, h)).ok_or(ParseError::InvalidNumber)?;
                if h > total_len {
                    return Err(bad_args());
                }
                Some(h)
            }
            None => None,
        };
        let needed = line_end
            .checked_add(total_len)
            .and_then(|n| n.checked_add(2))
            .ok_or(ParseError::PayloadTooLarge {
                size: total_len,
                limit: self.max_payload,
            })?;
        if buf.len() >= needed {
            // Fast path: the whole op is in the buffer.
            check_crlf(buf.get(line_end + total_len..needed))?;
            let headers = match header_len {
                Some(h) => Some(HeaderMap::decode(
                    buf.get(line_end..line_end + h).unwrap_or_default(),
                )?),
                None => None,
            };
            let body_start = line_end + header_len.unwrap_or(0);
            // Two handles on the shared read buffer (each costs an atomic increment): the
            // payload, and the head cut down to the subject in place. A reply costs a third.
            let mut payload = buf.split_to(needed).freeze();
            let mut head = payload.split_to(body_start);
            payload.truncate(line_end + total_len - body_start);
            let reply = reply.map(|r| Subject::from_wire(head.slice(r.0..r.1)));
            head.truncate(subject.1);
            head.advance(subject.0);
            return Ok(Some(ServerOp::Msg(MsgOp {
                subject: Subject::from_wire(head),
                sid,
                reply,
                headers,
                payload,
                wire_len: needed,
            })));
        }
        // Slow path: keep the parsed line, wait for the payload.
        let line = buf.split_to(line_end).freeze();
        self.state = State::Payload(PendingMsg {
            subject: Subject::from_wire(line.slice(subject.0..subject.1)),
            sid,
            reply: reply.map(|r| Subject::from_wire(line.slice(r.0..r.1))),
            header_len,
            total_len,
            line_len: line_end,
        });
        Ok(None)
    }

    fn parse_payload(&mut self, buf: &mut BytesMut) -> Result<Option<ServerOp>, ParseError> {
        let State::Payload(pending) = &self.state else {
            return Ok(None);
        };
        let total_len = pending.total_len;
        let needed = total_len
            .checked_add(2)
            .ok_or(ParseError::MissingPayloadCrlf)?;
        if buf.len() < needed {
            return Ok(None);
        }
        check_crlf(buf.get(total_len..needed))?;
        let State::Payload(pending) =
            std::mem::replace(&mut self.state, State::ControlLine { scanned: 0 })
        else {
            return Ok(None);
        };
        let body = buf.split_to(needed).freeze();
        let headers = match pending.header_len {
            Some(h) => Some(HeaderMap::decode(body.get(..h).unwrap_or_default())?),
            None => None,
        };
        Ok(Some(ServerOp::Msg(MsgOp {
            subject: pending.subject,
            sid: pending.sid,
            reply: pending.reply,
            headers,
            payload: body.slice(pending.header_len.unwrap_or(0)..total_len),
            wire_len: pending.line_len + needed,
        })))
    }
}

/// Whether `buf` begins with the op name `INFO` (any case) followed by a separator, or could
/// still turn out to.
#[inline]
fn starts_with_info(buf: &[u8]) -> bool {
    match buf.get(..4) {
        Some(head) => head.eq_ignore_ascii_case(b"INFO") && buf.get(4).is_none_or(|b| is_sep(*b)),
        None => false,
    }
}

#[inline]
fn check_crlf(tail: Option<&[u8]>) -> Result<(), ParseError> {
    if tail == Some(b"\r\n") {
        Ok(())
    } else {
        Err(ParseError::MissingPayloadCrlf)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

#[cfg(test)]
mod split_args_tests;
