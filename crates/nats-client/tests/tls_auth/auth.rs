//! Authentication against real servers: token, user/password, URL credentials, NKey, the
//! auth callback, and R110 configuration errors.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use nats_client::{Auth, ConnectError, ConnectOptions, Event};
use nats_testkit::{NatsServer, ServerConfig};

use crate::support::{round_trip, wait_event};

#[tokio::test]
async fn token() {
    let server = ServerConfig::new().token("t0ken").start().await.unwrap();
    let client = ConnectOptions::new()
        .token("t0ken")
        .connect(server.url())
        .await
        .unwrap();
    round_trip(&client).await;
    client.close().await;
    let err = ConnectOptions::new()
        .token("wrong")
        .connect(server.url())
        .await
        .unwrap_err();
    assert!(err.is_auth(), "{err:?}");
}

#[tokio::test]
async fn user_and_password() {
    let server = ServerConfig::new()
        .user_password("alice", "pa55")
        .start()
        .await
        .unwrap();
    let client = ConnectOptions::new()
        .user_and_password("alice", "pa55")
        .connect(server.url())
        .await
        .unwrap();
    round_trip(&client).await;
    client.close().await;
    let err = ConnectOptions::new()
        .user_and_password("alice", "nope")
        .connect(server.url())
        .await
        .unwrap_err();
    assert!(err.is_auth(), "{err:?}");
}

/// R28: credentials in the URL work and win over the options'; a URL user alone is a token.
#[tokio::test]
async fn r28_url_credentials_win() {
    let server = ServerConfig::new()
        .user_password("alice", "pa55")
        .start()
        .await
        .unwrap();
    let client = ConnectOptions::new()
        .user_and_password("alice", "wrong")
        .connect(format!("nats://alice:pa55@127.0.0.1:{}", server.port()))
        .await
        .unwrap();
    round_trip(&client).await;
    client.close().await;

    let server = ServerConfig::new().token("t0ken").start().await.unwrap();
    let client = ConnectOptions::new()
        .connect(format!("nats://t0ken@127.0.0.1:{}", server.port()))
        .await
        .unwrap();
    round_trip(&client).await;
    client.close().await;
}

fn nkey_server_conf(public: &str) -> String {
    format!("authorization {{\n  users = [\n    {{ nkey: {public} }}\n  ]\n}}")
}

/// An NKey user: the seed signs the server nonce.
#[tokio::test]
async fn nkey_user() {
    let user = nkeys::KeyPair::new_user();
    let server = ServerConfig::new()
        .extra(nkey_server_conf(&user.public_key()))
        .start()
        .await
        .unwrap();
    let client = ConnectOptions::new()
        .nkey(user.seed().unwrap())
        .connect(server.url())
        .await
        .unwrap();
    round_trip(&client).await;
    client.close().await;

    let stranger = nkeys::KeyPair::new_user();
    let err = ConnectOptions::new()
        .nkey(stranger.seed().unwrap())
        .connect(server.url())
        .await
        .unwrap_err();
    assert!(err.is_auth(), "{err:?}");
}

/// R27: the auth callback runs for every CONNECT with that server's nonce; an `Err` from it is
/// a `Credentials` error for that attempt.
#[tokio::test]
async fn r27_auth_callback_runs_for_every_connect() {
    let user = nkeys::KeyPair::new_user();
    let seed = user.seed().unwrap();
    let mut server = ServerConfig::new()
        .extra(nkey_server_conf(&user.public_key()))
        .start()
        .await
        .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let nonces = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (c, n) = (Arc::clone(&calls), Arc::clone(&nonces));
    let client = ConnectOptions::new()
        .auth_callback(move |nonce: &[u8]| {
            c.fetch_add(1, Ordering::SeqCst);
            n.lock().unwrap().push(nonce.to_vec());
            Auth::nkey_signed(&seed, nonce)
        })
        .reconnect_wait(std::time::Duration::from_millis(50))
        .connect(server.url())
        .await
        .unwrap();
    let mut events = client.events();
    round_trip(&client).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    server.restart().await.unwrap();
    wait_event(&mut events, |e| matches!(e, Event::Reconnected)).await;
    round_trip(&client).await;
    let seen = nonces.lock().unwrap().clone();
    assert!(seen.len() >= 2);
    assert!(
        seen.iter().all(|n| !n.is_empty()),
        "the server sent a nonce each time"
    );
    assert_ne!(
        seen[0],
        seen[seen.len() - 1],
        "each attempt signs its own nonce"
    );
    client.close().await;

    let err = ConnectOptions::new()
        .auth_callback(|_: &[u8]| Err("vault unavailable".to_string()))
        .connect(server.url())
        .await
        .unwrap_err();
    assert!(matches!(&err, ConnectError::Credentials(m) if m.contains("vault unavailable")));
}

