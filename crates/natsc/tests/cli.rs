//! End-to-end tests of the `natsc` binary against real `nats-server` processes.

#![allow(missing_docs)]
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use nats_testkit::{NatsServer, ServerConfig};
use tokio::io::{AsyncBufReadExt, BufReader};

mod common;

use common::{assert_one_line_failure, background, finish, natsc, output, text, WAIT};

#[tokio::test(flavor = "multi_thread")]
async fn pub_sub_round_trip() {
    let server = NatsServer::start().await.unwrap();
    let url = server.url();
    let sub = background(&["-s", &url, "sub", "t.round", "--count", "3"], "listening").await;
    let out = output(&["-s", &url, "pub", "t.round", "msg {{seq}}", "--count", "3"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("published 3 messages"));
    let got = finish(sub).await;
    for i in 1..=3 {
        assert!(got.contains(&format!("msg {i}")), "{got}");
    }
    assert!(got.contains("[#3] received on \"t.round\""), "{got}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sub_json_output_parses_with_headers() {
    let server = NatsServer::start().await.unwrap();
    let url = server.url();
    let sub = background(
        &[
            "--server", &url, "sub", "t.json.*", "--count", "2", "--json",
        ],
        "listening",
    )
    .await;
    let out = output(&[
        "-s",
        &url,
        "pub",
        "t.json.a",
        "body {{Count}}",
        "--count",
        "2",
        "-H",
        "X-Seq:{{seq}}",
        "-H",
        "X-App: natsc",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let got = finish(sub).await;
    let lines: Vec<serde_json::Value> = got
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{got}");
    assert_eq!(lines[0]["subject"], "t.json.a");
    assert_eq!(lines[1]["data"], "body 2");
    assert_eq!(lines[1]["size"], 6);
    assert_eq!(lines[1]["headers"]["X-Seq"][0], "2");
    assert_eq!(lines[0]["headers"]["X-App"][0], "natsc");
}

#[tokio::test(flavor = "multi_thread")]
async fn request_reply_echo_and_command() {
    let server = NatsServer::start().await.unwrap();
    let url = server.url();
    let echo = background(
        &["-s", &url, "reply", "svc.echo", "--count", "1"],
        "listening",
    )
    .await;
    let out = output(&["-s", &url, "req", "svc.echo", "ping"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "ping");
    finish(echo).await;

    let upper = background(
        &[
            "-s",
            &url,
            "reply",
            "svc.upper",
            "--queue",
            "q",
            "--count",
            "1",
            "--command",
            "tr a-z A-Z",
        ],
        "listening",
    )
    .await;
    let out = output(&["-s", &url, "req", "svc.upper", "hello", "--timeout", "5s"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "HELLO");
    finish(upper).await;

    // Nobody answers: one line, non-zero.
    let out = output(&["-s", &url, "req", "svc.none", "x", "--timeout", "1s"]).await;
    assert_one_line_failure(&out, "no responders");
}

#[tokio::test(flavor = "multi_thread")]
async fn events_prints_connected() {
    let server = NatsServer::start().await.unwrap();
    let mut child = natsc(&["-s", &server.url(), "events"]).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(line.contains("connected to nats://127.0.0.1"), "{line}");
    assert!(line.starts_with("20"), "timestamp first: {line}");
    child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn bench_json_has_the_fields() {
    let server = NatsServer::start().await.unwrap();
    let out = output(&[
        "-s",
        &server.url(),
        "bench",
        "pubsub",
        "--msgs",
        "500",
        "--size",
        "16",
        "--json",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["mode"], "pubsub");
    assert_eq!(v["publish"]["msgs"], 500);
    assert_eq!(v["subscribe"]["msgs"], 500);
    assert!(v["publish"]["msgs_per_sec"].as_f64().unwrap() > 0.0);
    assert_eq!(v["latency_us"]["count"], 500);
    for k in ["min", "p50", "p90", "p99", "p99_9", "max"] {
        assert!(v["latency_us"][k].is_number(), "{k} in {v}");
    }

    let out = output(&[
        "-s",
        &server.url(),
        "bench",
        "reqrep",
        "--msgs",
        "50",
        "--clients",
        "2",
        "--json",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["request"]["msgs"], 50);
    assert_eq!(v["latency_us"]["kind"], "round trip");
}

#[tokio::test(flavor = "multi_thread")]
async fn bench_plot_writes_svg_with_its_own_server() {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("natsc-plot-{}.svg", std::process::id()));
    let out = output(&[
        "bench",
        "pub",
        "--msgs",
        "200",
        "--plot",
        path.to_str().unwrap(),
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("started a local nats-server"));
    assert!(text(&out.stdout).contains("p99"));
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(svg.starts_with("<svg"), "{svg}");
    assert!(svg.contains("<polyline") && svg.trim_end().ends_with("</svg>"));
    let _ = std::fs::remove_file(path);
}

#[tokio::test(flavor = "multi_thread")]
async fn pub_without_server_starts_its_own() {
    let out = output(&["pub", "t.local", "hi"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("started a local nats-server at nats://127.0.0.1:"));
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_both_acts_core_loses_nothing_buffered_jetstream_exactly_once() {
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        natsc(&[
            "demo",
            "--duration",
            "6s",
            "--rate",
            "50",
            "--js-duration",
            "16s",
            "--js-interval",
            "5s",
        ])
        .output(),
    )
    .await
    .expect("demo did not finish")
    .unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    let (core, js) = stdout
        .split_once("== act 2: JetStream ==")
        .unwrap_or_else(|| panic!("no act 2 in {stdout}"));

    // Act 1, core NATS.
    assert!(core.contains("kill -9 node-"), "{stdout}");
    assert!(core.contains("publisher   disconnected"), "{stdout}");
    assert!(
        core.contains("publisher   reconnected to node-"),
        "{stdout}"
    );
    assert!(core.contains("summary after"), "{stdout}");
    let row = |name: &str| -> u64 {
        let line = core
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no {name} row in {stdout}"));
        line[2 + 18..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(row("lost"), 0, "{stdout}");
    assert_eq!(row("duplicates"), 0, "{stdout}");
    assert!(row("published") >= 200, "{stdout}");
    assert!(row("received") > 0, "{stdout}");
    assert!(row("reconnects") >= 1, "{stdout}");

    // Act 2, JetStream: the leader killed, restarted, lame-ducked; exactly once.
    assert!(
        js.contains("kill -9 node-") && js.contains("(leader of stream DEMO)"),
        "{stdout}"
    );
    assert!(js.contains("is led by node-"), "{stdout}");
    assert!(js.contains("restart node-"), "{stdout}");
    assert!(js.contains("lame duck node-"), "{stdout}");
    let summary = js
        .split_once("summary of act 2")
        .unwrap_or_else(|| panic!("no act 2 summary in {stdout}"))
        .1;
    // Rows: name (up to two words), core column, JetStream column, note.
    let js_row = |name: &str| -> u64 {
        let line = summary
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no {name} row in {stdout}"));
        let cells: Vec<&str> = line[2 + name.len()..].split_whitespace().collect();
        cells[1]
            .parse()
            .unwrap_or_else(|_| panic!("{name}: {line}"))
    };
    let published = js_row("published");
    assert!(published >= 400, "{stdout}");
    assert_eq!(js_row("acked"), published, "{stdout}");
    assert_eq!(js_row("in the stream"), published, "{stdout}");
    assert_eq!(js_row("received"), published, "{stdout}");
    assert_eq!(js_row("lost"), 0, "{stdout}");
    assert_eq!(js_row("duplicates"), 0, "{stdout}");
    assert_eq!(js_row("errors surfaced"), 0, "{stdout}");
    assert!(summary.contains("exactly once"), "{stdout}");
}

/// A subscription the account may not make ends `natsc sub` with one line naming the refusal
/// (exit 1), and a password given in the URL is never printed.
#[tokio::test(flavor = "multi_thread")]
async fn sub_refused_by_permissions_is_one_line_and_hides_the_password() {
    let server = ServerConfig::new()
        .extra(
            r#"authorization { users = [ { user: "limited", password: "s3cret",
                 permissions: { subscribe: { allow: ["ok.>", "_INBOX.>"] } } } ] }"#,
        )
        .start()
        .await
        .unwrap();
    let url = format!("nats://limited:s3cret@127.0.0.1:{}", server.port());
    let out = output(&["-s", &url, "sub", "secret.x"]).await;
    assert_one_line_failure(
        &out,
        "Permissions Violation for Subscription to \"secret.x\"",
    );
    assert_eq!(out.status.code(), Some(1));
    // a wrong password: the failure names the server, password masked
    let wrong = format!("nats://limited:n0t-it@127.0.0.1:{}", server.port());
    let refused = output(&["-s", &wrong, "sub", "ok.x"]).await;
    assert_one_line_failure(&refused, "authorization failed");
    let said = text(&refused.stderr);
    assert!(
        said.contains("limited:***@") && !said.contains("n0t-it"),
        "{said}"
    );
    // the listening line shows the URL with the password masked (and never as typed)
    let child = background(&["-s", &url, "sub", "ok.x", "--count", "1"], "limited:***@").await;
    let pubbed = output(&["-s", &url, "pub", "ok.x", "hi"]).await;
    assert!(pubbed.status.success(), "{}", text(&pubbed.stderr));
    let got = finish(child).await;
    assert!(got.contains("hi"), "{got}");
    assert!(!got.contains("s3cret"), "{got}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_ends_with_one_line() {
    let out = output(&["pub", "--frobnicate", "x"]).await;
    assert_one_line_failure(&out, "unexpected argument '--frobnicate'");
    assert_eq!(out.status.code(), Some(2));

    let out = output(&["-s", "nats://:bad:url", "pub", "x", "y"]).await;
    assert_one_line_failure(&out, "invalid server URL");

    let out = output(&[
        "-s",
        "nats://127.0.0.1:1",
        "--connection-timeout",
        "200ms",
        "req",
        "x",
        "y",
    ])
    .await;
    assert_one_line_failure(&out, "could not connect to nats://127.0.0.1:1");

    let out = output(&["--reconnect-wait", "soon", "events"]).await;
    assert_one_line_failure(&out, "not a duration");

    let server = ServerConfig::new()
        .user_password("alice", "s3cret")
        .start()
        .await
        .unwrap();
    let out = output(&[
        "-s",
        &server.url(),
        "--user",
        "alice",
        "--password",
        "wrong",
        "pub",
        "x",
        "y",
    ])
    .await;
    assert_one_line_failure(&out, "authorization");
    let out = output(&[
        "-s",
        &server.url(),
        "--user",
        "alice",
        "--password",
        "s3cret",
        "pub",
        "x",
        "y",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = output(&[
        "-s",
        &server.url(),
        "--creds",
        "/nonexistent.creds",
        "pub",
        "x",
        "y",
    ])
    .await;
    assert_one_line_failure(&out, "credentials");
    let out = output(&["-s", &server.url(), "--tls-cert", "c.pem", "pub", "x", "y"]).await;
    assert_one_line_failure(&out, "--tls-cert needs --tls-key");
}
