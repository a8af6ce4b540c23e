//! # Buffering during reconnect
//!
//! While the connection is down, `publish` succeeds and the message waits in the reconnect
//! buffer (`client.buffered()` shows its fill); after the reconnect the subscriptions are re-sent
//! first, then the buffer, so a subscriber receives every message published during the
//! outage. The buffer has a limit (`reconnect_buffer_size`, default 8 MiB): past it a publish
//! fails with `PublishError::ReconnectBufferFull`, and with `reconnect_buffer_size(None)` a
//! publish while disconnected fails at once.
//!
//! ```text
//! cargo run -p nats-client --example buffering
//! ```

use std::time::Duration;

use futures_util::StreamExt;
use nats_client::{Bytes, Client, ConnectOptions, PublishError, Status};
use nats_testkit::NatsServer;

const WAIT: Duration = Duration::from_secs(5);

fn options() -> ConnectOptions {
    ConnectOptions::new()
        .reconnect_wait(Duration::from_millis(100))
        .reconnect_jitter(Duration::ZERO, Duration::ZERO)
}

/// Waits until `client` has noticed the outage.
async fn until_reconnecting(client: &Client) -> Result<(), Box<dyn std::error::Error>> {
    if tokio::time::timeout(WAIT, client.wait_for_status(Status::Reconnecting)).await? {
        Ok(())
    } else {
        Err("closed instead of reconnecting".into())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut server = NatsServer::start().await?;

    // 1. Publishes during an outage are buffered and delivered after the reconnect.
    let client = options().connect(server.url()).await?;
    let mut sub = client.subscribe("metrics").await?;
    client.flush().await?;

    println!("killing the server");
    server.kill();
    until_reconnecting(&client).await?;
    for n in 1..=5 {
        client
            .publish("metrics", Bytes::from(format!("reading {n}")))
            .await?;
        println!(
            "published reading {n} while {}: {} bytes buffered",
            client.status(),
            client.buffered()
        );
    }

    server.restart().await?;
    if !tokio::time::timeout(WAIT, client.wait_for_status(Status::Connected)).await? {
        return Err("closed instead of reconnecting".into());
    }
    client.flush().await?;
    println!(
        "server restarted, reconnected: {} bytes buffered",
        client.buffered()
    );
    for _ in 1..=5 {
        let msg = tokio::time::timeout(WAIT, sub.next())
            .await?
            .ok_or("subscription ended")?;
        println!("subscriber got {:?}", String::from_utf8_lossy(&msg.payload));
    }
    client.close().await;

    // 2. A tiny buffer fills up; 3. no buffer refuses every publish while disconnected.
    let tiny = options()
        .reconnect_buffer_size(Some(100))
        .connect(server.url())
        .await?;
    let unbuffered = options()
        .reconnect_buffer_size(None)
        .connect(server.url())
        .await?;
    println!("killing the server again");
    server.kill();
    until_reconnecting(&tiny).await?;
    until_reconnecting(&unbuffered).await?;

    let payload = Bytes::from_static(b"0123456789012345678901234567890123456789"); // 40 bytes
    let mut accepted = 0;
    loop {
        match tiny.publish("metrics", payload.clone()).await {
            Ok(()) => accepted += 1,
            Err(e @ PublishError::ReconnectBufferFull { .. }) => {
                println!(
                    "buffer of 100 bytes: {accepted} publishes accepted ({} bytes buffered), \
                     then: {e}",
                    tiny.buffered()
                );
                break;
            }
            Err(e) => return Err(e.into()),
        }
    }

    match unbuffered.publish("metrics", payload).await {
        Err(e @ PublishError::ReconnectBufferFull { limit: 0 }) => {
            println!("no buffer: the first publish while disconnected fails: {e}");
        }
        other => return Err(format!("expected ReconnectBufferFull, got {other:?}").into()),
    }

    tiny.close().await;
    unbuffered.close().await;
    Ok(())
}
