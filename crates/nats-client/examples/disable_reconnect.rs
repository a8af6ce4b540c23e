//! # Disable reconnect
//!
//! With `allow_reconnect(false)` a lost connection is not re-established: the client emits
//! `Disconnected`, then `Closed`, and every later call fails with a `Closed` error. An explicit
//! `force_reconnect()` still works while the connection is up.
//!
//! ```text
//! cargo run -p nats-client --example disable_reconnect
//! ```

use std::time::Duration;

use futures_util::StreamExt;
use nats_client::{Bytes, ConnectOptions, Event, EventStream};
use nats_testkit::NatsServer;

/// Prints events until one matches `done`, within a few seconds.
async fn until(
    events: &mut EventStream,
    done: impl Fn(&Event) -> bool,
) -> Result<(), Box<dyn std::error::Error>> {
    tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(event) = events.next().await {
            println!("  event: {event}");
            if done(&event) {
                return Ok(());
            }
        }
        Err("the event stream ended".into())
    })
    .await?
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut server = NatsServer::start().await?;
    let client = ConnectOptions::new()
        .allow_reconnect(false)
        .connect(server.url())
        .await?;
    let mut events = client.events();
    println!("connected, allow_reconnect(false)");

    println!("force_reconnect() while connected:");
    client.force_reconnect().await?;
    until(&mut events, |e| matches!(e, Event::Reconnected)).await?;
    client.flush().await?;
    println!("status {}, the forced reconnect worked", client.status());

    println!("killing the server:");
    server.kill();
    until(&mut events, |e| matches!(e, Event::Closed { .. })).await?;
    println!(
        "status {}, closed_reason: {}",
        client.status(),
        client
            .closed_reason()
            .map(|r| r.to_string())
            .unwrap_or_default()
    );

    match client.publish("anything", Bytes::new()).await {
        Err(e) => println!("publish after close: {e}"),
        Ok(()) => return Err("publish succeeded on a closed client".into()),
    }
    Ok(())
}
