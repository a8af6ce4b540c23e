//! Connecting: URL forms, handshake, initial walk over the pool (R1, R2, R7, R8, R22–R26).

use std::time::Duration;

use nats_client::{ConnectError, ConnectOptions, Event, Status};
use nats_testkit::{free_port, NatsServer, ScriptedServer, ServerConfig};

use crate::util::{eventually, next_msg, wait_event, within};

#[tokio::test]
async fn connects_with_every_url_form() {
    let server = NatsServer::start().await.unwrap();
    let port = server.port();
    for url in [
        server.url(),
        format!("127.0.0.1:{port}"),
        format!("nats://127.0.0.1:{port}/"),
        format!(" nats://127.0.0.1:{port} , "),
    ] {
        let client = nats_client::connect(url.as_str()).await.unwrap();
        assert_eq!(client.status(), Status::Connected, "{url}");
        assert_eq!(
            client.connected_url().as_deref(),
            Some(format!("nats://127.0.0.1:{port}").as_str())
        );
        client.close().await;
    }
}

#[tokio::test]
async fn r7_initial_connect_walks_the_list_in_order() {
    let server = NatsServer::start().await.unwrap();
    let dead = format!("nats://127.0.0.1:{}", free_port());
    let client = ConnectOptions::new()
        .no_randomize(true)
        .connect([dead.as_str(), server.url().as_str()])
        .await
        .unwrap();
    assert_eq!(client.connected_url(), Some(server.url()));
    assert_eq!(client.servers().len(), 2);
}

#[tokio::test]
async fn r8_all_refused_is_no_servers() {
    let err = nats_client::connect(format!(
        "127.0.0.1:{},127.0.0.1:{}",
        free_port(),
        free_port()
    ))
    .await
    .unwrap_err();
    assert!(matches!(err, ConnectError::NoServers), "{err:?}");
}

#[tokio::test]
async fn r8_auth_failure_is_the_servers_error_and_a_later_good_server_wins() {
    let secured = ServerConfig::new()
        .user_password("alice", "secret")
        .start()
        .await
        .unwrap();
    let err = nats_client::connect(secured.url()).await.unwrap_err();
    assert!(err.is_auth(), "{err:?}");
    assert!(err.to_string().contains("Authorization"), "{err}");
    let ok = ConnectOptions::new()
        .user_and_password("alice", "secret")
        .connect(secured.url())
        .await
        .unwrap();
    ok.close().await;
    let url = format!("nats://alice:secret@127.0.0.1:{}", secured.port());
    let with_url_creds = nats_client::connect(url.as_str()).await.unwrap();
    assert!(!format!("{with_url_creds:?}").contains("secret"));
    assert!(!with_url_creds.servers()[0].contains("secret"));
}

#[tokio::test]
async fn token_auth() {
    let server = ServerConfig::new().token("s3cr3t").start().await.unwrap();
    assert!(nats_client::connect(server.url())
        .await
        .unwrap_err()
        .is_auth());
    let client = ConnectOptions::new()
        .token("s3cr3t")
        .connect(server.url())
        .await
        .unwrap();
    client.flush().await.unwrap();
    let url = format!("nats://s3cr3t@127.0.0.1:{}", server.port());
    nats_client::connect(url.as_str()).await.unwrap();
}

#[tokio::test]
async fn bad_urls_and_options_are_typed_errors() {
    for url in ["http://x:1", "nats://:1", "h:notaport"] {
        assert!(matches!(
            nats_client::connect(url).await,
            Err(ConnectError::InvalidUrl { .. })
        ));
    }
    assert!(matches!(
        ConnectOptions::new()
            .connection_timeout(Duration::ZERO)
            .retry_on_failed_connect(true)
            .connect("127.0.0.1:1")
            .await,
        Err(ConnectError::InvalidOptions(_))
    ));
}

#[tokio::test]
async fn r22_handshake_must_finish_within_connection_timeout() {
    let scripted = ScriptedServer::start().await.unwrap();
    let url = scripted.url();
    let connect = tokio::spawn(async move {
        ConnectOptions::new()
            .connection_timeout(Duration::from_millis(300))
            .connect(url.as_str())
            .await
    });
    // Accept and say nothing at all.
    let mut conn = within("accept", scripted.accept()).await.unwrap();
    let err = within("connect error", connect).await.unwrap().unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    conn.hang(Duration::from_millis(10)).await;
}

