//! # Listening for reconnect events
//!
//! Two ways to hear about the connection's life: an `event_callback` installed before
//! connecting (it sees even the first `Connected`), and a `client.events()` stream taken
//! afterwards. The example kills the server, restarts it on the same port, and both print every
//! event: `Disconnected`, a few `ReconnectFailed`, `Reconnected`, `Resubscribed`, and finally
//! `Closed`. A third task follows `status_changes()`, and `wait_for_status` waits for the
//! reconnect.
//!
//! ```text
//! cargo run -p nats-client --example reconnect_events
//! ```

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use nats_client::{Bytes, ConnectOptions, Event, EventStream, Status};
use nats_testkit::NatsServer;

const WAIT: Duration = Duration::from_secs(5);

/// Prints events from `events` until one matches `done`, within a few seconds.
async fn until(
    events: &mut EventStream,
    done: impl Fn(&Event) -> bool,
) -> Result<(), Box<dyn std::error::Error>> {
    tokio::time::timeout(WAIT, async {
        while let Some(event) = events.next().await {
            println!("  [stream]   {event}");
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
    let start = Instant::now();

    let client = ConnectOptions::new()
        .reconnect_wait(Duration::from_millis(100))
        .reconnect_jitter(Duration::ZERO, Duration::ZERO)
        .event_callback(move |event: &Event| {
            println!(
                "  [callback] +{:>4} ms {event}",
                start.elapsed().as_millis()
            );
        })
        .connect(server.url())
        .await?;
    let mut events = client.events();

    // Status changes, as a watch channel: Connected -> Reconnecting -> Connected -> Closed.
    let mut status = client.status_changes();
    let status_task = tokio::spawn(async move {
        while status.changed().await.is_ok() {
            let now = *status.borrow_and_update();
            println!("  [status]   now {now}");
            if now == Status::Closed {
                break; // the channel itself lives as long as the client
            }
        }
    });

    let mut sub = client.subscribe("greetings").await?;
    client.flush().await?;

    println!("killing the server");
    server.kill();
    until(&mut events, |e| matches!(e, Event::ReconnectFailed { .. })).await?;
    println!("status is {}; restarting the server", client.status());
    server.restart().await?;

    // wait_for_status returns once the client is Connected again.
    if !tokio::time::timeout(WAIT, client.wait_for_status(Status::Connected)).await? {
        return Err("closed instead of reconnecting".into());
    }
    until(&mut events, |e| matches!(e, Event::Resubscribed)).await?;

    // The subscription was re-sent by the client: it works on the new server.
    client
        .publish("greetings", Bytes::from_static(b"hello again"))
        .await?;
    let msg = tokio::time::timeout(WAIT, sub.next())
        .await?
        .ok_or("subscription ended")?;
    println!(
        "subscription survived: got {:?}; {} reconnect(s) so far",
        String::from_utf8_lossy(&msg.payload),
        client.statistics().reconnects
    );

    client.close().await;
    until(&mut events, |e| matches!(e, Event::Closed { .. })).await?;
    status_task.await?;
    Ok(())
}
