//! Opt-in zero-loss publishing: [`ConnectOptions::at_least_once`] and its settings.
//!
//! Core NATS is at-most-once: bytes handed to a socket that then dies are gone, with no error
//! for the publisher (a server stalled and then killed takes everything in its socket buffers
//! with it: megabytes). With `at_least_once(true)` the client keeps every publish it wrote
//! until the server has confirmed it — the server handles a connection's input in order, so
//! the PONG of a PING confirms every byte written before that PING — and after a reconnect it
//! re-sends the unconfirmed publishes, whole and in their original order, before the
//! reconnect buffer. What "confirmed" means: the server the client was connected to has
//! processed the message (routed it to the subscriptions it knows, or handed it to a route,
//! gateway or JetStream). It does not make the rest of the system durable: a message that
//! server processed and then lost on its way over a route to another node is not re-sent.
//!
//! **Duplicates.** A publish the server had processed, whose confirmation was lost with the
//! connection, is sent again: subscribers can see a message twice (never half of one).
//! [`Statistics::resent_messages`](crate::Statistics::resent_messages) counts the re-sent
//! publishes and [`Event::Resent`](crate::Event::Resent) reports them per reconnect; a
//! subscriber that must not act twice deduplicates by a message id of its own.

use std::time::Duration;

use crate::options::ConnectOptions;

/// Default [`ConnectOptions::at_least_once_threshold`]: a confirmation PING once 64 KiB of
/// publishes are unconfirmed.
///
/// # Examples
///
/// ```
/// use nats_client::{ConnectOptions, DEFAULT_AT_LEAST_ONCE_THRESHOLD};
/// let opts = ConnectOptions::new()
///     .at_least_once(true)
///     .at_least_once_threshold(4 * DEFAULT_AT_LEAST_ONCE_THRESHOLD);
/// ```
pub const DEFAULT_AT_LEAST_ONCE_THRESHOLD: usize = 64 * 1024;

/// Default [`ConnectOptions::at_least_once_interval`]: a publish waits at most 100 ms for its
/// confirmation PING.
///
/// # Examples
///
/// ```
/// use nats_client::{ConnectOptions, DEFAULT_AT_LEAST_ONCE_INTERVAL};
/// let opts = ConnectOptions::new()
///     .at_least_once(true)
///     .at_least_once_interval(DEFAULT_AT_LEAST_ONCE_INTERVAL / 2);
/// ```
pub const DEFAULT_AT_LEAST_ONCE_INTERVAL: Duration = Duration::from_millis(100);

/// Default [`ConnectOptions::at_least_once_limit`]: 16 MiB of unconfirmed publishes.
///
/// # Examples
///
/// ```
/// use nats_client::{ConnectOptions, DEFAULT_AT_LEAST_ONCE_LIMIT};
/// let opts = ConnectOptions::new()
///     .at_least_once(true)
///     .at_least_once_limit(2 * DEFAULT_AT_LEAST_ONCE_LIMIT);
/// ```
pub const DEFAULT_AT_LEAST_ONCE_LIMIT: usize = 16 * 1024 * 1024;

/// The settings, fixed at connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AtLeastOnce {
    pub(crate) enabled: bool,
    /// `message_ids`: every publish carries a `Nats-Msg-Id`.
    pub(crate) ids: bool,
    pub(crate) threshold: usize,
    pub(crate) interval: Duration,
    pub(crate) limit: usize,
}

impl Default for AtLeastOnce {
    fn default() -> Self {
        AtLeastOnce {
            enabled: false,
            ids: false,
            threshold: DEFAULT_AT_LEAST_ONCE_THRESHOLD,
            interval: DEFAULT_AT_LEAST_ONCE_INTERVAL,
            limit: DEFAULT_AT_LEAST_ONCE_LIMIT,
        }
    }
}

impl AtLeastOnce {
    /// The write queue's unconfirmed limit: `Some` when enabled.
    pub(crate) fn queue_limit(&self) -> Option<usize> {
        self.enabled.then_some(self.limit.max(1))
    }
}

