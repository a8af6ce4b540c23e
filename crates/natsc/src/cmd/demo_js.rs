//! `natsc demo`, second act: the same kind of chaos under JetStream.
//!
//! A local 3-node JetStream cluster, an R3 file stream, a publisher using JetStream publish
//! (each message with its id, the PubAck futures awaited in order; the client re-sends across
//! a fail-over by itself, J9) and a durable pull consumer reading with `messages()` and acking
//! each message (J13). The stream leader is killed with -9, restarted, and a node is put in
//! lame duck mode on a schedule. The summary sets the figures next to the core act's: core NATS
//! delivers at most once, JetStream stores and delivers every message exactly once.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use nats_jetstream::consumer::{pull, PullConsumer};
use nats_jetstream::stream::{self, StorageType};
use nats_jetstream::{PubAckFuture, Publish};
use nats_testkit::{Cluster, ServerConfig};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::demo::{restart_down_node, CoreFigures, DemoClient, Log};
use super::demo_summary::{human, plural};
use super::Shutdown;
use crate::conn::ConnFlags;
use crate::error::{CliError, Result};

const STREAM: &str = "DEMO";
const SUBJECT: &str = "demo.js.seq";
const CONSUMER: &str = "DEMO_C";
const NODES: usize = 3;
/// An ack or a delivery this long after the previous one ends a pause worth a line.
const PAUSE: Duration = Duration::from_secs(1);
/// How long the end of the act may take to collect the last acks and deliveries.
const SETTLE: Duration = Duration::from_secs(30);

/// The second act's settings (from the demo's flags).
pub(super) struct JsArgs {
    pub(super) duration: Duration,
    pub(super) interval: Duration,
    pub(super) rate: u32,
}

/// One step of the JetStream failure schedule, repeated in this order.
#[derive(Clone, Copy)]
enum Step {
    KillLeader,
    Restart,
    LameDuckLeader,
}

const SCHEDULE: [Step; 4] = [
    Step::KillLeader,
    Step::Restart,
    Step::LameDuckLeader,
    Step::Restart,
];

/// What the publisher's ack task saw, per message number (index 0 unused).
#[derive(Default)]
struct Acks {
    /// The stream sequence each message was stored at, once acked.
    seq: Vec<Option<u64>>,
    /// Acks that said "duplicate" (a re-send the stream had already stored).
    duplicate_acks: u64,
    /// Publish errors the application saw.
    errors: u64,
    /// Published (handed to the library) so far.
    published: u64,
}

