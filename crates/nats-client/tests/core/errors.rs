//! Bad input gets a typed error and loses nothing; server errors on a live connection (R51, R52).

use bytes::Bytes;
use nats_client::{
    ConnectOptions, ConnectionError, Event, HeaderMap, PublishError, ServerErrorKind, Status,
    SubjectError, SubscribeError,
};
use nats_testkit::{NatsServer, ScriptedServer, ServerConfig};

use crate::util::{connect_scripted, next_msg, wait_event, within};

#[tokio::test]
async fn invalid_subjects_are_rejected_and_the_connection_stays_up() {
    let server = NatsServer::start().await.unwrap();
    let client = nats_client::connect(server.url()).await.unwrap();
    for bad in [
        "",
        "a..b",
        "a.",
        "with space",
        "tab\there",
        "wild.*",
        "wild.>",
        "crlf\r\nPUB",
    ] {
        assert!(
            matches!(
                client.publish(bad, "x".into()).await,
                Err(PublishError::InvalidSubject(_))
            ),
            "{bad:?}"
        );
    }
    assert!(matches!(
        client
            .publish_with_reply("ok", "bad reply", "x".into())
            .await,
        Err(PublishError::InvalidReply(_))
    ));
    for bad in ["", "a..b", "a.>.b", "a*", "x >", "b>"] {
        assert!(
            matches!(
                client.subscribe(bad).await,
                Err(SubscribeError::InvalidSubject(_))
            ),
            "{bad:?}"
        );
    }
    assert!(matches!(
        client.queue_subscribe("ok", "bad group").await,
        Err(SubscribeError::InvalidQueueGroup(_))
    ));
    let mut sub = client.subscribe("still.works").await.unwrap();
    client.flush().await.unwrap();
    client.publish("still.works", "yes".into()).await.unwrap();
    assert_eq!(next_msg(&mut sub).await.payload, "yes");
}

#[tokio::test]
async fn header_injection_is_rejected() {
    let mut headers = HeaderMap::new();
    assert!(headers.insert("Bad\r\nName", "v").is_err());
    assert!(headers.insert("Name", "evil\r\nPUB x 1").is_err());
    assert!(headers.insert("Bad Name", "v").is_err());
    assert!(headers.is_empty());
}

#[tokio::test]
async fn oversized_payload_fails_locally_and_the_connection_stays_up() {
    let server = ServerConfig::new().max_payload(1024).start().await.unwrap();
    let client = nats_client::connect(server.url()).await.unwrap();
    assert_eq!(client.server_info().max_payload, 1024);
    let err = client
        .publish("big", Bytes::from(vec![0u8; 1025]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            PublishError::PayloadTooLarge {
                size: 1025,
                max: 1024
            }
        ),
        "{err:?}"
    );
    let mut headers = HeaderMap::new();
    headers.insert("K", "v").unwrap();
    assert!(matches!(
        client
            .publish_with_headers("big", headers, Bytes::from(vec![0u8; 1020]))
            .await,
        Err(PublishError::PayloadTooLarge { .. })
    ));
    let mut sub = client.subscribe("big").await.unwrap();
    client.flush().await.unwrap();
    client
        .publish("big", Bytes::from(vec![1u8; 1024]))
        .await
        .unwrap();
    assert_eq!(next_msg(&mut sub).await.payload.len(), 1024);
    assert_eq!(client.status(), Status::Connected);
}

