//! Property tests: encode random ops, concatenate, split at random points, parse back identically.
#![allow(clippy::unwrap_used, missing_docs)]

use bytes::{Bytes, BytesMut};
use nats_proto::{
    encode_hmsg, encode_hpub, encode_msg, encode_ping, encode_pub, encode_sub, encode_unsub,
    ClientOp, ClientOpParser, HeaderMap, MsgOp, Parser, ServerOp, StatusCode, Subject,
};
use proptest::prelude::*;

fn subject() -> impl Strategy<Value = String> {
    prop::collection::vec("[a-zA-Z0-9_\\-$]{1,8}", 1..5).prop_map(|tokens| tokens.join("."))
}

fn headers() -> impl Strategy<Value = HeaderMap> {
    (
        prop::option::of((
            100u16..600,
            prop::option::of("[A-Za-z][A-Za-z ]{0,10}[a-z]"),
        )),
        prop::collection::vec(("[!-9;-~]{1,10}", "([!-~]([ -~]{0,10}[!-~])?)?"), 0..5),
    )
        .prop_map(|(status, pairs)| {
            let mut h = HeaderMap::new();
            if let Some((code, desc)) = status {
                h.set_status(Some(StatusCode(code)), desc);
            }
            for (n, v) in pairs {
                h.append(n, v).unwrap();
            }
            h
        })
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        Just(b"\r\n".to_vec()),
        prop::collection::vec(prop_oneof![Just(b'\r'), Just(b'\n'), any::<u8>()], 0..300),
    ]
}

#[derive(Debug, Clone)]
struct Msg {
    subject: String,
    sid: u64,
    reply: Option<String>,
    headers: Option<HeaderMap>,
    payload: Vec<u8>,
}

fn message() -> impl Strategy<Value = Msg> {
    (
        subject(),
        any::<u64>(),
        prop::option::of(subject()),
        prop::option::of(headers()),
        payload(),
    )
        .prop_map(|(subject, sid, reply, headers, payload)| Msg {
            subject,
            sid,
            reply,
            headers,
            payload,
        })
}

fn splits(len: usize, cuts: &[prop::sample::Index]) -> Vec<usize> {
    let mut points: Vec<usize> = cuts.iter().map(|i| i.index(len + 1)).collect();
    points.sort_unstable();
    points.push(len);
    points
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn server_ops_roundtrip(msgs in prop::collection::vec(message(), 1..12), cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8)) {
        let mut wire = BytesMut::new();
        let mut expected = Vec::new();
        for m in &msgs {
            let start = wire.len();
            match &m.headers {
                Some(h) => encode_hmsg(&mut wire, &m.subject, m.sid, m.reply.as_deref(), h, &m.payload),
                None => encode_msg(&mut wire, &m.subject, m.sid, m.reply.as_deref(), &m.payload),
            }
            expected.push(ServerOp::Msg(MsgOp {
                subject: Subject::try_from(m.subject.clone()).unwrap(),
                sid: m.sid,
                reply: m.reply.clone().map(|r| Subject::try_from(r).unwrap()),
                headers: m.headers.clone(),
                payload: Bytes::from(m.payload.clone()),
                wire_len: wire.len() - start,
            }));
            encode_ping(&mut wire);
            expected.push(ServerOp::Ping);
        }
        let mut parser = Parser::new();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        let mut prev = 0;
        for cut in splits(wire.len(), &cuts) {
            buf.extend_from_slice(&wire[prev..cut]);
            prev = cut;
            while let Some(op) = parser.parse(&mut buf).unwrap() {
                got.push(op);
            }
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(got, expected);
        prop_assert_eq!(parser.control_lines_parsed(), 2 * msgs.len() as u64);
    }

    #[test]
    fn client_ops_roundtrip(msgs in prop::collection::vec(message(), 1..12), queue in prop::option::of("[a-z]{1,6}"), max in prop::option::of(any::<u64>()), cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8)) {
        let mut wire = BytesMut::new();
        let mut expected = Vec::new();
        for m in &msgs {
            match &m.headers {
                Some(h) => encode_hpub(&mut wire, &m.subject, m.reply.as_deref(), h, &m.payload),
                None => encode_pub(&mut wire, &m.subject, m.reply.as_deref(), &m.payload),
            }
            expected.push(ClientOp::Pub {
                subject: m.subject.clone(),
                reply: m.reply.clone(),
                headers: m.headers.clone(),
                payload: Bytes::from(m.payload.clone()),
            });
            encode_sub(&mut wire, &m.subject, queue.as_deref(), m.sid);
            expected.push(ClientOp::Sub { subject: m.subject.clone(), queue_group: queue.clone(), sid: m.sid });
            encode_unsub(&mut wire, m.sid, max);
            expected.push(ClientOp::Unsub { sid: m.sid, max });
        }
        let mut parser = ClientOpParser::new();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        let mut prev = 0;
        for cut in splits(wire.len(), &cuts) {
            buf.extend_from_slice(&wire[prev..cut]);
            prev = cut;
            while let Some(op) = parser.parse(&mut buf).unwrap() {
                got.push(op);
            }
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn parser_never_panics_and_split_invariant(data in prop::collection::vec(any::<u8>(), 0..400), cut in any::<prop::sample::Index>()) {
        let whole = run(&data, &[]);
        let split = run(&data, &[cut.index(data.len() + 1)]);
        prop_assert_eq!(whole, split);
    }
}

/// Parses `data` fed in pieces; returns the ops and whether it ended in an error.
fn run(data: &[u8], cuts: &[usize]) -> (Vec<ServerOp>, bool) {
    let mut parser = Parser::new();
    let mut buf = BytesMut::new();
    let mut ops = Vec::new();
    let mut prev = 0;
    for &cut in cuts.iter().chain(std::iter::once(&data.len())) {
        buf.extend_from_slice(&data[prev..cut]);
        prev = cut;
        loop {
            let before = buf.len();
            match parser.parse(&mut buf) {
                Ok(Some(op)) => ops.push(op),
                Ok(None) => break,
                Err(_) => return (ops, true),
            }
            assert!(buf.len() <= before);
        }
    }
    (ops, false)
}

#[test]
fn fuzz_style_errors_are_split_invariant_for_known_inputs() {
    for input in [
        &b"MSG a 1 2\r\nabXX"[..],
        b"PING\r\nBOGUS\r\n",
        b"HMSG a 1 3 3\r\nabc\r\n",
    ] {
        for cut in 0..=input.len() {
            assert_eq!(run(input, &[]), run(input, &[cut]), "{input:?} at {cut}");
        }
    }
}
