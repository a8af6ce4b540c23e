//! The reconnect buffer against a real server: limit arithmetic (R63), disabled (R64), and bytes
//! not yet written when the connection dropped (D1).

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use nats_client::{Client, Event, PublishError, Status};
use nats_testkit::{Fault, FaultProxy, NatsServer};

use crate::util::{fast, is_disconnected, is_reconnected, next_msg, within, Recorder};

/// R63: limit 32, frames `PUB foo 4\r\nfood\r\n` of 17 bytes: two accepted (34 bytes, the
/// second crosses the limit), the third refused; after the restart both arrive (R62).
#[tokio::test]
async fn r63_limit_32_accepts_two_17_byte_frames_then_refuses() {
    let mut server = NatsServer::start().await.unwrap();
    let rec = Recorder::new();
    let client = rec
        .install(fast().reconnect_buffer_size(Some(32)))
        .connect(server.url())
        .await
        .unwrap();
    let mut sub = client.subscribe("foo").await.unwrap();
    client.flush().await.unwrap();
    server.kill();
    rec.wait_count("Disconnected", 1, is_disconnected).await;
    assert_eq!(client.buffered(), 0);
    client
        .publish("foo", Bytes::from_static(b"food"))
        .await
        .unwrap();
    assert_eq!(client.buffered(), 17);
    client
        .publish("foo", Bytes::from_static(b"food"))
        .await
        .unwrap();
    assert_eq!(client.buffered(), 34);
    assert_refused(&client, 32, "the third frame").await;
    assert_eq!(client.buffered(), 34);
    server.restart().await.unwrap();
    rec.wait_count("Reconnected", 1, is_reconnected).await;
    next_msg(&mut sub).await;
    next_msg(&mut sub).await;
    client.flush().await.unwrap();
    assert_eq!(client.statistics().in_msgs, 2);
}

/// R64: `reconnect_buffer_size(None)` refuses every publish while disconnected, at once, and
/// `buffered()` stays 0.
#[tokio::test]
async fn r64_none_disables_buffering() {
    let mut server = NatsServer::start().await.unwrap();
    let rec = Recorder::new();
    let client = rec
        .install(fast().reconnect_buffer_size(None))
        .connect(server.url())
        .await
        .unwrap();
    client.flush().await.unwrap();
    server.kill();
    rec.wait_count("Disconnected", 1, is_disconnected).await;
    let err = within(
        "an immediate refusal",
        client.publish("foo", Bytes::from_static(b"food")),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, PublishError::ReconnectBufferFull { .. }),
        "{err:?}"
    );
    assert_eq!(client.buffered(), 0);
    // It works again after the reconnect.
    server.restart().await.unwrap();
    rec.wait_count("Reconnected", 1, is_reconnected).await;
    client
        .publish("foo", Bytes::from_static(b"food"))
        .await
        .unwrap();
    client.flush().await.unwrap();
}

