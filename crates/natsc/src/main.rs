//! `natsc`: a command-line client for NATS built on `nats-client`: publish, subscribe,
//! request, reply, watch connection events, benchmark, manage JetStream streams and consumers,
//! publish with acks, and a live fail-over demo (core NATS and JetStream).
//!
//! Layout: `conn.rs` maps the connection flags onto `ConnectOptions`; `context.rs` keeps the
//! named connection profiles; `cmd/` has one file per command (arguments, run, print);
//! `util.rs` holds flag parsers and the body template; `usage.rs` turns clap's errors into one
//! line.

mod cmd;
mod conn;
mod context;
mod error;
mod usage;
mod util;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tokio::sync::watch;

/// How long a command may take to finish by itself after ctrl-c or SIGTERM before it is
/// dropped (which still stops the nats-server processes it started and removes their files).
const SIGNAL_GRACE: Duration = Duration::from_secs(3);

/// A command-line client for NATS: pub, sub, req, reply, events, rtt, server, bench,
/// JetStream (stream, consumer, js), Key-Value (kv), Object Store (object), services,
/// named contexts and a live fail-over demo.
#[derive(Parser)]
#[command(
    name = "natsc",
    version,
    propagate_version = true,
    max_term_width = 100
)]
struct Cli {
    #[command(flatten)]
    conn: conn::ConnFlags,

    #[command(subcommand)]
    command: cmd::Command,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> ExitCode {
    // Whatever happens, the user gets one line, never a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".to_string());
        eprintln!("natsc: internal error: {}", msg.replace('\n', " "));
    }));

    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage::exit(e),
    };
    // Signals are watched from the start, for every command: ctrl-c and SIGTERM both ask the
    // command to stop; one that does not within SIGNAL_GRACE is dropped, so whatever it
    // started (a local nats-server and its temp dir) is cleaned up either way.
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        signal().await;
        let _ = tx.send(true);
    });
    let stop = {
        let mut rx = rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let mut grace = rx;
    let result = tokio::select! {
        r = cmd::run(cli.command, cli.conn, Box::pin(stop)) => r,
        () = async {
            let _ = grace.wait_for(|s| *s).await;
            tokio::time::sleep(SIGNAL_GRACE).await;
        } => Err(error::CliError::msg("interrupted")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("natsc: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves on ctrl-c (SIGINT) or SIGTERM; never when neither can be watched.
async fn signal() {
    let term = async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            match signal(SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        }
        #[cfg(not(unix))]
        std::future::pending::<()>().await
    };
    let int = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        () = term => {}
        () = int => {}
    }
}
