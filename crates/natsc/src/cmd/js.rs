//! `natsc js pub|info`: publish to a stream and print the PubAcks (J6–J9), and the account's
//! JetStream usage (J1, J2).

use std::collections::VecDeque;

use clap::{Args, Subcommand};
use nats_jetstream::{ErrorCode, PubAckFuture, Publish, PublishError};

use super::stream::section;
use crate::conn::ConnFlags;
use crate::error::{js_error, CliError, Result};
use crate::util::{body_or_stdin, expand, expand_bytes, human_bytes, parse_header};

/// Publishes in flight at once with `--count`: enough to pipeline, few enough that a refusal
/// stops the run soon.
const WINDOW: usize = 256;

/// JetStream: publish with acks, account information.
#[derive(Args)]
pub(crate) struct JsArgs {
    #[command(subcommand)]
    command: JsCommand,
}

#[derive(Subcommand)]
enum JsCommand {
    /// Publish to a stream and print each PubAck (stream, sequence, duplicate)
    Pub(PubArgs),
    /// Print the account's JetStream usage
    Info(InfoArgs),
}

#[derive(Args)]
struct PubArgs {
    /// Subject to publish to (a stream must store it)
    subject: String,

    /// Message body; read from stdin when absent or "-". "{{seq}}" (or "{{Count}}") becomes
    /// the message number, counting from 1; "{{Time}}" the current time
    body: Option<String>,

    /// Number of messages to publish
    #[arg(long, default_value_t = 1)]
    count: u64,

    /// Message id (Nats-Msg-Id) for de-duplication; may use the body's placeholders, e.g.
    /// order-{{seq}} [default: a unique id per message]
    #[arg(long, value_name = "ID")]
    msg_id: Option<String>,

    /// Fail unless the subject is stored by this stream
    #[arg(long, value_name = "STREAM")]
    expect_stream: Option<String>,

    /// Fail unless the stream's last sequence is this one
    #[arg(long, value_name = "SEQUENCE")]
    expect_last_seq: Option<u64>,

    /// Fail unless the last sequence on this subject is this one
    #[arg(long, value_name = "SEQUENCE")]
    expect_last_subject_seq: Option<u64>,

    /// Fail unless the stream's last message id is this one
    #[arg(long, value_name = "ID")]
    expect_last_msg_id: Option<String>,

    /// Header as Key:Value (repeatable); the value may use the body's placeholders
    #[arg(short = 'H', long = "header", value_name = "K:V", value_parser = parse_header)]
    headers: Vec<(String, String)>,

    /// One JSON object per PubAck: n, stream, seq, duplicate, domain
    #[arg(short, long)]
    json: bool,

    /// Print nothing on success
    #[arg(short, long, conflicts_with = "json")]
    quiet: bool,
}

#[derive(Args)]
struct InfoArgs {
    /// The info as the server's JSON
    #[arg(short, long)]
    json: bool,
}

/// Runs a `js` subcommand.
pub(crate) async fn run(args: JsArgs, conn: &ConnFlags) -> Result<()> {
    match args.command {
        JsCommand::Pub(a) => publish(a, conn).await,
        JsCommand::Info(a) => info(a, conn).await,
    }
}

async fn publish(a: PubArgs, conn: &ConnFlags) -> Result<()> {
    let body = body_or_stdin(a.body.as_deref()).await?;
    let (client, js, urls) = conn.jetstream().await?;
    let result = publish_all(&a, &body, &js, &urls).await;
    let _ = client.flush().await;
    client.close().await;
    let (stored, duplicates, stream) = result?;
    if !a.quiet && !a.json {
        eprintln!(
            "natsc: {} message{} acknowledged by stream {}{}",
            stored + duplicates,
            if stored + duplicates == 1 { "" } else { "s" },
            stream.as_deref().unwrap_or("-"),
            if duplicates > 0 {
                format!(
                    " ({duplicates} duplicate{})",
                    if duplicates == 1 { "" } else { "s" }
                )
            } else {
                String::new()
            }
        );
    }
    Ok(())
}

