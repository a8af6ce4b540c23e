//! Inputs at their limits: `Duration::MAX` for every duration, an INFO far over 4 KiB, control
//! lines over the server's `max_control_line`.

use std::time::Duration;

use bytes::Bytes;
use nats_client::{ConnectOptions, Event, PublishError, Request, Status, SubscribeError};
use nats_testkit::{default_info, NatsServer, ScriptedServer};

use crate::util::{assert_drains_and_closes, assert_usable, fast, next_msg, wait_event, within};

/// Every duration option at `Duration::MAX` ("never" where it means never): connect, work,
/// reconnect on `force_reconnect`, drain and close, without a panic anywhere.
#[tokio::test]
async fn every_duration_at_its_maximum() {
    let server = NatsServer::start().await.unwrap();
    let client = ConnectOptions::new()
        .connection_timeout(Duration::MAX)
        .ping_interval(Duration::MAX)
        .reconnect_wait(Duration::MAX)
        .reconnect_jitter(Duration::MAX, Duration::MAX)
        .request_timeout(Duration::MAX)
        .flush_timeout(Duration::MAX)
        .drain_timeout(Duration::MAX)
        .lame_duck_reconnect(Some(Duration::MAX))
        .connect(server.url())
        .await
        .unwrap();
    assert_usable(&client).await;
    client.flush_timeout(Duration::MAX).await.unwrap();
    let mut echo = client.subscribe("echo").await.unwrap();
    let c = client.clone();
    tokio::spawn(async move {
        let m = next_msg(&mut echo).await;
        c.publish(m.reply.unwrap(), m.payload).await.unwrap();
    });
    let reply = client
        .send_request(
            "echo",
            Request::new().payload("hi".into()).timeout(Duration::MAX),
        )
        .await
        .unwrap();
    assert_eq!(reply.payload, "hi");
    let mut events = client.events();
    client.force_reconnect().await.unwrap();
    wait_event(&mut events, |e| matches!(e, Event::Reconnected)).await;
    assert_drains_and_closes(&client).await;
}

/// A reconnect-delay callback that returns `Duration::MAX`: the client waits for ever, and
/// `close()` still returns at once.
#[tokio::test]
async fn an_endless_reconnect_wait_still_closes() {
    let mut server = NatsServer::start().await.unwrap();
    let client = fast()
        .reconnect_delay_callback(|_| Duration::MAX)
        .connect(server.url())
        .await
        .unwrap();
    server.kill();
    within("reconnecting", client.wait_for_status(Status::Reconnecting)).await;
    within("close", client.close()).await;
    assert_eq!(client.status(), Status::Closed);
}

/// An INFO of more than 64 KiB (a large cluster's `connect_urls`) is accepted, at connect and
/// later.
#[tokio::test]
async fn an_info_far_over_four_kib() {
    let scripted = ScriptedServer::start().await.unwrap();
    let url = scripted.url();
    let connecting = tokio::spawn(async move {
        fast()
            .ignore_discovered_servers(true)
            .connect(url.as_str())
            .await
    });
    let mut conn = within("accept", scripted.accept()).await.unwrap();
    let mut info = default_info(scripted.port());
    info.connect_urls = (0..4000)
        .map(|i| format!("10.{}.{}.{}:4222", i / 65536, (i / 256) % 256, i % 256))
        .collect();
    let line = serde_json::to_string(&info).unwrap();
    assert!(line.len() > 64 * 1024, "{}", line.len());
    conn.send_info(&info).await.unwrap();
    within("CONNECT and PING", conn.expect_connect())
        .await
        .unwrap();
    conn.send_pong().await.unwrap();
    let client = within("connect", connecting).await.unwrap().unwrap();
    assert_eq!(client.server_info().connect_urls.len(), 4000);
    // and again as an async INFO
    info.connect_urls.truncate(3000);
    conn.send_info(&info).await.unwrap();
    crate::util::eventually("the new INFO", || {
        client.server_info().connect_urls.len() == 3000
    })
    .await;
    assert_eq!(client.status(), Status::Connected);
}

/// A publish or subscription whose control line would pass the server's `max_control_line`
/// is refused locally with a typed error; the connection stays up.
#[tokio::test]
async fn control_lines_over_the_limit_are_refused_locally() {
    let server = NatsServer::start().await.unwrap();
    let client = nats_client::connect(server.url()).await.unwrap();
    let long = "a".repeat(4100);
    assert!(matches!(
        client.publish(long.as_str(), Bytes::new()).await,
        Err(PublishError::ControlLineTooLong { limit: 4096, .. })
    ));
    assert!(matches!(
        client
            .publish_with_reply("ok", long.as_str(), Bytes::new())
            .await,
        Err(PublishError::ControlLineTooLong { .. })
    ));
    assert!(matches!(
        client.subscribe(long.as_str()).await,
        Err(SubscribeError::ControlLineTooLong { .. })
    ));
    // just under the limit goes through
    let fits = "b".repeat(4000);
    let mut sub = client.subscribe(fits.as_str()).await.unwrap();
    client
        .publish(fits.as_str(), Bytes::from_static(b"ok"))
        .await
        .unwrap();
    assert_eq!(next_msg(&mut sub).await.payload, "ok");
    assert_usable(&client).await;
}
