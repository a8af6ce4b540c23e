//! A newcomer's first hour, end to end through the binary: every mistake met on the first try
//! is one line naming its cause with a non-zero exit; the commands users reach for in the
//! `nats` CLI (rtt, server info/ping/run, pub --count --sleep, sub --raw, req --timeout,
//! contexts) work against real nats-server processes.

#![allow(missing_docs)]
#![allow(clippy::unwrap_used)]

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use nats_testkit::{free_port, NatsServer, ServerConfig};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

mod common;

use common::{assert_one_line_failure, background, finish, output, text, BIN, WAIT};

/// `natsc args` with its configuration (contexts) in `config` and temp files in `tmp`.
fn natsc_in<S: AsRef<OsStr>>(config: &Path, args: &[S]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .env("XDG_CONFIG_HOME", config)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    c
}

async fn output_in<S: AsRef<OsStr> + std::fmt::Debug>(config: &Path, args: &[S]) -> Output {
    tokio::time::timeout(WAIT, natsc_in(config, args).output())
        .await
        .unwrap_or_else(|_| panic!("natsc {args:?} did not finish"))
        .unwrap()
}

async fn ok_in<S: AsRef<OsStr> + std::fmt::Debug>(config: &Path, args: &[S]) -> Output {
    let out = output_in(config, args).await;
    assert!(
        out.status.success(),
        "natsc {args:?}: {}{}",
        text(&out.stderr),
        text(&out.stdout)
    );
    out
}

/// Waits until `child`'s stderr has a line containing `ready`; returns that line.
async fn wait_line(child: &mut Child, ready: &str) -> String {
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let line = tokio::time::timeout(WAIT, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains(ready) {
                return line;
            }
        }
        panic!("natsc exited before saying {ready:?}");
    })
    .await
    .unwrap_or_else(|_| panic!("natsc never said {ready:?}"));
    // Keep draining stderr so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    line
}

fn sigterm(child: &Child) {
    let pid = child.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
}

