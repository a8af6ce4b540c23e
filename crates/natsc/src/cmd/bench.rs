//! `natsc bench`: throughput and latency of publish, subscribe, publish+subscribe and
//! request/reply, with progress bars, HDR latency percentiles, `--json` and an SVG plot.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use clap::{Args, ValueEnum};
use futures_util::StreamExt;
use hdrhistogram::Histogram;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use nats_client::{Client, Subscriber};
use serde_json::json;

use super::Shutdown;
use crate::conn::ConnFlags;
use crate::error::{CliError, Result};
use crate::util::{parse_count, parse_size};

/// A subscriber that has seen nothing for this long gives up (messages were dropped).
const IDLE: Duration = Duration::from_secs(5);

/// What to measure.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// Publishers only: publish throughput and the latency of the publish call
    Pub,
    /// Subscribers fed by one extra publisher: receive throughput, end-to-end latency
    Sub,
    /// Publishers and subscribers: both throughputs, end-to-end latency
    Pubsub,
    /// Requesters against echo responders (a queue group): request rate, round-trip latency
    Reqrep,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Pub => "pub",
            Mode::Sub => "sub",
            Mode::Pubsub => "pubsub",
            Mode::Reqrep => "reqrep",
        }
    }
}

/// Measure throughput and latency.
#[derive(Args)]
pub(crate) struct BenchArgs {
    /// What to measure
    #[arg(value_enum, default_value = "pubsub")]
    mode: Mode,

    /// Subject to use
    #[arg(long, default_value = "natsc.bench")]
    subject: String,

    /// Connections per measured role (publishers, subscribers, requesters)
    #[arg(long, default_value_t = 1, value_parser = parse_count, allow_negative_numbers = true)]
    clients: u64,

    /// Messages in total (split across publishers or requesters)
    #[arg(long, default_value_t = 100_000, value_parser = parse_count,
          allow_negative_numbers = true)]
    msgs: u64,

    /// Publish at this many messages per second in total (split across publishers) instead of
    /// as fast as possible: latency measured below saturation, without the queueing of a flood
    #[arg(long, value_name = "MSGS_PER_SEC")]
    rate: Option<f64>,

    /// Payload size, e.g. 128, 1KiB (latency needs at least 8 bytes)
    #[arg(long, default_value = "128", value_parser = parse_size)]
    size: usize,

    /// Print the results as one JSON object
    #[arg(long)]
    json: bool,

    /// Draw the latency percentile curve into this SVG file
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
}

/// What one task did.
struct Run {
    msgs: u64,
    start: Instant,
    end: Instant,
    latency: Histogram<u64>,
}

/// The totals of one role.
struct Throughput {
    msgs: u64,
    bytes: u64,
    elapsed: Duration,
}

impl Throughput {
    fn of(runs: &[Run], size: usize) -> Option<Throughput> {
        let start = runs.iter().map(|r| r.start).min()?;
        let end = runs.iter().map(|r| r.end).max()?;
        let msgs: u64 = runs.iter().map(|r| r.msgs).sum();
        Some(Throughput {
            msgs,
            bytes: msgs * size as u64,
            elapsed: end.saturating_duration_since(start),
        })
    }

