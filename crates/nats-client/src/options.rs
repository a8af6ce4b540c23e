//! [`ConnectOptions`]: every connection and reconnection setting, with nats.go's defaults.
//!
//! This file holds the defaults, the struct, identity, timeouts, limits and callbacks; the
//! other setters live by topic in `reconnect.rs` (reconnecting, keep-alive, dialling) and
//! `security.rs` (authentication, TLS); `server_addrs.rs` has [`ToServerAddrs`].

mod reconnect;
mod security;
mod server_addrs;

pub use server_addrs::ToServerAddrs;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use nats_proto::ServerInfo;

use crate::at_least_once::AtLeastOnce;
use crate::auth::{Auth, AuthOptions, CredentialsSource};
use crate::error::ConnectError;
use crate::event_stream::EventCallback;
use crate::events::Event;
use crate::pool::{PoolServer, ReconnectDelay, ReconnectToServer};
use crate::server_addr::ServerAddr;
use crate::tls::TlsOptions;

/// Default per-server reconnect attempts (R12).
///
/// # Examples
///
/// ```
/// use nats_client::{ConnectOptions, DEFAULT_MAX_RECONNECTS};
/// let opts = ConnectOptions::new().max_reconnects(Some(2 * DEFAULT_MAX_RECONNECTS));
/// ```
pub const DEFAULT_MAX_RECONNECTS: u32 = 60;
/// Default wait between passes over the pool (R15).
///
/// # Examples
///
/// ```
/// use nats_client::{ConnectOptions, DEFAULT_RECONNECT_WAIT};
/// let opts = ConnectOptions::new().reconnect_wait(DEFAULT_RECONNECT_WAIT / 2);
/// ```
pub const DEFAULT_RECONNECT_WAIT: Duration = Duration::from_secs(2);
/// Default jitter bound without TLS (R16).
///
/// # Examples
///
/// ```
/// use nats_client::{ConnectOptions, DEFAULT_RECONNECT_JITTER};
/// let opts = ConnectOptions::new()
///     .reconnect_jitter(DEFAULT_RECONNECT_JITTER, DEFAULT_RECONNECT_JITTER * 2);
/// ```
pub const DEFAULT_RECONNECT_JITTER: Duration = Duration::from_millis(100);
/// Default jitter bound with TLS (R16).
///
/// # Examples
///
/// ```
/// use nats_client::{ConnectOptions, DEFAULT_RECONNECT_JITTER_TLS};
/// let opts = ConnectOptions::new()
///     .reconnect_jitter(DEFAULT_RECONNECT_JITTER_TLS / 10, DEFAULT_RECONNECT_JITTER_TLS);
/// ```
pub const DEFAULT_RECONNECT_JITTER_TLS: Duration = Duration::from_secs(1);
/// Default reconnect buffer: 8 MiB (R63).
///
/// # Examples
///
/// ```
/// use nats_client::{ConnectOptions, DEFAULT_RECONNECT_BUFFER_SIZE};
/// let opts = ConnectOptions::new().reconnect_buffer_size(Some(4 * DEFAULT_RECONNECT_BUFFER_SIZE));
/// ```
pub const DEFAULT_RECONNECT_BUFFER_SIZE: usize = 8 * 1024 * 1024;
/// Default deadline for dial + handshake (R22).
///
/// # Examples
///
/// ```
/// use nats_client::{ConnectOptions, DEFAULT_CONNECTION_TIMEOUT};
/// let opts = ConnectOptions::new().connection_timeout(2 * DEFAULT_CONNECTION_TIMEOUT);
/// ```
pub const DEFAULT_CONNECTION_TIMEOUT: Duration = Duration::from_secs(2);
/// Default client ping interval (R37).
///
/// # Examples
///
/// ```
/// use nats_client::{ConnectOptions, DEFAULT_PING_INTERVAL};
/// let opts = ConnectOptions::new().ping_interval(DEFAULT_PING_INTERVAL / 4);
/// ```
pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(120);
/// Default write deadline: a connection whose socket takes no byte for this long is given up
/// (R42).
///
/// # Examples
///
/// ```
/// use nats_client::{ConnectOptions, DEFAULT_FLUSHER_TIMEOUT};
/// let opts = ConnectOptions::new().flusher_timeout(DEFAULT_FLUSHER_TIMEOUT / 2);
/// ```
pub const DEFAULT_FLUSHER_TIMEOUT: Duration = Duration::from_secs(60);
/// Default of [`ConnectOptions::write_buffer_size`]: 32 KiB.
///
/// # Examples
///
/// ```
/// use nats_client::{ConnectOptions, DEFAULT_WRITE_BUFFER_SIZE};
/// let opts = ConnectOptions::new().write_buffer_size(4 * DEFAULT_WRITE_BUFFER_SIZE);
/// ```
pub const DEFAULT_WRITE_BUFFER_SIZE: usize = 32 * 1024;
/// Default unanswered pings before the connection is stale (R37).
///
/// # Examples
///
/// ```
/// use nats_client::{ConnectOptions, DEFAULT_MAX_PINGS_OUT};
/// let opts = ConnectOptions::new().max_pings_out(DEFAULT_MAX_PINGS_OUT + 1);
/// ```
pub const DEFAULT_MAX_PINGS_OUT: u32 = 2;
/// Default request timeout.
///
/// # Examples
///
/// ```
/// use nats_client::{ConnectOptions, DEFAULT_REQUEST_TIMEOUT};
/// let opts = ConnectOptions::new().request_timeout(DEFAULT_REQUEST_TIMEOUT / 5);
/// ```
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Default flush timeout (R77).
///
/// # Examples
///
/// ```
/// use nats_client::{ConnectOptions, DEFAULT_FLUSH_TIMEOUT};
/// let opts = ConnectOptions::new().flush_timeout(DEFAULT_FLUSH_TIMEOUT / 5);
/// ```
pub const DEFAULT_FLUSH_TIMEOUT: Duration = Duration::from_secs(10);
/// Default drain timeout (R113).
///
/// # Examples
///
/// ```
/// use nats_client::{ConnectOptions, DEFAULT_DRAIN_TIMEOUT};
/// let opts = ConnectOptions::new().drain_timeout(DEFAULT_DRAIN_TIMEOUT * 2);
/// ```
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Default pending-message limit per subscription (like nats.go's 512 Ki).
///
/// # Examples
///
/// ```
/// use nats_client::{ConnectOptions, DEFAULT_PENDING_BYTES, DEFAULT_PENDING_MSGS};
/// let opts = ConnectOptions::new()
///     .subscription_pending_limits(DEFAULT_PENDING_MSGS / 4, DEFAULT_PENDING_BYTES);
/// ```
pub const DEFAULT_PENDING_MSGS: usize = 512 * 1024;
/// Default pending-byte limit per subscription: 64 MiB.
///
/// # Examples
///
/// ```
/// use nats_client::{ConnectOptions, DEFAULT_PENDING_BYTES, DEFAULT_PENDING_MSGS};
/// let opts = ConnectOptions::new()
///     .subscription_pending_limits(DEFAULT_PENDING_MSGS, DEFAULT_PENDING_BYTES / 4);
/// ```
pub const DEFAULT_PENDING_BYTES: usize = 64 * 1024 * 1024;

/// The default [`ConnectOptions::max_control_line`]: nats-server's default `max_control_line`.
///
/// ```
/// assert_eq!(nats_client::DEFAULT_MAX_CONTROL_LINE, 4096);
/// ```
pub const DEFAULT_MAX_CONTROL_LINE: usize = nats_proto::MAX_CONTROL_LINE;

/// The smallest accepted [`ConnectOptions::max_control_line`] (a CONNECT line must fit).
const MIN_CONTROL_LINE: usize = 256;

/// Builder for a [`Client`](crate::Client): set options, then `connect`.
///
/// Every setter takes and returns the builder by value. Defaults are nats.go's
/// (`spec/reconnect-behaviour.md` §1).
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use nats_client::{ConnectOptions, Event};
///
/// # async fn demo() -> Result<(), nats_client::ConnectError> {
/// let client = ConnectOptions::new()
///     .name("orders")
///     .max_reconnects(Some(60))
///     .reconnect_wait(Duration::from_secs(2))
///     .event_callback(|event: &Event| println!("{event}"))
///     .connect(["nats://a:4222", "nats://b:4222"])
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[must_use]
pub struct ConnectOptions {
    pub(crate) name: Option<String>,
    pub(crate) echo: bool,
    pub(crate) verbose: bool,
    pub(crate) pedantic: bool,
    pub(crate) auth: AuthOptions,
    pub(crate) tls: TlsOptions,
    pub(crate) allow_reconnect: bool,
    pub(crate) max_reconnects: Option<u32>,
    pub(crate) reconnect_wait: Duration,
    pub(crate) reconnect_jitter: Duration,
    pub(crate) reconnect_jitter_tls: Duration,
    pub(crate) reconnect_delay: Option<ReconnectDelay>,
    pub(crate) reconnect_to_server: Option<ReconnectToServer>,
    pub(crate) reconnect_buffer_size: Option<usize>,
    pub(crate) retry_on_failed_connect: bool,
    pub(crate) connection_timeout: Duration,
    pub(crate) ping_interval: Duration,
    pub(crate) max_pings_out: u32,
    pub(crate) flusher_timeout: Duration,
    pub(crate) write_buffer_size: usize,
    pub(crate) no_randomize: bool,
    pub(crate) skip_host_lookup: bool,
    pub(crate) ignore_discovered_servers: bool,
    pub(crate) ignore_auth_error_abort: bool,
    pub(crate) require_tls: bool,
    pub(crate) lame_duck_reconnect: Option<Duration>,
    pub(crate) request_timeout: Duration,
    pub(crate) flush_timeout: Duration,
    pub(crate) drain_timeout: Duration,
    pub(crate) pending_msgs: usize,
    pub(crate) pending_bytes: usize,
    pub(crate) inbox_prefix: String,
    pub(crate) max_control_line: usize,
    pub(crate) callbacks: Vec<EventCallback>,
    pub(crate) no_callbacks_after_client_close: bool,
    pub(crate) permission_error_on_subscribe: bool,
    /// `at_least_once` and its settings (setters in `at_least_once.rs`).
    pub(crate) at_least_once: AtLeastOnce,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            name: None,
            echo: true,
            verbose: false,
            pedantic: false,
            auth: AuthOptions::default(),
            tls: TlsOptions::default(),
            allow_reconnect: true,
            max_reconnects: Some(DEFAULT_MAX_RECONNECTS),
            reconnect_wait: DEFAULT_RECONNECT_WAIT,
            reconnect_jitter: DEFAULT_RECONNECT_JITTER,
            reconnect_jitter_tls: DEFAULT_RECONNECT_JITTER_TLS,
            reconnect_delay: None,
            reconnect_to_server: None,
            reconnect_buffer_size: Some(DEFAULT_RECONNECT_BUFFER_SIZE),
            retry_on_failed_connect: false,
            connection_timeout: DEFAULT_CONNECTION_TIMEOUT,
            ping_interval: DEFAULT_PING_INTERVAL,
            max_pings_out: DEFAULT_MAX_PINGS_OUT,
            flusher_timeout: DEFAULT_FLUSHER_TIMEOUT,
            write_buffer_size: DEFAULT_WRITE_BUFFER_SIZE,
            no_randomize: false,
            skip_host_lookup: false,
            ignore_discovered_servers: false,
            ignore_auth_error_abort: false,
            require_tls: false,
            lame_duck_reconnect: None,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            flush_timeout: DEFAULT_FLUSH_TIMEOUT,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            pending_msgs: DEFAULT_PENDING_MSGS,
            pending_bytes: DEFAULT_PENDING_BYTES,
            inbox_prefix: "_INBOX".to_string(),
            max_control_line: DEFAULT_MAX_CONTROL_LINE,
            callbacks: Vec::new(),
            no_callbacks_after_client_close: false,
            permission_error_on_subscribe: false,
            at_least_once: AtLeastOnce::default(),
        }
    }
}