#[tokio::test]
async fn r51_permission_violation_is_an_event_and_keeps_the_connection() {
    let server = ServerConfig::new()
        .extra(
            r#"authorization { users = [ { user: "limited", password: "pw",
                 permissions: { publish: { allow: ["ok.>", "_INBOX.>"] }, subscribe: { allow: ["ok.>", "_INBOX.>"] } } } ] }"#,
        )
        .start()
        .await
        .unwrap();
    let client = as_limited(ConnectOptions::new(), &server).await;
    let mut events = client.events();
    client.publish("forbidden", "x".into()).await.unwrap();
    let seen = wait_event(&mut events, |e| matches!(e, Event::ServerError { .. })).await;
    match seen.last() {
        Some(Event::ServerError { error }) => {
            assert_eq!(error.kind(), &ServerErrorKind::PermissionViolation);
            assert!(error.message().contains("forbidden"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    // R51: recorded as the last error, and the connection stays up
    match client.last_error() {
        Some(ConnectionError::Server(e)) => assert!(e.message().contains("forbidden"), "{e}"),
        other => panic!("{other:?}"),
    }
    let _denied = client.subscribe("secret.stuff").await.unwrap();
    wait_event(&mut events, |e| matches!(e, Event::ServerError { .. })).await;
    let mut sub = client.subscribe("ok.fine").await.unwrap();
    client.flush().await.unwrap();
    client.publish("ok.fine", "x".into()).await.unwrap();
    next_msg(&mut sub).await;
    assert_eq!(client.status(), Status::Connected);
}

/// A user who may subscribe to `ok.>` (and, with `secret`, to `secret.>` too).
fn limited_user(secret: bool) -> ServerConfig {
    let allow = if secret {
        r#"["ok.>", "secret.>", "_INBOX.>"]"#
    } else {
        r#"["ok.>", "_INBOX.>"]"#
    };
    ServerConfig::new().extra(format!(
        r#"authorization {{ users = [ {{ user: "limited", password: "pw",
             permissions: {{ publish: {{ allow: [">"] }}, subscribe: {{ allow: {allow} }} }} }} ] }}"#
    ))
}

/// Connects as the user `limited` (password `pw`).
async fn as_limited(opts: ConnectOptions, server: &NatsServer) -> nats_client::Client {
    opts.user_and_password("limited", "pw")
        .connect(server.url())
        .await
        .unwrap()
}

/// Protocol notes ("surface permission errors to the affected subscription"), R59, and
/// `permission_error_on_subscribe`: a refused subscription knows it and `try_next` returns the
/// refusal; the other subscriptions are untouched; once a new connection re-sends the SUB and the
/// account may make it, the error is gone and messages flow.
#[tokio::test]
async fn r59_a_refused_subscription_reports_it_until_it_is_resent() {
    let mut server = limited_user(false).start().await.unwrap();
    let client = as_limited(
        ConnectOptions::new().permission_error_on_subscribe(true),
        &server,
    )
    .await;
    let mut events = client.events();
    let mut refused = client.subscribe("secret.x").await.unwrap();
    let mut fine = client.subscribe("ok.y").await.unwrap();
    wait_event(&mut events, |e| matches!(e, Event::ServerError { .. })).await;
    let refusal = refused
        .permission_error()
        .expect("recorded on the subscription");
    assert_eq!(refusal.kind(), &ServerErrorKind::PermissionViolation);
    assert!(refusal.message().contains("secret.x"), "{refusal}");
    assert!(fine.permission_error().is_none());
    match within("try_next", refused.try_next()).await {
        Err(SubscribeError::PermissionDenied(e)) => assert_eq!(e, refusal),
        other => panic!("{other:?}"),
    }
    // still refused on a second look: the error holds until the SUB is re-sent
    assert!(matches!(
        within("try_next", refused.try_next()).await,
        Err(SubscribeError::PermissionDenied(_))
    ));
    client.publish("ok.y", "1".into()).await.unwrap();
    assert!(within("try_next", fine.try_next()).await.unwrap().is_some());

    // The account may now subscribe; a new connection re-sends the subscription (R59).
    server.reload(limited_user(true)).await.unwrap();
    client.force_reconnect().await.unwrap();
    wait_event(&mut events, |e| matches!(e, Event::Reconnected)).await;
    assert!(refused.permission_error().is_none(), "cleared at resend");
    client.publish("secret.x", "2".into()).await.unwrap();
    let msg = within("try_next", refused.try_next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&msg.payload[..], b"2");
    assert_eq!(client.status(), Status::Connected);
}

/// Without `permission_error_on_subscribe` the refusal is recorded and an event, and
/// `try_next` keeps waiting for messages (nats.go's default).
#[tokio::test]
async fn without_the_option_try_next_does_not_return_the_refusal() {
    use futures_util::FutureExt;
    let server = limited_user(false).start().await.unwrap();
    let client = as_limited(ConnectOptions::new(), &server).await;
    let mut events = client.events();
    let mut refused = client.subscribe("secret.x").await.unwrap();
    // the positive sign: the refusal reached the client (recorded before the event)
    wait_event(&mut events, |e| matches!(e, Event::ServerError { .. })).await;
    assert!(refused.permission_error().is_some());
    assert!(refused.try_next().now_or_never().is_none(), "still waiting");
}

