//! # Queue groups
//!
//! Two members of the queue group `workers` subscribe to `jobs`; the server hands each
//! published message to exactly one of them, so together they see every job once. A plain
//! subscriber next to them still sees every message.
//!
//! ```text
//! cargo run -p nats-client --example queue_groups
//! ```

use std::collections::BTreeSet;
use std::time::Duration;

use futures_util::StreamExt;
use nats_client::{Bytes, Subscriber};
use nats_testkit::NatsServer;

const JOBS: usize = 20;

/// Takes messages from `sub` until the stream ends, returning the job numbers.
async fn work(name: &'static str, mut sub: Subscriber) -> Vec<u32> {
    let mut done = Vec::new();
    while let Some(msg) = sub.next().await {
        if let Ok(n) = String::from_utf8_lossy(&msg.payload).parse() {
            done.push(n);
        }
    }
    println!("{name} handled {:>2} jobs: {done:?}", done.len());
    done
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = NatsServer::start().await?;
    // Members usually live in different processes; two clients make that visible.
    let worker_a = nats_client::connect(server.url()).await?;
    let worker_b = nats_client::connect(server.url()).await?;
    let publisher = nats_client::connect(server.url()).await?;

    let a = tokio::spawn(work(
        "worker a",
        worker_a.queue_subscribe("jobs", "workers").await?,
    ));
    let b = tokio::spawn(work(
        "worker b",
        worker_b.queue_subscribe("jobs", "workers").await?,
    ));
    let mut audit = publisher.subscribe("jobs").await?; // not in the group: sees everything
    worker_a.flush().await?;
    worker_b.flush().await?;
    publisher.flush().await?;

    for n in 1..=JOBS {
        publisher
            .publish("jobs", Bytes::from(n.to_string()))
            .await?;
    }
    publisher.flush().await?;

    // The audit subscriber sees all of them; once it has, the members have theirs too
    // (the server delivered them before answering the flush).
    for _ in 0..JOBS {
        tokio::time::timeout(Duration::from_secs(5), audit.next())
            .await?
            .ok_or("audit subscription ended")?;
    }
    println!("audit subscriber (no group) saw all {JOBS} jobs");

    // Draining ends each member's stream after it consumed what it already received.
    worker_a.drain().await?;
    worker_b.drain().await?;
    let (done_a, done_b) = (a.await?, b.await?);

    let all: BTreeSet<u32> = done_a.iter().chain(&done_b).copied().collect();
    let total = done_a.len() + done_b.len();
    println!(
        "together: {total} deliveries, {} distinct jobs -> each job exactly once: {}",
        all.len(),
        total == JOBS && all.len() == JOBS
    );
    publisher.drain().await?;
    if total != JOBS || all.len() != JOBS {
        return Err("a job was lost or handled twice".into());
    }
    Ok(())
}
