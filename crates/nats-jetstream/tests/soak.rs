//! JetStream chaos soak (J29): a 3-node JetStream cluster with an R3 file stream; a publisher
//! (window 256), a durable consumer with explicit acks and an ordered consumer run while
//! nodes are killed with SIGKILL and restarted, one at a time (a majority stays up). Beside
//! them an R3 Key-Value bucket gets sequential puts (one new key each) and a watch reads it.
//! Runs 30 s by default; `NATS_JS_SOAK_SECS=600` for longer. Prints one summary line.
//!
//! Invariants: every acked publish is in the stream exactly once; every stored message is
//! delivered (at least once) to the durable consumer; the ordered consumer sees each message
//! once and in order; the KV watch sees each revision exactly once and in order (J24); no
//! error reaches the application.

#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nats_client::ConnectOptions;
use nats_jetstream::consumer::pull;
use nats_jetstream::{kv, stream, ContextBuilder};
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
    let store = js
        .create_key_value(kv::Config {
            bucket: "soak".into(),
            num_replicas: 3,
            ..Default::default()
        })
        .await
        .unwrap();
    cluster.wait_for_stream_leader("KV_soak").await.unwrap();
    let kv_load = KvLoad::start(store);
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
    let kv_stats = kv_load.finish().await;

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
    // Straight to stderr, past the test harness' capture: CI shows the soak line.
    nats_testkit::report_line(format_args!(
        "jetstream soak: {secs} s, {kills} kills: published {published}, acked {acked}, in stream {in_stream}, \
         delivered {delivered} (durable, {} unique), ordered {ordered_seen}, dupes {dupes}, errors surfaced {}, longest ack pause {:?}; \
         kv: {} revisions put, {} watched",
        consumed.seen.lock().unwrap().len(),
        errors.len() + violations.len() + terminal.iter().flatten().count() + kv_stats.errors.lock().unwrap().len(),
        *stats.longest_gap.lock().unwrap(),
        kv_stats.put.load(Ordering::Acquire),
        kv_stats.watched.load(Ordering::Acquire),
    ));
    let kv_errors = kv_stats.errors.lock().unwrap().clone();
    assert!(
        kv_errors.is_empty(),
        "KV errors or watch violations: {kv_errors:?}"
    );
    assert_eq!(
        kv_stats.watched.load(Ordering::Acquire),
        kv_stats.put.load(Ordering::Acquire),
        "the KV watch saw each revision once"
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

/// Counters of the KV load: revisions put, revisions the watch delivered, errors.
#[derive(Default)]
struct KvStats {
    put: AtomicU64,
    watched: AtomicU64,
    errors: Mutex<Vec<String>>,
    stop: AtomicBool,
}

/// Sequential puts of `v-<i>` under the new key `k.<i>` (the bucket's revision `i`), and a
/// watch on the whole bucket that must deliver revisions 1, 2, 3, ... once each (J24).
struct KvLoad {
    stats: Arc<KvStats>,
    writer: tokio::task::JoinHandle<()>,
    watcher: tokio::task::JoinHandle<()>,
}

impl KvLoad {
    fn start(store: kv::Store) -> KvLoad {
        use futures_util::StreamExt;
        let stats = Arc::new(KvStats::default());
        let s = Arc::clone(&stats);
        let w = store.clone();
        let watcher = tokio::spawn(async move {
            let mut watch = w.watch_all().await.unwrap();
            let mut last = 0;
            while let Some(item) = watch.next().await {
                match item {
                    Ok(e) => {
                        if e.revision != last + 1 || e.key != format!("k.{}", e.revision) {
                            s.errors.lock().unwrap().push(format!(
                                "watch: revision {} ({}) after {last}",
                                e.revision, e.key
                            ));
                        }
                        last = e.revision;
                        s.watched.fetch_add(1, Ordering::AcqRel);
                    }
                    Err(e) => {
                        s.errors.lock().unwrap().push(format!("watch ended: {e}"));
                        break;
                    }
                }
            }
        });
        let s = Arc::clone(&stats);
        let writer = tokio::spawn(async move {
            let mut i = 1u64;
            while !s.stop.load(Ordering::Acquire) {
                match store.put(format!("k.{i}"), format!("v-{i}").into()).await {
                    Ok(revision) if revision == i => {
                        s.put.store(i, Ordering::Release);
                        i += 1;
                    }
                    Ok(revision) => {
                        s.errors
                            .lock()
                            .unwrap()
                            .push(format!("put {i} stored as revision {revision}"));
                        break;
                    }
                    Err(e) => {
                        s.errors.lock().unwrap().push(format!("put {i}: {e}"));
                        break;
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        KvLoad {
            stats,
            writer,
            watcher,
        }
    }

    /// Stops the puts and waits until the watch has delivered the last one.
    async fn finish(self) -> Arc<KvStats> {
        self.stats.stop.store(true, Ordering::Release);
        tokio::time::timeout(Duration::from_secs(120), self.writer)
            .await
            .expect("the last KV put")
            .unwrap();
        let s = Arc::clone(&self.stats);
        wait_until(
            Duration::from_secs(60),
            "the KV watch saw every revision",
            || {
                s.watched.load(Ordering::Acquire) >= s.put.load(Ordering::Acquire)
                    || !s.errors.lock().unwrap().is_empty()
            },
        )
        .await;
        self.watcher.abort();
        self.stats
    }
}
