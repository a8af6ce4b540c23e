//! `wss://` with the TLS options of `tls://`: a test CA (rcgen) as roots, verification on
//! (an unknown CA fails), a custom rustls config, TLS under the WebSocket rather than a
//! second TLS stack (R6, R27, R29).

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use nats_client::{ConnectError, ServerAddr};
use nats_testkit::ServerConfig;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};

use crate::wait::next_msg;

/// A CA and the leaves it signs (localhost / 127.0.0.1), as PEM files in a temp dir.
struct Pki {
    dir: tempfile::TempDir,
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    fn new() -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "ws test CA");
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        let pki = Pki { dir, ca };
        pki.issue("server", false);
        pki
    }

    /// Writes `{stem}-cert.pem` and `{stem}-key.pem`.
    fn issue(&self, stem: &str, client: bool) {
        let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        leaf.subject_alt_names
            .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
        leaf.distinguished_name.push(DnType::CommonName, stem);
        leaf.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        let key = KeyPair::generate().unwrap();
        let cert = leaf.signed_by(&key, &self.ca).unwrap();
        std::fs::write(self.path(&format!("{stem}-cert.pem")), cert.pem()).unwrap();
        std::fs::write(self.path(&format!("{stem}-key.pem")), key.serialize_pem()).unwrap();
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

async fn wss_server(pki: &Pki) -> nats_testkit::NatsServer {
    ServerConfig::new()
        .websocket_tls(
            None,
            pki.path("server-cert.pem"),
            pki.path("server-key.pem"),
        )
        .start()
        .await
        .unwrap()
}

/// R6: wss with the test CA as roots (tls_root_certificates, as for tls://): the handshake
/// verifies the server and traffic flows; the connected URL is wss.
#[tokio::test]
async fn wss_with_a_test_ca_carries_traffic() {
    let pki = Pki::new();
    let server = wss_server(&pki).await;
    let url = server.ws_url().unwrap();
    assert!(url.starts_with("wss://"), "{url}");
    let client = nats_client::ConnectOptions::new()
        .tls_root_certificates(pki.path("ca.pem"))
        .connect(url.as_str())
        .await
        .unwrap();
    let connected: ServerAddr = client.connected_url().unwrap().parse().unwrap();
    assert!(
        connected.is_websocket() && connected.is_tls(),
        "{connected}"
    );
    let mut sub = client.subscribe("wss.a").await.unwrap();
    client
        .publish("wss.a", Bytes::from_static(b"secure"))
        .await
        .unwrap();
    assert_eq!(next_msg(&mut sub).await.payload, "secure");
    client.drain().await.unwrap();
}

/// Verification stays on over wss: without the test CA (the OS roots) the certificate is
/// rejected with the TLS certificate error, as over tls://.
#[tokio::test]
async fn wss_verifies_the_certificate() {
    let pki = Pki::new();
    let server = wss_server(&pki).await;
    let other = Pki::new();
    let err = nats_client::ConnectOptions::new()
        .tls_root_certificates(other.path("ca.pem"))
        .connect(server.ws_url().unwrap().as_str())
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectError::TlsCertificate(_)), "{err:?}");
}

/// A user-built rustls ClientConfig (tls_client_config) is used for wss as given.
#[tokio::test]
async fn wss_uses_a_custom_rustls_config() {
    use nats_client::rustls;
    let pki = Pki::new();
    let server = wss_server(&pki).await;
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(pki.path("ca.pem")).unwrap();
    use rustls::pki_types::pem::PemObject;
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let client = nats_client::ConnectOptions::new()
        .tls_client_config(config)
        .connect(server.ws_url().unwrap().as_str())
        .await
        .unwrap();
    client.flush().await.unwrap();
    client.close().await;
}

/// R6: a plain ws:// URL against a TLS websocket port fails as a TLS-less HTTP request would
/// (the server answers no upgrade), with a typed error; with require_tls the same URL is
/// dialled as wss and connects.
#[tokio::test]
async fn r6_require_tls_turns_ws_into_wss() {
    let pki = Pki::new();
    let server = wss_server(&pki).await;
    let plain = format!("ws://127.0.0.1:{}", server.ws_port().unwrap());
    let err = nats_client::ConnectOptions::new()
        .connect(plain.as_str())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ConnectError::WebSocket(_) | ConnectError::Io(_)),
        "{err:?}"
    );
    let client = nats_client::ConnectOptions::new()
        .require_tls(true)
        .tls_root_certificates(pki.path("ca.pem"))
        .connect(plain.as_str())
        .await
        .unwrap();
    assert!(client.connected_url().unwrap().starts_with("wss://"));
    client.close().await;
}

/// Mutual TLS over wss: a server that verifies client certificates accepts the client with
/// tls_client_cert (the same option as for tls://) and refuses it without one.
#[tokio::test]
async fn wss_presents_the_client_certificate() {
    let pki = Pki::new();
    pki.issue("client", true);
    let server = ServerConfig::new()
        .websocket_tls(
            None,
            pki.path("server-cert.pem"),
            pki.path("server-key.pem"),
        )
        .websocket_verify_clients(pki.path("ca.pem"))
        .start()
        .await
        .unwrap();
    let url = server.ws_url().unwrap();
    let client = nats_client::ConnectOptions::new()
        .tls_root_certificates(pki.path("ca.pem"))
        .tls_client_cert(pki.path("client-cert.pem"), pki.path("client-key.pem"))
        .connect(url.as_str())
        .await
        .unwrap();
    client.flush().await.unwrap();
    client.close().await;
    let err = nats_client::ConnectOptions::new()
        .tls_root_certificates(pki.path("ca.pem"))
        .connection_timeout(std::time::Duration::from_secs(2))
        .connect(url.as_str())
        .await
        .unwrap_err();
    assert!(
        !matches!(err, ConnectError::TimedOut(_)),
        "refused, not hung: {err:?}"
    );
}
