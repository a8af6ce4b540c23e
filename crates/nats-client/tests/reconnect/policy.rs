//! Reconnect policy against real servers: max_reconnects exhaustion (timeline (d)), custom
//! delay, close during a wait, reconnect disabled, force_reconnect, set_server_pool, the
//! reconnect-to-server callback, retry_on_failed_connect (timeline (e)).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use nats_client::{ConnectError, ConnectionError, Event, ServerAddr, Status};
use nats_testkit::{free_port, NatsServer, ServerConfig};
use tokio::time::Instant;

use crate::util::{
    assert_well_formed, fast, is_closed, is_disconnected, is_failed, is_reconnected, names,
    next_msg, wait_status, within, within_for, Recorder,
};

fn port_of(url: &str) -> u16 {
    url.rsplit(':').next().unwrap().parse().unwrap()
}

/// Timeline (d), R12, R13, R15: one server killed, max_reconnects 3, wait 50 ms: exactly three
/// ReconnectFailed then Closed{NoServers}, within about 3 × 50 ms; Disconnected once (D2).
#[tokio::test]
async fn r12_r13_max_reconnects_exhausted_closes_with_no_servers() {
    let mut server = NatsServer::start().await.unwrap();
    let rec = Recorder::new();
    let client = rec
        .install(fast().max_reconnects(Some(3)))
        .connect(server.url())
        .await
        .unwrap();
    client.flush().await.unwrap();
    let t0 = Instant::now();
    server.kill();
    rec.wait_count("Closed", 1, is_closed).await;
    assert!(
        t0.elapsed() < Duration::from_secs(2),
        "took {:?}",
        t0.elapsed()
    );
    let events = rec.events();
    assert_eq!(
        names(&events),
        [
            "Connected",
            "Disconnected",
            "ReconnectFailed",
            "ReconnectFailed",
            "ReconnectFailed",
            "Closed"
        ]
    );
    let attempts: Vec<u32> = events
        .iter()
        .filter_map(|e| match e {
            Event::ReconnectFailed { attempt, .. } => Some(*attempt),
            _ => None,
        })
        .collect();
    assert_eq!(attempts, [1, 2, 3]);
    assert!(matches!(
        events.last(),
        Some(Event::Closed {
            reason: ConnectionError::NoServers
        })
    ));
    assert_eq!(
        client.closed_reason().map(|r| r.to_string()),
        Some(ConnectionError::NoServers.to_string())
    );
    // R13: the last error is "no servers" as well
    assert!(matches!(
        client.last_error(),
        Some(ConnectionError::NoServers)
    ));
    let stats = client.statistics();
    assert_eq!((stats.reconnects, stats.failed_reconnects), (0, 3));
    // R68/R114: everything fails after the close.
    assert!(client.publish("x", Bytes::new()).await.is_err());
}

/// R17: the custom delay callback gets the pass counts 1, 2, 3 and replaces reconnect_wait
/// (10 minutes here would never finish).
#[tokio::test]
async fn r17_reconnect_delay_callback_gets_1_2_3() {
    let mut server = NatsServer::start().await.unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    let rec = Recorder::new();
    let client = rec
        .install(
            fast()
                .max_reconnects(Some(3))
                .reconnect_wait(Duration::from_secs(600))
                .reconnect_delay_callback(move |n| {
                    s.lock().unwrap().push(n);
                    Duration::from_millis(20)
                }),
        )
        .connect(server.url())
        .await
        .unwrap();
    client.flush().await.unwrap();
    server.kill();
    rec.wait_count("Closed", 1, is_closed).await;
    assert_eq!(*seen.lock().unwrap(), [1, 2, 3]);
    assert_eq!(rec.count(is_failed), 3);
}

/// R18, R19, R87, D2: close() during a 10-minute reconnect_wait returns promptly; Closed fires
/// once, with no second Disconnected.
#[tokio::test]
async fn r18_close_during_a_long_wait_returns_promptly() {
    let mut server = NatsServer::start().await.unwrap();
    let rec = Recorder::new();
    let client = rec
        .install(fast().reconnect_wait(Duration::from_secs(600)))
        .connect(server.url())
        .await
        .unwrap();
    client.flush().await.unwrap();
    server.kill();
    rec.wait_count("Disconnected", 1, is_disconnected).await;
    within_for(Duration::from_secs(1), "close()", client.close()).await;
    assert_eq!(client.status(), Status::Closed);
    rec.wait_count("Closed", 1, is_closed).await;
    let events = rec.events();
    assert_eq!(names(&events), ["Connected", "Disconnected", "Closed"]);
    assert!(matches!(
        events[2],
        Event::Closed {
            reason: ConnectionError::ClosedByUser
        }
    ));
    client.close().await;
    assert_eq!(rec.count(is_closed), 1);
}

