//! # Publish with acks and deduplication
//!
//! Publishes with acks, shows the message-id deduplication, an optimistic-concurrency
//! expectation that fails with its error code, and a burst of asynchronous publishes whose
//! acks are read afterwards (the ack window).
//!
//! ```text
//! cargo run -p nats-jetstream --example publish_dedup
//! ```

use nats_jetstream::stream::{self, StorageType};
use nats_jetstream::{ErrorCode, Publish};
use nats_testkit::NatsServer;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = NatsServer::start_jetstream().await?;
    let client = nats_client::connect(server.url()).await?;
    let js = nats_jetstream::ContextBuilder::new()
        .max_ack_pending(256)
        .build(client);
    js.create_stream(stream::Config {
        name: "PAYMENTS".into(),
        subjects: vec!["payments.>".into()],
        storage: StorageType::Memory,
        ..Default::default()
    })
    .await?;

    let ack = js.publish("payments.new", "pay 1".into()).await?.await?;
    println!("stored in {} as #{}", ack.stream, ack.sequence);

    // The same message id twice: stored once, the second ack says duplicate.
    for attempt in 1..=2 {
        let ack = js
            .send_publish(
                "payments.new",
                Publish::build().payload("pay 2".into()).message_id("pay-2"),
            )
            .await?
            .await?;
        println!(
            "attempt {attempt} with id pay-2: #{} duplicate={}",
            ack.sequence, ack.duplicate
        );
    }

    // Optimistic concurrency: only store if the last sequence is still 1.
    let refused = js
        .send_publish(
            "payments.new",
            Publish::build()
                .payload("late".into())
                .expected_last_sequence(1),
        )
        .await?
        .await;
    match refused {
        Err(e) if e.err_code() == Some(ErrorCode::WRONG_LAST_SEQUENCE) => println!("refused: {e}"),
        other => return Err(format!("expected wrong last sequence, got {other:?}").into()),
    }

    // Asynchronous: 1,000 publishes go out; at most 256 wait for their ack at once.
    let mut acks = Vec::new();
    for i in 0..1000 {
        acks.push(
            js.publish("payments.bulk", format!("bulk {i}").into())
                .await?,
        );
    }
    let mut last = 0;
    for ack in acks {
        last = ack.await?.sequence;
    }
    println!("1000 asynchronous publishes acked, last at #{last}");
    Ok(())
}
