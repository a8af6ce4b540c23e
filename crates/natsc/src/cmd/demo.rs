//! `natsc demo`: the live fail-over demo.
//!
//! A local 3-node cluster, a publisher and a subscriber connected through the library with all
//! three URLs, and a schedule of failures (kill -9, restart, lame duck) while every connection
//! event is printed as it happens. The summary then counts what arrived, what was lost and why
//! (`demo_summary.rs`).
//! Act 2 (`demo_js.rs`) does the same under JetStream and sets both side by side.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use clap::Args;
use futures_util::StreamExt;
use nats_client::{Client, ConnectError, ConnectionError, Event, Status};
use nats_testkit::{Cluster, ServerConfig};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::demo_summary::{human, plural, print_summary};
use super::Shutdown;
use crate::conn::ConnFlags;
use crate::error::{CliError, Result};
use crate::util::parse_duration;

const SUBJECT: &str = "demo.seq";
const NODES: usize = 3;
/// A message published this close to a subscriber outage may have been dropped by the cluster
/// before the subscription was back (route interest propagation, bytes in flight).
pub(super) const MARGIN: Duration = Duration::from_millis(300);

/// Live fail-over demo on a local 3-node cluster.
#[derive(Args)]
pub(crate) struct DemoArgs {
    /// How long the demo runs
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    duration: Duration,

    /// Time between two steps of the failure schedule
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    interval: Duration,

    /// Messages the publisher sends per second (both acts)
    #[arg(long, default_value_t = 100)]
    rate: u32,

    /// How long the JetStream act runs (act 2; leader elections take 6-8 s)
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    js_duration: Duration,

    /// Time between two steps of the JetStream act's failure schedule
    #[arg(long, default_value = "7s", value_parser = parse_duration)]
    js_interval: Duration,

    /// Only the core act: leave out the JetStream act
    #[arg(long)]
    no_js: bool,
}

/// The core act's figures, for the side-by-side summary of act 2.
pub(super) struct CoreFigures {
    pub(super) published: u64,
    pub(super) received: u64,
    pub(super) lost: u64,
    /// Not delivered because of at-most-once delivery (subscriber away, in flight at a kill).
    pub(super) missed: u64,
    pub(super) duplicates: u64,
}

/// One step of the failure schedule, repeated in this order.
#[derive(Clone, Copy)]
enum Step {
    KillPublisherNode,
    KillSubscriberNode,
    LameDuck,
    Restart,
}

const SCHEDULE: [Step; 6] = [
    Step::KillPublisherNode,
    Step::Restart,
    Step::KillSubscriberNode,
    Step::Restart,
    Step::LameDuck,
    Step::Restart,
];

/// The printer: one line per event, `ms since start`, who, what; lines never interleave.
pub(super) struct Log {
    pub(super) start: Instant,
    pub(super) lock: Mutex<()>,
    /// Client port of each node, to show "node-1" instead of a URL.
    pub(super) ports: Vec<u16>,
    /// Set once the demo is over: the events of closing (or of a ctrl-c that also reached the
    /// servers) are not part of the story.
    pub(super) muted: AtomicBool,
}

impl Log {
    /// Prints the node list and the column header, and starts the clock.
    pub(super) fn start(urls: &[String], ports: Vec<u16>) -> Arc<Log> {
        for (i, u) in urls.iter().enumerate() {
            println!("  node-{i}  {u}");
        }
        println!();
        println!("{:>7}  {:<10}  event", "ms", "who");
        Arc::new(Log {
            start: Instant::now(),
            lock: Mutex::new(()),
            ports,
            muted: AtomicBool::new(false),
        })
    }

    pub(super) fn line(&self, who: &str, what: &str) {
        if self.muted.load(Ordering::Relaxed) {
            return;
        }
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let ms = self.start.elapsed().as_millis();
        println!("{ms:>7}  {who:<10}  {what}");
    }

    pub(super) fn mute(&self) {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        self.muted.store(true, Ordering::Relaxed);
    }

    fn node_of(&self, url: &str) -> Option<usize> {
        let port: u16 = url.rsplit(':').next()?.trim_end_matches('/').parse().ok()?;
        self.ports.iter().position(|&p| p == port)
    }

