//! D6: an `events()` stream nobody reads stays small under a slow-consumer storm, and still
//! gets every life-cycle event.

use bytes::Bytes;
use futures_util::StreamExt;
use nats_client::{ConnectOptions, Event};
use nats_testkit::NatsServer;

use crate::util::{eventually, within};

/// 10⁶ messages dropped by a subscription whose reader takes one now and then (so each drop
/// episode ends and a new one starts): the unread stream holds one merged slow-consumer report,
/// with the latest count, next to the life-cycle events.
#[tokio::test]
async fn an_unread_stream_under_a_million_drops_stays_small() {
    const DROPS: u64 = 1_000_000;
    let server = NatsServer::start().await.unwrap();
    let client = ConnectOptions::new()
        .subscription_pending_limits(1, usize::MAX)
        .connect(server.url())
        .await
        .unwrap();
    let unread = client.events();
    let publisher = nats_client::connect(server.url()).await.unwrap();
    let mut sub = client.subscribe("storm").await.unwrap();
    client.flush().await.unwrap();
    let payload = Bytes::from_static(b"x");
    let mut published = 0u64;
    while sub.dropped() < DROPS {
        for _ in 0..10_000 {
            publisher.publish("storm", payload.clone()).await.unwrap();
        }
        published += 10_000;
        publisher.flush().await.unwrap();
        client.flush().await.unwrap();
        // read one: the episode ends, the next drop starts a new one
        within("one message", sub.next()).await.unwrap();
        assert!(published < 3 * DROPS, "messages were not dropped");
    }
    eventually("every drop reported", || unread.len() <= 2).await;
    let mut unread = unread;
    client.close().await;
    let mut reports = 0;
    let mut last = 0;
    while let Some(event) = within("the unread events", unread.next()).await {
        if let Event::SlowConsumer { dropped, .. } = event {
            reports += 1;
            last = dropped;
        }
    }
    assert_eq!(reports, 1, "merged while unread");
    // one report per episode, with the count when the episode began: the last one began in
    // the last batch
    assert!(last + 10_000 >= DROPS, "{last}");
}
