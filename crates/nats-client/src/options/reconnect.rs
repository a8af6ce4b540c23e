//! Reconnecting, keep-alive and dialling: when the client tries again, where, how often,
//! and how it notices a dead connection (R11–R22, R37–R42, R62, R103–R109).

use super::*;

impl ConnectOptions {
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
}
