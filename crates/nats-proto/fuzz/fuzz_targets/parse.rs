//! Feeds arbitrary bytes through the server-op parser, split at a point chosen by the first byte.
//! Invariants: no panic; a call never consumes more than the buffer held; the unsplit stream gives
//! the same ops (and the same error-or-not outcome) as the split one.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use nats_proto::{ClientOpParser, Parser, ServerOp};

fn run(data: &[u8], cut: Option<usize>) -> (Vec<ServerOp>, bool) {
    let mut parser = Parser::new();
    let mut buf = BytesMut::new();
    let mut ops = Vec::new();
    let pieces: Vec<&[u8]> = match cut {
        Some(c) => vec![&data[..c], &data[c..]],
        None => vec![data],
    };
    for piece in pieces {
        buf.extend_from_slice(piece);
        loop {
            let before = buf.len();
            let result = parser.parse(&mut buf);
            assert!(buf.len() <= before, "parser grew the buffer");
            match result {
                Ok(Some(op)) => ops.push(op),
                Ok(None) => break,
                Err(_) => return (ops, true),
            }
        }
    }
    (ops, false)
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else { return };
    let cut = (first as usize * rest.len()) / 255;
    let whole = run(rest, None);
    let split = run(rest, Some(cut.min(rest.len())));
    assert_eq!(whole, split);
    // The client-op parser must not panic either.
    let mut buf = BytesMut::from(rest);
    let mut p = ClientOpParser::new();
    while let Ok(Some(_)) = p.parse(&mut buf) {}
});