/// R35, R85, D2: allow_reconnect(false): Disconnected (with the cause) then Closed, no attempt.
#[tokio::test]
async fn r35_reconnect_disabled_closes_without_attempts() {
    let mut server = NatsServer::start().await.unwrap();
    let rec = Recorder::new();
    let client = rec
        .install(fast().allow_reconnect(false))
        .connect(server.url())
        .await
        .unwrap();
    client.flush().await.unwrap();
    server.kill();
    rec.wait_count("Closed", 1, is_closed).await;
    let events = rec.events();
    assert_eq!(names(&events), ["Connected", "Disconnected", "Closed"]);
    assert!(matches!(
        events[1],
        Event::Disconnected {
            error: ConnectionError::Io(_)
        }
    ));
    // R35: the last error holds the real cause
    assert!(
        matches!(client.last_error(), Some(ConnectionError::Io(_))),
        "{:?}",
        client.last_error()
    );
    assert_eq!(client.statistics().failed_reconnects, 0);
}

/// R104, R105: force_reconnect works with reconnects disabled; many calls in a row make one
/// reconnect.
#[tokio::test]
async fn r104_r105_force_reconnect_when_disabled_and_many_times_is_one_reconnect() {
    let server = NatsServer::start().await.unwrap();
    let rec = Recorder::new();
    let client = rec
        .install(fast().allow_reconnect(false))
        .connect(server.url())
        .await
        .unwrap();
    let mut sub = client.subscribe("f").await.unwrap();
    client.flush().await.unwrap();
    for _ in 0..5 {
        client.force_reconnect().await.unwrap();
    }
    rec.wait_count("Reconnected", 1, is_reconnected).await;
    // Positive sign: the commands were all taken before this round trip's PING was written,
    // so an extra reconnect would have been counted by now.
    client.flush().await.unwrap();
    assert_eq!(client.statistics().reconnects, 1);
    assert_eq!(rec.count(is_reconnected), 1, "{:?}", names(&rec.events()));
    assert_eq!(rec.count(is_disconnected), 1);
    assert_eq!(client.statistics().reconnects, 1);
    client
        .publish("f", Bytes::from_static(b"ok"))
        .await
        .unwrap();
    assert_eq!(next_msg(&mut sub).await.payload, Bytes::from_static(b"ok"));
    assert_well_formed(&rec.events());
}

/// R103, D5: force_reconnect on a single server skips a 10-minute reconnect_wait; a later
/// outage still waits (the skip is used once).
#[tokio::test]
async fn r103_d5_force_reconnect_skips_the_wait_once() {
    let mut server = NatsServer::start().await.unwrap();
    let rec = Recorder::new();
    let (waits, mut waited) = tokio::sync::mpsc::unbounded_channel();
    let client = rec
        .install(fast().reconnect_delay_callback(move |pass| {
            let _ = waits.send(pass);
            Duration::from_secs(600)
        }))
        .connect(server.url())
        .await
        .unwrap();
    client.flush().await.unwrap();
    let t0 = Instant::now();
    client.force_reconnect().await.unwrap();
    within_for(
        Duration::from_secs(2),
        "the forced reconnect",
        rec.wait_count("Reconnected", 1, is_reconnected),
    )
    .await;
    assert!(t0.elapsed() < Duration::from_secs(2));
    // D5: the next outage waits again: the loop asks for its 600 s wait before dialling.
    server.kill();
    rec.wait_count("Disconnected", 2, is_disconnected).await;
    let pass = within("the wait of the next outage", waited.recv()).await;
    assert_eq!(pass, Some(1));
    assert_eq!(rec.count(is_failed), 0, "{:?}", names(&rec.events()));
    // And force_reconnect while waiting cuts that wait short (R105): one attempt, refused.
    client.force_reconnect().await.unwrap();
    rec.wait_count("one attempt", 1, is_failed).await;
    client.close().await;
}

