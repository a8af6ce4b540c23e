//! The reconnect behaviour over WebSocket: a restart on the same port (buffer, resubscribe),
//! fail-over to a discovered ws node of a cluster (R95, R101), lame duck (R102), stale
//! detection through the fault proxy (R37).

use std::time::Duration;

use bytes::Bytes;
use nats_client::{ConnectionError, Event, ServerAddr, Status};
use nats_testkit::{Cluster, Fault, FaultProxy, ServerConfig};

use crate::fast;
use crate::wait::{eventually, next_msg, wait_event, within};

fn port_of(url: &str) -> u16 {
    url.parse::<ServerAddr>().unwrap().port()
}

/// R33, R54, R62, R65, R83: kill -9 and restart on the same ws port: Disconnected, the
/// publishes made meanwhile are buffered and delivered after the SUBs, Reconnected and
/// Resubscribed, over ws again.
#[tokio::test]
async fn r54_r62_restart_on_the_same_port_reconnects_and_resubscribes_over_ws() {
    let mut server = ServerConfig::new().websocket(None).start().await.unwrap();
    let url = server.ws_url().unwrap();
    let client = fast().connect(url.as_str()).await.unwrap();
    let mut events = client.events();
    let mut sub = client.subscribe("restart.a").await.unwrap();
    client.flush().await.unwrap();

    server.kill();
    wait_event(&mut events, |e| matches!(e, Event::Disconnected { .. })).await;
    assert_eq!(client.status(), Status::Reconnecting);
    client
        .publish("restart.a", Bytes::from_static(b"buffered"))
        .await
        .unwrap();
    let mut late = client.subscribe("restart.late").await.unwrap();
    client
        .publish("restart.late", Bytes::from_static(b"for-late"))
        .await
        .unwrap();
    assert!(client.buffered() > 0);

    server.restart().await.unwrap();
    let seen = wait_event(&mut events, |e| matches!(e, Event::Resubscribed)).await;
    assert!(
        seen.iter().any(|e| matches!(e, Event::Reconnected)),
        "{seen:?}"
    );
    assert_eq!(next_msg(&mut sub).await.payload, "buffered");
    assert_eq!(next_msg(&mut late).await.payload, "for-late");
    assert_eq!(client.buffered(), 0);
    assert_eq!(client.connected_url().unwrap(), url);
    assert_eq!(client.statistics().reconnects, 1);
    client.close().await;
}

/// R95, R101, trap 13: seeded with one node's ws URL, the client learns the other node's ws
/// URL from INFO `connect_urls` (what nats-server sends a websocket client: its cluster's
/// websocket URLs), and when its node is killed -9 it fails over to it over ws, with its
/// subscription.
#[tokio::test]
async fn r101_failover_to_a_discovered_ws_node() {
    let mut cluster = Cluster::start_with(2, ServerConfig::new().websocket(None))
        .await
        .unwrap();
    let ws = cluster.ws_urls();
    assert_eq!(ws.len(), 2);
    let client = fast()
        .no_randomize(true)
        .connect(ws[0].as_str())
        .await
        .unwrap();
    let mut events = client.events();
    let other = ws[1].clone();
    eventually("the other node's ws URL discovered", || {
        client.discovered_servers().contains(&other)
    })
    .await;
    let mut sub = client.subscribe("failover.>").await.unwrap();
    client.flush().await.unwrap();

    cluster.node_mut(0).kill();
    wait_event(&mut events, |e| matches!(e, Event::Resubscribed)).await;
    let connected = client.connected_url().unwrap();
    assert_eq!(connected, other, "failed over to the discovered ws node");
    assert_eq!(port_of(&connected), cluster.node(1).ws_port().unwrap());

    // The subscription is live on the new node: a publisher on node 1 over TCP reaches it.
    let publisher = nats_client::connect(cluster.node(1).url()).await.unwrap();
    publisher
        .publish("failover.x", Bytes::from_static(b"after"))
        .await
        .unwrap();
    publisher.flush().await.unwrap();
    assert_eq!(next_msg(&mut sub).await.payload, "after");
    client.close().await;
}

/// R102: lame duck over ws: the server's `INFO {"ldm":true}` reaches the client as
/// LameDuckMode; when the server closes it after the grace period, it moves to the other
/// (discovered) ws node and its subscription follows.
#[tokio::test]
async fn r102_lame_duck_over_ws_moves_to_the_other_node() {
    let config = ServerConfig::new()
        .websocket(None)
        .lame_duck(Duration::from_millis(300), Duration::from_secs(30));
    let mut cluster = Cluster::start_with(2, config).await.unwrap();
    let ws = cluster.ws_urls();
    let client = fast()
        .no_randomize(true)
        .connect(ws[0].as_str())
        .await
        .unwrap();
    let mut events = client.events();
    let other = ws[1].clone();
    eventually("the other node's ws URL discovered", || {
        client.discovered_servers().contains(&other)
    })
    .await;
    let mut sub = client.subscribe("ldm").await.unwrap();
    client.flush().await.unwrap();

    cluster.node_mut(0).lame_duck().unwrap();
    wait_event(&mut events, |e| matches!(e, Event::LameDuckMode)).await;
    wait_event(&mut events, |e| matches!(e, Event::Resubscribed)).await;
    assert_eq!(client.connected_url().unwrap(), other);
    client
        .publish("ldm", Bytes::from_static(b"moved"))
        .await
        .unwrap();
    assert_eq!(next_msg(&mut sub).await.payload, "moved");
    client.close().await;
}

/// R37, R38: a black-holed WebSocket (the fault proxy in front of the ws port) is detected by
/// the keep-alive PINGs as stale; once traffic passes again the client reconnects over ws.
#[tokio::test]
async fn r37_stale_detection_over_ws_through_the_fault_proxy() {
    let server = ServerConfig::new().websocket(None).start().await.unwrap();
    let proxy = FaultProxy::start(server.ws_addr().unwrap()).await.unwrap();
    let url = format!("ws://{}", proxy.addr());
    let client = fast()
        .ping_interval(Duration::from_millis(200))
        .max_pings_out(2)
        .connection_timeout(Duration::from_millis(500))
        .connect(url.as_str())
        .await
        .unwrap();
    let mut events = client.events();
    let mut sub = client.subscribe("stale").await.unwrap();
    client.flush().await.unwrap();

    proxy.set_fault(Fault::BlackHole);
    let seen = wait_event(&mut events, |e| matches!(e, Event::Disconnected { .. })).await;
    assert!(
        matches!(
            seen.last(),
            Some(Event::Disconnected {
                error: ConnectionError::StaleConnection
            })
        ),
        "{seen:?}"
    );
    // While black-holed, the ws upgrade of a reconnect gets no answer: a timed-out attempt.
    wait_event(&mut events, |e| matches!(e, Event::ReconnectFailed { .. })).await;
    proxy.set_fault(Fault::Pass);
    within(
        "the reconnect after the fault",
        wait_event(&mut events, |e| matches!(e, Event::Resubscribed)),
    )
    .await;
    client
        .publish("stale", Bytes::from_static(b"alive"))
        .await
        .unwrap();
    assert_eq!(next_msg(&mut sub).await.payload, "alive");
    client.close().await;
}
