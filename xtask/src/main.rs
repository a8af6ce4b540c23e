//! Project commands, run as `cargo xtask <command>`:
//!
//! - `cargo xtask test`: installs `nats-server` with apt when it is missing, then runs
//!   `cargo fmt --check`, `cargo clippy --all-targets -- -D warnings`, every test, every
//!   example (each must exit 0), and a fixed-time run of the two nats-proto fuzz targets
//!   (`parse` and `roundtrip`, 20 s each, after their build).
//! - `cargo xtask examples`: only the examples.
//! - `cargo xtask fuzz [SECONDS]`: only the fuzz run (default 20 s per target).
//! - `cargo xtask demo`: the main job, the live fail-over demo against a local 3-node cluster.

use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("demo") => demo(&args[1..]),
        Some("examples") => ensure_nats_server().and_then(|()| examples()),
        Some("fuzz") => match args.get(1).map(|s| s.parse::<u64>()) {
            None => fuzz(FUZZ_SECONDS),
            Some(Ok(secs)) => fuzz(secs),
            Some(Err(_)) => Err("usage: cargo xtask fuzz [SECONDS]".into()),
        },
        _ => {
            eprintln!(
                "usage: cargo xtask test | cargo xtask examples | cargo xtask demo [natsc demo flags] | cargo xtask fuzz [SECONDS]"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one command, failing with its name when it does not succeed.
fn run(program: &str, args: &[&str]) -> Result<(), String> {
    eprintln!("xtask: running {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .status()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{program} {} failed ({status})", args.join(" ")))
    }
}

fn has_nats_server() -> bool {
    if let Some(path) = std::env::var_os("NATS_SERVER_BIN") {
        return std::path::Path::new(&path).exists();
    }
    let on_path = Command::new("sh")
        .args(["-c", "command -v nats-server"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    on_path || std::path::Path::new("/usr/sbin/nats-server").exists()
}

/// Installs Debian's nats-server when no nats-server can be found.
fn ensure_nats_server() -> Result<(), String> {
    if has_nats_server() {
        return Ok(());
    }
    let sudo: &[&str] = if is_root() { &[] } else { &["sudo"] };
    let apt = |args: &[&str]| {
        let mut full: Vec<&str> = sudo.to_vec();
        full.push("apt-get");
        full.extend_from_slice(args);
        run(full[0], &full[1..])
    };
    apt(&["update", "-qq"])?;
    apt(&["install", "-y", "-qq", "nats-server"])?;
    if has_nats_server() {
        Ok(())
    } else {
        Err("nats-server is still missing after apt-get install".into())
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn test() -> Result<(), String> {
    ensure_nats_server()?;
    run("cargo", &["fmt", "--all", "--check"])?;
    run(
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    run("cargo", &["test", "--workspace", "--all-targets"])?;
    run("cargo", &["test", "--workspace", "--doc"])?;
    examples()?;
    fuzz(FUZZ_SECONDS)
}

/// How long one example may run before it counts as hung.
const EXAMPLE_TIMEOUT: Duration = Duration::from_secs(120);

/// Builds and runs every example of every crate under `crates/`; each must exit 0 in time.
fn examples() -> Result<(), String> {
    run("cargo", &["build", "--workspace", "--examples"])?;
    let mut ran = 0;
    for (package, example) in list_examples()? {
        let bin = format!("target/debug/examples/{example}");
        eprintln!("xtask: running example {package}/{example}");
        let mut child = Command::new(&bin)
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {bin}: {e}"))?;
        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if started.elapsed() > EXAMPLE_TIMEOUT => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "example {package}/{example} did not finish within {EXAMPLE_TIMEOUT:?}"
                    ));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(50)),
                Err(e) => return Err(format!("waiting for {bin}: {e}")),
            }
        };
        if !status.success() {
            return Err(format!("example {package}/{example} failed ({status})"));
        }
        ran += 1;
    }
    eprintln!("xtask: {ran} examples ran and exited 0");
    Ok(())
}

/// (package, example) for every `crates/*/examples/*.rs`.
fn list_examples() -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let crates = std::fs::read_dir("crates").map_err(|e| format!("cannot list crates/: {e}"))?;
    let mut dirs: Vec<_> = crates.filter_map(Result::ok).map(|e| e.path()).collect();
    dirs.sort();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir.join("examples")) else {
            continue;
        };
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml"))
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let package = manifest
            .lines()
            .find_map(|l| l.trim().strip_prefix("name = "))
            .map(|n| n.trim_matches('"').to_string())
            .ok_or_else(|| format!("no package name in {}", dir.display()))?;
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                name.strip_suffix(".rs").map(str::to_string)
            })
            .collect();
        names.sort();
        out.extend(names.into_iter().map(|n| (package.clone(), n)));
    }
    Ok(out)
}

/// Seconds each fuzz target runs in `cargo xtask test`.
const FUZZ_SECONDS: u64 = 20;

/// The nats-proto fuzz targets, run one after the other.
const FUZZ_TARGETS: [&str; 2] = ["parse", "roundtrip"];

/// Runs the nats-proto fuzz targets for `secs` seconds each. cargo-fuzz normally wants a nightly
/// toolchain; `RUSTC_BOOTSTRAP=1` lets the stable compiler accept its flags, and the sanitizer is
/// off because the crate forbids `unsafe` (a panic or a broken invariant is what we look for).
/// If cargo-fuzz cannot be installed the run is skipped with a message; a finding fails.
fn fuzz(secs: u64) -> Result<(), String> {
    let have = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !have && run("cargo", &["install", "cargo-fuzz", "--locked"]).is_err() {
        eprintln!("xtask: cargo-fuzz could not be installed; skipping the fuzz run");
        return Ok(());
    }
    let max_time = format!("-max_total_time={secs}");
    for target in FUZZ_TARGETS {
        eprintln!("xtask: fuzzing {target} for {secs} s");
        let status = Command::new("cargo")
            .args([
                "fuzz",
                "run",
                target,
                "--sanitizer",
                "none",
                "--",
                &max_time,
            ])
            .current_dir("crates/nats-proto")
            .env("RUSTC_BOOTSTRAP", "1")
            .status()
            .map_err(|e| format!("cannot start cargo fuzz: {e}"))?;
        if !status.success() {
            return Err(format!(
                "fuzz target {target} failed ({status}); the input is in crates/nats-proto/fuzz/artifacts/{target}/"
            ));
        }
    }
    Ok(())
}

