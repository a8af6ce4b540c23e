//! Publish and subscribe: subjects, headers, queue groups, auto-unsubscribe, pending limits.

use bytes::Bytes;
use futures_util::StreamExt;
use nats_client::{ConnectOptions, Event, HeaderMap, StatusCode};
use nats_testkit::NatsServer;

use crate::util::{eventually, next_msg, wait_event, within};

#[tokio::test]
async fn publish_subscribe_round_trip_with_wildcards() {
    let server = NatsServer::start().await.unwrap();
    let client = nats_client::connect(server.url()).await.unwrap();
    let mut all = client.subscribe("orders.>").await.unwrap();
    let mut one = client.subscribe("orders.*").await.unwrap();
    client.flush().await.unwrap();
    client
        .publish("orders.new", Bytes::from_static(b"hi"))
        .await
        .unwrap();
    client
        .publish("orders.eu.new", Bytes::from_static(b"deep"))
        .await
        .unwrap();
    client.publish("orders.empty", Bytes::new()).await.unwrap();
    let m = next_msg(&mut all).await;
    assert_eq!(m.subject, "orders.new");
    assert_eq!(m.payload, "hi");
    assert_eq!(next_msg(&mut all).await.payload, "deep");
    assert!(next_msg(&mut all).await.payload.is_empty());
    assert_eq!(next_msg(&mut one).await.subject, "orders.new");
    assert_eq!(next_msg(&mut one).await.subject, "orders.empty");
    let stats = client.statistics();
    assert_eq!(stats.out_msgs, 3);
    assert_eq!(stats.in_msgs, 5);
    assert!(stats.in_bytes > 0 && stats.out_bytes > 0);
}

#[tokio::test]
async fn payload_with_crlf_and_binary_survives() {
    let server = NatsServer::start().await.unwrap();
    let client = nats_client::connect(server.url()).await.unwrap();
    let mut sub = client.subscribe("bin").await.unwrap();
    client.flush().await.unwrap();
    let payload: Vec<u8> = (0..=255u8)
        .chain(b"\r\nMSG x 1 2\r\n".iter().copied())
        .collect();
    client
        .publish("bin", Bytes::from(payload.clone()))
        .await
        .unwrap();
    let big = Bytes::from(vec![7u8; 200 * 1024]);
    client.publish("bin", big.clone()).await.unwrap();
    assert_eq!(next_msg(&mut sub).await.payload, payload);
    assert_eq!(next_msg(&mut sub).await.payload, big);
}

#[tokio::test]
async fn headers_round_trip() {
    let server = NatsServer::start().await.unwrap();
    let client = nats_client::connect(server.url()).await.unwrap();
    let mut sub = client.subscribe("h").await.unwrap();
    client.flush().await.unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("Trace-Id", "abc").unwrap();
    headers.append("Multi", "1").unwrap();
    headers.append("Multi", "2").unwrap();
    client
        .publish_with_headers("h", headers, Bytes::from_static(b"body"))
        .await
        .unwrap();
    let m = next_msg(&mut sub).await;
    let h = m.headers.expect("headers");
    assert_eq!(h.get("Trace-Id"), Some("abc"));
    assert_eq!(h.get_all("Multi").collect::<Vec<_>>(), ["1", "2"]);
    assert_eq!(m.payload, "body");
    assert_eq!(m.status, None);
}

#[tokio::test]
async fn publish_with_reply_carries_the_reply_subject() {
    let server = NatsServer::start().await.unwrap();
    let client = nats_client::connect(server.url()).await.unwrap();
    let mut sub = client.subscribe("svc").await.unwrap();
    client.flush().await.unwrap();
    client
        .publish_with_reply("svc", "answers.here", "q".into())
        .await
        .unwrap();
    let m = next_msg(&mut sub).await;
    assert_eq!(m.reply.as_deref(), Some("answers.here"));
}

#[tokio::test]
async fn queue_group_delivers_each_message_once() {
    let server = NatsServer::start().await.unwrap();
    let client = nats_client::connect(server.url()).await.unwrap();
    let mut a = client.queue_subscribe("work", "workers").await.unwrap();
    let mut b = client
        .queue_subscribe(
            nats_client::SubjectFilter::from_static("work"),
            nats_client::QueueGroup::from_static("workers"),
        )
        .await
        .unwrap();
    assert_eq!(a.queue_group(), Some("workers"));
    client.flush().await.unwrap();
    for i in 0..100 {
        client.publish("work", i.to_string().into()).await.unwrap();
    }
    client.flush().await.unwrap();
    let mut total = 0;
    let mut ids = std::collections::HashSet::new();
    while total < 100 {
        let m = within("queue message", async {
            tokio::select! {
                Some(m) = a.next() => m,
                Some(m) = b.next() => m,
            }
        })
        .await;
        assert!(ids.insert(m.payload.clone()), "duplicate");
        total += 1;
    }
    // Positive sign: after a round trip every message routed to us before has arrived.
    client.flush().await.unwrap();
    assert_eq!(a.pending() + b.pending(), 0, "no message twice");
}

