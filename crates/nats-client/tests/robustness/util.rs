//! Helpers: a client that must still work, and polling a future exactly once.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use nats_client::{Client, ConnectOptions};

pub(crate) use crate::wait::{eventually, next_msg, wait_event, within};

/// Fast reconnects, no jitter.
pub(crate) fn fast() -> ConnectOptions {
    ConnectOptions::new()
        .reconnect_wait(Duration::from_millis(50))
        .reconnect_jitter(Duration::ZERO, Duration::ZERO)
        .connection_timeout(Duration::from_secs(1))
        .max_reconnects(None)
}

/// Polls `fut` once and drops it (a caller's `timeout` firing right after the first poll).
pub(crate) async fn poll_once<F: Future>(fut: F) {
    let _ = tokio::time::timeout(Duration::ZERO, fut).await;
}

/// The client still publishes, subscribes, requests and flushes.
pub(crate) async fn assert_usable(client: &Client) {
    let subject = client.new_inbox();
    let mut sub = within("subscribe", client.subscribe(&subject))
        .await
        .unwrap();
    within("flush", client.flush()).await.unwrap();
    client
        .publish(&subject, Bytes::from_static(b"still here"))
        .await
        .unwrap();
    assert_eq!(next_msg(&mut sub).await.payload, "still here");
    let responder_subject = client.new_inbox();
    let mut responder = client.subscribe(&responder_subject).await.unwrap();
    let c = client.clone();
    let answering = tokio::spawn(async move {
        let req = next_msg(&mut responder).await;
        c.publish(req.reply.unwrap(), Bytes::from_static(b"pong"))
            .await
            .unwrap();
    });
    let reply = within("request", client.request(&responder_subject, Bytes::new()))
        .await
        .unwrap();
    assert_eq!(reply.payload, "pong");
    answering.await.unwrap();
}

/// The client still drains and closes, and says so.
pub(crate) async fn assert_drains_and_closes(client: &Client) {
    within("drain", client.drain()).await.unwrap();
    assert_eq!(client.status(), nats_client::Status::Closed);
    within("close", client.close()).await;
}
