//! Connection events and the connection status. How they reach the application (in order,
//! complete, bounded) is [`event_stream`](crate::event_stream).

use std::fmt;

use nats_proto::ServerError;

use crate::callback::CallbackKind;
use crate::error::{ConnectError, ConnectionError};

/// The connection's state (R90).
///
/// `Connecting` → `Connected` → (`Reconnecting` → `Connected`)* → `Draining`? → `Closed`.
///
/// # Examples
///
/// ```
/// use nats_client::Status;
/// assert_eq!(Status::Reconnecting.to_string(), "reconnecting");
/// assert_ne!(Status::Connected, Status::Closed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// The first connection is being made.
    Connecting,
    /// A handshake completed and the connection is live.
    Connected,
    /// The connection was lost (or the first connect failed with `retry_on_failed_connect`)
    /// and the client is trying servers; publishes are buffered.
    Reconnecting,
    /// `drain()` is in progress.
    Draining,
    /// Closed for good; every call returns a `Closed` error.
    Closed,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Connecting => "connecting",
            Status::Connected => "connected",
            Status::Reconnecting => "reconnecting",
            Status::Draining => "draining",
            Status::Closed => "closed",
        })
    }
}

/// Something that happened to the connection, in the order it happened (spec §3 timelines).
///
/// # Examples
///
/// ```no_run
/// # async fn demo() -> Result<(), nats_client::Error> {
/// use nats_client::{ConnectOptions, Event};
/// let client = ConnectOptions::new()
///     .event_callback(|event: &Event| println!("{event}"))
///     .connect("nats://127.0.0.1:4222")
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// The first successful connection (R83), also when it comes from the
    /// `retry_on_failed_connect` loop.
    Connected,
    /// An established connection was lost or closed; fires exactly once per connection, always
    /// with its cause (D2).
    Disconnected {
        /// Why the connection ended.
        error: ConnectionError,
    },
    /// A reconnect attempt failed (R86).
    ReconnectFailed {
        /// The server tried (credentials hidden).
        server: String,
        /// Why the attempt failed.
        error: ConnectError,
        /// The server's attempt number within this outage.
        attempt: u32,
    },
    /// A later connection succeeded (R83); subscriptions and the buffer are already resent.
    Reconnected,
    /// Every live subscription was re-sent on the new connection (R54).
    Resubscribed,
    /// With [`ConnectOptions::at_least_once`](crate::ConnectOptions::at_least_once): this many
    /// publishes that the lost connection had not confirmed were sent again on the new one,
    /// before the reconnect buffer. Subscribers may see them twice. Comes right after
    /// `Reconnected` (and `Resubscribed`).
    Resent {
        /// Publishes re-sent.
        messages: u64,
    },
    /// An INFO announced servers never seen before (R96); see `Client::discovered_servers`.
    DiscoveredServers,
    /// The server entered lame-duck mode (R102).
    LameDuckMode,
    /// A subscription dropped messages because its pending limits were reached; one event per
    /// episode, not per message (D6).
    SlowConsumer {
        /// The subscription's id.
        sid: u64,
        /// Messages it has dropped so far.
        dropped: u64,
    },
    /// The server sent a `-ERR` (permissions, limits, auth) that did not close the connection by
    /// itself (R43, R51).
    ServerError {
        /// The server's error.
        error: ServerError,
    },
    /// A user callback panicked. The panic was caught (and logged with `tracing` at error
    /// level); the client goes on as if the callback had not been set for that call: an event
    /// callback's event is still delivered to every other listener, a reconnect-delay callback
    /// falls back to the default wait, a server-choice callback to the default rotation, and an
    /// auth callback fails that connection attempt.
    CallbackPanicked {
        /// Which callback.
        callback: CallbackKind,
        /// The panic message.
        message: String,
    },
    /// The client is closed for good; fires exactly once (R87) and is the last event.
    Closed {
        /// Why it closed.
        reason: ConnectionError,
    },
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Connected => write!(f, "connected"),
            Event::Disconnected { error } => write!(f, "disconnected: {error}"),
            Event::ReconnectFailed {
                server,
                error,
                attempt,
            } => write!(
                f,
                "reconnect to {server} failed (attempt {attempt}): {error}"
            ),
            Event::Reconnected => write!(f, "reconnected"),
            Event::Resubscribed => write!(f, "resubscribed"),
            Event::Resent { messages } => {
                write!(f, "re-sent {messages} unconfirmed publishes")
            }
            Event::DiscoveredServers => write!(f, "discovered new servers"),
            Event::LameDuckMode => write!(f, "server entered lame duck mode"),
            Event::SlowConsumer { sid, dropped } => {
                write!(f, "slow consumer on subscription {sid}: {dropped} dropped")
            }
            Event::ServerError { error } => write!(f, "{error}"),
            Event::CallbackPanicked { callback, message } => {
                write!(f, "{callback} callback panicked: {message}")
            }
            Event::Closed { reason } => write!(f, "closed: {reason}"),
        }
    }
}
