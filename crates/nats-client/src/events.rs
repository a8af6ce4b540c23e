//! Connection events, the connection status, and the ordered dispatcher that delivers events to
//! callbacks and to [`EventStream`]s off the I/O tasks (R82, D6).

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use nats_proto::ServerError;
use tokio::sync::{mpsc, watch};

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
            Event::DiscoveredServers => write!(f, "discovered new servers"),
            Event::LameDuckMode => write!(f, "server entered lame duck mode"),
            Event::SlowConsumer { sid, dropped } => {
                write!(f, "slow consumer on subscription {sid}: {dropped} dropped")
            }
            Event::ServerError { error } => write!(f, "{error}"),
            Event::Closed { reason } => write!(f, "closed: {reason}"),
        }
    }
}

/// A user callback for events.
pub(crate) type EventCallback = Arc<dyn Fn(&Event) + Send + Sync>;

enum Item {
    Event(Event),
    Listen(mpsc::UnboundedSender<Event>),
}

/// The sending side of the dispatcher, plus the status channel.
#[derive(Clone)]
pub(crate) struct Events {
    queue: mpsc::UnboundedSender<Item>,
    status: Arc<watch::Sender<Status>>,
}

impl Events {
    /// Starts the dispatcher task on the current runtime.
    pub(crate) fn start(callbacks: Vec<EventCallback>, initial: Status) -> Events {
        let (queue, rx) = mpsc::unbounded_channel();
        let (status, _) = watch::channel(initial);
        tokio::spawn(dispatch(rx, callbacks));
        Events {
            queue,
            status: Arc::new(status),
        }
    }

    /// Queues an event; never blocks and never drops (D6).
    pub(crate) fn emit(&self, event: Event) {
        tracing::debug!(%event, "connection event");
        // The dispatcher only stops after Closed, which is the last event emitted.
        let _ = self.queue.send(Item::Event(event));
    }

    /// A new stream of every event from now on.
    pub(crate) fn listen(&self) -> EventStream {
        let (tx, rx) = mpsc::unbounded_channel();
        if self.queue.send(Item::Listen(tx)).is_err() {
            // Closed already: the stream ends at once.
        }
        EventStream { rx }
    }

    pub(crate) fn set_status(&self, status: Status) {
        self.status.send_if_modified(|s| {
            if *s == status || *s == Status::Closed {
                false
            } else {
                *s = status;
                true
            }
        });
    }

    pub(crate) fn status(&self) -> Status {
        *self.status.borrow()
    }

    pub(crate) fn watch_status(&self) -> watch::Receiver<Status> {
        self.status.subscribe()
    }
}

async fn dispatch(mut rx: mpsc::UnboundedReceiver<Item>, callbacks: Vec<EventCallback>) {
    let mut listeners: Vec<mpsc::UnboundedSender<Event>> = Vec::new();
    while let Some(item) = rx.recv().await {
        match item {
            Item::Listen(tx) => listeners.push(tx),
            Item::Event(event) => {
                for cb in &callbacks {
                    cb(&event);
                }
                listeners.retain(|l| l.send(event.clone()).is_ok());
                if matches!(event, Event::Closed { .. }) {
                    break;
                }
            }
        }
    }
}

/// Every connection event from the moment it was created, in order (`Client::events`).
///
/// Ends after [`Event::Closed`].
///
/// # Examples
///
/// ```no_run
/// # async fn demo(client: nats_client::Client) {
/// use nats_client::Event;
/// let mut events = client.events();
/// while let Some(event) = events.recv().await {
///     if let Event::Disconnected { error } = &event {
///         eprintln!("connection lost: {error}");
///     }
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct EventStream {
    rx: mpsc::UnboundedReceiver<Event>,
}

impl EventStream {
    /// The next event, or `None` after `Closed`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) {
    /// let mut events = client.events();
    /// if let Some(event) = events.recv().await {
    ///     println!("{event}");
    /// }
    /// # }
    /// ```
    pub async fn recv(&mut self) -> Option<Event> {
        self.rx.recv().await
    }
}

impl Stream for EventStream {
    type Item = Event;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.rx.poll_recv(cx)
    }
}
