//! End-to-end tests of `natsc object add|put|get|info|ls|rm|watch|seal` against a real
//! JetStream-enabled `nats-server` (J25–J27).

#![allow(missing_docs)]
#![allow(clippy::unwrap_used)]

mod common;

use common::{assert_one_line_failure, background, json, ok, output, with_server};
use nats_testkit::NatsServer;

/// A fresh directory for one test's files.
fn scratch_dir(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("natsc-object-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 13 % 251) as u8).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn object_add_put_get_info_ls_rm() {
    let server = NatsServer::start_jetstream().await.unwrap();
    let url = server.url();
    let s = |rest: &[&str]| with_server(&url, rest);
    let dir = scratch_dir("main");
    let file = dir.join("photo.bin");
    std::fs::write(&file, data(300_000)).unwrap();
    let file = file.to_str().unwrap().to_string();

    let status = json(&s(&[
        "object",
        "add",
        "FILES",
        "--storage",
        "memory",
        "--ttl",
        "1h",
        "--description",
        "pics",
        "--json",
    ]))
    .await;
    assert_eq!(status["bucket"], "FILES");
    assert_eq!(status["stream"], "OBJ_FILES");
    assert_eq!(status["storage"], "memory");
    assert_eq!(status["ttl"], 3_600_000_000_000u64);

    // put: the name defaults to the file's name; --name overrides.
    let info = json(&s(&["object", "put", "FILES", &file, "--json"])).await;
    assert_eq!(info["name"], "photo.bin");
    assert_eq!(info["size"], 300_000);
    assert_eq!(info["chunks"], 3, "128 KiB chunks");
    let text = ok(&s(&[
        "object",
        "put",
        "FILES",
        &file,
        "--name",
        "copy.bin",
        "--chunk-size",
        "64KiB",
    ]))
    .await;
    assert!(
        text.contains("Stored copy.bin") && text.contains("5 chunks"),
        "{text}"
    );

    // get: to a file with -O, or to stdout.
    let out = dir.join("back.bin");
    ok(&s(&[
        "object",
        "get",
        "FILES",
        "photo.bin",
        "-O",
        out.to_str().unwrap(),
    ]))
    .await;
    assert_eq!(std::fs::read(&out).unwrap(), data(300_000));
    let raw = output(&s(&["object", "get", "FILES", "copy.bin"])).await;
    assert!(raw.status.success());
    assert_eq!(raw.stdout, data(300_000));

    let info = json(&s(&["object", "info", "FILES", "photo.bin", "--json"])).await;
    assert_eq!(info["size"], 300_000);
    assert!(info["digest"].as_str().unwrap().starts_with("SHA-256="));
    let text = ok(&s(&["object", "info", "FILES", "photo.bin"])).await;
    assert!(text.contains("chunks: 3"), "{text}");
    let text = ok(&s(&["object", "info", "FILES"])).await;
    assert!(
        text.contains("OBJ_FILES") && text.contains("ttl: 1h"),
        "{text}"
    );

    let names = ok(&s(&["object", "ls", "FILES", "--names"])).await;
    assert_eq!(names.lines().collect::<Vec<_>>(), ["copy.bin", "photo.bin"]);
    let table = ok(&s(&["object", "ls", "FILES"])).await;
    assert!(
        table.contains("photo.bin") && table.contains("293.0 KiB"),
        "{table}"
    );
    let buckets = json(&s(&["object", "ls", "--json"])).await;
    assert_eq!(buckets, serde_json::json!(["FILES"]));

    // rm needs -f without a terminal.
    let out = output(&s(&["object", "rm", "FILES", "copy.bin"])).await;
    assert_one_line_failure(&out, "needs --force");
    ok(&s(&["object", "rm", "FILES", "copy.bin", "-f"])).await;
    let out = output(&s(&["object", "get", "FILES", "copy.bin"])).await;
    assert_one_line_failure(&out, "not found");
    ok(&s(&["object", "rm", "FILES", "-f"])).await;
    let out = output(&s(&["object", "info", "FILES"])).await;
    assert_one_line_failure(&out, "bucket \"FILES\" not found");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn object_bad_input_is_one_line() {
    let server = NatsServer::start_jetstream().await.unwrap();
    let url = server.url();
    let s = |rest: &[&str]| with_server(&url, rest);
    assert_one_line_failure(
        &output(&s(&["object", "add", "bad.name"])).await,
        "invalid bucket name",
    );
    ok(&s(&["object", "add", "B"])).await;
    assert_one_line_failure(
        &output(&s(&["object", "put", "B", "/no/such/file"])).await,
        "no such file",
    );
    assert_one_line_failure(&output(&s(&["object", "put", "B", "-"])).await, "--name");
    assert_one_line_failure(
        &output(&s(&["object", "get", "B", "nothing"])).await,
        "not found",
    );
    assert_one_line_failure(
        &output(&s(&["object", "get", "NOPE", "x"])).await,
        "not found",
    );
    assert_one_line_failure(&output(&s(&["object", "seal", "B"])).await, "needs --force");

    // Without JetStream: one clear line.
    let plain = NatsServer::start().await.unwrap();
    let out = output(&with_server(&plain.url(), &["object", "ls"])).await;
    assert_one_line_failure(&out, "JetStream is not enabled");
}

#[tokio::test(flavor = "multi_thread")]
async fn object_watch_and_seal() {
    let server = NatsServer::start_jetstream().await.unwrap();
    let url = server.url();
    let s = |rest: &[&str]| with_server(&url, rest);
    ok(&s(&["object", "add", "W", "--storage", "memory"])).await;
    let dir = scratch_dir("watch");
    let file = dir.join("a.txt");
    std::fs::write(&file, b"hello").unwrap();
    let file = file.to_str().unwrap().to_string();

    let watch_args = s(&["object", "watch", "W"]);
    let watch_args: Vec<&str> = watch_args.iter().map(String::as_str).collect();
    let mut watcher = background(&watch_args, "Watching bucket W").await;
    ok(&s(&["object", "put", "W", &file])).await;
    ok(&s(&["object", "rm", "W", "a.txt", "--force"])).await;
    // Two lines, then stop the watcher (it runs until interrupted).
    let mut stdout = tokio::io::BufReader::new(watcher.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..2 {
        let mut line = String::new();
        tokio::time::timeout(
            common::WAIT,
            tokio::io::AsyncBufReadExt::read_line(&mut stdout, &mut line),
        )
        .await
        .unwrap()
        .unwrap();
        lines.push(line);
    }
    assert!(lines[0].contains("a.txt PUT 5 B in 1 chunks"), "{lines:?}");
    assert!(lines[1].contains("a.txt DEL"), "{lines:?}");
    watcher.start_kill().unwrap();
    let _ = watcher.wait().await;

    ok(&s(&["object", "seal", "W", "-f"])).await;
    let status = json(&s(&["object", "info", "W", "--json"])).await;
    assert_eq!(status["sealed"], true);
    let out = output(&s(&["object", "put", "W", &file])).await;
    assert_one_line_failure(&out, "sealed");
    let _ = std::fs::remove_dir_all(&dir);
}