#[tokio::test]
async fn unsubscribe_after_limits_total_messages() {
    let server = NatsServer::start().await.unwrap();
    let client = nats_client::connect(server.url()).await.unwrap();
    let mut sub = client.subscribe("auto").await.unwrap();
    sub.unsubscribe_after(3).await.unwrap();
    client.flush().await.unwrap();
    for i in 0..10 {
        client.publish("auto", i.to_string().into()).await.unwrap();
    }
    let got: Vec<_> = within("3 messages then end", sub.collect::<Vec<_>>()).await;
    assert_eq!(got.len(), 3);
}

#[tokio::test]
async fn unsubscribe_and_drop_stop_delivery() {
    let server = NatsServer::start().await.unwrap();
    let client = nats_client::connect(server.url()).await.unwrap();
    let mut sub = client.subscribe("u").await.unwrap();
    let dropped = client.subscribe("u").await.unwrap();
    let mut control = client.subscribe("u").await.unwrap();
    client.flush().await.unwrap();
    sub.unsubscribe().await.unwrap();
    sub.unsubscribe().await.unwrap();
    drop(dropped);
    client.publish("u", "x".into()).await.unwrap();
    next_msg(&mut control).await;
    assert!(sub.next().await.is_none());
    // the server sends one copy: the UNSUBs reached it
    assert_eq!(client.statistics().in_msgs, 1);
}

/// D6, R71: a subscription over its limits drops for itself only; the same connection's
/// publishes never fail because of it.
#[tokio::test]
async fn slow_consumer_drops_counts_and_raises_one_event_per_episode() {
    let server = NatsServer::start().await.unwrap();
    let client = nats_client::connect(server.url()).await.unwrap();
    let mut events = client.events();
    let mut sub = client.subscribe("slow").await.unwrap();
    sub.set_pending_limits(10, 1024 * 1024);
    client.flush().await.unwrap();
    for i in 0..50 {
        client.publish("slow", i.to_string().into()).await.unwrap();
    }
    client.flush().await.unwrap();
    eventually("drops counted", || sub.dropped() >= 40).await;
    assert_eq!(sub.dropped(), 40);
    let seen = wait_event(&mut events, |e| matches!(e, Event::SlowConsumer { .. })).await;
    assert!(matches!(seen.last(), Some(Event::SlowConsumer { sid, .. }) if *sid == sub.sid()));
    // the connection is fine and the first ten are delivered in order
    for i in 0..10 {
        assert_eq!(next_msg(&mut sub).await.payload, i.to_string());
    }
    client.flush().await.unwrap();
    // no second event within the same episode: the next event we provoke is ours
    client.force_reconnect().await.unwrap();
    let seen = wait_event(&mut events, |e| matches!(e, Event::Disconnected { .. })).await;
    assert!(
        !seen.iter().any(|e| matches!(e, Event::SlowConsumer { .. })),
        "{seen:?}"
    );
}

#[tokio::test]
async fn byte_pending_limit_also_drops() {
    let server = NatsServer::start().await.unwrap();
    let client = ConnectOptions::new()
        .subscription_pending_limits(1000, 100)
        .connect(server.url())
        .await
        .unwrap();
    let sub = client.subscribe("bytes").await.unwrap();
    client.flush().await.unwrap();
    for _ in 0..5 {
        client
            .publish("bytes", Bytes::from(vec![0u8; 40]))
            .await
            .unwrap();
    }
    client.flush().await.unwrap();
    eventually("drops", || sub.dropped() >= 3).await;
    assert_eq!(sub.pending(), 2);
}

#[tokio::test]
async fn echo_false_skips_own_messages() {
    let server = NatsServer::start().await.unwrap();
    let quiet = ConnectOptions::new()
        .echo(false)
        .connect(server.url())
        .await
        .unwrap();
    let other = nats_client::connect(server.url()).await.unwrap();
    let mut sub = quiet.subscribe("e").await.unwrap();
    quiet.flush().await.unwrap();
    quiet.publish("e", "mine".into()).await.unwrap();
    quiet.flush().await.unwrap();
    other.publish("e", "theirs".into()).await.unwrap();
    assert_eq!(next_msg(&mut sub).await.payload, "theirs");
    let _ = StatusCode::NO_RESPONDERS;
}
