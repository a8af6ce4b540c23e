//! Cluster: three routed nodes.

use std::time::Duration;

use nats_testkit::Cluster;

use crate::raw::{plain_connect, Raw};

#[tokio::test]
async fn three_nodes_mesh_route_messages_and_survive_a_restart() {
    let mut cluster = Cluster::start(3).await.unwrap();
    assert_eq!(cluster.len(), 3);
    let urls = cluster.urls();
    assert_eq!(urls.len(), 3);

    // Every node advertises every node.
    for i in 0..3 {
        let mut client = Raw::connect(cluster.node(i).addr()).await;
        let (info, answer) = client.handshake(plain_connect()).await;
        assert_eq!(answer, "PONG");
        let advertised: Vec<&str> = info["connect_urls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u.as_str().unwrap())
            .collect();
        for j in 0..3 {
            let want = format!("127.0.0.1:{}", cluster.node(j).port());
            assert!(advertised.contains(&want.as_str()), "{advertised:?}");
        }
    }

    // A message published on node 2 reaches a subscriber on node 0.
    let mut sub = Raw::connect(cluster.node(0).addr()).await;
    sub.handshake(plain_connect()).await;
    sub.send(b"SUB routed 1\r\nPING\r\n").await;
    assert_eq!(sub.line().await, "PONG");
    let mut publisher = Raw::connect(cluster.node(2).addr()).await;
    publisher.handshake(plain_connect()).await;
    // Interest propagates over the route asynchronously: publish until it arrives.
    let mut got = None;
    for _ in 0..50 {
        publisher.send(b"PUB routed 2\r\nhi\r\nPING\r\n").await;
        assert_eq!(publisher.line().await, "PONG");
        if let Ok(Some(line)) = sub.try_line(Duration::from_millis(100)).await {
            got = Some(line);
            break;
        }
    }
    assert_eq!(got.as_deref(), Some("MSG routed 1 2"));
    assert_eq!(sub.line().await, "hi");

    // Kill a node: the others drop it; restart it: the mesh is whole again.
    cluster.node_mut(1).kill();
    cluster.wait_for_routes().await.unwrap();
    cluster.node_mut(1).restart().await.unwrap();
    cluster.wait_for_routes().await.unwrap();
}
