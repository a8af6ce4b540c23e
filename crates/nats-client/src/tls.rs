//! TLS through rustls (ring provider) and tokio-rustls (R6, R16, R27, R29, R30).
//!
//! The rustls `ClientConfig` is built afresh for every connection attempt, so a rotated client
//! certificate, key or CA file is picked up by the next reconnect (R27). Certificate
//! verification is always on unless [`ConnectOptions::dangerous_accept_invalid_certs`] is set.
//! The name verified is the server's host, or for a discovered bare-IP server the seed's host
//! name (R29).
//!
//! [`ConnectOptions::dangerous_accept_invalid_certs`]: crate::ConnectOptions::dangerous_accept_invalid_certs

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::error::ConnectError;
use crate::server_addr::ServerAddr;

/// The TLS settings of [`ConnectOptions`](crate::ConnectOptions).
#[derive(Clone, Default)]
pub(crate) struct TlsOptions {
    /// PEM file of CA certificates replacing the OS roots.
    pub(crate) root_certificates: Option<PathBuf>,
    /// PEM files of the client certificate chain and its private key (mutual TLS).
    pub(crate) client_cert: Option<(PathBuf, PathBuf)>,
    /// A complete user-built configuration, used as given.
    pub(crate) client_config: Option<Arc<ClientConfig>>,
    /// TLS handshake before the server's INFO (servers with `handshake_first`).
    pub(crate) first: bool,
    /// Skip certificate verification entirely.
    pub(crate) dangerous_accept_invalid_certs: bool,
}

impl TlsOptions {
    /// A contradiction between the TLS settings, as a configuration error text (R110).
    pub(crate) fn conflicts(&self) -> Option<&'static str> {
        if self.client_config.is_some()
            && (self.root_certificates.is_some()
                || self.client_cert.is_some()
                || self.dangerous_accept_invalid_certs)
        {
            return Some(
                "tls_client_config replaces tls_root_certificates, tls_client_cert and \
                 dangerous_accept_invalid_certs; set those in the rustls ClientConfig instead",
            );
        }
        if self.dangerous_accept_invalid_certs && self.root_certificates.is_some() {
            return Some(
                "dangerous_accept_invalid_certs and tls_root_certificates contradict each other",
            );
        }
        None
    }
}

impl fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsOptions")
            .field("root_certificates", &self.root_certificates)
            .field(
                "client_cert",
                &self.client_cert.as_ref().map(|(cert, _)| cert),
            )
            .field("client_config", &self.client_config.is_some())
            .field("first", &self.first)
            .field(
                "dangerous_accept_invalid_certs",
                &self.dangerous_accept_invalid_certs,
            )
            .finish()
    }
}

/// The rustls configuration for one attempt: files are read now (R27).
pub(crate) fn client_config(opts: &TlsOptions) -> Result<Arc<ClientConfig>, ConnectError> {
    if let Some(config) = &opts.client_config {
        return Ok(Arc::clone(config));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| ConnectError::Tls(format!("cannot configure TLS: {e}")))?;
    let builder = if opts.dangerous_accept_invalid_certs {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate { provider }))
    } else {
        let roots = match &opts.root_certificates {
            Some(path) => Arc::new(load_roots(path)?),
            None => os_roots()?,
        };
        builder.with_root_certificates(roots)
    };
    let config = match &opts.client_cert {
        Some((cert, key)) => {
            let chain = load_certs(cert)?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                ConnectError::Tls(format!(
                    "cannot read a private key from {}: {e}",
                    key.display()
                ))
            })?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| ConnectError::Tls(format!("invalid client certificate or key: {e}")))?
        }
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, ConnectError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| {
            ConnectError::Tls(format!(
                "cannot read certificates from {}: {e}",
                path.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(ConnectError::Tls(format!(
            "no certificate found in {}",
            path.display()
        )));
    }
    Ok(certs)
}

fn load_roots(path: &Path) -> Result<RootCertStore, ConnectError> {
    let mut roots = RootCertStore::empty();
    for cert in load_certs(path)? {
        roots.add(cert).map_err(|e| {
            ConnectError::Tls(format!("invalid CA certificate in {}: {e}", path.display()))
        })?;
    }
    Ok(roots)
}

/// The operating system's roots, loaded once per process.
fn os_roots() -> Result<Arc<RootCertStore>, ConnectError> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    let roots = ROOTS.get_or_init(|| {
        let mut roots = RootCertStore::empty();
        let loaded = rustls_native_certs::load_native_certs();
        for error in &loaded.errors {
            tracing::debug!(%error, "could not load some OS root certificates");
        }
        let (added, ignored) = roots.add_parsable_certificates(loaded.certs);
        tracing::debug!(added, ignored, "loaded OS root certificates");
        Arc::new(roots)
    });
    if roots.is_empty() {
        return Err(ConnectError::Tls(
            "no root certificates found in the operating system; use tls_root_certificates".into(),
        ));
    }
    Ok(Arc::clone(roots))
}

