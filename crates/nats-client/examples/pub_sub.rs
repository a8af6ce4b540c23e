//! # Publish / subscribe
//!
//! Subscribes with the two wildcards (`*` matches one token, `>` matches the rest) and with an
//! exact subject, publishes a few messages (one with headers), and prints which subscription
//! got what. A fourth subscription takes its messages through a handler the connection calls
//! (nats.go's `Subscribe(subject, callback)`).
//!
//! ```text
//! cargo run -p nats-client --example pub_sub
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use nats_client::{Bytes, HeaderMap, Message, Subscriber};
use nats_testkit::NatsServer;

const WAIT: Duration = Duration::from_secs(5);

/// The next message of `sub`, or an error after a few seconds.
async fn next(sub: &mut Subscriber) -> Result<Message, Box<dyn std::error::Error>> {
    tokio::time::timeout(WAIT, sub.next())
        .await?
        .ok_or_else(|| "subscription ended".into())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = NatsServer::start().await?;
    let client = nats_client::connect(server.url()).await?;
    println!("connected to {}", server.url());

    let mut one_token = client.subscribe("orders.*").await?; // orders.new, not orders.eu.new
    let mut rest = client.subscribe("orders.>").await?; // orders.new and orders.eu.new
    let mut exact = client.subscribe("orders.new").await?;
    let counted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&counted);
    let handler = client
        .subscribe_with_handler("orders.>", move |msg| {
            // Runs on the connection's task: short and non-blocking.
            counter.fetch_add(1, Ordering::Relaxed);
            println!("handler    got {}", msg.subject.as_str());
        })
        .await?;

    client
        .publish("orders.new", Bytes::from_static(b"order 1"))
        .await?;
    client
        .publish("orders.eu.new", Bytes::from_static(b"order 2"))
        .await?;

    let mut headers = HeaderMap::new();
    headers.insert("Trace-Id", "abc123")?;
    headers.insert("Priority", "high")?;
    client
        .publish_with_headers("orders.new", headers, Bytes::from_static(b"order 3"))
        .await?;
    client.flush().await?; // the server has all three

    for (name, sub, expected) in [
        ("orders.*  ", &mut one_token, 2),
        ("orders.>  ", &mut rest, 3),
        ("orders.new", &mut exact, 2),
    ] {
        for _ in 0..expected {
            let msg = next(sub).await?;
            let trace = msg
                .headers
                .as_ref()
                .and_then(|h| h.get("Trace-Id"))
                .map(|t| format!(" [Trace-Id: {t}]"))
                .unwrap_or_default();
            println!(
                "{name} got {:<14} {:?}{trace}",
                msg.subject.as_str(),
                String::from_utf8_lossy(&msg.payload),
            );
        }
        println!("{name} {} still pending", sub.pending());
    }
    // The flush above returned after the server's PONG, read after every message before it.
    let handled = counted.load(Ordering::Relaxed);
    println!("handler    called {handled} times");
    if handled != 3 {
        return Err(format!("the handler saw {handled} messages, expected 3").into());
    }
    drop(handler); // unsubscribes

    client.drain().await?;
    println!("drained, status {}", client.status());
    Ok(())
}
