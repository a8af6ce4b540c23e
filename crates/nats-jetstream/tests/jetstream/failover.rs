//! Fail-over on a 3-node JetStream cluster (J9, J13, J28): kill -9 the stream leader, the node
//! the client is connected to, lame-duck a node — while publishing asynchronously and while a
//! durable consumer reads. Every message is acked exactly once, nothing surfaces as an error,
//! and the stream holds exactly what was published.

use std::sync::atomic::Ordering;
use std::time::Duration;

use nats_jetstream::consumer::pull;
use nats_jetstream::{stream, Context, ContextBuilder};
use nats_testkit::{Cluster, ServerConfig};

use crate::util::{fast, within_for};

#[path = "../common/load.rs"]
mod load;

use load::{assert_stream_holds, consume, wait_until, Publisher};

/// The per-phase deadline: an election on 2.9.10 takes 6–8 s.
const PHASE: Duration = Duration::from_secs(45);

/// The index of the node the client is connected to.
fn connected_node(cluster: &Cluster, js: &Context) -> usize {
    let url = js.client().connected_url().unwrap_or_default();
    cluster
        .nodes()
        .iter()
        .position(|n| url.ends_with(&format!(":{}", n.port())))
        .unwrap_or_else(|| panic!("connected to {url:?}, not a node"))
}

/// An R3 file stream `name` on `<name lowercase>.>`, its leader elected.
async fn r3_stream(cluster: &Cluster, js: &Context, name: &str) -> usize {
    js.create_stream(stream::Config {
        name: name.into(),
        subjects: vec![format!("{}.>", name.to_lowercase())],
        num_replicas: 3,
        ..Default::default()
    })
    .await
    .unwrap();
    cluster.wait_for_stream_leader(name).await.unwrap()
}

/// A client on `first` (then the others), with a window of 256.
async fn context_on(cluster: &Cluster, first: usize) -> Context {
    let mut urls = vec![cluster.node(first).url()];
    urls.extend(
        (0..cluster.len())
            .filter(|&i| i != first)
            .map(|i| cluster.node(i).url()),
    );
    let client = fast().no_randomize(true).connect(urls).await.unwrap();
    ContextBuilder::new().max_ack_pending(256).build(client)
}

