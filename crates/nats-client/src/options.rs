//! [`ConnectOptions`]: every connection and reconnection setting, with nats.go's defaults.

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
use crate::server_addr::{split_url_list, ServerAddr};
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

    /// User and password for every server. Credentials in a URL win (R28).
    ///
    /// # Examples
    ///
    /// ```
    /// let opts = nats_client::ConnectOptions::new().user_and_password("alice", "secret");
    /// ```
    pub fn user_and_password(mut self, user: impl Into<String>, pass: impl Into<String>) -> Self {
        self.auth.user = Some(user.into());
        self.auth.pass = Some(pass.into());
        self
    }

    /// Token for every server. A token in a URL wins (R28).
    ///
    /// # Examples
    ///
    /// ```
    /// let opts = nats_client::ConnectOptions::new().token("s3cr3t-token");
    /// ```
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.auth.token = Some(token.into());
        self
    }

    /// Whether a lost connection is re-established (default true). With `false` a lost
    /// connection closes the client (R35); `force_reconnect` still works (R104).
    ///
    /// # Examples
    ///
    /// ```
    /// let opts = nats_client::ConnectOptions::new().allow_reconnect(false);
    /// ```
    pub fn allow_reconnect(mut self, allow: bool) -> Self {
        self.allow_reconnect = allow;
        self
    }

    /// Reconnect attempts **per server** before it leaves the pool (default `Some(60)`, R12);
    /// `None` tries forever. `Some(0)` closes on the first lost connection without an attempt.
    ///
    /// # Examples
    ///
    /// ```
    /// let opts = nats_client::ConnectOptions::new().max_reconnects(None);
    /// ```
    pub fn max_reconnects(mut self, max: Option<u32>) -> Self {
        self.max_reconnects = max;
        self
    }

    /// The wait inserted once per full pass over the pool (default 2 s, R15). With a single
    /// server it precedes every attempt; fail-over to another server is immediate.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let opts = nats_client::ConnectOptions::new().reconnect_wait(Duration::from_secs(5));
    /// ```
    pub fn reconnect_wait(mut self, wait: Duration) -> Self {
        self.reconnect_wait = wait;
        self
    }

    /// Upper bounds of the random extra wait, without and with TLS (defaults 100 ms and 1 s,
    /// R16). Zero disables jitter.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let opts = nats_client::ConnectOptions::new()
    ///     .reconnect_jitter(Duration::from_millis(50), Duration::from_millis(500));
    /// ```
    pub fn reconnect_jitter(mut self, plain: Duration, tls: Duration) -> Self {
        self.reconnect_jitter = plain;
        self.reconnect_jitter_tls = tls;
        self
    }

    /// A custom delay: called with the pass count 1, 2, 3… whenever a wait is due, and slept
    /// verbatim, replacing `reconnect_wait` and jitter (R17).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// // Linear back-off: 100 ms, 200 ms, ... capped at 5 s.
    /// let opts = nats_client::ConnectOptions::new()
    ///     .reconnect_delay_callback(|pass| Duration::from_millis(100) * pass.min(50));
    /// ```
    pub fn reconnect_delay_callback(
        mut self,
        delay: impl Fn(u32) -> Duration + Send + Sync + 'static,
    ) -> Self {
        self.reconnect_delay = Some(Arc::new(delay));
        self
    }

    /// Picks the next server and the exact delay before dialling it (R106). It gets a snapshot
    /// of the pool and the last server INFO; `None` means "use the default rotation". A server
    /// not in the pool is reported as a `ReconnectFailed` event and the default is used.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// // Always retry the first server of the pool after 500 ms.
    /// let opts = nats_client::ConnectOptions::new().reconnect_to_server_callback(|pool, _info| {
    ///     pool.first().map(|s| (s.addr.clone(), Duration::from_millis(500)))
    /// });
    /// ```
    pub fn reconnect_to_server_callback(
        mut self,
        choose: impl Fn(&[PoolServer], Option<&ServerInfo>) -> Option<(ServerAddr, Duration)>
            + Send
            + Sync
            + 'static,
    ) -> Self {
        self.reconnect_to_server = Some(Arc::new(choose));
        self
    }

    /// Bytes of publishes kept while disconnected (default `Some(8 MiB)`, R63). A publish is
    /// refused once the buffer holds at least this many bytes. `None` disables buffering: a
    /// publish while disconnected fails at once (R64).
    ///
    /// **Memory:** up to this many bytes plus one message per client.
    ///
    /// # Examples
    ///
    /// ```
    /// let opts = nats_client::ConnectOptions::new().reconnect_buffer_size(Some(1024 * 1024));
    /// ```
    pub fn reconnect_buffer_size(mut self, size: Option<usize>) -> Self {
        self.reconnect_buffer_size = size;
        self
    }

    /// When the first connect fails everywhere, return a client anyway and keep trying in the
    /// background with the reconnect rules (default false, R108).
    ///
    /// # Examples
    ///
    /// ```
    /// let opts = nats_client::ConnectOptions::new().retry_on_failed_connect(true);
    /// ```
    pub fn retry_on_failed_connect(mut self, retry: bool) -> Self {
        self.retry_on_failed_connect = retry;
        self
    }

    /// Deadline for one dial plus handshake (default 2 s, R22).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let opts = nats_client::ConnectOptions::new().connection_timeout(Duration::from_secs(5));
    /// ```
    pub fn connection_timeout(mut self, timeout: Duration) -> Self {
        self.connection_timeout = timeout;
        self
    }

    /// Interval of client PINGs while connected (default 2 min, R37). Zero disables them.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let opts = nats_client::ConnectOptions::new().ping_interval(Duration::from_secs(30));
    /// ```
    pub fn ping_interval(mut self, interval: Duration) -> Self {
        self.ping_interval = interval;
        self
    }

    /// Unanswered PINGs tolerated before the connection is declared stale (default 2, R37). A
    /// dead link is detected within about (max_pings_out + 1) × ping_interval.
    ///
    /// # Examples
    ///
    /// ```
    /// let opts = nats_client::ConnectOptions::new().max_pings_out(3);
    /// ```
    pub fn max_pings_out(mut self, max: u32) -> Self {
        self.max_pings_out = max;
        self
    }

    /// The write deadline (default 1 min, R41, R42): when bytes are waiting and the socket
    /// takes none of them for this long (a peer that stopped reading, a link that went dark
    /// while sending), the connection is given up with [`ConnectionError::WriteTimeout`] and the
    /// client reconnects (or closes, with reconnecting disabled), like any lost connection. What
    /// the socket had not taken goes to the reconnect buffer, cut at a frame boundary; nothing
    /// is dropped. A slow link that keeps taking bytes is never cut, however long a large write
    /// takes, and an idle connection has no deadline. Zero (or `Duration::MAX`) disables it; the
    /// ping timer then is the only detector of a stuck link.
    ///
    /// [`ConnectionError::WriteTimeout`]: crate::ConnectionError::WriteTimeout
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let opts = nats_client::ConnectOptions::new().flusher_timeout(Duration::from_secs(5));
    /// ```
    pub fn flusher_timeout(mut self, timeout: Duration) -> Self {
        self.flusher_timeout = timeout;
        self
    }

    /// How much a burst of publishes gathers before it is written (default 32 KiB). While
    /// publishes come back to back the client writes once this much has queued, or 1 ms after
    /// the burst's last write at the latest, so a burst costs few system calls; a lone publish,
    /// a flush and a request go out at once whatever the size. Larger means fewer, larger
    /// writes; zero writes whatever has queued as soon as the writer is free.
    ///
    /// # Examples
    ///
    /// ```
    /// let opts = nats_client::ConnectOptions::new().write_buffer_size(128 * 1024);
    /// ```
    pub fn write_buffer_size(mut self, bytes: usize) -> Self {
        self.write_buffer_size = bytes;
        self
    }

    /// Dial a server's host name as it is instead of resolving it first (default false, R20).
    /// Normally every attempt resolves the name afresh and tries each address it resolves to,
    /// shuffled unless [`no_randomize`](Self::no_randomize), the
    /// [`connection_timeout`](Self::connection_timeout) divided between them; with `true` the
    /// name goes to the socket as given and its addresses are tried in the resolver's order.
    ///
    /// # Examples
    ///
    /// ```
    /// let opts = nats_client::ConnectOptions::new().skip_host_lookup(true);
    /// ```
    pub fn skip_host_lookup(mut self, skip: bool) -> Self {
        self.skip_host_lookup = skip;
        self
    }

    /// Keep the seed servers in the given order instead of shuffling them (R3, R97), and the
    /// addresses a host name resolves to in the resolver's order (R20).
    ///
    /// # Examples
    ///
    /// ```
    /// let opts = nats_client::ConnectOptions::new().no_randomize(true);
    /// ```
    pub fn no_randomize(mut self, no_randomize: bool) -> Self {
        self.no_randomize = no_randomize;
        self
    }

    /// Never add servers announced by the cluster in INFO `connect_urls` (R99).
    ///
    /// # Examples
    ///
    /// ```
    /// let opts = nats_client::ConnectOptions::new().ignore_discovered_servers(true);
    /// ```
    pub fn ignore_discovered_servers(mut self, ignore: bool) -> Self {
        self.ignore_discovered_servers = ignore;
        self
    }

    /// Keep reconnecting even when a server sends the same auth error twice (R47).
    ///
    /// # Examples
    ///
    /// ```
    /// let opts = nats_client::ConnectOptions::new().ignore_auth_error_abort(true);
    /// ```
    pub fn ignore_auth_error_abort(mut self, ignore: bool) -> Self {
        self.ignore_auth_error_abort = ignore;
        self
    }

    /// Opt-in, beyond nats.go: when the server announces lame-duck mode, move to another server
    /// at a random moment within `window`, losing nothing (buffered like any reconnect).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let opts = nats_client::ConnectOptions::new().lame_duck_reconnect(Some(Duration::from_secs(10)));
    /// ```
    pub fn lame_duck_reconnect(mut self, window: Option<Duration>) -> Self {
        self.lame_duck_reconnect = window;
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

    /// Require TLS on every server (R6, R30). A `tls://` URL does the same; a server whose
    /// INFO says `tls_required` is upgraded to TLS even without it (R30). With TLS on, the
    /// reconnect jitter uses its TLS bound (R16). When the server offers no TLS the attempt
    /// fails with [`ConnectError::SecureConnectionWanted`]. In a WebSocket pool it makes every
    /// `ws://` server `wss://` (TLS under the WebSocket, with these same TLS options).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_client::ConnectError> {
    /// let client = nats_client::ConnectOptions::new()
    ///     .require_tls(true)
    ///     .connect("nats://demo.nats.io:4222")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn require_tls(mut self, require: bool) -> Self {
        self.require_tls = require;
        self
    }

    /// Verify servers against the CA certificates of this PEM file instead of the operating
    /// system's roots. Turns TLS on (R6, R16). The file is read again for every connection
    /// attempt (R27). Every TLS option applies to `wss://` servers exactly as to `tls://`
    /// ones: the TLS session under the WebSocket is this client's rustls session.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_client::ConnectError> {
    /// let client = nats_client::ConnectOptions::new()
    ///     .tls_root_certificates("/etc/nats/ca.pem")
    ///     .connect("tls://nats.internal:4222")
    ///     .await?;
    /// // The same roots for a websocket server with TLS:
    /// let ws = nats_client::ConnectOptions::new()
    ///     .tls_root_certificates("/etc/nats/ca.pem")
    ///     .connect("wss://nats.internal:8443/nats")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn tls_root_certificates(mut self, path: impl Into<PathBuf>) -> Self {
        self.tls.root_certificates = Some(path.into());
        self.require_tls = true;
        self
    }

    /// Client certificate chain and private key (PEM files) for mutual TLS. Turns TLS on
    /// (R6, R16). Both files are read again for every connection attempt, so a rotated
    /// certificate is used after the next reconnect (R27).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_client::ConnectError> {
    /// let client = nats_client::ConnectOptions::new()
    ///     .tls_root_certificates("ca.pem")
    ///     .tls_client_cert("client-cert.pem", "client-key.pem")
    ///     .connect("tls://nats.internal:4222")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn tls_client_cert(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.tls.client_cert = Some((cert.into(), key.into()));
        self.require_tls = true;
        self
    }

    /// A complete rustls client configuration, used as given for every TLS connection (roots,
    /// client certificates, ALPN, verifier...). Turns TLS on (R6, R16). It cannot be combined
    /// with `tls_root_certificates`, `tls_client_cert` or `dangerous_accept_invalid_certs`
    /// (a configuration error returned by `connect`, R110). Build it with a crypto provider,
    /// e.g. `rustls::ClientConfig::builder_with_provider(ring::default_provider())`.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use nats_client::rustls;
    /// let provider = Arc::new(rustls::crypto::ring::default_provider());
    /// let mut roots = rustls::RootCertStore::empty();
    /// // roots.add(...)
    /// let config = rustls::ClientConfig::builder_with_provider(provider)
    ///     .with_safe_default_protocol_versions()?
    ///     .with_root_certificates(roots)
    ///     .with_no_client_auth();
    /// let client = nats_client::ConnectOptions::new()
    ///     .tls_client_config(config)
    ///     .connect("tls://nats.internal:4222")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn tls_client_config(mut self, config: rustls::ClientConfig) -> Self {
        self.tls.client_config = Some(Arc::new(config));
        self.require_tls = true;
        self
    }

    /// Do the TLS handshake right after the TCP connect, before the server's INFO, for servers
    /// configured with `handshake_first` (R30). Turns TLS on (R6, R16). A `wss://` server
    /// always gets its TLS handshake first, before the HTTP upgrade, with or without it.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_client::ConnectError> {
    /// let client = nats_client::ConnectOptions::new()
    ///     .tls_first(true)
    ///     .connect("tls://nats.internal:4222")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn tls_first(mut self, first: bool) -> Self {
        self.tls.first = first;
        if first {
            self.require_tls = true;
        }
        self
    }

    /// **Dangerous**: accept any server certificate, for any name, from any issuer. Traffic is
    /// encrypted but the server is not authenticated, so anybody in the path can read and
    /// change it. For tests only. Turns TLS on (R6, R16) when `true`.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_client::ConnectError> {
    /// let client = nats_client::ConnectOptions::new()
    ///     .dangerous_accept_invalid_certs(true)
    ///     .connect("tls://127.0.0.1:4222")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn dangerous_accept_invalid_certs(mut self, accept: bool) -> Self {
        self.tls.dangerous_accept_invalid_certs = accept;
        if accept {
            tracing::warn!(
                "TLS certificate verification disabled by dangerous_accept_invalid_certs"
            );
            self.require_tls = true;
        }
        self
    }

    /// Authenticate with an NKey: the seed (`SU…`) signs the nonce of the server of every
    /// attempt (R27) and the public key goes in CONNECT. The seed never appears in `Debug`,
    /// errors or logs. An invalid seed, or an NKey with another auth method, is a
    /// configuration error returned by `connect` (R110).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_client::ConnectError> {
    /// let client = nats_client::ConnectOptions::new()
    ///     .nkey("SUAMLK2ZNL35WSMW37E7UD4VZ7ELPKW7DHC3BWBSD2GCZ7IUQQXZIORRBU")
    ///     .connect("nats://127.0.0.1:4222")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn nkey(mut self, seed: impl Into<String>) -> Self {
        self.auth.nkey_seed = Some(seed.into());
        self
    }

    /// Authenticate with a credentials file (user JWT + NKey seed, as written by `nsc`). The
    /// file is read again for every attempt, so replacing an expired JWT on disk lets the next
    /// reconnect succeed (R27, R46); an unreadable file fails that attempt with
    /// [`ConnectError::Credentials`] (R31). Another auth method with it is a configuration
    /// error (R110).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_client::ConnectError> {
    /// let client = nats_client::ConnectOptions::new()
    ///     .credentials_file("/etc/nats/user.creds")
    ///     .connect("nats://127.0.0.1:4222")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn credentials_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.auth.credentials = Some(CredentialsSource::File(path.into()));
        self
    }

    /// Authenticate with the contents of a credentials file (user JWT + NKey seed), checked by
    /// `connect` (R110). Never shown by `Debug`.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_client::ConnectError> {
    /// let creds = std::env::var("NATS_CREDS").unwrap_or_default();
    /// let client = nats_client::ConnectOptions::new()
    ///     .credentials(creds)
    ///     .connect("nats://127.0.0.1:4222")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn credentials(mut self, jwt_and_seed: impl Into<String>) -> Self {
        self.auth.credentials = Some(CredentialsSource::Memory(jwt_and_seed.into()));
        self
    }

    /// Produce the credentials for every CONNECT (R27): the callback gets the server's nonce
    /// (empty when it sent none) and returns an [`Auth`]. Credentials in the URL still win for
    /// user, password and token (R28). An `Err` fails that attempt with
    /// [`ConnectError::Credentials`]. A static user, token, NKey or credentials with it is a
    /// configuration error (R28, R110).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_client::ConnectError> {
    /// use nats_client::{Auth, ConnectOptions};
    /// let client = ConnectOptions::new()
    ///     .auth_callback(|_nonce: &[u8]| {
    ///         let token = std::fs::read_to_string("/run/secrets/nats-token")
    ///             .map_err(|e| e.to_string())?;
    ///         Ok(Auth { token: Some(token.trim().to_string()), ..Auth::default() })
    ///     })
    ///     .connect("nats://127.0.0.1:4222")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn auth_callback(
        mut self,
        callback: impl Fn(&[u8]) -> Result<Auth, String> + Send + Sync + 'static,
    ) -> Self {
        self.auth.callback = Some(Arc::new(callback));
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

/// Anything that names one or more servers: `"nats://a:4222"`, `"a:4222,b:4222"`,
/// `["a:4222", "b:4222"]`, `vec![...]`, a [`ServerAddr`].
///
/// # Examples
///
/// ```
/// use nats_client::ToServerAddrs;
/// let addrs = "a:4222, tls://b:4223".to_server_addrs()?;
/// assert_eq!(addrs.len(), 2);
/// assert!(addrs[1].is_tls());
/// assert_eq!(["a", "b"].to_server_addrs()?.len(), 2);
/// # Ok::<(), nats_client::ConnectError>(())
/// ```
pub trait ToServerAddrs {
    /// The parsed server list (R1, R2).
    ///
    /// # Errors
    ///
    /// [`ConnectError::InvalidUrl`] for the first URL that does not parse.
    ///
    /// # Examples
    ///
    /// ```
    /// use nats_client::ToServerAddrs;
    /// let addrs = vec!["nats://a:4222", "b"].to_server_addrs()?;
    /// assert_eq!(addrs[1].socket_addr_string(), "b:4222");
    /// # Ok::<(), nats_client::ConnectError>(())
    /// ```
    fn to_server_addrs(&self) -> Result<Vec<ServerAddr>, ConnectError>;
}

fn parse_list<'a>(
    urls: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<ServerAddr>, ConnectError> {
    let mut out = Vec::new();
    for url in urls {
        for one in split_url_list(url) {
            out.push(ServerAddr::parse(one)?);
        }
    }
    Ok(out)
}

impl ToServerAddrs for str {
    fn to_server_addrs(&self) -> Result<Vec<ServerAddr>, ConnectError> {
        parse_list([self])
    }
}

impl ToServerAddrs for &str {
    fn to_server_addrs(&self) -> Result<Vec<ServerAddr>, ConnectError> {
        parse_list([*self])
    }
}

impl ToServerAddrs for String {
    fn to_server_addrs(&self) -> Result<Vec<ServerAddr>, ConnectError> {
        parse_list([self.as_str()])
    }
}

impl ToServerAddrs for &String {
    fn to_server_addrs(&self) -> Result<Vec<ServerAddr>, ConnectError> {
        parse_list([self.as_str()])
    }
}

impl<T: AsRef<str>> ToServerAddrs for [T] {
    fn to_server_addrs(&self) -> Result<Vec<ServerAddr>, ConnectError> {
        parse_list(self.iter().map(AsRef::as_ref))
    }
}

impl<T: AsRef<str>, const N: usize> ToServerAddrs for [T; N] {
    fn to_server_addrs(&self) -> Result<Vec<ServerAddr>, ConnectError> {
        parse_list(self.iter().map(AsRef::as_ref))
    }
}

impl<T: AsRef<str>> ToServerAddrs for Vec<T> {
    fn to_server_addrs(&self) -> Result<Vec<ServerAddr>, ConnectError> {
        parse_list(self.iter().map(AsRef::as_ref))
    }
}

impl<T: AsRef<str>> ToServerAddrs for &[T] {
    fn to_server_addrs(&self) -> Result<Vec<ServerAddr>, ConnectError> {
        parse_list(self.iter().map(AsRef::as_ref))
    }
}

impl ToServerAddrs for ServerAddr {
    fn to_server_addrs(&self) -> Result<Vec<ServerAddr>, ConnectError> {
        Ok(vec![self.clone()])
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
