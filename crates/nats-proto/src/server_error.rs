//! [`ServerError`]: the text of a server `-ERR`, classified (R43, R50–R53).

/// What a server `-ERR` means for the client (spec/reconnect-behaviour.md §4, "Server -ERR
/// strings and client reaction").
///
/// # Examples
///
/// ```
/// use nats_proto::{ServerError, ServerErrorKind};
/// let e = ServerError::parse("-ERR 'Stale Connection'");
/// assert_eq!(e.kind(), &ServerErrorKind::StaleConnection);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ServerErrorKind {
    /// `Authorization Violation` (auth error, R43).
    AuthorizationViolation,
    /// `User Authentication Expired` (auth error, R43).
    UserAuthenticationExpired,
    /// `User Authentication Revoked` (auth error, R43).
    UserAuthenticationRevoked,
    /// `Account Authentication Expired` (auth error, R43).
    AccountAuthenticationExpired,
    /// `Stale Connection`: treated as a disconnect, reconnect (R40).
    StaleConnection,
    /// `maximum connections exceeded`: reconnect (R50).
    MaxConnectionsExceeded,
    /// `maximum account active connections exceeded`: reconnect (R50).
    MaxAccountConnectionsExceeded,
    /// `Permissions Violation for …`: non-fatal (R51).
    PermissionViolation,
    /// `maximum subscriptions exceeded`: non-fatal (R51).
    MaxSubscriptionsExceeded,
    /// `Maximum Payload Violation`: fatal (R52).
    MaxPayloadViolation,
    /// `Unknown Protocol Operation`: fatal (R52).
    UnknownProtocolOperation,
    /// `Authorization Timeout`: fatal (R52).
    AuthorizationTimeout,
    /// `Secure Connection - TLS Required`: fatal (R52).
    SecureConnectionRequired,
    /// Anything else: fatal (R52).
    Other,
}

/// A server `-ERR`: its classification and its normalised text (original case kept).
///
/// # Examples
///
/// ```
/// use nats_proto::ServerError;
/// let e = ServerError::parse("-ERR 'Permissions Violation for Publish to \"secret.x\"'");
/// assert!(e.is_connection_kept());
/// assert_eq!(e.message(), "Permissions Violation for Publish to \"secret.x\"");
/// assert_eq!(e.permission_subject(), Some(("publish", "secret.x", None)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("server error: {message}")]
pub struct ServerError {
    kind: ServerErrorKind,
    message: String,
}

/// Case-insensitive prefixes, checked in order (longer, more specific first).
const CLASSES: &[(&str, ServerErrorKind)] = &[
    (
        "authorization violation",
        ServerErrorKind::AuthorizationViolation,
    ),
    (
        "user authentication expired",
        ServerErrorKind::UserAuthenticationExpired,
    ),
    (
        "user authentication revoked",
        ServerErrorKind::UserAuthenticationRevoked,
    ),
    (
        "account authentication expired",
        ServerErrorKind::AccountAuthenticationExpired,
    ),
    ("stale connection", ServerErrorKind::StaleConnection),
    (
        "maximum connections exceeded",
        ServerErrorKind::MaxConnectionsExceeded,
    ),
    (
        "maximum account active connections exceeded",
        ServerErrorKind::MaxAccountConnectionsExceeded,
    ),
    (
        "permissions violation",
        ServerErrorKind::PermissionViolation,
    ),
    (
        "maximum subscriptions exceeded",
        ServerErrorKind::MaxSubscriptionsExceeded,
    ),
    (
        "maximum payload violation",
        ServerErrorKind::MaxPayloadViolation,
    ),
    (
        "unknown protocol operation",
        ServerErrorKind::UnknownProtocolOperation,
    ),
    (
        "authorization timeout",
        ServerErrorKind::AuthorizationTimeout,
    ),
    (
        "secure connection - tls required",
        ServerErrorKind::SecureConnectionRequired,
    ),
];

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.as_bytes()
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// Strips `prefix` (ASCII case-insensitive) from the front of `s`.
fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    if starts_with_ignore_case(s, prefix) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

impl ServerError {
    /// Normalises and classifies `-ERR` text (R53): strips an optional `-ERR` prefix, trims
    /// spaces, strips one leading and/or one trailing `'` independently, then classifies by
    /// case-insensitive prefix. The message keeps its original case.
    ///
    /// ```
    /// use nats_proto::{ServerError, ServerErrorKind};
    /// let e = ServerError::parse("  'authorization VIOLATION' ");
    /// assert_eq!(e.kind(), &ServerErrorKind::AuthorizationViolation);
    /// assert_eq!(e.message(), "authorization VIOLATION");
    /// assert!(e.is_auth_error());
    /// ```
    pub fn parse(raw: &str) -> ServerError {
        let s = raw.trim_start_matches([' ', '\t']);
        let s = strip_prefix_ignore_case(s, "-ERR").unwrap_or(s);
        let s = s.trim_matches([' ', '\t', '\r', '\n']);
        let s = s.strip_prefix('\'').unwrap_or(s);
        let s = s.strip_suffix('\'').unwrap_or(s);
        let kind = CLASSES
            .iter()
            .find(|(prefix, _)| starts_with_ignore_case(s, prefix))
            .map_or(ServerErrorKind::Other, |(_, kind)| kind.clone());
        ServerError {
            kind,
            message: s.to_owned(),
        }
    }

