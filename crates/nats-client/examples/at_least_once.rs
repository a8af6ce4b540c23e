//! # At-least-once publishing
//!
//! Core NATS is at-most-once: what a dying connection's socket buffers held is lost, with no
//! error for the publisher. With `ConnectOptions::at_least_once(true)` the client keeps every
//! publish until the server has confirmed it (the PONG of a later PING), and after a reconnect
//! sends the unconfirmed ones again, before the reconnect buffer. Nothing is lost; a message
//! the server had processed but not yet confirmed may arrive twice (counted here). With
//! `message_ids(true)` every publish carries an id, and a subscription made with
//! `.dedup(window)` drops those copies: it receives each message once.
//!
//! The program publishes 20,000 numbered 1 KiB messages while its server is killed (-9) and
//! restarted on the same port, and checks that its own subscriptions received every number:
//! a plain one (with the copies) and a deduplicating one (each once, in order).
//!
//! ```text
//! cargo run -p nats-client --example at_least_once
//! ```

use std::collections::HashMap;
use std::time::Duration;

use futures_util::StreamExt;
use nats_client::{Bytes, Client, ConnectOptions, Event, FlushError, PublishError, Status};
use nats_testkit::NatsServer;

const TOTAL: u64 = 20_000;
const WAIT: Duration = Duration::from_secs(30);

/// Publishes `0..TOTAL`; a publish refused while the reconnect buffer is full waits for the
/// reconnect and is tried again.
async fn publish_all(client: Client) -> Result<(), PublishError> {
    for id in 0..TOTAL {
        let mut payload = format!("{id:010}").into_bytes();
        payload.resize(1024, b'.');
        let payload = Bytes::from(payload);
        loop {
            match client.publish("readings", payload.clone()).await {
                Ok(()) => break,
                Err(PublishError::ReconnectBufferFull { .. }) => {
                    client.wait_for_status(Status::Connected).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut server = NatsServer::start().await?;
    let client = ConnectOptions::new()
        .at_least_once(true)
        .message_ids(true)
        .reconnect_wait(Duration::from_millis(50))
        .reconnect_jitter(Duration::ZERO, Duration::ZERO)
        .max_reconnects(None)
        .event_callback(|event: &Event| {
            if matches!(
                event,
                Event::Disconnected { .. } | Event::Reconnected | Event::Resent { .. }
            ) {
                println!("event: {event}");
            }
        })
        .connect(server.url())
        .await?;
    let mut sub = client.subscribe("readings").await?;
    sub.set_pending_limits(1_000_000, 1 << 30);
    let mut once = client
        .subscribe("readings")
        .await?
        .dedup(Duration::from_secs(60));
    once.set_pending_limits(1_000_000, 1 << 30);
    client.flush().await?;

    let publisher = tokio::spawn(publish_all(client.clone()));
    // Kill the server a quarter of the way in, with publishes in its socket buffers.
    tokio::time::timeout(WAIT, async {
        while client.statistics().out_msgs < TOTAL / 4 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await?;
    println!("killing the server (-9) mid-burst, then restarting it");
    server.kill();
    server.restart().await?;
    tokio::time::timeout(WAIT, publisher).await???;
    // Confirmed: the server has handled every publish, and this connection's copies of them
    // arrived before the PONG. A flush whose PING went out on the dying connection fails with
    // `Disconnected`; it is asked again once the client is back.
    loop {
        match client.flush().await {
            Ok(()) => break,
            Err(FlushError::Disconnected) => {
                client.wait_for_status(Status::Connected).await;
            }
            Err(e) => return Err(e.into()),
        }
    }

    let mut seen: HashMap<u64, u32> = HashMap::new();
    while sub.pending() > 0 {
        let Some(msg) = sub.next().await else { break };
        let id: u64 = std::str::from_utf8(&msg.payload[..10])?.parse()?;
        *seen.entry(id).or_default() += 1;
    }
    let lost = (0..TOTAL).filter(|id| !seen.contains_key(id)).count();
    let duplicates: u32 = seen.values().map(|n| n - 1).sum();
    let stats = client.statistics();
    println!(
        "published {TOTAL}, received {} distinct, lost {lost}, duplicates {duplicates}, \
         re-sent {} after {} reconnect(s)",
        seen.len(),
        stats.resent_messages,
        stats.reconnects
    );
    // The deduplicating subscription: every number once, in order.
    for expected in 0..TOTAL {
        let msg = tokio::time::timeout(WAIT, once.next())
            .await?
            .ok_or("the subscription ended")?;
        let id: u64 = std::str::from_utf8(&msg.payload[..10])?.parse()?;
        if id != expected {
            return Err(format!("dedup: got {id}, expected {expected}").into());
        }
    }
    println!(
        "with dedup: received {TOTAL} once each, {} copies dropped",
        once.duplicates()
    );
    client.close().await;
    if lost > 0 {
        return Err(format!("{lost} messages lost").into());
    }
    Ok(())
}
