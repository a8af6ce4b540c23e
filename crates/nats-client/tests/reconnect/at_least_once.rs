//! `ConnectOptions::at_least_once` against real servers: a server stalled (SIGSTOP) and then
//! killed in a 2-node cluster, and a kill -9 of the only server mid-burst with a restart on the
//! same port. What must hold: every publish that `publish()` accepted reaches the subscribers
//! (published ⊆ received, lost 0); duplicates are possible and are counted and printed. The
//! same stall without the option loses what sat in the socket buffers (at most once, R67, D1:
//! only the bytes the socket had not taken are kept), which shows the scenario bites.

use std::collections::HashMap;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use nats_client::{Client, PublishError, Status, Subscriber};
use nats_testkit::{Cluster, NatsServer};

use crate::util::{eventually, fast, within, within_for};

const PAYLOAD: usize = 1024;

/// A 1 KiB payload that starts with its id.
fn payload(id: u64) -> Bytes {
    let mut b = BytesMut::with_capacity(PAYLOAD);
    b.extend_from_slice(format!("{id:010}").as_bytes());
    b.resize(PAYLOAD, b'.');
    b.freeze()
}

fn id_of(payload: &[u8]) -> u64 {
    std::str::from_utf8(&payload[..10])
        .unwrap()
        .parse()
        .unwrap()
}

/// Publishes ids `from..to`; a publish refused because the reconnect buffer is full (R63)
/// waits for the reconnect and is tried again, so every id is published exactly once from the
/// caller's side.
async fn publish_range(client: &Client, subject: &str, from: u64, to: u64) {
    for id in from..to {
        loop {
            match client.publish(subject, payload(id)).await {
                Ok(()) => break,
                Err(PublishError::ReconnectBufferFull { .. }) => {
                    within("reconnected", client.wait_for_status(Status::Connected)).await;
                }
                Err(e) => panic!("publish {id} failed: {e}"),
            }
        }
    }
}

/// `flush()` after an outage: a PING that the dying connection took fails with
/// `Disconnected` (R74), so it is asked again on the new connection.
async fn flush_through(client: &Client) {
    within("a flush on a live connection", async {
        loop {
            match client.flush().await {
                Ok(()) => return,
                Err(nats_client::FlushError::Disconnected) => {
                    client.wait_for_status(Status::Connected).await;
                }
                Err(e) => panic!("flush failed: {e}"),
            }
        }
    })
    .await;
}

/// Takes every message queued on `sub` (call after the round trips that guarantee they are
/// there) and counts each id.
async fn collect(sub: &mut Subscriber, seen: &mut HashMap<u64, u32>) {
    while sub.pending() > 0 {
        let m = within("a queued message", sub.next()).await.unwrap();
        *seen.entry(id_of(&m.payload)).or_default() += 1;
    }
}

/// (lost, duplicates) of ids `0..n` in `seen`.
fn tally(seen: &HashMap<u64, u32>, n: u64) -> (u64, u64) {
    let lost = (0..n).filter(|id| !seen.contains_key(id)).count() as u64;
    let dups = seen.values().map(|&c| u64::from(c.saturating_sub(1))).sum();
    (lost, dups)
}