    /// Builds an error from its parts (no normalisation).
    ///
    /// ```
    /// use nats_proto::{ServerError, ServerErrorKind};
    /// let e = ServerError::new(ServerErrorKind::Other, "boom");
    /// assert_eq!(e.to_string(), "server error: boom");
    /// ```
    pub fn new(kind: ServerErrorKind, message: impl Into<String>) -> Self {
        ServerError {
            kind,
            message: message.into(),
        }
    }

    /// The classification.
    ///
    /// ```
    /// let e = nats_proto::ServerError::parse("maximum subscriptions exceeded");
    /// assert_eq!(e.kind(), &nats_proto::ServerErrorKind::MaxSubscriptionsExceeded);
    /// ```
    pub fn kind(&self) -> &ServerErrorKind {
        &self.kind
    }

    /// The normalised text, original case.
    ///
    /// ```
    /// assert_eq!(nats_proto::ServerError::parse("-ERR 'Boom'").message(), "Boom");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// One of the four authentication errors (R43).
    ///
    /// ```
    /// assert!(nats_proto::ServerError::parse("'User Authentication Expired'").is_auth_error());
    /// ```
    pub fn is_auth_error(&self) -> bool {
        matches!(
            self.kind,
            ServerErrorKind::AuthorizationViolation
                | ServerErrorKind::UserAuthenticationExpired
                | ServerErrorKind::UserAuthenticationRevoked
                | ServerErrorKind::AccountAuthenticationExpired
        )
    }

    /// Non-fatal: the connection stays up (R51).
    ///
    /// ```
    /// assert!(nats_proto::ServerError::parse("'maximum subscriptions exceeded'").is_connection_kept());
    /// ```
    pub fn is_connection_kept(&self) -> bool {
        matches!(
            self.kind,
            ServerErrorKind::PermissionViolation | ServerErrorKind::MaxSubscriptionsExceeded
        )
    }

    /// The server closes the connection and the client should reconnect (R40, R46, R50).
    /// Everything that is neither this nor [`is_connection_kept`](Self::is_connection_kept) is
    /// fatal: close without reconnect (R52).
    ///
    /// ```
    /// assert!(nats_proto::ServerError::parse("'Stale Connection'").triggers_reconnect());
    /// assert!(!nats_proto::ServerError::parse("'Maximum Payload Violation'").triggers_reconnect());
    /// ```
    pub fn triggers_reconnect(&self) -> bool {
        self.is_auth_error()
            || matches!(
                self.kind,
                ServerErrorKind::StaleConnection
                    | ServerErrorKind::MaxConnectionsExceeded
                    | ServerErrorKind::MaxAccountConnectionsExceeded
            )
    }

    /// For a permissions violation: `("publish" | "subscription", subject, queue)`.
    ///
    /// ```
    /// let e = nats_proto::ServerError::parse(
    ///     "-ERR 'Permissions Violation for Subscription to \"foo.>\" using queue \"q\"'",
    /// );
    /// assert_eq!(e.permission_subject(), Some(("subscription", "foo.>", Some("q"))));
    /// ```
    pub fn permission_subject(&self) -> Option<(&str, &str, Option<&str>)> {
        if self.kind != ServerErrorKind::PermissionViolation {
            return None;
        }
        let rest = strip_prefix_ignore_case(&self.message, "permissions violation for ")?;
        let (op, rest) = if let Some(r) = strip_prefix_ignore_case(rest, "publish to ") {
            ("publish", r)
        } else if let Some(r) = strip_prefix_ignore_case(rest, "subscription to ") {
            ("subscription", r)
        } else {
            return None;
        };
        let (subject, rest) = take_word(rest.trim_start())?;
        let rest = rest.trim_start();
        let queue = match strip_prefix_ignore_case(rest, "using queue ") {
            Some(r) => take_word(r.trim_start()).map(|(q, _)| q),
            None => None,
        };
        Some((op, subject, queue))
    }
}

