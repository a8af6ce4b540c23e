//! TLS: server-only, mutual, wrong CA, required by either side, certificate rotation, TLS first.

use std::sync::Arc;
use std::time::Duration;

use nats_client::rustls;
use nats_client::{ConnectError, ConnectOptions, Event};
use nats_testkit::{NatsServer, ScriptedServer, ServerConfig};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::support::{quote, round_trip, wait_event, within, Pki};

async fn tls_server(pki: &Pki, verify: bool) -> NatsServer {
    pki.issue("server", "nats-server", false);
    ServerConfig::new()
        .extra(pki.server_tls_block("server", verify))
        .start()
        .await
        .unwrap()
}

/// Server-only TLS verified with a CA file, by `tls://` URL (R6) and by `require_tls`.
#[tokio::test]
async fn server_tls_with_ca_file() {
    let pki = Pki::new("test CA");
    let server = tls_server(&pki, false).await;
    let client = ConnectOptions::new()
        .tls_root_certificates(pki.ca_file())
        .connect(format!("tls://localhost:{}", server.port()))
        .await
        .unwrap();
    round_trip(&client).await;
    assert!(client.connected_url().unwrap().starts_with("tls://"));
    client.close().await;

    // nats:// URL + IP address verified against the certificate's IP SAN.
    let client = ConnectOptions::new()
        .require_tls(true)
        .tls_root_certificates(pki.ca_file())
        .connect(server.url())
        .await
        .unwrap();
    round_trip(&client).await;
    client.close().await;
}

/// R30: a server that requires TLS gets TLS even though the client did not ask for it.
#[tokio::test]
async fn r30_server_requiring_tls_is_upgraded_silently() {
    let pki = Pki::new("test CA");
    let server = tls_server(&pki, false).await;
    let client = ConnectOptions::new()
        .tls_root_certificates(pki.ca_file())
        .require_tls(false)
        .connect(server.url())
        .await
        .unwrap();
    assert!(client.server_info().tls_required);
    round_trip(&client).await;
    client.close().await;
}

/// R30: a client that requires TLS against a server without TLS gets a typed error.
#[tokio::test]
async fn r30_client_requiring_tls_against_plain_server_fails() {
    let server = NatsServer::start().await.unwrap();
    let err = ConnectOptions::new()
        .require_tls(true)
        .connect(server.url())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ConnectError::SecureConnectionWanted),
        "{err:?}"
    );
    assert!(err.is_tls());
    let err = ConnectOptions::new()
        .connect(format!("tls://127.0.0.1:{}", server.port()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ConnectError::SecureConnectionWanted),
        "{err:?}"
    );
}

/// A server certificate from another CA fails verification with a typed error; verification
/// is on by default and only the loudly named option skips it.
#[tokio::test]
async fn wrong_ca_is_a_typed_error() {
    let pki = Pki::new("server CA");
    let other = Pki::new("unrelated CA");
    let server = tls_server(&pki, false).await;
    let err = ConnectOptions::new()
        .tls_root_certificates(other.ca_file())
        .connect(server.url())
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectError::TlsCertificate(_)), "{err:?}");
    assert!(err.is_tls());

    let client = ConnectOptions::new()
        .dangerous_accept_invalid_certs(true)
        .connect(server.url())
        .await
        .unwrap();
    round_trip(&client).await;
    client.close().await;
}

/// Mutual TLS with `verify: true`: no client certificate is refused, a good one is accepted.
#[tokio::test]
async fn mutual_tls_verify_true() {
    let pki = Pki::new("test CA");
    let server = tls_server(&pki, true).await;
    let (cert, key) = pki.issue("client", "client-1", true);
    let err = ConnectOptions::new()
        .tls_root_certificates(pki.ca_file())
        .connect(server.url())
        .await
        .unwrap_err();
    assert!(
        err.is_tls() || matches!(err, ConnectError::Io(_)),
        "{err:?}"
    );

    let client = ConnectOptions::new()
        .tls_root_certificates(pki.ca_file())
        .tls_client_cert(&cert, &key)
        .connect(server.url())
        .await
        .unwrap();
    round_trip(&client).await;
    client.close().await;

    // Missing certificate files: a typed TLS error naming the file.
    let err = ConnectOptions::new()
        .tls_root_certificates(pki.ca_file())
        .tls_client_cert(pki.path("nope.pem"), &key)
        .connect(server.url())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectError::Tls(m) if m.contains("nope.pem")),
        "{err:?}"
    );
}

/// A user-built rustls `ClientConfig` is used as given (mutual TLS through it).
#[tokio::test]
async fn custom_client_config() {
    let pki = Pki::new("test CA");
    let server = tls_server(&pki, true).await;
    let (cert, key) = pki.issue("client", "client-1", true);
    let config = rustls_config(&pki, Some((&cert, &key)));
    let client = ConnectOptions::new()
        .tls_client_config(config)
        .connect(server.url())
        .await
        .unwrap();
    round_trip(&client).await;
    client.close().await;
}

