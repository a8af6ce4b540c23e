//! Errors, grouped by operation: [`Error`] for API calls (streams, consumers), [`PublishError`]
//! for publishing, [`ConsumeError`] for the items of `fetch`/`messages`/ordered streams, and
//! [`AckError`] for acknowledgements. Each keeps its cause and the server's `err_code`.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A JetStream error code: the `err_code` of an API error (J1). Unknown codes stay
/// representable; the constants name the ones callers usually match on.
///
/// # Examples
///
/// ```
/// use nats_jetstream::ErrorCode;
/// assert_eq!(ErrorCode::STREAM_NOT_FOUND, ErrorCode(10059));
/// assert_eq!(ErrorCode(10014).to_string(), "10014");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ErrorCode(pub u16);

impl ErrorCode {
    /// 10003: the request was malformed.
    pub const BAD_REQUEST: ErrorCode = ErrorCode(10003);
    /// 10005: no suitable peers for placement (not enough servers for the replicas).
    pub const CLUSTER_NO_PEERS: ErrorCode = ErrorCode(10005);
    /// 10008: JetStream system temporarily unavailable (no meta leader).
    pub const CLUSTER_NOT_AVAILABLE: ErrorCode = ErrorCode(10008);
    /// 10013: the consumer name is in use with a different configuration.
    pub const CONSUMER_NAME_EXISTS: ErrorCode = ErrorCode(10013);
    /// 10014: consumer not found.
    pub const CONSUMER_NOT_FOUND: ErrorCode = ErrorCode(10014);
    /// 10037: no message found.
    pub const NO_MESSAGE_FOUND: ErrorCode = ErrorCode(10037);
    /// 10039: JetStream is not enabled for the account.
    pub const NOT_ENABLED_FOR_ACCOUNT: ErrorCode = ErrorCode(10039);
    /// 10054: the message is larger than the stream's `max_msg_size`.
    pub const MESSAGE_TOO_LARGE: ErrorCode = ErrorCode(10054);
    /// 10058: the stream name is in use with a different configuration.
    pub const STREAM_NAME_EXISTS: ErrorCode = ErrorCode(10058);
    /// 10059: stream not found.
    pub const STREAM_NOT_FOUND: ErrorCode = ErrorCode(10059);
    /// 10060: the expected stream (`Nats-Expected-Stream`) does not match.
    pub const STREAM_NOT_MATCH: ErrorCode = ErrorCode(10060);
    /// 10070: wrong last message id (`Nats-Expected-Last-Msg-Id`).
    pub const WRONG_LAST_MSG_ID: ErrorCode = ErrorCode(10070);
    /// 10071: wrong last sequence (`Nats-Expected-Last-Sequence` or
    /// `Nats-Expected-Last-Subject-Sequence`).
    pub const WRONG_LAST_SEQUENCE: ErrorCode = ErrorCode(10071);
    /// 10076: JetStream is not enabled.
    pub const NOT_ENABLED: ErrorCode = ErrorCode(10076);
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The server's `{"error": {"code", "err_code", "description"}}` (J1).
///
/// # Examples
///
/// ```
/// use nats_jetstream::{ApiError, ErrorCode};
/// let e: ApiError = serde_json::from_str(
///     r#"{"code":404,"err_code":10059,"description":"stream not found"}"#).unwrap();
/// assert_eq!(e.err_code, ErrorCode::STREAM_NOT_FOUND);
/// assert_eq!(e.code, 404);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{description} (err_code {err_code}, status {code})")]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP-like status (400, 404, 500, 503...).
    pub code: u16,
    /// The JetStream error code.
    #[serde(default = "unknown_code")]
    pub err_code: ErrorCode,
    /// What the server said.
    #[serde(default)]
    pub description: String,
}

fn unknown_code() -> ErrorCode {
    ErrorCode(0)
}

impl ApiError {
    /// An error made from its parts (for errors the client derives from status messages).
    ///
    /// # Examples
    ///
    /// ```
    /// use nats_jetstream::{ApiError, ErrorCode};
    /// let e = ApiError::new(404, ErrorCode::NO_MESSAGE_FOUND, "no message found");
    /// assert_eq!(e.to_string(), "no message found (err_code 10037, status 404)");
    /// ```
    pub fn new(code: u16, err_code: ErrorCode, description: impl Into<String>) -> ApiError {
        ApiError {
            code,
            err_code,
            description: description.into(),
        }
    }
}