    fn node_name(&self, url: &str) -> String {
        match self.node_of(url) {
            Some(i) => format!("node-{i}"),
            None => url.to_string(),
        }
    }
}

/// One Disconnected → Reconnected period of a client.
#[derive(Clone, Copy)]
pub(super) struct Outage {
    pub(super) from: Instant,
    pub(super) to: Option<Instant>,
}

/// What the event callback of one client records.
#[derive(Default)]
pub(super) struct Track {
    pub(super) outages: Vec<Outage>,
    pub(super) reconnects: u32,
    pub(super) slowest: Duration,
    events: u32,
    /// The first connect failed and goes on in the background (`--retry-on-failed-connect`).
    retrying: bool,
}

/// A client of the demo and what its callback saw.
pub(super) struct DemoClient {
    who: &'static str,
    pub(super) client: Client,
    track: Arc<Mutex<Track>>,
}

impl DemoClient {
    pub(super) async fn connect(
        who: &'static str,
        conn: &ConnFlags,
        urls: &[String],
        log: &Arc<Log>,
    ) -> Result<DemoClient> {
        let track = Arc::new(Mutex::new(Track::default()));
        let handle: Arc<OnceLock<Client>> = Arc::new(OnceLock::new());
        let (t, l, h) = (Arc::clone(&track), Arc::clone(log), Arc::clone(&handle));
        let options = conn
            .options()?
            .name(format!("natsc-demo-{who}"))
            .event_callback(move |e: &Event| on_event(who, e, &t, &l, h.get()));
        let client = options
            .connect(urls)
            .await
            .map_err(|e| CliError::from(e).context(format!("{who} could not connect")))?;
        let _ = handle.set(client.clone());
        match client.connected_url() {
            Some(u) => log.line(who, &format!("connected to {}", log.node_name(&u))),
            None => {
                track.lock().unwrap_or_else(|p| p.into_inner()).retrying = true;
                log.line(who, "not connected yet, retrying in the background");
            }
        }
        Ok(DemoClient { who, client, track })
    }

    fn node(&self, log: &Log) -> Option<usize> {
        self.client.connected_url().and_then(|u| log.node_of(&u))
    }

    pub(super) fn track(&self) -> std::sync::MutexGuard<'_, Track> {
        self.track.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The event callback: record, then print one short line.
fn on_event(who: &str, e: &Event, track: &Mutex<Track>, log: &Log, client: Option<&Client>) {
    let now = Instant::now();
    let mut t = track.lock().unwrap_or_else(|p| p.into_inner());
    t.events += 1;
    let text = match e {
        // Printed by `DemoClient::connect`, with the node; this callback only reports a first
        // connection made later by `--retry-on-failed-connect`.
        Event::Connected if !t.retrying => return,
        Event::Connected => {
            let node = client
                .and_then(Client::connected_url)
                .map(|u| format!(" to {}", log.node_name(&u)))
                .unwrap_or_default();
            format!("connected{node}")
        }
        Event::Disconnected { error } => {
            t.outages.push(Outage {
                from: now,
                to: None,
            });
            format!("disconnected: {}", short_connection_error(error))
        }
        Event::Reconnected => {
            t.reconnects += 1;
            let mut took = None;
            if let Some(o) = t.outages.last_mut().filter(|o| o.to.is_none()) {
                o.to = Some(now);
                let d = now - o.from;
                t.slowest = t.slowest.max(d);
                took = Some(d);
            }
            let node = client
                .and_then(Client::connected_url)
                .map(|u| format!(" to {}", log.node_name(&u)))
                .unwrap_or_default();
            match took {
                Some(d) => format!("reconnected{node} after {} ms", d.as_millis()),
                None => format!("reconnected{node}"),
            }
        }
        Event::ReconnectFailed {
            server,
            error,
            attempt,
        } => format!(
            "reconnect to {} failed (attempt {attempt}): {}",
            log.node_name(server),
            short_connect_error(error)
        ),
        Event::LameDuckMode => "server entered lame duck mode".to_string(),
        other => other.to_string(),
    };
    drop(t);
    log.line(who, &text);
}

fn short_connection_error(e: &ConnectionError) -> String {
    match e {
        ConnectionError::Io(io) => match io.kind() {
            std::io::ErrorKind::UnexpectedEof => "server closed the connection".into(),
            kind => kind.to_string(),
        },
        other => other.to_string(),
    }
}

fn short_connect_error(e: &ConnectError) -> String {
    match e {
        ConnectError::Io(io) => io.kind().to_string(),
        other => other.to_string(),
    }
}

/// How a publish went.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Sent {
    /// Handed to a live connection.
    Live,
    /// Buffered while the publisher was reconnecting.
    Buffered,
    /// Refused (reconnect buffer full or disabled).
    Refused,
}

