//! A black-holed link through the fault proxy: client-side stale detection (R37, R39).

use std::time::Duration;

use bytes::Bytes;
use nats_client::{ConnectionError, Event};
use nats_testkit::{Fault, FaultProxy, NatsServer};
use tokio::time::Instant;

use crate::util::{assert_well_formed, fast, is_disconnected, is_reconnected, next_msg, Recorder};

/// R37, R39, R22: ping_interval 100 ms, max_pings_out 2: Disconnected{StaleConnection} about
/// (2+1) × 100 ms after the link goes silent; attempts through the silent proxy time out; once
/// it passes again the client reconnects and messaging works.
#[tokio::test]
async fn r37_black_hole_is_detected_by_pings_then_pass_reconnects() {
    let server = NatsServer::start().await.unwrap();
    let proxy = FaultProxy::start(server.addr()).await.unwrap();
    let rec = Recorder::new();
    let client = rec
        .install(
            fast()
                .ping_interval(Duration::from_millis(100))
                .max_pings_out(2)
                .connection_timeout(Duration::from_millis(300)),
        )
        .connect(proxy.url())
        .await
        .unwrap();
    let mut sub = client.subscribe("p").await.unwrap();
    client.flush().await.unwrap();
    let t0 = Instant::now();
    proxy.set_fault(Fault::BlackHole);
    rec.wait_count("Disconnected", 1, is_disconnected).await;
    let timed = rec.timed();
    let (at, ev) = timed.iter().find(|(_, e)| is_disconnected(e)).unwrap();
    assert!(
        matches!(
            ev,
            Event::Disconnected {
                error: ConnectionError::StaleConnection
            }
        ),
        "{ev:?}"
    );
    let took = *at - t0;
    assert!(
        took >= Duration::from_millis(150) && took <= Duration::from_millis(300 + 100 + 250),
        "stale detected after {took:?}"
    );
    // While black-holed, attempts reach a silent peer: handshake timeouts.
    rec.wait_count(
        "a timed-out attempt",
        1,
        |e| matches!(e, Event::ReconnectFailed { error, .. } if error.is_timeout()),
    )
    .await;
    proxy.set_fault(Fault::Pass);
    rec.wait_count("Reconnected", 1, is_reconnected).await;
    client.publish("p", Bytes::from_static(b"x")).await.unwrap();
    assert_eq!(next_msg(&mut sub).await.payload, Bytes::from_static(b"x"));
    assert_well_formed(&rec.events());
}
