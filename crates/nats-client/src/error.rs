//! Errors, one enum per operation, grouped by who is at fault: the caller (bad input), the
//! server (`-ERR`, protocol violations), the network (I/O, timeouts) and the connection's state
//! (closed, draining, reconnect buffer full). All are `Clone` so events can carry them.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use nats_proto::{HeaderError, ParseError, ServerError, SubjectError};

/// Why connecting (or one reconnect attempt) failed.
///
/// # Examples
///
/// ```
/// use nats_client::{ConnectError, ServerAddr};
/// match ServerAddr::parse("nats://:4222") {
///     Err(ConnectError::InvalidUrl { reason, .. }) => println!("bad URL: {reason}"),
///     Err(other) => println!("{other}"),
///     Ok(addr) => println!("{addr}"),
/// }
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// A server URL could not be parsed (R2). The URL is shown without credentials.
    #[error("invalid server URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL, credentials hidden.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The options contradict each other (R110).
    #[error("invalid options: {0}")]
    InvalidOptions(String),
    /// Every server refused the connection, or the pool is empty (R8).
    #[error("no servers available for connection")]
    NoServers,
    /// A socket error while connecting.
    #[error("I/O error while connecting: {0}")]
    Io(#[source] Arc<io::Error>),
    /// The handshake did not finish within `connection_timeout` (R22).
    #[error("connection handshake timed out after {0:?}")]
    TimedOut(Duration),
    /// The server answered the handshake with `-ERR` (e.g. an authorization violation, R25).
    #[error("server rejected the connection: {0}")]
    Server(#[source] ServerError),
    /// The server sent something that is not the protocol (R23, R25).
    #[error("protocol error during handshake: {0}")]
    Protocol(String),
    /// A `reconnect_to_server_callback` returned a server that is not in the pool (R106).
    #[error("the chosen server is not in the server pool")]
    ServerNotInPool,
    /// TLS is required by the client but the server offers none, or the TLS handshake failed.
    #[error("TLS error: {0}")]
    Tls(String),
    /// The client requires TLS but the server offers neither `tls_required` nor
    /// `tls_available` (R30).
    #[error("secure connection required but the server does not offer TLS")]
    SecureConnectionWanted,
    /// The server's certificate failed verification (unknown CA, wrong name, expired...).
    #[error("TLS certificate verification failed: {0}")]
    TlsCertificate(String),
    /// The server pool mixes WebSocket (`ws://`, `wss://`) and plain (`nats://`, `tls://`)
    /// URLs (R5): the first URL decides, `other` is the first one that does not match. Also
    /// returned by `set_server_pool`, which then leaves the pool unchanged.
    ///
    /// ```
    /// # async fn demo() {
    /// use nats_client::ConnectError;
    /// let err = nats_client::connect("ws://127.0.0.1:8080,nats://127.0.0.1:4222")
    ///     .await
    ///     .unwrap_err();
    /// assert!(matches!(err, ConnectError::MixingWebSocketSchemes { .. }));
    /// # }
    /// ```
    #[error(
        "cannot mix websocket and non-websocket URLs in one server pool ({first} and {other})"
    )]
    MixingWebSocketSchemes {
        /// The first URL of the pool (credentials hidden).
        first: String,
        /// The first URL whose kind differs (credentials hidden).
        other: String,
    },
    /// The WebSocket upgrade failed: the server did not answer the HTTP upgrade request with
    /// `101 Switching Protocols` (a `ws://` URL pointed at a plain NATS port, a wrong path, a
    /// proxy refusing it), or the WebSocket framing broke during the handshake.
    ///
    /// ```
    /// let err = nats_client::ConnectError::WebSocket("no 101 response".into());
    /// assert!(err.to_string().contains("websocket"));
    /// ```
    #[error("websocket upgrade failed: {0}")]
    WebSocket(String),
    /// The credentials could not be produced for this attempt: a credentials file or NKey
    /// seed that cannot be read or parsed, a failed auth callback, or a server without nonce
    /// for NKey authentication (R27, R31). The text never contains a secret.
    #[error("credentials error: {0}")]
    Credentials(String),
}