async fn exit_of(child: &mut Child) -> std::process::ExitStatus {
    tokio::time::timeout(WAIT, child.wait())
        .await
        .expect("natsc did not exit")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_mistakes_name_their_cause_in_one_line() {
    // A missing positional argument: named, with the usage line.
    let out = output(&["pub"]).await;
    assert_one_line_failure(&out, "<SUBJECT>");
    assert!(
        text(&out.stderr).contains("usage: natsc pub"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(2));

    // An unknown bench mode: the valid ones listed.
    let out = output(&["bench", "flood"]).await;
    assert_one_line_failure(&out, "invalid value 'flood'");
    assert!(
        text(&out.stderr).contains("pub, sub, pubsub, reqrep"),
        "{}",
        text(&out.stderr)
    );

    // A negative count is a value error, not an unknown argument.
    for args in [
        &["pub", "x", "y", "--count", "-1"][..],
        &["sub", "x", "--count", "-1"],
        &["bench", "pub", "--msgs", "-5"],
    ] {
        let out = output(args).await;
        assert_one_line_failure(&out, "is negative");
        assert!(
            !text(&out.stderr).contains("unexpected argument"),
            "{args:?}"
        );
    }

    // -s '' is an invalid URL, not "could not connect to :".
    let out = output(&["-s", "", "pub", "x", "y"]).await;
    assert_one_line_failure(&out, "invalid server URL \"\"");

    // A queue group with a space: why it is wrong.
    let server = NatsServer::start().await.unwrap();
    let out = output(&["-s", &server.url(), "sub", "x", "--queue", "bad queue"]).await;
    assert_one_line_failure(&out, "whitespace is not allowed");
}

#[tokio::test(flavor = "multi_thread")]
async fn plot_into_a_missing_directory_fails_before_the_bench_runs() {
    let server = NatsServer::start().await.unwrap();
    let started = Instant::now();
    let out = output(&[
        "-s",
        &server.url(),
        "bench",
        "pubsub",
        "--msgs",
        "100000",
        "--plot",
        "/nonexistent-dir/latency.svg",
    ])
    .await;
    assert_one_line_failure(&out, "/nonexistent-dir does not exist");
    assert!(
        out.stdout.is_empty(),
        "the bench ran: {}",
        text(&out.stdout)
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread")]
async fn connection_refused_says_so_with_the_address() {
    let url = format!("nats://127.0.0.1:{}", free_port());
    let out = output(&["-s", &url, "req", "svc", "x"]).await;
    assert_one_line_failure(&out, "connection refused");
    assert!(text(&out.stderr).contains(&url), "{}", text(&out.stderr));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_tls_ca_file_is_reported_whatever_the_server_offers() {
    let plain = NatsServer::start().await.unwrap();
    let refused = format!("nats://127.0.0.1:{}", free_port());
    for url in [plain.url(), refused] {
        let out = output(&[
            "-s",
            &url,
            "--tls-ca",
            "/nonexistent/ca.pem",
            "pub",
            "x",
            "y",
        ])
        .await;
        assert_one_line_failure(&out, "--tls-ca /nonexistent/ca.pem");
        assert!(
            text(&out.stderr).contains("No such file"),
            "{}",
            text(&out.stderr)
        );
    }
}

/// A CA (optionally used as the server's own certificate) in a temp dir.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
        let dir = tempfile::tempdir().unwrap();
        let mut ca = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        ca.subject_alt_names
            .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "natsc test CA");
        let ca_key = KeyPair::generate().unwrap();
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca_cert.pem()).unwrap();
        std::fs::write(dir.path().join("ca-key.pem"), ca_key.serialize_pem()).unwrap();
        // A proper server certificate signed by the CA.
        let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        leaf.subject_alt_names
            .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = leaf
            .signed_by(&leaf_key, &Issuer::from_params(&ca, &ca_key))
            .unwrap();
        std::fs::write(dir.path().join("leaf.pem"), leaf.pem()).unwrap();
        std::fs::write(dir.path().join("leaf-key.pem"), leaf_key.serialize_pem()).unwrap();
        // A CA that signed nothing of the server's.
        let mut other = CertificateParams::new(Vec::<String>::new()).unwrap();
        other.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        other
            .distinguished_name
            .push(DnType::CommonName, "another CA");
        let other_key = KeyPair::generate().unwrap();
        let other = other.self_signed(&other_key).unwrap();
        std::fs::write(dir.path().join("other-ca.pem"), other.pem()).unwrap();
        Pki { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_verification_failures_are_said_in_words() {
    let pki = Pki::new();
    // The server presents the CA certificate itself.
    let server = ServerConfig::new()
        .extra(format!(
            "tls {{\n  cert_file: {:?}\n  key_file: {:?}\n  timeout: 2\n}}",
            pki.path("ca.pem"),
            pki.path("ca-key.pem")
        ))
        .start()
        .await
        .unwrap();
    let out = output(&[
        "-s",
        &server.url(),
        "--tls-ca",
        &pki.path("ca.pem"),
        "pub",
        "x",
        "y",
    ])
    .await;
    assert_one_line_failure(
        &out,
        "the server's certificate is a CA certificate, not a server certificate",
    );
    assert!(
        !text(&out.stderr).contains("Other("),
        "{}",
        text(&out.stderr)
    );

    // A proper server certificate, but the client trusts another CA: unknown issuer, in words.
    let server = ServerConfig::new()
        .extra(format!(
            "tls {{\n  cert_file: {:?}\n  key_file: {:?}\n  timeout: 2\n}}",
            pki.path("leaf.pem"),
            pki.path("leaf-key.pem")
        ))
        .start()
        .await
        .unwrap();
    let out = output(&[
        "-s",
        &server.url(),
        "--tls-ca",
        &pki.path("ca.pem"),
        "pub",
        "x",
        "y",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = output(&[
        "-s",
        &server.url(),
        "--tls-ca",
        &pki.path("other-ca.pem"),
        "pub",
        "x",
        "y",
    ])
    .await;
    assert_one_line_failure(&out, "not signed by a trusted CA");
}

#[tokio::test(flavor = "multi_thread")]
async fn sub_stopped_by_sigterm_removes_its_local_server_and_files() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tempfile::tempdir().unwrap();
    let mut child = natsc_in(config.path(), &["sub", "t.term"])
        .env("TMPDIR", tmp.path())
        .spawn()
        .unwrap();
    let line = wait_line(&mut child, "listening").await;
    assert!(line.contains("nats://127.0.0.1:"), "{line}");
    let leftovers = || std::fs::read_dir(tmp.path()).unwrap().count();
    if line.contains("127.0.0.1:4222") {
        // A server of someone else's listens at the default address: nothing was started.
        sigterm(&child);
        assert!(exit_of(&mut child).await.success());
        return;
    }
    assert_eq!(leftovers(), 1, "the local server's temp dir");
    sigterm(&child);
    let status = exit_of(&mut child).await;
    assert!(status.success(), "{status}");
    assert_eq!(leftovers(), 0, "temp dir left behind");
}

#[tokio::test(flavor = "multi_thread")]
async fn rtt_and_server_info_describe_the_connected_server() {
    let server = NatsServer::start().await.unwrap();
    let out = ok_in(
        Path::new("/nonexistent"),
        &["-s", &server.url(), "rtt", "3"],
    )
    .await;
    let line = text(&out.stdout);
    assert!(
        line.contains(&server.url()) && line.contains("rtt "),
        "{line}"
    );
    assert!(line.contains("average of 3 round trips"), "{line}");
    let out = ok_in(
        Path::new("/nonexistent"),
        &["-s", &server.url(), "rtt", "--json"],
    )
    .await;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["iterations"], 5);
    assert!(v["rtt_us"].as_f64().unwrap() > 0.0);

    let out = ok_in(
        Path::new("/nonexistent"),
        &["-s", &server.url(), "server", "info"],
    )
    .await;
    let info = text(&out.stdout);
    assert!(info.contains("Server information for"), "{info}");
    assert!(info.contains("Version") && info.contains("2."), "{info}");
    assert!(info.contains("Max payload: 1.0 MiB"), "{info}");
    let out = ok_in(
        Path::new("/nonexistent"),
        &["-s", &server.url(), "server", "info", "--json"],
    )
    .await;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["port"], server.port());
    assert!(
        text(&out.stdout).contains("\n  \"server_id\""),
        "pretty-printed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn server_ping_answers_for_a_system_user_and_explains_otherwise() {
    let server = ServerConfig::new()
        .extra(
            "accounts {\n  SYS { users [{user: sys, password: sys}] }\n  \
             APP { users [{user: app, password: app}] }\n}\nsystem_account: SYS",
        )
        .start()
        .await
        .unwrap();
    let url = server.url();
    let out = ok_in(
        Path::new("/nonexistent"),
        &[
            "-s",
            &url,
            "--user",
            "sys",
            "--password",
            "sys",
            "server",
            "ping",
        ],
    )
    .await;
    let stdout = text(&out.stdout);
    assert!(stdout.contains("rtt="), "{stdout}");
    assert!(stdout.contains("1 replies"), "{stdout}");

    let out = output(&[
        "-s",
        &url,
        "--user",
        "app",
        "--password",
        "app",
        "server",
        "ping",
        "--timeout",
        "1s",
    ])
    .await;
    assert_one_line_failure(&out, "system account");
}

#[tokio::test(flavor = "multi_thread")]
async fn server_run_serves_jetstream_until_sigterm() {
    let config = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("nats://127.0.0.1:{port}");
    let mut child = natsc_in(
        config.path(),
        &["server", "run", "--port", &port.to_string()],
    )
    .spawn()
    .unwrap();
    let line = wait_line(&mut child, "listening at").await;
    assert!(line.contains(&url) && line.contains("JetStream"), "{line}");
    let out = ok_in(config.path(), &["-s", &url, "server", "info", "--json"]).await;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["jetstream"], true);
    sigterm(&child);
    assert!(exit_of(&mut child).await.success());
    let out = output(&["-s", &url, "rtt"]).await;
    assert_one_line_failure(&out, "connection refused");
}

#[tokio::test(flavor = "multi_thread")]
async fn pub_count_sleep_paces_and_sub_raw_prints_payloads() {
    let server = NatsServer::start().await.unwrap();
    let url = server.url();
    let sub = background(
        &["-s", &url, "sub", "t.raw", "--raw", "--count", "3"],
        "listening",
    )
    .await;
    let started = Instant::now();
    let out = output(&[
        "-s",
        &url,
        "pub",
        "t.raw",
        "m {{seq}}",
        "--count",
        "3",
        "--sleep",
        "200ms",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(finish(sub).await, "m 1\nm 2\nm 3\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn req_timeout_is_the_deadline_for_the_reply() {
    let server = NatsServer::start().await.unwrap();
    let url = server.url();
    // A subscriber that never answers: the request waits for --timeout.
    let mut silent = background(&["-s", &url, "sub", "svc.slow"], "listening").await;
    let started = Instant::now();
    let out = output(&["-s", &url, "req", "svc.slow", "x", "--timeout", "300ms"]).await;
    assert_one_line_failure(&out, "timed out after 300ms");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(4),
        "{took:?}"
    );
    silent.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn bench_says_what_its_latency_measures_and_takes_a_rate() {
    let server = NatsServer::start().await.unwrap();
    let url = server.url();
    let out = output(&[
        "-s", &url, "bench", "pubsub", "--msgs", "200", "--size", "16",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("queued behind earlier messages"),
        "{stdout}"
    );
    assert!(stdout.contains("--rate"), "{stdout}");

    let started = Instant::now();
    let out = output(&[
        "-s", &url, "bench", "pubsub", "--msgs", "100", "--size", "16", "--rate", "500",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("at 500 msgs/s"), "{stdout}");
    assert!(
        started.elapsed() >= Duration::from_millis(190),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn contexts_add_select_use_override_and_remove() {
    let config = tempfile::tempdir().unwrap();
    let cfg = config.path();
    let server = ServerConfig::new()
        .user_password("alice", "s3cret")
        .start()
        .await
        .unwrap();
    let url = server.url();

    let out = ok_in(cfg, &["context", "ls"]).await;
    assert!(text(&out.stderr).contains("no contexts yet"));

    ok_in(
        cfg,
        &[
            "context",
            "add",
            "dev",
            "--server",
            &url,
            "--user",
            "alice",
            "--password",
            "s3cret",
            "--description",
            "local dev",
            "--select",
        ],
    )
    .await;
    ok_in(
        cfg,
        &["context", "add", "other", "--server", "nats://127.0.0.1:1"],
    )
    .await;
    let file = cfg.join("natsc/context/dev.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the file holds a password");
    }
    let ls = text(&ok_in(cfg, &["context", "ls"]).await.stdout);
    assert!(ls.contains("* dev") && ls.contains("local dev"), "{ls}");
    assert!(ls.contains("  other"), "{ls}");
    let info = text(&ok_in(cfg, &["context", "info"]).await.stdout);
    assert!(
        info.contains("(selected)") && info.contains("*****"),
        "{info}"
    );
    assert!(!info.contains("s3cret"), "{info}");

    // The selected context is the default: no -s, no --user, and the server's auth passes.
    let out = ok_in(cfg, &["rtt", "1"]).await;
    assert!(text(&out.stdout).contains(&url), "{}", text(&out.stdout));
    // --context picks another; flags override the context's values.
    let out = output_in(cfg, &["--context", "other", "rtt"]).await;
    assert_one_line_failure(&out, "nats://127.0.0.1:1");
    let out = output_in(cfg, &["--password", "wrong", "rtt"]).await;
    assert_one_line_failure(&out, "authorization");
    let out = output_in(cfg, &["--context", "nope", "rtt"]).await;
    assert_one_line_failure(&out, "unknown context \"nope\"");

    ok_in(cfg, &["context", "select", "other"]).await;
    assert!(text(&ok_in(cfg, &["context", "ls"]).await.stdout).contains("* other"));
    ok_in(cfg, &["context", "rm", "other", "-f"]).await;
    let out = output_in(cfg, &["context", "rm", "dev"]).await;
    assert_one_line_failure(&out, "--force");
    ok_in(cfg, &["context", "rm", "dev", "--force"]).await;
    assert!(!file.exists());
    let out = output_in(cfg, &["context", "info"]).await;
    assert_one_line_failure(&out, "no context selected");
}
