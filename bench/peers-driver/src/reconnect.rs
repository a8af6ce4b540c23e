//! The fail-over workload: the client under test publishes a sequence number every
//! `--interval-ms`; after `--before-ms` the driver SIGKILLs the node the client is on; an observer
//! on the other node counts what arrives.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use nats_client::{ConnectOptions, Event};
use serde_json::{json, Map, Value};

use crate::{base, round, sigkill, Args, Res};

const SUBJ: &str = "reconnect.seq";

#[derive(Default)]
struct Observed {
    seen: Vec<bool>,
    received: u64,
    dupes: u64,
    out_of_order: u64,
    max_seq: u64,
    probes: u64,
    /// When the kill happened and the last sequence number published before it.
    kill: Option<(Instant, u64)>,
    first_any_after_kill: Option<Instant>,
    first_new_after_kill: Option<Instant>,
}

fn ms(d: Option<Duration>) -> Value {
    d.map_or(Value::Null, |d| json!(round(d.as_secs_f64() * 1000.0, 3)))
}

fn port_of(url: &str) -> Option<u16> {
    url.trim_end_matches('/').rsplit(':').next()?.parse().ok()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) async fn run(args: &Args) -> Res<Map<String, Value>> {
    let urls: Vec<String> = args
        .str("urls", "")
        .split(',')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    let pids: Vec<(u16, i32)> = args
        .str("pids", "")
        .split(',')
        .filter(|s| !s.is_empty())
        .filter_map(|kv| {
            let (p, pid) = kv.split_once('=')?;
            Some((p.parse().ok()?, pid.parse().ok()?))
        })
        .collect();
    if urls.len() < 2 || pids.len() < 2 {
        return Err("reconnect needs --urls U1,U2 and --pids PORT1=PID1,PORT2=PID2".into());
    }
    let interval = Duration::from_millis(args.num("interval-ms", 1)?);
    let before = Duration::from_millis(args.num("before-ms", 1000)?);
    let after = Duration::from_millis(args.num("after-ms", 3000)?);
    let settle = Duration::from_millis(args.num("drain-ms", 1000)?);

    let events: Arc<Mutex<Vec<(Instant, Event)>>> = Arc::default();
    let sink = Arc::clone(&events);
    let client = ConnectOptions::new()
        .event_callback(move |e: &Event| lock(&sink).push((Instant::now(), e.clone())))
        .connect(urls.clone())
        .await?;
    let victim_port = client.server_info().port;
    let victim_pid = pids
        .iter()
        .find(|(p, _)| *p == victim_port)
        .map(|(_, pid)| *pid)
        .ok_or_else(|| format!("connected to port {victim_port}, which has no pid"))?;
    let other = urls
        .iter()
        .find(|u| port_of(u) != Some(victim_port))
        .ok_or("no surviving URL")?
        .clone();

    let observer = ConnectOptions::new()
        .subscription_pending_limits(usize::MAX, usize::MAX)
        .connect(other.as_str())
        .await?;
    let mut sub = observer.subscribe(SUBJ).await?;
    observer.flush().await?;
    let state: Arc<Mutex<Observed>> = Arc::default();
    let st = Arc::clone(&state);
    tokio::spawn(async move {
        while let Some(msg) = sub.next().await {
            let now = Instant::now();
            let mut s = lock(&st);
            let Ok(bytes) = <[u8; 8]>::try_from(&msg.payload[..]) else {
                s.probes += 1;
                continue;
            };
            let seq = u64::from_be_bytes(bytes);
            if let Some((t_kill, seq_at_kill)) = s.kill {
                if now >= t_kill && s.first_any_after_kill.is_none() {
                    s.first_any_after_kill = Some(now);
                }
                if seq > seq_at_kill && s.first_new_after_kill.is_none() {
                    s.first_new_after_kill = Some(now);
                }
            }
            let i = seq as usize;
            if s.seen.len() <= i {
                let len = (i + 1).max(s.seen.len() * 2);
                s.seen.resize(len, false);
            }
            if s.seen[i] {
                s.dupes += 1;
            } else {
                s.seen[i] = true;
                s.received += 1;
            }
            if seq < s.max_seq {
                s.out_of_order += 1;
            }
            s.max_seq = s.max_seq.max(seq);
        }
    });

    // Wait until the observer's interest has crossed the route.
    let deadline = Instant::now() + Duration::from_secs(10);
    while lock(&state).probes == 0 {
        client.publish(SUBJ, Bytes::from_static(b"probe")).await?;
        client.flush().await?;
        tokio::time::sleep(Duration::from_millis(5)).await;
        if Instant::now() > deadline {
            return Err("interest never reached the client's node".into());
        }
    }

    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut seq = 0u64;
    let mut pub_errors = 0u64;
    let t0 = Instant::now();
    let mut t_kill = None;
    loop {
        tick.tick().await;
        let now = Instant::now();
        if t_kill.is_none() && now - t0 >= before {
            lock(&state).kill = Some((now, seq));
            sigkill(victim_pid)?;
            t_kill = Some(now);
        }
        if let Some(k) = t_kill {
            if now - k >= after {
                break;
            }
        }
        seq += 1;
        if client
            .publish(SUBJ, Bytes::copy_from_slice(&seq.to_be_bytes()))
            .await
            .is_err()
        {
            pub_errors += 1;
        }
    }
    let _ = client.flush_timeout(Duration::from_secs(5)).await;
    tokio::time::sleep(settle).await;

    let t_kill = t_kill.ok_or("never killed")?;
    let since_kill = |pred: &dyn Fn(&Event) -> bool| {
        lock(&events)
            .iter()
            .find(|(t, e)| *t >= t_kill && pred(e))
            .map(|(t, _)| *t - t_kill)
    };
    let disconnect = since_kill(&|e| matches!(e, Event::Disconnected { .. }));
    let reconnect = since_kill(&|e| matches!(e, Event::Reconnected));
    let s = lock(&state);
    let lost = (1..=seq)
        .filter(|i| !s.seen.get(*i as usize).copied().unwrap_or(false))
        .count();
    let mut m = base("reconnect", seq, 8);
    m.insert("disconnect_ms".into(), ms(disconnect));
    m.insert("reconnect_ms".into(), ms(reconnect));
    m.insert(
        "first_msg_ms".into(),
        ms(s.first_new_after_kill.map(|t| t - t_kill)),
    );
    m.insert(
        "first_any_msg_ms".into(),
        ms(s.first_any_after_kill.map(|t| t - t_kill)),
    );
    m.insert("published".into(), json!(seq));
    m.insert("seq_at_kill".into(), json!(s.kill.map(|k| k.1)));
    m.insert("received".into(), json!(s.received));
    m.insert("lost".into(), json!(lost));
    m.insert("dupes".into(), json!(s.dupes));
    m.insert("out_of_order".into(), json!(s.out_of_order));
    m.insert("pub_errors".into(), json!(pub_errors));
    m.insert("victim_port".into(), json!(victim_port));
    if let Some(trial) = args.0.get("trial") {
        m.insert("trial".into(), json!(trial));
    }
    Ok(m)
}
