//! The JetStream workloads of the peers harness (its README, "JetStream workloads" and
//! "JetStream failover measurement"), through `nats-jetstream` as an application would use it:
//!
//! - `js-pub`: N publishes, each awaiting its PubAck (`publish().await?.await?`).
//! - `js-pub-async`: the context's own ack window (`max_ack_pending` = W); the driver keeps the
//!   PubAck futures and awaits them in order (acks arrive in publish order, J10).
//! - `js-consume`: the stream filled with the js-pub-async path, durable pull consumer
//!   `BENCH_C`, `messages()` with 500 messages per pull, a fire-and-forget `ack()` each, then a
//!   flush round trip so the server has every ack.
//! - `js-failover`: R3 file stream `FAIL` on a 3-node cluster, sequential publishes with
//!   `Nats-Msg-Id: i` for 5 s, the stream leader SIGKILLed at 1.5 s, library defaults (the
//!   crate re-sends a publish across the fail-over by itself, J9), the stream read back from
//!   the survivors.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use nats_client::{ConnectOptions, Event};
use nats_jetstream::consumer::{pull, AckPolicy, DeliverPolicy, PullConsumer};
use nats_jetstream::stream::{self, StorageType};
use nats_jetstream::{Context, ContextBuilder, PubAckFuture, Publish};
use serde_json::{json, Map, Value};

use crate::{add_rate, base, round, sigkill, Args, Res};

const STREAM: &str = "BENCH";
const STREAM_SUBJECTS: &str = "bench.js.>";
const SUBJ_JS: &str = "bench.js.x";
const DURABLE: &str = "BENCH_C";
const PULL_BATCH: usize = 500;

const FAIL_STREAM: &str = "FAIL";
const FAIL_SUBJECTS: &str = "fail.>";
const FAIL_SUBJ: &str = "fail.seq";

/// A context whose ack window is `window` (the crate's default is 4,000).
fn context(client: nats_client::Client, window: usize) -> Context {
    ContextBuilder::new()
        .max_ack_pending(window.max(1))
        .build(client)
}

/// Deletes BENCH if present and creates it again: memory storage, 1 replica.
async fn fresh_stream(js: &Context) -> Res<()> {
    match js.delete_stream(STREAM).await {
        Ok(()) => {}
        Err(e) if e.is_stream_not_found() => {}
        Err(e) => return Err(format!("delete stream {STREAM}: {e}").into()),
    }
    js.create_stream(stream::Config {
        name: STREAM.into(),
        subjects: vec![STREAM_SUBJECTS.into()],
        storage: StorageType::Memory,
        num_replicas: 1,
        ..Default::default()
    })
    .await?;
    Ok(())
}

async fn stream_msgs(js: &Context, name: &str) -> Res<u64> {
    Ok(js.stream_info(name).await?.state.messages)
}

/// N publishes through the context's window, the PubAck futures awaited in order. Returns
/// (acked, errors, first error).
async fn publish_windowed(
    js: &Context,
    n: u64,
    payload: &Bytes,
    window: usize,
) -> (u64, u64, Option<String>) {
    let mut inflight: VecDeque<PubAckFuture> = VecDeque::with_capacity(window);
    let (mut acked, mut errors) = (0u64, 0u64);
    let mut first_err = None;
    let mut settle = |r: Result<nats_jetstream::PubAck, nats_jetstream::PublishError>,
                      acked: &mut u64,
                      errors: &mut u64| match r {
        Ok(_) => *acked += 1,
        Err(e) => {
            *errors += 1;
            first_err.get_or_insert_with(|| e.to_string());
        }
    };
    for _ in 0..n {
        if inflight.len() >= window {
            if let Some(f) = inflight.pop_front() {
                settle(f.await, &mut acked, &mut errors);
            }
        }
        match js.publish(SUBJ_JS, payload.clone()).await {
            Ok(f) => inflight.push_back(f),
            Err(e) => settle(Err(e), &mut acked, &mut errors),
        }
    }
    while let Some(f) = inflight.pop_front() {
        settle(f.await, &mut acked, &mut errors);
    }
    (acked, errors, first_err)
}

