//! [`ServerConfig`]: what goes into the generated `nats-server.conf`.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use crate::{NatsServer, TestkitError};

/// `nats-server` 2.9.10 refuses a `lame_duck_duration` below this.
pub(crate) const MIN_LAME_DUCK_DURATION: Duration = Duration::from_secs(30);

/// Settings for one server, rendered to a config file in the server's temp dir.
///
/// Setters take and return the config by value. Unset values keep the server's defaults; the
/// client port is chosen free when [`port`](ServerConfig::port) is not set. Cluster routing is
/// added by [`Cluster`](crate::Cluster).
///
/// ```no_run
/// # async fn demo() -> Result<(), nats_testkit::TestkitError> {
/// use std::time::Duration;
/// use nats_testkit::ServerConfig;
///
/// let server = ServerConfig::new()
///     .user_password("alice", "s3cret")
///     .max_payload(1024)
///     .ping(Duration::from_millis(500), 2)
///     .start()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct ServerConfig {
    port: Option<u16>,
    server_name: Option<String>,
    auth: Option<Auth>,
    max_connections: Option<u32>,
    max_payload: Option<usize>,
    lame_duck: Option<(Duration, Duration)>,
    ping: Option<(Duration, u32)>,
    jetstream: bool,
    websocket: Option<WebSocket>,
    extra: String,
    pub(crate) cluster: Option<ClusterSettings>,
}

/// The `websocket { }` block.
#[derive(Debug, Clone)]
struct WebSocket {
    port: Option<u16>,
    /// `(cert_file, key_file)`; `None` is `no_tls: true`.
    tls: Option<(String, String)>,
    /// `ca_file` with `verify: true`: clients must present a certificate it signed.
    verify_ca: Option<String>,
    advertise: Option<String>,
}

#[derive(Debug, Clone)]
enum Auth {
    UserPassword(String, String),
    Token(String),
}

/// The `cluster { }` block of one node, set by [`Cluster`](crate::Cluster).
#[derive(Debug, Clone)]
pub(crate) struct ClusterSettings {
    pub(crate) name: String,
    pub(crate) port: u16,
    pub(crate) routes: Vec<u16>,
}

impl ServerConfig {
    /// A config with every server default and a free client port.
    ///
    /// ```no_run
    /// let config = nats_testkit::ServerConfig::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Listen on this client port instead of a free one.
    #[must_use]
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// The client port, if one was set.
    pub fn get_port(&self) -> Option<u16> {
        self.port
    }

    /// `server_name`, shown in INFO and the log.
    #[must_use]
    pub fn server_name(mut self, name: &str) -> Self {
        self.server_name = Some(name.to_owned());
        self
    }

    /// The `server_name`, if one was set.
    ///
    /// ```
    /// let config = nats_testkit::ServerConfig::new().server_name("a");
    /// assert_eq!(config.get_server_name(), Some("a"));
    /// ```
    pub fn get_server_name(&self) -> Option<&str> {
        self.server_name.as_deref()
    }

    /// Raw config text appended verbatim to the generated file (TLS blocks, accounts, ...).
    ///
    /// Calling it again appends more text.
    ///
    /// ```no_run
    /// let config = nats_testkit::ServerConfig::new().extra("max_control_line: 1024");
    /// ```
    #[must_use]
    pub fn extra(mut self, conf: impl Into<String>) -> Self {
        if !self.extra.is_empty() {
            self.extra.push('\n');
        }
        self.extra.push_str(&conf.into());
        self
    }

    /// `authorization { user, password }`. Replaces a [`token`](ServerConfig::token).
    #[must_use]
    pub fn user_password(mut self, user: &str, pass: &str) -> Self {
        self.auth = Some(Auth::UserPassword(user.to_owned(), pass.to_owned()));
        self
    }

    /// `authorization { token }`. Replaces a [`user_password`](ServerConfig::user_password).
    #[must_use]
    pub fn token(mut self, token: &str) -> Self {
        self.auth = Some(Auth::Token(token.to_owned()));
        self
    }

