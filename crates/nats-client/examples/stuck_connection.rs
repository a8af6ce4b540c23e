//! # A connection that stops taking bytes
//!
//! A server (or a link) that stops reading looks alive: nothing breaks, the client's writes
//! just stop going anywhere. Pings would notice after (max_pings_out + 1) × ping_interval;
//! `flusher_timeout` notices sooner: when bytes wait and the socket takes none of them for
//! that long, the connection is given up with `ConnectionError::WriteTimeout`, and the client
//! reconnects. Here a fault proxy between client and server goes silent in the middle of a
//! publish burst (pings are set to an hour, so only the write deadline can see it); once the
//! proxy passes again the client is back, and `client.last_error()` still says what happened.
//!
//! ```text
//! cargo run -p nats-client --example stuck_connection
//! ```

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use nats_client::{Bytes, ConnectOptions, ConnectionError, Event};
use nats_testkit::{Fault, FaultProxy, NatsServer};

const WAIT: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = NatsServer::start().await?;
    let proxy = FaultProxy::start(server.addr()).await?;
    let client = ConnectOptions::new()
        .ping_interval(Duration::from_secs(3600))
        .flusher_timeout(Duration::from_millis(300))
        .connection_timeout(Duration::from_millis(300))
        .reconnect_wait(Duration::from_millis(50))
        .reconnect_jitter(Duration::ZERO, Duration::ZERO)
        .connect(proxy.url())
        .await?;
    let mut events = client.events();

    println!("the link goes silent; publishing 64 MB into it");
    proxy.set_fault(Fault::BlackHole);
    let start = Instant::now();
    let publisher = {
        let client = client.clone();
        tokio::spawn(async move {
            let payload = Bytes::from(vec![b'x'; 64 * 1024]);
            for _ in 0..1000 {
                // waits under back-pressure; refused once the reconnect buffer is full
                if client.publish("burst", payload.clone()).await.is_err() {
                    break;
                }
            }
        })
    };
    let error = tokio::time::timeout(WAIT, async {
        while let Some(event) = events.next().await {
            if let Event::Disconnected { error } = event {
                return Some(error);
            }
        }
        None
    })
    .await?
    .ok_or("the event stream ended")?;
    println!(
        "  +{} ms disconnected: {error}",
        start.elapsed().as_millis()
    );
    if !matches!(error, ConnectionError::WriteTimeout(_)) {
        return Err(format!("expected a write timeout, got {error}").into());
    }

    println!("the link passes again");
    proxy.set_fault(Fault::Pass);
    tokio::time::timeout(WAIT, async {
        while let Some(event) = events.next().await {
            if matches!(event, Event::Reconnected) {
                break;
            }
        }
    })
    .await?;
    tokio::time::timeout(WAIT, publisher).await??;
    client.flush().await?;
    println!(
        "  +{} ms reconnected; last error: {}",
        start.elapsed().as_millis(),
        client
            .last_error()
            .map_or_else(|| "none".to_string(), |e| e.to_string())
    );
    if !matches!(client.last_error(), Some(ConnectionError::WriteTimeout(_))) {
        return Err("last_error should name the write timeout".into());
    }
    client.close().await;
    Ok(())
}
