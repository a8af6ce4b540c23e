//! Test support: certificates generated with rcgen, a minimal NATS JWT encoder, creds files,
//! deadlines.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use data_encoding::BASE64URL_NOPAD;
use futures_util::StreamExt;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use serde_json::{json, Value};

#[path = "../common/wait.rs"]
mod wait;

pub(crate) use wait::{wait_event, within};

/// Publishes on a fresh subject and reads it back: the connection carries traffic.
pub(crate) async fn round_trip(client: &nats_client::Client) {
    let subject = client.new_inbox();
    let mut sub = client.subscribe(&subject).await.unwrap();
    client
        .publish(&subject, nats_client::Bytes::from_static(b"ping"))
        .await
        .unwrap();
    let msg = within("the round-trip message", sub.next())
        .await
        .expect("subscription ended");
    assert_eq!(&msg.payload[..], b"ping");
}

/// A CA and the certificates it signs, written as PEM files in a temp dir.
pub(crate) struct Pki {
    pub(crate) dir: tempfile::TempDir,
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    pub(crate) fn new(ca_name: &str) -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, ca_name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki { dir, ca };
        std::fs::write(pki.path("ca.pem"), pki.ca.pem()).unwrap();
        pki
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub(crate) fn ca_file(&self) -> PathBuf {
        self.path("ca.pem")
    }

    /// Writes `{stem}-cert.pem` and `{stem}-key.pem`: a leaf for localhost and 127.0.0.1.
    pub(crate) fn issue(&self, stem: &str, common_name: &str, client: bool) -> (PathBuf, PathBuf) {
        self.issue_for(stem, common_name, client, true)
    }

    /// Like [`Pki::issue`]; without the 127.0.0.1 IP SAN unless `with_ip`.
    pub(crate) fn issue_for(
        &self,
        stem: &str,
        common_name: &str,
        client: bool,
        with_ip: bool,
    ) -> (PathBuf, PathBuf) {
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        if with_ip {
            params
                .subject_alt_names
                .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
        }
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.extended_key_usages = if client {
            vec![ExtendedKeyUsagePurpose::ClientAuth]
        } else {
            vec![ExtendedKeyUsagePurpose::ServerAuth]
        };
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        let (cert_path, key_path) = (
            self.path(&format!("{stem}-cert.pem")),
            self.path(&format!("{stem}-key.pem")),
        );
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        (cert_path, key_path)
    }

    /// The nats-server `tls { }` block for the server leaf `stem`.
    pub(crate) fn server_tls_block(&self, stem: &str, verify: bool) -> String {
        let (cert, key) = (
            self.path(&format!("{stem}-cert.pem")),
            self.path(&format!("{stem}-key.pem")),
        );
        format!(
            "tls {{\n  cert_file: {}\n  key_file: {}\n  ca_file: {}\n  verify: {verify}\n  timeout: 2\n}}",
            quote(&cert),
            quote(&key),
            quote(&self.ca_file()),
        )
    }
}

pub(crate) fn quote(p: &Path) -> String {
    format!("{:?}", p.to_string_lossy())
}

// ---- NATS JWTs -------------------------------------------------------------------------------

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn jti() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    data_encoding::BASE32_NOPAD.encode(format!("{nanos}-{n}").as_bytes())
}

/// Encodes and signs a NATS v2 JWT: `nats` is the type-specific part, `type` and `version` are
/// added here.
pub(crate) fn encode_jwt(
    issuer: &nkeys::KeyPair,
    subject: &str,
    name: &str,
    kind: &str,
    mut nats: Value,
    expires: Option<u64>,
) -> String {
    nats["type"] = json!(kind);
    nats["version"] = json!(2);
    let mut claims = json!({
        "jti": jti(),
        "iat": now(),
        "iss": issuer.public_key(),
        "sub": subject,
        "name": name,
        "nats": nats,
    });
    if let Some(exp) = expires {
        claims["exp"] = json!(exp);
    }
    let header = BASE64URL_NOPAD.encode(br#"{"typ":"JWT","alg":"ed25519-nkey"}"#);
    let body = BASE64URL_NOPAD.encode(claims.to_string().as_bytes());
    let signing_input = format!("{header}.{body}");
    let sig = issuer.sign(signing_input.as_bytes()).unwrap();
    format!("{signing_input}.{}", BASE64URL_NOPAD.encode(&sig))
}

/// An operator with one account, and a server config for it (memory resolver).
pub(crate) struct Operator {
    pub(crate) dir: tempfile::TempDir,
    operator: nkeys::KeyPair,
    pub(crate) account: nkeys::KeyPair,
    operator_jwt: String,
    account_jwt: String,
    system: nkeys::KeyPair,
    system_jwt: String,
}

impl Operator {
    pub(crate) fn new() -> Operator {
        let operator = nkeys::KeyPair::new_operator();
        let account = nkeys::KeyPair::new_account();
        let system = nkeys::KeyPair::new_account();
        let operator_jwt = encode_jwt(
            &operator,
            &operator.public_key(),
            "test-operator",
            "operator",
            json!({ "system_account": system.public_key() }),
            None,
        );
        let limits = json!({
            "limits": {
                "subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
                "wildcards": true, "conn": -1, "leaf": -1
            },
            "default_permissions": { "pub": {}, "sub": {} }
        });
        let account_jwt = encode_jwt(
            &operator,
            &account.public_key(),
            "test-account",
            "account",
            limits.clone(),
            None,
        );
        let system_jwt = encode_jwt(
            &operator,
            &system.public_key(),
            "SYS",
            "account",
            limits,
            None,
        );
        Operator {
            dir: tempfile::tempdir().unwrap(),
            operator,
            account,
            operator_jwt,
            account_jwt,
            system,
            system_jwt,
        }
    }

    /// `operator`, `system_account`, `resolver: MEMORY` and `resolver_preload`.
    pub(crate) fn server_conf(&self) -> String {
        let op_path = self.dir.path().join("operator.jwt");
        std::fs::write(&op_path, &self.operator_jwt).unwrap();
        let _ = &self.operator;
        format!(
            "operator: {}\nsystem_account: {}\nresolver: MEMORY\nresolver_preload: {{\n  {}: {:?}\n  {}: {:?}\n}}",
            quote(&op_path),
            self.system.public_key(),
            self.account.public_key(),
            self.account_jwt,
            self.system.public_key(),
            self.system_jwt,
        )
    }

    /// A new user of the account: (user JWT, user seed).
    pub(crate) fn user(&self, name: &str, expires: Option<u64>) -> (String, String) {
        let user = nkeys::KeyPair::new_user();
        let jwt = encode_jwt(
            &self.account,
            &user.public_key(),
            name,
            "user",
            json!({ "pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1 }),
            expires,
        );
        (jwt, user.seed().unwrap())
    }
}

/// Seconds since the epoch, `secs` from now.
pub(crate) fn in_secs(secs: u64) -> u64 {
    now() + secs
}

/// The text of a `.creds` file.
pub(crate) fn creds_text(jwt: &str, seed: &str) -> String {
    format!(
        "-----BEGIN NATS USER JWT-----\n{jwt}\n------END NATS USER JWT------\n\n\
         ************************* IMPORTANT *************************\n\
         NKEY Seed printed below can be used to sign and prove identity.\n\
         NKEYs are sensitive and should be treated as secrets.\n\n\
         -----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n\n\
         *************************************************************\n"
    )
}

/// Writes a creds file atomically (write + rename), as a rotation tool would.
pub(crate) fn write_creds(path: &Path, jwt: &str, seed: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, creds_text(jwt, seed)).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}
