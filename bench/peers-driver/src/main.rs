//! nats-client's driver for the peers harness (`shared/peers`, see its README for the contract):
//!
//! ```text
//! nats-client-peers --workload pub|pubsub|reqrep --url nats://127.0.0.1:PORT --n N --size S
//! nats-client-peers --workload pub|pubsub ... --at-least-once 1   (the publisher on
//!                   ConnectOptions::at_least_once; the line gets "at_least_once": true;
//!                   --message-ids 1 adds ConnectOptions::message_ids)
//! nats-client-peers --workload pub|pubsub|reqrep --url ws://127.0.0.1:WS_PORT --n N --size S
//! nats-client-peers --workload reconnect --urls U1,U2 --pids PORT1=PID1,PORT2=PID2 --trial T
//! nats-client-peers --workload js-pub --url nats://127.0.0.1:PORT --n N --size S
//! nats-client-peers --workload js-pub-async|js-consume --url URL --n N --size S --window W
//! nats-client-peers --workload obj-put|obj-get --url URL --n 1 --size BYTES
//! nats-client-peers --workload js-failover --urls U1,U2,U3 --pids n1=PID1,n2=PID2,n3=PID3 --trial T
//! nats-client-peers --workload kv-put|kv-get --url nats://127.0.0.1:PORT --n N --size S
//! ```
//!
//! Prints exactly one JSON object on stdout; diagnostics go to stderr. A `ws://` or `wss://`
//! URL runs the workload over the server's `websocket { }` port; the line then says
//! `"transport":"ws"` (otherwise `"tcp"`), so a ws and a tcp run of one workload compare
//! directly.

mod js;
mod kv;
mod obj;
mod reconnect;
mod workloads;

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Map, Value};

/// Errors of a run, printed on stderr.
type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Subjects fixed by the harness so every driver sends the same bytes.
const SUBJ_PUB: &str = "bench.pub";
const SUBJ_PUBSUB: &str = "bench.pubsub";
const SUBJ_REQ: &str = "bench.req";

/// `--key value` arguments.
struct Args(HashMap<String, String>);

impl Args {
    fn parse() -> Res<Args> {
        let mut kv = HashMap::new();
        let mut it = std::env::args().skip(1);
        while let Some(arg) = it.next() {
            let key = arg
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument {arg:?}"))?;
            match key.split_once('=') {
                Some((k, v)) => kv.insert(k.to_string(), v.to_string()),
                None => {
                    let v = it.next().ok_or_else(|| format!("--{key} needs a value"))?;
                    kv.insert(key.to_string(), v)
                }
            };
        }
        Ok(Args(kv))
    }

    fn str(&self, key: &str, default: &str) -> String {
        self.0
            .get(key)
            .cloned()
            .unwrap_or_else(|| default.to_string())
    }

    /// A switch: `--key 1|true|on|yes`.
    fn flag(&self, key: &str) -> bool {
        self.0
            .get(key)
            .is_some_and(|v| matches!(v.as_str(), "1" | "true" | "on" | "yes"))
    }

    fn num(&self, key: &str, default: u64) -> Res<u64> {
        match self.0.get(key) {
            None => Ok(default),
            Some(v) => Ok(v
                .replace('_', "")
                .parse()
                .map_err(|e| format!("--{key}: {e}"))?),
        }
    }
}

/// The fields every line carries.
fn base(workload: &str, n: u64, size: u64) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("client".into(), json!("nats-client"));
    m.insert("client_version".into(), json!(env!("CARGO_PKG_VERSION")));
    m.insert("workload".into(), json!(workload));
    m.insert("n".into(), json!(n));
    m.insert("size".into(), json!(size));
    m
}

/// The stream's next item, or `Err` after `stall` without one. Items the stream already holds
/// (its `size_hint`, as `Subscriber` reports its taken batch) are read without arming the timer:
/// a clock read per message would be the driver's cost, not the client's.
async fn next_or_stall<S: futures_util::Stream + Unpin>(
    stream: &mut S,
    stall: Duration,
) -> Result<Option<S::Item>, tokio::time::error::Elapsed> {
    use futures_util::StreamExt;
    if stream.size_hint().0 > 0 {
        Ok(stream.next().await)
    } else {
        tokio::time::timeout(stall, stream.next()).await
    }
}

fn round(x: f64, digits: i32) -> f64 {
    let p = 10f64.powi(digits);
    (x * p).round() / p
}

/// secs, msgs_per_s and mb_per_s (MB = 10^6 payload bytes).
fn add_rate(m: &mut Map<String, Value>, n: u64, size: u64, secs: f64) {
    m.insert("secs".into(), json!(round(secs, 6)));
    m.insert("msgs_per_s".into(), json!(round(n as f64 / secs, 1)));
    m.insert(
        "mb_per_s".into(),
        json!(round(n as f64 * size as f64 / secs / 1e6, 2)),
    );
}

fn main() {
    let args = match Args::parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("nats-client-peers: {e}");
            std::process::exit(2);
        }
    };
    // Default: a multi-thread runtime, as #[tokio::main] gives. `--runtime current-thread` is
    // the design data point the harness also records for async-nats (`async-nats-ct`).
    let built = match args.str("runtime", "multi-thread").as_str() {
        "current-thread" | "current" => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        _ => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
    };
    let rt = match built {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("nats-client-peers: runtime: {e}");
            std::process::exit(1);
        }
    };
    let result = rt.block_on(run(&args));
    rt.shutdown_timeout(Duration::from_millis(100));
    match result {
        Ok(m) => println!("{}", Value::Object(m)),
        Err(e) => {
            eprintln!("nats-client-peers: error: {e}");
            std::process::exit(1);
        }
    }
}

async fn run(args: &Args) -> Res<Map<String, Value>> {
    let url = args.str("url", "nats://127.0.0.1:4222");
    let n = args.num("n", 1_000_000)?;
    let size = args.num("size", 16)?;
    let ws = url.starts_with("ws://") || url.starts_with("wss://");
    let mut m = workload(args, &url, n, size).await?;
    m.insert("transport".into(), json!(if ws { "ws" } else { "tcp" }));
    Ok(m)
}

async fn workload(args: &Args, url: &str, n: u64, size: u64) -> Res<Map<String, Value>> {
    let url = url.to_string();
    match args.str("workload", "pub").as_str() {
        "pub" => workloads::publish(&url, n, size, args).await,
        "pubsub" => workloads::pubsub(&url, n, size, args).await,
        "reqrep" => workloads::reqrep(&url, n, size, args).await,
        "reconnect" => reconnect::run(args).await,
        "js-pub" => js::js_pub(&url, n, size).await,
        "js-pub-async" => js::js_pub_async(&url, n, size, args).await,
        "js-consume" => js::js_consume(&url, n, size, args).await,
        "js-failover" => js::js_failover(args).await,
        "kv-put" => kv::kv_put(&url, n, size).await,
        "kv-get" => kv::kv_get(&url, n, size).await,
        "obj-put" => obj::obj_put(&url, n, size).await,
        "obj-get" => obj::obj_get(&url, n, size).await,
        other => Err(format!("unsupported workload {other}").into()),
    }
}

/// SIGKILLs `pid` with kill(2) directly.
#[allow(unsafe_code)]
fn sigkill(pid: i32) -> Res<()> {
    // SAFETY: kill(2) takes plain integers and touches no memory of this process.
    let rc = unsafe { libc::kill(pid, libc::SIGKILL) };
    if rc == 0 {
        Ok(())
    } else {
        Err(format!("kill -9 {pid}: {}", std::io::Error::last_os_error()).into())
    }
}