/// SIGSTOP (`pause`) or SIGCONT a server process and wait until the kernel shows the state.
fn signal_stop(server: &NatsServer) {
    let pid = server.pid().expect("running");
    let ok = std::process::Command::new("kill")
        .args(["-STOP", &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -STOP {pid}");
}

fn is_stopped(server: &NatsServer) -> bool {
    let Some(pid) = server.pid() else {
        return false;
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // pid (comm) STATE ...: the state follows the last ')'.
    stat.rsplit(')')
        .next()
        .and_then(|rest| rest.split_whitespace().next())
        .is_some_and(|state| state == "T" || state == "t")
}

/// Waits until the publisher is stuck behind the stalled server: its queue is above the
/// 4 MiB high-water mark (publishers wait) and stays there with no publish accepted between
/// two looks 50 ms apart. The writer would have taken the queue (leaving it empty) if the
/// socket had room, so the socket buffers are full.
async fn wait_until_stuck(client: &Client) {
    within("the socket buffers full and the queue backing up", async {
        let mut last = u64::MAX;
        loop {
            let accepted = client.statistics().out_msgs;
            if accepted == last && client.buffered() >= 4 * 1024 * 1024 {
                return;
            }
            last = accepted;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}

/// The scenario: a publisher on node A with a subscriber on node B; A stalls
/// (SIGSTOP) during a burst, the client fills A's socket buffers, then A is killed (-9).
/// Returns (published, lost, duplicates, re-sent).
async fn stalled_then_killed(at_least_once: bool) -> (u64, u64, u64, u64) {
    let mut cluster = Cluster::start(2).await.unwrap();
    let urls = cluster.urls();
    let subscriber = fast().connect(urls[1].clone()).await.unwrap();
    let mut sub = subscriber.subscribe("alo.>").await.unwrap();
    sub.set_pending_limits(1_000_000, 1 << 30);
    subscriber.flush().await.unwrap();
    let publisher = fast()
        .no_randomize(true)
        .at_least_once(at_least_once)
        .connect([urls[0].clone(), urls[1].clone()])
        .await
        .unwrap();
    // B's interest has reached A once a probe published on A arrives at B.
    within("interest over the route", async {
        loop {
            publisher
                .publish("alo.probe", Bytes::from_static(b"p"))
                .await
                .unwrap();
            publisher.flush().await.unwrap();
            if let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(50), sub.next()).await {
                break;
            }
        }
    })
    .await;
    while sub.pending() > 0 {
        sub.next().await;
    }

    // Phase 1, while A works: confirmed and delivered.
    const BEFORE: u64 = 2_000;
    publish_range(&publisher, "alo.data", 0, BEFORE).await;
    publisher.flush().await.unwrap();
    eventually("phase 1 delivered", || sub.pending() >= BEFORE as usize).await;

    // Phase 2: A stalls; the client fills its socket buffers and then its own queue.
    signal_stop(cluster.node(0));
    eventually("A stopped", || is_stopped(cluster.node(0))).await;
    const TOTAL: u64 = 30_000;
    let burst = {
        let publisher = publisher.clone();
        tokio::spawn(async move { publish_range(&publisher, "alo.data", BEFORE, TOTAL).await })
    };
    wait_until_stuck(&publisher).await;
    if std::env::var("ALO_DEBUG").is_ok() {
        let port = cluster.node(0).port();
        let out = std::process::Command::new("ss")
            .args(["-tn", &format!("( sport = :{port} or dport = :{port} )")])
            .output()
            .unwrap();
        println!("{}", String::from_utf8_lossy(&out.stdout));
    }
    cluster.node_mut(0).kill();
    within_for(Duration::from_secs(60), "the burst", burst)
        .await
        .unwrap();

    // Everything the publisher accepted has been handled by B once its flush returns; the
    // subscriber's round trip then brings every message B queued for it (B writes in order).
    flush_through(&publisher).await;
    within("subscriber flush", subscriber.flush())
        .await
        .unwrap();
    let mut seen = HashMap::new();
    collect(&mut sub, &mut seen).await;
    let (lost, dups) = tally(&seen, TOTAL);
    let resent = publisher.statistics().resent_messages;
    println!(
        "AT_LEAST_ONCE stalled+killed at_least_once={at_least_once} published={TOTAL} \
         received={} lost={lost} duplicates={dups} resent={resent}",
        seen.len()
    );
    publisher.close().await;
    subscriber.close().await;
    (TOTAL, lost, dups, resent)
}

/// The measurement, fixed: with `at_least_once`, a stalled-then-killed node loses
/// nothing; the publishes its socket buffers swallowed are re-sent to B (R65 order: after the
/// SUBs, before the reconnect buffer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_least_once_stalled_then_killed_node_loses_nothing() {
    let (_, lost, dups, resent) = stalled_then_killed(true).await;
    assert_eq!(lost, 0, "published ⊆ received");
    assert!(
        resent > 0,
        "the stalled node's buffers held unconfirmed publishes"
    );
    assert!(
        dups <= resent,
        "every duplicate comes from a re-sent publish"
    );
}

/// The same stall without the option: the bytes A's socket buffers held are gone (at most
/// once). Deterministic: A processes nothing after SIGSTOP and the client wrote into its
/// socket until the buffers were full.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_once_by_default_the_stalled_node_takes_its_buffers_along() {
    let (_, lost, dups, resent) = stalled_then_killed(false).await;
    assert!(
        lost > 0,
        "without at_least_once the socket buffers are lost"
    );
    assert_eq!((dups, resent), (0, 0), "nothing is re-sent");
}

/// kill -9 of the only server mid-burst, restart on the same port: the publisher's own
/// subscription (re-sent before the unconfirmed publishes, R54, R65) receives every id; a
/// second one with `dedup` (the client stamps `message_ids`) receives every id once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_least_once_kill_mid_burst_and_restart_loses_nothing() {
    let mut server = NatsServer::start().await.unwrap();
    let client = fast()
        .at_least_once(true)
        .message_ids(true)
        .connect(server.url())
        .await
        .unwrap();
    let mut echo = client.subscribe("burst").await.unwrap();
    echo.set_pending_limits(1_000_000, 1 << 30);
    let mut once = client
        .subscribe("burst")
        .await
        .unwrap()
        .dedup(Duration::from_secs(60));
    once.set_pending_limits(1_000_000, 1 << 30);
    client.flush().await.unwrap();
    const TOTAL: u64 = 40_000;
    let burst = {
        let client = client.clone();
        tokio::spawn(async move { publish_range(&client, "burst", 0, TOTAL).await })
    };
    eventually("the burst under way", || {
        client.statistics().out_msgs >= TOTAL / 4
    })
    .await;
    server.kill();
    server.restart().await.unwrap();
    within_for(Duration::from_secs(60), "the burst", burst)
        .await
        .unwrap();
    flush_through(&client).await;
    // an end marker, so the deduplicating reader knows when it has everything
    publish_range(&client, "burst", TOTAL, TOTAL + 1).await;
    within("flush", client.flush()).await.unwrap();
    let mut seen = HashMap::new();
    collect(&mut echo, &mut seen).await;
    let (lost, dups) = tally(&seen, TOTAL);
    let stats = client.statistics();
    let mut delivered_once = Vec::new();
    loop {
        let m = within("the next new message", once.next()).await.unwrap();
        let n = id_of(&m.payload);
        delivered_once.push(n);
        if n == TOTAL {
            break;
        }
    }
    println!(
        "AT_LEAST_ONCE kill-9 mid-burst published={TOTAL} received={} lost={lost} \
         duplicates={dups} resent={} reconnects={} dedup: delivered={} dropped={}",
        seen.len(),
        stats.resent_messages,
        stats.reconnects,
        delivered_once.len() - 1,
        once.duplicates()
    );
    assert_eq!(stats.reconnects, 1);
    assert_eq!(lost, 0, "published ⊆ received");
    assert!(dups <= stats.resent_messages);
    assert_eq!(
        delivered_once,
        (0..=TOTAL).collect::<Vec<_>>(),
        "with dedup: each once, in order"
    );
    // The server sends each publish to both subscriptions, in no fixed order (it collects
    // them from a map); the kill can cut that stream between the two copies, so one publish
    // may be a copy for one subscription and new for the other.
    assert!(
        once.duplicates().abs_diff(dups) <= 1,
        "dedup drops the copies: {} of {dups}",
        once.duplicates()
    );
    client.close().await;
}

/// `message_ids` + `Subscriber::dedup`: nothing is confirmed (no PING goes out), the server
/// delivers every publish, then a forced reconnect re-sends all of them. A plain subscriber
/// gets each twice; the deduplicating one gets each once and counts the copies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dedup_drops_every_copy_a_reconnect_resends() {
    let server = NatsServer::start().await.unwrap();
    let subscriber = fast().connect(server.url()).await.unwrap();
    let mut plain = subscriber.subscribe("ids.>").await.unwrap();
    let mut once = subscriber
        .subscribe("ids.>")
        .await
        .unwrap()
        .dedup(Duration::from_secs(60));
    plain.set_pending_limits(1_000_000, 1 << 30);
    once.set_pending_limits(1_000_000, 1 << 30);
    subscriber.flush().await.unwrap();
    let publisher = fast()
        .at_least_once(true)
        .message_ids(true)
        .at_least_once_threshold(usize::MAX)
        .at_least_once_interval(Duration::MAX)
        .ping_interval(Duration::from_secs(3600))
        .connect(server.url())
        .await
        .unwrap();
    const N: u64 = 2_000;
    publish_range(&publisher, "ids.data", 0, N).await;
    eventually("every publish delivered once", || {
        plain.pending() >= N as usize
    })
    .await;
    // no PING has gone out: nothing is confirmed, so the reconnect re-sends everything
    publisher.force_reconnect().await.unwrap();
    eventually("re-sent", || publisher.statistics().resent_messages >= N).await;
    publish_range(&publisher, "ids.data", N, N + 1).await; // the end marker
    flush_through(&publisher).await;
    within("subscriber flush", subscriber.flush())
        .await
        .unwrap();

    let mut copies = HashMap::new();
    collect(&mut plain, &mut copies).await;
    let (lost, dups) = tally(&copies, N);
    assert_eq!((lost, dups), (0, N), "the plain subscriber sees every copy");

    let mut seen = Vec::new();
    let mut ids = Vec::new();
    loop {
        let m = within("the next new message", once.next()).await.unwrap();
        let id = m
            .headers
            .as_ref()
            .and_then(|h| h.get(nats_client::MESSAGE_ID_HEADER))
            .expect("a message id")
            .to_owned();
        ids.push(id);
        let n = id_of(&m.payload);
        seen.push(n);
        if n == N {
            break;
        }
    }
    assert_eq!(seen, (0..=N).collect::<Vec<_>>(), "each once, in order");
    assert_eq!(once.duplicates(), N, "every re-sent copy dropped");
    let prefix = &ids[0][..12];
    assert!(
        ids.iter().all(|id| id.starts_with(prefix)),
        "one prefix per client"
    );
    let unique: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len());
    println!(
        "DEDUP published={} resent={} delivered_once={} duplicates_dropped={}",
        N + 1,
        publisher.statistics().resent_messages,
        seen.len(),
        once.duplicates()
    );
    publisher.close().await;
    subscriber.close().await;
}

