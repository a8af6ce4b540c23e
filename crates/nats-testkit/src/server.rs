//! [`NatsServer`]: one `nats-server` process on 127.0.0.1.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader as AsyncBufReader};
use tokio::net::TcpStream;

use crate::{free_port, nats_server_bin, ServerConfig, TestkitError};

/// How long a start, restart, stop or reload may take.
pub(crate) const DEADLINE: Duration = Duration::from_secs(10);
/// Pause between two readiness checks.
pub(crate) const POLL: Duration = Duration::from_millis(10);
/// How long one probe (connect + read INFO) may take.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);
/// Attempts with a new free port when the chosen one was taken meanwhile.
const PORT_ATTEMPTS: usize = 5;
const ADDR_IN_USE: &str = "address already in use";
/// The log line of a server whose client listener is up.
const READY_LINE: &str = "Server is ready";
/// When the ready line has not shown up by then, probe the port instead.
const PROBE_AFTER: Duration = Duration::from_secs(2);

/// One `nats-server` process with its config and log in a temp dir; SIGKILLed and reaped on drop.
///
/// ```no_run
/// # async fn demo() -> Result<(), nats_testkit::TestkitError> {
/// use nats_testkit::NatsServer;
///
/// let mut server = NatsServer::start().await?;
/// println!("server at {}", server.url());
/// server.kill();
/// server.restart().await?; // same port
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct NatsServer {
    bin: PathBuf,
    port: u16,
    config: ServerConfig,
    child: Option<Child>,
    config_path: PathBuf,
    log_path: PathBuf,
    stderr_path: PathBuf,
    store_dir: PathBuf,
    // Last, so the files go after the process is gone.
    _dir: TempDir,
}

impl NatsServer {
    /// Start a server with [`ServerConfig::new`] on a free port and wait until it accepts.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_testkit::TestkitError> {
    /// let server = nats_testkit::NatsServer::start().await?;
    /// # Ok(()) }
    /// ```
    pub async fn start() -> Result<NatsServer, TestkitError> {
        ServerConfig::new().start().await
    }

    /// Start a JetStream server (`-js` with the store in its temp dir, see
    /// [`ServerConfig::jetstream`]) on a free port and wait until it accepts clients and its
    /// JetStream API answers.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_testkit::TestkitError> {
    /// let server = nats_testkit::NatsServer::start_jetstream().await?;
    /// println!("JetStream at {}", server.url());
    /// # Ok(()) }
    /// ```
    pub async fn start_jetstream() -> Result<NatsServer, TestkitError> {
        let server = ServerConfig::new().jetstream().start().await?;
        server.wait_for_jetstream().await?;
        Ok(server)
    }