/// D1 (R67 fixed), R62, R65: a publisher in the middle of a burst loses its server (kill -9).
/// Bytes still in its buffer are kept (frame-aligned) and sent after the reconnect; every
/// message published while it was reconnecting arrives; nothing arrives twice; the subscriber
/// (another connection, on the restarted server) sees the sequence in order with at most one
/// gap (what was in the kernel or the killed server), and the server never saw half a frame
/// (no protocol error, one Disconnected only).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn d1_burst_across_a_kill_arrives_once_in_order() {
    const N: u64 = 60_000;
    let mut server = NatsServer::start().await.unwrap();
    // The publisher goes through a proxy so the test can hold it back until the subscriber has
    // resubscribed on the restarted server.
    let proxy = FaultProxy::start(server.addr()).await.unwrap();
    let srec = Recorder::new();
    let subscriber = srec.install(fast()).connect(server.url()).await.unwrap();
    let mut sub = subscriber.subscribe("burst").await.unwrap();
    sub.set_pending_limits(1_000_000, 1 << 30);
    subscriber.flush().await.unwrap();
    let prec = Recorder::new();
    let publisher = prec
        .install(fast().reconnect_buffer_size(Some(64 * 1024 * 1024)))
        .connect(proxy.url())
        .await
        .unwrap();

    let collector = tokio::spawn(async move {
        let mut got = Vec::new();
        while let Ok(Some(m)) = tokio::time::timeout(Duration::from_secs(3), sub.next()).await {
            let n: u64 = std::str::from_utf8(&m.payload)
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            got.push(n);
            if n == N {
                break;
            }
        }
        got
    });

    let payload = |i: u64| Bytes::from(format!("{i:>64}"));
    let mut must_arrive = Vec::new();
    for i in 1..=N {
        if i == N / 3 {
            server.kill();
            proxy.set_fault(Fault::Reset);
        }
        let before = publisher.status();
        publisher.publish("burst", payload(i)).await.unwrap();
        if before == Status::Reconnecting && publisher.status() == Status::Reconnecting {
            must_arrive.push(i);
        }
        if i == 2 * N / 3 {
            prec.wait_count("publisher Disconnected", 1, is_disconnected)
                .await;
            server.restart().await.unwrap();
            srec.wait_count("subscriber Reconnected", 1, is_reconnected)
                .await;
            subscriber.flush().await.unwrap();
            proxy.set_fault(Fault::Pass);
        }
    }
    publisher
        .flush_timeout(Duration::from_secs(10))
        .await
        .unwrap();
    let got = within("the burst", collector).await.unwrap();
    let set: HashSet<u64> = got.iter().copied().collect();
    assert_eq!(set.len(), got.len(), "duplicates");
    assert!(got.windows(2).all(|w| w[0] < w[1]), "out of order");
    let gaps = got.windows(2).filter(|w| w[1] != w[0] + 1).count();
    assert!(gaps <= 1, "more than one gap: {gaps}");
    assert_eq!(got.last(), Some(&N));
    assert!(!must_arrive.is_empty());
    for i in &must_arrive {
        assert!(
            set.contains(i),
            "message {i}, published while reconnecting, lost"
        );
    }
    assert_eq!(prec.count(is_disconnected), 1, "{:?}", prec.events());
    assert_eq!(prec.count(|e| matches!(e, Event::ServerError { .. })), 0);
    println!(
        "D1 burst: published {N}, received {}, lost {}, buffered-while-down {}",
        got.len(),
        N - got.len() as u64,
        must_arrive.len()
    );
}

/// R63, R64: once `status()` says Reconnecting, a publish goes to the reconnect buffer and
/// obeys its limit; it never slips into the dead connection's batch (where it could be written
/// to a closed socket and lost). An unbuffered client is refused and a 17-byte-limit client
/// takes exactly one frame, on every one of several kills, the status watched, not the events.
/// (The ordering itself is asserted inside the state machine, so every in-memory timeline
/// checks it; this is the user's view, on a multi-thread runtime as in `examples/buffering`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r63_r64_reconnecting_status_means_the_buffer_takes_publishes() {
    let mut server = NatsServer::start().await.unwrap();
    let unbuffered = fast()
        .reconnect_buffer_size(None)
        .connect(server.url())
        .await
        .unwrap();
    let tiny = fast()
        .reconnect_buffer_size(Some(17))
        .connect(server.url())
        .await
        .unwrap();
    for round in 0..8 {
        unbuffered.flush().await.unwrap();
        tiny.flush().await.unwrap();
        server.kill();
        for client in [&unbuffered, &tiny] {
            assert!(within("Reconnecting", client.wait_for_status(Status::Reconnecting)).await);
        }
        assert_refused(&unbuffered, 0, &format!("round {round}")).await;
        tiny.publish("foo", Bytes::from_static(b"food"))
            .await
            .unwrap();
        assert_eq!(tiny.buffered(), 17, "round {round}");
        assert_refused(&tiny, 17, &format!("round {round}")).await;
        server.restart().await.unwrap();
        for client in [&unbuffered, &tiny] {
            assert!(within("Connected", client.wait_for_status(Status::Connected)).await);
        }
    }
}

/// A 4-byte publish on `client` fails with `ReconnectBufferFull { limit }`.
async fn assert_refused(client: &Client, limit: usize, what: &str) {
    let err = client
        .publish("foo", Bytes::from_static(b"food"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, PublishError::ReconnectBufferFull { limit: l } if l == limit),
        "{what}: {err:?}"
    );
}
