//! # Lame duck mode
//!
//! A server shutting down gracefully first enters lame duck mode: it stops accepting, tells its
//! clients (`INFO {"ldm":true}`, reported as `Event::LameDuckMode`), waits a grace period, then
//! closes them. On a 3-node cluster with a 300 ms grace period:
//!
//! 1. By default the client stays connected on `LameDuckMode` and reconnects to another node
//!    when the server closes the connection (as nats.go does).
//! 2. With the opt-in `lame_duck_reconnect(Some(window))` the client leaves by itself at a
//!    random moment within `window` (`Disconnected: leaving a server in lame duck mode`), before
//!    the grace period ends; a publisher doing that move loses no message.
//!
//! ```text
//! cargo run -p nats-client --example lame_duck
//! ```

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use nats_client::{Bytes, ConnectOptions, Event};
use nats_testkit::{Cluster, ServerConfig};

const WAIT: Duration = Duration::from_secs(5);

/// Options that print every event (except server discovery) with the time since `start`.
fn options(name: &'static str, start: Instant) -> ConnectOptions {
    ConnectOptions::new()
        .no_randomize(true)
        .reconnect_wait(Duration::from_millis(50))
        .reconnect_jitter(Duration::ZERO, Duration::ZERO)
        .event_callback(move |event: &Event| {
            if !matches!(event, Event::DiscoveredServers) {
                println!("  [{name}] +{:>4} ms {event}", start.elapsed().as_millis());
            }
        })
}

/// The client port at the end of a `nats://host:port` URL.
fn port(url: Option<String>) -> String {
    url.and_then(|u| u.rsplit(':').next().map(str::to_string))
        .unwrap_or_else(|| "-".to_string())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cluster = Cluster::start_with(
        3,
        ServerConfig::new().lame_duck(Duration::from_millis(300), Duration::from_secs(30)),
    )
    .await?;
    let urls = cluster.urls();
    println!("cluster nodes: {}", urls.join(", "));

    // 1. Default: stay until the server closes the connection, then reconnect elsewhere.
    println!("1. default client on node 0; node 0 enters lame duck mode:");
    let start = Instant::now();
    let client = options("default", start).connect(urls.clone()).await?;
    let mut events = client.events();
    cluster.node(0).lame_duck()?;
    tokio::time::timeout(WAIT, async {
        while let Some(event) = events.next().await {
            match event {
                Event::LameDuckMode => {
                    println!("  status on LameDuckMode: {}", client.status());
                }
                Event::Reconnected => break,
                _ => {}
            }
        }
    })
    .await?;
    println!("  now on port {}", port(client.connected_url()));
    client.close().await;
    while events.next().await.is_some() {} // let the callback print the last events

    // 2. lame_duck_reconnect: leave within the window, before the grace period, losing nothing.
    println!("2. lame_duck_reconnect(Some(100 ms)) publisher on node 1; node 1 enters lame duck:");
    let watcher = ConnectOptions::new().connect(cluster.node(2).url()).await?;
    let mut sub = watcher.subscribe("moves").await?;
    watcher.flush().await?;

    let start = Instant::now();
    let publisher = options("publisher", start)
        .lame_duck_reconnect(Some(Duration::from_millis(100)))
        .connect(vec![cluster.node(1).url(), cluster.node(2).url()])
        .await?;
    // Make sure the watcher's interest has reached node 1 before counting.
    publisher.publish("moves", Bytes::from_static(b"0")).await?;
    tokio::time::timeout(WAIT, sub.next())
        .await?
        .ok_or("watcher subscription ended")?;

    cluster.node(1).lame_duck()?;
    let mut seq = 0u64;
    tokio::time::timeout(WAIT, async {
        // Publish steadily until the move is done, and a little after.
        while publisher.statistics().reconnects == 0 || seq < 50 {
            seq += 1;
            publisher
                .publish("moves", Bytes::from(seq.to_string()))
                .await?;
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok::<(), nats_client::PublishError>(())
    })
    .await??;
    publisher.flush().await?;
    println!(
        "  publisher now on port {} (node 2 is {}), published {seq} messages",
        port(publisher.connected_url()),
        cluster.node(2).port()
    );

    let mut got = HashSet::new();
    tokio::time::timeout(WAIT, async {
        while got.len() < seq as usize {
            let Some(msg) = sub.next().await else { break };
            if let Ok(n) = String::from_utf8_lossy(&msg.payload).parse::<u64>() {
                got.insert(n);
            }
        }
    })
    .await?;
    println!(
        "  watcher received {} of {seq} distinct messages",
        got.len()
    );
    if got.len() != seq as usize {
        return Err("messages were lost during the move".into());
    }

    let mut events = publisher.events();
    publisher.close().await;
    while events.next().await.is_some() {}
    watcher.close().await;
    Ok(())
}
