//! `natsc server info|ping|run`: the connected server's INFO, a ping of every server (system
//! account), and a local development nats-server.

use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{Args, Subcommand};
use nats_testkit::ServerConfig;

use super::rtt::fmt_rtt;
use super::Shutdown;
use crate::conn::ConnFlags;
use crate::error::{CliError, Result};
use crate::util::parse_duration;

/// The system account's ping of every server.
const PING_SUBJECT: &str = "$SYS.REQ.SERVER.PING";

/// Server commands.
#[derive(Args)]
pub(crate) struct ServerArgs {
    #[command(subcommand)]
    command: ServerCommand,
}

#[derive(Subcommand)]
enum ServerCommand {
    /// Print the INFO the connected server sent (name, version, limits, TLS, JetStream...)
    Info {
        /// The INFO as pretty-printed JSON
        #[arg(long, short)]
        json: bool,
    },
    /// Ping every server of the cluster through the system account ($SYS.REQ.SERVER.PING);
    /// needs a user of the system account
    Ping {
        /// How many servers to expect (stop waiting once they answered) [default: the
        /// cluster size the first answer reports]
        expect: Option<u32>,
        /// How long to wait for answers
        #[arg(long, default_value = "2s", value_parser = parse_duration)]
        timeout: Duration,
    },
    /// Run a local nats-server for development (JetStream on, files in a temp dir removed on
    /// exit) until ctrl-c
    Run {
        /// Port to listen on, on 127.0.0.1
        #[arg(long, default_value_t = 4222)]
        port: u16,
        /// Without JetStream
        #[arg(long)]
        no_jetstream: bool,
    },
}

/// Runs a server subcommand.
pub(crate) async fn run(args: ServerArgs, conn: &ConnFlags, shutdown: Shutdown) -> Result<()> {
    match args.command {
        ServerCommand::Info { json } => info(conn, json).await,
        ServerCommand::Ping { expect, timeout } => ping(conn, expect, timeout).await,
        ServerCommand::Run { port, no_jetstream } => serve(port, !no_jetstream, shutdown).await,
    }
}

async fn info(conn: &ConnFlags, json: bool) -> Result<()> {
    let options = conn.options()?;
    let target = conn.target()?;
    let client = conn.connect(options, &target.urls).await?;
    let info = client.server_info();
    let url = client
        .connected_url()
        .unwrap_or_else(|| crate::util::shown_urls(&target.urls));
    client.close().await;
    if json {
        return super::stream::print_json(&info);
    }
    let yes = |b: bool| if b { "yes" } else { "no" };
    let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
    let rows: Vec<(&str, String)> = vec![
        ("Connected URL", url),
        ("Server name", info.server_name.clone()),
        ("Server ID", info.server_id.clone()),
        ("Version", info.version.clone()),
        ("Go", info.go.clone()),
        ("Git commit", opt(&info.git_commit)),
        ("Host", format!("{}:{}", info.host, info.port)),
        ("Protocol", info.proto.to_string()),
        ("Headers", yes(info.headers).into()),
        (
            "Max payload",
            crate::util::human_bytes(info.max_payload as u64),
        ),
        ("JetStream", yes(info.jetstream).into()),
        ("Auth required", yes(info.auth_required).into()),
        ("TLS required", yes(info.tls_required).into()),
        ("TLS available", yes(info.tls_available).into()),
        ("TLS verify", yes(info.tls_verify).into()),
        ("Lame duck mode", yes(info.ldm).into()),
        ("Cluster", opt(&info.cluster)),
        ("Domain", opt(&info.domain)),
        (
            "Client ID",
            info.client_id.map_or_else(|| "-".into(), |c| c.to_string()),
        ),
        ("Client IP", opt(&info.client_ip)),
        (
            "Connect URLs",
            if info.connect_urls.is_empty() {
                "-".into()
            } else {
                info.connect_urls.join(", ")
            },
        ),
    ];
    println!("Server information for {}\n", info.server_name);
    for (k, v) in rows {
        println!("  {k:>15}: {v}");
    }
    Ok(())
}

