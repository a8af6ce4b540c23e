//! Criterion benches: parse MSG/HMSG streams, encode PUB.
#![allow(missing_docs, clippy::unwrap_used)]

use bytes::BytesMut;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use nats_proto::{encode_hmsg, encode_msg, encode_pub, HeaderMap, Parser, ServerOp};

const OPS: usize = 10_000;

fn msg_stream(payload_len: usize) -> BytesMut {
    let payload = vec![b'x'; payload_len];
    let mut buf = BytesMut::new();
    for i in 0..OPS {
        encode_msg(
            &mut buf,
            "bench.subject.foo",
            (i % 100) as u64,
            None,
            &payload,
        );
    }
    buf
}

fn hmsg_stream() -> BytesMut {
    let mut headers = HeaderMap::new();
    headers.insert("Nats-Msg-Id", "abcdef").unwrap();
    headers.insert("X-Trace", "1").unwrap();
    let payload = vec![b'x'; 128];
    let mut buf = BytesMut::new();
    for i in 0..OPS {
        encode_hmsg(
            &mut buf,
            "bench.subject.foo",
            (i % 100) as u64,
            Some("_INBOX.reply"),
            &headers,
            &payload,
        );
    }
    buf
}

fn parse_stream(c: &mut Criterion, name: &str, stream: BytesMut) {
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(OPS as u64));
    group.bench_function(name, |b| {
        b.iter(|| {
            let mut buf = stream.clone();
            let mut parser = Parser::new();
            let mut n = 0usize;
            while let Some(op) = parser.parse(&mut buf).unwrap() {
                if let ServerOp::Msg(m) = op {
                    n += m.payload.len();
                }
            }
            black_box(n)
        })
    });
    group.finish();
}

fn bench_parse(c: &mut Criterion) {
    parse_stream(c, "msg_16b", msg_stream(16));
    parse_stream(c, "msg_128b", msg_stream(128));
    parse_stream(c, "hmsg_128b", hmsg_stream());
}

fn bench_encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode_pub");
    group.throughput(Throughput::Elements(OPS as u64));
    for len in [16usize, 128] {
        let payload = vec![b'x'; len];
        let mut buf = BytesMut::with_capacity(OPS * (len + 64));
        group.bench_function(format!("{len}b"), |b| {
            b.iter(|| {
                buf.clear();
                for _ in 0..OPS {
                    encode_pub(
                        &mut buf,
                        black_box("bench.subject.foo"),
                        None,
                        black_box(&payload),
                    );
                }
                black_box(buf.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_parse, bench_encode);
criterion_main!(benches);
