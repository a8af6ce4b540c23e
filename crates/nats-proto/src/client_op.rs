//! The client → server parser ([`ClientOpParser`]), for the scripted fake server and tests.
//!
//! Simplicity over speed: it rescans the buffer on every call and allocates owned strings.

use bytes::{Buf, Bytes, BytesMut};

use crate::error::{unknown_op, ParseError};
use crate::headers::HeaderMap;
use crate::parser::{parse_u64, parse_usize, split_args};

/// The longest client control line accepted: `CONNECT` carries JWTs and signatures, so this is
/// far above the server's 4096-byte limit for other ops.
pub const MAX_CLIENT_CONTROL_LINE: usize = 1024 * 1024;

/// One operation sent by a client.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use nats_proto::{ClientOp, ClientOpParser};
/// let mut buf = BytesMut::from(&b"SUB foo q 1\r\n"[..]);
/// assert_eq!(
///     ClientOpParser::new().parse(&mut buf)?,
///     Some(ClientOp::Sub { subject: "foo".into(), queue_group: Some("q".into()), sid: 1 })
/// );
/// # Ok::<(), nats_proto::ParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ClientOp {
    /// `CONNECT {json}`.
    Connect(serde_json::Value),
    /// `PUB` (headers `None`) or `HPUB` (headers `Some`).
    Pub {
        /// Subject.
        subject: String,
        /// Reply subject.
        reply: Option<String>,
        /// Decoded header block (`HPUB` only).
        headers: Option<HeaderMap>,
        /// Payload without the header block.
        payload: Bytes,
    },
    /// `SUB subject [queue] sid`.
    Sub {
        /// Subject filter.
        subject: String,
        /// Queue group.
        queue_group: Option<String>,
        /// Subscription id.
        sid: u64,
    },
    /// `UNSUB sid [max]`.
    Unsub {
        /// Subscription id.
        sid: u64,
        /// Auto-unsubscribe after this many messages.
        max: Option<u64>,
    },
    /// `PING`.
    Ping,
    /// `PONG`.
    Pong,
}

/// Parses client → server ops. Stateless: an incomplete op is left in the buffer untouched.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use nats_proto::{ClientOp, ClientOpParser};
/// let mut parser = ClientOpParser::new();
/// let mut buf = BytesMut::from(&b"PUB foo 5\r\nhel"[..]);
/// assert_eq!(parser.parse(&mut buf)?, None);
/// buf.extend_from_slice(b"lo\r\n");
/// let Some(ClientOp::Pub { subject, payload, .. }) = parser.parse(&mut buf)? else { panic!() };
/// assert_eq!((subject.as_str(), &payload[..]), ("foo", &b"hello"[..]));
/// # Ok::<(), nats_proto::ParseError>(())
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct ClientOpParser;

fn string(bytes: &[u8], op: &'static str) -> Result<String, ParseError> {
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|_| ParseError::InvalidArguments { op })
}

impl ClientOpParser {
    /// A parser.
    ///
    /// ```
    /// let _ = nats_proto::ClientOpParser::new();
    /// ```
    pub fn new() -> Self {
        ClientOpParser
    }

