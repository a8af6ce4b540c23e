//! # Drain
//!
//! Draining is the graceful way to stop. `Subscriber::drain()` unsubscribes one subscription
//! but keeps the messages it already received: the stream yields them, then ends, and the
//! client stays connected. `client.drain()` does that for every subscription, waits until the
//! consumers have taken what was received, flushes what was published, and closes the client
//! (`Closed: drained`).
//!
//! ```text
//! cargo run -p nats-client --example drain
//! ```

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use nats_client::{Bytes, Client, Subscriber};
use nats_testkit::NatsServer;

/// Publishes `n` messages to `subject` and waits until the server has processed them (the
/// messages for this client's own subscriptions are then received too).
async fn publish(client: &Client, subject: &str, n: u32) -> Result<(), Box<dyn std::error::Error>> {
    for i in 1..=n {
        client
            .publish(subject, Bytes::from(format!("{subject} {i}")))
            .await?;
    }
    client.flush().await?;
    Ok(())
}

/// A slow consumer: 20 ms per message, until the stream ends.
async fn consume(mut sub: Subscriber) -> usize {
    let mut n = 0;
    while sub.next().await.is_some() {
        tokio::time::sleep(Duration::from_millis(20)).await;
        n += 1;
    }
    n
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = NatsServer::start().await?;
    let client = nats_client::connect(server.url()).await?;

    // 1. Subscriber::drain: one subscription ends, the client stays.
    let mut sub = client.subscribe("tasks").await?;
    publish(&client, "tasks", 3).await?;
    println!(
        "subscription has {} messages pending; draining it",
        sub.pending()
    );
    sub.drain().await?;
    publish(&client, "tasks", 2).await?; // after the drain: not delivered to it
    let mut taken = Vec::new();
    while let Some(msg) = tokio::time::timeout(Duration::from_secs(5), sub.next()).await? {
        taken.push(String::from_utf8_lossy(&msg.payload).into_owned());
    }
    println!("the drained subscription yielded {taken:?}, then ended");
    println!("client status: {}", client.status());

    // 2. client.drain: every subscription, then close.
    let a = client.subscribe("orders").await?;
    let b = client.subscribe("invoices").await?;
    publish(&client, "orders", 5).await?;
    publish(&client, "invoices", 5).await?;
    let consumers = (tokio::spawn(consume(a)), tokio::spawn(consume(b)));
    let mut events = client.events();

    let started = Instant::now();
    client.drain().await?;
    println!(
        "client.drain() returned after {} ms, once the consumers had taken their messages",
        started.elapsed().as_millis()
    );
    let (orders, invoices) = (consumers.0.await?, consumers.1.await?);
    println!(
        "the consumers processed all of them: {orders} orders, {invoices} invoices; status {}",
        client.status()
    );
    while let Some(event) = tokio::time::timeout(Duration::from_secs(5), events.next()).await? {
        println!("event: {event}");
    }
    match client.publish("orders", Bytes::new()).await {
        Err(e) => println!("publish after drain: {e}"),
        Ok(()) => return Err("publish succeeded after drain".into()),
    }
    Ok(())
}
