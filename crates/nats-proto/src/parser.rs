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
mod tests {
    use super::*;
    use crate::headers::StatusCode;
    use crate::server_error::ServerErrorKind;

    fn msg(
        subject: &str,
        sid: u64,
        reply: Option<&str>,
        payload: &[u8],
        wire_len: usize,
    ) -> ServerOp {
        ServerOp::Msg(MsgOp {
            subject: Subject::from_wire(Bytes::copy_from_slice(subject.as_bytes())),
            sid,
            reply: reply.map(|r| Subject::from_wire(Bytes::copy_from_slice(r.as_bytes()))),
            headers: None,
            payload: Bytes::copy_from_slice(payload),
            wire_len,
        })
    }

    fn hmsg(
        subject: &str,
        sid: u64,
        reply: Option<&str>,
        headers: HeaderMap,
        payload: &[u8],
        wire_len: usize,
    ) -> ServerOp {
        let ServerOp::Msg(mut m) = msg(subject, sid, reply, payload, wire_len) else {
            unreachable!()
        };
        m.headers = Some(headers);
        ServerOp::Msg(m)
    }

    fn status(code: u16, desc: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.set_status(Some(StatusCode(code)), desc.map(str::to_owned));
        h
    }

    /// Parses all complete ops; asserts the buffer is then empty and the parser idle.
    fn parse_all(input: &[u8]) -> Result<Vec<ServerOp>, ParseError> {
        let mut parser = Parser::new();
        let mut buf = BytesMut::from(input);
        let mut ops = Vec::new();
        while let Some(op) = parser.parse(&mut buf)? {
            ops.push(op);
        }
        Ok(ops)
    }

    fn parse_one(input: &[u8]) -> Result<Option<ServerOp>, ParseError> {
        Parser::new().parse(&mut BytesMut::from(input))
    }