    /// `max_connections`: further clients get `-ERR 'maximum connections exceeded'`.
    #[must_use]
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = Some(n);
        self
    }

    /// `max_payload`, announced in INFO.
    #[must_use]
    pub fn max_payload(mut self, n: usize) -> Self {
        self.max_payload = Some(n);
        self
    }

    /// `lame_duck_grace_period` and `lame_duck_duration`.
    ///
    /// `nats-server` 2.9.10 refuses a duration below 30 s, so a shorter `duration` is raised to
    /// 30 s (and to `grace` + 1 s, as the grace period must be strictly shorter). What matters in a test is the grace period, which it accepts down to a few
    /// milliseconds: after [`NatsServer::lame_duck`] the server sends `INFO {"ldm":true}` at once
    /// (to clients that sent `"protocol":1`), waits `grace`, then closes its clients one by one,
    /// at most one second apart (the first right after the grace period), and exits.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// let config = nats_testkit::ServerConfig::new()
    ///     .lame_duck(Duration::from_millis(500), Duration::from_secs(30));
    /// ```
    #[must_use]
    pub fn lame_duck(mut self, grace: Duration, duration: Duration) -> Self {
        // The server also wants grace < duration.
        let duration = duration
            .max(MIN_LAME_DUCK_DURATION)
            .max(grace + Duration::from_secs(1));
        self.lame_duck = Some((grace, duration));
        self
    }

    /// The server's `ping_interval` and `ping_max` (outstanding PINGs before it closes a client
    /// as stale).
    #[must_use]
    pub fn ping(mut self, interval: Duration, max_out: u32) -> Self {
        self.ping = Some((interval, max_out));
        self
    }

    /// Enable JetStream: `jetstream { store_dir }` with the store in the server's temp dir
    /// (`<temp dir>/jetstream`), which survives [`NatsServer::restart`].
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_testkit::TestkitError> {
    /// let server = nats_testkit::ServerConfig::new().jetstream().start().await?;
    /// assert!(server.store_dir().is_some());
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn jetstream(mut self) -> Self {
        self.jetstream = true;
        self
    }

    /// Whether [`jetstream`](ServerConfig::jetstream) is on.
    ///
    /// ```
    /// assert!(nats_testkit::ServerConfig::new().jetstream().is_jetstream());
    /// assert!(!nats_testkit::ServerConfig::new().is_jetstream());
    /// ```
    pub fn is_jetstream(&self) -> bool {
        self.jetstream
    }

    /// A `websocket { }` block without TLS (`no_tls: true`) on `127.0.0.1:port`, or on a
    /// free port (chosen at start, kept across [`NatsServer::restart`]) when `port` is `None`.
    /// Clients connect to [`NatsServer::ws_url`]. Replaces an earlier websocket setting.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_testkit::TestkitError> {
    /// let server = nats_testkit::ServerConfig::new().websocket(None).start().await?;
    /// println!("{}", server.ws_url().expect("websocket enabled"));
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn websocket(mut self, port: Option<u16>) -> Self {
        self.websocket = Some(WebSocket {
            port,
            tls: None,
            verify_ca: None,
            advertise: None,
        });
        self
    }

    /// A `websocket { }` block with TLS (`tls { cert_file, key_file }`): clients connect to
    /// [`NatsServer::ws_url`], a `wss://` URL. `port` as in
    /// [`websocket`](ServerConfig::websocket).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_testkit::TestkitError> {
    /// let server = nats_testkit::ServerConfig::new()
    ///     .websocket_tls(None, "/tmp/pki/server-cert.pem", "/tmp/pki/server-key.pem")
    ///     .start()
    ///     .await?;
    /// assert!(server.ws_url().unwrap().starts_with("wss://"));
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn websocket_tls(
        mut self,
        port: Option<u16>,
        cert_file: impl AsRef<Path>,
        key_file: impl AsRef<Path>,
    ) -> Self {
        self.websocket = Some(WebSocket {
            port,
            tls: Some((
                cert_file.as_ref().to_string_lossy().into_owned(),
                key_file.as_ref().to_string_lossy().into_owned(),
            )),
            verify_ca: None,
            advertise: None,
        });
        self
    }

    /// Mutual TLS on the websocket port: its `tls { }` gets `ca_file` and `verify: true`, so a
    /// client must present a certificate signed by that CA. Needs
    /// [`websocket_tls`](ServerConfig::websocket_tls) first; does nothing without.
    ///
    /// ```no_run
    /// let config = nats_testkit::ServerConfig::new()
    ///     .websocket_tls(None, "/pki/server-cert.pem", "/pki/server-key.pem")
    ///     .websocket_verify_clients("/pki/ca.pem");
    /// ```
    #[must_use]
    pub fn websocket_verify_clients(mut self, ca_file: impl AsRef<Path>) -> Self {
        if let Some(ws) = self.websocket.as_mut().filter(|ws| ws.tls.is_some()) {
            ws.verify_ca = Some(ca_file.as_ref().to_string_lossy().into_owned());
        }
        self
    }

    /// The websocket block's `advertise` (`host:port`), the URL the server gives clients of
    /// its cluster in INFO `connect_urls`. Needs [`websocket`](ServerConfig::websocket) or
    /// [`websocket_tls`](ServerConfig::websocket_tls) first; does nothing without.
    ///
    /// ```no_run
    /// let config = nats_testkit::ServerConfig::new()
    ///     .websocket(Some(8080))
    ///     .websocket_advertise("localhost:8080");
    /// ```
    #[must_use]
    pub fn websocket_advertise(mut self, host_port: &str) -> Self {
        if let Some(ws) = &mut self.websocket {
            ws.advertise = Some(host_port.to_owned());
        }
        self
    }

    /// The websocket port, if a websocket block with a fixed port is set.
    ///
    /// ```
    /// let config = nats_testkit::ServerConfig::new().websocket(Some(8080));
    /// assert_eq!(config.get_websocket_port(), Some(8080));
    /// ```
    pub fn get_websocket_port(&self) -> Option<u16> {
        self.websocket.as_ref().and_then(|ws| ws.port)
    }

    /// Whether a websocket block is set, and with TLS: `Some(true)` for
    /// [`websocket_tls`](ServerConfig::websocket_tls).
    ///
    /// ```
    /// assert_eq!(nats_testkit::ServerConfig::new().websocket(None).websocket_tls_enabled(), Some(false));
    /// assert_eq!(nats_testkit::ServerConfig::new().websocket_tls_enabled(), None);
    /// ```
    pub fn websocket_tls_enabled(&self) -> Option<bool> {
        self.websocket.as_ref().map(|ws| ws.tls.is_some())
    }

    /// The websocket block with a free port filled in (at spawn; kept for restarts).
    pub(crate) fn with_websocket_port(mut self, pick: impl FnOnce() -> u16) -> Self {
        if let Some(ws) = &mut self.websocket {
            if ws.port.is_none() {
                ws.port = Some(pick());
            }
        }
        self
    }

    /// Start a server with this config and wait until it accepts clients.
    ///
    /// When no port was set and the chosen free port is taken before the server binds it, it
    /// retries on another port.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_testkit::TestkitError> {
    /// let server = nats_testkit::ServerConfig::new().token("t0k3n").start().await?;
    /// println!("{}", server.url());
    /// # Ok(()) }
    /// ```
    pub async fn start(self) -> Result<NatsServer, TestkitError> {
        NatsServer::start_with(self).await
    }

    /// [`start`](ServerConfig::start) without a runtime: blocks the thread while it polls.
    ///
    /// ```no_run
    /// let server = nats_testkit::ServerConfig::new().start_blocking()?;
    /// # Ok::<(), nats_testkit::TestkitError>(())
    /// ```
    pub fn start_blocking(self) -> Result<NatsServer, TestkitError> {
        NatsServer::start_with_blocking(self)
    }

    /// The config file text for a server on `port` logging to `log_file`, keeping its
    /// JetStream store (when enabled) in `store_dir`.
    pub(crate) fn render(&self, port: u16, log_file: &Path, store_dir: &Path) -> String {
        let mut s = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(s, "# generated by nats-testkit");
        let _ = writeln!(s, "host: \"127.0.0.1\"");
        let _ = writeln!(s, "port: {port}");
        let _ = writeln!(s, "log_file: {}", quote(&log_file.to_string_lossy()));
        let _ = writeln!(s, "logtime: true");
        if let Some(name) = &self.server_name {
            let _ = writeln!(s, "server_name: {}", quote(name));
        }
        match &self.auth {
            Some(Auth::UserPassword(user, pass)) => {
                let _ = writeln!(
                    s,
                    "authorization {{\n  user: {}\n  password: {}\n}}",
                    quote(user),
                    quote(pass)
                );
            }
            Some(Auth::Token(token)) => {
                let _ = writeln!(s, "authorization {{\n  token: {}\n}}", quote(token));
            }
            None => {}
        }
        if let Some(n) = self.max_connections {
            let _ = writeln!(s, "max_connections: {n}");
        }
        if let Some(n) = self.max_payload {
            let _ = writeln!(s, "max_payload: {n}");
        }
        if let Some((grace, duration)) = self.lame_duck {
            let _ = writeln!(s, "lame_duck_grace_period: {}", go_duration(grace));
            let _ = writeln!(s, "lame_duck_duration: {}", go_duration(duration));
        }
        if let Some((interval, max_out)) = self.ping {
            let _ = writeln!(s, "ping_interval: {}", go_duration(interval));
            let _ = writeln!(s, "ping_max: {max_out}");
        }
        if let Some(c) = &self.cluster {
            let routes: Vec<String> = c
                .routes
                .iter()
                .map(|p| format!("nats-route://127.0.0.1:{p}"))
                .collect();
            let _ = writeln!(
                s,
                "cluster {{\n  name: {}\n  listen: \"127.0.0.1:{}\"\n  routes: [{}]\n}}",
                quote(&c.name),
                c.port,
                routes.join(", ")
            );
        }
        if self.jetstream {
            let _ = writeln!(
                s,
                "jetstream {{\n  store_dir: {}\n}}",
                quote(&store_dir.to_string_lossy())
            );
        }
        if let Some(ws) = &self.websocket {
            let _ = writeln!(s, "websocket {{\n  host: \"127.0.0.1\"");
            if let Some(port) = ws.port {
                let _ = writeln!(s, "  port: {port}");
            }
            match &ws.tls {
                Some((cert, key)) => {
                    let _ = writeln!(
                        s,
                        "  tls {{\n    cert_file: {}\n    key_file: {}",
                        quote(cert),
                        quote(key)
                    );
                    if let Some(ca) = &ws.verify_ca {
                        let _ = writeln!(s, "    ca_file: {}\n    verify: true", quote(ca));
                    }
                    let _ = writeln!(s, "  }}");
                }
                None => {
                    let _ = writeln!(s, "  no_tls: true");
                }
            }
            if let Some(advertise) = &ws.advertise {
                let _ = writeln!(s, "  advertise: {}", quote(advertise));
            }
            let _ = writeln!(s, "}}");
        }
        if !self.extra.is_empty() {
            s.push_str(&self.extra);
            s.push('\n');
        }
        s
    }
}

