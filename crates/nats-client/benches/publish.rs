//! Criterion bench of the publish path: `Client::publish` into the shared write buffer, with the
//! writer task draining it to a real local nats-server (started by nats-testkit).
//!
//! `cargo bench -p nats-client --bench publish`

#![allow(missing_docs)] // criterion_group! generates undocumented functions

use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

const BATCH: u64 = 10_000;

fn publish(c: &mut Criterion) {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot build a runtime: {e}");
            return;
        }
    };
    let setup = rt.block_on(async {
        let server = nats_testkit::NatsServer::start().await.ok()?;
        let client = nats_client::connect(server.url()).await.ok()?;
        Some((server, client))
    });
    let Some((_server, client)) = setup else {
        eprintln!("publish bench skipped: no nats-server available");
        return;
    };
    let mut group = c.benchmark_group("publish");
    group.measurement_time(Duration::from_secs(5));
    for size in [16usize, 128] {
        let payload = Bytes::from(vec![b'x'; size]);
        group.throughput(Throughput::Elements(BATCH));
        group.bench_function(format!("{size}B x {BATCH} + flush"), |b| {
            b.to_async(&rt).iter_batched(
                || payload.clone(),
                |payload| {
                    let client = client.clone();
                    async move {
                        for _ in 0..BATCH {
                            if client.publish("bench.pub", payload.clone()).await.is_err() {
                                return;
                            }
                        }
                        let _ = client.flush().await;
                    }
                },
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
    rt.block_on(client.close());
}

criterion_group!(benches, publish);
criterion_main!(benches);