    #[test]
    fn every_op() {
        let rows: Vec<(&[u8], ServerOp)> = vec![
            (b"PING\r\n", ServerOp::Ping),
            (b"PONG\r\n", ServerOp::Pong),
            (b"+OK\r\n", ServerOp::Ok),
            (
                b"-ERR 'Stale Connection'\r\n",
                ServerOp::Err(ServerError::new(
                    ServerErrorKind::StaleConnection,
                    "Stale Connection",
                )),
            ),
            (
                b"-ERR\r\n",
                ServerOp::Err(ServerError::new(ServerErrorKind::Other, "")),
            ),
            (
                b"-ERR '\r\n",
                ServerOp::Err(ServerError::new(ServerErrorKind::Other, "")),
            ),
            (b"INFO {}\r\n", ServerOp::Info(Box::default())),
            (
                b"INFO {\"port\":4222,\"max_payload\":100}\r\n",
                ServerOp::Info(Box::new(ServerInfo {
                    port: 4222,
                    max_payload: 100,
                    ..Default::default()
                })),
            ),
            (
                b"MSG foo 1 5\r\nhello\r\n",
                msg("foo", 1, None, b"hello", 20),
            ),
            (
                b"MSG foo 1 bar 5\r\nhello\r\n",
                msg("foo", 1, Some("bar"), b"hello", 24),
            ),
            (b"MSG foo 1 0\r\n\r\n", msg("foo", 1, None, b"", 15)),
            (
                b"MSG foo 18446744073709551615 2\r\n\r\n\r\n",
                msg("foo", u64::MAX, None, b"\r\n", 36),
            ),
            (
                b"HMSG foo 1 12 12\r\nNATS/1.0\r\n\r\n\r\n",
                hmsg("foo", 1, None, HeaderMap::new(), b"", 32),
            ),
            (
                b"HMSG foo 1 r 16 16\r\nNATS/1.0 503\r\n\r\n\r\n",
                hmsg("foo", 1, Some("r"), status(503, None), b"", 38),
            ),
            (
                b"HMSG foo 1 30 30\r\nNATS/1.0 503 No Responders\r\n\r\n\r\n",
                hmsg("foo", 1, None, status(503, Some("No Responders")), b"", 50),
            ),
        ];
        for (input, expected) in rows {
            assert_eq!(
                parse_all(input).unwrap(),
                vec![expected],
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn hmsg_with_headers_and_payload() {
        let block = b"NATS/1.0\r\nA: 1\r\nB:  two  \r\nA: 3\r\n\r\n";
        let mut input = format!(
            "HMSG s.x 7 _INBOX.r {} {}\r\n",
            block.len(),
            block.len() + 4
        )
        .into_bytes();
        input.extend_from_slice(block);
        input.extend_from_slice(b"data\r\n");
        let ops = parse_all(&input).unwrap();
        let [ServerOp::Msg(m)] = ops.as_slice() else {
            panic!("{ops:?}")
        };
        let h = m.headers.as_ref().unwrap();
        assert_eq!(h.get_all("A").collect::<Vec<_>>(), ["1", "3"]);
        assert_eq!(h.get("B"), Some("two"));
        assert_eq!(h.status(), None);
        assert_eq!(&m.payload[..], b"data");
        assert_eq!(m.wire_len, input.len());
        // Headers with an empty payload.
        let mut input = format!("HMSG s 1 {} {}\r\n", block.len(), block.len()).into_bytes();
        input.extend_from_slice(block);
        input.extend_from_slice(b"\r\n");
        let ops = parse_all(&input).unwrap();
        let [ServerOp::Msg(m)] = ops.as_slice() else {
            panic!("{ops:?}")
        };
        assert!(m.payload.is_empty());
        assert_eq!(m.headers.as_ref().unwrap().len(), 3);
    }

    #[test]
    fn op_names_any_case() {
        for ping in ["PING", "ping", "Ping", "pInG"] {
            assert_eq!(
                parse_one(format!("{ping}\r\n").as_bytes()).unwrap(),
                Some(ServerOp::Ping)
            );
        }
        for pong in ["PONG", "pong", "PoNg"] {
            assert_eq!(
                parse_one(format!("{pong}\r\n").as_bytes()).unwrap(),
                Some(ServerOp::Pong)
            );
        }
        for ok in ["+OK", "+ok", "+Ok"] {
            assert_eq!(
                parse_one(format!("{ok}\r\n").as_bytes()).unwrap(),
                Some(ServerOp::Ok)
            );
        }
        for err in ["-ERR", "-err", "-Err"] {
            let op = parse_one(format!("{err} 'x'\r\n").as_bytes()).unwrap();
            assert_eq!(
                op,
                Some(ServerOp::Err(ServerError::new(ServerErrorKind::Other, "x")))
            );
        }
        for info in ["INFO", "info", "Info"] {
            assert!(matches!(
                parse_one(format!("{info} {{}}\r\n").as_bytes()).unwrap(),
                Some(ServerOp::Info(_))
            ));
        }
        for m in ["MSG", "msg", "Msg", "mSg"] {
            let op = parse_one(format!("{m} foo 1 2\r\nhi\r\n").as_bytes()).unwrap();
            assert_eq!(op, Some(msg("foo", 1, None, b"hi", 17)));
        }
        for m in ["HMSG", "hmsg", "HMsg", "hMsG"] {
            let op =
                parse_one(format!("{m} foo 1 12 12\r\nNATS/1.0\r\n\r\n\r\n").as_bytes()).unwrap();
            assert_eq!(op, Some(hmsg("foo", 1, None, HeaderMap::new(), b"", 32)));
        }
    }

    #[test]
    fn tabs_and_runs_of_spaces() {
        let rows: &[&[u8]] = &[
            b"MSG  foo   1    bar  2\r\nhi\r\n",
            b"MSG\tfoo\t1\tbar\t2\r\nhi\r\n",
            b"MSG \t foo \t1\t \tbar 2 \t \r\nhi\r\n",
            b"msg foo 1 bar 2\nhi\r\n",
        ];
        for input in rows {
            let op = parse_one(input).unwrap();
            assert_eq!(
                op,
                Some(msg("foo", 1, Some("bar"), b"hi", input.len())),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
        assert_eq!(parse_one(b"PING  \t\r\n").unwrap(), Some(ServerOp::Ping));
        assert_eq!(parse_one(b"PING\n").unwrap(), Some(ServerOp::Ping));
        assert_eq!(parse_one(b"+OK \r\n").unwrap(), Some(ServerOp::Ok));
        let op = parse_one(b"HMSG\t\tfoo  1\t12   12 \r\nNATS/1.0\r\n\r\n\r\n").unwrap();
        assert!(matches!(op, Some(ServerOp::Msg(MsgOp { sid: 1, .. }))));
    }

    #[test]
    fn malformed_table() {
        let too_long = format!("MSG {} 1 1\r\nx\r\n", "a".repeat(MAX_CONTROL_LINE));
        let msg_big = format!("MSG foo 1 {}\r\n", DEFAULT_MAX_PAYLOAD_LIMIT + 1);
        let unknown = |s: &str| ParseError::UnknownOp { line: s.to_owned() };
        let rows: Vec<(&[u8], ParseError)> = vec![
            (b"BOGUS\r\n", unknown("BOGUS")),
            (b"\r\n", unknown("")),
            (b"PINGX\r\n", unknown("PINGX")),
            (b"PING x\r\n", unknown("PING x")),
            (b"PIN\r\n", unknown("PIN")),
            (b"MSGfoo 1 1\r\nx\r\n", unknown("MSGfoo 1 1")),
            (b"MSG)foo 1 1\r\nx\r\n", unknown("MSG)foo 1 1")),
            (b"+OKAY\r\n", unknown("+OKAY")),
            (b"-ERRx\r\n", unknown("-ERRx")),
            (b"+\r\n", unknown("+")),
            (b"-\r\n", unknown("-")),
            (b"INFOx\r\n", unknown("INFOx")),
            (
                b"INFO\r\n",
                ParseError::InvalidInfo("EOF while parsing a value at line 1 column 0".into()),
            ),
            (b"MSG\r\n", unknown("MSG")),
            (b"MSG \r\n", ParseError::InvalidArguments { op: "MSG" }),
            (b"MSG foo\r\n", ParseError::InvalidArguments { op: "MSG" }),
            (b"MSG foo 1\r\n", ParseError::InvalidArguments { op: "MSG" }),
            (
                b"MSG foo 1 a b 2\r\n",
                ParseError::InvalidArguments { op: "MSG" },
            ),
            (
                b"MSG a b c d e f g\r\n",
                ParseError::InvalidArguments { op: "MSG" },
            ),
            (b"MSG foo x 1\r\nx\r\n", ParseError::InvalidNumber),
            (b"MSG foo 1 x\r\n", ParseError::InvalidNumber),
            (b"MSG foo 1 -1\r\n", ParseError::InvalidNumber),
            (b"MSG foo 1 +1\r\n", ParseError::InvalidNumber),
            (
                b"MSG foo 18446744073709551616 1\r\nx\r\n",
                ParseError::InvalidNumber,
            ),
            (
                b"MSG foo 1 99999999999999999999999\r\n",
                ParseError::InvalidNumber,
            ),
            (
                msg_big.as_bytes(),
                ParseError::PayloadTooLarge {
                    size: DEFAULT_MAX_PAYLOAD_LIMIT + 1,
                    limit: DEFAULT_MAX_PAYLOAD_LIMIT,
                },
            ),
            (b"MSG foo 1 2\r\nhixx", ParseError::MissingPayloadCrlf),
            (b"MSG foo 1 2\r\nhi\n\n", ParseError::MissingPayloadCrlf),
            (b"MSG foo 1 2\r\nhi\r\r", ParseError::MissingPayloadCrlf),
            (
                b"HMSG foo 1 12\r\n",
                ParseError::InvalidArguments { op: "HMSG" },
            ),
            (
                b"HMSG foo 1 r s 12 12 x\r\n",
                ParseError::InvalidArguments { op: "HMSG" },
            ),
            (
                b"HMSG foo 1 13 12\r\n",
                ParseError::InvalidArguments { op: "HMSG" },
            ),
            (b"HMSG foo 1 x 12\r\n", ParseError::InvalidNumber),
            (
                b"HMSG foo 1 12 12\r\nNATS/1.1\r\n\r\n\r\n",
                ParseError::InvalidHeaders(crate::HeaderError::InvalidVersionLine),
            ),
            (
                b"HMSG foo 1 0 0\r\n\r\n",
                ParseError::InvalidHeaders(crate::HeaderError::MissingTerminator),
            ),
            (
                b"HMSG foo 1 10 10\r\nNATS/1.0\r\n\r\n",
                ParseError::InvalidHeaders(crate::HeaderError::MissingTerminator),
            ),
            (
                b"HMSG foo 1 15 15\r\nNATS/1.0\r\nA\r\n\r\n\r\n",
                ParseError::InvalidHeaders(crate::HeaderError::MissingColon),
            ),
            (
                b"HMSG foo 1 12 12\r\nNATS/1.0\r\n\r\nxx",
                ParseError::MissingPayloadCrlf,
            ),
            (
                too_long.as_bytes(),
                ParseError::ControlLineTooLong {
                    limit: MAX_CONTROL_LINE,
                },
            ),
        ];
        for (input, expected) in rows {
            let mut parser = Parser::new();
            let mut buf = BytesMut::from(input);
            let got = loop {
                match parser.parse(&mut buf) {
                    Ok(Some(_)) => continue,
                    other => break other,
                }
            };
            assert_eq!(got, Err(expected), "{:?}", String::from_utf8_lossy(input));
            assert_eq!(parser.parse(&mut buf), Err(ParseError::Poisoned));
            parser.reset();
            assert_eq!(
                parser.parse(&mut BytesMut::from(&b"PING\r\n"[..])),
                Ok(Some(ServerOp::Ping))
            );
        }
    }

    #[test]
    fn control_line_limit() {
        // Exactly at the limit is fine.
        let subject = "s".repeat(MAX_CONTROL_LINE - "MSG  1 0".len());
        let line = format!("MSG {subject} 1 0\r\n\r\n");
        assert!(matches!(
            parse_one(line.as_bytes()),
            Ok(Some(ServerOp::Msg(_)))
        ));
        // One byte more fails.
        let line = format!("MSG {subject}x 1 0\r\n\r\n");
        assert_eq!(
            parse_one(line.as_bytes()),
            Err(ParseError::ControlLineTooLong {
                limit: MAX_CONTROL_LINE
            })
        );
        // Reported before the CRLF arrives, fed in small chunks.
        let mut parser = Parser::new();
        let mut buf = BytesMut::new();
        let mut result = Ok(None);
        for chunk in b"MSG "
            .iter()
            .copied()
            .chain(std::iter::repeat(b'a'))
            .take(MAX_CONTROL_LINE + 10)
            .collect::<Vec<u8>>()
            .chunks(7)
        {
            buf.extend_from_slice(chunk);
            result = parser.parse(&mut buf);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(
            result,
            Err(ParseError::ControlLineTooLong {
                limit: MAX_CONTROL_LINE
            })
        );
        assert!(buf.len() <= MAX_CONTROL_LINE + 2 + 7);
        // 4096 bytes and a pending '\r' are still waiting, not an error.
        let mut buf = BytesMut::from(format!("{}\r", "P".repeat(MAX_CONTROL_LINE)).as_bytes());
        assert_eq!(Parser::new().parse(&mut buf), Ok(None));
    }

    #[test]
    fn info_has_its_own_larger_limit() {
        let urls: Vec<String> = (0..4000)
            .map(|i| format!("10.0.{}.{}:4222", i / 256, i % 256))
            .collect();
        let json = format!(
            "{{\"server_id\":\"x\",\"connect_urls\":{}}}",
            serde_json::to_string(&urls).unwrap()
        );
        assert!(json.len() > 64 * 1024);
        let wire = format!("INFO {json}\r\nPING\r\n");
        // whole, and fed in small pieces
        let ops = parse_all(wire.as_bytes()).unwrap();
        assert!(matches!(&ops[0], ServerOp::Info(i) if i.connect_urls.len() == 4000));
        assert_eq!(ops[1], ServerOp::Ping);
        let mut parser = Parser::new();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for chunk in wire.as_bytes().chunks(1000) {
            buf.extend_from_slice(chunk);
            while let Some(op) = parser.parse(&mut buf).unwrap() {
                got.push(op);
            }
        }
        assert_eq!(got, ops);
        // other ops keep the control-line limit, and INFO has one too
        let long_msg = format!("MSG {} 1 0\r\n\r\n", "a".repeat(8000));
        assert!(matches!(
            parse_all(long_msg.as_bytes()),
            Err(ParseError::ControlLineTooLong {
                limit: MAX_CONTROL_LINE
            })
        ));
        let mut huge = BytesMut::from(format!("INFO {}", "x".repeat(MAX_INFO_LINE + 2)).as_bytes());
        assert_eq!(
            Parser::new().parse(&mut huge),
            Err(ParseError::ControlLineTooLong {
                limit: MAX_INFO_LINE
            })
        );
    }

    #[test]
    fn configured_control_line_limit() {
        let mut parser = Parser::new().with_max_control_line(8192);
        let line = format!("MSG {} 1 0\r\n\r\n", "a".repeat(6000));
        assert!(matches!(
            parser.parse(&mut BytesMut::from(line.as_bytes())),
            Ok(Some(ServerOp::Msg(_)))
        ));
        let mut small = Parser::new().with_max_control_line(10);
        assert_eq!(
            small.parse(&mut BytesMut::from(&b"PING\r\n"[..])),
            Ok(Some(ServerOp::Ping))
        );
        assert!(small
            .parse(&mut BytesMut::from(&b"MSG abcdefgh 1 0\r\n\r\n"[..]))
            .is_err());
    }

    fn mixed_stream() -> Vec<u8> {
        let mut s = Vec::new();
        s.extend_from_slice(b"INFO {\"server_id\":\"X\",\"headers\":true}\r\n");
        s.extend_from_slice(b"PING\r\n");
        s.extend_from_slice(b"MSG foo.bar 1 5\r\nhello\r\n");
        s.extend_from_slice(b"msg\tfoo 2  reply.to 4\r\n\r\n\r\n\r\n");
        s.extend_from_slice(b"HMSG _INBOX.a 3 16 16\r\nNATS/1.0 503\r\n\r\n\r\n");
        s.extend_from_slice(b"HMSG x 4 r 19 22\r\nNATS/1.0\r\nK: v1\r\n\r\nabc\r\n");
        s.extend_from_slice(b"+OK\r\n");
        s.extend_from_slice(b"-ERR 'Permissions Violation for Subscription to \"foo\"'\r\n");
        s.extend_from_slice(b"MSG empty 5 0\r\n\r\n");
        s.extend_from_slice(b"PONG\n");
        s
    }

    #[test]
    fn split_at_every_offset_gives_identical_ops() {
        let stream = mixed_stream();
        let expected = parse_all(&stream).unwrap();
        assert_eq!(expected.len(), 10);
        for split in 0..=stream.len() {
            let (a, b) = stream.split_at(split);
            let mut parser = Parser::new();
            let mut buf = BytesMut::from(a);
            let mut ops = Vec::new();
            while let Some(op) = parser.parse(&mut buf).unwrap() {
                ops.push(op);
            }
            buf.extend_from_slice(b);
            while let Some(op) = parser.parse(&mut buf).unwrap() {
                ops.push(op);
            }
            assert_eq!(ops, expected, "split at {split}");
            assert!(buf.is_empty());
            assert_eq!(parser.control_lines_parsed(), 10, "split at {split}");
        }
    }

    #[test]
    fn byte_by_byte_gives_identical_ops() {
        let stream = mixed_stream();
        let expected = parse_all(&stream).unwrap();
        let mut parser = Parser::new();
        let mut buf = BytesMut::new();
        let mut ops = Vec::new();
        let mut consumed = 0;
        for &byte in &stream {
            buf.extend_from_slice(&[byte]);
            while let Some(op) = parser.parse(&mut buf).unwrap() {
                if let ServerOp::Msg(m) = &op {
                    consumed += m.wire_len;
                }
                ops.push(op);
            }
        }
        assert_eq!(ops, expected);
        assert_eq!(parser.control_lines_parsed(), 10);
        let msg_bytes: usize = expected
            .iter()
            .filter_map(|op| {
                if let ServerOp::Msg(m) = op {
                    Some(m.wire_len)
                } else {
                    None
                }
            })
            .sum();
        assert_eq!(consumed, msg_bytes);
    }

    #[test]
    fn large_payload_does_not_reparse_control_line() {
        let payload = vec![b'z'; 1 << 20];
        let mut wire = BytesMut::new();
        crate::encode_msg(&mut wire, "big", 1, Some("r"), &payload);
        let mut parser = Parser::new();
        let mut buf = BytesMut::new();
        let mut got = None;
        for chunk in wire.chunks(4096) {
            buf.extend_from_slice(chunk);
            if let Some(op) = parser.parse(&mut buf).unwrap() {
                got = Some(op);
                break;
            }
            // After the first chunk the control line is consumed and only the payload is held.
            assert!(parser.is_awaiting_payload());
            assert_eq!(parser.control_lines_parsed(), 1);
        }
        let Some(ServerOp::Msg(m)) = got else {
            panic!()
        };
        assert_eq!(m.payload.len(), payload.len());
        assert_eq!(m.wire_len, wire.len());
        assert_eq!(parser.control_lines_parsed(), 1);
        assert!(!parser.is_awaiting_payload());
    }

    #[test]
    fn zero_copy_slices() {
        let mut buf = BytesMut::from(&b"MSG subject.x 1 reply.y 7\r\npayload\r\n"[..]);
        let range = buf.as_ptr() as usize..buf.as_ptr() as usize + buf.len();
        let Some(ServerOp::Msg(m)) = Parser::new().parse(&mut buf).unwrap() else {
            panic!()
        };
        for part in [
            m.subject.as_bytes(),
            m.reply.as_ref().unwrap().as_bytes(),
            &m.payload,
        ] {
            assert!(
                range.contains(&(part.as_ptr() as usize)),
                "not a slice of the read buffer"
            );
        }
    }

    #[test]
    fn never_consumes_partial_op_other_than_msg_line() {
        let mut parser = Parser::new();
        let mut buf = BytesMut::from(&b"PIN"[..]);
        assert_eq!(parser.parse(&mut buf), Ok(None));
        assert_eq!(&buf[..], b"PIN");
        buf.extend_from_slice(b"G\r");
        assert_eq!(parser.parse(&mut buf), Ok(None));
        assert_eq!(&buf[..], b"PING\r");
        buf.extend_from_slice(b"\n");
        assert_eq!(parser.parse(&mut buf), Ok(Some(ServerOp::Ping)));
        assert!(buf.is_empty());
    }

    #[test]
    fn number_parsing() {
        assert_eq!(parse_u64(b"0"), Some(0));
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_u64(b"1 "), None);
        assert_eq!(parse_u64(b"00000000000000000000001"), None);
    }
}

#[cfg(test)]
mod split_args_tests {
    use super::split_args;

    fn naive(line: &[u8], start: usize) -> Vec<&[u8]> {
        line[start..]
            .split(|b| *b == b' ' || *b == b'\t')
            .filter(|a| !a.is_empty())
            .collect()
    }

    #[test]
    fn swar_split_matches_a_naive_split_at_every_chunk_boundary() {
        let alphabet = [b'a', b' ', b'\t', b'b', b'.'];
        // every line of length 0..=20 over a small alphabet, built from a counter
        for len in 0..=20usize {
            for seed in 0..200u64 {
                let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ len as u64;
                let line: Vec<u8> = (0..len)
                    .map(|_| {
                        x = x
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        alphabet[(x >> 60) as usize % alphabet.len()]
                    })
                    .collect();
                for start in 0..=len.min(3) {
                    let mut out = [(0usize, 0usize); 32];
                    let n = split_args(&line, start, &mut out).expect("fits in 32");
                    let got: Vec<&[u8]> = out[..n].iter().map(|(a, b)| &line[*a..*b]).collect();
                    assert_eq!(
                        got,
                        naive(&line, start),
                        "{:?} from {start}",
                        String::from_utf8_lossy(&line)
                    );
                }
            }
        }
    }

    #[test]
    fn too_many_arguments_is_none() {
        let mut out = [(0usize, 0usize); 2];
        assert_eq!(split_args(b"a b c", 0, &mut out), None);
        assert_eq!(split_args(b"a b", 0, &mut out), Some(2));
    }
}
