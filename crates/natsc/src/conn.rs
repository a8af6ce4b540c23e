//! The connection flags shared by every command, and their mapping onto
//! [`ConnectOptions`]: the library knows nothing of the command line.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use nats_client::{Client, ConnectError, ConnectOptions};
use nats_testkit::NatsServer;

use crate::error::{CliError, Result};
use crate::util::{parse_duration, parse_size};

/// Where commands connect when neither `--server` nor a context gives a server (as the `nats`
/// CLI).
pub(crate) const DEFAULT_URL: &str = "nats://127.0.0.1:4222";
/// [`DEFAULT_URL`]'s socket address.
const DEFAULT_ADDR: &str = "127.0.0.1:4222";

/// Whether something accepts TCP connections at `addr` (a short probe).
async fn listening(addr: &str) -> bool {
    matches!(
        tokio::time::timeout(
            Duration::from_millis(500),
            tokio::net::TcpStream::connect(addr)
        )
        .await,
        Ok(Ok(_))
    )
}

/// `slot` keeps a value given on the command line; else it takes the context's.
fn fill<T>(slot: &mut Option<T>, from_context: Option<T>) {
    if slot.is_none() {
        *slot = from_context;
    }
}

/// `path` is a file that can be opened for reading; the error names the flag and the file.
fn check_readable(flag: &str, path: &std::path::Path) -> Result<()> {
    match std::fs::File::open(path) {
        Ok(f) if f.metadata().map(|m| m.is_dir()).unwrap_or(false) => Err(CliError::msg(format!(
            "{flag} {}: is a directory, not a file",
            path.display()
        ))),
        Ok(_) => Ok(()),
        Err(e) => Err(CliError::from(e).context(format!("{flag} {}", path.display()))),
    }
}

/// Connection flags, named as in the official `nats` CLI. Valid before or after the command.
#[derive(Args, Clone, Default)]
#[command(next_help_heading = "Connection options")]
pub(crate) struct ConnFlags {
    /// NATS server URLs, comma-separated [default: the --context's, else $NATS_URL, else the
    /// selected context's, else nats://127.0.0.1:4222; when nothing listens there pub, sub and
    /// bench start a local nats-server of their own]
    #[arg(short = 's', long = "server", value_name = "URLS", global = true)]
    pub(crate) server: Option<String>,

    /// Use this named connection profile (see natsc context) instead of the selected one
    #[arg(long, value_name = "NAME", global = true)]
    pub(crate) context: Option<String>,

    /// User name
    #[arg(long, global = true)]
    pub(crate) user: Option<String>,

    /// Password (with --user)
    #[arg(long, global = true)]
    pub(crate) password: Option<String>,

    /// Authentication token
    #[arg(long, global = true)]
    pub(crate) token: Option<String>,

    /// User credentials file (JWT and NKey seed)
    #[arg(long, value_name = "FILE", global = true)]
    pub(crate) creds: Option<PathBuf>,

    /// NKey seed file (or the seed itself)
    #[arg(long, value_name = "FILE", global = true)]
    pub(crate) nkey: Option<PathBuf>,

    /// CA certificate(s) to verify the server with (PEM)
    #[arg(long, value_name = "FILE", global = true, alias = "tlsca")]
    pub(crate) tls_ca: Option<PathBuf>,

    /// Client certificate for mutual TLS (PEM, with --tls-key)
    #[arg(long, value_name = "FILE", global = true, alias = "tlscert")]
    pub(crate) tls_cert: Option<PathBuf>,

    /// Private key of the client certificate (PEM, with --tls-cert)
    #[arg(long, value_name = "FILE", global = true, alias = "tlskey")]
    pub(crate) tls_key: Option<PathBuf>,

    /// Connection name shown by the server's monitoring
    #[arg(long, global = true)]
    pub(crate) name: Option<String>,

