//! # Custom delay / jitter
//!
//! How long the client waits between reconnect attempts. By default it waits `reconnect_wait`
//! plus a random jitter below `reconnect_jitter(plain, tls)` (the second bound applies to TLS
//! connections). A `reconnect_delay_callback(|pass| ...)` replaces both: it gets the pass
//! count 1, 2, 3… and its result is slept verbatim, here an exponential backoff capped at
//! 400 ms. With the server down, the example prints each `ReconnectFailed` event and the time
//! since the previous event.
//!
//! ```text
//! cargo run -p nats-client --example custom_delay
//! ```

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use nats_client::{ConnectOptions, Event};
use nats_testkit::NatsServer;

const FAILURES: usize = 5;

/// Connects with `options`, kills the server, prints `FAILURES` failed attempts with their
/// spacing, then closes the client and restarts the server for the next run.
async fn show(
    server: &mut NatsServer,
    options: ConnectOptions,
) -> Result<(), Box<dyn std::error::Error>> {
    let client = options.connect(server.url()).await?;
    let mut events = client.events();
    server.kill();
    let mut last = Instant::now();
    let mut failures = 0;
    tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(event) = events.next().await {
            let gap = last.elapsed();
            last = Instant::now();
            match event {
                Event::Disconnected { .. } => println!("  disconnected"),
                Event::ReconnectFailed { attempt, .. } => {
                    println!(
                        "  attempt {attempt} failed {:>4} ms after the previous event",
                        gap.as_millis()
                    );
                    failures += 1;
                    if failures == FAILURES {
                        break;
                    }
                }
                other => println!("  {other}"),
            }
        }
    })
    .await?;
    client.close().await;
    server.restart().await?;
    Ok(())
}

/// Exponential backoff: 50 ms, 100 ms, 200 ms, then 400 ms for every later pass.
fn backoff(pass: u32) -> Duration {
    Duration::from_millis(50)
        .saturating_mul(2u32.saturating_pow(pass.saturating_sub(1)))
        .min(Duration::from_millis(400))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut server = NatsServer::start().await?;

    println!("reconnect_wait 200 ms + jitter below 50 ms (500 ms with TLS):");
    show(
        &mut server,
        ConnectOptions::new()
            .reconnect_wait(Duration::from_millis(200))
            .reconnect_jitter(Duration::from_millis(50), Duration::from_millis(500)),
    )
    .await?;

    println!("reconnect_delay_callback: 50 ms doubling per pass, capped at 400 ms:");
    show(
        &mut server,
        ConnectOptions::new().reconnect_delay_callback(backoff),
    )
    .await?;
    Ok(())
}