/// The chaos step "restart": brings the node that is down back (with its store), waits for
/// its routes (and, for `jetstream`, for JetStream to answer), and says how long it took. A node
/// that does not come back stays down.
pub(super) async fn restart_down_node(
    cluster: &mut Cluster,
    down: &mut Option<usize>,
    log: &Log,
    jetstream: bool,
) {
    let Some(i) = down.take() else { return };
    log.line("chaos", &format!("restart node-{i}"));
    let started = Instant::now();
    let result = async {
        cluster.node_mut(i).restart().await?;
        cluster.wait_for_routes().await?;
        if jetstream {
            cluster.node(i).wait_for_jetstream().await?;
        }
        Ok::<(), nats_testkit::TestkitError>(())
    }
    .await;
    let ready = if jetstream {
        "is back with its store, JetStream ready"
    } else {
        "is back, routes up"
    };
    match result {
        Ok(()) => log.line(
            "chaos",
            &format!("node-{i} {ready} ({} ms)", started.elapsed().as_millis()),
        ),
        Err(e) => {
            log.line("chaos", &format!("node-{i} did not come back: {e}"));
            *down = Some(i);
        }
    }
}

/// Runs the demo until `--duration` elapses or `shutdown` resolves, then prints the summary.
pub(crate) async fn run(args: DemoArgs, conn: &ConnFlags, mut shutdown: Shutdown) -> Result<()> {
    if conn.server.is_some() {
        return Err(CliError::msg(
            "demo runs its own local 3-node cluster; leave out --server",
        ));
    }
    if args.rate == 0 || args.interval.is_zero() || args.js_interval.is_zero() {
        return Err(CliError::msg(
            "--rate, --interval and --js-interval must be greater than zero",
        ));
    }
    eprintln!("natsc: starting a local {NODES}-node nats-server cluster for the demo...");
    // Lame-duck nodes wait 300 ms, then close their clients (2.9.10 refuses durations < 30 s).
    let config = ServerConfig::new().lame_duck(Duration::from_millis(300), Duration::from_secs(30));
    let mut cluster = Cluster::start_with(NODES, config)
        .await
        .map_err(|e| CliError::from(e).context("could not start the local cluster"))?;
    let urls = cluster.urls();

    println!("== act 1: core NATS ==");
    println!(
        "natsc demo: {NODES}-node cluster, 1 publisher ({} msg/s on {SUBJECT:?}), 1 subscriber,",
        args.rate
    );
    println!(
        "a failure every {} for {}; both clients know all three URLs.",
        human(args.interval),
        human(args.duration)
    );
    let log = Log::start(&urls, cluster.nodes().iter().map(|n| n.port()).collect());
    let subscriber = DemoClient::connect("subscriber", conn, &urls, &log).await?;
    let publisher = DemoClient::connect("publisher", conn, &urls, &log).await?;

    let (stop_tx, stop_rx) = watch::channel(false);
    let sub_task = spawn_subscriber(&subscriber, stop_rx.clone(), Arc::clone(&log)).await?;
    let pub_task = spawn_publisher(&publisher, args.rate, stop_rx, Arc::clone(&log));

    // The failure schedule.
    let end = log.start + args.duration;
    let mut down: Option<usize> = None;
    let mut failures = 0u32;
    let mut interrupted = false;
    for k in 1u32.. {
        let at = log.start + args.interval * k;
        if at >= end {
            tokio::select! {
                biased;
                () = &mut shutdown => interrupted = true,
                () = tokio::time::sleep_until(end.into()) => {}
            }
            break;
        }
        tokio::select! {
            biased;
            () = &mut shutdown => { interrupted = true; break; }
            () = tokio::time::sleep_until(at.into()) => {}
        }
        let step = SCHEDULE[(k as usize - 1) % SCHEDULE.len()];
        if chaos(step, &mut cluster, &mut down, &publisher, &subscriber, &log).await {
            failures += 1;
        }
    }
    if interrupted {
        log.line(
            "demo",
            "interrupted: the summary covers what happened so far",
        );
    }

    // Settle: stop publishing, let both clients recover, flush, collect the stragglers.
    let _ = stop_tx.send(true);
    let sent = pub_task.await.unwrap_or_default();
    log.line(
        "demo",
        &format!("publisher stopped after {} messages", sent.len()),
    );
    if interrupted {
        // A ctrl-c from the terminal reaches the servers too: do not wait for them.
        log.mute();
    } else {
        for c in [&publisher, &subscriber] {
            if c.client.status() != Status::Connected {
                log.line(c.who, "waiting to reconnect before the summary...");
                let _ = tokio::time::timeout(
                    Duration::from_secs(5),
                    c.client.wait_for_status(Status::Connected),
                )
                .await;
            }
        }
    }
    let flush = if interrupted { 500 } else { 5000 };
    let _ = publisher
        .client
        .flush_timeout(Duration::from_millis(flush))
        .await;
    let received = sub_task.finish(sent.len() as u64).await;
    log.mute();
    publisher.client.close().await;
    subscriber.client.close().await;

    let core = print_summary(
        &sent,
        &received,
        &publisher,
        &subscriber,
        failures,
        log.start,
    );
    drop(cluster);
    if args.no_js || interrupted {
        return Ok(());
    }
    let js_args = super::demo_js::JsArgs {
        duration: args.js_duration,
        interval: args.js_interval,
        rate: args.rate,
    };
    let outcome = super::demo_js::run(&js_args, conn, &mut shutdown, &core).await?;
    if !outcome.checked {
        return Err(CliError::msg(
            "demo: the JetStream act could not read the stream at the end",
        ));
    }
    if outcome.lost > 0 || outcome.duplicates > 0 {
        return Err(CliError::msg(format!(
            "demo: JetStream lost {} and duplicated {} messages",
            outcome.lost, outcome.duplicates
        )));
    }
    Ok(())
}

