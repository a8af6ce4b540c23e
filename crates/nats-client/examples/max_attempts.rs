//! # Max reconnect attempts
//!
//! `max_reconnects(Some(3))` allows three attempts per server (the default is 60); with a short
//! `reconnect_wait` and the only server gone, the client reports three `ReconnectFailed`
//! events and then `Closed` with reason `NoServers`. `max_reconnects(None)` would keep trying
//! forever (not run here).
//!
//! ```text
//! cargo run -p nats-client --example max_attempts
//! ```

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use nats_client::{ConnectOptions, ConnectionError, Event};
use nats_testkit::NatsServer;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut server = NatsServer::start().await?;
    let client = ConnectOptions::new()
        .max_reconnects(Some(3)) // None: retry forever
        .reconnect_wait(Duration::from_millis(100))
        .reconnect_jitter(Duration::ZERO, Duration::ZERO)
        .connect(server.url())
        .await?;
    let mut events = client.events();

    println!("killing the only server");
    server.kill();
    let start = Instant::now();
    let mut failed = 0;
    let reason = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(event) = events.next().await {
            println!("  +{:>3} ms {event}", start.elapsed().as_millis());
            match event {
                Event::ReconnectFailed { .. } => failed += 1,
                Event::Closed { reason } => return Some(reason),
                _ => {}
            }
        }
        None
    })
    .await?
    .ok_or("the event stream ended without Closed")?;

    println!(
        "{failed} failed attempts, then closed (NoServers: {}); status {}",
        matches!(reason, ConnectionError::NoServers),
        client.status()
    );
    if failed != 3 || !matches!(reason, ConnectionError::NoServers) {
        return Err("expected 3 failed attempts and NoServers".into());
    }
    // the last error says it too (and stays readable after the close)
    println!(
        "last error: {:?}",
        client.last_error().map(|e| e.to_string())
    );
    if !matches!(client.last_error(), Some(ConnectionError::NoServers)) {
        return Err("expected last_error() to be NoServers".into());
    }
    Ok(())
}