/// R107: set_server_pool does not reconnect by itself; the next reconnect uses the new pool.
#[tokio::test]
async fn r107_set_server_pool_moves_the_next_reconnect() {
    let mut s1 = NatsServer::start().await.unwrap();
    let s2 = NatsServer::start().await.unwrap();
    let rec = Recorder::new();
    let client = rec.install(fast()).connect(s1.url()).await.unwrap();
    client.flush().await.unwrap();
    client.set_server_pool([s2.url()]).unwrap();
    assert_eq!(client.servers().len(), 1);
    client.flush().await.unwrap();
    assert_eq!(client.status(), Status::Connected);
    assert_eq!(port_of(&client.connected_url().unwrap()), s1.port());
    s1.kill();
    rec.wait_count("Reconnected", 1, is_reconnected).await;
    assert_eq!(port_of(&client.connected_url().unwrap()), s2.port());
    assert!(client.set_server_pool(["not a url::"]).is_err());
    assert_eq!(client.servers().len(), 1);
}

/// R106: the callback picks the server (s3, not the default rotation's s2) and the exact delay.
#[tokio::test]
async fn r106_reconnect_to_server_callback_picks_server_and_delay() {
    let mut s1 = NatsServer::start().await.unwrap();
    let s2 = NatsServer::start().await.unwrap();
    let s3 = NatsServer::start().await.unwrap();
    let target = ServerAddr::parse(&s3.url()).unwrap();
    let calls = Arc::new(Mutex::new(0u32));
    let c = Arc::clone(&calls);
    let rec = Recorder::new();
    let client = rec
        .install(
            fast()
                .no_randomize(true)
                .reconnect_to_server_callback(move |pool, info| {
                    *c.lock().unwrap() += 1;
                    assert_eq!(pool.len(), 3);
                    assert!(info.is_some());
                    Some((target.clone(), Duration::from_millis(300)))
                }),
        )
        .connect([s1.url(), s2.url(), s3.url()])
        .await
        .unwrap();
    assert_eq!(port_of(&client.connected_url().unwrap()), s1.port());
    client.flush().await.unwrap();
    s1.kill();
    rec.wait_count("Reconnected", 1, is_reconnected).await;
    assert_eq!(port_of(&client.connected_url().unwrap()), s3.port());
    let timed = rec.timed();
    let down = timed.iter().find(|(_, e)| is_disconnected(e)).unwrap().0;
    let up = timed.iter().find(|(_, e)| is_reconnected(e)).unwrap().0;
    assert!(
        up - down >= Duration::from_millis(300),
        "delay not honoured: {:?}",
        up - down
    );
    assert!(up - down < Duration::from_millis(1500));
    assert_eq!(*calls.lock().unwrap(), 1);
    drop(s2);
}

/// Timeline (e), R108, R109, R83, D8: retry_on_failed_connect returns at once, Reconnecting;
/// publishes buffer and subscriptions register; Connected (not Reconnected) once the server
/// starts on that port; the buffered message is delivered; a later outage is a normal
/// reconnect.
#[tokio::test]
async fn r108_r109_retry_on_failed_connect_connects_when_the_server_starts() {
    let port = free_port();
    let url = format!("nats://127.0.0.1:{port}");
    let rec = Recorder::new();
    let client = within_for(
        Duration::from_secs(2),
        "connect to return",
        rec.install(fast().retry_on_failed_connect(true))
            .connect(url.as_str()),
    )
    .await
    .unwrap();
    assert_eq!(client.status(), Status::Reconnecting);
    let mut sub = client.subscribe("r").await.unwrap();
    client
        .publish("r", Bytes::from_static(b"early"))
        .await
        .unwrap();
    rec.wait_count("initial failure + a retry", 2, is_failed)
        .await;
    let mut server = ServerConfig::new().port(port).start().await.unwrap();
    rec.wait_count("Connected", 1, |e| matches!(e, Event::Connected))
        .await;
    assert_eq!(
        next_msg(&mut sub).await.payload,
        Bytes::from_static(b"early")
    );
    assert_eq!(rec.count(is_reconnected), 0);
    assert_eq!(rec.count(is_disconnected), 0);
    assert_eq!(
        client.statistics().reconnects,
        0,
        "D8: the first success is no reconnect"
    );
    // Later outages: Disconnected + Reconnected.
    server.kill();
    rec.wait_count("Disconnected", 1, is_disconnected).await;
    server.restart().await.unwrap();
    rec.wait_count("Reconnected", 1, is_reconnected).await;
    assert_eq!(client.statistics().reconnects, 1);
    assert_well_formed(&rec.events());
}