/// Performs one step; whether it was a failure (kill or lame duck).
async fn chaos(
    step: Step,
    cluster: &mut Cluster,
    down: &mut Option<usize>,
    publisher: &DemoClient,
    subscriber: &DemoClient,
    log: &Log,
) -> bool {
    // Only one node is down at a time, so the cluster always has a quorum of two.
    let running = |d: &Option<usize>| (0..NODES).find(|i| Some(*i) != *d);
    let pick = |c: &DemoClient, d: &Option<usize>| {
        c.node(log)
            .filter(|i| Some(*i) != *d)
            .or_else(|| running(d))
    };
    match step {
        Step::Restart => {
            restart_down_node(cluster, down, log, false).await;
            false
        }
        Step::KillPublisherNode | Step::KillSubscriberNode if down.is_some() => false,
        Step::KillPublisherNode | Step::KillSubscriberNode => {
            let (c, whose) = match step {
                Step::KillPublisherNode => (publisher, "publisher's"),
                _ => (subscriber, "subscriber's"),
            };
            let Some(i) = pick(c, down) else { return false };
            let whose = if Some(i) == c.node(log) { whose } else { "a" };
            log.line("chaos", &format!("kill -9 node-{i} ({whose} node)"));
            cluster.node_mut(i).kill();
            *down = Some(i);
            true
        }
        Step::LameDuck => {
            if down.is_some() {
                return false;
            }
            // The node with most clients; the subscriber's on a tie.
            let (p, s) = (publisher.node(log), subscriber.node(log));
            let Some(i) = s.or(p).or_else(|| running(down)) else {
                return false;
            };
            let who = match (Some(i) == p, Some(i) == s) {
                (true, true) => "both clients'",
                (false, true) => "subscriber's",
                (true, false) => "publisher's",
                (false, false) => "a",
            };
            log.line(
                "chaos",
                &format!("lame duck node-{i} ({who} node): it closes its clients and exits"),
            );
            if let Err(e) = cluster.node(i).lame_duck() {
                log.line("chaos", &format!("lame duck failed: {e}"));
                return false;
            }
            *down = Some(i);
            true
        }
    }
}

