//! JetStream servers and clusters: store dirs, readiness, the stream leader, kill and restart,
//! a restarted node catching up.

use nats_testkit::{jetstream_request, Cluster, NatsServer};

#[tokio::test]
async fn single_jetstream_server_answers_and_keeps_its_store_across_a_restart() {
    let mut server = NatsServer::start_jetstream().await.unwrap();
    let store = server.store_dir().unwrap().to_path_buf();
    let created = jetstream_request(
        server.addr(),
        "$JS.API.STREAM.CREATE.KIT",
        br#"{"name":"KIT","subjects":["kit.>"],"storage":"file"}"#,
    )
    .await
    .unwrap();
    assert!(created.get("error").is_none(), "{created}");
    assert!(store.exists(), "store dir {store:?} not created");

    server.kill();
    server.restart().await.unwrap();
    server.wait_for_jetstream().await.unwrap();
    let info = jetstream_request(server.addr(), "$JS.API.STREAM.INFO.KIT", b"")
        .await
        .unwrap();
    assert_eq!(info["config"]["name"], "KIT", "{info}");

    // A plain server has no JetStream: the API has no responders.
    let plain = NatsServer::start().await.unwrap();
    assert!(plain.store_dir().is_none());
    let err = jetstream_request(plain.addr(), "$JS.API.INFO", b"")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no responders"), "{err}");
}

#[tokio::test]
async fn jetstream_cluster_reports_and_kills_the_stream_leader() {
    let mut cluster = Cluster::start_jetstream(3).await.unwrap();
    for (i, node) in cluster.nodes().iter().enumerate() {
        assert_eq!(node.server_name(), Some(format!("node-{i}").as_str()));
        assert!(node.store_dir().is_some());
    }
    let created = jetstream_request(
        cluster.node(0).addr(),
        "$JS.API.STREAM.CREATE.R3",
        br#"{"name":"R3","subjects":["r3.>"],"num_replicas":3}"#,
    )
    .await
    .unwrap();
    assert!(created.get("error").is_none(), "{created}");
    let leader = cluster.wait_for_stream_leader("R3").await.unwrap();
    let killed = cluster.kill_leader("R3").await.unwrap();
    assert_eq!(killed, leader);
    assert!(cluster.node(killed).pid().is_none());
    let next = cluster.wait_for_stream_leader("R3").await.unwrap();
    assert_ne!(next, killed);
    // Stored while the killed node is down: it has to catch up when it is back.
    for i in 0..200 {
        let ack = jetstream_request(cluster.node(next).addr(), "r3.x", format!("{i}").as_bytes())
            .await
            .unwrap();
        assert!(ack.get("error").is_none(), "{ack}");
    }
    cluster.node_mut(killed).restart().await.unwrap();
    cluster.wait_for_jetstream().await.unwrap();
    // The restarted node may trigger another election; a leader is there once it is over.
    let after = cluster.wait_for_stream_leader("R3").await.unwrap();
    assert!(cluster.node(after).pid().is_some());
    cluster.wait_for_stream_current("R3").await.unwrap();
    let info = jetstream_request(cluster.node(after).addr(), "$JS.API.STREAM.INFO.R3", b"")
        .await
        .unwrap();
    let replicas = info["cluster"]["replicas"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(replicas.len(), 2, "{info}");
    assert!(
        replicas.iter().all(|r| r["current"] == true),
        "every copy up to date: {info}"
    );
    assert_eq!(info["state"]["messages"], 200, "{info}");
    let missing = cluster.stream_leader("NOPE").await.unwrap_err();
    assert!(missing.to_string().contains("10059"), "{missing}");
}
