//! Drains that the first core wedged: a subscriber that read several messages in one batch
//! before the drain (the README's first examples timed out), and a drain whose future is
//! dropped (the client stayed Draining for good).

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use nats_client::{DrainError, Event, Status};
use nats_testkit::NatsServer;

use crate::util::{eventually, fast, next_msg, poll_once, wait_event, within};

/// R113: messages that arrived in one read and were all read before `drain()` count as
/// consumed: the drain completes at once instead of timing out.
#[tokio::test]
async fn drain_after_reading_a_batch_completes() {
    let server = NatsServer::start().await.unwrap();
    let client = fast()
        .drain_timeout(Duration::from_secs(30))
        .connect(server.url())
        .await
        .unwrap();
    let mut sub = client.subscribe("batch").await.unwrap();
    client.flush().await.unwrap();
    for i in 0..20 {
        client
            .publish("batch", Bytes::from(i.to_string()))
            .await
            .unwrap();
    }
    for _ in 0..20 {
        next_msg(&mut sub).await;
    }
    within_secs(5, client.drain()).await.unwrap();
    assert_eq!(client.status(), Status::Closed);
    assert!(sub.next().await.is_none(), "the stream ended");
}

/// A drain whose future is dropped keeps draining: the client ends Closed once the consumer
/// has read what arrived, and a later `drain()` returns that same drain's result.
#[tokio::test]
async fn a_dropped_drain_keeps_draining() {
    let server = NatsServer::start().await.unwrap();
    let client = fast()
        .drain_timeout(Duration::from_secs(30))
        .connect(server.url())
        .await
        .unwrap();
    let mut events = client.events();
    let mut sub = client.subscribe("slow").await.unwrap();
    client.flush().await.unwrap();
    for i in 0..3 {
        client
            .publish("slow", Bytes::from(i.to_string()))
            .await
            .unwrap();
    }
    client.flush().await.unwrap();
    eventually("delivered", || sub.pending() == 3).await;
    // A caller's timeout fires: the drain future is gone, the drain is not.
    assert!(
        tokio::time::timeout(Duration::from_millis(50), client.drain())
            .await
            .is_err()
    );
    poll_once(client.drain()).await;
    assert_eq!(client.status(), Status::Draining);
    for _ in 0..3 {
        next_msg(&mut sub).await;
    }
    assert!(within_secs(5, sub.next()).await.is_none());
    within("closed", client.wait_for_status(Status::Closed)).await;
    assert_eq!(within("drain result", client.drain()).await, Ok(()));
    let seen = wait_event(&mut events, |e| matches!(e, Event::Closed { .. })).await;
    assert_eq!(
        seen.iter()
            .filter(|e| matches!(e, Event::Closed { .. }))
            .count(),
        1
    );
    assert!(matches!(
        client.publish("slow", Bytes::new()).await,
        Err(nats_client::PublishError::Closed)
    ));
}

/// Two drains at once wait for the same drain; a drain of a closed client says Closed.
#[tokio::test]
async fn concurrent_drains_share_one_outcome() {
    let server = NatsServer::start().await.unwrap();
    let client = fast().connect(server.url()).await.unwrap();
    let _sub = client.subscribe("x").await.unwrap();
    client.flush().await.unwrap();
    let (a, b) = tokio::join!(client.drain(), client.drain());
    assert_eq!((a, b), (Ok(()), Ok(())));
    let closed = fast().connect(server.url()).await.unwrap();
    closed.close().await;
    assert_eq!(closed.drain().await, Err(DrainError::Closed));
}

async fn within_secs<T>(secs: u64, f: impl std::future::Future<Output = T>) -> T {
    crate::wait::within_for(Duration::from_secs(secs), "a drain step", f).await
}
