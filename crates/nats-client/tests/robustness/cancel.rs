//! Cancel-safety: every public async method's future is dropped before its first poll, after
//! it, under back-pressure and during a reconnect; the client then still publishes,
//! subscribes, drains and closes.

use std::time::Duration;

use bytes::Bytes;
use nats_client::{Request, Status};
use nats_testkit::{Fault, FaultProxy, NatsServer};

use crate::util::{
    assert_drains_and_closes, assert_usable, eventually, fast, next_msg, poll_once, within,
};

/// Every method's future, dropped unpolled and after one poll, on a live connection.
#[tokio::test]
async fn dropped_before_and_after_the_first_poll() {
    let server = NatsServer::start().await.unwrap();
    let client = fast().connect(server.url()).await.unwrap();
    let mut sub = client.subscribe("probe").await.unwrap();
    client.flush().await.unwrap();
    for round in 0..2 {
        let once = round == 1;
        macro_rules! drop_it {
            ($fut:expr) => {
                if once {
                    poll_once($fut).await
                } else {
                    drop($fut)
                }
            };
        }
        drop_it!(client.publish("probe", Bytes::from_static(b"p")));
        drop_it!(client.publish_with_reply("probe", "r", Bytes::new()));
        drop_it!(client.publish_with_headers("probe", Default::default(), Bytes::new()));
        drop_it!(client.subscribe("other"));
        drop_it!(client.queue_subscribe("other", "q"));
        drop_it!(client.request("nobody.home", Bytes::new()));
        drop_it!(client.send_request(
            "nobody.home",
            Request::new().timeout(Duration::from_secs(30))
        ));
        drop_it!(client.request_with_timeout("nobody.home", Bytes::new(), Duration::MAX));
        drop_it!(client.flush());
        drop_it!(client.flush_timeout(Duration::from_secs(5)));
        drop_it!(client.rtt());
        drop_it!(client.force_reconnect());
        drop_it!(client.wait_for_status(Status::Closed));
        drop_it!(sub.unsubscribe_after(1000));
        let mut events = client.events();
        drop_it!(events.recv());
        drop(events);
        assert_usable(&client).await;
    }
    // The three publishes polled once did publish (a publish is queued at its first poll).
    for _ in 0..3 {
        assert_eq!(next_msg(&mut sub).await.subject, "probe");
    }
    assert_drains_and_closes(&client).await;
}

/// A publish waiting under back-pressure (the socket black-holed, the queue above its
/// high-water mark) is dropped; once traffic flows again everything queued before it arrives.
#[tokio::test]
async fn a_publish_dropped_under_back_pressure() {
    let server = NatsServer::start().await.unwrap();
    let proxy = FaultProxy::start(server.addr()).await.unwrap();
    let client = fast()
        .ping_interval(Duration::from_secs(3600))
        .connect(proxy.url())
        .await
        .unwrap();
    let watcher = nats_client::connect(server.url()).await.unwrap();
    let mut seen = watcher.subscribe("bulk").await.unwrap();
    seen.set_pending_limits(usize::MAX, usize::MAX);
    watcher.flush().await.unwrap();
    client.flush().await.unwrap();
    proxy.set_fault(Fault::BlackHole);
    let payload = Bytes::from(vec![b'x'; 16 * 1024]);
    // Fill the kernel buffers and the queue until a publish has to wait.
    let mut sent = 0u64;
    let blocked = loop {
        let publish = client.publish("bulk", payload.clone());
        match tokio::time::timeout(Duration::from_millis(200), publish).await {
            Ok(result) => {
                result.unwrap();
                sent += 1;
            }
            Err(_) => break true,
        }
        assert!(sent < 10_000, "back-pressure never came");
    };
    assert!(blocked);
    // The timed-out publish is gone; the client is still consistent.
    assert_eq!(client.status(), Status::Connected);
    proxy.set_fault(Fault::Pass);
    within("flush after the stall", client.flush())
        .await
        .unwrap();
    let mut got = 0u64;
    while got < sent {
        next_msg(&mut seen).await;
        got += 1;
    }
    watcher.flush().await.unwrap();
    assert_eq!(seen.pending(), 0, "the dropped publish sent nothing");
    assert_usable(&client).await;
    assert_drains_and_closes(&client).await;
}

/// Futures dropped while the server is down (flush and request wait for the reconnect), then
/// the server comes back.
#[tokio::test]
async fn dropped_during_a_reconnect() {
    let mut server = NatsServer::start().await.unwrap();
    let client = fast().connect(server.url()).await.unwrap();
    let mut sub = client.subscribe("probe").await.unwrap();
    client.flush().await.unwrap();
    server.kill();
    within("reconnecting", client.wait_for_status(Status::Reconnecting)).await;
    poll_once(client.flush()).await;
    poll_once(client.request("nobody.home", Bytes::new())).await;
    poll_once(client.rtt()).await;
    poll_once(client.publish("probe", Bytes::from_static(b"buffered"))).await;
    poll_once(sub.drain()).await; // the subscription is now draining, half-way
    server.restart().await.unwrap();
    within("reconnected", client.wait_for_status(Status::Connected)).await;
    // the half-done subscriber drain completes when called again
    within("subscriber drain", sub.drain()).await.unwrap();
    assert_usable(&client).await;
    assert_drains_and_closes(&client).await;
}

/// Dropping `connect()` before its first poll does nothing; dropping it while the handshake
/// hangs closes the half-made connection.
#[tokio::test]
async fn a_dropped_connect_closes_its_connection() {
    let server = NatsServer::start().await.unwrap();
    let proxy = FaultProxy::start(server.addr()).await.unwrap();
    drop(fast().connect(proxy.url()));
    proxy.set_fault(Fault::BlackHole); // the handshakes hang
    let mut hanging = Vec::new();
    for _ in 0..2 {
        let url = proxy.url();
        hanging.push(tokio::spawn(async move {
            fast()
                .connection_timeout(Duration::from_secs(3600))
                .connect(url)
                .await
        }));
    }
    eventually("both dials reached the proxy", || proxy.connections() == 2).await;
    for task in hanging {
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
    }
    // Traffic flows again: the proxy sees that both clients have gone.
    proxy.set_fault(Fault::Pass);
    eventually("both connections closed", || proxy.connections() == 0).await;
    let client = fast().connect(proxy.url()).await.unwrap();
    assert_usable(&client).await;
    assert_drains_and_closes(&client).await;
}

/// A dropped `close()` still closes.
#[tokio::test]
async fn a_dropped_close_still_closes() {
    let server = NatsServer::start().await.unwrap();
    let client = fast().connect(server.url()).await.unwrap();
    poll_once(client.close()).await;
    within("closed", client.wait_for_status(Status::Closed)).await;
    assert!(client.publish("x", Bytes::new()).await.is_err());
}
