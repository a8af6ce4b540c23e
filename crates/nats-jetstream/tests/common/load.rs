//! Load for the fail-over tests and the soak (shared with `#[path]`): an asynchronous
//! publisher with its ack reader, a durable consumer, and an ordered reader, all counting.

#![allow(dead_code)]

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use nats_jetstream::consumer::pull::OrderedConfig;
use nats_jetstream::consumer::PullConsumer;
use nats_jetstream::{ConsumeError, Context, PubAckFuture};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Counters of a publisher.
#[derive(Default)]
pub(crate) struct PubStats {
    pub(crate) published: AtomicU64,
    pub(crate) acked: AtomicU64,
    pub(crate) dupes: AtomicU64,
    pub(crate) errors: Mutex<Vec<String>>,
    /// Payloads whose ack said stored.
    pub(crate) stored: Mutex<Vec<String>>,
    /// The longest time between two consecutive acks (the outage as the application saw it).
    pub(crate) longest_gap: Mutex<Duration>,
    stop: AtomicBool,
}

/// Publishes `"<prefix>-<n>"` to `subject` until stopped; a second task awaits the acks in
/// publish order.
pub(crate) struct Publisher {
    pub(crate) stats: Arc<PubStats>,
    tasks: Vec<JoinHandle<()>>,
}

impl Publisher {
    pub(crate) fn start(
        js: Context,
        subject: String,
        prefix: &str,
        pace: Option<Duration>,
    ) -> Publisher {
        let stats = Arc::new(PubStats::default());
        let (tx, mut rx) = mpsc::unbounded_channel::<(String, PubAckFuture)>();
        let s = Arc::clone(&stats);
        let prefix = prefix.to_owned();
        let publisher = tokio::spawn(async move {
            let mut n = 0u64;
            while !s.stop.load(Ordering::Acquire) {
                let payload = format!("{prefix}-{n}");
                match js.publish(&subject, payload.clone().into()).await {
                    Ok(ack) => {
                        s.published.fetch_add(1, Ordering::AcqRel);
                        let _ = tx.send((payload, ack));
                    }
                    Err(e) => s.errors.lock().unwrap().push(format!("publish: {e}")),
                }
                n += 1;
                if let Some(p) = pace {
                    tokio::time::sleep(p).await;
                }
            }
        });
        let s = Arc::clone(&stats);
        let acker = tokio::spawn(async move {
            let mut last = tokio::time::Instant::now();
            while let Some((payload, ack)) = rx.recv().await {
                match ack.await {
                    Ok(ack) => {
                        let now = tokio::time::Instant::now();
                        let mut longest = s.longest_gap.lock().unwrap();
                        *longest = (*longest).max(now - last);
                        drop(longest);
                        last = now;
                        if ack.duplicate {
                            s.dupes.fetch_add(1, Ordering::AcqRel);
                        }
                        s.stored.lock().unwrap().push(payload);
                        s.acked.fetch_add(1, Ordering::AcqRel);
                    }
                    Err(e) => s
                        .errors
                        .lock()
                        .unwrap()
                        .push(format!("ack of {payload}: {e}")),
                }
            }
        });
        Publisher {
            stats,
            tasks: vec![publisher, acker],
        }
    }

    pub(crate) fn acked(&self) -> u64 {
        self.stats.acked.load(Ordering::Acquire)
    }

