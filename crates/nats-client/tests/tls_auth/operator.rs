//! Operator mode (decentralised JWT auth) with a memory resolver; operator, account and user
//! JWTs are generated at test time. Credentials files are re-read on every attempt (R27), an
//! expired user is an event and recovers once the file is replaced (R46), and the same auth
//! error twice from one server ends reconnecting (R44).

use std::time::Duration;

use nats_client::{Auth, ConnectError, ConnectOptions, ConnectionError, Event, ServerErrorKind};
use nats_testkit::{NatsServer, ServerConfig};

use crate::support::{creds_text, in_secs, round_trip, wait_event, write_creds, Operator};

async fn operator_server(op: &Operator) -> NatsServer {
    ServerConfig::new()
        .extra(op.server_conf())
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn credentials_file_and_in_memory_credentials() {
    let op = Operator::new();
    let server = operator_server(&op).await;
    let (jwt, seed) = op.user("alice", None);
    let path = op.dir.path().join("alice.creds");
    write_creds(&path, &jwt, &seed);

    let client = ConnectOptions::new()
        .credentials_file(&path)
        .connect(server.url())
        .await
        .unwrap();
    round_trip(&client).await;
    client.close().await;

    let client = ConnectOptions::new()
        .credentials(creds_text(&jwt, &seed))
        .connect(server.url())
        .await
        .unwrap();
    round_trip(&client).await;
    client.close().await;

    // Without credentials the operator-mode server refuses.
    let err = ConnectOptions::new()
        .connect(server.url())
        .await
        .unwrap_err();
    assert!(err.is_auth(), "{err:?}");

    // A missing credentials file fails the attempt with a typed error naming the file.
    let err = ConnectOptions::new()
        .credentials_file(op.dir.path().join("missing.creds"))
        .connect(server.url())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectError::Credentials(m) if m.contains("missing.creds")),
        "{err:?}"
    );
}

/// The auth callback can do decentralised auth: JWT + signature of the nonce.
#[tokio::test]
async fn auth_callback_with_user_jwt() {
    let op = Operator::new();
    let server = operator_server(&op).await;
    let (jwt, seed) = op.user("carol", None);
    let client = ConnectOptions::new()
        .auth_callback(move |nonce: &[u8]| {
            let signed = Auth::nkey_signed(&seed, nonce)?;
            Ok(Auth {
                jwt: Some(jwt.clone()),
                signature: signed.signature,
                ..Auth::default()
            })
        })
        .connect(server.url())
        .await
        .unwrap();
    round_trip(&client).await;
    client.close().await;
}

/// A user whose JWT expires in 2 s.
fn expiring_user(op: &Operator) -> (String, String) {
    op.user("short-lived", Some(in_secs(2)))
}

/// R46 + R27: the server expires the user ('User Authentication Expired', an event, not a
/// close); the file is replaced on disk; the reconnect re-reads it and recovers.
#[tokio::test]
async fn r46_expired_user_jwt_replaced_on_disk_recovers() {
    let op = Operator::new();
    let server = operator_server(&op).await;
    let (jwt, seed) = expiring_user(&op);
    let path = op.dir.path().join("user.creds");
    write_creds(&path, &jwt, &seed);
    let client = ConnectOptions::new()
        .credentials_file(&path)
        .reconnect_wait(Duration::from_millis(300))
        .reconnect_jitter(Duration::ZERO, Duration::ZERO)
        .connect(server.url())
        .await
        .unwrap();
    let mut events = client.events();
    round_trip(&client).await;

    let seen = wait_event(&mut events, |e| {
        matches!(e, Event::ServerError { error }
            if *error.kind() == ServerErrorKind::UserAuthenticationExpired)
    })
    .await;
    assert!(
        !seen.iter().any(|e| matches!(e, Event::Closed { .. })),
        "{seen:?}"
    );
    let (fresh_jwt, fresh_seed) = op.user("renewed", Some(in_secs(3600)));
    write_creds(&path, &fresh_jwt, &fresh_seed);

    let seen = wait_event(&mut events, |e| {
        matches!(e, Event::Reconnected | Event::Closed { .. })
    })
    .await;
    assert!(matches!(seen.last(), Some(Event::Reconnected)), "{seen:?}");
    round_trip(&client).await;
    client.close().await;
    drop(server);
}

/// R44: nothing replaces the expired JWT; each reconnect is refused with the same auth error,
/// and the second one from this server ends reconnecting with that error.
#[tokio::test]
async fn r44_expired_user_not_replaced_stops_reconnecting() {
    let op = Operator::new();
    let server = operator_server(&op).await;
    let (jwt, seed) = expiring_user(&op);
    let path = op.dir.path().join("user.creds");
    write_creds(&path, &jwt, &seed);
    let client = ConnectOptions::new()
        .credentials_file(&path)
        .reconnect_wait(Duration::from_millis(100))
        .reconnect_jitter(Duration::ZERO, Duration::ZERO)
        .max_reconnects(None)
        .connect(server.url())
        .await
        .unwrap();
    let mut events = client.events();
    let seen = wait_event(&mut events, |e| matches!(e, Event::Closed { .. })).await;
    let failures: Vec<_> = seen
        .iter()
        .filter(|e| matches!(e, Event::ReconnectFailed { .. }))
        .collect();
    assert!(failures.len() <= 3, "{seen:?}");
    match seen.last() {
        Some(Event::Closed {
            reason: ConnectionError::Connect(e),
        }) => assert!(e.is_auth(), "{e:?}"),
        other => panic!("unexpected end {other:?} after {seen:?}"),
    }
    drop(server);
}