    /// Reconnect attempts per server; negative or "forever" tries forever [default: 60]
    #[arg(long, value_name = "N", value_parser = parse_max_reconnects,
          allow_negative_numbers = true, global = true)]
    pub(crate) max_reconnects: Option<MaxReconnects>,

    /// Wait between passes over the server list, e.g. 2s or 500ms [default: 2s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, global = true)]
    pub(crate) reconnect_wait: Option<Duration>,

    /// Upper bound of the random extra reconnect wait without TLS [default: 100ms]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, global = true)]
    pub(crate) reconnect_jitter: Option<Duration>,

    /// Upper bound of the random extra reconnect wait with TLS [default: 1s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, global = true)]
    pub(crate) reconnect_jitter_tls: Option<Duration>,

    /// Bytes of publishes buffered while disconnected, e.g. 8MiB; 0 or negative disables
    /// buffering [default: 8MiB]
    #[arg(long, value_name = "SIZE", value_parser = parse_buffer_size,
          allow_negative_numbers = true, global = true)]
    pub(crate) reconnect_buffer_size: Option<BufferSize>,

    /// Keep the servers in the given order instead of shuffling them
    #[arg(long, global = true)]
    pub(crate) no_randomize: bool,

    /// Dial host names as given instead of resolving them and trying every address
    #[arg(long, global = true)]
    pub(crate) skip_host_lookup: bool,

    /// Interval of client PINGs; 0 disables them [default: 2m]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, global = true)]
    pub(crate) ping_interval: Option<Duration>,

    /// Unanswered PINGs before the connection is declared stale [default: 2]
    #[arg(long, value_name = "N", global = true)]
    pub(crate) max_pings_out: Option<u32>,

    /// How long waiting bytes may go without the socket taking any before the connection is
    /// given up; 0 disables it [default: 1m]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, global = true)]
    pub(crate) flusher_timeout: Option<Duration>,

    /// Deadline for dialing plus handshake of one server [default: 2s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, global = true)]
    pub(crate) connection_timeout: Option<Duration>,

    /// When the first connect fails, keep trying in the background
    #[arg(long, global = true)]
    pub(crate) retry_on_failed_connect: bool,

    /// Do not reconnect when the connection is lost
    #[arg(long, global = true)]
    pub(crate) no_reconnect: bool,
}

/// `--max-reconnects`: `None` is forever.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MaxReconnects(Option<u32>);

/// `--reconnect-buffer-size`: `None` disables buffering.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BufferSize(Option<usize>);

fn parse_max_reconnects(s: &str) -> Result<MaxReconnects, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("forever") || s.starts_with('-') {
        if s.starts_with('-') && s[1..].parse::<u64>().is_err() {
            return Err(format!("{s:?} is not a number"));
        }
        return Ok(MaxReconnects(None));
    }
    s.parse::<u32>()
        .map(|n| MaxReconnects(Some(n)))
        .map_err(|_| format!("{s:?} is not a number or \"forever\""))
}

fn parse_buffer_size(s: &str) -> Result<BufferSize, String> {
    let s = s.trim();
    if let Some(n) = s.strip_prefix('-') {
        n.parse::<u64>()
            .map_err(|_| format!("{s:?} is not a size"))?;
        return Ok(BufferSize(None));
    }
    match parse_size(s)? {
        0 => Ok(BufferSize(None)),
        n => Ok(BufferSize(Some(n))),
    }
}

/// The seed in an NKey seed file (the first line that looks like a user seed), or the
/// argument itself when it is a seed rather than a path.
fn read_seed(path: &std::path::Path) -> Result<String> {
    let arg = path.to_string_lossy();
    if arg.starts_with("SU") && !path.exists() {
        return Ok(arg.into_owned());
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::from(e).context(format!("reading --nkey {}", path.display())))?;
    text.lines()
        .map(str::trim)
        .find(|l| l.starts_with("SU"))
        .map(str::to_string)
        .ok_or_else(|| {
            CliError::msg(format!(
                "--nkey {}: no user seed (SU...) found",
                path.display()
            ))
        })
}

/// Where a command connects, and the local server it started when no `--server` was given
/// (stopped when this is dropped).
pub(crate) struct Target {
    /// The URLs to connect to.
    pub(crate) urls: String,
    _local: Option<NatsServer>,
}

