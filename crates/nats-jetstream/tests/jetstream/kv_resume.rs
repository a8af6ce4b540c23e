//! J24 (**ours**): a watch resumes after a kill -9 of its server, a graceful restart, and the
//! death of the bucket's stream leader in a 3-node cluster, from the last revision it
//! delivered — every revision written meanwhile exactly once and in order, then the live
//! updates — both for a watch that is polled throughout and one nobody polls during the
//! outage.
//!
//! Revision `i` holds `v-<i>` under key `k.<i>` and the bucket gets no other writes, so the
//! watch must deliver revisions 1, 2, 3, ... with no number missing or repeated (a put stored
//! twice would shift every later revision: the publish is exactly once too, J9).

use std::pin::Pin;
use std::time::Duration;

use futures_util::StreamExt;
use nats_client::Event;
use nats_jetstream::kv::{self, Entry};
use nats_jetstream::stream::StorageType;
use nats_jetstream::Context;
use nats_testkit::{Cluster, NatsServer};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::util::{fast, within_for};

/// The deadline of each phase (an election on 2.9.10 takes 6–8 s, a reset backs off).
const PHASE: Duration = Duration::from_secs(60);

type Entries = Pin<Box<dyn futures_core::Stream<Item = Result<Entry, kv::Error>> + Send>>;

/// Two watches on one client's store: one polled by a task all along, one left alone.
struct Watchers {
    polled: Entries,
    idle: kv::Watch,
    task: JoinHandle<()>,
}

impl Watchers {
    async fn start(store: &kv::Store) -> Watchers {
        let mut watch = store.watch_all().await.unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            while let Some(item) = watch.next().await {
                if tx.send(item).is_err() {
                    break;
                }
            }
        });
        let polled = Box::pin(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)));
        let idle = store.watch_all().await.unwrap();
        Watchers { polled, idle, task }
    }
}

/// Puts `v-<i>` under `k.<i>` for `i` in `range`, each awaiting its revision, which must be
/// `i`.
async fn put_range(store: kv::Store, range: std::ops::RangeInclusive<u64>) {
    for i in range {
        let revision = store
            .put(format!("k.{i}"), format!("v-{i}").into())
            .await
            .unwrap_or_else(|e| panic!("put {i}: {e}"));
        assert_eq!(revision, i, "a put was stored twice or lost");
    }
}

/// The next entries of `entries` are revisions `range`, in order, once each.
async fn expect_revisions<S>(entries: &mut S, range: std::ops::RangeInclusive<u64>, who: &str)
where
    S: futures_core::Stream<Item = Result<Entry, kv::Error>> + Unpin,
{
    let what = format!("{who}: revisions {range:?}");
    within_for(PHASE, &what, async {
        for i in range.clone() {
            let e = match entries.next().await {
                Some(Ok(e)) => e,
                other => panic!("{who}: the watch failed before revision {i}: {other:?}"),
            };
            assert_eq!(
                (e.revision, e.key.as_str(), &e.value[..]),
                (i, format!("k.{i}").as_str(), format!("v-{i}").as_bytes()),
                "{who}: a gap or a duplicate"
            );
        }
    })
    .await;
}

/// Bucket `name` (file storage, `replicas`) through `js`.
async fn file_bucket(js: &Context, name: &str, replicas: usize) -> kv::Store {
    js.create_key_value(kv::Config {
        bucket: name.into(),
        history: 5,
        storage: StorageType::File,
        num_replicas: replicas,
        ..Default::default()
    })
    .await
    .unwrap()
}

/// Waits for `client`'s next disconnect.
async fn disconnected(events: &mut nats_client::EventStream) {
    within_for(PHASE, "the disconnect", async {
        while let Some(e) = events.next().await {
            if matches!(e, Event::Disconnected { .. }) {
                return;
            }
        }
        panic!("the client closed");
    })
    .await;
}

