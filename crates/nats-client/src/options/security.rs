//! Authentication and TLS: user and password, token, NKey, credentials, an auth callback,
//! and the TLS settings.

use super::*;

impl ConnectOptions {
    /// User and password for every server. Credentials in a URL win (R28).
    ///
    /// # Examples
    ///
    /// ```
    /// let opts = nats_client::ConnectOptions::new().user_and_password("alice", "secret");
    /// ```
    pub fn user_and_password(mut self, user: impl Into<String>, pass: impl Into<String>) -> Self {
        self.auth.user = Some(user.into());
        self.auth.pass = Some(pass.into());
        self
    }

    /// Token for every server. A token in a URL wins (R28).
    ///
    /// # Examples
    ///
    /// ```
    /// let opts = nats_client::ConnectOptions::new().token("s3cr3t-token");
    /// ```
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.auth.token = Some(token.into());
        self
    }

    /// Require TLS on every server (R6, R30). A `tls://` URL does the same; a server whose
    /// INFO says `tls_required` is upgraded to TLS even without it (R30). With TLS on, the
    /// reconnect jitter uses its TLS bound (R16). When the server offers no TLS the attempt
    /// fails with [`ConnectError::SecureConnectionWanted`]. In a WebSocket pool it makes every
    /// `ws://` server `wss://` (TLS under the WebSocket, with these same TLS options).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_client::ConnectError> {
    /// let client = nats_client::ConnectOptions::new()
    ///     .require_tls(true)
    ///     .connect("nats://demo.nats.io:4222")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn require_tls(mut self, require: bool) -> Self {
        self.require_tls = require;
        self
    }

    /// Verify servers against the CA certificates of this PEM file instead of the operating
    /// system's roots. Turns TLS on (R6, R16). The file is read again for every connection
    /// attempt (R27). Every TLS option applies to `wss://` servers exactly as to `tls://`
    /// ones: the TLS session under the WebSocket is this client's rustls session.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_client::ConnectError> {
    /// let client = nats_client::ConnectOptions::new()
    ///     .tls_root_certificates("/etc/nats/ca.pem")
    ///     .connect("tls://nats.internal:4222")
    ///     .await?;
    /// // The same roots for a websocket server with TLS:
    /// let ws = nats_client::ConnectOptions::new()
    ///     .tls_root_certificates("/etc/nats/ca.pem")
    ///     .connect("wss://nats.internal:8443/nats")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn tls_root_certificates(mut self, path: impl Into<PathBuf>) -> Self {
        self.tls.root_certificates = Some(path.into());
        self.require_tls = true;
        self
    }

    /// Client certificate chain and private key (PEM files) for mutual TLS. Turns TLS on
    /// (R6, R16). Both files are read again for every connection attempt, so a rotated
    /// certificate is used after the next reconnect (R27).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_client::ConnectError> {
    /// let client = nats_client::ConnectOptions::new()
    ///     .tls_root_certificates("ca.pem")
    ///     .tls_client_cert("client-cert.pem", "client-key.pem")
    ///     .connect("tls://nats.internal:4222")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn tls_client_cert(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.tls.client_cert = Some((cert.into(), key.into()));
        self.require_tls = true;
        self
    }

    /// A complete rustls client configuration, used as given for every TLS connection (roots,
    /// client certificates, ALPN, verifier...). Turns TLS on (R6, R16). It cannot be combined
    /// with `tls_root_certificates`, `tls_client_cert` or `dangerous_accept_invalid_certs`
    /// (a configuration error returned by `connect`, R110). Build it with a crypto provider,
    /// e.g. `rustls::ClientConfig::builder_with_provider(ring::default_provider())`.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use nats_client::rustls;
    /// let provider = Arc::new(rustls::crypto::ring::default_provider());
    /// let mut roots = rustls::RootCertStore::empty();
    /// // roots.add(...)
    /// let config = rustls::ClientConfig::builder_with_provider(provider)
    ///     .with_safe_default_protocol_versions()?
    ///     .with_root_certificates(roots)
    ///     .with_no_client_auth();
    /// let client = nats_client::ConnectOptions::new()
    ///     .tls_client_config(config)
    ///     .connect("tls://nats.internal:4222")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn tls_client_config(mut self, config: rustls::ClientConfig) -> Self {
        self.tls.client_config = Some(Arc::new(config));
        self.require_tls = true;
        self
    }

    /// Do the TLS handshake right after the TCP connect, before the server's INFO, for servers
    /// configured with `handshake_first` (R30). Turns TLS on (R6, R16). A `wss://` server
    /// always gets its TLS handshake first, before the HTTP upgrade, with or without it.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_client::ConnectError> {
    /// let client = nats_client::ConnectOptions::new()
    ///     .tls_first(true)
    ///     .connect("tls://nats.internal:4222")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn tls_first(mut self, first: bool) -> Self {
        self.tls.first = first;
        if first {
            self.require_tls = true;
        }
        self
    }

    /// **Dangerous**: accept any server certificate, for any name, from any issuer. Traffic is
    /// encrypted but the server is not authenticated, so anybody in the path can read and
    /// change it. For tests only. Turns TLS on (R6, R16) when `true`.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_client::ConnectError> {
    /// let client = nats_client::ConnectOptions::new()
    ///     .dangerous_accept_invalid_certs(true)
    ///     .connect("tls://127.0.0.1:4222")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn dangerous_accept_invalid_certs(mut self, accept: bool) -> Self {
        self.tls.dangerous_accept_invalid_certs = accept;
        if accept {
            tracing::warn!(
                "TLS certificate verification disabled by dangerous_accept_invalid_certs"
            );
            self.require_tls = true;
        }
        self
    }

    /// Authenticate with an NKey: the seed (`SU…`) signs the nonce of the server of every
    /// attempt (R27) and the public key goes in CONNECT. The seed never appears in `Debug`,
    /// errors or logs. An invalid seed, or an NKey with another auth method, is a
    /// configuration error returned by `connect` (R110).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_client::ConnectError> {
    /// let client = nats_client::ConnectOptions::new()
    ///     .nkey("SUAMLK2ZNL35WSMW37E7UD4VZ7ELPKW7DHC3BWBSD2GCZ7IUQQXZIORRBU")
    ///     .connect("nats://127.0.0.1:4222")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn nkey(mut self, seed: impl Into<String>) -> Self {
        self.auth.nkey_seed = Some(seed.into());
        self
    }

    /// Authenticate with a credentials file (user JWT + NKey seed, as written by `nsc`). The
    /// file is read again for every attempt, so replacing an expired JWT on disk lets the next
    /// reconnect succeed (R27, R46); an unreadable file fails that attempt with
    /// [`ConnectError::Credentials`] (R31). Another auth method with it is a configuration
    /// error (R110).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_client::ConnectError> {
    /// let client = nats_client::ConnectOptions::new()
    ///     .credentials_file("/etc/nats/user.creds")
    ///     .connect("nats://127.0.0.1:4222")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn credentials_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.auth.credentials = Some(CredentialsSource::File(path.into()));
        self
    }

    /// Authenticate with the contents of a credentials file (user JWT + NKey seed), checked by
    /// `connect` (R110). Never shown by `Debug`.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_client::ConnectError> {
    /// let creds = std::env::var("NATS_CREDS").unwrap_or_default();
    /// let client = nats_client::ConnectOptions::new()
    ///     .credentials(creds)
    ///     .connect("nats://127.0.0.1:4222")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn credentials(mut self, jwt_and_seed: impl Into<String>) -> Self {
        self.auth.credentials = Some(CredentialsSource::Memory(jwt_and_seed.into()));
        self
    }

    /// Produce the credentials for every CONNECT (R27): the callback gets the server's nonce
    /// (empty when it sent none) and returns an [`Auth`]. Credentials in the URL still win for
    /// user, password and token (R28). An `Err` fails that attempt with
    /// [`ConnectError::Credentials`]. A static user, token, NKey or credentials with it is a
    /// configuration error (R28, R110).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_client::ConnectError> {
    /// use nats_client::{Auth, ConnectOptions};
    /// let client = ConnectOptions::new()
    ///     .auth_callback(|_nonce: &[u8]| {
    ///         let token = std::fs::read_to_string("/run/secrets/nats-token")
    ///             .map_err(|e| e.to_string())?;
    ///         Ok(Auth { token: Some(token.trim().to_string()), ..Auth::default() })
    ///     })
    ///     .connect("nats://127.0.0.1:4222")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn auth_callback(
        mut self,
        callback: impl Fn(&[u8]) -> Result<Auth, String> + Send + Sync + 'static,
    ) -> Self {
        self.auth.callback = Some(Arc::new(callback));
        self
    }
}
