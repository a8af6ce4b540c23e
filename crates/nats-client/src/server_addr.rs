//! Server URLs: parsing and normalisation (R1, R2), credentials carried in a URL (R28), and the
//! display form that never shows a password or token.

use std::fmt;
use std::str::FromStr;

use crate::error::ConnectError;

/// The default NATS client port.
///
/// # Examples
///
/// ```
/// let addr = nats_client::ServerAddr::parse("demo.nats.io")?;
/// assert_eq!(addr.port(), nats_client::DEFAULT_PORT);
/// # Ok::<(), nats_client::ConnectError>(())
/// ```
pub const DEFAULT_PORT: u16 = 4222;

/// The default port of a `ws://` URL without one (R2).
///
/// # Examples
///
/// ```
/// let addr = nats_client::ServerAddr::parse("ws://demo.nats.io")?;
/// assert_eq!(addr.port(), nats_client::DEFAULT_WS_PORT);
/// # Ok::<(), nats_client::ConnectError>(())
/// ```
pub const DEFAULT_WS_PORT: u16 = 80;

/// The default port of a `wss://` URL without one (R2).
///
/// # Examples
///
/// ```
/// let addr = nats_client::ServerAddr::parse("wss://demo.nats.io")?;
/// assert_eq!(addr.port(), nats_client::DEFAULT_WSS_PORT);
/// # Ok::<(), nats_client::ConnectError>(())
/// ```
pub const DEFAULT_WSS_PORT: u16 = 443;

/// One server of the pool: scheme, host, port and the credentials its URL carried.
///
/// Parsed from `nats://host:port`, `tls://host:port`, `host:port`, `host`, `[::1]:4222`,
/// `user:pass@host` and `token@host` (R2: a missing scheme is `nats`, a missing or empty port
/// is 4222). `Display` and `Debug` never show the password or token.
///
/// WebSocket servers are `ws://host:port/path` and `wss://host:port/path` (the server's
/// `websocket { }` block): the port defaults to 80 and 443, the path (with any query) is kept
/// and sent in the HTTP upgrade request (`/` when absent). A `wss://` URL uses the same TLS
/// options as `tls://`. WebSocket and plain URLs cannot be mixed in one pool (R5).
///
/// ```
/// use nats_client::ServerAddr;
///
/// let addr: ServerAddr = "wss://nats.example.com/nats?region=eu".parse()?;
/// assert!(addr.is_websocket() && addr.is_tls());
/// assert_eq!(addr.port(), 443);
/// assert_eq!(addr.path(), Some("/nats?region=eu"));
/// assert_eq!(addr.to_string(), "wss://nats.example.com:443/nats?region=eu");
/// # Ok::<(), nats_client::ConnectError>(())
/// ```
///
/// # Examples
///
/// ```
/// use nats_client::ServerAddr;
///
/// let addr: ServerAddr = "alice:secret@127.0.0.1:4223".parse()?;
/// assert_eq!(addr.host(), "127.0.0.1");
/// assert_eq!(addr.port(), 4223);
/// assert_eq!(addr.to_string(), "nats://alice:***@127.0.0.1:4223");
/// # Ok::<(), nats_client::ConnectError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ServerAddr {
    tls: bool,
    /// `ws://` or `wss://`: the connection is a WebSocket.
    websocket: bool,
    host: String,
    port: u16,
    user: Option<String>,
    pass: Option<String>,
    /// The name to verify in TLS when `host` is a bare IP learned from a named seed (R29).
    tls_name: Option<String>,
    /// The WebSocket request path (with its query), `None` for `/`.
    path: Option<String>,
}