pub(crate) async fn js_pub(url: &str, n: u64, size: u64) -> Res<Map<String, Value>> {
    let client = nats_client::connect(url).await?;
    let js = context(client.clone(), 1);
    fresh_stream(&js).await?;
    let payload = Bytes::from(vec![b'x'; size as usize]);
    let start = Instant::now();
    for _ in 0..n {
        js.publish(SUBJ_JS, payload.clone()).await?.await?;
    }
    let secs = start.elapsed().as_secs_f64();
    let mut m = base("js-pub", n, size);
    add_rate(&mut m, n, size, secs);
    m.insert("stream_msgs".into(), json!(stream_msgs(&js, STREAM).await?));
    client.close().await;
    Ok(m)
}

pub(crate) async fn js_pub_async(
    url: &str,
    n: u64,
    size: u64,
    args: &Args,
) -> Res<Map<String, Value>> {
    let window = args.num("window", 256)?.max(1) as usize;
    let client = nats_client::connect(url).await?;
    let js = context(client.clone(), window);
    fresh_stream(&js).await?;
    let payload = Bytes::from(vec![b'x'; size as usize]);
    let start = Instant::now();
    let (acked, errors, first_err) = publish_windowed(&js, n, &payload, window).await;
    let secs = start.elapsed().as_secs_f64();
    let mut m = base("js-pub-async", n, size);
    add_rate(&mut m, n, size, secs);
    m.insert("window".into(), json!(window));
    m.insert("acked".into(), json!(acked));
    m.insert("errors".into(), json!(errors));
    if let Some(e) = first_err {
        m.insert("first_error".into(), json!(e));
    }
    m.insert("stream_msgs".into(), json!(stream_msgs(&js, STREAM).await?));
    client.close().await;
    Ok(m)
}

pub(crate) async fn js_consume(
    url: &str,
    n: u64,
    size: u64,
    args: &Args,
) -> Res<Map<String, Value>> {
    let window = args.num("window", 256)?.max(1) as usize;
    let stall = Duration::from_secs(args.num("stall-secs", 10)?);
    let client = nats_client::connect(url).await?;
    let js = context(client.clone(), window);
    fresh_stream(&js).await?;
    let payload = Bytes::from(vec![b'x'; size as usize]);
    let t_fill = Instant::now();
    let (acked, errors, first_err) = publish_windowed(&js, n, &payload, window).await;
    let fill_secs = t_fill.elapsed().as_secs_f64();
    let have = stream_msgs(&js, STREAM).await?;
    if have != n {
        return Err(format!(
            "fill: stream has {have}/{n} messages (acked {acked}, errors {errors}, {first_err:?})"
        )
        .into());
    }

    let stream = js.get_stream(STREAM).await?;
    let consumer: PullConsumer = stream
        .create_consumer(pull::Config {
            durable_name: Some(DURABLE.into()),
            ack_policy: AckPolicy::Explicit,
            deliver_policy: DeliverPolicy::All,
            ..Default::default()
        })
        .await?;

    let start = Instant::now();
    let mut messages = consumer
        .consume()
        .max_messages(PULL_BATCH)
        .messages()
        .await?;
    let mut got = 0u64;
    let mut err = None;
    while got < n {
        match crate::next_or_stall(&mut messages, stall).await {
            Ok(Some(Ok(msg))) => {
                msg.ack().await?; // fire-and-forget +ACK
                got += 1;
            }
            Ok(Some(Err(e))) => {
                err = Some(format!("messages(): {e}"));
                break;
            }
            Ok(None) => {
                err = Some("messages() ended".to_string());
                break;
            }
            Err(_) => {
                err = Some(format!("stalled {stall:?} at {got}/{n}"));
                break;
            }
        }
    }
    // The acks are publishes: a flush is a PING/PONG round trip after them, so the server
    // has processed every one.
    client.flush_timeout(Duration::from_secs(30)).await?;
    let secs = start.elapsed().as_secs_f64();
    drop(messages);

    let mut m = base("js-consume", n, size);
    m.insert("received".into(), json!(got));
    match err {
        None => add_rate(&mut m, n, size, secs),
        Some(e) => {
            m.insert("error".into(), json!(e));
        }
    }
    m.insert("pull_batch".into(), json!(PULL_BATCH));
    m.insert("fill_secs".into(), json!(round(fill_secs, 6)));
    if let Ok(info) = consumer.info().await {
        m.insert("ack_pending_after".into(), json!(info.num_ack_pending));
        m.insert("num_pending_after".into(), json!(info.num_pending));
    }
    client.close().await;
    Ok(m)
}

