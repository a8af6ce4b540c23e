//! Lame duck mode on a real cluster node (timeline (c)).

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use nats_client::{ConnectionError, Event, Status};
use nats_testkit::{Cluster, ServerConfig};

use crate::util::{assert_well_formed, fast, is_disconnected, is_reconnected, within, Recorder};

fn port_of(url: &str) -> u16 {
    url.rsplit(':').next().unwrap().parse().unwrap()
}

/// R102, timeline (c): LameDuckMode while the status stays Connected; the server then closes
/// the connection and the client reconnects to another node.
#[tokio::test]
async fn r102_lame_duck_event_then_server_closes_and_client_moves() {
    let cluster = Cluster::start_with(
        3,
        ServerConfig::new().lame_duck(Duration::from_millis(300), Duration::from_secs(30)),
    )
    .await
    .unwrap();
    let urls = cluster.urls();
    let rec = Recorder::new();
    let client = rec
        .install(fast().no_randomize(true))
        .connect(urls)
        .await
        .unwrap();
    client.flush().await.unwrap();
    let status_at_ldm = std::sync::Arc::new(std::sync::Mutex::new(None));
    cluster.node(0).lame_duck().unwrap();
    rec.wait_count("LameDuckMode", 1, |e| matches!(e, Event::LameDuckMode))
        .await;
    *status_at_ldm.lock().unwrap() = Some(client.status());
    assert_eq!(
        client.status(),
        Status::Connected,
        "R102: no disconnect by itself"
    );
    assert_eq!(rec.count(is_disconnected), 0);
    rec.wait_count("Reconnected", 1, is_reconnected).await;
    assert_ne!(
        port_of(&client.connected_url().unwrap()),
        cluster.node(0).port()
    );
    let events = rec.events();
    let ldm = events
        .iter()
        .position(|e| matches!(e, Event::LameDuckMode))
        .unwrap();
    let dis = events.iter().position(is_disconnected).unwrap();
    assert!(ldm < dis, "{events:?}");
    assert_well_formed(&events);
    client.flush().await.unwrap();
}

/// lame_duck_reconnect(Some(window)): the client leaves the lame-duck node by itself within the
/// window (Disconnected{LameDuck}), long before the server's grace period ends, and no message
/// published during the move is lost (a subscriber on the third node gets every one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lame_duck_reconnect_moves_within_the_window_without_loss() {
    let cluster = Cluster::start_with(
        3,
        ServerConfig::new().lame_duck(Duration::from_secs(8), Duration::from_secs(30)),
    )
    .await
    .unwrap();
    let urls = cluster.urls();
    let watcher = fast().connect(cluster.node(2).url()).await.unwrap();
    let mut sub = watcher.subscribe("move").await.unwrap();
    watcher.flush().await.unwrap();
    let rec = Recorder::new();
    let window = Duration::from_millis(300);
    let client = rec
        .install(fast().no_randomize(true).lame_duck_reconnect(Some(window)))
        .connect(urls)
        .await
        .unwrap();
    assert_eq!(
        port_of(&client.connected_url().unwrap()),
        cluster.node(0).port()
    );
    client.flush().await.unwrap();
    // The watcher's interest reaches node 0 over the route asynchronously: probe until one
    // arrives (bounded by the deadline). Probes carry 0; the move's messages start at 1.
    within("probe", async {
        loop {
            client
                .publish("move", Bytes::from_static(b"0"))
                .await
                .unwrap();
            client.flush().await.unwrap();
            if let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(100), sub.next()).await
            {
                break;
            }
        }
    })
    .await;

    cluster.node(0).lame_duck().unwrap();
    let mut seq = 0u64;
    let publishing = async {
        loop {
            seq += 1;
            client
                .publish("move", Bytes::from(seq.to_string()))
                .await
                .unwrap();
            if rec.count(is_reconnected) > 0 && seq > 50 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    };
    within("the move", publishing).await;
    client.flush().await.unwrap();
    let timed = rec.timed();
    let ldm = timed
        .iter()
        .find(|(_, e)| matches!(e, Event::LameDuckMode))
        .unwrap()
        .0;
    let (dis, ev) = timed.iter().find(|(_, e)| is_disconnected(e)).unwrap();
    assert!(
        matches!(
            ev,
            Event::Disconnected {
                error: ConnectionError::LameDuck
            }
        ),
        "{ev:?}"
    );
    assert!(
        *dis - ldm <= window + Duration::from_millis(100),
        "moved after {:?}",
        *dis - ldm
    );
    assert_ne!(
        port_of(&client.connected_url().unwrap()),
        cluster.node(0).port()
    );
    let mut got = HashSet::new();
    within("every message of the move", async {
        while got.len() < seq as usize {
            let m = sub.next().await.unwrap();
            let n: u64 = std::str::from_utf8(&m.payload).unwrap().parse().unwrap();
            if n == 0 {
                continue; // a late copy of a probe
            }
            assert!(got.insert(n), "duplicate {n}");
        }
    })
    .await;
    assert_well_formed(&rec.events());
}