fn rustls_config(
    pki: &Pki,
    client: Option<(&std::path::Path, &std::path::Path)>,
) -> rustls::ClientConfig {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(pki.ca_file()).unwrap())
        .unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    match client {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_file(cert).unwrap()],
                PrivateKeyDer::from_pem_file(key).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    }
}

/// R27: certificate files are read for every attempt. The server restarts trusting a new
/// client CA; the client's certificate files were replaced meanwhile; the reconnect presents
/// the new certificate and succeeds.
#[tokio::test]
async fn r27_rotated_client_certificate_after_restart() {
    let server_pki = Pki::new("server CA");
    let old_clients = Pki::new("old client CA");
    let new_clients = Pki::new("new client CA");
    server_pki.issue("server", "nats-server", false);
    let client_ca = server_pki.path("client-ca.pem");
    std::fs::copy(old_clients.ca_file(), &client_ca).unwrap();
    let block = format!(
        "tls {{\n  cert_file: {}\n  key_file: {}\n  ca_file: {}\n  verify: true\n  timeout: 2\n}}",
        quote(&server_pki.path("server-cert.pem")),
        quote(&server_pki.path("server-key.pem")),
        quote(&client_ca),
    );
    let mut server = ServerConfig::new().extra(block).start().await.unwrap();

    // The client's files live in one place; both CAs issue into their own dirs.
    let (old_cert, old_key) = old_clients.issue("client", "client", true);
    let cert = server_pki.path("client-cert.pem");
    let key = server_pki.path("client-key.pem");
    std::fs::copy(&old_cert, &cert).unwrap();
    std::fs::copy(&old_key, &key).unwrap();

    let client = ConnectOptions::new()
        .tls_root_certificates(server_pki.ca_file())
        .tls_client_cert(&cert, &key)
        .reconnect_wait(Duration::from_millis(100))
        .reconnect_jitter(Duration::ZERO, Duration::ZERO)
        .max_reconnects(None)
        .connect(server.url())
        .await
        .unwrap();
    let mut events = client.events();
    round_trip(&client).await;

    server.kill();
    wait_event(&mut events, |e| matches!(e, Event::Disconnected { .. })).await;
    std::fs::copy(new_clients.ca_file(), &client_ca).unwrap();
    let (new_cert, new_key) = new_clients.issue("client", "client", true);
    std::fs::copy(&new_cert, &cert).unwrap();
    std::fs::copy(&new_key, &key).unwrap();
    server.restart().await.unwrap();

    wait_event(&mut events, |e| matches!(e, Event::Reconnected)).await;
    round_trip(&client).await;
    client.close().await;

    // The old certificate is really refused by the restarted server.
    let err = ConnectOptions::new()
        .tls_root_certificates(server_pki.ca_file())
        .tls_client_cert(&old_cert, &old_key)
        .connect(server.url())
        .await;
    assert!(err.is_err());
}

/// R30 `tls_first`: the client starts TLS before the server's INFO (`handshake_first`, which
/// nats-server 2.9 lacks, so the server side is scripted with tokio-rustls).
#[tokio::test]
async fn tls_first_through_scripted_server() {
    let pki = Pki::new("test CA");
    let (cert, key) = pki.issue("server", "scripted", false);
    let acceptor = tokio_rustls::TlsAcceptor::from(server_config(&cert, &key));
    let scripted = ScriptedServer::start().await.unwrap();
    let port = scripted.port();
    let server = tokio::spawn(async move {
        let mut conn = scripted.accept().await.unwrap();
        // The first bytes must be a TLS ClientHello: nothing was sent by us yet.
        let tls = acceptor.accept(conn.stream()).await.unwrap();
        let mut tls = BufReader::new(tls);
        let mut info = nats_testkit::default_info(port);
        info.tls_required = true;
        let mut out = bytes::BytesMut::new();
        nats_proto::encode_info(&mut out, &info);
        tls.get_mut().write_all(&out).await.unwrap();
        tls.get_mut().flush().await.unwrap();
        let mut line = String::new();
        tls.read_line(&mut line).await.unwrap();
        assert!(line.starts_with("CONNECT "), "{line}");
        let connect: serde_json::Value =
            serde_json::from_str(line.trim_start_matches("CONNECT ").trim()).unwrap();
        assert_eq!(connect["tls_required"], true);
        line.clear();
        tls.read_line(&mut line).await.unwrap();
        assert_eq!(line, "PING\r\n");
        tls.get_mut().write_all(b"PONG\r\n").await.unwrap();
        tls.get_mut().flush().await.unwrap();
        // One publish through the client's writer: it must arrive without another write.
        line.clear();
        tls.read_line(&mut line).await.unwrap();
        line
    });
    let client = ConnectOptions::new()
        .tls_first(true)
        .tls_root_certificates(pki.ca_file())
        .connect(format!("nats://localhost:{port}"))
        .await
        .unwrap();
    client
        .publish("tls.first", nats_client::Bytes::from_static(b"x"))
        .await
        .unwrap();
    let line = within("the scripted server", server).await.unwrap();
    assert_eq!(line, "PUB tls.first 1\r\n");
    client.close().await;
}

