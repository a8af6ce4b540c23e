//! [`ServerInfo`] (the `INFO` JSON) and [`ConnectInfo`] (the `CONNECT` JSON).

use std::fmt;

use crate::error::ParseError;

/// The JSON of a server `INFO` line: every field of the protocol spec (D.2).
///
/// Every field defaults when absent; unknown fields are ignored.
///
/// # Examples
///
/// ```
/// use nats_proto::ServerInfo;
/// let info = ServerInfo::parse(br#"{"server_id":"S1","max_payload":1048576,"headers":true,"x":1}"#)?;
/// assert_eq!(info.server_id, "S1");
/// assert_eq!(info.max_payload, 1_048_576);
/// assert!(info.headers);
/// assert_eq!(info.client_id, None);
/// # Ok::<(), nats_proto::ParseError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct ServerInfo {
    /// Unique id of the server.
    pub server_id: String,
    /// Configured name of the server.
    pub server_name: String,
    /// Server version.
    pub version: String,
    /// Go version the server was built with.
    pub go: String,
    /// Host the server listens on.
    pub host: String,
    /// Port the server listens on.
    pub port: u16,
    /// Whether the server supports headers.
    pub headers: bool,
    /// Largest payload the server accepts, in bytes.
    pub max_payload: usize,
    /// Protocol version of the server.
    pub proto: i32,
    /// Id the server gave this client connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<u64>,
    /// Whether the client must authenticate.
    pub auth_required: bool,
    /// Whether TLS is required.
    pub tls_required: bool,
    /// Whether the server verifies client certificates.
    pub tls_verify: bool,
    /// Whether the server can upgrade to TLS.
    pub tls_available: bool,
    /// Client URLs of the other servers of the cluster.
    pub connect_urls: Vec<String>,
    /// Websocket URLs of the other servers of the cluster.
    pub ws_connect_urls: Vec<String>,
    /// Lame-duck mode: the server is shutting down (ADR-5).
    pub ldm: bool,
    /// Git commit the server was built from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    /// Whether JetStream is enabled.
    pub jetstream: bool,
    /// The server's IP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// The client's IP as seen by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    /// Nonce to sign for nkey/JWT authentication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Cluster name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// JetStream domain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

impl ServerInfo {
    /// Decodes the JSON of an `INFO` line.
    ///
    /// # Errors
    ///
    /// [`ParseError::InvalidInfo`] with the JSON error text.
    ///
    /// ```
    /// assert!(nats_proto::ServerInfo::parse(b"{not json").is_err());
    /// ```
    pub fn parse(json: &[u8]) -> Result<ServerInfo, ParseError> {
        serde_json::from_slice(json).map_err(|e| ParseError::InvalidInfo(e.to_string()))
    }
}

/// The JSON of a client `CONNECT` line.
///
/// `Default` gives what nats.go sends: not verbose, not pedantic, `lang` `"rust"`, `version`
/// this crate's version, `protocol` 1, `echo`, `headers` and `no_responders` on.
/// `Debug` prints `<redacted>` for `pass`, `auth_token`, `jwt` and `sig`.
///
/// # Examples
///
/// ```
/// use nats_proto::ConnectInfo;
/// let info = ConnectInfo { user: Some("me".into()), pass: Some("hunter2".into()), ..Default::default() };
/// assert!(!format!("{info:?}").contains("hunter2"));
/// let json = serde_json::to_string(&info).unwrap();
/// assert!(json.contains(r#""pass":"hunter2""#));
/// assert!(!json.contains("auth_token"));
/// ```
#[derive(Clone, PartialEq, serde::Serialize)]
pub struct ConnectInfo {
    /// Ask for `+OK` after every op (slow; off by default).
    pub verbose: bool,
    /// Ask the server for strict checking.
    pub pedantic: bool,
    /// The client requires TLS.
    pub tls_required: bool,
    /// User name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Password (secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass: Option<String>,
    /// Token (secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_token: Option<String>,
    /// User JWT (secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwt: Option<String>,
    /// Public nkey.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nkey: Option<String>,
    /// Signature of the server nonce (secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sig: Option<String>,
    /// Connection name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Client language.
    pub lang: String,
    /// Client version.
    pub version: String,
    /// Protocol level: 1 = can receive async INFO.
    pub protocol: u8,
    /// Deliver this connection's own publishes to its subscriptions.
    pub echo: bool,
    /// The client supports headers.
    pub headers: bool,
    /// Ask for a 503 status message when a request has no responders.
    pub no_responders: bool,
}

