use super::*;
use crate::headers::StatusCode;
use crate::server_error::ServerErrorKind;

fn msg(subject: &str, sid: u64, reply: Option<&str>, payload: &[u8], wire_len: usize) -> ServerOp {
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
        let op = parse_one(format!("{m} foo 1 12 12\r\nNATS/1.0\r\n\r\n\r\n").as_bytes()).unwrap();
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