impl ConnectError {
    /// Whether this is an authentication or authorization failure.
    ///
    /// # Examples
    ///
    /// ```
    /// use nats_client::{ConnectError, ServerError, ServerErrorKind};
    /// let err = ConnectError::Server(ServerError::new(
    ///     ServerErrorKind::AuthorizationViolation,
    ///     "Authorization Violation",
    /// ));
    /// assert!(err.is_auth());
    /// assert!(!ConnectError::NoServers.is_auth());
    /// ```
    pub fn is_auth(&self) -> bool {
        matches!(self, ConnectError::Server(e) if e.is_auth_error())
    }

    /// Whether this is a TLS failure: TLS not offered (R30), a failed handshake or an
    /// unverifiable certificate.
    ///
    /// ```
    /// assert!(nats_client::ConnectError::SecureConnectionWanted.is_tls());
    /// ```
    pub fn is_tls(&self) -> bool {
        matches!(
            self,
            ConnectError::Tls(_)
                | ConnectError::SecureConnectionWanted
                | ConnectError::TlsCertificate(_)
        )
    }

    /// Whether this is a timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use nats_client::ConnectError;
    /// assert!(ConnectError::TimedOut(Duration::from_secs(2)).is_timeout());
    /// assert!(!ConnectError::NoServers.is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, ConnectError::TimedOut(_))
    }

    /// Whether the TCP connection was refused.
    pub(crate) fn is_refused(&self) -> bool {
        matches!(self, ConnectError::Io(e) if e.kind() == io::ErrorKind::ConnectionRefused)
    }
}

impl From<io::Error> for ConnectError {
    fn from(e: io::Error) -> Self {
        ConnectError::Io(Arc::new(e))
    }
}