    pub(crate) async fn start_with(config: ServerConfig) -> Result<NatsServer, TestkitError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut server = Self::spawn_new(&config)?;
            match server.wait_ready(Instant::now() + DEADLINE, (0, 0)).await {
                Ok(()) => return Ok(server),
                Err(e) if attempt < PORT_ATTEMPTS && server.may_retry_port(&config, &e) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    pub(crate) fn start_with_blocking(config: ServerConfig) -> Result<NatsServer, TestkitError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut server = Self::spawn_new(&config)?;
            match server.wait_ready_blocking(Instant::now() + DEADLINE, (0, 0)) {
                Ok(()) => return Ok(server),
                Err(e) if attempt < PORT_ATTEMPTS && server.may_retry_port(&config, &e) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// A port we picked ourselves was taken between picking and binding: try another.
    fn may_retry_port(&self, config: &ServerConfig, e: &TestkitError) -> bool {
        config.get_port().is_none()
            && config.cluster.is_none()
            && matches!(e, TestkitError::Exited { log, .. } if log.contains(ADDR_IN_USE))
    }

    fn spawn_new(config: &ServerConfig) -> Result<NatsServer, TestkitError> {
        let bin = nats_server_bin()?;
        let dir = tempfile::Builder::new().prefix("nats-testkit-").tempdir()?;
        let port = config.get_port().unwrap_or_else(free_port);
        let mut server = NatsServer {
            bin,
            port,
            config: config.clone().port(port).with_websocket_port(free_port),
            child: None,
            config_path: dir.path().join("nats-server.conf"),
            log_path: dir.path().join("nats-server.log"),
            stderr_path: dir.path().join("stderr.log"),
            store_dir: dir.path().join("jetstream"),
            _dir: dir,
        };
        server.spawn()?;
        Ok(server)
    }

    fn write_config(&self) -> Result<(), TestkitError> {
        std::fs::write(
            &self.config_path,
            self.config
                .render(self.port, &self.log_path, &self.store_dir),
        )?;
        Ok(())
    }

    fn spawn(&mut self) -> Result<(), TestkitError> {
        self.write_config()?;
        let stderr = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.stderr_path)?;
        let stdout = stderr.try_clone()?;
        let child = Command::new(&self.bin)
            .arg("-c")
            .arg(&self.config_path)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()?;
        tracing::debug!(pid = child.id(), port = self.port, "started nats-server");
        self.child = Some(child);
        Ok(())
    }

    /// `Some(status)` when the process has exited (and is now reaped).
    fn exited(&mut self) -> Option<String> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(None) => None,
            Ok(Some(status)) => {
                self.child = None;
                Some(status.to_string())
            }
            Err(e) => {
                self.child = None;
                Some(e.to_string())
            }
        }
    }

    fn not_ready(&mut self, deadline: Instant, waited: Duration) -> Option<TestkitError> {
        if let Some(status) = self.exited() {
            return Some(TestkitError::Exited {
                port: self.port,
                status,
                log: self.log(),
            });
        }
        if self.child.is_none() {
            return Some(TestkitError::NotRunning);
        }
        if Instant::now() >= deadline {
            return Some(TestkitError::StartTimeout {
                port: self.port,
                waited,
                log: self.log(),
            });
        }
        None
    }

    /// Ready when the log (after `mark`) says "Server is ready", which 2.9 writes once the
    /// client listener is up. Not by connecting: a probe connection would count against
    /// `max_connections` until the server noticed its close. Only when that line is late (another
    /// server version?) does it fall back to connecting and reading INFO.
    fn ready_by_log(&self, mark: (u64, u64)) -> bool {
        self.log_since(mark).contains(READY_LINE)
    }

    async fn wait_ready(
        &mut self,
        deadline: Instant,
        mark: (u64, u64),
    ) -> Result<(), TestkitError> {
        let start = Instant::now();
        loop {
            if self.ready_by_log(mark)
                || (start.elapsed() > PROBE_AFTER && probe_info(self.addr()).await.is_some())
            {
                return Ok(());
            }
            if let Some(e) = self.not_ready(deadline, start.elapsed()) {
                return Err(e);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    fn wait_ready_blocking(
        &mut self,
        deadline: Instant,
        mark: (u64, u64),
    ) -> Result<(), TestkitError> {
        let start = Instant::now();
        loop {
            if self.ready_by_log(mark)
                || (start.elapsed() > PROBE_AFTER && probe_info_blocking(self.addr()).is_some())
            {
                return Ok(());
            }
            if let Some(e) = self.not_ready(deadline, start.elapsed()) {
                return Err(e);
            }
            std::thread::sleep(POLL);
        }
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The websocket URL, `ws://127.0.0.1:PORT` (or `wss://` with
    /// [`ServerConfig::websocket_tls`]), when the config has a websocket block.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_testkit::TestkitError> {
    /// let server = nats_testkit::ServerConfig::new().websocket(None).start().await?;
    /// let url = server.ws_url().expect("websocket enabled"); // ws://127.0.0.1:PORT
    /// # Ok(()) }
    /// ```
    pub fn ws_url(&self) -> Option<String> {
        let port = self.ws_port()?;
        let scheme = if self.config.websocket_tls_enabled()? {
            "wss"
        } else {
            "ws"
        };
        Some(format!("{scheme}://127.0.0.1:{port}"))
    }

    /// The websocket port (kept across [`restart`](NatsServer::restart)), when the config has
    /// a websocket block.
    pub fn ws_port(&self) -> Option<u16> {
        self.config.get_websocket_port()
    }

    /// `127.0.0.1:WS_PORT`, when the config has a websocket block (for a
    /// [`FaultProxy`](crate::FaultProxy) in front of it).
    pub fn ws_addr(&self) -> Option<SocketAddr> {
        self.ws_port()
            .map(|port| SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
    }

    /// The client port (kept across [`restart`](NatsServer::restart)).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// The PID of the process we started; `None` after [`kill`](NatsServer::kill) or
    /// [`stop`](NatsServer::stop), or once [`is_running`](NatsServer::is_running) saw it exit.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process is still alive (reaps it when it has exited, e.g. after lame duck).
    pub fn is_running(&mut self) -> bool {
        self.child.is_some() && self.exited().is_none()
    }

    /// SIGKILL the process and reap it. Clients see their connection reset or closed.
    /// Does nothing when it is not running.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            tracing::debug!(pid = child.id(), "killed nats-server");
        }
    }

    /// SIGTERM (graceful shutdown), wait up to 10 s for the exit, then SIGKILL.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_testkit::TestkitError> {
    /// let mut server = nats_testkit::NatsServer::start().await?;
    /// server.stop().await;
    /// assert!(!server.is_running());
    /// # Ok(()) }
    /// ```
    pub async fn stop(&mut self) {
        let Some(pid) = self.pid() else { return };
        if signal(&self.bin, "term", pid).is_ok() {
            let deadline = Instant::now() + DEADLINE;
            while Instant::now() < deadline {
                if self.exited().is_some() {
                    return;
                }
                tokio::time::sleep(POLL).await;
            }
        }
        self.kill();
    }

    /// Start again on the same port with the current config and wait until it accepts.
    ///
    /// A running process is killed first. While the port is still busy the start is retried
    /// until a 10 s deadline.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_testkit::TestkitError> {
    /// let mut server = nats_testkit::NatsServer::start().await?;
    /// let port = server.port();
    /// server.kill();
    /// server.restart().await?;
    /// assert_eq!(server.port(), port);
    /// # Ok(()) }
    /// ```
    pub async fn restart(&mut self) -> Result<(), TestkitError> {
        self.kill();
        let deadline = Instant::now() + DEADLINE;
        loop {
            let mark = self.log_len();
            self.spawn()?;
            match self.wait_ready(deadline, mark).await {
                Ok(()) => return Ok(()),
                Err(TestkitError::Exited { .. })
                    if Instant::now() < deadline && self.log_since(mark).contains(ADDR_IN_USE) =>
                {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Enter lame duck mode (`nats-server --signal ldm=<pid>`, i.e. SIGUSR2).
    ///
    /// The server stops accepting, sends `INFO {"ldm":true,...}` to its clients that sent
    /// `"protocol":1`, waits the grace period, closes its clients and exits. See
    /// [`ServerConfig::lame_duck`] for short timings.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_testkit::TestkitError> {
    /// use std::time::Duration;
    /// let server = nats_testkit::ServerConfig::new()
    ///     .lame_duck(Duration::from_millis(500), Duration::from_secs(30))
    ///     .start()
    ///     .await?;
    /// server.lame_duck()?;
    /// # Ok(()) }
    /// ```
    pub fn lame_duck(&self) -> Result<(), TestkitError> {
        let pid = self.pid().ok_or(TestkitError::NotRunning)?;
        signal(&self.bin, "ldm", pid)
    }

    /// Rewrite the config file with `config` (the port and cluster settings stay as they are),
    /// signal a reload (SIGHUP) and wait until the log says it was applied.
    ///
    /// Returns [`TestkitError::ReloadFailed`] when the server rejects the new config; it then
    /// keeps running with the old one.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_testkit::TestkitError> {
    /// use nats_testkit::{NatsServer, ServerConfig};
    /// let mut server = NatsServer::start().await?;
    /// server.reload(ServerConfig::new().user_password("bob", "pw")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn reload(&mut self, config: ServerConfig) -> Result<(), TestkitError> {
        let pid = self.pid().ok_or(TestkitError::NotRunning)?;
        let mut config = config.port(self.port);
        config.cluster = self.config.cluster.clone();
        self.config = config;
        self.write_config()?;
        let mark = self.log_len();
        signal(&self.bin, "reload", pid)?;
        let deadline = Instant::now() + DEADLINE;
        loop {
            let new = self.log_since(mark);
            if new.contains("Reloaded server configuration") {
                return Ok(());
            }
            if let Some(line) = new
                .lines()
                .find(|l| l.contains("[ERR]") || l.contains("[FTL]") || l.contains("Failed"))
            {
                return Err(TestkitError::ReloadFailed(line.to_owned()));
            }
            if self.exited().is_some() {
                return Err(TestkitError::ReloadFailed(format!(
                    "server exited; log:\n{}",
                    self.log()
                )));
            }
            if Instant::now() >= deadline {
                return Err(TestkitError::timeout("config reload", DEADLINE));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The server log so far (all runs), followed by anything it printed to stderr.
    pub fn log(&self) -> String {
        let mut log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let stderr = std::fs::read_to_string(&self.stderr_path).unwrap_or_default();
        if !stderr.trim().is_empty() {
            log.push_str("--- stderr ---\n");
            log.push_str(&stderr);
        }
        log
    }

    /// Path of the generated `nats-server.conf`.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// The JetStream store directory (kept across restarts), when JetStream is enabled.
    pub fn store_dir(&self) -> Option<&Path> {
        self.config
            .is_jetstream()
            .then_some(self.store_dir.as_path())
    }

    /// Path of the server log file.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The config the server runs with (its port filled in).
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    fn log_len(&self) -> (u64, u64) {
        let log = std::fs::metadata(&self.log_path).map_or(0, |m| m.len());
        let err = std::fs::metadata(&self.stderr_path).map_or(0, |m| m.len());
        (log, err)
    }

    /// Log and stderr text written after `mark` (from [`log_len`](Self::log_len)).
    fn log_since(&self, (log, err): (u64, u64)) -> String {
        let mut out = read_from(&self.log_path, log);
        out.push_str(&read_from(&self.stderr_path, err));
        out
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn read_from(path: &Path, offset: u64) -> String {
    let Ok(file) = File::open(path) else {
        return String::new();
    };
    let mut bytes = Vec::new();
    let mut reader = BufReader::new(file);
    if std::io::Seek::seek(&mut reader, std::io::SeekFrom::Start(offset)).is_err() {
        return String::new();
    }
    let _ = reader.read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Send `nats-server --signal NAME=PID`.
pub(crate) fn signal(bin: &Path, name: &'static str, pid: u32) -> Result<(), TestkitError> {
    let out = Command::new(bin)
        .arg("--signal")
        .arg(format!("{name}={pid}"))
        .stdin(Stdio::null())
        .output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(TestkitError::Signal {
            signal: name,
            pid,
            detail: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

/// The JSON of the first `INFO` line a server at `addr` sends, if it sends one.
pub(crate) async fn probe_info(addr: SocketAddr) -> Option<serde_json::Value> {
    let probe = async {
        let stream = TcpStream::connect(addr).await.ok()?;
        let mut line = String::new();
        AsyncBufReader::new(stream)
            .read_line(&mut line)
            .await
            .ok()?;
        parse_info_line(&line)
    };
    tokio::time::timeout(PROBE_TIMEOUT, probe).await.ok()?
}

fn probe_info_blocking(addr: SocketAddr) -> Option<serde_json::Value> {
    let stream = std::net::TcpStream::connect_timeout(&addr, PROBE_TIMEOUT).ok()?;
    stream.set_read_timeout(Some(PROBE_TIMEOUT)).ok()?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).ok()?;
    parse_info_line(&line)
}

fn parse_info_line(line: &str) -> Option<serde_json::Value> {
    let json = line.strip_prefix("INFO ")?.trim();
    serde_json::from_str(json).ok()
}