    fn per_sec(&self, n: u64) -> f64 {
        n as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn json(&self) -> serde_json::Value {
        json!({
            "msgs": self.msgs,
            "bytes": self.bytes,
            "elapsed_s": self.elapsed.as_secs_f64(),
            "msgs_per_sec": self.per_sec(self.msgs),
            "bytes_per_sec": self.per_sec(self.bytes),
        })
    }

    fn line(&self, name: &str) -> String {
        format!(
            "  {name:<10}{:>10} msgs {:>8.3} s {:>12} msg/s {:>9.2} MiB/s",
            self.msgs,
            self.elapsed.as_secs_f64(),
            group(self.per_sec(self.msgs) as u64),
            self.per_sec(self.bytes) / (1024.0 * 1024.0)
        )
    }
}

/// Runs the benchmark until done or `shutdown`.
pub(crate) async fn run(args: BenchArgs, conn: &ConnFlags, shutdown: Shutdown) -> Result<()> {
    if args.clients > 1000 {
        return Err(CliError::msg("--clients is limited to 1000"));
    }
    if let Some(r) = args.rate {
        if !(r.is_finite() && r > 0.0) {
            return Err(CliError::msg("--rate must be a positive number"));
        }
    }
    if let Some(path) = &args.plot {
        check_plot_path(path)?;
    }
    let _ = conn.options()?;
    let target = conn.target_or_local("bench").await?;
    let bars = MultiProgress::with_draw_target(if args.json {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    });
    let work = measure(&args, conn, &target.urls, &bars);
    let (publish, receive, latency) = tokio::select! {
        r = work => r?,
        () = shutdown => return Err(CliError::msg("interrupted")),
    };
    let _ = bars.clear();
    report(&args, publish.as_ref(), receive.as_ref(), &latency)?;
    if let Some(path) = &args.plot {
        std::fs::write(path, svg(&latency, &args))
            .map_err(|e| CliError::from(e).context(format!("writing {}", path.display())))?;
        if !args.json {
            eprintln!("natsc: latency plot written to {}", path.display());
        }
    }
    Ok(())
}

type Measured = (Option<Throughput>, Option<Throughput>, Histogram<u64>);

async fn measure(
    args: &BenchArgs,
    conn: &ConnFlags,
    urls: &str,
    bars: &MultiProgress,
) -> Result<Measured> {
    let base = Instant::now();
    let n = args.clients as usize;
    // Each publisher's pause between two messages, for --rate.
    let period = args
        .rate
        .map(|r| Duration::from_secs_f64((n as f64 / r).min(3600.0)));
    let share = |i: usize| args.msgs / n as u64 + u64::from((i as u64) < args.msgs % n as u64);
    let connect = || async { conn.connect(conn.options()?, urls).await };

    // Receivers first, each subscribed and flushed, so nothing is published before they listen.
    let mut receivers = Vec::new();
    let mut responders = Vec::new();
    match args.mode {
        Mode::Sub | Mode::Pubsub => {
            for i in 0..n {
                let client = connect().await?;
                let sub = client.subscribe(&args.subject).await?;
                client.flush().await?;
                let bar = bar(bars, &format!("sub {i}"), args.msgs);
                receivers.push(tokio::spawn(receive(client, sub, args.msgs, base, bar)));
            }
        }
        Mode::Reqrep => {
            for _ in 0..n {
                let client = connect().await?;
                let sub = client
                    .queue_subscribe(&args.subject, "natsc.bench.responders")
                    .await?;
                client.flush().await?;
                responders.push(tokio::spawn(respond(client, sub)));
            }
        }
        Mode::Pub => {}
    }

    let mut senders = Vec::new();
    let publishers = if args.mode == Mode::Sub { 1 } else { n };
    for i in 0..publishers {
        let msgs = if args.mode == Mode::Sub {
            args.msgs
        } else {
            share(i)
        };
        let client = connect().await?;
        let (subject, size) = (args.subject.clone(), args.size);
        let task = if args.mode == Mode::Reqrep {
            let bar = bar(bars, &format!("req {i}"), msgs);
            tokio::spawn(request(client, subject, msgs, size, base, bar))
        } else {
            let bar = if args.mode == Mode::Sub {
                ProgressBar::hidden()
            } else {
                bar(bars, &format!("pub {i}"), msgs)
            };
            tokio::spawn(publish(client, subject, msgs, size, base, period, bar))
        };
        senders.push(task);
    }

    let mut sent = Vec::new();
    for t in senders {
        sent.push(
            t.await
                .map_err(|e| CliError::msg(format!("publisher failed: {e}")))??,
        );
    }
    let mut received = Vec::new();
    for t in receivers {
        received.push(
            t.await
                .map_err(|e| CliError::msg(format!("subscriber failed: {e}")))??,
        );
    }
    for r in responders {
        r.abort();
    }

    let mut latency = new_histogram();
    let from = if args.mode == Mode::Pub || args.mode == Mode::Reqrep {
        &sent
    } else {
        &received
    };
    for r in from {
        latency
            .add(&r.latency)
            .map_err(|e| CliError::msg(format!("histogram: {e}")))?;
    }
    let publish = if args.mode == Mode::Sub {
        None
    } else {
        Throughput::of(&sent, args.size)
    };
    let receive = Throughput::of(&received, args.size);
    Ok((publish, receive, latency))
}

fn new_histogram() -> Histogram<u64> {
    // Auto-resizing, 3 significant digits; values are nanoseconds.
    let mut h = Histogram::new(3).unwrap_or_else(|_| unreachable!("3 significant digits is valid"));
    h.auto(true);
    h
}

fn bar(bars: &MultiProgress, name: &str, len: u64) -> ProgressBar {
    let style = ProgressStyle::with_template(
        "{prefix:>7} [{bar:30}] {pos:>9}/{len:<9} {per_sec:>14} {elapsed:>4}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    let bar = bars.add(ProgressBar::new(len).with_style(style));
    bar.set_prefix(name.to_string());
    bar
}

/// A payload whose first 8 bytes are the nanoseconds since `base`, for end-to-end latency.
fn stamped(size: usize, base: Instant) -> Bytes {
    let mut b = BytesMut::with_capacity(size);
    if size >= 8 {
        b.put_u64_le(base.elapsed().as_nanos() as u64);
    }
    b.resize(size, b'x');
    b.freeze()
}

fn stamp_of(payload: &[u8]) -> Option<u64> {
    payload
        .get(..8)
        .and_then(|s| <[u8; 8]>::try_from(s).ok())
        .map(u64::from_le_bytes)
}

async fn publish(
    client: Client,
    subject: String,
    msgs: u64,
    size: usize,
    base: Instant,
    period: Option<Duration>,
    bar: ProgressBar,
) -> Result<Run> {
    let mut latency = new_histogram();
    let mut ticker = period.map(tokio::time::interval);
    let start = Instant::now();
    for _ in 0..msgs {
        if let Some(t) = ticker.as_mut() {
            t.tick().await;
        }
        let payload = stamped(size, base);
        let t = Instant::now();
        client.publish(&subject, payload).await?;
        let _ = latency.record(t.elapsed().as_nanos() as u64);
        bar.inc(1);
    }
    client.flush_timeout(Duration::from_secs(60)).await?;
    let end = Instant::now();
    bar.finish();
    client.close().await;
    Ok(Run {
        msgs,
        start,
        end,
        latency,
    })
}

async fn receive(
    client: Client,
    mut sub: Subscriber,
    expect: u64,
    base: Instant,
    bar: ProgressBar,
) -> Result<Run> {
    let mut latency = new_histogram();
    let mut got = 0u64;
    let mut start = None;
    let mut end = Instant::now();
    while got < expect {
        let Ok(Some(msg)) = tokio::time::timeout(IDLE, sub.next()).await else {
            break;
        };
        let now = Instant::now();
        start.get_or_insert(now);
        end = now;
        if let Some(stamp) = stamp_of(&msg.payload) {
            let sent = Duration::from_nanos(stamp);
            let _ = latency.record((now - base).saturating_sub(sent).as_nanos() as u64);
        }
        got += 1;
        bar.inc(1);
    }
    bar.finish();
    client.close().await;
    Ok(Run {
        msgs: got,
        start: start.unwrap_or(end),
        end,
        latency,
    })
}

async fn respond(client: Client, mut sub: Subscriber) {
    while let Some(msg) = sub.next().await {
        if let Some(reply) = msg.reply {
            if client.publish(reply.as_str(), msg.payload).await.is_err() {
                break;
            }
        }
    }
}

async fn request(
    client: Client,
    subject: String,
    msgs: u64,
    size: usize,
    base: Instant,
    bar: ProgressBar,
) -> Result<Run> {
    let mut latency = new_histogram();
    let start = Instant::now();
    for _ in 0..msgs {
        let t = Instant::now();
        client
            .request_with_timeout(&subject, stamped(size, base), Duration::from_secs(10))
            .await?;
        let _ = latency.record(t.elapsed().as_nanos() as u64);
        bar.inc(1);
    }
    let end = Instant::now();
    bar.finish();
    client.close().await;
    Ok(Run {
        msgs,
        start,
        end,
        latency,
    })
}

/// Percentiles reported, as (label, quantile).
const PERCENTILES: [(&str, f64); 5] = [
    ("p50", 0.50),
    ("p90", 0.90),
    ("p99", 0.99),
    ("p99_9", 0.999),
    ("p99_99", 0.9999),
];

fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

fn report(
    args: &BenchArgs,
    publish: Option<&Throughput>,
    receive: Option<&Throughput>,
    latency: &Histogram<u64>,
) -> Result<()> {
    let latency_kind = match args.mode {
        Mode::Pub => "publish call",
        Mode::Sub | Mode::Pubsub => "end to end",
        Mode::Reqrep => "round trip",
    };
    if args.json {
        let mut lat = serde_json::Map::new();
        lat.insert("kind".into(), latency_kind.into());
        lat.insert("count".into(), latency.len().into());
        if !latency.is_empty() {
            lat.insert("min".into(), us(latency.min()).into());
            lat.insert("mean".into(), (latency.mean() / 1000.0).into());
            for (name, q) in PERCENTILES {
                lat.insert(name.into(), us(latency.value_at_quantile(q)).into());
            }
            lat.insert("max".into(), us(latency.max()).into());
        }
        let mut out = json!({
            "mode": args.mode.name(),
            "subject": args.subject,
            "clients": args.clients,
            "msgs": args.msgs,
            "size": args.size,
            "latency_us": lat,
        });
        if let Some(map) = out.as_object_mut() {
            let pub_key = if args.mode == Mode::Reqrep {
                "request"
            } else {
                "publish"
            };
            if let Some(p) = publish {
                map.insert(pub_key.into(), p.json());
            }
            if let Some(r) = receive {
                map.insert("subscribe".into(), r.json());
            }
        }
        println!("{out}");
        return Ok(());
    }
    println!(
        "bench {}: {} client{} per role, {} msgs of {} B on {:?}",
        args.mode.name(),
        args.clients,
        if args.clients == 1 { "" } else { "s" },
        args.msgs,
        args.size,
        args.subject
    );
    if let Some(p) = publish {
        let name = if args.mode == Mode::Reqrep {
            "request"
        } else {
            "publish"
        };
        println!("{}", p.line(name));
    }
    if let Some(r) = receive {
        println!("{}", r.line("subscribe"));
        let expected = args.msgs * args.clients;
        if r.msgs < expected {
            println!(
                "  {:<10}{:>10} msgs never arrived (slow consumer or dropped)",
                "missing",
                expected - r.msgs
            );
        }
    }
    if latency.is_empty() {
        println!("  latency   not measured (payloads under 8 bytes carry no timestamp)");
    } else {
        let mut line = format!(
            "  latency   {latency_kind} in µs: min {:.1}",
            us(latency.min())
        );
        for (name, q) in PERCENTILES {
            let _ = write!(
                line,
                "  {} {:.1}",
                name.replace('_', "."),
                us(latency.value_at_quantile(q))
            );
        }
        let _ = write!(line, "  max {:.1}", us(latency.max()));
        println!("{line}");
        println!("  {:<10}{}", "", latency_note(args));
    }
    Ok(())
}

/// What the latency line measures, said next to it.
fn latency_note(args: &BenchArgs) -> String {
    let what = match args.mode {
        Mode::Pub => "the time one publish call takes to hand the message over (not delivery)",
        Mode::Sub | Mode::Pubsub => "from the publish call to the subscriber's receipt",
        Mode::Reqrep => "from sending a request to its reply (one request at a time)",
    };
    match (args.mode, args.rate) {
        (Mode::Reqrep, _) => format!("({what})"),
        (_, Some(r)) => format!("({what}, at {} msgs/s)", trim_float(r)),
        (Mode::Pub, None) => format!("({what}, as fast as possible)"),
        (_, None) => format!(
            "({what}; published as fast as possible, so this is mostly time spent queued \
             behind earlier messages: use --rate to measure below saturation)"
        ),
    }
}

/// `--plot` names a file in a directory that exists: checked before the benchmark runs.
fn check_plot_path(path: &std::path::Path) -> Result<()> {
    if path.is_dir() {
        return Err(CliError::msg(format!(
            "--plot {}: is a directory; give a file name such as latency.svg",
            path.display()
        )));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    if !dir.is_dir() {
        return Err(CliError::msg(format!(
            "--plot {}: the directory {} does not exist",
            path.display(),
            dir.display()
        )));
    }
    Ok(())
}

/// The latency percentile curve: x is the percentile on a log scale of 1/(1-q) (so 90 %,
/// 99 %, 99.9 % are evenly spaced), y the latency in µs.
fn svg(latency: &Histogram<u64>, args: &BenchArgs) -> String {
    const W: f64 = 800.0;
    const H: f64 = 480.0;
    const L: f64 = 80.0;
    const R: f64 = 30.0;
    const T: f64 = 50.0;
    const B: f64 = 60.0;
    let nines = 5.0_f64; // up to 99.999 %
    let x_of = |q: f64| {
        let v = (1.0 / (1.0 - q.min(0.999_999))).log10().min(nines);
        L + v / nines * (W - L - R)
    };
    let points: Vec<(f64, f64)> = latency
        .iter_quantiles(4)
        .map(|v| (v.quantile_iterated_to(), us(v.value_iterated_to())))
        .collect();
    let max_y = points
        .iter()
        .map(|p| p.1)
        .fold(1.0_f64, f64::max)
        .max(us(latency.max()));
    let y_top = nice_ceiling(max_y);
    let y_of = |v: f64| T + (1.0 - v / y_top) * (H - T - B);

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="28" text-anchor="middle" font-size="16">natsc bench {}: latency by percentile ({} msgs of {} B)</text>"#,
        W / 2.0,
        args.mode.name(),
        latency.len(),
        args.size
    );
    // Grid and axes.
    for (i, label) in ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"]
        .iter()
        .enumerate()
    {
        let x = L + i as f64 / nines * (W - L - R);
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{T}" x2="{x:.1}" y2="{:.1}" stroke="#ddd"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{label}</text>"##,
            H - B,
            H - B + 18.0
        );
    }
    for i in 0..=5 {
        let v = y_top * f64::from(i) / 5.0;
        let y = y_of(v);
        let _ = writeln!(
            s,
            r##"<line x1="{L}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            W - R,
            L - 8.0,
            y + 4.0,
            trim_float(v)
        );
    }
    let _ = writeln!(
        s,
        r##"<line x1="{L}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#333"/><line x1="{L}" y1="{T}" x2="{L}" y2="{:.1}" stroke="#333"/>"##,
        H - B,
        W - R,
        H - B,
        H - B
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">percentile</text>"#,
        (L + W - R) / 2.0,
        H - 15.0
    );
    let _ = writeln!(
        s,
        r#"<text x="20" y="{:.1}" text-anchor="middle" transform="rotate(-90 20 {:.1})">latency (µs)</text>"#,
        (T + H - B) / 2.0,
        (T + H - B) / 2.0
    );
    // The curve, as steps between the iterated quantiles.
    let mut path = String::new();
    for (q, v) in &points {
        let _ = write!(path, "{:.1},{:.1} ", x_of(*q), y_of(*v));
    }
    let _ = writeln!(
        s,
        r##"<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="{}"/>"##,
        path.trim_end()
    );
    s.push_str("</svg>\n");
    s
}

/// The next 1, 2 or 5 × 10^k at or above `v`.
fn nice_ceiling(v: f64) -> f64 {
    let mag = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * mag >= v {
            return m * mag;
        }
    }
    10.0 * mag
}

fn trim_float(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// `1234567` as `1,234,567`.
fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping_and_ceiling() {
        assert_eq!(group(1_234_567), "1,234,567");
        assert_eq!(group(12), "12");
        assert_eq!(nice_ceiling(37.0), 50.0);
        assert_eq!(nice_ceiling(100.0), 100.0);
        assert_eq!(nice_ceiling(0.3), 0.5);
    }

    #[test]
    fn stamps_round_trip() {
        let base = Instant::now();
        let p = stamped(16, base);
        assert_eq!(p.len(), 16);
        assert!(stamp_of(&p).is_some());
        assert_eq!(stamped(4, base).len(), 4);
    }
}