/// A double-quoted word or a bare word up to whitespace; returns it and the rest.
fn take_word(s: &str) -> Option<(&str, &str)> {
    if let Some(quoted) = s.strip_prefix('"') {
        let end = quoted.find('"')?;
        Some((quoted.get(..end)?, quoted.get(end + 1..)?))
    } else {
        let end = s.find([' ', '\t']).unwrap_or(s.len());
        let word = s.get(..end)?;
        (!word.is_empty()).then_some((word, s.get(end..)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ServerErrorKind::*;

    #[test]
    fn classification_table() {
        // (raw, kind, message, auth, kept, reconnect)
        let rows: &[(&str, ServerErrorKind, &str, bool, bool, bool)] = &[
            (
                "-ERR 'Authorization Violation'",
                AuthorizationViolation,
                "Authorization Violation",
                true,
                false,
                true,
            ),
            (
                "'authorization violation for user x'",
                AuthorizationViolation,
                "authorization violation for user x",
                true,
                false,
                true,
            ),
            (
                "'User Authentication Expired'",
                UserAuthenticationExpired,
                "User Authentication Expired",
                true,
                false,
                true,
            ),
            (
                "'User Authentication Revoked'",
                UserAuthenticationRevoked,
                "User Authentication Revoked",
                true,
                false,
                true,
            ),
            (
                "'Account Authentication Expired'",
                AccountAuthenticationExpired,
                "Account Authentication Expired",
                true,
                false,
                true,
            ),
            (
                "-ERR 'Stale Connection'",
                StaleConnection,
                "Stale Connection",
                false,
                false,
                true,
            ),
            (
                "'maximum connections exceeded'",
                MaxConnectionsExceeded,
                "maximum connections exceeded",
                false,
                false,
                true,
            ),
            (
                "'maximum account active connections exceeded'",
                MaxAccountConnectionsExceeded,
                "maximum account active connections exceeded",
                false,
                false,
                true,
            ),
            (
                "'Permissions Violation for Publish to \"a\"'",
                PermissionViolation,
                "Permissions Violation for Publish to \"a\"",
                false,
                true,
                false,
            ),
            (
                "'Maximum Subscriptions Exceeded'",
                MaxSubscriptionsExceeded,
                "Maximum Subscriptions Exceeded",
                false,
                true,
                false,
            ),
            (
                "'Maximum Payload Violation'",
                MaxPayloadViolation,
                "Maximum Payload Violation",
                false,
                false,
                false,
            ),
            (
                "-ERR 'Unknown Protocol Operation'",
                UnknownProtocolOperation,
                "Unknown Protocol Operation",
                false,
                false,
                false,
            ),
            (
                "'Authorization Timeout'",
                AuthorizationTimeout,
                "Authorization Timeout",
                false,
                false,
                false,
            ),
            (
                "'Secure Connection - TLS Required'",
                SecureConnectionRequired,
                "Secure Connection - TLS Required",
                false,
                false,
                false,
            ),
            (
                "'Slow Consumer'",
                Other,
                "Slow Consumer",
                false,
                false,
                false,
            ),
            ("", Other, "", false, false, false),
            ("-ERR", Other, "", false, false, false),
            ("-ERR '", Other, "", false, false, false),
            ("-ERR ''", Other, "", false, false, false),
            ("'leading only", Other, "leading only", false, false, false),
            (
                "trailing only'",
                Other,
                "trailing only",
                false,
                false,
                false,
            ),
            (
                "-err   'STALE CONNECTION'  ",
                StaleConnection,
                "STALE CONNECTION",
                false,
                false,
                true,
            ),
        ];
        for (raw, kind, message, auth, kept, reconnect) in rows {
            let e = ServerError::parse(raw);
            assert_eq!(e.kind(), kind, "{raw:?}");
            assert_eq!(e.message(), *message, "{raw:?}");
            assert_eq!(e.is_auth_error(), *auth, "{raw:?}");
            assert_eq!(e.is_connection_kept(), *kept, "{raw:?}");
            assert_eq!(e.triggers_reconnect(), *reconnect, "{raw:?}");
        }
    }

    #[test]
    fn permission_subjects() {
        type Row<'a> = (&'a str, Option<(&'a str, &'a str, Option<&'a str>)>);
        let rows: &[Row<'_>] = &[
            (
                "'Permissions Violation for Publish to \"foo.bar\"'",
                Some(("publish", "foo.bar", None)),
            ),
            (
                "'Permissions Violation for Subscription to \"foo.*\"'",
                Some(("subscription", "foo.*", None)),
            ),
            (
                "'Permissions Violation for Subscription to \"Foo\" using queue \"Q1\"'",
                Some(("subscription", "Foo", Some("Q1"))),
            ),
            (
                "'permissions violation for publish to bare.subject'",
                Some(("publish", "bare.subject", None)),
            ),
            (
                "'Permissions Violation for Publish to \"unterminated'",
                None,
            ),
            ("'Permissions Violation for something'", None),
            ("'Stale Connection'", None),
        ];
        for (raw, expected) in rows {
            assert_eq!(
                ServerError::parse(raw).permission_subject(),
                *expected,
                "{raw:?}"
            );
        }
    }
}