#[tokio::test]
async fn r23_half_info_or_garbage_fails_the_attempt() {
    for garbage in [
        &b"INFO {\"server_id\":"[..],
        b"INFOZ\r\n",
        b"HELLO WORLD\r\n",
        b"INFO not-json\r\n",
    ] {
        let scripted = ScriptedServer::start().await.unwrap();
        let url = scripted.url();
        let connect = tokio::spawn(async move {
            ConnectOptions::new()
                .connection_timeout(Duration::from_millis(500))
                .connect(url.as_str())
                .await
        });
        let mut conn = within("accept", scripted.accept()).await.unwrap();
        conn.send_raw(garbage).await.unwrap();
        let err = within("connect error", connect).await.unwrap().unwrap_err();
        assert!(
            matches!(err, ConnectError::Protocol(_) | ConnectError::TimedOut(_)),
            "{garbage:?}: {err:?}"
        );
    }
}

#[tokio::test]
async fn r24_connect_and_ping_are_sent_together_with_the_documented_fields() {
    let scripted = ScriptedServer::start().await.unwrap();
    let url = scripted.url();
    let connect = tokio::spawn(async move {
        ConnectOptions::new()
            .name("core-test")
            .connect(url.as_str())
            .await
    });
    let mut conn = within("accept", scripted.accept()).await.unwrap();
    let info = nats_testkit::default_info(scripted.port());
    conn.send_info(&info).await.unwrap();
    let json = within("CONNECT", conn.expect_connect()).await.unwrap();
    assert_eq!(json["verbose"], false);
    assert_eq!(json["pedantic"], false);
    assert_eq!(json["protocol"], 1);
    assert_eq!(json["headers"], true);
    assert_eq!(json["no_responders"], true);
    assert_eq!(json["echo"], true);
    assert_eq!(json["name"], "core-test");
    assert_eq!(json["lang"], "rust");
    assert!(json["version"].is_string());
    // R24: an INFO in the same segment as the PONG is processed by the reader.
    let mut info2 = info.clone();
    info2.max_payload = 1234;
    let mut bytes = b"PONG\r\n".to_vec();
    bytes.extend_from_slice(
        format!("INFO {}\r\n", serde_json::to_string(&info2).unwrap()).as_bytes(),
    );
    conn.send_raw(&bytes).await.unwrap();
    let client = within("connect", connect).await.unwrap().unwrap();
    eventually("INFO applied", || client.server_info().max_payload == 1234).await;
}

#[tokio::test]
async fn r25_err_instead_of_pong_is_the_servers_error() {
    let scripted = ScriptedServer::start().await.unwrap();
    let url = scripted.url();
    let connect = tokio::spawn(async move { nats_client::connect(url.as_str()).await });
    let mut conn = within("accept", scripted.accept()).await.unwrap();
    conn.send_info(&nats_testkit::default_info(scripted.port()))
        .await
        .unwrap();
    conn.expect_connect().await.unwrap();
    conn.send_err("Authorization Violation").await.unwrap();
    let err = within("connect error", connect).await.unwrap().unwrap_err();
    assert!(err.is_auth(), "{err:?}");
}

#[tokio::test]
async fn r25_verbose_ok_before_pong_is_tolerated() {
    let server = NatsServer::start().await.unwrap();
    let client = ConnectOptions::new()
        .verbose(true)
        .connect(server.url())
        .await
        .unwrap();
    client.publish("v", "x".into()).await.unwrap();
    client.flush().await.unwrap();
}

/// R20: a host name is resolved on every attempt (the first connect and a reconnect after a
/// restart), by default, with `no_randomize` and with `skip_host_lookup`.
#[tokio::test]
async fn r20_a_host_name_is_resolved_on_every_attempt() {
    let mut server = NatsServer::start().await.unwrap();
    let url = format!("nats://localhost:{}", server.port());
    let mut clients = Vec::new();
    for opts in [
        ConnectOptions::new(),
        ConnectOptions::new().no_randomize(true),
        ConnectOptions::new().skip_host_lookup(true),
    ] {
        let opts = opts
            .reconnect_wait(Duration::from_millis(50))
            .reconnect_jitter(Duration::ZERO, Duration::ZERO);
        let client = opts.connect(&url).await.unwrap();
        client.flush().await.unwrap();
        clients.push(client);
    }
    let mut events: Vec<_> = clients.iter().map(|c| c.events()).collect();
    server.restart().await.unwrap();
    for (client, events) in clients.iter().zip(&mut events) {
        wait_event(events, |e| matches!(e, Event::Reconnected)).await;
        let mut sub = client.subscribe("r20").await.unwrap();
        client.flush().await.unwrap();
        client.publish("r20", "x".into()).await.unwrap();
        assert_eq!(next_msg(&mut sub).await.payload, "x");
    }
}