// ---------------------------------------------------------------------------------------
// js-failover

fn ms(d: Duration) -> f64 {
    round(d.as_secs_f64() * 1000.0, 3)
}

fn epoch_ms(t: SystemTime) -> f64 {
    round(
        t.duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64()
            * 1000.0,
        3,
    )
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// `--pids n1=PID1,n2=PID2,n3=PID3` (server_name=pid), in the order of `--urls`.
fn parse_named_pids(s: &str) -> Res<Vec<(String, i32)>> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(|kv| {
            let (name, pid) = kv
                .split_once('=')
                .ok_or("--pids wants NAME=PID,NAME=PID,NAME=PID")?;
            Ok((name.to_string(), pid.parse()?))
        })
        .collect()
}

/// Creates FAIL (file, R3), retrying while the fresh cluster settles, and waits until it has
/// a leader and two current replicas.
async fn create_fail_stream(js: &Context) -> Res<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = js
            .create_stream(stream::Config {
                name: FAIL_STREAM.into(),
                subjects: vec![FAIL_SUBJECTS.into()],
                storage: StorageType::File,
                num_replicas: 3,
                ..Default::default()
            })
            .await;
        match r {
            Ok(_) => break,
            Err(e) if Instant::now() < deadline => {
                eprintln!("js-failover: create stream: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => return Err(format!("create stream {FAIL_STREAM}: {e}").into()),
        }
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(info) = js.stream_info(FAIL_STREAM).await {
            if let Some(c) = &info.cluster {
                if c.leader.is_some()
                    && c.replicas.len() == 2
                    && c.replicas.iter().all(|p| p.current)
                {
                    return Ok(());
                }
            }
        }
        if Instant::now() > deadline {
            return Err("stream FAIL never got a leader and 2 current replicas".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The stream leader's server name, asked up to 50 times 20 ms apart.
async fn leader(js: &Context) -> Res<String> {
    for _ in 0..50 {
        if let Ok(info) = js.stream_info(FAIL_STREAM).await {
            if let Some(l) = info.cluster.and_then(|c| c.leader) {
                return Ok(l);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err("could not find the stream leader".into())
}

/// What the publishing loop saw.
#[derive(Default)]
struct Trial {
    published: u64,
    attempts: u64,
    errors_seen: u64,
    error_kinds: BTreeMap<String, u64>,
    dup_acks: u64,
    gave_up: Option<u64>,
    max_stall: Duration,
    kill: Option<(Instant, SystemTime, String)>,
    kill_to_next_ack: Option<Duration>,
    next_ack_wall: Option<SystemTime>,
    connected_to: String,
}

pub(crate) async fn js_failover(args: &Args) -> Res<Map<String, Value>> {
    let urls: Vec<String> = args
        .str("urls", "")
        .split(',')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    let pids = parse_named_pids(&args.str("pids", ""))?;
    if urls.len() < 3 || pids.len() != urls.len() {
        return Err("js-failover needs --urls U1,U2,U3 and --pids NAME1=PID1,NAME2=PID2,NAME3=PID3 (same order)".into());
    }
    let duration = Duration::from_millis(args.num("duration-ms", 5000)?);
    let kill_at = Duration::from_millis(args.num("kill-at-ms", 1500)?);
    let retry_pause = Duration::from_millis(args.num("retry-ms", 50)?);
    let give_up = Duration::from_millis(args.num("give-up-ms", 30_000)?);
    let ack_timeout = match args.0.get("ack-timeout-ms") {
        Some(v) => Some(Duration::from_millis(v.parse()?)),
        None => None,
    };

    // The client under test: all URLs, library defaults.
    let events: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
    let sink = Arc::clone(&events);
    let client = ConnectOptions::new()
        .event_callback(move |e: &Event| lock(&sink).push((Instant::now(), e.to_string())))
        .connect(urls.clone())
        .await?;
    let js = match ack_timeout {
        Some(t) => ContextBuilder::new().timeout(t).build(client.clone()),
        None => nats_jetstream::new(client.clone()),
    };
    create_fail_stream(&js).await?;

    let mut t = Trial::default();
    let t0 = Instant::now();
    let mut last_ack = t0;
    let mut i = 0u64;
    'outer: while t0.elapsed() < duration {
        if t.kill.is_none() && t0.elapsed() >= kill_at {
            let victim = leader(&js).await?;
            let pid = pids
                .iter()
                .find(|(n, _)| *n == victim)
                .map(|(_, p)| *p)
                .ok_or_else(|| format!("leader {victim} has no pid in --pids"))?;
            t.connected_to = client.server_info().server_name;
            let (now, wall) = (Instant::now(), SystemTime::now());
            sigkill(pid)?;
            t.kill = Some((now, wall, victim));
        }
        i += 1;
        let first_try = Instant::now();
        loop {
            t.attempts += 1;
            let publish = Publish::build()
                .payload(Bytes::copy_from_slice(&i.to_be_bytes()))
                .message_id(i.to_string());
            let left = give_up.saturating_sub(first_try.elapsed());
            let res = match js.send_publish(FAIL_SUBJ, publish).await {
                Ok(ack) => match tokio::time::timeout(left, ack).await {
                    Ok(r) => r.map_err(|e| e.to_string()),
                    Err(_) => Err(format!("no ack within {give_up:?}")),
                },
                Err(e) => Err(e.to_string()),
            };
            match res {
                Ok(ack) => {
                    let now = Instant::now();
                    t.max_stall = t.max_stall.max(now - last_ack);
                    last_ack = now;
                    if ack.duplicate {
                        t.dup_acks += 1;
                    }
                    if let Some((tk, _, _)) = &t.kill {
                        if t.kill_to_next_ack.is_none() {
                            t.kill_to_next_ack = Some(now - *tk);
                            t.next_ack_wall = Some(SystemTime::now());
                        }
                    }
                    t.published += 1;
                    break;
                }
                Err(e) => {
                    t.errors_seen += 1;
                    eprintln!("js-failover: publish {i}: {e}");
                    *t.error_kinds.entry(e).or_default() += 1;
                    if first_try.elapsed() >= give_up {
                        t.gave_up = Some(i);
                        break 'outer;
                    }
                    tokio::time::sleep(retry_pause).await;
                }
            }
        }
    }
    let run_secs = t0.elapsed().as_secs_f64();
    let victim = t.kill.as_ref().map(|(_, _, n)| n.clone());
    let survivors: Vec<String> = urls
        .iter()
        .zip(&pids)
        .filter(|(_, (n, _))| Some(n) != victim.as_ref())
        .map(|(u, _)| u.clone())
        .collect();
    client.close().await;

    let readback = read_back(survivors).await?;
    let mut m = base("js-failover", t.published, 8);
    if let Some(trial) = args.0.get("trial") {
        m.insert("trial".into(), json!(trial.parse::<u64>().ok()));
    }
    m.insert("published".into(), json!(t.published));
    m.insert("attempts".into(), json!(t.attempts));
    m.insert("errors_seen".into(), json!(t.errors_seen));
    m.insert("error_kinds".into(), json!(t.error_kinds));
    m.insert("max_stall_ms".into(), json!(ms(t.max_stall)));
    m.insert(
        "kill_to_next_ack_ms".into(),
        json!(t.kill_to_next_ack.map(ms)),
    );
    m.insert("stream_msgs".into(), json!(readback.stream_msgs));
    m.insert(
        "dupes".into(),
        json!(readback.stream_msgs as i64 - t.published as i64),
    );
    m.insert("dup_acks".into(), json!(t.dup_acks));
    match &readback.error {
        None => {
            let lost = (1..=t.published)
                .filter(|k| !readback.ids.contains_key(k))
                .count();
            m.insert("lost".into(), json!(lost));
            m.insert("lost_check".into(), json!("readback"));
            m.insert(
                "readback_dupes".into(),
                json!(readback
                    .ids
                    .values()
                    .filter(|&&c| c > 1)
                    .map(|&c| u64::from(c - 1))
                    .sum::<u64>()),
            );
            m.insert(
                "readback_unacked".into(),
                json!(readback.ids.keys().filter(|&&k| k > t.published).count()),
            );
        }
        Some(e) => {
            m.insert(
                "lost".into(),
                json!(t.published.saturating_sub(readback.stream_msgs)),
            );
            m.insert("lost_check".into(), json!("count"));
            m.insert("readback_error".into(), json!(e));
        }
    }
    m.insert("readback_msgs".into(), json!(readback.read));
    m.insert("gave_up_at".into(), json!(t.gave_up));
    if let Some(i) = t.gave_up {
        m.insert(
            "error".into(),
            json!(format!("message {i} not acked within {give_up:?}")),
        );
    }
    m.insert("run_secs".into(), json!(round(run_secs, 3)));
    m.insert("victim".into(), json!(victim));
    m.insert("connected_to".into(), json!(t.connected_to));
    m.insert(
        "client_on_victim".into(),
        json!(victim.as_deref() == Some(t.connected_to.as_str())),
    );
    m.insert("new_leader".into(), json!(readback.leader));
    m.insert(
        "ack_timeout_ms".into(),
        json!(ms(
            ack_timeout.unwrap_or(nats_jetstream::DEFAULT_API_TIMEOUT)
        )),
    );
    m.insert("retry_ms".into(), json!(retry_pause.as_millis() as u64));
    // Wall-clock times, to line the client up with the servers' logs.
    if let Some((tk, wall, _)) = &t.kill {
        m.insert("kill_epoch_ms".into(), json!(epoch_ms(*wall)));
        m.insert(
            "events".into(),
            json!(lock(&events)
                .iter()
                .filter(|(at, _)| at >= tk)
                .map(|(at, e)| format!("{e}@{}ms", ms(*at - *tk)))
                .collect::<Vec<_>>()),
        );
    }
    if let Some(wall) = t.next_ack_wall {
        m.insert("next_ack_epoch_ms".into(), json!(epoch_ms(wall)));
    }
    Ok(m)
}

/// The stream as the survivors have it.
struct Readback {
    stream_msgs: u64,
    leader: Option<String>,
    /// How often each message id is stored.
    ids: HashMap<u64, u32>,
    read: u64,
    error: Option<String>,
}

/// Stream info and one `STREAM.MSG.GET` per sequence on a fresh connection to `survivors`.
async fn read_back(survivors: Vec<String>) -> Res<Readback> {
    let client = nats_client::connect(survivors).await?;
    let js = nats_jetstream::new(client.clone());
    let deadline = Instant::now() + Duration::from_secs(15);
    let info = loop {
        match js.stream_info(FAIL_STREAM).await {
            Ok(info) => break info,
            Err(e) if Instant::now() < deadline => {
                eprintln!("js-failover: stream info: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(format!("final stream info: {e}").into()),
        }
    };
    let mut rb = Readback {
        stream_msgs: info.state.messages,
        leader: info.cluster.as_ref().and_then(|c| c.leader.clone()),
        ids: HashMap::new(),
        read: 0,
        error: None,
    };
    match js.get_stream(FAIL_STREAM).await {
        Ok(s) => {
            for seq in info.state.first_sequence.max(1)..=info.state.last_sequence {
                match s.get_raw_message(seq).await {
                    Ok(msg) => {
                        rb.read += 1;
                        let id = msg
                            .headers
                            .as_ref()
                            .and_then(|h| h.get("Nats-Msg-Id"))
                            .and_then(|v| v.parse::<u64>().ok());
                        if let Some(id) = id {
                            *rb.ids.entry(id).or_default() += 1;
                        }
                    }
                    Err(e) => {
                        rb.error = Some(format!("read back seq {seq}: {e}"));
                        break;
                    }
                }
            }
        }
        Err(e) => rb.error = Some(format!("read back stream: {e}")),
    }
    client.close().await;
    Ok(rb)
}