impl Default for ConnectInfo {
    fn default() -> Self {
        ConnectInfo {
            verbose: false,
            pedantic: false,
            tls_required: false,
            user: None,
            pass: None,
            auth_token: None,
            jwt: None,
            nkey: None,
            sig: None,
            name: None,
            lang: "rust".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            protocol: 1,
            echo: true,
            headers: true,
            no_responders: true,
        }
    }
}

struct Redacted<'a>(&'a Option<String>);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(_) => f.write_str("Some(\"<redacted>\")"),
            None => f.write_str("None"),
        }
    }
}

impl fmt::Debug for ConnectInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectInfo")
            .field("verbose", &self.verbose)
            .field("pedantic", &self.pedantic)
            .field("tls_required", &self.tls_required)
            .field("user", &self.user)
            .field("pass", &Redacted(&self.pass))
            .field("auth_token", &Redacted(&self.auth_token))
            .field("jwt", &Redacted(&self.jwt))
            .field("nkey", &self.nkey)
            .field("sig", &Redacted(&self.sig))
            .field("name", &self.name)
            .field("lang", &self.lang)
            .field("version", &self.version)
            .field("protocol", &self.protocol)
            .field("echo", &self.echo)
            .field("headers", &self.headers)
            .field("no_responders", &self.no_responders)
            .finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn full_info() {
        let json = br#"{"server_id":"NID","server_name":"n1","version":"2.10.0","go":"go1.21","host":"0.0.0.0",
            "port":4222,"headers":true,"max_payload":1048576,"proto":1,"client_id":7,"auth_required":true,
            "tls_required":false,"tls_verify":false,"tls_available":true,"connect_urls":["10.0.0.1:4222"],
            "ws_connect_urls":["10.0.0.1:8080"],"ldm":true,"git_commit":"abc","jetstream":true,"ip":"10.0.0.2",
            "client_ip":"127.0.0.1","nonce":"xyz","cluster":"c","domain":"d","unknown":{"nested":[1]}}"#;
        let info = ServerInfo::parse(json).unwrap();
        assert_eq!(info.port, 4222);
        assert_eq!(info.client_id, Some(7));
        assert_eq!(info.connect_urls, ["10.0.0.1:4222"]);
        assert!(info.ldm && info.jetstream && info.tls_available && info.auth_required);
        assert_eq!(info.nonce.as_deref(), Some("xyz"));
        assert_eq!(info.domain.as_deref(), Some("d"));
        let back = serde_json::to_vec(&info).unwrap();
        assert_eq!(ServerInfo::parse(&back).unwrap(), info);
    }

    #[test]
    fn bad_info() {
        assert!(matches!(
            ServerInfo::parse(b""),
            Err(ParseError::InvalidInfo(_))
        ));
        assert!(matches!(
            ServerInfo::parse(br#"{"port":"x"}"#),
            Err(ParseError::InvalidInfo(_))
        ));
        assert!(matches!(
            ServerInfo::parse(br#"{"port":70000}"#),
            Err(ParseError::InvalidInfo(_))
        ));
    }

    #[test]
    fn connect_defaults_and_redaction() {
        let c = ConnectInfo {
            pass: Some("p4ss".into()),
            auth_token: Some("t0ken".into()),
            jwt: Some("eyJ".into()),
            sig: Some("s1g".into()),
            user: Some("bob".into()),
            ..Default::default()
        };
        let dbg = format!("{c:?}");
        for secret in ["p4ss", "t0ken", "eyJ", "s1g"] {
            assert!(!dbg.contains(secret), "{dbg}");
        }
        assert!(dbg.contains("bob") && dbg.contains("<redacted>"));
        let v: serde_json::Value = serde_json::to_value(ConnectInfo::default()).unwrap();
        assert_eq!(v["lang"], "rust");
        assert_eq!(v["protocol"], 1);
        assert_eq!(v["echo"], true);
        assert_eq!(v["headers"], true);
        assert_eq!(v["no_responders"], true);
        assert_eq!(v["verbose"], false);
        assert!(v.get("user").is_none());
    }
}
