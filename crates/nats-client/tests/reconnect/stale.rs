//! A black-holed link through the fault proxy: client-side stale detection (R37, R39).

use std::time::Duration;

use bytes::Bytes;
use nats_client::{Client, ConnectOptions, ConnectionError, Event};
use nats_testkit::{Fault, FaultProxy, NatsServer};
use tokio::time::Instant;

use crate::util::{assert_well_formed, fast, is_disconnected, is_reconnected, next_msg, Recorder};

/// A server, a fault proxy in front of it, and a client through the proxy with `opts` (and a
/// 300 ms connection timeout), its events recorded.
async fn through_proxy(opts: ConnectOptions) -> (NatsServer, FaultProxy, Recorder, Client) {
    let server = NatsServer::start().await.unwrap();
    let proxy = FaultProxy::start(server.addr()).await.unwrap();
    let rec = Recorder::new();
    let client = rec
        .install(opts.connection_timeout(Duration::from_millis(300)))
        .connect(proxy.url())
        .await
        .unwrap();
    (server, proxy, rec, client)
}

/// R37, R39, R22, R60 (the subscription stays valid through the outage): ping_interval 100 ms, max_pings_out 2: Disconnected{StaleConnection} about
/// (2+1) × 100 ms after the link goes silent; attempts through the silent proxy time out; once
/// it passes again the client reconnects and messaging works.
#[tokio::test]
async fn r37_black_hole_is_detected_by_pings_then_pass_reconnects() {
    let (_server, proxy, rec, client) = through_proxy(
        fast()
            .ping_interval(Duration::from_millis(100))
            .max_pings_out(2),
    )
    .await;
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

/// R41, R42: a link that stops taking bytes while a burst is being written (the peer stopped
/// reading) is given up by the write deadline, not by the ping timer (1 h here): Disconnected
/// {WriteTimeout}, then a reconnect once the link passes again, and messaging works.
#[tokio::test]
async fn r42_a_write_that_makes_no_progress_is_given_up_by_the_write_deadline() {
    let (_server, proxy, rec, client) = through_proxy(
        fast()
            .ping_interval(Duration::from_secs(3600))
            .flusher_timeout(Duration::from_millis(300)),
    )
    .await;
    let mut sub = client.subscribe("w.check").await.unwrap();
    client.flush().await.unwrap();
    proxy.set_fault(Fault::BlackHole);
    // Far more than the socket buffers on both sides of the proxy hold: the writes stall.
    let publisher = {
        let client = client.clone();
        tokio::spawn(async move {
            let payload = Bytes::from(vec![b'w'; 64 * 1024]);
            for _ in 0..1000 {
                if client.publish("w.burst", payload.clone()).await.is_err() {
                    break;
                }
            }
        })
    };
    rec.wait_count("Disconnected", 1, is_disconnected).await;
    let events = rec.events();
    let ev = events.iter().find(|e| is_disconnected(e)).unwrap();
    assert!(
        matches!(
            ev,
            Event::Disconnected {
                error: ConnectionError::WriteTimeout(d)
            } if *d == Duration::from_millis(300)
        ),
        "{ev:?}"
    );
    assert!(matches!(
        client.last_error(),
        Some(ConnectionError::WriteTimeout(_))
    ));
    proxy.set_fault(Fault::Pass);
    rec.wait_count("Reconnected", 1, is_reconnected).await;
    publisher.await.unwrap();
    client.flush().await.unwrap();
    client
        .publish("w.check", Bytes::from_static(b"after"))
        .await
        .unwrap();
    assert_eq!(
        next_msg(&mut sub).await.payload,
        Bytes::from_static(b"after")
    );
    assert_well_formed(&rec.events());
}
