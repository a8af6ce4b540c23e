//! `natsc`: a command-line client for NATS built on `nats-client`: publish, subscribe,
//! request, reply, watch connection events, benchmark, manage JetStream streams and consumers,
//! publish with acks, and a live fail-over demo (core NATS and JetStream).
//!
//! Layout: `conn.rs` maps the connection flags onto `ConnectOptions`; `cmd/` has one file per
//! command (arguments, run, print); `util.rs` holds flag parsers and the body template.

mod cmd;
mod conn;
mod error;
mod util;

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::Parser;

/// A command-line client for NATS: pub, sub, req, reply, events, bench, JetStream (stream,
/// consumer, js), Key-Value (kv) and a live fail-over demo.
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
        Err(e) => return usage_error(e),
    };
    match cmd::run(cli.command, cli.conn, Box::pin(ctrl_c())).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("natsc: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Help and version go to stdout as clap prints them; a usage error is one line.
fn usage_error(e: clap::Error) -> ExitCode {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::from(2)
        }
        _ => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("natsc: {first} (see natsc --help)");
            ExitCode::from(2)
        }
    }
}

/// Resolves on ctrl-c; never when the signal cannot be watched.
async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}