/// R109, R13: retry_on_failed_connect with max_reconnects 2 and no server: the initial
/// failure plus 2 attempts, then Closed{NoServers}; no Disconnected, no Connected. R110:
/// configuration errors are still synchronous.
#[tokio::test]
async fn r109_r110_retry_exhausted_closes_and_bad_options_fail_at_once() {
    let url = format!("nats://127.0.0.1:{}", free_port());
    let rec = Recorder::new();
    let client = rec
        .install(fast().retry_on_failed_connect(true).max_reconnects(Some(2)))
        .connect(url.as_str())
        .await
        .unwrap();
    rec.wait_count("Closed", 1, is_closed).await;
    let events = rec.events();
    assert_eq!(
        names(&events),
        [
            "ReconnectFailed",
            "ReconnectFailed",
            "ReconnectFailed",
            "Closed"
        ],
        "{events:?}"
    );
    assert!(matches!(
        events.last(),
        Some(Event::Closed {
            reason: ConnectionError::NoServers
        })
    ));
    assert_eq!(client.status(), Status::Closed);
    let err = fast()
        .retry_on_failed_connect(true)
        .connection_timeout(Duration::ZERO)
        .connect(url.as_str())
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectError::InvalidOptions(_)), "{err:?}");
    wait_status(&client, Status::Closed).await;
}

/// R12, R14: the attempt budget of one outage is max_reconnects per server of the pool: two
/// unclustered servers both killed, max_reconnects 2, gives exactly 2 × 2 failed attempts, each
/// server twice, then Closed{NoServers}; failed attempts are counted apart from reconnects (D8).
#[tokio::test]
async fn r14_the_budget_of_an_outage_is_max_reconnects_per_server() {
    let mut a = NatsServer::start().await.unwrap();
    let mut b = NatsServer::start().await.unwrap();
    let rec = Recorder::new();
    let client = rec
        .install(fast().max_reconnects(Some(2)).no_randomize(true))
        .connect(format!("{},{}", a.url(), b.url()))
        .await
        .unwrap();
    client.flush().await.unwrap();
    b.kill();
    a.kill();
    rec.wait_count("Closed", 1, is_closed).await;
    let events = rec.events();
    let failed: Vec<u16> = events
        .iter()
        .filter_map(|e| match e {
            Event::ReconnectFailed { server, .. } => Some(port_of(server)),
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 4, "{:?}", names(&events));
    for server in [&a, &b] {
        assert_eq!(
            failed.iter().filter(|p| **p == server.port()).count(),
            2,
            "{failed:?}"
        );
    }
    assert!(matches!(
        events.last(),
        Some(Event::Closed {
            reason: ConnectionError::NoServers
        })
    ));
    let stats = client.statistics();
    assert_eq!((stats.reconnects, stats.failed_reconnects), (0, 4));
    assert_well_formed(&events);
}

/// R72: a publisher hammering the connection before, during and after an outage does not
/// stall the reconnect: the client reconnects while it publishes without pause, and its
/// publishes flow again.
#[tokio::test]
async fn r72_a_hammering_publisher_does_not_stall_the_reconnect() {
    let mut server = NatsServer::start().await.unwrap();
    let rec = Recorder::new();
    let client = rec.install(fast()).connect(server.url()).await.unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hammer = {
        let client = client.clone();
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            let payload = Bytes::from_static(b"hammer");
            let mut refused = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for _ in 0..100 {
                    // a full reconnect buffer refuses; the hammering goes on regardless
                    if client.publish("hammer", payload.clone()).await.is_err() {
                        refused += 1;
                    }
                }
                // the test runtime has one thread: let the connection task run too
                tokio::task::yield_now().await;
            }
            refused
        })
    };
    server.restart().await.unwrap();
    rec.wait_count("Reconnected", 1, is_reconnected).await;
    // the hammering goes on, and messages flow on the new connection
    let checker = nats_client::connect(server.url()).await.unwrap();
    let mut sub = checker.subscribe("hammer").await.unwrap();
    checker.flush().await.unwrap();
    assert_eq!(
        next_msg(&mut sub).await.payload,
        Bytes::from_static(b"hammer")
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    within("the publisher stops", hammer).await.unwrap();
    within("flush", client.flush()).await.unwrap();
    assert_well_formed(&rec.events());
}
