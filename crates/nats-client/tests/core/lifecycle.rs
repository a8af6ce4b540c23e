//! Flush, ping, drain, close, statistics, events order on a single connection.

use std::time::Duration;

use futures_util::StreamExt;
use nats_client::{
    ConnectOptions, ConnectionError, DrainError, Event, FlushError, PublishError, RequestError,
    Status, SubscribeError,
};
use nats_testkit::{NatsServer, ScriptedServer};

use crate::util::{connect_scripted, eventually, next_msg, wait_event, within, DropSignal};

#[tokio::test]
async fn flush_is_a_round_trip_and_times_out_without_pong() {
    let scripted = ScriptedServer::start().await.unwrap();
    let (client, mut conn) = connect_scripted(&scripted, ConnectOptions::new()).await;
    let flushing = {
        let c = client.clone();
        tokio::spawn(async move { c.flush_timeout(Duration::from_secs(5)).await })
    };
    conn.expect_ping().await.unwrap();
    conn.send_pong().await.unwrap();
    within("flush", flushing).await.unwrap().unwrap();
    // no PONG: a typed timeout
    let err = client
        .flush_timeout(Duration::from_millis(100))
        .await
        .unwrap_err();
    assert!(matches!(err, FlushError::TimedOut(_)));
}

#[tokio::test]
async fn server_pings_are_answered() {
    let scripted = ScriptedServer::start().await.unwrap();
    let url = scripted.url();
    let connecting = tokio::spawn(async move { nats_client::connect(url.as_str()).await });
    let mut conn = within("accept", scripted.accept()).await.unwrap();
    conn.handshake().await.unwrap();
    let _client = within("connect", connecting).await.unwrap().unwrap();
    conn.send_ping().await.unwrap();
    within("PONG", conn.expect_pong()).await.unwrap();
}

#[tokio::test]
async fn r37_client_pings_and_declares_stale_after_max_pings_out() {
    let scripted = ScriptedServer::start().await.unwrap();
    let opts = ConnectOptions::new()
        .ping_interval(Duration::from_millis(50))
        .max_pings_out(2)
        .allow_reconnect(false);
    let (client, mut conn) = connect_scripted(&scripted, opts).await;
    let mut events = client.events();
    // answer the first ping: the counter resets
    within("ping", conn.expect_ping()).await.unwrap();
    conn.send_pong().await.unwrap();
    // then stay silent
    let seen = wait_event(&mut events, |e| matches!(e, Event::Closed { .. })).await;
    assert!(
        matches!(
            seen.first(),
            Some(Event::Disconnected {
                error: ConnectionError::StaleConnection
            })
        ),
        "{seen:?}"
    );
}

#[tokio::test]
async fn close_is_idempotent_and_everything_fails_after_it() {
    let server = NatsServer::start().await.unwrap();
    let client = nats_client::connect(server.url()).await.unwrap();
    let mut events = client.events();
    let mut sub = client.subscribe("x").await.unwrap();
    client.flush().await.unwrap();
    client.close().await;
    client.close().await;
    assert_eq!(client.status(), Status::Closed);
    assert!(matches!(
        client.publish("x", "y".into()).await,
        Err(PublishError::Closed)
    ));
    assert!(matches!(
        client.subscribe("x").await,
        Err(SubscribeError::Closed)
    ));
    assert!(matches!(
        client.request("x", "y".into()).await,
        Err(RequestError::Closed)
    ));
    assert!(matches!(client.flush().await, Err(FlushError::Closed)));
    assert!(matches!(client.drain().await, Err(DrainError::Closed)));
    assert!(client.force_reconnect().await.is_err());
    assert!(within("sub end", sub.next()).await.is_none());
    // D2, R87, R88: Disconnected(closed by user) then Closed, once each
    let seen: Vec<Event> = within("events end", events.by_ref().collect()).await;
    assert!(
        matches!(
            &seen[..],
            [
                Event::Disconnected {
                    error: ConnectionError::ClosedByUser
                },
                Event::Closed {
                    reason: ConnectionError::ClosedByUser
                }
            ]
        ),
        "{seen:?}"
    );
}

