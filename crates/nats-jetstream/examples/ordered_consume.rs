//! # Ordered consumer
//!
//! Reads a stream in order with an ordered consumer, and keeps going without a gap or a
//! duplicate when the connection is reset in the middle (the consumer is re-created from the
//! next sequence, the old one deleted).
//!
//! ```text
//! cargo run -p nats-jetstream --example ordered_consume
//! ```

use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use nats_jetstream::consumer::pull::OrderedConfig;
use nats_jetstream::stream::{self, StorageType};
use nats_testkit::NatsServer;

const WAIT: Duration = Duration::from_secs(5);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = NatsServer::start_jetstream().await?;
    let client = nats_client::connect(server.url()).await?;
    let js = nats_jetstream::new(client.clone());
    let events = js
        .create_stream(stream::Config {
            name: "EVENTS".into(),
            subjects: vec!["events.>".into()],
            storage: StorageType::Memory,
            ..Default::default()
        })
        .await?;
    let mut acks = Vec::new();
    for i in 1..=20 {
        acks.push(
            js.publish("events.tick", format!("tick {i}").into())
                .await?,
        );
    }
    acks.push(js.publish("events.tick", "last".into()).await?);
    for ack in acks {
        ack.await?;
    }

    let ordered = events.create_consumer(OrderedConfig::default()).await?;
    let mut messages = ordered.messages().await?;
    let mut expected = 1;
    while expected <= 21 {
        if expected == 11 {
            println!("-- resetting the connection --");
            client.force_reconnect().await?;
        }
        let msg = tokio::time::timeout(WAIT, messages.next())
            .await?
            .ok_or("stream ended")??;
        let seq = msg.info()?.stream_sequence;
        if seq != expected {
            return Err(format!("expected #{expected}, got #{seq}").into());
        }
        if seq % 5 == 1 || seq == 21 {
            println!("#{seq}: {:?}", msg.payload);
        }
        expected += 1;
    }
    let consumers: Vec<String> = events.consumer_names().try_collect().await?;
    println!(
        "all 21 in order; consumers on the server now: {}",
        consumers.len()
    );
    Ok(())
}