/// A stream or consumer name that the server would reject (J3).
///
/// # Examples
///
/// ```
/// let e = nats_jetstream::validate_name("stream", "a.b").unwrap_err();
/// assert_eq!(e.to_string(), "invalid stream name \"a.b\": contains '.'");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} name {name:?}: {reason}")]
#[non_exhaustive]
pub struct NameError {
    /// `"stream"` or `"consumer"`.
    pub what: &'static str,
    /// The rejected name.
    pub name: String,
    /// Why.
    pub reason: String,
}

/// The error of a JetStream API call: stream and consumer management, message get/delete.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(js: nats_jetstream::Context) {
/// match js.get_stream("ORDERS").await {
///     Ok(stream) => println!("found {}", stream.name()),
///     Err(e) if e.is_not_found() => println!("no such stream"),
///     Err(nats_jetstream::Error::JetStreamNotEnabled) => println!("no JetStream here"),
///     Err(e) => eprintln!("failed: {e}"),
/// }
/// # }
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an error; match on its `err_code`.
    #[error("JetStream API error: {0}")]
    Api(#[source] ApiError),
    /// Nobody answered the API subject: JetStream is not enabled for this account or not
    /// reachable (J2).
    #[error("JetStream not enabled (no responders on the API)")]
    JetStreamNotEnabled,
    /// No answer within the API timeout.
    #[error("JetStream API request timed out after {0:?}")]
    TimedOut(Duration),
    /// A name the server would reject, caught locally (J3).
    #[error(transparent)]
    InvalidName(#[from] NameError),
    /// An argument the server would reject, caught locally.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The request could not be made (connection closed, bad subject...).
    #[error("request failed: {0}")]
    Request(#[source] nats_client::RequestError),
    /// The server's reply could not be understood.
    #[error("unexpected reply from the server: {0}")]
    Decode(String),
}

impl Error {
    /// The server's error, when it sent one.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) {
    /// if let Err(e) = js.delete_stream("NOPE").await {
    ///     println!("{:?}", e.api_error().map(|a| a.err_code));
    /// }
    /// # }
    /// ```
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// The server's `err_code`, when it sent one.
    ///
    /// # Examples
    ///
    /// ```
    /// use nats_jetstream::{ApiError, Error, ErrorCode};
    /// let e = Error::Api(ApiError::new(404, ErrorCode::STREAM_NOT_FOUND, "stream not found"));
    /// assert_eq!(e.err_code(), Some(ErrorCode::STREAM_NOT_FOUND));
    /// ```
    pub fn err_code(&self) -> Option<ErrorCode> {
        self.api_error().map(|e| e.err_code)
    }

    /// Stream, consumer or message not found.
    ///
    /// # Examples
    ///
    /// ```
    /// use nats_jetstream::{ApiError, Error, ErrorCode};
    /// let e = Error::Api(ApiError::new(404, ErrorCode::CONSUMER_NOT_FOUND, "consumer not found"));
    /// assert!(e.is_not_found());
    /// assert!(!Error::JetStreamNotEnabled.is_not_found());
    /// ```
    pub fn is_not_found(&self) -> bool {
        matches!(
            self.err_code(),
            Some(
                ErrorCode::STREAM_NOT_FOUND
                    | ErrorCode::CONSUMER_NOT_FOUND
                    | ErrorCode::NO_MESSAGE_FOUND
            )
        )
    }

    /// The stream does not exist (10059).
    ///
    /// # Examples
    ///
    /// ```
    /// use nats_jetstream::{ApiError, Error, ErrorCode};
    /// let e = Error::Api(ApiError::new(404, ErrorCode::STREAM_NOT_FOUND, "stream not found"));
    /// assert!(e.is_stream_not_found());
    /// ```
    pub fn is_stream_not_found(&self) -> bool {
        self.err_code() == Some(ErrorCode::STREAM_NOT_FOUND)
    }

    /// The consumer does not exist (10014).
    ///
    /// # Examples
    ///
    /// ```
    /// use nats_jetstream::{ApiError, Error, ErrorCode};
    /// let e = Error::Api(ApiError::new(404, ErrorCode::CONSUMER_NOT_FOUND, "consumer not found"));
    /// assert!(e.is_consumer_not_found());
    /// ```
    pub fn is_consumer_not_found(&self) -> bool {
        self.err_code() == Some(ErrorCode::CONSUMER_NOT_FOUND)
    }

    /// A failure that may pass by itself (timeout, no responders, a 503 from the server, a
    /// reset connection): worth retrying.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// assert!(nats_jetstream::Error::TimedOut(Duration::from_secs(5)).is_transient());
    /// ```
    pub fn is_transient(&self) -> bool {
        match self {
            Error::TimedOut(_) | Error::JetStreamNotEnabled => true,
            Error::Api(e) => e.code == 503 || e.err_code == ErrorCode::CLUSTER_NOT_AVAILABLE,
            Error::Request(e) => matches!(e, nats_client::RequestError::ConnectionReset),
            _ => false,
        }
    }
}

/// The error of a JetStream publish (J6–J9).
///
/// # Examples
///
/// ```no_run
/// # async fn demo(js: nats_jetstream::Context) {
/// use nats_jetstream::{ErrorCode, Publish, PublishError};
/// let ack = async {
///     js.send_publish("orders.new", Publish::build().payload("x".into()).expected_last_sequence(41))
///         .await?
///         .await
/// };
/// match ack.await {
///     Ok(ack) => println!("stored as {}", ack.sequence),
///     Err(PublishError::Api(e)) if e.err_code == ErrorCode::WRONG_LAST_SEQUENCE => println!("lost a race"),
///     Err(PublishError::NoStream { subject }) => println!("no stream for {subject}"),
///     Err(e) => println!("failed (may be stored: {})", e.may_be_stored()),
/// }
/// # }
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The stream refused the message (wrong last sequence, message too large, ...): it is
    /// not stored (J7).
    #[error("the stream refused the message: {0}")]
    Api(#[source] ApiError),
    /// No stream listens on the subject (no responders after the ADR-22 retries, J7).
    #[error("no stream listens on {subject}")]
    NoStream {
        /// The subject published to.
        subject: String,
    },
    /// The message could not be handed to the connection (bad subject, payload above the
    /// server's `max_payload`, client closed).
    #[error("publish failed: {0}")]
    Publish(#[source] nats_client::PublishError),
    /// An invalid header or option, caught locally.
    #[error("invalid publish: {0}")]
    InvalidArgument(String),
    /// No ack arrived before the publish retry window passed (J9). `may_be_stored` says
    /// whether an attempt may have reached the stream (its ack was lost) or none did.
    #[error("no ack after {attempts} attempts within {window:?} (may be stored: {may_be_stored})")]
    TimedOut {
        /// Attempts made.
        attempts: u32,
        /// The retry window that passed.
        window: Duration,
        /// Whether the message may be in the stream.
        may_be_stored: bool,
    },
    /// The ack could not be understood.
    #[error("unexpected ack from the server: {0}")]
    Decode(String),
    /// The client closed before the ack arrived; the message may be stored.
    #[error("the client closed before the ack arrived")]
    Closed,
}

impl PublishError {
    /// Whether the message may be in the stream despite the error: `false` when the server
    /// refused it or it never left the client, `true` when its ack was lost.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = nats_jetstream::PublishError::NoStream { subject: "a".into() };
    /// assert!(!e.may_be_stored());
    /// ```
    pub fn may_be_stored(&self) -> bool {
        match self {
            PublishError::TimedOut { may_be_stored, .. } => *may_be_stored,
            PublishError::Closed | PublishError::Decode(_) => true,
            _ => false,
        }
    }

    /// The server's `err_code`, when the stream refused the message.
    ///
    /// # Examples
    ///
    /// ```
    /// use nats_jetstream::{ApiError, ErrorCode, PublishError};
    /// let e = PublishError::Api(ApiError::new(400, ErrorCode::WRONG_LAST_SEQUENCE, "wrong last sequence: 3"));
    /// assert_eq!(e.err_code(), Some(ErrorCode::WRONG_LAST_SEQUENCE));
    /// ```
    pub fn err_code(&self) -> Option<ErrorCode> {
        match self {
            PublishError::Api(e) => Some(e.err_code),
            _ => None,
        }
    }
}

/// An item error of a consumer's message stream (`fetch`, `batch`, `messages`, ordered).
///
/// [`is_terminal`](ConsumeError::is_terminal) tells whether the stream ends after it.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(consumer: nats_jetstream::consumer::PullConsumer) -> Result<(), nats_jetstream::Error> {
/// use futures_util::StreamExt;
/// use nats_jetstream::ConsumeError;
/// let mut messages = consumer.messages().await?;
/// while let Some(item) = messages.next().await {
///     match item {
///         Ok(msg) => { let _ = msg.ack().await; }
///         Err(ConsumeError::MissingHeartbeats { .. }) => eprintln!("no heartbeat; re-pulling"),
///         Err(ConsumeError::ConsumerDeleted) => break,
///         Err(e) => eprintln!("{e}"),
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ConsumeError {
    /// Two idle heartbeats were missed; the client re-pulls (a warning, not terminal, J13).
    #[error("missed {missed} idle heartbeats; re-pulling")]
    MissingHeartbeats {
        /// Heartbeats missed in a row.
        missed: u32,
    },
    /// The consumer was deleted (J14, J15): terminal.
    #[error("the consumer was deleted")]
    ConsumerDeleted,
    /// The consumer is push based and cannot be pulled from (J14): terminal.
    #[error("the consumer is push based")]
    ConsumerPushBased,
    /// The stream was deleted (J19): terminal.
    #[error("the stream was deleted")]
    StreamDeleted,
    /// The server rejected the pull request (e.g. a batch above the consumer's `max_batch`):
    /// terminal.
    #[error("pull request rejected: {status} {description}")]
    PullRejected {
        /// The status code (400, 409).
        status: u16,
        /// The server's description.
        description: String,
    },
    /// Re-pulling (or re-creating the ordered consumer) kept failing until the configured
    /// number of attempts: terminal, with the last failure.
    #[error("gave up after {attempts} attempts: {source}")]
    GaveUp {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        #[source]
        source: Error,
    },
    /// The server refused what consuming needs: the subscription to the pull's reply inbox,
    /// or the pull request itself (`-ERR 'Permissions Violation …'` for this consumer's
    /// `CONSUMER.MSG.NEXT` subject): terminal, with the server's words.
    #[error("permission denied: {0}")]
    PermissionDenied(#[source] nats_client::ServerError),
    /// The client closed: terminal.
    #[error("the client closed")]
    Closed,
}

impl ConsumeError {
    /// Whether the stream ends after this item.
    ///
    /// # Examples
    ///
    /// ```
    /// use nats_jetstream::ConsumeError;
    /// assert!(ConsumeError::ConsumerDeleted.is_terminal());
    /// assert!(!ConsumeError::MissingHeartbeats { missed: 2 }.is_terminal());
    /// ```
    pub fn is_terminal(&self) -> bool {
        !matches!(self, ConsumeError::MissingHeartbeats { .. })
    }
}

/// The error of acknowledging a message (J17).
///
/// # Examples
///
/// ```no_run
/// # async fn demo(msg: nats_jetstream::Message) {
/// if let Err(nats_jetstream::AckError::AlreadyAcked) = msg.ack().await {
///     eprintln!("acked twice");
/// }
/// # }
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AckError {
    /// The message was already acknowledged (ack, nak or term); only `Progress` may repeat.
    #[error("the message was already acknowledged")]
    AlreadyAcked,
    /// The message has no reply subject to acknowledge to (not from a consumer, or AckNone).
    #[error("the message has no ack subject")]
    NoReply,
    /// The ack could not be sent.
    #[error("sending the ack failed: {0}")]
    Publish(#[source] nats_client::PublishError),
    /// The server did not confirm a double ack.
    #[error("the double ack was not confirmed: {0}")]
    Request(#[source] nats_client::RequestError),
}