#[tokio::test]
async fn close_fails_waiting_flush_and_request() {
    let scripted = ScriptedServer::start().await.unwrap();
    let (client, mut conn) = connect_scripted(&scripted, ConnectOptions::new()).await;
    let flush = {
        let c = client.clone();
        tokio::spawn(async move { c.flush().await })
    };
    let request = {
        let c = client.clone();
        tokio::spawn(async move { c.request("svc", "x".into()).await })
    };
    // the client sends SUB for the inbox, PUB and PINGs; then we close it
    conn.expect_op().await.unwrap();
    client.close().await;
    assert!(matches!(
        within("flush", flush).await.unwrap(),
        Err(FlushError::Closed | FlushError::Disconnected)
    ));
    assert!(matches!(
        within("request", request).await.unwrap(),
        Err(RequestError::Closed)
    ));
}

#[tokio::test]
async fn close_flushes_what_was_published() {
    let server = NatsServer::start().await.unwrap();
    let observer = nats_client::connect(server.url()).await.unwrap();
    let mut sub = observer.subscribe("last.words").await.unwrap();
    observer.flush().await.unwrap();
    let client = nats_client::connect(server.url()).await.unwrap();
    for i in 0..1000 {
        client
            .publish("last.words", i.to_string().into())
            .await
            .unwrap();
    }
    client.close().await;
    for i in 0..1000 {
        assert_eq!(next_msg(&mut sub).await.payload, i.to_string());
    }
}

#[tokio::test]
async fn dropping_every_handle_closes_after_flushing() {
    let server = NatsServer::start().await.unwrap();
    let observer = nats_client::connect(server.url()).await.unwrap();
    let mut sub = observer.subscribe("bye").await.unwrap();
    observer.flush().await.unwrap();
    {
        let client = nats_client::connect(server.url()).await.unwrap();
        client.publish("bye", "x".into()).await.unwrap();
    }
    assert_eq!(next_msg(&mut sub).await.payload, "x");
}

#[tokio::test]
async fn drain_lets_received_messages_be_consumed_then_closes() {
    let server = NatsServer::start().await.unwrap();
    let client = nats_client::connect(server.url()).await.unwrap();
    let publisher = nats_client::connect(server.url()).await.unwrap();
    let mut events = client.events();
    let mut sub = client.subscribe("d").await.unwrap();
    client.flush().await.unwrap();
    for i in 0..100 {
        publisher.publish("d", i.to_string().into()).await.unwrap();
    }
    publisher.flush().await.unwrap();
    let consumer = tokio::spawn(async move {
        let mut got = Vec::new();
        while let Some(m) = sub.next().await {
            got.push(m.payload);
        }
        got
    });
    // wait until the client has them all
    eventually("received", || client.statistics().in_msgs >= 100).await;
    within("drain", client.drain()).await.unwrap();
    assert_eq!(client.status(), Status::Closed);
    let got = within("consumer", consumer).await.unwrap();
    assert_eq!(got.len(), 100);
    let seen = wait_event(&mut events, |e| matches!(e, Event::Closed { .. })).await;
    assert!(matches!(
        seen.last(),
        Some(Event::Closed {
            reason: ConnectionError::Drained
        })
    ));
    assert!(matches!(
        client.publish("d", "late".into()).await,
        Err(PublishError::Closed)
    ));
}

#[tokio::test]
async fn subscriber_drain_ends_the_stream_after_queued_messages() {
    let server = NatsServer::start().await.unwrap();
    let client = nats_client::connect(server.url()).await.unwrap();
    let mut sub = client.subscribe("sd").await.unwrap();
    client.flush().await.unwrap();
    for i in 0..5 {
        client.publish("sd", i.to_string().into()).await.unwrap();
    }
    client.flush().await.unwrap();
    sub.drain().await.unwrap();
    client.publish("sd", "after".into()).await.unwrap();
    let got: Vec<_> = within("drained", sub.collect::<Vec<_>>()).await;
    assert_eq!(got.len(), 5);
    assert_eq!(client.status(), Status::Connected);
}

