//! Builds a message from fuzz bytes, encodes it with the server-side encoder and checks that the
//! parser gives it back identically.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use nats_proto::{encode_hmsg, encode_msg, validate_publish_subject, HeaderMap, Parser, ServerOp};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else { return };
    let split = rest.len().min(16);
    let (subject, payload) = rest.split_at(split);
    let Ok(subject) = std::str::from_utf8(subject) else { return };
    if validate_publish_subject(subject).is_err() {
        return;
    }
    let mut headers = HeaderMap::new();
    let mut wire = BytesMut::new();
    if flags & 1 == 1 {
        let _ = headers.insert("K", "v");
        encode_hmsg(&mut wire, subject, u64::from(flags), None, &headers, payload);
    } else {
        encode_msg(&mut wire, subject, u64::from(flags), None, payload);
    }
    let total = wire.len();
    match Parser::new().parse(&mut wire) {
        Ok(Some(ServerOp::Msg(m))) => {
            assert_eq!(m.subject.as_str(), subject);
            assert_eq!(&m.payload[..], payload);
            assert_eq!(m.wire_len, total);
            assert_eq!(m.headers.is_some(), flags & 1 == 1);
        }
        other => panic!("roundtrip failed: {other:?}"),
    }
});