/// Why an established connection ended, or why the client closed (carried by
/// [`Event::Disconnected`](crate::Event::Disconnected) and [`Event::Closed`](crate::Event::Closed)).
///
/// # Examples
///
/// ```no_run
/// # async fn demo(client: nats_client::Client) {
/// use nats_client::ConnectionError;
/// client.close().await;
/// match client.closed_reason() {
///     Some(ConnectionError::ClosedByUser) => println!("closed by us"),
///     other => println!("closed: {other:?}"),
/// }
/// # }
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The socket failed or the server closed it (EOF is `UnexpectedEof`).
    #[error("connection lost: {0}")]
    Io(#[source] Arc<io::Error>),
    /// Pings went unanswered (R37), or the server said 'Stale Connection' (R40).
    #[error("stale connection")]
    StaleConnection,
    /// Bytes were waiting and the socket took none of them for this long
    /// ([`flusher_timeout`](crate::ConnectOptions::flusher_timeout), R42).
    #[error("write timed out: the socket took nothing for {0:?}")]
    WriteTimeout(Duration),
    /// The server sent a `-ERR` that ends the connection (R50, R52).
    #[error("{0}")]
    Server(#[source] ServerError),
    /// The server sent bytes that are not the NATS protocol.
    #[error("protocol error: {0}")]
    Protocol(#[source] ParseError),
    /// `close()` was called.
    #[error("closed by user")]
    ClosedByUser,
    /// `force_reconnect()` was called.
    #[error("forced reconnect")]
    ForcedReconnect,
    /// Moving away from a server in lame-duck mode (opt-in `lame_duck_reconnect`).
    #[error("leaving a server in lame duck mode")]
    LameDuck,
    /// Every server of the pool used up its attempts (R13).
    #[error("no servers available for connection")]
    NoServers,
    /// The same authentication error came twice from one server (R44), or reconnecting ended
    /// on another connect error.
    #[error("reconnecting stopped: {0}")]
    Connect(#[source] ConnectError),
    /// `drain()` completed.
    #[error("drained")]
    Drained,
    /// Every handle to the client was dropped.
    #[error("all client handles dropped")]
    HandlesDropped,
    /// A bug in this library stopped the connection (its task panicked); the client is closed.
    /// Please report it with the message.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ConnectionError {
    pub(crate) fn io(e: io::Error) -> Self {
        ConnectionError::Io(Arc::new(e))
    }

    /// An end the application or the client chose (`close()`, a completed drain, every handle
    /// dropped, `force_reconnect()`, leaving a lame-duck server), not a failure.
    pub(crate) fn is_deliberate(&self) -> bool {
        matches!(
            self,
            ConnectionError::ClosedByUser
                | ConnectionError::Drained
                | ConnectionError::HandlesDropped
                | ConnectionError::ForcedReconnect
                | ConnectionError::LameDuck
        )
    }

    pub(crate) fn eof() -> Self {
        ConnectionError::io(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "server closed the connection",
        ))
    }
}

/// Why a publish failed. A failed publish sent nothing.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(client: nats_client::Client) {
/// use nats_client::PublishError;
/// match client.publish("orders.new", "hi".into()).await {
///     Ok(()) => {}
///     Err(PublishError::ReconnectBufferFull { limit }) => eprintln!("buffer full ({limit} bytes)"),
///     Err(err) => eprintln!("publish failed: {err}"),
/// }
/// # }
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The subject is not a valid publish subject (no wildcards, no empty tokens, no spaces).
    #[error("invalid subject: {0}")]
    InvalidSubject(#[source] SubjectError),
    /// The reply subject is not valid.
    #[error("invalid reply subject: {0}")]
    InvalidReply(#[source] SubjectError),
    /// A header name or value is invalid (e.g. contains CR or LF).
    #[error("invalid header: {0}")]
    InvalidHeader(#[source] HeaderError),
    /// The payload is larger than the server's `max_payload`; the connection stays up.
    #[error("payload of {size} bytes exceeds the server's max_payload of {max} bytes")]
    PayloadTooLarge {
        /// Size of the rejected message (headers plus payload).
        size: usize,
        /// The server's limit.
        max: usize,
    },
    /// The server does not support headers.
    #[error("the server does not support headers")]
    HeadersNotSupported,
    /// The control line (op, subject, reply and sizes) would be longer than the server's
    /// `max_control_line` ([`ConnectOptions::max_control_line`](crate::ConnectOptions::max_control_line)),
    /// which would make the server close the connection; nothing was sent.
    #[error("control line of {len} bytes exceeds the server's max_control_line of {limit} bytes")]
    ControlLineTooLong {
        /// Length of the control line.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// Disconnected and the reconnect buffer is full or disabled (R63, R64).
    #[error("reconnect buffer full ({limit} bytes)")]
    ReconnectBufferFull {
        /// The configured limit (0 when buffering is disabled).
        limit: usize,
    },
    /// The client is draining and no longer accepts publishes (R70).
    #[error("connection is draining")]
    Draining,
    /// The client is closed.
    #[error("connection closed")]
    Closed,
}

/// Why a subscribe or unsubscribe failed.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(client: nats_client::Client) {
/// use nats_client::SubscribeError;
/// match client.subscribe("orders..new").await {
///     Ok(_sub) => {}
///     Err(SubscribeError::InvalidSubject(e)) => eprintln!("bad subject: {e}"),
///     Err(err) => eprintln!("subscribe failed: {err}"),
/// }
/// # }
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SubscribeError {
    /// The subject is not a valid subscription filter.
    #[error("invalid subject: {0}")]
    InvalidSubject(#[source] SubjectError),
    /// The queue group name is not valid.
    #[error("invalid queue group: {0}")]
    InvalidQueueGroup(#[source] SubjectError),
    /// The SUB line would be longer than the server's `max_control_line`; nothing was sent.
    #[error("control line of {len} bytes exceeds the server's max_control_line of {limit} bytes")]
    ControlLineTooLong {
        /// Length of the control line.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The client is draining (R113: new subscriptions are rejected).
    #[error("connection is draining")]
    Draining,
    /// The client (or this subscription) is closed.
    #[error("connection closed")]
    Closed,
    /// The server refused this subscription (`-ERR 'Permissions Violation for Subscription
    /// to …'`): what [`Subscriber::try_next`](crate::Subscriber::try_next) returns with
    /// [`ConnectOptions::permission_error_on_subscribe`](crate::ConnectOptions::permission_error_on_subscribe)
    /// until a new connection re-sends the subscription (R59).
    #[error("subscription refused: {0}")]
    PermissionDenied(#[source] ServerError),
}

/// Why a request failed.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(client: nats_client::Client) {
/// use nats_client::RequestError;
/// match client.request("svc.time", "".into()).await {
///     Ok(reply) => println!("{:?}", reply.payload),
///     Err(RequestError::NoResponders) => eprintln!("nobody serves svc.time"),
///     Err(RequestError::TimedOut(after)) => eprintln!("no reply after {after:?}"),
///     Err(err) => eprintln!("request failed: {err}"),
/// }
/// # }
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// No reply within the timeout; the request left nothing behind.
    #[error("request timed out after {0:?}")]
    TimedOut(Duration),
    /// The server reported that nobody subscribes to the subject (status 503).
    #[error("no responders for the request")]
    NoResponders,
    /// The request could not be published.
    #[error("{0}")]
    Publish(#[source] PublishError),
    /// The reply subscription could not be made.
    #[error("{0}")]
    Subscribe(#[source] SubscribeError),
    /// `force_reconnect()` dropped the connection while the request was in flight (D7).
    #[error("connection was reset by force_reconnect")]
    ConnectionReset,
    /// The client closed.
    #[error("connection closed")]
    Closed,
}

impl From<PublishError> for RequestError {
    fn from(e: PublishError) -> Self {
        match e {
            PublishError::Closed => RequestError::Closed,
            other => RequestError::Publish(other),
        }
    }
}

/// Why a flush failed.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(client: nats_client::Client) {
/// use nats_client::FlushError;
/// match client.flush().await {
///     Ok(()) => {}
///     Err(FlushError::TimedOut(after)) => eprintln!("no PONG after {after:?}"),
///     Err(err) => eprintln!("flush failed: {err}"),
/// }
/// # }
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum FlushError {
    /// No PONG within the timeout.
    #[error("flush timed out after {0:?}")]
    TimedOut(Duration),
    /// The connection dropped while the PING was unanswered (R74).
    #[error("connection lost before the flush completed")]
    Disconnected,
    /// The client closed (R77).
    #[error("connection closed")]
    Closed,
}

/// Why a drain failed.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(client: nats_client::Client) {
/// use nats_client::DrainError;
/// match client.drain().await {
///     Ok(()) => {}
///     Err(DrainError::TimedOut(after)) => eprintln!("drain gave up after {after:?}"),
///     Err(err) => eprintln!("drain failed: {err}"),
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DrainError {
    /// The client was reconnecting; it has been closed instead (R112).
    #[error("connection was reconnecting; closed without draining")]
    Reconnecting,
    /// The drain did not finish within its timeout; the connection closed anyway (R113).
    #[error("drain timed out after {0:?}")]
    TimedOut(Duration),
    /// The client (or subscription) was already closed.
    #[error("connection closed")]
    Closed,
}

/// Any error of this crate, for callers that use one error type with `?`.
///
/// # Examples
///
/// ```no_run
/// async fn run() -> Result<(), nats_client::Error> {
///     let client = nats_client::connect("nats://127.0.0.1:4222").await?; // ConnectError
///     client.publish("greet", "hello".into()).await?; // PublishError
///     client.flush().await?; // FlushError
///     Ok(())
/// }
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// See [`ConnectError`].
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// See [`PublishError`].
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// See [`SubscribeError`].
    #[error(transparent)]
    Subscribe(#[from] SubscribeError),
    /// See [`RequestError`].
    #[error(transparent)]
    Request(#[from] RequestError),
    /// See [`FlushError`].
    #[error(transparent)]
    Flush(#[from] FlushError),
    /// See [`DrainError`].
    #[error(transparent)]
    Drain(#[from] DrainError),
    /// See [`ConnectionError`].
    #[error(transparent)]
    Connection(#[from] ConnectionError),
}