impl ConnFlags {
    /// The `ConnectOptions` these flags describe.
    pub(crate) fn options(&self) -> Result<ConnectOptions> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) => return Err(CliError::msg("--tls-cert needs --tls-key")),
            (None, Some(_)) => return Err(CliError::msg("--tls-key needs --tls-cert")),
            _ => {}
        }
        self.check_files()?;
        let mut o = ConnectOptions::new();
        if let Some(name) = &self.name {
            o = o.name(name);
        }
        match (&self.user, &self.password) {
            (Some(u), p) => o = o.user_and_password(u, p.clone().unwrap_or_default()),
            (None, Some(_)) => return Err(CliError::msg("--password needs --user")),
            (None, None) => {}
        }
        if let Some(t) = &self.token {
            o = o.token(t);
        }
        if let Some(path) = &self.creds {
            o = o.credentials_file(path);
        }
        if let Some(nkey) = &self.nkey {
            o = o.nkey(read_seed(nkey)?);
        }
        if let Some(ca) = &self.tls_ca {
            o = o.tls_root_certificates(ca);
        }
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => o = o.tls_client_cert(cert, key),
            (Some(_), None) => return Err(CliError::msg("--tls-cert needs --tls-key")),
            (None, Some(_)) => return Err(CliError::msg("--tls-key needs --tls-cert")),
            (None, None) => {}
        }
        if let Some(MaxReconnects(m)) = self.max_reconnects {
            o = o.max_reconnects(m);
        }
        if let Some(w) = self.reconnect_wait {
            o = o.reconnect_wait(w);
        }
        if self.reconnect_jitter.is_some() || self.reconnect_jitter_tls.is_some() {
            o = o.reconnect_jitter(
                self.reconnect_jitter
                    .unwrap_or(nats_client::DEFAULT_RECONNECT_JITTER),
                self.reconnect_jitter_tls
                    .unwrap_or(nats_client::DEFAULT_RECONNECT_JITTER_TLS),
            );
        }
        if let Some(BufferSize(b)) = self.reconnect_buffer_size {
            o = o.reconnect_buffer_size(b);
        }
        if self.no_randomize {
            o = o.no_randomize(true);
        }
        if self.skip_host_lookup {
            o = o.skip_host_lookup(true);
        }
        if let Some(p) = self.ping_interval {
            o = o.ping_interval(p);
        }
        if let Some(m) = self.max_pings_out {
            o = o.max_pings_out(m);
        }
        if let Some(t) = self.flusher_timeout {
            o = o.flusher_timeout(t);
        }
        if let Some(t) = self.connection_timeout {
            if t.is_zero() {
                return Err(CliError::msg(
                    "--connection-timeout must be greater than zero",
                ));
            }
            o = o.connection_timeout(t);
        }
        if self.retry_on_failed_connect {
            o = o.retry_on_failed_connect(true);
        }
        if self.no_reconnect {
            o = o.allow_reconnect(false);
        }
        Ok(o)
    }

    /// Every file flag names a file that can be read, checked before anything connects (the
    /// library reads them only once a server asks for TLS or credentials).
    fn check_files(&self) -> Result<()> {
        let files = [
            ("--tls-ca", &self.tls_ca),
            ("--tls-cert", &self.tls_cert),
            ("--tls-key", &self.tls_key),
            ("--creds (credentials file)", &self.creds),
        ];
        for (flag, path) in files {
            if let Some(path) = path {
                check_readable(flag, path)?;
            }
        }
        if let Some(nkey) = &self.nkey {
            if !nkey.to_string_lossy().starts_with("SU") {
                check_readable("--nkey", nkey)?;
            }
        }
        Ok(())
    }

    /// These flags with the gaps filled from `$NATS_URL` (the server only) and the context:
    /// `--context NAME`, else the selected one. A flag given on the command line wins.
    pub(crate) fn with_context(mut self) -> Result<ConnFlags> {
        if self.server.is_none() && self.context.is_none() {
            // The environment's URL comes before the selected context's, not before an
            // explicit --context.
            self.server = std::env::var("NATS_URL")
                .ok()
                .filter(|u| !u.trim().is_empty());
        }
        let store = crate::context::Store::open();
        let active = match (&self.context, store) {
            (Some(_), Err(e)) => return Err(e),
            (None, Err(_)) => None,
            (flag, Ok(store)) => store.active(flag.as_deref())?,
        };
        let Some((_, c)) = active else {
            return Ok(self);
        };
        fill(&mut self.server, c.url);
        fill(&mut self.user, c.user);
        fill(&mut self.password, c.password);
        fill(&mut self.token, c.token);
        fill(&mut self.creds, c.creds);
        fill(&mut self.nkey, c.nkey);
        fill(&mut self.tls_cert, c.cert);
        fill(&mut self.tls_key, c.key);
        fill(&mut self.tls_ca, c.ca);
        Ok(self)
    }

    /// The `--server` URLs checked for empty entries, if given.
    fn given_server(&self) -> Result<Option<String>> {
        let Some(urls) = &self.server else {
            return Ok(None);
        };
        if urls.split(',').any(|u| u.trim().is_empty()) {
            return Err(CliError::msg(format!(
                "invalid server URL {urls:?}: empty (give one or more URLs like \
                 nats://127.0.0.1:4222, comma-separated)"
            )));
        }
        Ok(Some(urls.clone()))
    }

    /// The `--server` URLs, or [`DEFAULT_URL`].
    pub(crate) fn target(&self) -> Result<Target> {
        Ok(Target {
            urls: self
                .given_server()?
                .unwrap_or_else(|| DEFAULT_URL.to_string()),
            _local: None,
        })
    }

    /// The `--server` URLs; without them [`DEFAULT_URL`] when a server listens there, else a
    /// local nats-server started for `command` (said on stderr).
    pub(crate) async fn target_or_local(&self, command: &str) -> Result<Target> {
        if let Some(urls) = self.given_server()? {
            return Ok(Target { urls, _local: None });
        }
        if listening(DEFAULT_ADDR).await {
            return Ok(Target {
                urls: DEFAULT_URL.to_string(),
                _local: None,
            });
        }
        let server = NatsServer::start().await.map_err(|e| {
            CliError::from(e).context(format!(
                "no --server given, nothing listens at {DEFAULT_URL}, and a local nats-server \
                 could not start"
            ))
        })?;
        let urls = server.url();
        eprintln!(
            "natsc: no --server given and nothing at {DEFAULT_URL}: {command} started a local \
             nats-server at {urls} (it stops when natsc exits)"
        );
        Ok(Target {
            urls,
            _local: Some(server),
        })
    }

    /// Connects with `options` to `urls`; the error names the servers.
    pub(crate) async fn connect(&self, options: ConnectOptions, urls: &str) -> Result<Client> {
        options.connect(urls).await.map_err(|e| {
            // The message names the servers with passwords and tokens masked.
            let shown = crate::util::shown_urls(urls);
            match e {
                ConnectError::InvalidUrl { .. } | ConnectError::InvalidOptions(_) => e.into(),
                ConnectError::Server(ref s) if e.is_auth() => CliError::msg(format!(
                    "could not connect to {shown}: authorization failed ({s})"
                )),
                // The library says NoServers when every server refused the TCP connection (R8).
                ConnectError::NoServers => CliError::msg(format!(
                "could not connect to {shown}: connection refused (no nats-server listens there{})",
                if self.server.is_none() {
                    "; start one with `natsc server run`, or give --server"
                } else {
                    ""
                }
            )),
                other => CliError::from(other).context(format!("could not connect to {shown}")),
            }
        })
    }
}

impl ConnFlags {
    /// Connects for a JetStream command: to `--server`, or to [`DEFAULT_URL`] as the `nats`
    /// CLI does (a local server started for one command would forget its streams when natsc
    /// exits). Returns the client, its JetStream context and the URLs for error messages.
    pub(crate) async fn jetstream(&self) -> Result<(Client, nats_jetstream::Context, String)> {
        let options = self.options()?;
        let target = self.target()?;
        let client = self.connect(options, &target.urls).await.map_err(|e| {
            if self.server.is_none() {
                e.context("no --server given")
            } else {
                e
            }
        })?;
        let js = nats_jetstream::new(client.clone());
        Ok((client, js, target.urls))
    }
}