/// The name to verify for `addr`: the seed's host name for a discovered bare IP (R29).
pub(crate) fn server_name(addr: &ServerAddr) -> Result<ServerName<'static>, ConnectError> {
    let name = addr.tls_name().unwrap_or_else(|| addr.host());
    ServerName::try_from(name.to_string())
        .map_err(|e| ConnectError::Tls(format!("invalid TLS server name {name:?}: {e}")))
}

/// Performs the client side of the TLS handshake over `io`. The configuration is built for
/// this attempt (R27) on a blocking thread, since it reads certificate and key files.
pub(crate) async fn upgrade<S>(
    opts: &TlsOptions,
    addr: &ServerAddr,
    io: S,
) -> Result<TlsStream<S>, ConnectError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let tls = opts.clone();
    let config = tokio::task::spawn_blocking(move || client_config(&tls))
        .await
        .map_err(|e| ConnectError::Tls(format!("loading the TLS configuration failed: {e}")))??;
    let name = server_name(addr)?;
    TlsConnector::from(config)
        .connect(name, io)
        .await
        .map_err(handshake_error)
}

/// Maps a failed TLS handshake: certificate problems become [`ConnectError::TlsCertificate`].
fn handshake_error(e: io::Error) -> ConnectError {
    let rustls_error = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match rustls_error {
        Some(rustls::Error::InvalidCertificate(reason)) => {
            ConnectError::TlsCertificate(describe_certificate_error(reason))
        }
        Some(other) => ConnectError::Tls(format!("handshake failed: {other}")),
        None if e.kind() == io::ErrorKind::UnexpectedEof => ConnectError::Tls(
            "the server closed the connection during the TLS handshake (client certificate \
             rejected?)"
                .into(),
        ),
        None => ConnectError::Tls(format!("handshake failed: {e}")),
    }
}

/// Why the server's certificate was rejected, in words. rustls names most reasons itself;
/// the rest come from webpki inside `Other`, whose text is the variant's name.
fn describe_certificate_error(reason: &rustls::CertificateError) -> String {
    use rustls::CertificateError as E;
    let plain = match reason {
        E::UnknownIssuer => {
            "the server's certificate is not signed by a trusted CA (unknown issuer; give the \
             CA that signed it with tls_root_certificates)"
        }
        E::Expired | E::ExpiredContext { .. } => "the server's certificate has expired",
        E::NotValidYet | E::NotValidYetContext { .. } => {
            "the server's certificate is not valid yet (check the clocks)"
        }
        E::NotValidForName | E::NotValidForNameContext { .. } => {
            "the server's certificate is not valid for the host name connected to"
        }
        E::BadSignature => "the server's certificate has a bad signature",
        E::BadEncoding => "the server's certificate is not correctly encoded",
        E::Revoked => "the server's certificate has been revoked",
        E::InvalidPurpose | E::InvalidPurposeContext { .. } => {
            "the server's certificate is not meant for a TLS server (extended key usage)"
        }
        E::UnhandledCriticalExtension => {
            "the server's certificate has a critical extension that cannot be processed"
        }
        E::ApplicationVerificationFailure => "the server's certificate was rejected",
        E::Other(other) => {
            let name = other.to_string();
            match name.as_str() {
                "CaUsedAsEndEntity" => {
                    "the server's certificate is a CA certificate, not a server certificate"
                }
                "EndEntityUsedAsCa" => {
                    "a server certificate is used as a CA in the server's certificate chain"
                }
                "CertDistrusted" => "the server's certificate is distrusted",
                "PathLenConstraintViolated" | "MaximumPathDepthExceeded" => {
                    "the server's certificate chain is too long for its CA"
                }
                "NameConstraintViolation" => {
                    "the server's certificate violates its CA's name constraints"
                }
                "UnsupportedCertVersion" => {
                    "the server's certificate is of an unsupported version (not X.509 v3)"
                }
                _ => return format!("the server's certificate was rejected ({name})"),
            }
        }
        other => return format!("the server's certificate was rejected ({other})"),
    };
    // rustls' own text carries the details (expected name, dates) where it has them.
    match reason {
        E::ExpiredContext { .. }
        | E::NotValidYetContext { .. }
        | E::NotValidForNameContext { .. } => {
            format!("{plain}: {reason}")
        }
        _ => plain.to_string(),
    }
}