impl ServerAddr {
    /// Parses one URL (R2).
    ///
    /// # Errors
    ///
    /// [`ConnectError::InvalidUrl`] for an empty host, an unknown scheme, a bad port or an
    /// unclosed IPv6 bracket.
    ///
    /// # Examples
    ///
    /// ```
    /// use nats_client::ServerAddr;
    /// let addr = ServerAddr::parse("tls://demo.nats.io")?;
    /// assert!(addr.is_tls());
    /// assert_eq!(addr.port(), 4222);
    /// assert!(ServerAddr::parse("http://demo.nats.io").is_err());
    /// # Ok::<(), nats_client::ConnectError>(())
    /// ```
    pub fn parse(url: &str) -> Result<ServerAddr, ConnectError> {
        let invalid = |why: &str| ConnectError::InvalidUrl {
            url: redact_url(url),
            reason: why.to_string(),
        };
        let trimmed = url.trim().trim_end_matches('/');
        if trimmed.is_empty() {
            return Err(invalid("empty URL"));
        }
        let (tls, websocket, rest) = match trimmed.split_once("://") {
            Some((scheme, rest)) => match scheme.to_ascii_lowercase().as_str() {
                "nats" => (false, false, rest),
                "tls" => (true, false, rest),
                "ws" => (false, true, rest),
                "wss" => (true, true, rest),
                _ => {
                    return Err(invalid(
                        "unknown scheme (use nats://, tls://, ws:// or wss://)",
                    ))
                }
            },
            None => (false, false, trimmed),
        };
        // A WebSocket URL may carry a path: the authority ends at the first '/' or '?'
        // (RFC 3986: neither appears unencoded in the user info).
        let (rest, path) = match rest.find(['/', '?']) {
            Some(at) if websocket => {
                let (authority, path) = rest.split_at(at);
                let path = if path.starts_with('?') {
                    format!("/{path}")
                } else {
                    path.to_string()
                };
                (authority, Some(path).filter(|p| p != "/"))
            }
            _ => (rest, None),
        };
        if path
            .as_deref()
            .is_some_and(|p| p.chars().any(char::is_whitespace))
        {
            return Err(invalid("whitespace in the path"));
        }
        let (userinfo, hostport) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let (user, pass) = match userinfo {
            None => (None, None),
            Some(u) => match u.split_once(':') {
                Some((user, pass)) => (Some(percent_decode(user)), Some(percent_decode(pass))),
                None => (Some(percent_decode(u)), None),
            },
        };
        let (host, port) = if let Some(after) = hostport.strip_prefix('[') {
            let (host, tail) = after
                .split_once(']')
                .ok_or_else(|| invalid("unclosed '[' in IPv6 address"))?;
            let port = match tail {
                "" => None,
                t => Some(
                    t.strip_prefix(':')
                        .ok_or_else(|| invalid("garbage after IPv6 address"))?,
                ),
            };
            (host.to_string(), port)
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (hostport.to_string(), None),
            }
        };
        if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c == '/') {
            return Err(invalid("missing or malformed host"));
        }
        let port = match port {
            None | Some("") if websocket && tls => DEFAULT_WSS_PORT,
            None | Some("") if websocket => DEFAULT_WS_PORT,
            None | Some("") => DEFAULT_PORT,
            Some(p) => p.parse::<u16>().map_err(|_| invalid("invalid port"))?,
        };
        Ok(ServerAddr {
            tls,
            websocket,
            host,
            port,
            user: user.filter(|u| !u.is_empty()),
            pass,
            tls_name: None,
            path,
        })
    }

    /// The host name or IP address (IPv6 without brackets).
    ///
    /// # Examples
    ///
    /// ```
    /// use nats_client::ServerAddr;
    /// assert_eq!(ServerAddr::parse("nats://[::1]:4223")?.host(), "::1");
    /// assert_eq!(ServerAddr::parse("demo.nats.io")?.host(), "demo.nats.io");
    /// # Ok::<(), nats_client::ConnectError>(())
    /// ```
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The TCP port.
    ///
    /// # Examples
    ///
    /// ```
    /// use nats_client::ServerAddr;
    /// assert_eq!(ServerAddr::parse("nats://h:4333")?.port(), 4333);
    /// assert_eq!(ServerAddr::parse("h")?.port(), nats_client::DEFAULT_PORT);
    /// # Ok::<(), nats_client::ConnectError>(())
    /// ```
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the URL asked for TLS (`tls://`).
    ///
    /// # Examples
    ///
    /// ```
    /// use nats_client::ServerAddr;
    /// assert!(ServerAddr::parse("tls://h:4222")?.is_tls());
    /// assert!(!ServerAddr::parse("nats://h:4222")?.is_tls());
    /// # Ok::<(), nats_client::ConnectError>(())
    /// ```
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Whether the server is reached over WebSocket (`ws://` or `wss://`).
    ///
    /// # Examples
    ///
    /// ```
    /// use nats_client::ServerAddr;
    /// assert!(ServerAddr::parse("ws://h:8080")?.is_websocket());
    /// assert!(ServerAddr::parse("wss://h")?.is_websocket());
    /// assert!(!ServerAddr::parse("nats://h")?.is_websocket());
    /// # Ok::<(), nats_client::ConnectError>(())
    /// ```
    pub fn is_websocket(&self) -> bool {
        self.websocket
    }

    /// The path (with its query) of a WebSocket URL, `None` when it has none (`/` is sent).
    ///
    /// # Examples
    ///
    /// ```
    /// use nats_client::ServerAddr;
    /// assert_eq!(ServerAddr::parse("ws://h:8080/nats")?.path(), Some("/nats"));
    /// assert_eq!(ServerAddr::parse("ws://h:8080")?.path(), None);
    /// # Ok::<(), nats_client::ConnectError>(())
    /// ```
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// The user name (or the token, when the URL has no password) carried in the URL.
    ///
    /// # Examples
    ///
    /// ```
    /// use nats_client::ServerAddr;
    /// assert_eq!(ServerAddr::parse("alice:secret@h")?.username(), Some("alice"));
    /// assert_eq!(ServerAddr::parse("my-token@h")?.username(), Some("my-token"));
    /// # Ok::<(), nats_client::ConnectError>(())
    /// ```
    pub fn username(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The password carried in the URL.
    ///
    /// # Examples
    ///
    /// ```
    /// use nats_client::ServerAddr;
    /// assert_eq!(ServerAddr::parse("alice:s%40cret@h")?.password(), Some("s@cret"));
    /// assert_eq!(ServerAddr::parse("my-token@h")?.password(), None);
    /// # Ok::<(), nats_client::ConnectError>(())
    /// ```
    pub fn password(&self) -> Option<&str> {
        self.pass.as_deref()
    }

    /// Whether the URL carries credentials.
    ///
    /// # Examples
    ///
    /// ```
    /// use nats_client::ServerAddr;
    /// assert!(ServerAddr::parse("alice:secret@h")?.has_credentials());
    /// assert!(!ServerAddr::parse("h")?.has_credentials());
    /// # Ok::<(), nats_client::ConnectError>(())
    /// ```
    pub fn has_credentials(&self) -> bool {
        self.user.is_some()
    }

    /// `host:port` suitable for a TCP connect (IPv6 in brackets).
    ///
    /// # Examples
    ///
    /// ```
    /// use nats_client::ServerAddr;
    /// assert_eq!(ServerAddr::parse("nats://[::1]:4223")?.socket_addr_string(), "[::1]:4223");
    /// assert_eq!(ServerAddr::parse("tls://h")?.socket_addr_string(), "h:4222");
    /// # Ok::<(), nats_client::ConnectError>(())
    /// ```
    pub fn socket_addr_string(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The same server with other credentials (R29: discovered servers inherit the seed's).
    ///
    /// A bare-IP server also inherits the TLS name of `other`: its host when that is a name,
    /// or the name it inherited itself (R29).
    pub(crate) fn with_credentials_of(mut self, other: &ServerAddr) -> ServerAddr {
        if self.user.is_none() {
            self.user.clone_from(&other.user);
            self.pass.clone_from(&other.pass);
        }
        if self.tls_name.is_none() && self.host.parse::<std::net::IpAddr>().is_ok() {
            self.tls_name = if other.host.parse::<std::net::IpAddr>().is_err() {
                Some(other.host.clone())
            } else {
                other.tls_name.clone()
            };
        }
        self
    }

    /// The TLS name remembered for a discovered bare-IP server (R29).
    pub(crate) fn tls_name(&self) -> Option<&str> {
        self.tls_name.as_deref()
    }

    /// Switches the scheme to TLS (R6: one `tls://` URL turns TLS on for every server).
    pub(crate) fn set_tls(&mut self, tls: bool) {
        self.tls = tls;
    }

    /// Switches the transport to WebSocket or back (a discovered `host:port` takes the
    /// scheme of the connection that announced it, trap 13).
    pub(crate) fn set_websocket(&mut self, websocket: bool) {
        self.websocket = websocket;
    }

    /// The URL of the HTTP upgrade request: `ws://host:port/path` (IPv6 in brackets); the
    /// scheme only names the request, TLS is already under it.
    pub(crate) fn websocket_request_uri(&self) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        let path = self.path.as_deref().unwrap_or("/");
        format!("{scheme}://{}{path}", self.socket_addr_string())
    }

    /// Identity of a server for pool bookkeeping: scheme-less `host:port`.
    pub(crate) fn key(&self) -> String {
        self.socket_addr_string()
    }
}

impl FromStr for ServerAddr {
    type Err = ConnectError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ServerAddr::parse(s)
    }
}