#[tokio::test]
async fn events_via_callback_and_stream_agree() {
    let server = NatsServer::start().await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let client = ConnectOptions::new()
        .event_callback(move |e: &Event| {
            let _ = tx.send(e.to_string());
        })
        .connect(server.url())
        .await
        .unwrap();
    assert_eq!(
        within("connected event", rx.recv()).await.unwrap(),
        "connected"
    );
    client.close().await;
    assert!(within("disconnected", rx.recv())
        .await
        .unwrap()
        .starts_with("disconnected"));
    assert!(within("closed", rx.recv())
        .await
        .unwrap()
        .starts_with("closed"));
}

#[tokio::test]
async fn r113_drain_waits_for_a_slow_consumer_to_consume_what_arrived() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let server = NatsServer::start().await.unwrap();
    let client = nats_client::connect(server.url()).await.unwrap();
    let mut sub = client.subscribe("slowdrain").await.unwrap();
    client.flush().await.unwrap();
    for i in 0..10 {
        client
            .publish("slowdrain", i.to_string().into())
            .await
            .unwrap();
    }
    client.flush().await.unwrap();
    eventually("received", || client.statistics().in_msgs >= 10).await;
    let consumed = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&consumed);
    tokio::spawn(async move {
        while let Some(_msg) = sub.next().await {
            // simulated work per message, so the consumer lags behind the drain
            tokio::time::sleep(Duration::from_millis(10)).await;
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    within("drain", client.drain()).await.unwrap();
    // the last message may still be in the consumer's hands; everything before it is done
    assert!(
        consumed.load(Ordering::SeqCst) >= 9,
        "{}",
        consumed.load(Ordering::SeqCst)
    );
}

/// An event callback that counts its calls, and the signal of its drop.
fn counting_callback(
    calls: &std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> (
    impl Fn(&Event) + Send + Sync + 'static,
    std::sync::Arc<tokio::sync::Notify>,
) {
    let (signal, gone) = DropSignal::new();
    let calls = std::sync::Arc::clone(calls);
    let callback = move |_: &Event| {
        let _keep = &signal;
        calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    };
    (callback, gone)
}

/// R9: a failed first connect (no `retry_on_failed_connect`) fires no callback at all and
/// leaves nothing running: the event callback is dropped (its dispatcher and the connection
/// task have ended) without having been called.
#[tokio::test]
async fn r9_a_failed_first_connect_fires_nothing_and_leaves_nothing_behind() {
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (callback, gone) = counting_callback(&calls);
    let port = nats_testkit::free_port();
    let result = ConnectOptions::new()
        .event_callback(callback)
        .connect(format!("nats://127.0.0.1:{port}"))
        .await;
    assert!(result.is_err(), "nothing listens on {port}");
    within("the callback dropped", gone.notified()).await;
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 0);

    // The same for a connect future dropped while its handshake hangs (a silent peer).
    let server = NatsServer::start().await.unwrap();
    let proxy = nats_testkit::FaultProxy::start(server.addr())
        .await
        .unwrap();
    proxy.set_fault(nats_testkit::Fault::BlackHole);
    let (callback, gone) = counting_callback(&calls);
    let connecting = ConnectOptions::new()
        .event_callback(callback)
        .connection_timeout(Duration::from_secs(3600))
        .connect(proxy.url());
    let dropped = tokio::time::timeout(Duration::from_millis(200), connecting).await;
    assert!(dropped.is_err(), "the handshake cannot complete");
    within("the callback dropped", gone.notified()).await;
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 0);
}

/// R94: the server-assigned client id comes from the latest INFO, so it changes with a new
/// connection.
#[tokio::test]
async fn r94_the_client_id_follows_the_connection() {
    let server = NatsServer::start().await.unwrap();
    let client = nats_client::connect(server.url()).await.unwrap();
    let mut events = client.events();
    let first = client.server_info().client_id;
    assert!(first.is_some(), "the server assigns a client id");
    client.force_reconnect().await.unwrap();
    wait_event(&mut events, |e| matches!(e, Event::Reconnected)).await;
    let second = client.server_info().client_id;
    assert!(second.is_some());
    assert_ne!(first, second, "a new connection, a new id");
    assert_eq!(client.server_info().client_ip.as_deref(), Some("127.0.0.1"));
}
