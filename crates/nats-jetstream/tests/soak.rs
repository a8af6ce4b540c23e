//! JetStream chaos soak (J29): a 3-node JetStream cluster with an R3 file stream; a publisher
//! (window 256), a durable consumer with explicit acks and an ordered consumer run while
//! nodes are killed with SIGKILL and restarted, one at a time (a majority stays up).
//! Runs 30 s by default; `NATS_JS_SOAK_SECS=600` for longer. Prints one summary line.
//!
//! Invariants: every acked publish is in the stream exactly once; every stored message is
//! delivered (at least once) to the durable consumer; the ordered consumer sees each message
//! once and in order; no error reaches the application.

#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nats_client::ConnectOptions;
use nats_jetstream::consumer::pull;
use nats_jetstream::{stream, ContextBuilder};
use nats_testkit::Cluster;

#[path = "common/load.rs"]
mod load;

use load::{assert_stream_holds, consume, read_ordered, wait_until, Publisher};

/// How long the chaos runs, from `NATS_JS_SOAK_SECS` (default 30).
fn soak_secs() -> u64 {
    std::env::var("NATS_JS_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30)
}

/// A small xorshift generator seeded from the clock (which node to kill, how long to wait).
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn j29_jetstream_chaos_soak() {
    let secs = soak_secs();
    let mut cluster = Cluster::start_jetstream(3).await.unwrap();
    let client = ConnectOptions::new()
        .reconnect_wait(Duration::from_millis(50))
        .reconnect_jitter(Duration::ZERO, Duration::ZERO)
        .connection_timeout(Duration::from_secs(1))
        .max_reconnects(None)
        .connect(cluster.urls())
        .await
        .unwrap();
    let js = ContextBuilder::new().max_ack_pending(256).build(client);
    js.create_stream(stream::Config {
        name: "SOAK".into(),
        subjects: vec!["soak.>".into()],
        num_replicas: 3,
        ..Default::default()
    })
    .await
    .unwrap();
    cluster.wait_for_stream_leader("SOAK").await.unwrap();
    let durable = js
        .get_stream("SOAK")
        .await
        .unwrap()
        .create_consumer(pull::Config {
            durable_name: Some("soak".into()),
            ack_wait: Duration::from_secs(5),
            ..Default::default()
        })
        .await
        .unwrap();
    let (consumed, consume_task) = consume(durable.clone(), Duration::from_secs(2));
    let (ordered, ordered_task) = read_ordered(js.clone(), "SOAK".into(), Duration::from_secs(2));
    let publisher = Publisher::start(
        js.clone(),
        "soak.x".into(),
        "s",
        Some(Duration::from_micros(200)),
    );

    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut rng = Rng(seed);
    let start = Instant::now();
    let mut kills = 0;
    while start.elapsed() < Duration::from_secs(secs) {
        tokio::time::sleep(Duration::from_millis(500 + rng.next(1500))).await;
        let victim = if rng.next(2) == 0 {
            cluster.wait_for_stream_leader("SOAK").await.unwrap()
        } else {
            rng.next(3) as usize
        };
        cluster.node_mut(victim).kill();
        kills += 1;
        tokio::time::sleep(Duration::from_millis(500 + rng.next(3000))).await;
        cluster.node_mut(victim).restart().await.unwrap();
        cluster.wait_for_jetstream().await.unwrap();
        cluster.wait_for_stream_leader("SOAK").await.unwrap();
    }

    let stats = tokio::time::timeout(Duration::from_secs(120), publisher.finish())
        .await
        .expect("the last acks");
    let errors = stats.errors.lock().unwrap().clone();
    let stored = stats.stored.lock().unwrap().clone();
    let in_stream = assert_stream_holds(&js, "SOAK", &stored).await;
    wait_until(
        Duration::from_secs(120),
        "the durable consumer saw every message",
        || {
            let seen = consumed.seen.lock().unwrap();
            stored.iter().all(|p| seen.contains(p))
        },
    )
    .await;
    wait_until(
        Duration::from_secs(60),
        "the ordered consumer saw every message",
        || ordered.delivered.load(Ordering::Acquire) >= stored.len() as u64,
    )
    .await;
    consume_task.abort();
    ordered_task.abort();

    let published = stats.published.load(Ordering::Acquire);
    let acked = stats.acked.load(Ordering::Acquire);
    let dupes = stats.dupes.load(Ordering::Acquire);
    let delivered = consumed.delivered.load(Ordering::Acquire);
    let ordered_seen = ordered.delivered.load(Ordering::Acquire);
    let violations = ordered.violations.lock().unwrap().clone();
    let terminal = [
        consumed.terminal.lock().unwrap().clone(),
        ordered.terminal.lock().unwrap().clone(),
    ];
    println!(
        "jetstream soak: {secs} s, {kills} kills: published {published}, acked {acked}, in stream {in_stream}, \
         delivered {delivered} (durable, {} unique), ordered {ordered_seen}, dupes {dupes}, errors surfaced {}, longest ack pause {:?}",
        consumed.seen.lock().unwrap().len(),
        errors.len() + violations.len() + terminal.iter().flatten().count(),
        *stats.longest_gap.lock().unwrap(),
    );
    assert!(errors.is_empty(), "publish errors surfaced: {errors:?}");
    assert_eq!(acked, published);
    assert_eq!(dupes, 0);
    assert!(
        violations.is_empty(),
        "ordered consumer out of order: {violations:?}"
    );
    assert_eq!(
        ordered_seen, in_stream,
        "ordered consumer saw a message twice"
    );
    assert!(
        terminal.iter().all(Option::is_none),
        "a consumer ended: {terminal:?}"
    );
    assert!(delivered >= in_stream);
}