impl ConnectOptions {
    /// Options with every default.
    ///
    /// # Examples
    ///
    /// ```
    /// let opts = nats_client::ConnectOptions::new();
    /// ```
    pub fn new() -> ConnectOptions {
        ConnectOptions::default()
    }

    /// The connection name sent in CONNECT (shown by the server's monitoring).
    ///
    /// # Examples
    ///
    /// ```
    /// let opts = nats_client::ConnectOptions::new().name("orders-service");
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Whether the server delivers this connection's own publishes to its subscriptions
    /// (default true).
    ///
    /// # Examples
    ///
    /// ```
    /// let opts = nats_client::ConnectOptions::new().echo(false);
    /// ```
    pub fn echo(mut self, echo: bool) -> Self {
        self.echo = echo;
        self
    }

    /// Asks the server to answer every operation with `+OK` (default false; slow).
    ///
    /// # Examples
    ///
    /// ```
    /// let opts = nats_client::ConnectOptions::new().verbose(true);
    /// ```
    pub fn verbose(mut self, verbose: bool) -> Self {
        self.verbose = verbose;
        self
    }

    /// Asks the server to check subjects strictly (default false).
    ///
    /// # Examples
    ///
    /// ```
    /// let opts = nats_client::ConnectOptions::new().pedantic(true);
    /// ```
    pub fn pedantic(mut self, pedantic: bool) -> Self {
        self.pedantic = pedantic;
        self
    }

