//! A panic in each kind of user callback is caught, reported (a `CallbackPanicked` event) and
//! the client goes on.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use nats_client::{Auth, CallbackKind, Event, Status};
use nats_testkit::{NatsServer, ServerConfig};

use crate::util::{assert_drains_and_closes, assert_usable, fast, wait_event, within};
use crate::wait::DropSignal;

fn panicked(kind: CallbackKind) -> impl Fn(&Event) -> bool {
    move |e| matches!(e, Event::CallbackPanicked { callback, .. } if *callback == kind)
}

/// An event callback that panics on every event: every event still reaches `events()`
/// streams and the other callbacks, each panic is reported, and the client works.
#[tokio::test]
async fn a_panicking_event_callback() {
    let mut server = NatsServer::start().await.unwrap();
    let calm = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calm);
    let client = fast()
        .event_callback(|event| {
            if !matches!(event, Event::CallbackPanicked { .. }) {
                panic!("callback bug on {event}")
            }
        })
        .event_callback(move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
        })
        .connect(server.url())
        .await
        .unwrap();
    let mut events = client.events();
    server.kill();
    wait_event(&mut events, |e| matches!(e, Event::Disconnected { .. })).await;
    server.restart().await.unwrap();
    let seen = wait_event(&mut events, |e| matches!(e, Event::Reconnected)).await;
    assert!(seen.iter().any(panicked(CallbackKind::Event)), "{seen:?}");
    assert_usable(&client).await;
    assert!(
        calm.load(Ordering::SeqCst) >= 3,
        "the other callback still ran"
    );
    assert_drains_and_closes(&client).await;
}

/// A reconnect-delay callback that panics: the default wait is used and reconnecting goes on.
#[tokio::test]
async fn a_panicking_reconnect_delay_callback() {
    let mut server = NatsServer::start().await.unwrap();
    let client = fast()
        .reconnect_delay_callback(|_| panic!("delay bug"))
        .connect(server.url())
        .await
        .unwrap();
    let mut events = client.events();
    server.kill();
    wait_event(&mut events, panicked(CallbackKind::ReconnectDelay)).await;
    server.restart().await.unwrap();
    wait_event(&mut events, |e| matches!(e, Event::Reconnected)).await;
    assert_usable(&client).await;
    assert_drains_and_closes(&client).await;
}

/// A server-choice callback that panics: the default rotation is used.
#[tokio::test]
async fn a_panicking_reconnect_to_server_callback() {
    let mut a = NatsServer::start().await.unwrap();
    let b = NatsServer::start().await.unwrap();
    let client = fast()
        .no_randomize(true)
        .reconnect_to_server_callback(|_, _| panic!("choice bug"))
        .connect([a.url(), b.url()])
        .await
        .unwrap();
    let mut events = client.events();
    a.kill();
    wait_event(&mut events, panicked(CallbackKind::ReconnectToServer)).await;
    wait_event(&mut events, |e| matches!(e, Event::Reconnected)).await;
    assert_eq!(client.connected_url(), Some(b.url()));
    assert_usable(&client).await;
    assert_drains_and_closes(&client).await;
}

/// An auth callback that panics fails that attempt (reported); when it stops panicking the
/// client connects.
#[tokio::test]
async fn a_panicking_auth_callback() {
    let mut server = ServerConfig::new().token("s3cret").start().await.unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let client = fast()
        .auth_callback(move |_nonce| {
            // the first connect works, the next two attempts panic, then it works again
            let n = counter.fetch_add(1, Ordering::SeqCst);
            if (1..3).contains(&n) {
                panic!("auth bug {n}");
            }
            Ok(Auth {
                token: Some("s3cret".into()),
                ..Auth::new()
            })
        })
        .connect(server.url())
        .await
        .unwrap();
    let mut events = client.events();
    server.kill();
    server.restart().await.unwrap();
    let seen = wait_event(&mut events, |e| matches!(e, Event::Reconnected)).await;
    assert_eq!(
        seen.iter()
            .filter(|e| panicked(CallbackKind::Auth)(e))
            .count(),
        2,
        "{seen:?}"
    );
    assert!(seen.iter().any(|e| matches!(
        e,
        Event::ReconnectFailed {
            error: nats_client::ConnectError::Credentials(_),
            ..
        }
    )));
    assert_eq!(client.status(), Status::Connected);
    within("a round trip", client.flush()).await.unwrap();
    assert_drains_and_closes(&client).await;
}