/// The callback can also supply user and password (re-evaluated per attempt).
#[tokio::test]
async fn auth_callback_user_and_password() {
    let server = ServerConfig::new()
        .user_password("bob", "b0b")
        .start()
        .await
        .unwrap();
    let client = ConnectOptions::new()
        .auth_callback(|_: &[u8]| {
            Ok(Auth {
                user: Some("bob".into()),
                pass: Some("b0b".into()),
                ..Auth::default()
            })
        })
        .connect(server.url())
        .await
        .unwrap();
    round_trip(&client).await;
    client.close().await;
}

/// R110: conflicting or invalid auth/TLS settings are returned by `connect` synchronously, even
/// with retry_on_failed_connect and no server running.
#[tokio::test]
async fn r110_conflicting_settings_are_configuration_errors() {
    let seed = nkeys::KeyPair::new_user().seed().unwrap();
    let cases: Vec<(&str, ConnectOptions)> = vec![
        (
            "token+user",
            ConnectOptions::new().token("t").user_and_password("u", "p"),
        ),
        (
            "token+nkey",
            ConnectOptions::new().token("t").nkey(seed.clone()),
        ),
        (
            "creds+callback",
            ConnectOptions::new()
                .credentials_file("/nonexistent.creds")
                .auth_callback(|_: &[u8]| Ok(Auth::default())),
        ),
        (
            "user+callback",
            ConnectOptions::new()
                .user_and_password("u", "p")
                .auth_callback(|_: &[u8]| Ok(Auth::default())),
        ),
        ("bad seed", ConnectOptions::new().nkey("SUNOTASEED")),
        (
            "bad creds",
            ConnectOptions::new().credentials("not a creds file"),
        ),
        (
            "config+ca",
            ConnectOptions::new()
                .tls_client_config(
                    nats_client::rustls::ClientConfig::builder_with_provider(Arc::new(
                        nats_client::rustls::crypto::ring::default_provider(),
                    ))
                    .with_safe_default_protocol_versions()
                    .unwrap()
                    .with_root_certificates(nats_client::rustls::RootCertStore::empty())
                    .with_no_client_auth(),
                )
                .tls_root_certificates("/ca.pem"),
        ),
    ];
    let port = nats_testkit::free_port();
    for (what, opts) in cases {
        let err = opts
            .retry_on_failed_connect(true)
            .connect(format!("nats://127.0.0.1:{port}"))
            .await
            .err()
            .unwrap_or_else(|| panic!("{what}: connect succeeded"));
        assert!(
            matches!(err, ConnectError::InvalidOptions(_)),
            "{what}: {err:?}"
        );
        assert!(!err.to_string().contains("SUNOTASEED"), "{what}: {err}");
    }
}

/// R48-style: a server that rejects the credentials is an auth error; a plain server accepts a
/// client that carries credentials it does not need.
#[tokio::test]
async fn credentials_against_open_server_are_harmless() {
    let server = NatsServer::start().await.unwrap();
    let client = ConnectOptions::new()
        .token("unused")
        .connect(server.url())
        .await
        .unwrap();
    round_trip(&client).await;
    client.close().await;
}