/// R30 without tls_first: a scripted server that starts TLS first never gets an INFO-driven
/// client to talk; the attempt times out (R22) instead of hanging.
#[tokio::test]
async fn without_tls_first_a_handshake_first_server_times_out() {
    let scripted = ScriptedServer::start().await.unwrap();
    let port = scripted.port();
    let _keep = tokio::spawn(async move {
        let mut conn = scripted.accept().await.unwrap();
        conn.hang(Duration::from_secs(5)).await;
    });
    let err = ConnectOptions::new()
        .require_tls(true)
        .connection_timeout(Duration::from_millis(300))
        .connect(format!("nats://127.0.0.1:{port}"))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
}

fn server_config(cert: &std::path::Path, key: &std::path::Path) -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![CertificateDer::from_pem_file(cert).unwrap()],
        PrivateKeyDer::from_pem_file(key).unwrap(),
    )
    .unwrap();
    Arc::new(config)
}

/// Plays one TLS-upgraded NATS handshake on a scripted connection: plain INFO (tls_required,
/// optionally announcing `connect_urls`), TLS accept, CONNECT + PING, PONG. Returns the TLS
/// stream so the test can keep or drop it.
async fn scripted_tls_handshake(
    conn: &mut nats_testkit::ScriptedConn,
    acceptor: &tokio_rustls::TlsAcceptor,
    port: u16,
    connect_urls: Vec<String>,
) -> Result<(), String> {
    let mut info = nats_testkit::default_info(port);
    info.tls_required = true;
    info.connect_urls = connect_urls;
    conn.send_info(&info).await.map_err(|e| e.to_string())?;
    let tls = acceptor
        .accept(conn.stream())
        .await
        .map_err(|e| format!("TLS accept: {e}"))?;
    let mut tls = BufReader::new(tls);
    let mut line = String::new();
    tls.read_line(&mut line).await.map_err(|e| e.to_string())?;
    if !line.starts_with("CONNECT ") {
        return Err(format!("expected CONNECT, got {line:?}"));
    }
    line.clear();
    tls.read_line(&mut line).await.map_err(|e| e.to_string())?;
    tls.get_mut()
        .write_all(b"PONG\r\n")
        .await
        .map_err(|e| e.to_string())?;
    tls.get_mut().flush().await.map_err(|e| e.to_string())?;
    Ok(())
}

/// R29: a discovered bare-IP server is verified against the seed's host name. The certificate
/// only names `localhost` (no IP SAN), so the reconnect to `127.0.0.1` succeeds only when the
/// client verifies `localhost`.
#[tokio::test]
async fn r29_discovered_bare_ip_verified_with_seed_name() {
    let pki = Pki::new("test CA");
    let (cert, key) = pki.issue_for("server", "localhost only", false, false);
    let acceptor = tokio_rustls::TlsAcceptor::from(server_config(&cert, &key));
    let seed = ScriptedServer::start().await.unwrap();
    let discovered = ScriptedServer::start().await.unwrap();
    let (seed_port, disc_port) = (seed.port(), discovered.port());

    let a = acceptor.clone();
    let seed_task = tokio::spawn(async move {
        let mut conn = seed.accept().await.unwrap();
        scripted_tls_handshake(
            &mut conn,
            &a,
            seed_port,
            vec![format!("127.0.0.1:{disc_port}")],
        )
        .await
        .unwrap();
        conn
    });
    let client = ConnectOptions::new()
        .tls_root_certificates(pki.ca_file())
        .no_randomize(true)
        .reconnect_wait(Duration::from_millis(50))
        .connect(format!("tls://localhost:{seed_port}"))
        .await
        .unwrap();
    let mut events = client.events();
    let seed_conn = within("the seed handshake", seed_task).await.unwrap();
    let disc_task = tokio::spawn(async move {
        let mut conn = discovered.accept().await.unwrap();
        scripted_tls_handshake(&mut conn, &acceptor, disc_port, Vec::new()).await?;
        Ok::<_, String>(conn)
    });
    // Dropping the seed's connection makes the client move to the discovered server.
    drop(seed_conn);
    let seen = wait_event(&mut events, |e| {
        matches!(e, Event::Reconnected | Event::ReconnectFailed { .. })
    })
    .await;
    assert!(matches!(seen.last(), Some(Event::Reconnected)), "{seen:?}");
    let _conn = within("the discovered handshake", disc_task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        client.connected_url().unwrap(),
        format!("tls://127.0.0.1:{disc_port}")
    );
    client.close().await;
}