async fn ping(conn: &ConnFlags, expect: Option<u32>, timeout: Duration) -> Result<()> {
    use futures_util::StreamExt;
    let options = conn.options()?;
    let target = conn.target()?;
    let client = conn.connect(options, &target.urls).await?;
    let inbox = client.new_inbox();
    let mut sub = client.subscribe(&inbox).await?;
    let start = Instant::now();
    client
        .publish_with_reply(PING_SUBJECT, &inbox, Bytes::new())
        .await?;
    let deadline = tokio::time::Instant::now() + timeout;
    let mut expect = expect;
    let mut times = Vec::new();
    while expect.is_none_or(|n| (times.len() as u32) < n) {
        let msg = match tokio::time::timeout_at(deadline, sub.next()).await {
            Ok(Some(msg)) => msg,
            Ok(None) | Err(_) => break,
        };
        if let Some(status) = msg.status {
            client.close().await;
            return Err(CliError::msg(format!(
                "{PING_SUBJECT} answered with status {} ({}): pinging every server needs a user \
                 of the system account (--user/--creds); natsc rtt measures the round trip to \
                 the connected server",
                status.as_u16(),
                if status.as_u16() == 503 {
                    "no responders"
                } else {
                    msg.description().unwrap_or("")
                }
            )));
        }
        let rtt = start.elapsed();
        let v: serde_json::Value = serde_json::from_slice(&msg.payload).unwrap_or_default();
        let name = v["server"]["name"].as_str().unwrap_or("?");
        let id = v["server"]["id"].as_str().unwrap_or("?");
        if expect.is_none() {
            expect = v["statsz"]["active_servers"]
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n > 0);
        }
        println!("{name:<30} {id:<58} rtt={}", fmt_rtt(rtt));
        times.push(rtt);
    }
    client.close().await;
    if times.is_empty() {
        return Err(CliError::msg(format!(
            "no server answered {PING_SUBJECT} within {timeout:?}: it needs a user of the system \
             account (--user/--creds); natsc rtt measures the round trip to the connected server"
        )));
    }
    let max = times.iter().max().copied().unwrap_or_default();
    let min = times.iter().min().copied().unwrap_or_default();
    let avg = times.iter().sum::<Duration>() / times.len() as u32;
    println!(
        "\n---- ping statistics ----\n{} replies max: {} min: {} avg: {}",
        times.len(),
        fmt_rtt(max),
        fmt_rtt(min),
        fmt_rtt(avg)
    );
    if let Some(n) = expect {
        if (times.len() as u32) < n {
            return Err(CliError::msg(format!(
                "{} of {n} servers did not answer within {timeout:?}",
                n - times.len() as u32
            )));
        }
    }
    Ok(())
}

async fn serve(port: u16, jetstream: bool, shutdown: Shutdown) -> Result<()> {
    if port == 0 {
        return Err(CliError::msg("--port must be between 1 and 65535"));
    }
    let mut config = ServerConfig::new().port(port);
    if jetstream {
        config = config.jetstream();
    }
    let server = config.start().await.map_err(|e| {
        let e = CliError::from(e);
        if e.to_string().contains("address already in use") {
            CliError::msg(format!(
                "port {port} on 127.0.0.1 is already in use (another nats-server? pick one with \
                 --port)"
            ))
        } else {
            e.context("starting nats-server")
        }
    })?;
    if jetstream {
        server
            .wait_for_jetstream()
            .await
            .map_err(|e| CliError::from(e).context("waiting for JetStream"))?;
    }
    eprintln!(
        "natsc: nats-server listening at {}{}; its files go when it stops; ctrl-c stops it",
        server.url(),
        if jetstream { " with JetStream" } else { "" }
    );
    shutdown.await;
    drop(server);
    eprintln!("natsc: nats-server stopped");
    Ok(())
}