/// Restarts node `i` and waits until its JetStream answers and `stream` has a leader.
async fn bring_back(cluster: &mut Cluster, i: usize, stream: &str) {
    cluster.node_mut(i).restart().await.unwrap();
    cluster.wait_for_jetstream().await.unwrap();
    cluster.wait_for_stream_leader(stream).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn j9_j28_kill_the_stream_leader_then_the_connected_node_while_publishing() {
    let mut cluster = Cluster::start_jetstream(3).await.unwrap();
    let setup = context_on(&cluster, 0).await;
    let leader = r3_stream(&cluster, &setup, "FAIL").await;
    // The client sits on a follower, so the leader's death is a route-side failure first.
    let follower = (leader + 1) % 3;
    let js = context_on(&cluster, follower).await;
    assert_eq!(connected_node(&cluster, &js), follower);
    let info = js.stream_info("FAIL").await.unwrap();
    let cluster_info = info.cluster.unwrap();
    assert!(cluster_info.leader.is_some());
    assert_eq!(
        cluster_info.replicas.len(),
        2,
        "J4: leader and replicas in the info"
    );

    let publisher = Publisher::start(js.clone(), "fail.x".into(), "p", None);
    publisher.wait_more_acks(1000, PHASE, "warm-up").await;

    // 1. kill -9 the stream leader.
    let killed = cluster.kill_leader("FAIL").await.unwrap();
    assert_eq!(killed, leader);
    publisher
        .wait_more_acks(1000, PHASE, "after the leader kill")
        .await;
    bring_back(&mut cluster, killed, "FAIL").await;
    publisher
        .wait_more_acks(500, PHASE, "after the restart")
        .await;

    // 2. kill -9 the node the client is connected to.
    let connected = connected_node(&cluster, &js);
    cluster.node_mut(connected).kill();
    publisher
        .wait_more_acks(1000, PHASE, "after the connected node's kill")
        .await;
    bring_back(&mut cluster, connected, "FAIL").await;

    let stats = within_for(PHASE, "the last acks", publisher.finish()).await;
    let errors = stats.errors.lock().unwrap().clone();
    assert!(errors.is_empty(), "errors surfaced: {errors:?}");
    assert_eq!(
        stats.dupes.load(Ordering::Acquire),
        0,
        "a duplicate ack surfaced"
    );
    let published = stats.published.load(Ordering::Acquire);
    assert_eq!(
        stats.acked.load(Ordering::Acquire),
        published,
        "one ack per message"
    );
    println!(
        "J9: {published} published, longest pause between two acks {:?}",
        *stats.longest_gap.lock().unwrap()
    );
    let stored = stats.stored.lock().unwrap().clone();
    assert_stream_holds(&js, "FAIL", &stored).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn j9_j13_lame_duck_and_leader_kill_under_a_publisher_and_a_durable_consumer() {
    let config = ServerConfig::new()
        .jetstream()
        .lame_duck(Duration::from_millis(500), Duration::from_secs(30));
    let mut cluster = Cluster::start_with(3, config).await.unwrap();
    cluster.wait_for_jetstream().await.unwrap();
    let js = context_on(&cluster, 0).await;
    r3_stream(&cluster, &js, "LDM").await;
    let consumer = js
        .get_stream("LDM")
        .await
        .unwrap()
        .create_consumer(pull::Config {
            durable_name: Some("worker".into()),
            ack_wait: Duration::from_secs(5),
            ..Default::default()
        })
        .await
        .unwrap();
    let (reader, reader_task) = consume(consumer.clone(), Duration::from_secs(2));
    let publisher = Publisher::start(js.clone(), "ldm.x".into(), "q", None);
    publisher.wait_more_acks(1000, PHASE, "warm-up").await;

    // 1. Lame-duck the node the client is on: it moves to another node.
    let ldm = connected_node(&cluster, &js);
    cluster.node(ldm).lame_duck().unwrap();
    wait_until(PHASE, "the lame-duck node to exit", || {
        connected_node_or_none(&cluster, &js) != Some(ldm)
    })
    .await;
    publisher
        .wait_more_acks(1000, PHASE, "after lame duck")
        .await;
    within_for(PHASE, "the lame-duck node to exit", async {
        while cluster.node_mut(ldm).is_running() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    bring_back(&mut cluster, ldm, "LDM").await;

    // 2. kill -9 the stream leader (the consumer's messages() resumes by itself).
    let killed = cluster.kill_leader("LDM").await.unwrap();
    publisher
        .wait_more_acks(1000, PHASE, "after the leader kill")
        .await;
    bring_back(&mut cluster, killed, "LDM").await;

    let stats = within_for(PHASE, "the last acks", publisher.finish()).await;
    let errors = stats.errors.lock().unwrap().clone();
    assert!(errors.is_empty(), "errors surfaced: {errors:?}");
    assert_eq!(stats.dupes.load(Ordering::Acquire), 0);
    let stored = stats.stored.lock().unwrap().clone();
    assert_eq!(stored.len() as u64, stats.published.load(Ordering::Acquire));

    // Every stored message reaches the durable consumer at least once, and all get acked.
    wait_until(Duration::from_secs(90), "every message delivered", || {
        let seen = reader.seen.lock().unwrap();
        stored.iter().all(|p| seen.contains(p))
    })
    .await;
    assert!(
        reader.terminal.lock().unwrap().is_none(),
        "{:?}",
        reader.terminal.lock().unwrap()
    );
    within_for(PHASE, "every message acked", async {
        loop {
            let info = consumer.info().await;
            if let Ok(info) = info {
                if info.num_pending == 0 && info.num_ack_pending == 0 {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    reader_task.abort();
    assert_stream_holds(&js, "LDM", &stored).await;
}

fn connected_node_or_none(cluster: &Cluster, js: &Context) -> Option<usize> {
    let url = js.client().connected_url()?;
    cluster
        .nodes()
        .iter()
        .position(|n| url.ends_with(&format!(":{}", n.port())))
}