impl ConnectOptions {
    /// At-least-once publishing (default off: core NATS' at-most-once).
    ///
    /// When on, every publish the client writes is kept until the server confirms it (the
    /// PONG of a later PING: the server handles a connection's input in order), and after a
    /// reconnect the unconfirmed publishes are sent again, first, before the reconnect buffer,
    /// in their original order and always whole. No publish that `publish` accepted is lost
    /// to a dying connection, a killed server or a stalled one, as long as the client
    /// reconnects before it is closed.
    ///
    /// **Duplicates are possible**: a publish the server processed but whose confirmation did
    /// not arrive before the connection died is sent again. Count them with
    /// [`Statistics::resent_messages`](crate::Statistics::resent_messages) and
    /// [`Event::Resent`](crate::Event::Resent); deduplicate by an id in the message if a
    /// subscriber must not see one twice: [`message_ids`](Self::message_ids) stamps one on every
    /// publish and [`Subscriber::dedup`](crate::Subscriber::dedup) drops the re-sent copies.
    ///
    /// What it does not cover: the server confirms what *it* processed; a message it handed
    /// to a route and then lost (that node killed) is not re-sent, and subscribers that are
    /// themselves disconnected miss messages as always in core NATS (use JetStream for
    /// durable delivery). `close()` does not wait for confirmations: call
    /// [`flush`](crate::Client::flush) (or use `drain()`) first; what is unconfirmed at close
    /// is dropped.
    ///
    /// Cost: one PING per [`at_least_once_threshold`](Self::at_least_once_threshold) bytes or
    /// [`at_least_once_interval`](Self::at_least_once_interval), a copy of what was written
    /// kept until its PONG (large payloads by reference), and publishers wait while
    /// [`at_least_once_limit`](Self::at_least_once_limit) bytes are unconfirmed.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_client::Error> {
    /// let client = nats_client::ConnectOptions::new()
    ///     .at_least_once(true)
    ///     .max_reconnects(None)
    ///     .connect("nats://127.0.0.1:4222")
    ///     .await?;
    /// client.publish("orders.new", "order 1".into()).await?;
    /// // ... the server may be killed here: the publish is re-sent after the reconnect.
    /// client.flush().await?; // confirmed: nothing before this point is kept any more
    /// println!("re-sent so far: {}", client.statistics().resent_messages);
    /// # Ok(()) }
    /// ```
    pub fn at_least_once(mut self, enabled: bool) -> Self {
        self.at_least_once.enabled = enabled;
        self
    }

    /// With [`at_least_once`](Self::at_least_once): a confirmation PING is sent once this many
    /// bytes of publishes are unconfirmed (default
    /// [`DEFAULT_AT_LEAST_ONCE_THRESHOLD`], 64 KiB). Smaller means less to re-send after a
    /// failure and less memory held, at more PINGs; one confirmation is in flight at a time.
    /// `0` is taken as 1.
    ///
    /// # Examples
    ///
    /// ```
    /// let opts = nats_client::ConnectOptions::new()
    ///     .at_least_once(true)
    ///     .at_least_once_threshold(256 * 1024);
    /// ```
    pub fn at_least_once_threshold(mut self, bytes: usize) -> Self {
        self.at_least_once.threshold = bytes.max(1);
        self
    }

    /// With [`at_least_once`](Self::at_least_once): a publish below the byte threshold waits at
    /// most this long (from its write) for a confirmation PING (default
    /// [`DEFAULT_AT_LEAST_ONCE_INTERVAL`], 100 ms). `Duration::MAX` confirms by bytes (and
    /// keep-alive, `flush()`) only.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let opts = nats_client::ConnectOptions::new()
    ///     .at_least_once(true)
    ///     .at_least_once_interval(Duration::from_millis(20));
    /// ```
    pub fn at_least_once_interval(mut self, interval: Duration) -> Self {
        self.at_least_once.interval = interval;
        self
    }

    /// With [`at_least_once`](Self::at_least_once): while connected, a publish waits
    /// (back-pressure, like a full write queue) when this many bytes are written and
    /// unconfirmed, until a PONG confirms some (default [`DEFAULT_AT_LEAST_ONCE_LIMIT`],
    /// 16 MiB). The check is made before appending, so one frame may cross it. Nothing is ever
    /// dropped to make room. While disconnected the reconnect buffer's own limit applies to new
    /// publishes (R63); the unconfirmed ones are kept in addition to it and re-sent first.
    ///
    /// # Examples
    ///
    /// ```
    /// let opts = nats_client::ConnectOptions::new()
    ///     .at_least_once(true)
    ///     .at_least_once_limit(64 * 1024 * 1024);
    /// ```
    pub fn at_least_once_limit(mut self, bytes: usize) -> Self {
        self.at_least_once.limit = bytes.max(1);
        self
    }

    /// Every publish carries a `Nats-Msg-Id` header (default off): this client's 12 random
    /// base62 characters and a counter in base62 (`Hx3k9QpL2mTa1`, `Hx3k9QpL2mTa2`, …), the
    /// counter taken when the publish enters the write queue, so the ids increase in the order
    /// the publishes reach the wire. A header you set yourself is kept as it is.
    ///
    /// With [`at_least_once`](Self::at_least_once), a re-sent publish carries the id it had, so
    /// a subscriber built with [`Subscriber::dedup`](crate::Subscriber::dedup) delivers each
    /// message once; a JetStream stream capturing the subject also stores it once (it
    /// deduplicates by this header within its duplicate window). Cost: about 40 bytes of
    /// headers per message (measured with `at_least_once`, 128 B payloads: 68 % of the publish
    /// rate without ids, 87 % end to end; the header block of a message without other headers is
    /// written directly, no allocation), and the server must support headers
    /// ([`PublishError::HeadersNotSupported`](crate::PublishError::HeadersNotSupported)
    /// otherwise).
    ///
    /// # Examples
    ///
    /// ```
    /// let opts = nats_client::ConnectOptions::new()
    ///     .at_least_once(true)
    ///     .message_ids(true);
    /// ```
    pub fn message_ids(mut self, enabled: bool) -> Self {
        self.at_least_once.ids = enabled;
        self
    }
}
