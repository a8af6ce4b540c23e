//! A 3-node cluster with routes: fail-over (timeline (b)), discovery through INFO.

use std::time::Duration;

use bytes::Bytes;
use nats_client::{ConnectionError, Event};
use nats_testkit::Cluster;

use futures_util::StreamExt;

use crate::util::{
    assert_well_formed, fast, is_disconnected, is_reconnected, next_msg, within, Recorder,
};

fn port_of(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .parse()
        .unwrap()
}

/// R15, R11, R92, timeline (b): the lost node is rotated to the tail, the next node is dialled
/// without any wait (reconnect_wait 5 s would show): Reconnected within 100 ms of Disconnected.
#[tokio::test]
async fn r15_timeline_b_failover_is_immediate() {
    let mut cluster = Cluster::start(3).await.unwrap();
    let urls = cluster.urls();
    let rec = Recorder::new();
    let client = rec
        .install(
            fast()
                .reconnect_wait(Duration::from_secs(5))
                .no_randomize(true),
        )
        .connect(urls.clone())
        .await
        .unwrap();
    assert_eq!(
        port_of(&client.connected_url().unwrap()),
        cluster.node(0).port()
    );
    let mut sub = client.subscribe("fo").await.unwrap();
    client.flush().await.unwrap();
    cluster.node_mut(0).kill();
    rec.wait_count("Reconnected", 1, is_reconnected).await;
    let timed = rec.timed();
    let down = timed.iter().find(|(_, e)| is_disconnected(e)).unwrap().0;
    let up = timed.iter().find(|(_, e)| is_reconnected(e)).unwrap().0;
    let took = up - down;
    assert!(took < Duration::from_millis(100), "fail-over took {took:?}");
    assert!(matches!(
        timed.iter().find(|(_, e)| is_disconnected(e)).unwrap().1,
        Event::Disconnected {
            error: ConnectionError::Io(_)
        }
    ));
    let now = port_of(&client.connected_url().unwrap());
    assert_ne!(now, cluster.node(0).port());
    // Subscriptions work on the new node, including for publishers on the third node.
    let other = nats_client::connect(cluster.node(2).url()).await.unwrap();
    client.flush().await.unwrap();
    // The re-sent interest reaches node 2 over the route asynchronously: publish until the
    // subscriber sees a message (bounded by the deadline), then the rest flows.
    within("delivery across the route", async {
        loop {
            other.publish("fo", Bytes::from_static(b"x")).await.unwrap();
            other.flush().await.unwrap();
            if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(100), sub.next()).await
            {
                assert_eq!(m.payload, Bytes::from_static(b"x"));
                break;
            }
        }
    })
    .await;
    other.publish("fo", Bytes::from_static(b"y")).await.unwrap();
    loop {
        // Copies of the probe may still be queued; the next new message must arrive.
        if next_msg(&mut sub).await.payload == Bytes::from_static(b"y") {
            break;
        }
    }
    assert_well_formed(&rec.events());
}

/// R95, R96, R98, R101: a client seeded with one URL learns the other nodes from INFO, without
/// a DiscoveredServers event for the initial connect, and fails over to a discovered node
/// when its seed dies.
#[tokio::test]
async fn r96_r101_one_seed_learns_the_cluster_and_fails_over_to_a_discovered_node() {
    let mut cluster = Cluster::start(3).await.unwrap();
    let rec = Recorder::new();
    let client = rec
        .install(fast())
        .connect(cluster.node(0).url())
        .await
        .unwrap();
    client.flush().await.unwrap();
    let discovered = client.discovered_servers();
    assert_eq!(discovered.len(), 2, "{discovered:?}");
    assert_eq!(client.servers().len(), 3);
    assert_eq!(
        rec.count(|e| matches!(e, Event::DiscoveredServers)),
        0,
        "R96"
    );
    cluster.node_mut(0).kill();
    rec.wait_count("Reconnected", 1, is_reconnected).await;
    let url = client.connected_url().unwrap();
    assert!(
        discovered.iter().any(|d| port_of(d) == port_of(&url)),
        "{url} not among {discovered:?}"
    );
    client.flush().await.unwrap();
}

/// R99: with ignore_discovered_servers the pool stays the seed list, while a control client
/// without it grows.
#[tokio::test]
async fn r99_ignore_discovered_servers_keeps_the_seed_list() {
    let cluster = Cluster::start(3).await.unwrap();
    let seed = cluster.node(0).url();
    let ignoring = fast()
        .ignore_discovered_servers(true)
        .connect(seed.as_str())
        .await
        .unwrap();
    let control = fast().connect(seed.as_str()).await.unwrap();
    ignoring.flush().await.unwrap();
    control.flush().await.unwrap();
    assert_eq!(ignoring.servers().len(), 1, "{:?}", ignoring.servers());
    assert_eq!(port_of(&ignoring.servers()[0]), cluster.node(0).port());
    assert!(ignoring.discovered_servers().is_empty());
    assert_eq!(control.discovered_servers().len(), 2);
}

/// R10: the first connect's walk also tries the servers an INFO announces, in the same pass:
/// seeded with one node whose only client slot is taken (it sends INFO, then refuses with
/// "maximum connections exceeded"), the client connects to a node it learned from that INFO.
#[tokio::test]
async fn r10_the_first_walk_tries_the_servers_a_refusing_node_announced() {
    let cluster = Cluster::start_with(3, nats_testkit::ServerConfig::new().max_connections(1))
        .await
        .unwrap();
    cluster.wait_for_routes().await.unwrap();
    let seed = cluster.node(0).url();
    let _holder = nats_client::connect(&seed).await.unwrap();
    let client = fast().connect(&seed).await.unwrap();
    let url = client.connected_url().unwrap();
    assert_ne!(port_of(&url), port_of(&seed), "connected to {url}");
    client.flush().await.unwrap();
    // with ignore_discovered_servers the walk ends at the seed
    let refused = fast()
        .ignore_discovered_servers(true)
        .connect(&seed)
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("maximum connections"),
        "{refused}"
    );
}