/// The single-server scenario: 10 values, both watches in sync, 10 live updates seen by the
/// polled watch only; the server goes down (kill -9, or a graceful stop); 10 puts are made
/// while it is down (they wait and are re-sent until acked) and it restarts on the same port
/// with the same store; 10 more puts; both watches must see everything.
async fn single_server_outage(graceful: bool, bucket_name: &str) {
    crate::util::trace();
    let mut server = NatsServer::start_jetstream().await.unwrap();
    let watcher = fast().connect(server.url()).await.unwrap();
    let writer = fast().connect(server.url()).await.unwrap();
    let store_w = file_bucket(&nats_jetstream::new(watcher.clone()), bucket_name, 1).await;
    let store_p = nats_jetstream::new(writer)
        .get_key_value(bucket_name)
        .await
        .unwrap();
    put_range(store_p.clone(), 1..=10).await;
    let mut w = Watchers::start(&store_w).await;
    expect_revisions(&mut w.polled, 1..=10, "polled").await;
    expect_revisions(&mut w.idle, 1..=10, "idle").await;
    assert!(w.idle.in_sync());
    put_range(store_p.clone(), 11..=20).await;
    expect_revisions(&mut w.polled, 11..=20, "polled").await;

    let mut events = watcher.events();
    if graceful {
        server.stop().await;
    } else {
        server.kill();
    }
    disconnected(&mut events).await;
    let during = tokio::spawn(put_range(store_p.clone(), 21..=30));
    server.restart().await.unwrap();
    server.wait_for_jetstream().await.unwrap();
    within_for(PHASE, "the puts made during the outage", during)
        .await
        .unwrap();
    put_range(store_p.clone(), 31..=40).await;

    expect_revisions(&mut w.polled, 21..=40, "polled").await;
    expect_revisions(&mut w.idle, 11..=40, "idle").await;
    put_range(store_p, 41..=41).await;
    expect_revisions(&mut w.polled, 41..=41, "polled").await;
    expect_revisions(&mut w.idle, 41..=41, "idle").await;
    w.task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn j24_watch_resumes_after_kill_9_and_restart_on_the_same_port() {
    single_server_outage(false, "resume_kill").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn j24_watch_resumes_after_a_graceful_server_restart() {
    single_server_outage(true, "resume_stop").await;
}

/// A client on node `first`, then the others.
async fn client_on(cluster: &Cluster, first: usize) -> nats_client::Client {
    let mut urls = vec![cluster.node(first).url()];
    urls.extend(
        (0..cluster.len())
            .filter(|&i| i != first)
            .map(|i| cluster.node(i).url()),
    );
    fast().no_randomize(true).connect(urls).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn j24_watch_resumes_across_a_killed_bucket_leader_in_a_3_node_cluster() {
    crate::util::trace();
    let mut cluster = Cluster::start_jetstream(3).await.unwrap();
    let setup = nats_jetstream::new(client_on(&cluster, 0).await);
    file_bucket(&setup, "r3", 3).await;
    let leader = cluster.wait_for_stream_leader("KV_r3").await.unwrap();
    let follower = (leader + 1) % 3;
    // One watcher on the leader (its connection dies with it), one on a follower (its
    // connection stays; its consumer may die with the leader), the writer on the other.
    let on_leader = nats_jetstream::new(client_on(&cluster, leader).await);
    let on_follower = nats_jetstream::new(client_on(&cluster, follower).await);
    let writer = nats_jetstream::new(client_on(&cluster, (leader + 2) % 3).await);
    let store_p = writer.get_key_value("r3").await.unwrap();
    put_range(store_p.clone(), 1..=10).await;
    let mut a = Watchers::start(&on_leader.get_key_value("r3").await.unwrap()).await;
    let mut b = Watchers::start(&on_follower.get_key_value("r3").await.unwrap()).await;
    for (w, who) in [(&mut a, "leader"), (&mut b, "follower")] {
        expect_revisions(&mut w.polled, 1..=10, &format!("{who} polled")).await;
        expect_revisions(&mut w.idle, 1..=10, &format!("{who} idle")).await;
    }
    put_range(store_p.clone(), 11..=20).await;
    expect_revisions(&mut a.polled, 11..=20, "leader polled").await;
    expect_revisions(&mut b.polled, 11..=20, "follower polled").await;

    let killed = cluster.kill_leader("KV_r3").await.unwrap();
    assert_eq!(killed, leader);
    // Puts during the election: re-sent until the new leader acks them (J9).
    put_range(store_p.clone(), 21..=30).await;
    cluster.node_mut(killed).restart().await.unwrap();
    cluster.wait_for_jetstream().await.unwrap();
    cluster.wait_for_stream_leader("KV_r3").await.unwrap();
    put_range(store_p.clone(), 31..=40).await;

    expect_revisions(&mut a.polled, 21..=40, "leader polled").await;
    expect_revisions(&mut b.polled, 21..=40, "follower polled").await;
    expect_revisions(&mut a.idle, 11..=40, "leader idle").await;
    expect_revisions(&mut b.idle, 11..=40, "follower idle").await;
    put_range(store_p, 41..=41).await;
    for (w, who) in [(&mut a, "leader"), (&mut b, "follower")] {
        expect_revisions(&mut w.polled, 41..=41, &format!("{who} polled")).await;
        expect_revisions(&mut w.idle, 41..=41, &format!("{who} idle")).await;
        w.task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn j24_watch_resumes_after_missed_heartbeats_on_a_silent_connection() {
    // The watcher's connection goes silent (a black hole) for longer than two heartbeats,
    // without being closed: the watch resets its consumer on the missed heartbeats, and its
    // re-creation is retried until the connection passes again.
    crate::util::trace();
    let (server, proxy, js) = crate::util::js_behind_proxy(Duration::from_secs(1)).await;
    let store_w = file_bucket(&js, "silent", 1).await;
    let writer = fast().connect(server.url()).await.unwrap();
    let store_p = nats_jetstream::new(writer)
        .get_key_value("silent")
        .await
        .unwrap();
    put_range(store_p.clone(), 1..=5).await;
    let mut watch = store_w
        .watcher()
        .heartbeat(Duration::from_millis(500))
        .await
        .unwrap();
    expect_revisions(&mut watch, 1..=5, "watch").await;
    proxy.set_fault(nats_testkit::Fault::BlackHole);
    let next = tokio::spawn(async move {
        expect_revisions(&mut watch, 6..=15, "watch").await;
        watch
    });
    // Longer than two heartbeats and a failed re-creation (1 s API timeout).
    put_range(store_p.clone(), 6..=10).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    proxy.set_fault(nats_testkit::Fault::Pass);
    put_range(store_p.clone(), 11..=15).await;
    let mut watch = within_for(PHASE, "the watch after the hole", next)
        .await
        .unwrap();
    put_range(store_p, 16..=16).await;
    expect_revisions(&mut watch, 16..=16, "watch").await;
}
