//! # Streams
//!
//! Creates a stream, publishes to it, reads its state, gets messages by sequence and by
//! subject, purges part of it, lists the streams and deletes it.
//!
//! ```text
//! cargo run -p nats-jetstream --example streams
//! ```

use futures_util::TryStreamExt;
use nats_jetstream::stream::{self, StorageType};
use nats_testkit::NatsServer;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = NatsServer::start_jetstream().await?;
    let client = nats_client::connect(server.url()).await?;
    let js = nats_jetstream::new(client);

    let orders = js
        .create_stream(stream::Config {
            name: "ORDERS".into(),
            subjects: vec!["orders.>".into()],
            storage: StorageType::Memory,
            allow_direct: true,
            ..Default::default()
        })
        .await?;
    println!(
        "created stream {} on {:?}",
        orders.name(),
        orders.cached_info().config.subjects
    );

    for (subject, body) in [
        ("orders.eu", "eu 1"),
        ("orders.us", "us 1"),
        ("orders.eu", "eu 2"),
    ] {
        js.publish(subject, body.into()).await?.await?;
    }
    let state = orders.info().await?.state;
    println!(
        "{} messages, {} bytes, seq {}..={}",
        state.messages, state.bytes, state.first_sequence, state.last_sequence
    );

    let first = orders.get_raw_message(1).await?;
    println!("seq 1: {} {:?}", first.subject, first.payload);
    let last_eu = orders.get_last_raw_message_by_subject("orders.eu").await?;
    println!(
        "last on orders.eu: seq {} {:?} (direct get)",
        last_eu.sequence, last_eu.payload
    );

    let purged = orders.purge().filter("orders.eu").await?;
    println!("purged {purged} messages on orders.eu");

    let names: Vec<String> = js.stream_names().try_collect().await?;
    println!("streams: {names:?}");

    js.delete_stream("ORDERS").await?;
    match js.get_stream("ORDERS").await {
        Err(e) if e.is_stream_not_found() => println!("deleted: {e}"),
        other => return Err(format!("expected stream not found, got {other:?}").into()),
    }
    Ok(())
}