/// The publisher: `seq` as the payload, `rate` per second, until told to stop.
fn spawn_publisher(
    c: &DemoClient,
    rate: u32,
    mut stop: watch::Receiver<bool>,
    log: Arc<Log>,
) -> JoinHandle<Vec<(Instant, Sent)>> {
    let client = c.client.clone();
    tokio::spawn(async move {
        let mut sent = Vec::new();
        let mut ticker = tokio::time::interval(Duration::from_secs(1) / rate);
        let mut refusing = false;
        loop {
            tokio::select! {
                biased;
                _ = stop.changed() => break,
                _ = ticker.tick() => {}
            }
            let seq = sent.len() as u64 + 1;
            let buffered = client.status() != Status::Connected;
            let at = Instant::now();
            let kind = match client.publish(SUBJECT, seq.to_string().into()).await {
                Ok(()) if buffered => Sent::Buffered,
                Ok(()) => Sent::Live,
                Err(e) => {
                    if !refusing {
                        log.line("publisher", &format!("publish #{seq} refused: {e}"));
                    }
                    Sent::Refused
                }
            };
            refusing = kind == Sent::Refused;
            sent.push((at, kind));
        }
        sent
    })
}

/// The subscriber task and the way to end it once everything has arrived.
struct SubTask {
    handle: JoinHandle<Vec<u32>>,
    stop: watch::Sender<u64>,
}

impl SubTask {
    /// Tells the task the last sequence number; it ends when that has arrived or after 1 s of
    /// silence. Returns how often each sequence number arrived (index 0 unused).
    async fn finish(self, last: u64) -> Vec<u32> {
        let _ = self.stop.send(last);
        self.handle.await.unwrap_or_default()
    }
}

async fn spawn_subscriber(
    c: &DemoClient,
    mut global_stop: watch::Receiver<bool>,
    log: Arc<Log>,
) -> Result<SubTask> {
    let mut sub = c
        .client
        .subscribe(SUBJECT)
        .await
        .map_err(|e| CliError::from(e).context("subscribe"))?;
    c.client
        .flush()
        .await
        .map_err(|e| CliError::from(e).context("flush"))?;
    let (stop, mut last_rx) = watch::channel(0u64);
    let handle = tokio::spawn(async move {
        let mut counts: Vec<u32> = vec![0];
        let mut max_seen = 0u64;
        let mut last: Option<u64> = None;
        loop {
            let idle = tokio::time::sleep(Duration::from_secs(1));
            let msg = tokio::select! {
                _ = last_rx.changed() => { last = Some(*last_rx.borrow()); continue; }
                _ = global_stop.changed(), if last.is_none() => continue,
                () = idle, if last.is_some() => break,
                msg = sub.next() => msg,
            };
            let Some(msg) = msg else { break };
            let Some(seq) = std::str::from_utf8(&msg.payload)
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
            else {
                continue;
            };
            let i = usize::try_from(seq).unwrap_or(usize::MAX);
            if i >= counts.len() {
                counts.resize(i.saturating_add(1).min(1 << 26), 0);
            }
            if let Some(c) = counts.get_mut(i) {
                *c += 1;
            }
            if seq > max_seen + 1 {
                let n = seq - max_seen - 1;
                let range = if n == 1 {
                    format!("#{}", max_seen + 1)
                } else {
                    format!("#{}..#{}", max_seen + 1, seq - 1)
                };
                log.line(
                    "subscriber",
                    &format!("missed {range} ({n} message{})", plural(n)),
                );
            }
            max_seen = max_seen.max(seq);
            if last.is_some_and(|l| max_seen >= l) {
                break;
            }
        }
        counts
    });
    Ok(SubTask { handle, stop })
}