impl fmt::Display for ServerAddr {
    /// The URL with its password or token replaced by `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match (self.websocket, self.tls) {
            (false, false) => "nats",
            (false, true) => "tls",
            (true, false) => "ws",
            (true, true) => "wss",
        };
        write!(f, "{scheme}://")?;
        match (&self.user, &self.pass) {
            (Some(user), Some(_)) => write!(f, "{user}:***@")?,
            (Some(_), None) => write!(f, "***@")?,
            _ => {}
        }
        write!(f, "{}", self.socket_addr_string())?;
        if let Some(path) = &self.path {
            f.write_str(path)?;
        }
        Ok(())
    }
}

impl fmt::Debug for ServerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServerAddr({self})")
    }
}

/// R5: a pool is all WebSocket or all plain (`nats`/`tls`); the first URL decides, the first
/// one that differs is the error.
pub(crate) fn check_schemes(addrs: &[ServerAddr]) -> Result<(), ConnectError> {
    let Some(first) = addrs.first() else {
        return Ok(());
    };
    match addrs.iter().find(|a| a.websocket != first.websocket) {
        Some(other) => Err(ConnectError::MixingWebSocketSchemes {
            first: first.to_string(),
            other: other.to_string(),
        }),
        None => Ok(()),
    }
}

/// Splits a comma-separated URL list (R1): trims each entry, drops empty ones.
pub(crate) fn split_url_list(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// A URL with anything that looks like credentials hidden, for error messages.
pub(crate) fn redact_url(url: &str) -> String {
    match url.rsplit_once('@') {
        Some((before, host)) => {
            let scheme = before
                .split_once("://")
                .map(|(s, _)| format!("{s}://"))
                .unwrap_or_default();
            format!("{scheme}***@{host}")
        }
        None => url.to_string(),
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = match (bytes.get(i), bytes.get(i + 1), bytes.get(i + 2)) {
            (Some(b'%'), Some(h), Some(l)) => match (hex(*h), hex(*l)) {
                (Some(h), Some(l)) => Some(h * 16 + l),
                _ => None,
            },
            _ => None,
        };
        match decoded {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                if let Some(b) = bytes.get(i) {
                    out.push(*b);
                }
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn r2_url_forms_normalise() {
        let cases = [
            ("nats://127.0.0.1:4222", false, "127.0.0.1", 4222),
            ("127.0.0.1:4333", false, "127.0.0.1", 4333),
            ("localhost", false, "localhost", 4222),
            ("localhost:", false, "localhost", 4222),
            ("tls://demo.nats.io", true, "demo.nats.io", 4222),
            ("[::1]:4223", false, "::1", 4223),
            ("nats://[::1]", false, "::1", 4222),
            ("NATS://host:1/", false, "host", 1),
        ];
        for (url, tls, host, port) in cases {
            let a = ServerAddr::parse(url).unwrap();
            assert_eq!((a.is_tls(), a.host(), a.port()), (tls, host, port), "{url}");
        }
    }

    #[test]
    fn r28_credentials_in_url() {
        let a = ServerAddr::parse("nats://alice:s%40cret@h:1").unwrap();
        assert_eq!(a.username(), Some("alice"));
        assert_eq!(a.password(), Some("s@cret"));
        let t = ServerAddr::parse("mytoken@h").unwrap();
        assert_eq!(t.username(), Some("mytoken"));
        assert_eq!(t.password(), None);
    }

    #[test]
    fn secrets_never_displayed() {
        let a = ServerAddr::parse("nats://alice:hunter2@h:1").unwrap();
        assert!(!a.to_string().contains("hunter2"));
        assert!(!format!("{a:?}").contains("hunter2"));
        let t = ServerAddr::parse("tok3n@h:1").unwrap();
        assert!(!t.to_string().contains("tok3n"));
        let err = ServerAddr::parse("nats://u:hunter2@h:notaport").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn bad_urls_are_typed_errors() {
        for url in [
            "",
            "   ",
            "http://h:1",
            "nats://:4222",
            "h:99999",
            "h:abc",
            "[::1",
            "wss://:443/x",
            "ws://h:80/a b",
        ] {
            assert!(
                matches!(ServerAddr::parse(url), Err(ConnectError::InvalidUrl { .. })),
                "{url:?}"
            );
        }
    }

    #[test]
    fn r2_websocket_urls_default_ports_and_keep_the_path() {
        let cases = [
            ("ws://127.0.0.1", false, "127.0.0.1", 80, None),
            ("wss://demo.nats.io", true, "demo.nats.io", 443, None),
            ("ws://h:8080/", false, "h", 8080, None),
            ("WS://h:8080/nats/ws", false, "h", 8080, Some("/nats/ws")),
            ("wss://u:p@h/p?a=b", true, "h", 443, Some("/p?a=b")),
            ("ws://h?x=1", false, "h", 80, Some("/?x=1")),
            ("ws://[::1]:9/x", false, "::1", 9, Some("/x")),
        ];
        for (url, tls, host, port, path) in cases {
            let a = ServerAddr::parse(url).unwrap();
            assert!(a.is_websocket(), "{url}");
            assert_eq!(
                (a.is_tls(), a.host(), a.port(), a.path()),
                (tls, host, port, path),
                "{url}"
            );
        }
        let a = ServerAddr::parse("wss://u:secret@h:4443/nats").unwrap();
        assert_eq!(a.to_string(), "wss://u:***@h:4443/nats");
        assert_eq!(a.websocket_request_uri(), "wss://h:4443/nats");
        assert_eq!(
            ServerAddr::parse("ws://[::1]:9")
                .unwrap()
                .websocket_request_uri(),
            "ws://[::1]:9/"
        );
        // a path means nothing to a plain NATS URL: still a malformed host
        assert!(ServerAddr::parse("nats://h:4222/x").is_err());
    }

    #[test]
    fn r5_websocket_and_plain_urls_do_not_mix() {
        let parse = |list: &[&str]| -> Vec<ServerAddr> {
            list.iter().map(|u| ServerAddr::parse(u).unwrap()).collect()
        };
        assert!(check_schemes(&parse(&["ws://a:1", "wss://b:2"])).is_ok());
        assert!(check_schemes(&parse(&["nats://a:1", "tls://b:2", "c"])).is_ok());
        assert!(check_schemes(&[]).is_ok());
        let err = check_schemes(&parse(&["ws://a:1", "u:secret@b:2"])).unwrap_err();
        assert!(
            matches!(&err, ConnectError::MixingWebSocketSchemes { first, other }
                if first == "ws://a:1" && other == "nats://u:***@b:2"),
            "{err:?}"
        );
        assert!(!err.to_string().contains("secret"));
        assert!(check_schemes(&parse(&["nats://a:1", "ws://b:2"])).is_err());
    }

    #[test]
    fn r1_list_splitting() {
        let v: Vec<_> = split_url_list(" a:1 , ,b:2,").collect();
        assert_eq!(v, ["a:1", "b:2"]);
    }

    #[test]
    fn r29_discovered_inherit_credentials() {
        let seed = ServerAddr::parse("nats://u:p@seed:1").unwrap();
        let d = ServerAddr::parse("10.0.0.2:4222")
            .unwrap()
            .with_credentials_of(&seed);
        assert_eq!(d.username(), Some("u"));
        assert_eq!(d.password(), Some("p"));
        assert_eq!(
            d.tls_name(),
            Some("seed"),
            "R29: bare IP verifies the seed's name"
        );
        let named = ServerAddr::parse("other:4222")
            .unwrap()
            .with_credentials_of(&seed);
        assert_eq!(named.tls_name(), None);
        let again = ServerAddr::parse("10.0.0.3:4222")
            .unwrap()
            .with_credentials_of(&d);
        assert_eq!(again.tls_name(), Some("seed"));
    }
}
