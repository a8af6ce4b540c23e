//! NatsServer: start, kill, stop, restart, drop, reload, lame duck.

use std::time::{Duration, Instant};

use nats_testkit::{nats_server_version, NatsServer, ServerConfig, TestkitError};

use crate::raw::{pid_alive, plain_connect, user_connect, Raw};

#[test]
fn version_is_at_least_2_9() {
    let version = nats_server_version().unwrap();
    assert!(version >= (2, 9, 0), "{version:?}");
}

#[tokio::test]
async fn start_kill_restart_on_the_same_port() {
    let mut server = NatsServer::start().await.unwrap();
    assert_eq!(server.url(), format!("nats://127.0.0.1:{}", server.port()));
    let port = server.port();
    let pid = server.pid().unwrap();
    assert!(server.is_running());

    let mut client = Raw::connect(server.addr()).await;
    let (info, answer) = client.handshake(plain_connect()).await;
    assert_eq!(answer, "PONG");
    assert_eq!(info["port"], port);

    server.kill();
    assert_eq!(server.pid(), None);
    assert!(!server.is_running());
    assert!(!pid_alive(pid), "pid {pid} still exists after kill");
    // The killed server's socket is gone: the client sees EOF or a reset.
    client.closed(Duration::from_secs(5)).await;
    assert!(tokio::net::TcpStream::connect(server.addr()).await.is_err());

    server.restart().await.unwrap();
    assert_eq!(server.port(), port);
    let new_pid = server.pid().unwrap();
    assert_ne!(new_pid, pid);
    let mut client = Raw::connect(server.addr()).await;
    assert_eq!(client.handshake(plain_connect()).await.1, "PONG");

    // Restart of a running server kills it first.
    server.restart().await.unwrap();
    assert!(!pid_alive(new_pid));
    assert_eq!(server.port(), port);
}

#[tokio::test]
async fn stop_is_graceful() {
    let mut server = NatsServer::start().await.unwrap();
    let pid = server.pid().unwrap();
    let started = Instant::now();
    server.stop().await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!server.is_running());
    assert!(!pid_alive(pid));
    let log = server.log();
    assert!(log.contains("Server Exiting"), "{log}");
    // Stopping again is a no-op.
    server.stop().await;
}

#[tokio::test]
async fn drop_kills_the_process() {
    let server = NatsServer::start().await.unwrap();
    let pid = server.pid().unwrap();
    let dir = server.config_path().parent().unwrap().to_owned();
    assert!(pid_alive(pid));
    drop(server);
    assert!(!pid_alive(pid), "pid {pid} survived the drop");
    assert!(!dir.exists(), "temp dir survived the drop");
}

#[test]
fn start_blocking_works_without_a_runtime() {
    let server = ServerConfig::new()
        .max_payload(4321)
        .start_blocking()
        .unwrap();
    let text = std::fs::read_to_string(server.config_path()).unwrap();
    assert!(text.contains("max_payload: 4321"), "{text}");
    assert!(server.log().contains("Server is ready"));
}

#[tokio::test]
async fn config_settings_reach_the_server() {
    let server = ServerConfig::new()
        .max_payload(2048)
        .token("s3cret")
        .start()
        .await
        .unwrap();
    let mut client = Raw::connect(server.addr()).await;
    let (info, answer) = client
        .handshake(serde_json::json!({"verbose": false, "auth_token": "s3cret"}))
        .await;
    assert_eq!(answer, "PONG");
    assert_eq!(info["max_payload"], 2048);
    assert_eq!(info["auth_required"], true);
}

#[tokio::test]
async fn fixed_port_and_max_connections() {
    let port = nats_testkit::free_port();
    let server = ServerConfig::new()
        .port(port)
        .max_connections(1)
        .start()
        .await
        .unwrap();
    assert_eq!(server.port(), port);
    let mut first = Raw::connect(server.addr()).await;
    assert_eq!(first.handshake(plain_connect()).await.1, "PONG");
    let mut second = Raw::connect(server.addr()).await;
    let mut line = second.line().await;
    if line.starts_with("INFO ") {
        line = second.line().await;
    }
    assert!(
        line.to_lowercase().contains("maximum connections exceeded"),
        "{line}"
    );
}