    /// Default timeout of `request` (default 10 s).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let opts = nats_client::ConnectOptions::new().request_timeout(Duration::from_secs(2));
    /// ```
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Timeout of `flush` (default 10 s).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let opts = nats_client::ConnectOptions::new().flush_timeout(Duration::from_secs(2));
    /// ```
    pub fn flush_timeout(mut self, timeout: Duration) -> Self {
        self.flush_timeout = timeout;
        self
    }

    /// Maximum time `drain` waits for subscriptions to be consumed (default 30 s).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let opts = nats_client::ConnectOptions::new().drain_timeout(Duration::from_secs(5));
    /// ```
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// Default pending limits of new subscriptions: messages and bytes (defaults 512 Ki
    /// messages, 64 MiB). Messages beyond either limit are dropped and counted.
    ///
    /// # Examples
    ///
    /// ```
    /// let opts = nats_client::ConnectOptions::new().subscription_pending_limits(10_000, 16 * 1024 * 1024);
    /// ```
    pub fn subscription_pending_limits(mut self, msgs: usize, bytes: usize) -> Self {
        self.pending_msgs = msgs;
        self.pending_bytes = bytes;
        self
    }

    /// Prefix of the request inbox subjects (default `_INBOX`).
    ///
    /// # Examples
    ///
    /// ```
    /// let opts = nats_client::ConnectOptions::new().inbox_prefix("_INBOX.orders");
    /// ```
    pub fn inbox_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.inbox_prefix = prefix.into();
        self
    }

    /// Adds a callback for every [`Event`], run in order on the event dispatcher, never on the
    /// I/O tasks (R82). A slow callback delays later events, not the connection.
    ///
    /// # Examples
    ///
    /// ```
    /// use nats_client::{ConnectOptions, Event};
    /// let opts = ConnectOptions::new().event_callback(|event: &Event| {
    ///     if let Event::Disconnected { error } = event {
    ///         eprintln!("disconnected: {error}");
    ///     }
    /// });
    /// ```
    pub fn event_callback(mut self, callback: impl Fn(&Event) + Send + Sync + 'static) -> Self {
        self.callbacks.push(Arc::new(callback));
        self
    }

    /// With `true`, a [`close()`](crate::Client::close) of yours fires no event callback (R89): the
    /// `Disconnected` and `Closed` it causes reach [`events`](crate::Client::events) streams
    /// only (default false: callbacks see them too). Events from before the close are still
    /// delivered to the callbacks, and a close for any other reason (no servers left, a fatal
    /// server error, a completed drain) reaches them as usual.
    ///
    /// # Examples
    ///
    /// ```
    /// let opts = nats_client::ConnectOptions::new()
    ///     .event_callback(|event| eprintln!("{event}"))
    ///     .no_callbacks_after_client_close(true);
    /// ```
    pub fn no_callbacks_after_client_close(mut self, quiet: bool) -> Self {
        self.no_callbacks_after_client_close = quiet;
        self
    }

    /// With `true`, a subscription the server refuses (`-ERR 'Permissions Violation for
    /// Subscription to …'`) makes its [`Subscriber::try_next`](crate::Subscriber::try_next)
    /// return [`SubscribeError::PermissionDenied`](crate::SubscribeError::PermissionDenied)
    /// once no message is waiting, instead of waiting for messages that will not come (nats.go's
    /// `PermissionErrOnSubscribe`; default false). The error holds until a new connection
    /// re-sends the subscription (R59): if the account may subscribe by then, messages flow
    /// again. Either way the refusal is a [`ServerError`](crate::Event::ServerError) event and
    /// [`Subscriber::permission_error`](crate::Subscriber::permission_error) tells it; the
    /// `Stream` of messages itself is not ended by it.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use nats_client::{ConnectOptions, SubscribeError};
    /// let client = ConnectOptions::new()
    ///     .permission_error_on_subscribe(true)
    ///     .connect("nats://127.0.0.1:4222")
    ///     .await?;
    /// let mut sub = client.subscribe("payroll.>").await?;
    /// match sub.try_next().await {
    ///     Ok(Some(msg)) => println!("{:?}", msg.payload),
    ///     Ok(None) => println!("unsubscribed"),
    ///     Err(SubscribeError::PermissionDenied(e)) => eprintln!("not allowed: {e}"),
    ///     Err(e) => eprintln!("{e}"),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn permission_error_on_subscribe(mut self, enabled: bool) -> Self {
        self.permission_error_on_subscribe = enabled;
        self
    }

    /// The longest control line the server accepts: its `max_control_line` setting (default
    /// 4096 bytes, the server's default). A publish or subscription whose control line (`PUB`
    /// with subject, reply and size; `SUB` with subject and queue group) would be longer is
    /// refused locally with a typed error, instead of the server closing the connection; the
    /// server's own control lines (`MSG`) are accepted up to this length. `INFO` has its own,
    /// larger limit (1 MiB) for large clusters.
    ///
    /// # Examples
    ///
    /// ```
    /// // The server runs with `max_control_line: 16384`.
    /// let opts = nats_client::ConnectOptions::new().max_control_line(16 * 1024);
    /// ```
    pub fn max_control_line(mut self, bytes: usize) -> Self {
        self.max_control_line = bytes;
        self
    }

    /// Checks the options against each other (R110); `connect` calls it first.
    pub(crate) fn validate(&self) -> Result<(), ConnectError> {
        if self.connection_timeout.is_zero() {
            return Err(ConnectError::InvalidOptions(
                "connection_timeout must be greater than zero".into(),
            ));
        }
        if self.max_control_line < MIN_CONTROL_LINE {
            return Err(ConnectError::InvalidOptions(format!(
                "max_control_line must be at least {MIN_CONTROL_LINE} bytes"
            )));
        }
        let set = self.auth.methods();
        if set.len() > 1 {
            return Err(ConnectError::InvalidOptions(format!(
                "conflicting authentication options: set only one of {}",
                set.join(", ")
            )));
        }
        if let Some(seed) = &self.auth.nkey_seed {
            if nkeys::KeyPair::from_seed(seed.trim()).is_err() {
                return Err(ConnectError::InvalidOptions("invalid NKey seed".into()));
            }
        }
        if let Some(CredentialsSource::Memory(text)) = &self.auth.credentials {
            let (_, seed) = crate::auth::parse_credentials(text)
                .map_err(|_| ConnectError::InvalidOptions("invalid credentials".into()))?;
            if nkeys::KeyPair::from_seed(&seed).is_err() {
                return Err(ConnectError::InvalidOptions(
                    "invalid NKey seed in credentials".into(),
                ));
            }
        }
        if let Some(conflict) = self.tls.conflicts() {
            return Err(ConnectError::InvalidOptions(conflict.into()));
        }
        if let Err(e) = nats_proto::validate_publish_subject(&format!("{}.x", self.inbox_prefix)) {
            return Err(ConnectError::InvalidOptions(format!(
                "invalid inbox prefix: {e}"
            )));
        }
        Ok(())
    }
}