/// The verifier of `dangerous_accept_invalid_certs`: accepts any certificate, still checks
/// handshake signatures.
#[derive(Debug)]
struct AcceptAnyCertificate {
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::options::ConnectOptions;

    #[test]
    fn r6_r16_tls_settings_turn_tls_on() {
        let on = [
            ConnectOptions::new().tls_root_certificates("ca.pem"),
            ConnectOptions::new().tls_client_cert("c.pem", "k.pem"),
            ConnectOptions::new().tls_first(true),
            ConnectOptions::new().dangerous_accept_invalid_certs(true),
        ];
        for opts in on {
            assert!(opts.require_tls, "{opts:?}");
        }
        assert!(!ConnectOptions::new().tls_first(false).require_tls);
    }

    #[test]
    fn r29_bare_ip_verifies_the_seed_name() {
        let seed = ServerAddr::parse("tls://nats.example.com:4222").unwrap();
        let discovered = ServerAddr::parse("10.1.2.3:4222")
            .unwrap()
            .with_credentials_of(&seed);
        assert_eq!(
            server_name(&discovered).unwrap(),
            ServerName::try_from("nats.example.com").unwrap()
        );
        let plain = ServerAddr::parse("10.1.2.3:4222").unwrap();
        assert!(matches!(
            server_name(&plain).unwrap(),
            ServerName::IpAddress(_)
        ));
    }

    #[test]
    fn certificate_errors_are_said_in_words() {
        use rustls::{CertificateError as E, OtherError};
        #[derive(Debug)]
        struct Named(&'static str);
        impl fmt::Display for Named {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.0)
            }
        }
        impl std::error::Error for Named {}
        let ca = E::Other(OtherError(Arc::new(Named("CaUsedAsEndEntity"))));
        assert_eq!(
            describe_certificate_error(&ca),
            "the server's certificate is a CA certificate, not a server certificate"
        );
        assert!(
            describe_certificate_error(&E::UnknownIssuer).contains("not signed by a trusted CA")
        );
        assert!(describe_certificate_error(&E::Expired).contains("has expired"));
        assert!(describe_certificate_error(&E::NotValidForName).contains("host name"));
        assert!(describe_certificate_error(&E::BadSignature).contains("bad signature"));
        let odd = E::Other(OtherError(Arc::new(Named("SomethingNew"))));
        assert_eq!(
            describe_certificate_error(&odd),
            "the server's certificate was rejected (SomethingNew)"
        );
        for e in [ca, E::UnknownIssuer, odd] {
            let text = ConnectError::TlsCertificate(describe_certificate_error(&e)).to_string();
            assert!(!text.contains("Other("), "{text}");
        }
    }

    #[test]
    fn r27_missing_files_are_reported_per_attempt() {
        let opts = TlsOptions {
            root_certificates: Some("/nonexistent/ca.pem".into()),
            ..TlsOptions::default()
        };
        let err = client_config(&opts).unwrap_err();
        assert!(matches!(&err, ConnectError::Tls(m) if m.contains("/nonexistent/ca.pem")));
    }
}