/// What the consumer saw.
#[derive(Default)]
struct Consumed {
    /// Stream sequences delivered, per message number.
    by_msg: HashMap<u64, BTreeSet<u64>>,
    /// Distinct stream sequences delivered.
    seqs: BTreeSet<u64>,
    /// Deliveries of a stream sequence already delivered (a lost ack: at-least-once delivery).
    redelivered: u64,
    /// Warnings and errors the message stream yielded.
    errors: u64,
    ack_errors: u64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The JetStream act's figures.
pub(super) struct JsOutcome {
    pub(super) lost: u64,
    pub(super) duplicates: u64,
    /// The stream's message count was read at the end (else nothing can be claimed).
    pub(super) checked: bool,
}

/// Runs the second act; `core` is the first act's figures for the side-by-side summary.
pub(super) async fn run(
    args: &JsArgs,
    conn: &ConnFlags,
    shutdown: &mut Shutdown,
    core: &CoreFigures,
) -> Result<JsOutcome> {
    println!();
    println!("== act 2: JetStream ==");
    eprintln!("natsc: starting a local {NODES}-node JetStream cluster for act 2...");
    let config = ServerConfig::new()
        .jetstream()
        .lame_duck(Duration::from_millis(300), Duration::from_secs(30));
    let mut cluster = Cluster::start_with(NODES, config)
        .await
        .map_err(|e| CliError::from(e).context("could not start the local JetStream cluster"))?;
    cluster
        .wait_for_jetstream()
        .await
        .map_err(|e| CliError::from(e).context("JetStream did not come up"))?;
    let urls = cluster.urls();
    println!(
        "natsc demo, act 2: {NODES}-node JetStream cluster, stream {STREAM} (file storage, 3 \
         replicas) on {SUBJECT:?},"
    );
    println!(
        "1 publisher ({} msg/s, JetStream publish with a message id each), 1 durable pull \
         consumer {CONSUMER} acking every message;",
        args.rate
    );
    println!(
        "a failure step every {} for {}: kill -9 of the stream leader, restart, lame duck.",
        human(args.interval),
        human(args.duration)
    );
    let log = Log::start(&urls, cluster.nodes().iter().map(|n| n.port()).collect());
    let publisher = DemoClient::connect("publisher", conn, &urls, &log).await?;
    let consumer_client = DemoClient::connect("consumer", conn, &urls, &log).await?;
    let js = nats_jetstream::new(publisher.client.clone());
    create_stream(&js, &log).await?;
    let leader = cluster
        .wait_for_stream_leader(STREAM)
        .await
        .map_err(|e| CliError::from(e).context("the demo stream got no leader"))?;
    log.line("stream", &format!("{STREAM} is led by node-{leader}"));
    let cjs = nats_jetstream::new(consumer_client.client.clone());
    let consumer: PullConsumer = cjs
        .get_stream(STREAM)
        .await
        .map_err(|e| CliError::from(e).context("stream"))?
        .create_consumer(pull::Config {
            durable_name: Some(CONSUMER.into()),
            ..Default::default()
        })
        .await
        .map_err(|e| CliError::from(e).context("create the demo consumer"))?;

    let (stop_tx, stop_rx) = watch::channel(false);
    let failed_at: FailedAt = Arc::default();
    let watcher = spawn_leader_watcher(
        &urls,
        conn,
        stop_rx.clone(),
        Arc::clone(&failed_at),
        Arc::clone(&log),
    )
    .await?;
    let acks = Arc::new(Mutex::new(Acks::default()));
    let consumed = Arc::new(Mutex::new(Consumed::default()));
    let (pub_task, ack_task) = spawn_publisher(
        js.clone(),
        args.rate,
        stop_rx.clone(),
        Arc::clone(&acks),
        Arc::clone(&log),
    );
    let (cons_stop_tx, cons_stop_rx) = watch::channel(false);
    let cons_task = spawn_consumer(
        consumer,
        cons_stop_rx,
        Arc::clone(&consumed),
        Arc::clone(&log),
    )
    .await?;

    // The failure schedule.
    let end = log.start + args.duration;
    let mut down: Option<usize> = None;
    let mut failures = 0u32;
    let mut interrupted = false;
    for k in 1u32.. {
        let at = log.start + args.interval * k;
        if at >= end {
            tokio::select! {
                biased;
                () = &mut *shutdown => interrupted = true,
                () = tokio::time::sleep_until(end.into()) => {}
            }
            break;
        }
        tokio::select! {
            biased;
            () = &mut *shutdown => { interrupted = true; break; }
            () = tokio::time::sleep_until(at.into()) => {}
        }
        let step = SCHEDULE[(k as usize - 1) % SCHEDULE.len()];
        if chaos(step, &mut cluster, &mut down, &failed_at, &log).await {
            failures += 1;
        }
    }
    if interrupted {
        log.line(
            "demo",
            "interrupted: the summary covers what happened so far",
        );
    }

    // Settle: stop publishing, wait for every ack, then for the consumer to have them all.
    let _ = stop_tx.send(true);
    let _ = pub_task.await;
    let published = lock(&acks).published;
    log.line(
        "demo",
        &format!("publisher stopped after {published} messages; waiting for the last acks"),
    );
    let settle = if interrupted {
        Duration::from_secs(2)
    } else {
        SETTLE
    };
    if tokio::time::timeout(settle, ack_task).await.is_err() {
        log.line(
            "demo",
            &format!("some acks still missing after {}", human(settle)),
        );
    }
    let acked: BTreeSet<u64> = lock(&acks)
        .seq
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.map(|_| i as u64))
        .collect();
    let deadline = Instant::now() + settle;
    loop {
        let have = {
            let c = lock(&consumed);
            acked.iter().all(|i| c.by_msg.contains_key(i))
        };
        if have {
            log.line("demo", "the consumer has every acked message");
            break;
        }
        if Instant::now() >= deadline {
            log.line(
                "demo",
                &format!("the consumer still misses messages after {}", human(settle)),
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = cons_stop_tx.send(true);
    let _ = cons_task.await;
    let info = js.stream_info(STREAM).await;
    log.mute();
    watcher.abort();
    publisher.client.close().await;
    consumer_client.client.close().await;

    let stream_msgs = match &info {
        Ok(i) => Some(i.state.messages),
        Err(e) => {
            eprintln!("natsc: demo: final stream info: {e}");
            None
        }
    };
    let outcome = print_summary(
        core,
        &lock(&acks),
        &lock(&consumed),
        &acked,
        stream_msgs,
        failures,
        log.start,
    );
    drop(cluster);
    Ok(outcome)
}

/// Creates the R3 file stream, retrying while the fresh cluster settles (no meta leader yet,
/// not enough current peers).
async fn create_stream(js: &nats_jetstream::Context, log: &Log) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let result = js
            .create_stream(stream::Config {
                name: STREAM.into(),
                subjects: vec![SUBJECT.into()],
                storage: StorageType::File,
                num_replicas: NODES,
                ..Default::default()
            })
            .await;
        match result {
            Ok(_) => {
                log.line(
                    "stream",
                    &format!("{STREAM} created: file storage, {NODES} replicas"),
                );
                return Ok(());
            }
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => return Err(CliError::from(e).context(format!("creating stream {STREAM}"))),
        }
    }
}

/// Performs one step; whether it was a failure (kill or lame duck).
async fn chaos(
    step: Step,
    cluster: &mut Cluster,
    down: &mut Option<usize>,
    failed_at: &FailedAt,
    log: &Log,
) -> bool {
    match step {
        Step::Restart => {
            restart_down_node(cluster, down, log, true).await;
            false
        }
        Step::KillLeader | Step::LameDuckLeader => {
            // One node down at a time: the other two keep a quorum.
            if down.is_some() {
                return false;
            }
            let leader = match cluster.wait_for_stream_leader(STREAM).await {
                Ok(i) => i,
                Err(e) => {
                    log.line("chaos", &format!("no stream leader to fail: {e}"));
                    return false;
                }
            };
            *lock(failed_at) = Some((Instant::now(), step));
            if let Step::KillLeader = step {
                log.line(
                    "chaos",
                    &format!("kill -9 node-{leader} (leader of stream {STREAM})"),
                );
                cluster.node_mut(leader).kill();
            } else {
                log.line(
                    "chaos",
                    &format!(
                        "lame duck node-{leader} (leader of stream {STREAM}): it hands over, \
                         closes its clients and exits"
                    ),
                );
                if let Err(e) = cluster.node(leader).lame_duck() {
                    log.line("chaos", &format!("lame duck failed: {e}"));
                    return false;
                }
            }
            *down = Some(leader);
            true
        }
    }
}

/// When the stream leader was last failed on purpose, and how: the watcher says how long the
/// election took after it.
type FailedAt = Arc<Mutex<Option<(Instant, Step)>>>;

/// Polls the stream's leader on its own connection and prints every change: the election
/// after a kill shows as "no leader" until a new one is named.
async fn spawn_leader_watcher(
    urls: &[String],
    conn: &ConnFlags,
    mut stop: watch::Receiver<bool>,
    failed_at: FailedAt,
    log: Arc<Log>,
) -> Result<JoinHandle<()>> {
    let client = conn
        .options()?
        .name("natsc-demo-watcher")
        .connect(urls)
        .await
        .map_err(|e| CliError::from(e).context("watcher could not connect"))?;
    let js = nats_jetstream::ContextBuilder::new()
        .timeout(Duration::from_millis(250))
        .build(client);
    Ok(tokio::spawn(async move {
        let mut last: Option<Option<String>> = None;
        loop {
            let leader = match js.stream_info(STREAM).await {
                Ok(info) => info.cluster.and_then(|c| c.leader),
                Err(_) => None,
            };
            if last.as_ref() != Some(&leader) {
                match &leader {
                    Some(l) if last.is_some() => {
                        let after = match lock(&failed_at).take() {
                            Some((t, Step::KillLeader)) => {
                                format!(
                                    " (elected {:.1} s after the kill)",
                                    t.elapsed().as_secs_f64()
                                )
                            }
                            Some((t, _)) => format!(
                                " (handed over {:.1} s after the lame duck)",
                                t.elapsed().as_secs_f64()
                            ),
                            None => String::new(),
                        };
                        log.line("stream", &format!("{STREAM} is led by {l}{after}"));
                    }
                    Some(_) => {}
                    None => log.line(
                        "stream",
                        &format!("{STREAM} has no leader: election running"),
                    ),
                }
                last = Some(leader);
            }
            tokio::select! {
                _ = stop.changed() => break,
                () = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
        }
        js.client().close().await;
    }))
}

/// The publisher (`rate` per second, message `i` has id `demo-<i>` and payload `i`) and the
/// task that awaits the PubAck futures in publish order.
fn spawn_publisher(
    js: nats_jetstream::Context,
    rate: u32,
    mut stop: watch::Receiver<bool>,
    acks: Arc<Mutex<Acks>>,
    log: Arc<Log>,
) -> (JoinHandle<()>, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<(u64, PubAckFuture)>();
    let a = Arc::clone(&acks);
    let l = Arc::clone(&log);
    let publisher = tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(1) / rate);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut i = 0u64;
        loop {
            tokio::select! {
                biased;
                _ = stop.changed() => break,
                _ = ticker.tick() => {}
            }
            i += 1;
            let publish = Publish::build()
                .payload(Bytes::from(i.to_string()))
                .message_id(format!("demo-{i}"));
            // Waits while the ack window is full (back-pressure), never fails for it.
            let sent = tokio::select! {
                biased;
                _ = stop.changed() => break,
                sent = js.send_publish(SUBJECT, publish) => sent,
            };
            lock(&a).published = i;
            match sent {
                Ok(ack) => {
                    if tx.send((i, ack)).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    lock(&a).errors += 1;
                    l.line("publisher", &format!("publish #{i} failed: {e}"));
                }
            }
        }
    });
    let acker = tokio::spawn(async move {
        let mut last_ack = Instant::now();
        while let Some((i, ack)) = rx.recv().await {
            let result = ack.await;
            let now = Instant::now();
            let mut st = lock(&acks);
            if st.seq.len() <= i as usize {
                st.seq.resize(i as usize + 1, None);
            }
            match result {
                Ok(ack) => {
                    st.seq[i as usize] = Some(ack.sequence);
                    if ack.duplicate {
                        st.duplicate_acks += 1;
                    }
                    let pause = now - last_ack;
                    last_ack = now;
                    let waiting = st.published.saturating_sub(i) + 1;
                    drop(st);
                    if pause >= PAUSE {
                        log.line(
                            "publisher",
                            &format!(
                                "acks again after a {:.1} s pause: #{i} stored at seq {}; \
                                 {waiting} publishes were waiting for their ack, none failed",
                                pause.as_secs_f64(),
                                ack.sequence
                            ),
                        );
                    }
                }
                Err(e) => {
                    st.errors += 1;
                    drop(st);
                    log.line("publisher", &format!("publish #{i} failed: {e}"));
                }
            }
        }
    });
    (publisher, acker)
}

