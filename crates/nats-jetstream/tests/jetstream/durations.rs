//! Durations up to `Duration::MAX` are accepted everywhere a caller passes one: "never" or
//! "as long as the server allows", never a panic (`Instant + Duration` overflow) and never a
//! number the server cannot read (it takes nanoseconds as a signed 64-bit integer).

use std::time::Duration;

use nats_jetstream::{stream, AckKind, ContextBuilder};
use nats_testkit::NatsServer;

use crate::util::{durable_config, fast, next_item, publish_n};

#[tokio::test]
async fn duration_max_is_accepted_by_the_context_streams_and_consumers() {
    let server = NatsServer::start_jetstream().await.unwrap();
    let client = fast().connect(server.url()).await.unwrap();
    let js = ContextBuilder::new()
        .timeout(Duration::MAX)
        .publish_retry_window(Duration::MAX)
        .publish_ack_timeout(Duration::MAX)
        .build(client);

    // max_age of "forever": the server keeps the longest age it can represent.
    let s = js
        .create_stream(stream::Config {
            name: "FOREVER".into(),
            subjects: vec!["forever.>".into()],
            storage: stream::StorageType::Memory,
            max_age: Duration::MAX,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(s.cached_info().config.max_age >= Duration::from_secs(100 * 365 * 86_400));

    // Publishes with an unbounded ack timeout and retry window are acked as usual.
    publish_n(&js, "forever.a", "m", 3).await;

    let c = s.create_consumer(durable_config("f")).await.unwrap();

    // A batch that may wait for ever still hands out what is stored.
    let mut batch = c
        .batch()
        .max_messages(1)
        .expires(Duration::MAX)
        .heartbeat(Duration::MAX / 2)
        .messages()
        .await
        .unwrap();
    let first = next_item(&mut batch).await.unwrap().unwrap();
    assert_eq!(first.payload, "m-0");
    // A redelivery delay of "never" is sent as the longest the server reads.
    first
        .ack_with(AckKind::Nak(Some(Duration::MAX)))
        .await
        .unwrap();
    assert!(next_item(&mut batch).await.is_none(), "a batch of one ends");

    // So does a messages() stream whose pulls never expire.
    let mut messages = c
        .consume()
        .expires(Duration::MAX)
        .heartbeat(Duration::MAX / 2)
        .messages()
        .await
        .unwrap();
    let next = next_item(&mut messages).await.unwrap().unwrap();
    assert_eq!(next.payload, "m-1");
    next.ack().await.unwrap();
    let last = next_item(&mut messages).await.unwrap().unwrap();
    assert_eq!(last.payload, "m-2");
    last.double_ack().await.unwrap();
    // The Nak'd m-0 waits for its delay (a delay the server could not read would make it a
    // plain Nak: m-0 again at once, before m-1): a message published now comes next.
    publish_n(&js, "forever.a", "late", 1).await;
    let late = next_item(&mut messages).await.unwrap().unwrap();
    assert_eq!(late.payload, "late-0");
}
