//! Helpers shared by the test binaries: run `natsc`, wait for its lines, check failures.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::fmt::Debug;
use std::process::{Output, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_natsc");
pub(crate) const WAIT: Duration = Duration::from_secs(15);

pub(crate) fn natsc<S: AsRef<OsStr>>(args: &[S]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    c
}

pub(crate) async fn output<S: AsRef<OsStr> + Debug>(args: &[S]) -> Output {
    tokio::time::timeout(WAIT, natsc(args).output())
        .await
        .unwrap_or_else(|_| panic!("natsc {args:?} did not finish"))
        .unwrap()
}

/// Starts `natsc args` in the background and waits until its stderr has a line containing
/// `ready`.
pub(crate) async fn background(args: &[&str], ready: &str) -> Child {
    let mut child = natsc(args).spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    tokio::time::timeout(WAIT, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains(ready) {
                return;
            }
        }
        panic!("natsc {args:?} exited before saying {ready:?}");
    })
    .await
    .unwrap_or_else(|_| panic!("natsc {args:?} never said {ready:?}"));
    child
}

/// Waits for `child` to exit; its stdout.
pub(crate) async fn finish(mut child: Child) -> String {
    let mut out = String::new();
    let mut stdout = child.stdout.take().unwrap();
    tokio::time::timeout(WAIT, stdout.read_to_string(&mut out))
        .await
        .expect("background natsc did not finish")
        .unwrap();
    let status = tokio::time::timeout(WAIT, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "exit {status}, stdout {out}");
    out
}

pub(crate) fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A failure: non-zero exit, exactly one line on stderr, no panic.
pub(crate) fn assert_one_line_failure(out: &Output, expect: &str) {
    let err = text(&out.stderr);
    assert!(!out.status.success(), "expected failure, got {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "stderr: {err:?}");
    assert!(!err.contains("panicked"), "stderr: {err}");
    assert!(
        err.to_lowercase().contains(&expect.to_lowercase()),
        "stderr {err:?} lacks {expect:?}"
    );
}

/// Runs `natsc args`, which must succeed, and returns its stdout.
pub(crate) async fn ok<S: AsRef<OsStr> + Debug>(args: &[S]) -> String {
    let out = output(args).await;
    assert!(
        out.status.success(),
        "natsc {args:?} failed: {}{}",
        text(&out.stderr),
        text(&out.stdout)
    );
    text(&out.stdout)
}

/// Runs `natsc args`, which must succeed, and parses its stdout as one JSON value.
pub(crate) async fn json<S: AsRef<OsStr> + Debug>(args: &[S]) -> serde_json::Value {
    let stdout = ok(args).await;
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("natsc {args:?}: {e}: {stdout}"))
}

/// `-s URL` and then `rest`: the arguments of one natsc run against a server.
pub(crate) fn with_server(url: &str, rest: &[&str]) -> Vec<String> {
    ["-s", url]
        .iter()
        .chain(rest)
        .map(|a| a.to_string())
        .collect()
}
