//! Publish, subscribe and request over `ws://`; frames holding many ops or part of one; the
//! errors that must be clear (R5, a ws URL at a NATS port).

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use nats_client::{ConnectError, ServerAddr};
use nats_testkit::ServerConfig;

use crate::wait::{next_msg, within};

/// Publish, subscribe, queue groups and request/reply over a `websocket { no_tls: true }`
/// server; the connected URL is the ws one.
#[tokio::test]
async fn pub_sub_and_request_over_ws() {
    let server = ServerConfig::new().websocket(None).start().await.unwrap();
    let url = server.ws_url().unwrap();
    let client = nats_client::connect(url.as_str()).await.unwrap();
    let connected: ServerAddr = client.connected_url().unwrap().parse().unwrap();
    assert!(
        connected.is_websocket() && !connected.is_tls(),
        "{connected}"
    );
    assert_eq!(Some(connected.port()), server.ws_port());

    let mut sub = client.subscribe("ws.greet").await.unwrap();
    client
        .publish("ws.greet", Bytes::from_static(b"hello"))
        .await
        .unwrap();
    assert_eq!(next_msg(&mut sub).await.payload, "hello");

    // A responder on a plain TCP connection: the same server, two transports.
    let tcp = nats_client::connect(server.url()).await.unwrap();
    let mut svc = tcp.subscribe("ws.svc").await.unwrap();
    let responder = {
        let tcp = tcp.clone();
        tokio::spawn(async move {
            while let Some(m) = svc.next().await {
                let reply = m.reply.clone().unwrap();
                let mut answer = b"re:".to_vec();
                answer.extend_from_slice(&m.payload);
                tcp.publish(reply, Bytes::from(answer)).await.unwrap();
            }
        })
    };
    tcp.flush().await.unwrap();
    for i in 0..20 {
        let reply = within(
            "a request over ws",
            client.request("ws.svc", Bytes::from(format!("q{i}"))),
        )
        .await
        .unwrap();
        assert_eq!(reply.payload, Bytes::from(format!("re:q{i}")));
    }
    // R2: the path of the URL goes into the upgrade request (the server accepts any path).
    let with_path = nats_client::connect(format!("{url}/nats/ws?x=1").as_str())
        .await
        .unwrap();
    assert_eq!(
        with_path.connected_url().unwrap(),
        format!("{url}/nats/ws?x=1")
    );
    with_path
        .publish("ws.greet", "via path".into())
        .await
        .unwrap();
    assert_eq!(next_msg(&mut sub).await.payload, "via path");
    with_path.close().await;

    client.flush().await.unwrap();
    let stats = client.statistics();
    assert!(stats.out_msgs >= 21 && stats.in_msgs >= 22, "{stats:?}");
    client.drain().await.unwrap();
    responder.abort();
}

/// A burst of small publishes travels in few frames (a frame holds many ops), and a payload
/// larger than one frame of ours (64 KiB) is split across frames both ways (a frame holds part
/// of an op): everything arrives, in order, byte for byte.
#[tokio::test]
async fn frames_hold_many_ops_or_part_of_one() {
    let server = ServerConfig::new()
        .websocket(None)
        .max_payload(1024 * 1024)
        .start()
        .await
        .unwrap();
    let url = server.ws_url().unwrap();
    let client = nats_client::connect(url.as_str()).await.unwrap();
    let mut sub = client.subscribe("burst").await.unwrap();
    let n = 20_000u32;
    for i in 0..n {
        client
            .publish("burst", Bytes::from(i.to_be_bytes().to_vec()))
            .await
            .unwrap();
    }
    let big: Bytes = (0..700_000u32)
        .map(|i| (i % 251) as u8)
        .collect::<Vec<_>>()
        .into();
    client.publish("burst", big.clone()).await.unwrap();
    for i in 0..n {
        let m = next_msg(&mut sub).await;
        assert_eq!(&m.payload[..], &i.to_be_bytes(), "message {i}");
    }
    let m = next_msg(&mut sub).await;
    assert_eq!(m.payload.len(), big.len());
    assert!(m.payload == big, "the large payload came back changed");
    client.close().await;
}

/// R5: a pool mixing ws and nats URLs is refused at connect with a typed error, in either
/// order, before any dial; `set_server_pool` refuses it too and leaves the pool unchanged.
#[tokio::test]
async fn r5_mixed_pool_is_a_typed_error() {
    let started = Instant::now();
    for urls in [
        "ws://127.0.0.1:1,nats://127.0.0.1:2",
        "nats://127.0.0.1:2,wss://127.0.0.1:1",
    ] {
        let err = nats_client::connect(urls).await.unwrap_err();
        assert!(
            matches!(err, ConnectError::MixingWebSocketSchemes { .. }),
            "{urls}: {err:?}"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "no dial, no wait"
    );

    let server = ServerConfig::new().websocket(None).start().await.unwrap();
    let url = server.ws_url().unwrap();
    let client = nats_client::ConnectOptions::new()
        .ignore_discovered_servers(true)
        .connect(url.as_str())
        .await
        .unwrap();
    let before = client.servers();
    let err = client
        .set_server_pool([url.as_str(), server.url().as_str()])
        .unwrap_err();
    assert!(
        matches!(err, ConnectError::MixingWebSocketSchemes { .. }),
        "{err:?}"
    );
    assert_eq!(client.servers(), before, "R5: the pool is unchanged");
    // A consistent list is accepted.
    client.set_server_pool([url.as_str()]).unwrap();
    client.close().await;
}

/// A `ws://` URL pointed at a plain NATS client port fails fast with a WebSocket error naming
/// the cause, not a timeout or a hang.
#[tokio::test]
async fn ws_url_at_a_plain_nats_port_is_a_clear_error() {
    let server = ServerConfig::new().start().await.unwrap();
    let url = format!("ws://127.0.0.1:{}", server.port());
    let started = Instant::now();
    let err = within(
        "the failed connect",
        nats_client::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(5))
            .connect(url.as_str()),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ConnectError::WebSocket(_)), "{err:?}");
    assert!(err.to_string().contains("websocket"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "failed fast, not at the 5 s timeout: {:?}",
        started.elapsed()
    );
    // The address forms a user sees.
    let addr = ServerAddr::parse(&url).unwrap();
    assert_eq!(addr.to_string(), url);
}