/// Publishes `--count` messages with at most [`WINDOW`] acks outstanding and prints the acks
/// in order; the first refusal ends it. Returns (stored, duplicates, stream).
async fn publish_all(
    a: &PubArgs,
    body: &[u8],
    js: &nats_jetstream::Context,
    urls: &str,
) -> Result<(u64, u64, Option<String>)> {
    let mut pending: VecDeque<(u64, PubAckFuture)> = VecDeque::new();
    let (mut stored, mut duplicates, mut stream) = (0u64, 0u64, None);
    let mut next = 1u64;
    while next <= a.count || !pending.is_empty() {
        if next <= a.count && pending.len() < WINDOW {
            let publish = message(a, body, next);
            let ack = js
                .send_publish(&a.subject, publish)
                .await
                .map_err(|e| CliError::from(e).context(format!("js pub to {:?}", a.subject)))?;
            pending.push_back((next, ack));
            next += 1;
            continue;
        }
        let Some((n, ack)) = pending.pop_front() else {
            break;
        };
        let ack = match ack.await {
            Ok(ack) => ack,
            Err(e) => return Err(refused(e, n, a, js, urls).await),
        };
        if ack.duplicate {
            duplicates += 1;
        } else {
            stored += 1;
        }
        if a.json {
            println!(
                "{}",
                serde_json::json!({
                    "n": n,
                    "stream": ack.stream,
                    "seq": ack.sequence,
                    "duplicate": ack.duplicate,
                    "domain": ack.domain,
                })
            );
        } else if !a.quiet {
            if ack.duplicate {
                println!(
                    "#{n} duplicate: stream {} already has it at sequence {}",
                    ack.stream, ack.sequence
                );
            } else {
                println!(
                    "#{n} stored in stream {} at sequence {}",
                    ack.stream, ack.sequence
                );
            }
        }
        stream = Some(ack.stream);
    }
    Ok((stored, duplicates, stream))
}

/// Message `n`: the body and headers expanded, the id and expectations.
fn message(a: &PubArgs, body: &[u8], n: u64) -> Publish {
    let mut p = Publish::build().payload(expand_bytes(body, n));
    for (k, v) in &a.headers {
        p = p.header(k, expand(v, n));
    }
    if let Some(id) = &a.msg_id {
        p = p.message_id(expand(id, n));
    }
    if let Some(s) = &a.expect_stream {
        p = p.expected_stream(s);
    }
    if let Some(s) = a.expect_last_seq {
        p = p.expected_last_sequence(s);
    }
    if let Some(s) = a.expect_last_subject_seq {
        p = p.expected_last_subject_sequence(s);
    }
    if let Some(id) = &a.expect_last_msg_id {
        p = p.expected_last_message_id(id);
    }
    p
}

/// The one line for a publish the stream refused or nobody stored.
async fn refused(
    e: PublishError,
    n: u64,
    a: &PubArgs,
    js: &nats_jetstream::Context,
    urls: &str,
) -> CliError {
    let what = format!("js pub #{n} to {:?}", a.subject);
    match e {
        PublishError::Api(api) => {
            let hint = match api.err_code {
                ErrorCode::WRONG_LAST_SEQUENCE => {
                    " (--expect-last-seq / --expect-last-subject-seq did not match)"
                }
                ErrorCode::WRONG_LAST_MSG_ID => " (--expect-last-msg-id did not match)",
                ErrorCode::STREAM_NOT_MATCH => " (--expect-stream did not match)",
                _ => "",
            };
            CliError::msg(format!(
                "{what}: refused by the stream: {} (err_code {}){hint}; not stored",
                api.description, api.err_code
            ))
        }
        // No responders: no stream stores the subject, or no JetStream at all.
        PublishError::NoStream { .. } => match js.account_info().await {
            Err(nats_jetstream::Error::JetStreamNotEnabled) => {
                js_error(nats_jetstream::Error::JetStreamNotEnabled, urls).context(what)
            }
            _ => CliError::msg(format!(
                "{what}: no stream stores this subject (see natsc stream ls); not stored"
            )),
        },
        other => CliError::from(other).context(what),
    }
}

async fn info(a: InfoArgs, conn: &ConnFlags) -> Result<()> {
    let (client, js, urls) = conn.jetstream().await?;
    let result = js.account_info().await;
    client.close().await;
    let info = result.map_err(|e| js_error(e, &urls).context("js info"))?;
    if a.json {
        return super::stream::print_json(&info);
    }
    section(
        "JetStream account usage",
        &[
            ("streams", info.streams.to_string()),
            ("consumers", info.consumers.to_string()),
            ("memory", human_bytes(info.memory)),
            ("storage", human_bytes(info.storage)),
            ("domain", info.domain.clone().unwrap_or_else(|| "-".into())),
        ],
    );
    Ok(())
}
