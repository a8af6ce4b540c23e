//! The README's command-line section, followed line by line as a newcomer would: every
//! `natsc` line of its `sh` blocks runs, in the order written, against the `natsc server run`
//! its first line starts, and none fails. Long-running lines (the server, `sub`, `events`, a
//! line ending in `&`) run in the background as the README says to run them.

#![allow(missing_docs)]
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use nats_testkit::free_port;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

mod common;

use common::{text, BIN};

/// How long one README line may take (the bench line publishes 100 000 messages at 20 000/s).
const LINE: Duration = Duration::from_secs(90);

/// The `sh` lines of the README section `## The command-line tool`, comments removed.
fn readme_lines() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let readme = std::fs::read_to_string(path).unwrap();
    let start = readme
        .find("## The command-line tool")
        .expect("the CLI section");
    let section = &readme[start..];
    let end = section[3..].find("\n## ").map_or(section.len(), |i| i + 3);
    let mut lines = Vec::new();
    let mut in_sh = false;
    for line in section[..end].lines() {
        match line.trim() {
            "```sh" => in_sh = true,
            "```" => in_sh = false,
            l if in_sh && !l.is_empty() => lines.push(strip_comment(l).trim().to_string()),
            _ => {}
        }
    }
    lines
}

fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') => return &line[..i],
            _ => {}
        }
    }
    line
}

/// Splits a line into commands at `;` and each command into words, as sh would for these
/// simple lines (single and double quotes, no escapes).
fn commands(line: &str) -> Vec<Vec<String>> {
    let mut out = vec![Vec::new()];
    let mut word = String::new();
    let mut in_word = false;
    let mut quote = None;
    for c in line.chars() {
        match (quote, c) {
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, ';') | (None, ' ') => {
                if in_word {
                    out.last_mut().unwrap().push(std::mem::take(&mut word));
                    in_word = false;
                }
                if c == ';' {
                    out.push(Vec::new());
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.last_mut().unwrap().push(word);
    }
    out.retain(|c| !c.is_empty());
    out
}

struct Env {
    url: String,
    port: u16,
    config: tempfile::TempDir,
    cwd: tempfile::TempDir,
}

impl Env {
    fn command(&self, args: &[String]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .env("NATS_URL", &self.url)
            .env("XDG_CONFIG_HOME", self.config.path())
            .current_dir(self.cwd.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        c
    }

    fn cwd(&self) -> PathBuf {
        self.cwd.path().to_path_buf()
    }
}

async fn wait_stderr(child: &mut Child, ready: &str, what: &str) {
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    tokio::time::timeout(LINE, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains(ready) {
                return;
            }
        }
        panic!("{what} exited before saying {ready:?}");
    })
    .await
    .unwrap_or_else(|_| panic!("{what} never said {ready:?}"));
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
}

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_cli_lines_run_in_the_order_written() {
    let port = free_port();
    let env = Env {
        url: format!("nats://127.0.0.1:{port}"),
        port,
        config: tempfile::tempdir().unwrap(),
        cwd: tempfile::tempdir().unwrap(),
    };
    let lines = readme_lines();
    assert!(lines.len() >= 15, "{lines:?}");
    let mut server = None;
    let mut subscriber = None;
    let mut background = Vec::new();
    for line in &lines {
        let background_line = line.ends_with('&');
        let line = line.trim_end_matches('&').trim();
        for words in commands(line) {
            assert_eq!(
                words[0], "natsc",
                "README line {line:?} is not a natsc command"
            );
            let mut args: Vec<String> = words[1..]
                .iter()
                .map(|w| w.replace("127.0.0.1:4222", &format!("127.0.0.1:{}", env.port)))
                .collect();
            let what = format!("README line `{line}`");
            match (args[0].as_str(), args.get(1).map(String::as_str)) {
                ("server", Some("run")) => {
                    args.extend(["--port".to_string(), env.port.to_string()]);
                    let mut child = env.command(&args).spawn().unwrap();
                    wait_stderr(&mut child, "listening at", &what).await;
                    server = Some(child);
                }
                ("sub", _) => {
                    let mut child = env.command(&args).spawn().unwrap();
                    wait_stderr(&mut child, "listening", &what).await;
                    subscriber = Some(child);
                }
                ("events", _) => {
                    let mut child = env.command(&args).spawn().unwrap();
                    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
                    let first = tokio::time::timeout(LINE, out.next_line())
                        .await
                        .unwrap()
                        .unwrap()
                        .unwrap_or_default();
                    assert!(first.contains("connected to"), "{what}: {first}");
                    child.kill().await.unwrap();
                }
                ("reply", _) if background_line => {
                    let mut child = env.command(&args).spawn().unwrap();
                    wait_stderr(&mut child, "listening", &what).await;
                    background.push((what, child));
                }
                _ => {
                    let out = tokio::time::timeout(LINE, env.command(&args).output())
                        .await
                        .unwrap_or_else(|_| panic!("{what} did not finish"))
                        .unwrap();
                    assert!(
                        out.status.success(),
                        "{what} failed: {}{}",
                        text(&out.stderr),
                        text(&out.stdout)
                    );
                    assert!(
                        !text(&out.stderr).contains("started a local nats-server"),
                        "{what} did not use the README's server"
                    );
                }
            }
        }
    }
    // The one-request responder answered and exited by itself.
    for (what, mut child) in background {
        let status = tokio::time::timeout(LINE, child.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(status.success(), "{what}: {status}");
    }
    assert!(env.cwd().join("latency.svg").is_file(), "the bench's plot");
    // The subscriber saw the published orders.
    let mut subscriber = subscriber.expect("a sub line");
    subscriber.kill().await.unwrap();
    let mut seen = String::new();
    subscriber
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut seen)
        .await
        .unwrap();
    assert!(seen.contains("order 10"), "{seen}");
    let server = server.expect("a server run line");
    let pid = server.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let mut server = server;
    assert!(tokio::time::timeout(LINE, server.wait())
        .await
        .unwrap()
        .unwrap()
        .success());
}

#[test]
fn the_readme_line_splitter_reads_sh_quoting() {
    assert_eq!(
        commands("natsc pub a 'order {{seq}}' --count 1; natsc rtt"),
        vec![
            vec!["natsc", "pub", "a", "order {{seq}}", "--count", "1"],
            vec!["natsc", "rtt"]
        ]
    );
    assert_eq!(
        strip_comment("natsc sub 'a.#' # comment"),
        "natsc sub 'a.#' "
    );
}
