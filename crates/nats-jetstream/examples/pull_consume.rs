//! # Pull consumers
//!
//! A durable pull consumer: one `fetch` of a batch, then `messages()`, the continuous stream,
//! with a nak that brings a message back (`nak_with_delay`), `in_progress` before the final
//! `double_ack`, and message metadata.
//!
//! ```text
//! cargo run -p nats-jetstream --example pull_consume
//! ```

use std::time::Duration;

use futures_util::StreamExt;
use nats_jetstream::consumer::pull;
use nats_jetstream::stream::{self, StorageType};
use nats_testkit::NatsServer;

const WAIT: Duration = Duration::from_secs(5);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = NatsServer::start_jetstream().await?;
    let client = nats_client::connect(server.url()).await?;
    let js = nats_jetstream::new(client);
    let jobs = js
        .create_stream(stream::Config {
            name: "JOBS".into(),
            subjects: vec!["jobs.>".into()],
            storage: StorageType::Memory,
            ..Default::default()
        })
        .await?;
    for i in 0..6 {
        js.publish("jobs.new", format!("job {i}").into())
            .await?
            .await?;
    }

    let worker = jobs
        .create_consumer(pull::Config {
            durable_name: Some("worker".into()),
            ..Default::default()
        })
        .await?;

    // One pull of up to 3 messages.
    let mut batch = worker.fetch().max_messages(3).messages().await?;
    while let Some(msg) = tokio::time::timeout(WAIT, batch.next()).await? {
        let msg = msg?;
        let info = msg.info()?;
        println!(
            "fetched {:?} (stream #{}, {} pending)",
            msg.payload, info.stream_sequence, info.pending
        );
        msg.ack().await?;
    }

    // The continuous stream: the rest, with one nak that is redelivered.
    let mut messages = worker
        .consume()
        .expires(Duration::from_secs(2))
        .messages()
        .await?;
    let mut nacked = false;
    let mut done = 0;
    while done < 3 {
        let msg = tokio::time::timeout(WAIT, messages.next())
            .await?
            .ok_or("stream ended")??;
        let delivered = msg.info()?.delivered;
        if !nacked {
            nacked = true;
            println!("nak {:?}: try again in 100 ms", msg.payload);
            msg.nak_with_delay(Duration::from_millis(100)).await?; // ack_with(AckKind::Nak(..))
            continue;
        }
        // still working: restart the ack wait (may be sent any number of times)
        msg.in_progress().await?;
        println!("consumed {:?} (delivery {delivered})", msg.payload);
        msg.double_ack().await?;
        done += 1;
    }
    let info = worker.info().await?;
    println!(
        "consumer: {} pending, {} unacked",
        info.num_pending, info.num_ack_pending
    );
    Ok(())
}