/// A double-quoted config string.
fn quote(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// A Go duration literal, quoted (`"1500ms"`).
fn go_duration(d: Duration) -> String {
    format!("\"{}ms\"", d.as_millis().max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_settings() {
        let mut c = ServerConfig::new()
            .user_password("a\"b", "p")
            .max_connections(3)
            .max_payload(1024)
            .lame_duck(Duration::from_millis(200), Duration::from_secs(1))
            .ping(Duration::from_millis(1500), 2)
            .extra("debug: true");
        c.cluster = Some(ClusterSettings {
            name: "c".into(),
            port: 7,
            routes: vec![8, 9],
        });
        let text = c.render(4222, Path::new("/tmp/x.log"), Path::new("/tmp/js"));
        for want in [
            "port: 4222",
            "log_file: \"/tmp/x.log\"",
            "user: \"a\\\"b\"",
            "password: \"p\"",
            "max_connections: 3",
            "max_payload: 1024",
            "lame_duck_grace_period: \"200ms\"",
            "lame_duck_duration: \"30000ms\"",
            "ping_interval: \"1500ms\"",
            "ping_max: 2",
            "listen: \"127.0.0.1:7\"",
            "routes: [nats-route://127.0.0.1:8, nats-route://127.0.0.1:9]",
            "debug: true",
        ] {
            assert!(text.contains(want), "{want:?} missing in\n{text}");
        }
    }

    #[test]
    fn lame_duck_duration_meets_the_server_minimums() {
        let text = ServerConfig::new()
            .lame_duck(Duration::from_secs(40), Duration::from_secs(1))
            .render(1, Path::new("l"), Path::new("js"));
        assert!(
            text.contains("lame_duck_grace_period: \"40000ms\""),
            "{text}"
        );
        assert!(text.contains("lame_duck_duration: \"41000ms\""), "{text}");
    }

    #[test]
    fn jetstream_block_names_the_store_dir() {
        let text =
            ServerConfig::new()
                .jetstream()
                .render(1, Path::new("l"), Path::new("/tmp/store"));
        assert!(
            text.contains("jetstream {\n  store_dir: \"/tmp/store\"\n}"),
            "{text}"
        );
        let plain = ServerConfig::new().render(1, Path::new("l"), Path::new("/tmp/store"));
        assert!(!plain.contains("jetstream"), "{plain}");
    }

    #[test]
    fn websocket_block() {
        let text = ServerConfig::new()
            .websocket(Some(8080))
            .websocket_advertise("h:1")
            .render(1, Path::new("l"), Path::new("js"));
        assert!(
            text.contains(
                "websocket {\n  host: \"127.0.0.1\"\n  port: 8080\n  no_tls: true\n  advertise: \"h:1\"\n}"
            ),
            "{text}"
        );
        let text = ServerConfig::new()
            .websocket_tls(Some(8443), "/c.pem", "/k.pem")
            .render(1, Path::new("l"), Path::new("js"));
        assert!(
            text.contains("  tls {\n    cert_file: \"/c.pem\"\n    key_file: \"/k.pem\"\n  }"),
            "{text}"
        );
        assert!(!text.contains("no_tls"), "{text}");
        let text = ServerConfig::new()
            .websocket_tls(None, "/c.pem", "/k.pem")
            .websocket_verify_clients("/ca.pem")
            .render(1, Path::new("l"), Path::new("js"));
        assert!(
            text.contains("    ca_file: \"/ca.pem\"\n    verify: true\n  }"),
            "{text}"
        );
        let picked = ServerConfig::new()
            .websocket(None)
            .with_websocket_port(|| 9);
        assert_eq!(picked.get_websocket_port(), Some(9));
        let kept = ServerConfig::new()
            .websocket(Some(5))
            .with_websocket_port(|| 9);
        assert_eq!(kept.get_websocket_port(), Some(5));
        assert!(!ServerConfig::new()
            .render(1, Path::new("l"), Path::new("js"))
            .contains("websocket"));
    }

    #[test]
    fn token_replaces_user() {
        let text = ServerConfig::new()
            .user_password("u", "p")
            .token("t")
            .render(1, Path::new("l"), Path::new("js"));
        assert!(text.contains("token: \"t\""));
        assert!(!text.contains("user:"));
    }
}
