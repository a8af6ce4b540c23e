//! Credentials removed by a config reload (R43–R47) and max_connections (R50) on a real server.

use std::time::Duration;

use bytes::Bytes;
use nats_client::{ConnectError, ConnectionError, Event, ServerErrorKind, Status};
use nats_testkit::ServerConfig;

use crate::util::{
    assert_well_formed, fast, is_disconnected, is_failed, is_reconnected, next_msg, wait_status,
    within, Recorder,
};

fn auth_failure(e: &Event) -> bool {
    matches!(e, Event::ReconnectFailed { error, .. } if error.is_auth())
}

/// R46, R43, R44, R49: the user is removed by a reload; the client gets the auth error on the
/// live connection (an event, not a close), is dropped by the server, and the next attempt's
/// identical auth error from the same server closes it with Closed{Connect(auth)}; one
/// Disconnected only (D2).
#[tokio::test]
async fn r44_r46_user_removed_by_reload_same_auth_error_twice_closes() {
    let mut server = ServerConfig::new()
        .user_password("alice", "pa")
        .start()
        .await
        .unwrap();
    let rec = Recorder::new();
    let client = rec
        .install(fast().user_and_password("alice", "pa"))
        .connect(server.url())
        .await
        .unwrap();
    client.flush().await.unwrap();
    server
        .reload(ServerConfig::new().user_password("bob", "pb"))
        .await
        .unwrap();
    rec.wait_count("Closed", 1, |e| matches!(e, Event::Closed { .. }))
        .await;
    let events = rec.events();
    // nats-server 2.9.10 closes a client whose user a reload removed without sending an -ERR
    // first, so the live auth error (R46) may be absent; if it came, it was an event that did
    // not close the connection by itself.
    let live = events
        .iter()
        .filter(|e| matches!(e, Event::ServerError { error } if error.is_auth_error()))
        .count();
    assert!(live <= 1, "{events:?}");
    assert!(
        matches!(
            events.last().unwrap(),
            Event::Closed { reason: ConnectionError::Connect(e) } if e.is_auth()
        ),
        "{events:?}"
    );
    let failed = rec.count(auth_failure);
    assert!(
        (1..=2).contains(&failed),
        "{failed} auth failures: {events:?}"
    );
    assert_eq!(rec.count(is_disconnected), 1);
    assert_well_formed(&events);
    assert_eq!(client.status(), Status::Closed);
}

/// R47, R45: with ignore_auth_error_abort the client keeps trying through repeated auth
/// errors, and recovers once the user is reloaded back in.
#[tokio::test]
async fn r47_ignore_auth_error_abort_keeps_trying_and_recovers() {
    let mut server = ServerConfig::new()
        .user_password("alice", "pa")
        .start()
        .await
        .unwrap();
    let rec = Recorder::new();
    let client = rec
        .install(
            fast()
                .user_and_password("alice", "pa")
                .ignore_auth_error_abort(true),
        )
        .connect(server.url())
        .await
        .unwrap();
    let mut sub = client.subscribe("s").await.unwrap();
    client.flush().await.unwrap();
    server
        .reload(ServerConfig::new().user_password("bob", "pb"))
        .await
        .unwrap();
    rec.wait_count("4 auth failures", 4, auth_failure).await;
    assert_ne!(client.status(), Status::Closed);
    server
        .reload(ServerConfig::new().user_password("alice", "pa"))
        .await
        .unwrap();
    rec.wait_count("Reconnected", 1, is_reconnected).await;
    client
        .publish("s", Bytes::from_static(b"back"))
        .await
        .unwrap();
    assert_eq!(
        next_msg(&mut sub).await.payload,
        Bytes::from_static(b"back")
    );
    assert_well_formed(&rec.events());
}

/// R50, R8: max_connections 1: a second connection is refused with 'maximum connections
/// exceeded'; with retry_on_failed_connect it keeps trying (R108, R109) and connects once the
/// first client has closed: Connected (not Reconnected, R83), buffered message delivered.
#[tokio::test]
async fn r50_max_connections_refused_then_retry_connects_when_a_slot_frees() {
    let server = ServerConfig::new()
        .max_connections(1)
        .start()
        .await
        .unwrap();
    let first = nats_client::connect(server.url()).await.unwrap();
    first.flush().await.unwrap();
    let err = fast().connect(server.url()).await.unwrap_err();
    assert!(
        matches!(&err, ConnectError::Server(e) if *e.kind() == ServerErrorKind::MaxConnectionsExceeded),
        "{err:?}"
    );

    let rec = Recorder::new();
    let second = rec
        .install(fast().retry_on_failed_connect(true))
        .connect(server.url())
        .await
        .unwrap();
    assert_eq!(second.status(), Status::Reconnecting);
    let mut sub = second.subscribe("q").await.unwrap();
    second
        .publish("q", Bytes::from_static(b"queued"))
        .await
        .unwrap();
    rec.wait_count("2 refused attempts", 2, is_failed).await;
    assert!(rec.events().iter().all(|e| !matches!(e, Event::Connected)));
    first.close().await;
    wait_status(&second, Status::Connected).await;
    rec.wait_count("Connected", 1, |e| matches!(e, Event::Connected))
        .await;
    assert_eq!(
        next_msg(&mut sub).await.payload,
        Bytes::from_static(b"queued")
    );
    assert_eq!(
        rec.count(is_reconnected),
        0,
        "R83: the first success is Connected"
    );
    assert_eq!(rec.count(is_disconnected), 0);
    let failures = rec.events();
    assert!(
        failures.iter().any(|e| matches!(e,
        Event::ReconnectFailed { error: ConnectError::Server(s), .. }
            if *s.kind() == ServerErrorKind::MaxConnectionsExceeded)),
        "{failures:?}"
    );
    within("flush", second.flush_timeout(Duration::from_secs(5)))
        .await
        .unwrap();
}
