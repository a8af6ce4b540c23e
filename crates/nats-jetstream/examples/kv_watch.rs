//! # A Key-Value watch that survives a server restart
//!
//! A watch on a bucket (file storage) delivers the current values, says when it is in sync,
//! then live updates. The server is killed (kill -9) and started again on the same port while
//! the watch is not being read, and more values are written right after; the watch resumes
//! from the last revision it delivered. The program checks that every revision arrives once
//! and in order, and exits non-zero otherwise.
//!
//! ```text
//! cargo run -p nats-jetstream --example kv_watch
//! ```

use std::time::Duration;

use nats_client::ConnectOptions;
use nats_jetstream::kv::{self, WatchEvent};
use nats_testkit::NatsServer;

const WAIT: Duration = Duration::from_secs(20);

/// The next event, or an error after `WAIT`.
async fn next(watch: &mut kv::Watch) -> Result<WatchEvent, Box<dyn std::error::Error>> {
    Ok(tokio::time::timeout(WAIT, watch.next_event())
        .await?
        .ok_or("the watch ended")??)
}

/// Reads revisions `from..=to` and checks each: revision `i` is `tick-<i>` under `tick.<i>`.
async fn expect(
    watch: &mut kv::Watch,
    from: u64,
    to: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    for i in from..=to {
        match next(watch).await? {
            WatchEvent::Entry(e)
                if e.revision == i
                    && e.key == format!("tick.{i}")
                    && e.value == format!("tick-{i}") =>
            {
                if i % 5 == 0 {
                    println!("  revision {i}: {} = {:?}", e.key, e.value);
                }
            }
            other => return Err(format!("expected revision {i}, got {other:?}").into()),
        }
    }
    Ok(())
}

async fn put(store: &kv::Store, from: u64, to: u64) -> Result<(), Box<dyn std::error::Error>> {
    for i in from..=to {
        let revision = store
            .put(format!("tick.{i}"), format!("tick-{i}").into())
            .await?;
        if revision != i {
            return Err(format!("put {i} stored as revision {revision}").into());
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut server = NatsServer::start_jetstream().await?;
    let options = || {
        ConnectOptions::new()
            .reconnect_wait(Duration::from_millis(50))
            .max_reconnects(None)
    };
    let js = nats_jetstream::new(options().connect(server.url()).await?);
    let store = js
        .create_key_value(kv::Config {
            bucket: "ticks".into(),
            history: 5,
            ..Default::default()
        })
        .await?;
    put(&store, 1, 5).await?;

    let mut watch = store.watch("tick.>").await?;
    println!("initial values:");
    expect(&mut watch, 1, 5).await?;
    match next(&mut watch).await? {
        WatchEvent::InSync => println!("-- in sync; live updates from here --"),
        other => return Err(format!("expected the in-sync marker, got {other:?}").into()),
    }
    put(&store, 6, 10).await?;
    expect(&mut watch, 6, 10).await?;

    println!(
        "-- kill -9 the server, restart it on port {} --",
        server.port()
    );
    server.kill();
    server.restart().await?;
    server.wait_for_jetstream().await?;
    put(&store, 11, 20).await?;
    println!("resumed:");
    expect(&mut watch, 11, 20).await?;
    put(&store, 21, 21).await?;
    expect(&mut watch, 21, 21).await?;
    println!("revisions 1..=21 each seen once, in order, across the restart");
    Ok(())
}
