//! Helpers: deadlines, raw `$SRV` requests, a one-line service.

#![allow(dead_code)]

use std::time::Duration;

use nats_client::service::{Discovery, Service};
use nats_client::{Bytes, Client, ConnectOptions};
use serde_json::Value;

#[path = "../common/wait.rs"]
mod wait;

#[allow(unused_imports)]
pub(crate) use wait::{eventually, next_msg, wait_event, within, DEADLINE};

/// Options for fast reconnects: 50 ms wait, no jitter.
pub(crate) fn fast() -> ConnectOptions {
    ConnectOptions::new()
        .reconnect_wait(Duration::from_millis(50))
        .reconnect_jitter(Duration::ZERO, Duration::ZERO)
        .connection_timeout(Duration::from_secs(1))
        .max_reconnects(None)
}

/// Discovery that stops once `n` answers arrived, with a stall long enough that an extra
/// answer from a local server would be seen.
pub(crate) fn expect(client: &Client, n: usize) -> Discovery {
    Discovery::new(client)
        .timeout(Duration::from_secs(10))
        .stall(Duration::from_millis(500))
        .max_responses(n + 1)
}

/// Every JSON answer to a request on `subject`, gathered as [`expect`] does.
pub(crate) async fn ask(client: &Client, subject: &str, n: usize) -> Vec<Value> {
    use futures_util::StreamExt;
    let inbox = client.new_inbox();
    let mut replies = client.subscribe(&inbox).await.unwrap();
    client
        .publish_with_reply(subject, &inbox, Bytes::new())
        .await
        .unwrap();
    let mut out = Vec::new();
    while out.len() < n {
        let msg = within("a discovery answer", replies.next()).await.unwrap();
        out.push(serde_json::from_slice(&msg.payload).unwrap());
    }
    // Nothing more within a short stall: the answers were exactly `n`.
    let extra = tokio::time::timeout(Duration::from_millis(300), replies.next()).await;
    assert!(
        extra.is_err(),
        "more than {n} answers on {subject}: {extra:?}"
    );
    out
}

/// A started service `name` 1.0.0 on `client`, its subscriptions known to the server.
pub(crate) async fn service(client: &Client, name: &str) -> Service {
    let s = Service::builder(name, "1.0.0").start(client).await.unwrap();
    client.flush().await.unwrap();
    s
}

/// An echo handler endpoint `name` on `service`, known to the server.
pub(crate) async fn echo(service: &Service, name: &str) {
    service
        .endpoint(name)
        .handler(|r| async move {
            let _ = r.respond(r.payload().clone()).await;
        })
        .await
        .unwrap();
    service.client().flush().await.unwrap();
}

/// The sorted keys of a JSON object.
pub(crate) fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}