#[tokio::test]
async fn r52_unknown_fatal_err_closes_without_reconnecting() {
    let scripted = ScriptedServer::start().await.unwrap();
    let (client, mut conn) = connect_scripted(&scripted, ConnectOptions::new()).await;
    let mut events = client.events();
    conn.send_err("Unknown Protocol Operation").await.unwrap();
    let seen = wait_event(&mut events, |e| matches!(e, Event::Closed { .. })).await;
    assert!(
        matches!(&seen[..], [Event::Disconnected { error: ConnectionError::Server(e) }, Event::Closed { .. }] if e.message() == "Unknown Protocol Operation"),
        "{seen:?}"
    );
    assert!(
        matches!(client.last_error(), Some(ConnectionError::Server(e)) if e.message() == "Unknown Protocol Operation"),
        "{:?}",
        client.last_error()
    );
    assert_eq!(client.status(), Status::Closed);
}

#[tokio::test]
async fn garbage_from_the_server_is_a_protocol_error_not_a_panic() {
    let scripted = ScriptedServer::start().await.unwrap();
    let opts = ConnectOptions::new().allow_reconnect(false);
    let (client, mut conn) = connect_scripted(&scripted, opts).await;
    let mut events = client.events();
    conn.send_raw(b"MSG foo notanumber 3\r\nabc\r\n")
        .await
        .unwrap();
    let seen = wait_event(&mut events, |e| matches!(e, Event::Closed { .. })).await;
    assert!(
        matches!(
            seen.first(),
            Some(Event::Disconnected {
                error: ConnectionError::Protocol(_)
            })
        ),
        "{seen:?}"
    );
}

#[tokio::test]
async fn r51_maximum_subscriptions_exceeded_is_an_event_and_keeps_the_connection() {
    let scripted = ScriptedServer::start().await.unwrap();
    let (client, mut conn) = connect_scripted(&scripted, ConnectOptions::new()).await;
    let mut events = client.events();
    conn.send_err("maximum subscriptions exceeded")
        .await
        .unwrap();
    let seen = wait_event(&mut events, |e| matches!(e, Event::ServerError { .. })).await;
    match seen.last() {
        Some(Event::ServerError { error }) => {
            assert_eq!(error.kind(), &ServerErrorKind::MaxSubscriptionsExceeded);
        }
        other => panic!("{other:?}"),
    }
    // still connected: a flush round trip works over the same connection
    let flushing = {
        let c = client.clone();
        tokio::spawn(async move { c.flush().await })
    };
    within("PING", conn.expect_ping()).await.unwrap();
    conn.send_pong().await.unwrap();
    within("flush", flushing).await.unwrap().unwrap();
    assert_eq!(client.status(), Status::Connected);
    assert!(!seen.iter().any(|e| matches!(e, Event::Disconnected { .. })));
}

/// A server (not in pedantic mode) delivers what another client published with a wildcard in
/// its subject or reply. The message arrives intact, and replying to such a reply is refused
/// locally with `Wildcard` (it would reach every matching subscriber); the connection stays up.
#[tokio::test]
async fn a_received_wildcard_reply_is_refused_for_publishing() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = NatsServer::start().await.unwrap();
    let client = nats_client::connect(server.url()).await.unwrap();
    let mut sub = client.subscribe("ask").await.unwrap();
    client.flush().await.unwrap();
    // a raw client, which checks nothing
    let mut raw = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let mut info = [0u8; 4096];
    let _ = raw.read(&mut info).await.unwrap();
    raw.write_all(b"CONNECT {\"verbose\":false}\r\nPUB ask replies.* 2\r\nhi\r\nPING\r\n")
        .await
        .unwrap();
    let msg = next_msg(&mut sub).await;
    assert_eq!(
        (msg.payload.as_ref(), msg.reply.as_deref()),
        (&b"hi"[..], Some("replies.*"))
    );
    let reply = msg.reply.clone().unwrap();
    assert!(matches!(
        client
            .publish(reply.clone(), Bytes::from_static(b"x"))
            .await,
        Err(PublishError::InvalidSubject(SubjectError::Wildcard))
    ));
    assert!(matches!(
        client.publish_with_reply("ask", reply, Bytes::new()).await,
        Err(PublishError::InvalidReply(SubjectError::Wildcard))
    ));
    client.flush().await.unwrap();
    assert_eq!(client.status(), Status::Connected);
}