impl fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("name", &self.name)
            .field("auth", &self.auth)
            .field("tls", &self.tls)
            .field("allow_reconnect", &self.allow_reconnect)
            .field("max_reconnects", &self.max_reconnects)
            .field("reconnect_wait", &self.reconnect_wait)
            .field("reconnect_jitter", &self.reconnect_jitter)
            .field("reconnect_jitter_tls", &self.reconnect_jitter_tls)
            .field("reconnect_buffer_size", &self.reconnect_buffer_size)
            .field("retry_on_failed_connect", &self.retry_on_failed_connect)
            .field("skip_host_lookup", &self.skip_host_lookup)
            .field(
                "no_callbacks_after_client_close",
                &self.no_callbacks_after_client_close,
            )
            .field(
                "permission_error_on_subscribe",
                &self.permission_error_on_subscribe,
            )
            .field("connection_timeout", &self.connection_timeout)
            .field("ping_interval", &self.ping_interval)
            .field("max_pings_out", &self.max_pings_out)
            .field("flusher_timeout", &self.flusher_timeout)
            .field("write_buffer_size", &self.write_buffer_size)
            .field("no_randomize", &self.no_randomize)
            .field("ignore_discovered_servers", &self.ignore_discovered_servers)
            .field("ignore_auth_error_abort", &self.ignore_auth_error_abort)
            .field("require_tls", &self.require_tls)
            .field("lame_duck_reconnect", &self.lame_duck_reconnect)
            .field("max_control_line", &self.max_control_line)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r115_default_budget_covers_two_minutes_per_server() {
        let o = ConnectOptions::new();
        let attempts = o.max_reconnects.unwrap_or(u32::MAX);
        assert!(o.reconnect_wait * attempts >= Duration::from_secs(120));
        assert_eq!(o.reconnect_buffer_size, Some(8 * 1024 * 1024));
        assert_eq!(o.ping_interval, Duration::from_secs(120));
        assert_eq!(o.max_pings_out, 2);
        assert_eq!(o.flusher_timeout, Duration::from_secs(60));
        assert_eq!(o.connection_timeout, Duration::from_secs(2));
        assert_eq!(
            (o.reconnect_jitter, o.reconnect_jitter_tls),
            (Duration::from_millis(100), Duration::from_secs(1))
        );
    }

    #[test]
    fn debug_hides_secrets() {
        let o = ConnectOptions::new().user_and_password("u", "hunter2");
        assert!(!format!("{o:?}").contains("hunter2"));
        let o = ConnectOptions::new().token("t0ken-secret");
        assert!(!format!("{o:?}").contains("t0ken-secret"));
    }
}