/// A message id the caller set is kept (with the other headers); a publish without one gets
/// one of the client's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_ids_keep_a_callers_own_id() {
    let server = NatsServer::start().await.unwrap();
    let client = fast()
        .message_ids(true)
        .connect(server.url())
        .await
        .unwrap();
    let mut sub = client.subscribe("own").await.unwrap();
    client.flush().await.unwrap();
    let mut headers = nats_client::HeaderMap::new();
    headers
        .insert(nats_client::MESSAGE_ID_HEADER, "order-42")
        .unwrap();
    headers.insert("Trace", "t1").unwrap();
    client
        .publish_with_headers("own", headers, Bytes::from_static(b"a"))
        .await
        .unwrap();
    client
        .publish("own", Bytes::from_static(b"b"))
        .await
        .unwrap();
    let a = within("a", sub.next()).await.unwrap();
    let b = within("b", sub.next()).await.unwrap();
    let ha = a.headers.unwrap();
    assert_eq!(ha.get(nats_client::MESSAGE_ID_HEADER), Some("order-42"));
    assert_eq!(ha.get("Trace"), Some("t1"));
    let id_b = b.headers.unwrap();
    let id_b = id_b.get(nats_client::MESSAGE_ID_HEADER).unwrap();
    assert_eq!(id_b.len(), 13, "12 random characters and the counter");
    client.close().await;
}