/// The consumer: `messages()`, an ack per message, every delivery recorded.
async fn spawn_consumer(
    consumer: PullConsumer,
    mut stop: watch::Receiver<bool>,
    consumed: Arc<Mutex<Consumed>>,
    log: Arc<Log>,
) -> Result<JoinHandle<()>> {
    let mut messages = consumer
        .messages()
        .await
        .map_err(|e| CliError::from(e).context("consumer messages()"))?;
    Ok(tokio::spawn(async move {
        let mut last = Instant::now();
        loop {
            let item = tokio::select! {
                biased;
                _ = stop.changed() => break,
                item = messages.next() => item,
            };
            let msg = match item {
                None => {
                    log.line("consumer", "the message stream ended");
                    break;
                }
                Some(Err(e)) => {
                    lock(&consumed).errors += 1;
                    log.line("consumer", &format!("{e}"));
                    if e.is_terminal() {
                        break;
                    }
                    continue;
                }
                Some(Ok(msg)) => msg,
            };
            let now = Instant::now();
            let pause = now - last;
            last = now;
            let i = std::str::from_utf8(&msg.payload)
                .ok()
                .and_then(|s| s.parse::<u64>().ok());
            let seq = msg.info().map(|info| info.stream_sequence).ok();
            let ack = msg.ack().await;
            let mut c = lock(&consumed);
            if let (Some(i), Some(seq)) = (i, seq) {
                if !c.seqs.insert(seq) {
                    c.redelivered += 1;
                }
                c.by_msg.entry(i).or_default().insert(seq);
            }
            if ack.is_err() {
                c.ack_errors += 1;
            }
            drop(c);
            if pause >= PAUSE {
                log.line(
                    "consumer",
                    &format!(
                        "deliveries again after a {:.1} s pause (#{} at stream seq {})",
                        pause.as_secs_f64(),
                        i.unwrap_or(0),
                        seq.unwrap_or(0)
                    ),
                );
            }
        }
    }))
}