    /// Waits until `n` more acks than now have arrived, at most `d`.
    pub(crate) async fn wait_more_acks(&self, n: u64, d: Duration, what: &str) {
        let target = self.acked() + n;
        let deadline = tokio::time::Instant::now() + d;
        while self.acked() < target {
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "{what}: {} acks of {target} after {d:?}; errors {:?}",
                    self.acked(),
                    self.errors()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub(crate) fn errors(&self) -> Vec<String> {
        self.stats.errors.lock().unwrap().clone()
    }

    /// Stops publishing and waits until every publish has its answer.
    pub(crate) async fn finish(self) -> Arc<PubStats> {
        self.stats.stop.store(true, Ordering::Release);
        for t in self.tasks {
            t.await.unwrap();
        }
        self.stats
    }
}

/// Counters of a durable consumer reader.
#[derive(Default)]
pub(crate) struct ConsumeStats {
    pub(crate) delivered: AtomicU64,
    pub(crate) warnings: AtomicU64,
    pub(crate) seen: Mutex<HashSet<String>>,
    pub(crate) terminal: Mutex<Option<String>>,
}

/// Reads a durable consumer with `messages()`, acking each message.
pub(crate) fn consume(
    consumer: PullConsumer,
    expires: Duration,
) -> (Arc<ConsumeStats>, JoinHandle<()>) {
    let stats = Arc::new(ConsumeStats::default());
    let s = Arc::clone(&stats);
    let task = tokio::spawn(async move {
        let mut messages = consumer
            .consume()
            .expires(expires)
            .messages()
            .await
            .unwrap();
        while let Some(item) = messages.next().await {
            match item {
                Ok(m) => {
                    s.delivered.fetch_add(1, Ordering::AcqRel);
                    s.seen
                        .lock()
                        .unwrap()
                        .insert(String::from_utf8_lossy(&m.payload).into_owned());
                    // A lost ack only means a redelivery.
                    let _ = m.ack().await;
                }
                Err(ConsumeError::MissingHeartbeats { .. }) => {
                    s.warnings.fetch_add(1, Ordering::AcqRel);
                }
                Err(e) => {
                    *s.terminal.lock().unwrap() = Some(e.to_string());
                    break;
                }
            }
        }
    });
    (stats, task)
}

/// Counters of an ordered reader: every message must come once, in stream order.
#[derive(Default)]
pub(crate) struct OrderedStats {
    pub(crate) delivered: AtomicU64,
    pub(crate) last_seq: AtomicU64,
    pub(crate) violations: Mutex<Vec<String>>,
    pub(crate) terminal: Mutex<Option<String>>,
    pub(crate) payloads: Mutex<Vec<String>>,
}

/// Reads `stream` with an ordered consumer, checking that stream sequences are contiguous.
pub(crate) fn read_ordered(
    js: Context,
    stream: String,
    expires: Duration,
) -> (Arc<OrderedStats>, JoinHandle<()>) {
    let stats = Arc::new(OrderedStats::default());
    let s = Arc::clone(&stats);
    let task = tokio::spawn(async move {
        let stream = js.get_stream(&stream).await.unwrap();
        let ordered = stream
            .create_consumer(OrderedConfig {
                expires: Some(expires),
                max_reset_attempts: None,
                ..Default::default()
            })
            .await
            .unwrap();
        let mut messages = ordered.messages().await.unwrap();
        while let Some(item) = messages.next().await {
            match item {
                Ok(m) => {
                    let seq = m.info().unwrap().stream_sequence;
                    let last = s.last_seq.swap(seq, Ordering::AcqRel);
                    if seq != last + 1 {
                        s.violations
                            .lock()
                            .unwrap()
                            .push(format!("seq {seq} after {last}"));
                    }
                    s.payloads
                        .lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&m.payload).into_owned());
                    s.delivered.fetch_add(1, Ordering::AcqRel);
                }
                Err(e) => {
                    *s.terminal.lock().unwrap() = Some(e.to_string());
                    break;
                }
            }
        }
    });
    (stats, task)
}

/// Waits until `cond` holds, polling every 50 ms, at most `d`.
pub(crate) async fn wait_until(d: Duration, what: &str, cond: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + d;
    while !cond() {
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {d:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Reads the whole stream back with an ordered consumer and checks that it holds exactly what
/// was acked, each message once; returns the number of messages read.
pub(crate) async fn assert_stream_holds(js: &Context, stream: &str, stored: &[String]) -> u64 {
    let info = js.stream_info(stream).await.unwrap();
    assert_eq!(
        info.state.messages,
        stored.len() as u64,
        "stream count vs acks"
    );
    let (reader, task) = read_ordered(js.clone(), stream.into(), Duration::from_secs(2));
    wait_until(Duration::from_secs(60), "the stream read back", || {
        reader.delivered.load(Ordering::Acquire) >= stored.len() as u64
    })
    .await;
    task.abort();
    let payloads = reader.payloads.lock().unwrap().clone();
    let read: HashSet<&String> = payloads.iter().collect();
    assert_eq!(read.len(), payloads.len(), "a message is stored twice");
    let want: HashSet<&String> = stored.iter().collect();
    assert_eq!(want.len(), stored.len(), "a message was acked twice");
    assert_eq!(read, want, "stream content differs from what was acked");
    assert!(reader.violations.lock().unwrap().is_empty());
    payloads.len() as u64
}