#[tokio::test]
async fn a_bad_config_fails_fast_with_the_log() {
    let started = Instant::now();
    let err = ServerConfig::new()
        .extra("this is { not a config")
        .start()
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    match err {
        TestkitError::Exited { log, .. } => assert!(!log.is_empty()),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn reload_applies_a_new_user() {
    let mut server = ServerConfig::new()
        .user_password("alice", "pa")
        .start()
        .await
        .unwrap();
    let mut alice = Raw::connect(server.addr()).await;
    assert_eq!(alice.handshake(user_connect("alice", "pa")).await.1, "PONG");
    let mut bob = Raw::connect(server.addr()).await;
    let (_, answer) = bob.handshake(user_connect("bob", "pb")).await;
    assert_eq!(answer, "-ERR 'Authorization Violation'");

    let pid = server.pid();
    server
        .reload(ServerConfig::new().user_password("bob", "pb"))
        .await
        .unwrap();
    assert_eq!(server.pid(), pid, "reload must not restart the process");
    let text = std::fs::read_to_string(server.config_path()).unwrap();
    assert!(text.contains(&format!("port: {}", server.port())));

    let mut bob = Raw::connect(server.addr()).await;
    assert_eq!(bob.handshake(user_connect("bob", "pb")).await.1, "PONG");
    let mut alice = Raw::connect(server.addr()).await;
    let (_, answer) = alice.handshake(user_connect("alice", "pa")).await;
    assert_eq!(answer, "-ERR 'Authorization Violation'");
}

#[tokio::test]
async fn reload_reports_a_rejected_config() {
    let mut server = NatsServer::start().await.unwrap();
    let err = server
        .reload(ServerConfig::new().extra("this is { not a config"))
        .await
        .unwrap_err();
    assert!(matches!(err, TestkitError::ReloadFailed(_)), "{err:?}");
    assert!(server.is_running());
}

#[tokio::test]
async fn lame_duck_sends_ldm_info_then_closes() {
    let mut server = ServerConfig::new()
        .lame_duck(Duration::from_millis(300), Duration::from_secs(30))
        .start()
        .await
        .unwrap();
    let mut client = Raw::connect(server.addr()).await;
    assert_eq!(client.handshake(plain_connect()).await.1, "PONG");
    // A client without "protocol":1 gets no async INFO, only the close.
    let mut old_client = Raw::connect(server.addr()).await;
    let (_, answer) = old_client
        .handshake(serde_json::json!({"verbose": false}))
        .await;
    assert_eq!(answer, "PONG");

    let started = Instant::now();
    server.lame_duck().unwrap();
    let line = client.line().await;
    let info: serde_json::Value =
        serde_json::from_str(line.strip_prefix("INFO ").expect("an INFO")).unwrap();
    assert_eq!(info["ldm"], true, "{line}");
    // Closed after the grace period, long before the 30 s duration.
    assert_eq!(client.closed(Duration::from_secs(10)).await, None);
    let closed_after = started.elapsed();
    assert!(
        closed_after >= Duration::from_millis(250),
        "{closed_after:?}"
    );
    assert!(closed_after < Duration::from_secs(5), "{closed_after:?}");
    // Clients are closed at most a second apart.
    assert_eq!(old_client.try_line(Duration::from_secs(5)).await, Ok(None));
    // And then the process exits on its own.
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.is_running() {
        assert!(Instant::now() < deadline, "still running after lame duck");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(server.log().contains("Entering lame duck mode"));
    assert!(matches!(server.lame_duck(), Err(TestkitError::NotRunning)));
}

#[tokio::test]
async fn server_pings_stale_clients() {
    let server = ServerConfig::new()
        .ping(Duration::from_millis(200), 1)
        .start()
        .await
        .unwrap();
    let mut client = Raw::connect(server.addr()).await;
    assert_eq!(client.handshake(plain_connect()).await.1, "PONG");
    assert_eq!(client.line().await, "PING");
    // Never answering gets us closed as stale.
    let mut lines = Vec::new();
    while let Ok(Some(line)) = client.try_line(Duration::from_secs(5)).await {
        lines.push(line);
    }
    assert!(
        lines.iter().any(|l| l.contains("Stale Connection")),
        "{lines:?}"
    );
}
