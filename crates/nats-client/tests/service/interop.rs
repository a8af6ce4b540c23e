//! Interop with nats.go's `micro` package (Debian's golang-github-nats-io-go-nats-dev, built
//! offline in GOPATH mode): a Go client finds and monitors our service through micro's
//! control subjects and reads our error headers with micro's constants; our [`Discovery`]
//! finds a Go micro service and calls it. Skipped, with the reason printed, when Go or the
//! nats.go sources are not installed.
//!
//! Debian's nats.go (1.22) ships micro's first, pre-`v1` schema: its responses carry no
//! `type` and no `metadata`, its info has a single `subject`, its stats are flat. Our reading
//! side accepts that; the Go side decodes our `v1` responses into its own types.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use nats_client::service::{Discovery, Service, ERROR_CODE_HEADER, ERROR_HEADER};
use nats_testkit::NatsServer;
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::util::{expect, within};

/// Where Debian installs Go packages' sources.
const GOPATH: &str = "/usr/share/gocode";

/// The Go toolchain: `go` on the PATH, or Debian's.
fn go_binary() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("go"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        ["/usr/lib/go/bin/go", "/usr/local/go/bin/go"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
    })
}

/// Runs `cmd` to completion off the runtime's threads.
async fn run(mut cmd: Command) -> std::io::Result<Output> {
    tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
}

/// A child process killed (and reaped) when the test ends, however it ends.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

static PEER: OnceCell<Result<PathBuf, String>> = OnceCell::const_new();

/// The Go peer, built once per test run; `Err(reason)` when it cannot be.
async fn peer() -> &'static Result<PathBuf, String> {
    PEER.get_or_init(|| async {
        let go = go_binary().ok_or("Go is not installed (no `go` on PATH or /usr/lib/go)")?;
        let micro = Path::new(GOPATH).join("src/github.com/nats-io/nats.go/micro");
        if !micro.is_dir() {
            return Err(format!(
                "nats.go micro sources not found at {} (apt-get install golang-github-nats-io-go-nats-dev)",
                micro.display()
            ));
        }
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("micro_peer");
        let bin = dir.join("micro_peer");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/service/go/micro_peer.go");
        let mut build = Command::new(&go);
        build
            .arg("build")
            .arg("-o")
            .arg(&bin)
            .arg(&src)
            .env("GO111MODULE", "off")
            .env("GOFLAGS", "")
            .env("GOPROXY", "off")
            .env("GOPATH", GOPATH)
            .env("GOCACHE", dir.join("gocache"));
        let out = run(build)
            .await
            .map_err(|e| format!("running {}: {e}", go.display()))?;
        if !out.status.success() {
            // Go is there but the peer does not build: that is a failure, not a skip.
            panic!(
                "building the Go micro peer failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(bin)
    })
    .await
}

macro_rules! peer_or_skip {
    () => {
        match peer().await {
            Ok(bin) => bin,
            Err(reason) => {
                eprintln!("skipping the nats.go micro interop test: {reason}");
                return;
            }
        }
    };
}

/// A nats.go client asks our service through `micro.ControlSubject` (PING by name, INFO and
/// STATS by name and id), decodes the answers into micro's `Ping`, `Info` and `Stats`, and
/// reads an error response with `micro.ErrorHeader` / `micro.ErrorCodeHeader`.
#[tokio::test]
async fn a_go_micro_client_discovers_our_service() {
    let bin = peer_or_skip!();
    let server = NatsServer::start().await.unwrap();
    let client = nats_client::connect(server.url()).await.unwrap();
    let svc = Service::builder("rsvc", "1.2.3")
        .description("from rust")
        .start(&client)
        .await
        .unwrap();
    svc.group("rs")
        .endpoint("calc")
        .handler(|r| async move {
            let _ = r.error(418, "rust says no", "kettle".into()).await;
        })
        .await
        .unwrap();
    client.flush().await.unwrap();

    let mut discover = Command::new(bin);
    discover.args(["discover", &server.url(), "rsvc", svc.id(), "rs.calc"]);
    // The peer's own requests time out after 5 s each.
    let out = within("the Go peer", run(discover)).await.unwrap();
    assert!(
        out.status.success(),
        "go peer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        seen["ping"],
        serde_json::json!({"name": "rsvc", "id": svc.id(), "version": "1.2.3"})
    );
    assert_eq!(seen["ping_type"], "io.nats.micro.v1.ping_response");
    assert_eq!(seen["info_name"], "rsvc");
    assert_eq!(seen["info_id"], svc.id());
    assert_eq!(seen["info_description"], "from rust");
    assert_eq!(seen["info_type"], "io.nats.micro.v1.info_response");
    assert_eq!(seen["info_endpoints"][0]["subject"], "rs.calc");
    assert_eq!(seen["info_endpoints"][0]["queue_group"], "q");
    assert_eq!(seen["stats_id"], svc.id());
    assert_eq!(seen["stats_version"], "1.2.3");
    assert_eq!(seen["stats_type"], "io.nats.micro.v1.stats_response");
    assert_eq!(seen["stats_endpoints"][0]["name"], "calc");
    assert_eq!(seen["error_header"], "rust says no");
    assert_eq!(seen["error_code_header"], "418");
    assert_eq!(seen["error_body"], "kettle");
    let stats = svc.stats();
    assert_eq!(stats.endpoints[0].num_errors, 1);
    assert_eq!(stats.endpoints[0].last_error, "418:rust says no");
}

/// Our `Discovery` finds a nats.go micro service (its pre-v1 answers read leniently), and
/// our client calls it and reads its micro error headers.
#[tokio::test]
async fn our_discovery_finds_a_go_micro_service() {
    let bin = peer_or_skip!();
    let server = NatsServer::start().await.unwrap();
    let mut child = Reaped(
        Command::new(bin)
            .args(["serve", &server.url()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let ready = within(
        "the Go service",
        tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).map(|_| line)
        }),
    )
    .await
    .unwrap()
    .unwrap();
    let id = ready
        .trim_end()
        .strip_prefix("ready ")
        .unwrap_or_else(|| panic!("the Go peer said {ready:?}"))
        .to_string();

    let client = nats_client::connect(server.url()).await.unwrap();
    let pings = expect(&client, 1).ping(None, None).await.unwrap();
    assert_eq!(pings.len(), 1);
    assert_eq!(
        (
            pings[0].name.as_str(),
            pings[0].id.as_str(),
            pings[0].version.as_str()
        ),
        ("gosvc", id.as_str(), "0.9.1")
    );
    let info = Discovery::new(&client)
        .info(Some("gosvc"), Some(&id))
        .await
        .unwrap();
    assert_eq!(info[0].description, "from go");
    let stats = Discovery::new(&client)
        .stats(Some("gosvc"), Some(&id))
        .await
        .unwrap();
    assert_eq!(stats[0].id, id);
    assert!(!stats[0].started.is_empty());

    assert_eq!(
        client
            .request("go.echo", "hi".into())
            .await
            .unwrap()
            .payload,
        "hi"
    );
    let no = client.request("go.echo", "fail".into()).await.unwrap();
    let headers = no.headers.as_ref().unwrap();
    assert_eq!(headers.get(ERROR_HEADER), Some("go says no"));
    assert_eq!(headers.get(ERROR_CODE_HEADER), Some("418"));
    assert_eq!(no.payload, "teapot");

    // Closing its stdin makes the peer stop its service and exit.
    drop(child.0.stdin.take());
    let mut child = child;
    let status = within(
        "the Go peer to exit",
        tokio::task::spawn_blocking(move || child.0.wait()),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(status.success());
}
