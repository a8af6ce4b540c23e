//! `natsc reply SUBJECT [BODY]`: a responder that echoes, replies a fixed body, or runs a
//! command per request.

use std::process::Stdio;

use bytes::Bytes;
use clap::Args;
use nats_client::{Client, Message};
use tokio::io::AsyncWriteExt;

use super::Shutdown;
use crate::conn::ConnFlags;
use crate::error::{CliError, Result};
use crate::util::{check_queue, expand_bytes, parse_count};

/// Answer requests: echo them, reply BODY, or reply the output of a command.
#[derive(Args)]
pub(crate) struct ReplyArgs {
    /// Subject to answer on
    subject: String,

    /// Fixed reply body ("{{seq}}" becomes the request number) [default: echo the request]
    #[arg(conflicts_with = "command")]
    body: Option<String>,

    /// Run this shell command per request (through `sh -c`), the request on its stdin, and
    /// reply with its stdout
    #[arg(long)]
    command: Option<String>,

    /// Join this queue group, so several responders share the load
    #[arg(long, short)]
    queue: Option<String>,

    /// Exit after answering this many requests
    #[arg(long, value_parser = parse_count, allow_negative_numbers = true)]
    count: Option<u64>,
}

/// Answers until `--count` requests, ctrl-c or the connection closes.
pub(crate) async fn run(args: ReplyArgs, conn: &ConnFlags, mut shutdown: Shutdown) -> Result<()> {
    if let Some(q) = &args.queue {
        check_queue(q)?;
    }
    let options = conn.options()?;
    let target = conn.target()?;
    let client = conn.connect(options, &target.urls).await?;
    let mut sub = match &args.queue {
        Some(q) => client.queue_subscribe(&args.subject, q).await,
        None => client.subscribe(&args.subject).await,
    }
    .map_err(|e| CliError::from(e).context(format!("subscribe to {:?}", args.subject)))?;
    client
        .flush()
        .await
        .map_err(|e| CliError::from(e).context("flush"))?;
    let mode = match (&args.command, &args.body) {
        (Some(c), _) => format!("running {c:?}"),
        (None, Some(_)) => "replying a fixed body".to_string(),
        (None, None) => "echoing".to_string(),
    };
    eprintln!(
        "natsc: listening for requests on {:?} at {} ({mode})",
        args.subject, target.urls
    );

    let mut seq = 0u64;
    while args.count.is_none_or(|c| seq < c) {
        let Some(msg) = super::next_or_shutdown(&mut sub, &mut shutdown, &client).await? else {
            break;
        };
        let Some(reply_to) = msg.reply.clone() else {
            eprintln!(
                "natsc: message on {:?} has no reply subject; ignored",
                msg.subject.as_str()
            );
            continue;
        };
        seq += 1;
        let size = answer(&args, &client, seq, &msg, &reply_to).await?;
        println!(
            "[#{seq}] request on {:?} ({} bytes), replied {size} bytes",
            msg.subject.as_str(),
            msg.payload.len()
        );
    }
    client
        .flush()
        .await
        .map_err(|e| CliError::from(e).context("flush"))?;
    client.close().await;
    Ok(())
}

/// Sends the reply for one request; returns its size.
async fn answer(
    args: &ReplyArgs,
    client: &Client,
    seq: u64,
    msg: &Message,
    reply_to: &str,
) -> Result<usize> {
    let result = if let Some(command) = &args.command {
        let out = run_command(command, msg.payload.clone()).await?;
        let n = out.len();
        client.publish(reply_to, out).await.map(|()| n)
    } else if let Some(body) = &args.body {
        let out = expand_bytes(body.as_bytes(), seq);
        let n = out.len();
        client.publish(reply_to, out).await.map(|()| n)
    } else {
        let n = msg.payload.len();
        match &msg.headers {
            Some(h) if !h.is_empty() => {
                client
                    .publish_with_headers(reply_to, h.clone(), msg.payload.clone())
                    .await
            }
            _ => client.publish(reply_to, msg.payload.clone()).await,
        }
        .map(|()| n)
    };
    result.map_err(|e| CliError::from(e).context("reply"))
}

/// Runs `sh -c command` with `input` on stdin; its stdout. Its stderr passes through.
async fn run_command(command: &str, input: Bytes) -> Result<Bytes> {
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| CliError::from(e).context(format!("running {command:?}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        // Written concurrently with reading stdout, so a large request cannot deadlock.
        tokio::spawn(async move {
            let _ = stdin.write_all(&input).await;
        });
    }
    let out = child
        .wait_with_output()
        .await
        .map_err(|e| CliError::from(e).context(format!("running {command:?}")))?;
    if !out.status.success() {
        eprintln!(
            "natsc: {command:?} exited with {}; replying its output anyway",
            out.status
        );
    }
    Ok(Bytes::from(out.stdout))
}