    /// Parses the next op from the front of `buf`, consuming exactly its bytes; `Ok(None)` if
    /// it is not complete yet (nothing consumed). Op names are case-insensitive, arguments are
    /// separated by runs of spaces/tabs, lines end in CRLF or LF; payloads must end in CRLF.
    ///
    /// # Errors
    ///
    /// [`ParseError`] for malformed input. The parser has no state, so it can be called again,
    /// but the offending bytes are still in the buffer.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use nats_proto::{ClientOp, ClientOpParser};
    /// let mut buf = BytesMut::from(&b"unsub 4 10\r\nping\r\n"[..]);
    /// let mut p = ClientOpParser::new();
    /// assert_eq!(p.parse(&mut buf)?, Some(ClientOp::Unsub { sid: 4, max: Some(10) }));
    /// assert_eq!(p.parse(&mut buf)?, Some(ClientOp::Ping));
    /// # Ok::<(), nats_proto::ParseError>(())
    /// ```
    pub fn parse(&mut self, buf: &mut BytesMut) -> Result<Option<ClientOp>, ParseError> {
        let window = buf
            .get(..buf.len().min(MAX_CLIENT_CONTROL_LINE + 2))
            .unwrap_or_default();
        let Some(nl) = memchr::memchr(b'\n', window) else {
            if buf.len() > MAX_CLIENT_CONTROL_LINE + 1 {
                return Err(ParseError::ControlLineTooLong {
                    limit: MAX_CLIENT_CONTROL_LINE,
                });
            }
            return Ok(None);
        };
        let line_end = nl + 1;
        let line = buf.get(..nl).unwrap_or_default();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > MAX_CLIENT_CONTROL_LINE {
            return Err(ParseError::ControlLineTooLong {
                limit: MAX_CLIENT_CONTROL_LINE,
            });
        }
        let op_end = line
            .iter()
            .position(|b| *b == b' ' || *b == b'\t')
            .unwrap_or(line.len());
        let op = line.get(..op_end).unwrap_or_default().to_ascii_uppercase();
        let mut r = [(0usize, 0usize); 4];
        let arg = |r: (usize, usize)| line.get(r.0..r.1).unwrap_or_default();
        match op.as_slice() {
            b"PING" | b"PONG" => {
                let n = split_args(line, op_end, &mut r);
                if n != Some(0) {
                    return Err(ParseError::InvalidArguments {
                        op: if op == b"PING" { "PING" } else { "PONG" },
                    });
                }
                let out = if op == b"PING" {
                    ClientOp::Ping
                } else {
                    ClientOp::Pong
                };
                buf.advance(line_end);
                Ok(Some(out))
            }
            b"CONNECT" => {
                let json = line.get(op_end..).unwrap_or_default();
                let value: serde_json::Value = serde_json::from_slice(json)
                    .map_err(|e| ParseError::InvalidConnect(e.to_string()))?;
                buf.advance(line_end);
                Ok(Some(ClientOp::Connect(value)))
            }
            b"SUB" => {
                let bad = ParseError::InvalidArguments { op: "SUB" };
                let n = split_args(line, op_end, &mut r).ok_or_else(|| bad.clone())?;
                let (subject, queue, sid) = match n {
                    2 => (r[0], None, r[1]),
                    3 => (r[0], Some(r[1]), r[2]),
                    _ => return Err(bad),
                };
                let out = ClientOp::Sub {
                    subject: string(arg(subject), "SUB")?,
                    queue_group: queue.map(|q| string(arg(q), "SUB")).transpose()?,
                    sid: parse_u64(arg(sid)).ok_or(ParseError::InvalidNumber)?,
                };
                buf.advance(line_end);
                Ok(Some(out))
            }
            b"UNSUB" => {
                let bad = ParseError::InvalidArguments { op: "UNSUB" };
                let n = split_args(line, op_end, &mut r).ok_or_else(|| bad.clone())?;
                let (sid, max) = match n {
                    1 => (r[0], None),
                    2 => (r[0], Some(r[1])),
                    _ => return Err(bad),
                };
                let out = ClientOp::Unsub {
                    sid: parse_u64(arg(sid)).ok_or(ParseError::InvalidNumber)?,
                    max: max
                        .map(|m| parse_u64(arg(m)).ok_or(ParseError::InvalidNumber))
                        .transpose()?,
                };
                buf.advance(line_end);
                Ok(Some(out))
            }
            b"PUB" | b"HPUB" => {
                let hpub = op == b"HPUB";
                let name = if hpub { "HPUB" } else { "PUB" };
                let bad = ParseError::InvalidArguments { op: name };
                let n = split_args(line, op_end, &mut r).ok_or_else(|| bad.clone())?;
                let (subject, reply, hlen, total) = match (hpub, n) {
                    (false, 2) => (r[0], None, None, r[1]),
                    (false, 3) => (r[0], Some(r[1]), None, r[2]),
                    (true, 3) => (r[0], None, Some(r[1]), r[2]),
                    (true, 4) => (r[0], Some(r[1]), Some(r[2]), r[3]),
                    _ => return Err(bad),
                };
                let total = parse_usize(arg(total)).ok_or(ParseError::InvalidNumber)?;
                let hlen = hlen
                    .map(|h| parse_usize(arg(h)).ok_or(ParseError::InvalidNumber))
                    .transpose()?;
                if hlen.is_some_and(|h| h > total) {
                    return Err(bad);
                }
                let subject = string(arg(subject), name)?;
                let reply = reply.map(|x| string(arg(x), name)).transpose()?;
                let needed = line_end
                    .checked_add(total)
                    .and_then(|n| n.checked_add(2))
                    .ok_or(ParseError::InvalidNumber)?;
                if buf.len() < needed {
                    return Ok(None);
                }
                if buf.get(line_end + total..needed) != Some(b"\r\n") {
                    return Err(ParseError::MissingPayloadCrlf);
                }
                let frame = buf.split_to(needed).freeze();
                let h = hlen.unwrap_or(0);
                let headers = match hlen {
                    Some(h) => Some(HeaderMap::decode(
                        frame.get(line_end..line_end + h).unwrap_or_default(),
                    )?),
                    None => None,
                };
                Ok(Some(ClientOp::Pub {
                    subject,
                    reply,
                    headers,
                    payload: frame.slice(line_end + h..line_end + total),
                }))
            }
            _ => Err(unknown_op(line)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn one(input: &[u8]) -> Result<Option<ClientOp>, ParseError> {
        ClientOpParser::new().parse(&mut BytesMut::from(input))
    }

    #[test]
    fn every_op() {
        let mut h = HeaderMap::new();
        h.insert("A", "1").unwrap();
        let rows: Vec<(&[u8], ClientOp)> = vec![
            (b"PING\r\n", ClientOp::Ping),
            (b"pong\n", ClientOp::Pong),
            (
                b"CONNECT {\"verbose\":false}\r\n",
                ClientOp::Connect(serde_json::json!({"verbose": false})),
            ),
            (
                b"SUB foo 1\r\n",
                ClientOp::Sub {
                    subject: "foo".into(),
                    queue_group: None,
                    sid: 1,
                },
            ),
            (
                b"sub\tfoo.*  q\t2\r\n",
                ClientOp::Sub {
                    subject: "foo.*".into(),
                    queue_group: Some("q".into()),
                    sid: 2,
                },
            ),
            (b"UNSUB 3\r\n", ClientOp::Unsub { sid: 3, max: None }),
            (
                b"UNSUB 3 5\r\n",
                ClientOp::Unsub {
                    sid: 3,
                    max: Some(5),
                },
            ),
            (
                b"PUB foo 2\r\nhi\r\n",
                ClientOp::Pub {
                    subject: "foo".into(),
                    reply: None,
                    headers: None,
                    payload: Bytes::from_static(b"hi"),
                },
            ),
            (
                b"Pub foo r 0\r\n\r\n",
                ClientOp::Pub {
                    subject: "foo".into(),
                    reply: Some("r".into()),
                    headers: None,
                    payload: Bytes::new(),
                },
            ),
            (
                b"HPUB foo 18 20\r\nNATS/1.0\r\nA: 1\r\n\r\nhi\r\n",
                ClientOp::Pub {
                    subject: "foo".into(),
                    reply: None,
                    headers: Some(h),
                    payload: Bytes::from_static(b"hi"),
                },
            ),
        ];
        for (input, expected) in rows {
            assert_eq!(
                one(input).unwrap(),
                Some(expected),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn malformed_table() {
        let rows: Vec<(&[u8], ParseError)> = vec![
            (
                b"NOPE\r\n",
                ParseError::UnknownOp {
                    line: "NOPE".into(),
                },
            ),
            (b"PING x\r\n", ParseError::InvalidArguments { op: "PING" }),
            (b"SUB foo\r\n", ParseError::InvalidArguments { op: "SUB" }),
            (
                b"SUB a b c d e f\r\n",
                ParseError::InvalidArguments { op: "SUB" },
            ),
            (b"SUB foo x\r\n", ParseError::InvalidNumber),
            (b"UNSUB\r\n", ParseError::InvalidArguments { op: "UNSUB" }),
            (b"UNSUB 1 x\r\n", ParseError::InvalidNumber),
            (b"PUB foo\r\n", ParseError::InvalidArguments { op: "PUB" }),
            (b"PUB foo -1\r\n", ParseError::InvalidNumber),
            (b"PUB foo 2\r\nhixx", ParseError::MissingPayloadCrlf),
            (
                b"HPUB foo 3 2\r\n",
                ParseError::InvalidArguments { op: "HPUB" },
            ),
            (
                b"HPUB foo 2 2\r\nab\r\n",
                ParseError::InvalidHeaders(crate::HeaderError::MissingTerminator),
            ),
        ];
        for (input, expected) in rows {
            assert_eq!(
                one(input),
                Err(expected),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
        assert!(matches!(
            one(b"CONNECT {\r\n"),
            Err(ParseError::InvalidConnect(_))
        ));
    }

    #[test]
    fn incomplete_consumes_nothing() {
        let mut buf = BytesMut::from(&b"PUB foo 5\r\nhel"[..]);
        assert_eq!(ClientOpParser::new().parse(&mut buf), Ok(None));
        assert_eq!(buf.len(), 14);
        let mut buf = BytesMut::from(&b"SUB foo"[..]);
        assert_eq!(ClientOpParser::new().parse(&mut buf), Ok(None));
    }
}