/// A message handler (`subscribe_with_handler`) gets every message in order on the
/// connection's task; one that panics on a message is reported and keeps getting the next
/// ones; the subscription is re-sent after a server restart (R54) and drains (R81).
#[tokio::test]
async fn a_message_handler_gets_every_message_and_survives_its_own_panic() {
    use bytes::Bytes;
    use std::sync::Mutex;

    let mut server = NatsServer::start().await.unwrap();
    let client = fast().connect(server.url()).await.unwrap();
    let mut events = client.events();
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let into = Arc::clone(&seen);
    let sub = client
        .subscribe_with_handler("h.*", move |msg| {
            let text = String::from_utf8_lossy(&msg.payload).into_owned();
            into.lock().unwrap().push(text.clone());
            if text == "boom" {
                panic!("handler bug");
            }
        })
        .await
        .unwrap();
    assert!(sub.sid() > 0);
    for p in ["1", "boom", "2", "3"] {
        client.publish("h.x", Bytes::from(p)).await.unwrap();
    }
    within("flush", client.flush()).await.unwrap();
    let got = wait_event(&mut events, panicked(CallbackKind::MessageHandler)).await;
    assert!(
        got.iter().any(
            |e| matches!(e, Event::CallbackPanicked { message, .. } if message == "handler bug")
        ),
        "{got:?}"
    );
    crate::util::eventually("four messages", || seen.lock().unwrap().len() == 4).await;
    assert_eq!(*seen.lock().unwrap(), ["1", "boom", "2", "3"]);

    // Re-sent at reconnect.
    server.kill();
    wait_event(&mut events, |e| matches!(e, Event::Disconnected { .. })).await;
    server.restart().await.unwrap();
    wait_event(&mut events, |e| matches!(e, Event::Resubscribed)).await;
    client.publish("h.y", Bytes::from("after")).await.unwrap();
    within("flush", client.flush()).await.unwrap();
    crate::util::eventually("the message after the restart", || {
        seen.lock().unwrap().last().map(String::as_str) == Some("after")
    })
    .await;
    assert_usable(&client).await;
    // The handler's messages count as consumed: the drain does not wait for them.
    assert_drains_and_closes(&client).await;
    drop(sub);
}

/// Dropping the handler's `Subscriber` unsubscribes: the handler is called no more.
#[tokio::test]
async fn dropping_a_handler_subscription_unsubscribes() {
    use bytes::Bytes;

    let server = NatsServer::start().await.unwrap();
    let client = fast().connect(server.url()).await.unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let sub = client
        .subscribe_with_handler("gone", move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
        })
        .await
        .unwrap();
    client.publish("gone", Bytes::from("1")).await.unwrap();
    within("flush", client.flush()).await.unwrap();
    crate::util::eventually("one call", || calls.load(Ordering::SeqCst) == 1).await;
    drop(sub);
    within("flush", client.flush()).await.unwrap();
    client.publish("gone", Bytes::from("2")).await.unwrap();
    // A round trip after the publish: a MSG for it would be read before the PONG.
    within("flush", client.flush()).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(client
        .subscribe_with_handler("bad subject", |_| {})
        .await
        .is_err());
}

/// R89: with `no_callbacks_after_client_close`: the callbacks see everything before a user's
/// `close()` and nothing it causes; `events()` still gets its Disconnected and Closed. Without
/// the option (the second client) the callbacks see them too.
#[tokio::test]
async fn no_callbacks_after_client_close() {
    let server = NatsServer::start().await.unwrap();
    for quiet in [true, false] {
        let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let (signal, gone) = DropSignal::new();
        let callback = {
            let seen = Arc::clone(&seen);
            move |e: &Event| {
                let _keep = &signal;
                let name = format!("{e:?}");
                let name = name
                    .split([' ', '{', '('])
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                seen.lock().unwrap().push(name);
            }
        };
        let client = fast()
            .event_callback(callback)
            .no_callbacks_after_client_close(quiet)
            .connect(server.url())
            .await
            .unwrap();
        let mut events = client.events();
        // a positive sign that the callbacks are being served: they see this reconnect
        client.force_reconnect().await.unwrap();
        wait_event(&mut events, |e| matches!(e, Event::Reconnected)).await;
        client.close().await;
        wait_event(&mut events, |e| matches!(e, Event::Closed { .. })).await;
        drop(client);
        // the dispatcher ends after Closed and drops the callback
        within("the callback dropped", gone.notified()).await;
        let seen = seen.lock().unwrap().clone();
        let expected: &[&str] = if quiet {
            &["Connected", "Disconnected", "Reconnected"]
        } else {
            &[
                "Connected",
                "Disconnected",
                "Reconnected",
                "Disconnected",
                "Closed",
            ]
        };
        assert_eq!(seen, expected, "quiet {quiet}");
    }
}