/// Prints the side-by-side summary and returns the JetStream figures the exit code depends on.
fn print_summary(
    core: &CoreFigures,
    acks: &Acks,
    consumed: &Consumed,
    acked: &BTreeSet<u64>,
    stream_msgs: Option<u64>,
    failures: u32,
    start: Instant,
) -> JsOutcome {
    // Lost: acked (the stream said "stored") but never delivered, or not in the stream.
    let lost_delivery = acked
        .iter()
        .filter(|i| !consumed.by_msg.contains_key(i))
        .count() as u64;
    let lost_stored = stream_msgs.map_or(0, |n| (acked.len() as u64).saturating_sub(n));
    // Published and never answered: neither an ack nor an error reached the application.
    let unanswered = acks
        .published
        .saturating_sub(acked.len() as u64 + acks.errors);
    let lost = lost_delivery.max(lost_stored) + unanswered;
    // Duplicates: one message stored at two stream sequences (found through the consumer,
    // which reads the whole stream), or more messages in the stream than were published.
    let stored_twice: u64 = consumed
        .by_msg
        .values()
        .map(|seqs| seqs.len().saturating_sub(1) as u64)
        .sum();
    let extra_in_stream = stream_msgs.map_or(0, |n| n.saturating_sub(acks.published));
    let duplicates = stored_twice.max(extra_in_stream);
    let consumed_distinct = consumed.by_msg.len() as u64;
    let errors = acks.errors;

    println!();
    println!(
        "summary of act 2 after {:.1} s, {failures} failure{}",
        start.elapsed().as_secs_f64(),
        plural(u64::from(failures))
    );
    println!("  {:<18}{:>10}  {:>10}", "", "core NATS", "JetStream");
    let row = |name: &str, core: String, js: String, note: &str| {
        if note.is_empty() {
            println!("  {name:<18}{core:>10}  {js:>10}");
        } else {
            println!("  {name:<18}{core:>10}  {js:>10}   {note}");
        }
    };
    let dash = || "-".to_string();
    row(
        "published",
        core.published.to_string(),
        acks.published.to_string(),
        "",
    );
    row(
        "acked",
        dash(),
        acked.len().to_string(),
        "the stream confirmed each one (PubAck)",
    );
    row(
        "in the stream",
        dash(),
        stream_msgs.map_or_else(|| "?".into(), |n| n.to_string()),
        "stream info after the act",
    );
    row(
        "received",
        core.received.to_string(),
        consumed_distinct.to_string(),
        "distinct messages the subscriber / consumer got",
    );
    row(
        "lost",
        core.lost.to_string(),
        lost.to_string(),
        "JetStream: acked but never delivered, or never answered",
    );
    row(
        "missed",
        core.missed.to_string(),
        "0".into(),
        "core: sent while the subscriber was reconnecting (at-most-once)",
    );
    row(
        "duplicates",
        core.duplicates.to_string(),
        duplicates.to_string(),
        "JetStream: a message stored twice (checked by message number and stream sequence)",
    );
    row(
        "redelivered",
        dash(),
        consumed.redelivered.to_string(),
        "delivered again after a lost ack, recognised by stream sequence",
    );
    row(
        "errors surfaced",
        dash(),
        errors.to_string(),
        "publish errors the application saw; the client re-sends across fail-over itself",
    );
    if acks.duplicate_acks > 0 {
        row(
            "duplicate acks",
            dash(),
            acks.duplicate_acks.to_string(),
            "a re-send the stream already had: dropped by its message id",
        );
    }
    if consumed.errors > 0 {
        row(
            "consumer warnings",
            dash(),
            consumed.errors.to_string(),
            "missed heartbeats and the like; the consumer re-pulled by itself",
        );
    }
    println!();
    let core_gap = core.missed + core.lost;
    if core_gap > 0 {
        println!(
            "core NATS is at-most-once: {core_gap} message{} published during the kills never \
             reached the subscriber.",
            plural(core_gap)
        );
    } else {
        println!(
            "core NATS is at-most-once: this time nothing was missed, but nothing guaranteed it."
        );
    }
    if lost == 0 && duplicates == 0 && stream_msgs.is_some() {
        println!(
            "JetStream: every one of the {} acked messages was stored once and consumed, {} \
             failure{} notwithstanding: exactly once.",
            acked.len(),
            failures,
            plural(u64::from(failures))
        );
    } else {
        println!(
            "JetStream: {lost} lost and {duplicates} duplicated: this is a bug in the client \
             or the demo."
        );
    }
    JsOutcome {
        lost,
        duplicates,
        checked: stream_msgs.is_some(),
    }
}