fn demo(extra: &[String]) -> Result<(), String> {
    ensure_nats_server()?;
    // A debug build: the demo runs at a modest rate, and it shares its artifacts with `test`.
    // Not --quiet: a first build compiles every dependency, and cargo's progress shows it.
    eprintln!(
        "xtask: building natsc (the first build compiles every dependency and takes a few \
         minutes; cargo shows its progress)"
    );
    run("cargo", &demo_args(extra))
}

/// `cargo run` of the demo, without `--quiet`.
fn demo_args(extra: &[String]) -> Vec<&str> {
    let mut args = vec!["run", "-p", "natsc", "--", "demo"];
    args.extend(extra.iter().map(String::as_str));
    args
}

#[cfg(test)]
mod tests {
    //! The repository explains itself: what a fresh clone shows a newcomer.

    use std::path::{Path, PathBuf};
    use std::process::Command;

    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    fn read(path: &str) -> String {
        std::fs::read_to_string(root().join(path)).unwrap_or_default()
    }

    #[test]
    fn the_demo_build_shows_cargo_progress() {
        let extra = ["--duration".to_string(), "5s".to_string()];
        let args = demo_args(&extra);
        assert!(
            !args.contains(&"--quiet") && !args.contains(&"-q"),
            "{args:?}"
        );
        assert_eq!(args[..2], ["run", "-p"]);
        assert_eq!(args.last(), Some(&"5s"));
    }

    #[test]
    fn the_readme_states_the_fuzzing_time_as_it_is() {
        let readme = read("README.md");
        assert_eq!(FUZZ_TARGETS.len(), 2);
        let said = format!("the two parser targets\nfor {FUZZ_SECONDS} s each");
        assert!(readme.contains(&said), "README lacks {said:?}");
    }

    #[test]
    fn run_peers_without_the_harness_says_what_it_needs_in_one_line() {
        let out = Command::new("bash")
            .arg(root().join("bench/run-peers.sh"))
            .env("PEERS_SRC", "/nonexistent/peers")
            .output();
        let Ok(out) = out else {
            return; // no bash on this machine: nothing to run the script with
        };
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains("PEERS_SRC"), "{stderr}");
        assert!(!stderr.contains("cannot stat"), "{stderr}");
    }

    #[test]
    fn no_stray_files_in_the_root() {
        let entries = std::fs::read_dir(root()).map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        });
        let entries = entries.unwrap_or_default();
        assert!(!entries.is_empty());
        for name in &entries {
            assert!(
                !name.ends_with(".conf") && !name.ends_with(".log"),
                "stray {name} in the repository root"
            );
        }
    }

    #[test]
    fn bench_plots_in_the_tree_are_ignored() {
        let ignore = read(".gitignore");
        assert!(ignore.lines().any(|l| l.trim() == "*.svg"), "{ignore}");
        if root().join(".git").exists() {
            for path in ["latency.svg", "crates/natsc/latency.svg"] {
                let ignored = Command::new("git")
                    .args(["check-ignore", "-q", path])
                    .current_dir(root())
                    .status()
                    .map(|s| s.success());
                assert!(!matches!(ignored, Ok(false)), "{path} is not ignored");
            }
        }
    }

    #[test]
    fn the_docs_stand_alone() {
        let mut docs = vec!["README.md".to_string()];
        if let Ok(dir) = std::fs::read_dir(root().join("docs")) {
            for e in dir.filter_map(Result::ok) {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.ends_with(".md") {
                    docs.push(format!("docs/{name}"));
                }
            }
        }
        assert!(docs.contains(&"docs/architecture.md".to_string()));
        assert!(docs.contains(&"docs/behaviour.md".to_string()));
        let readme = read("README.md");
        for doc in ["docs/architecture.md", "docs/behaviour.md"] {
            assert!(readme.contains(doc), "README does not point to {doc}");
        }
        for doc in &docs {
            let text = read(doc);
            assert!(
                !text.contains("../shared") && !text.contains("shared/spec"),
                "{doc}"
            );
            // Every relative link resolves inside the repository.
            for link in text.split("](").skip(1) {
                let target = link.split(')').next().unwrap_or_default();
                let target = target.split('#').next().unwrap_or_default();
                if target.is_empty() || target.contains("://") {
                    continue;
                }
                let base = Path::new(doc).parent().unwrap_or(Path::new(""));
                let path = root().join(base).join(target);
                assert!(
                    path.exists(),
                    "{doc} links {target}, which is not in the repository"
                );
                assert!(!target.starts_with(".."), "{doc} links outside: {target}");
            }
            // Paths named in backticks exist.
            for quoted in text.split('`').skip(1).step_by(2) {
                let looks_like_path = (quoted.starts_with("docs/")
                    || quoted.starts_with("crates/")
                    || quoted.starts_with("bench/"))
                    && !quoted.contains(' ')
                    && !quoted.contains('*');
                if looks_like_path {
                    assert!(
                        root().join(quoted.trim_end_matches('/')).exists(),
                        "{doc} names {quoted}, which does not exist"
                    );
                }
            }
        }
    }
}
