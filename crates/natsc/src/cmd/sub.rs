//! `natsc sub SUBJECT`: print the messages of a subscription.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::SystemTime;

use clap::Args;
use nats_client::{Message, SubscribeError};

use super::Shutdown;
use crate::conn::ConnFlags;
use crate::error::{CliError, Result};
use crate::util::{check_queue, parse_count, rfc3339};

/// Subscribe to a subject and print the messages.
#[derive(Args)]
pub(crate) struct SubArgs {
    /// Subject to subscribe to (wildcards * and > allowed)
    subject: String,

    /// Join this queue group: each message goes to one member
    #[arg(long, short)]
    queue: Option<String>,

    /// Exit after this many messages
    #[arg(long, value_parser = parse_count, allow_negative_numbers = true)]
    count: Option<u64>,

    /// One JSON object per message and line: subject, reply, headers, data, size, time
    #[arg(long)]
    json: bool,

    /// Print only the payloads, one per line
    #[arg(long, short, conflicts_with = "json")]
    raw: bool,
}

/// Subscribes, prints until `--count` messages, ctrl-c or the connection closes.
pub(crate) async fn run(args: SubArgs, conn: &ConnFlags, mut shutdown: Shutdown) -> Result<()> {
    if let Some(q) = &args.queue {
        check_queue(q)?;
    }
    let options = conn.options()?;
    let target = conn.target_or_local("sub").await?;
    let client = conn.connect(options, &target.urls).await?;
    let mut sub = match &args.queue {
        Some(q) => client.queue_subscribe(&args.subject, q).await,
        None => client.subscribe(&args.subject).await,
    }
    .map_err(|e| CliError::from(e).context(format!("subscribe to {:?}", args.subject)))?;
    // The server has the subscription once a flush returns: say "listening" only then.
    client
        .flush()
        .await
        .map_err(|e| CliError::from(e).context("flush"))?;
    // A refusal arrives before the flush's PONG.
    if let Some(refusal) = sub.permission_error() {
        client.close().await;
        return Err(CliError::from(SubscribeError::PermissionDenied(refusal))
            .context(format!("subscribe to {:?}", args.subject)));
    }
    eprintln!(
        "natsc: listening on {:?}{} at {}",
        args.subject,
        args.queue
            .as_ref()
            .map(|q| format!(" (queue {q:?})"))
            .unwrap_or_default(),
        crate::util::shown_urls(&target.urls)
    );

    let mut seen = 0u64;
    while args.count.is_none_or(|c| seen < c) {
        let Some(msg) = super::next_or_shutdown(&mut sub, &mut shutdown, &client).await? else {
            break;
        };
        seen += 1;
        print(&args, seen, &msg)?;
    }
    let _ = sub.unsubscribe().await;
    client.close().await;
    Ok(())
}

fn print(args: &SubArgs, seq: u64, msg: &Message) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.json {
        let line = to_json(seq, msg);
        writeln!(out, "{line}")?;
    } else if args.raw {
        out.write_all(&msg.payload)?;
        if !msg.payload.ends_with(b"\n") {
            writeln!(out)?;
        }
    } else {
        write!(out, "[#{seq}] received on {:?}", msg.subject.as_str())?;
        if let Some(r) = &msg.reply {
            write!(out, " with reply {:?}", r.as_str())?;
        }
        writeln!(out)?;
        if let Some(h) = &msg.headers {
            if let Some(s) = msg.status {
                writeln!(
                    out,
                    "status: {} {}",
                    s.as_u16(),
                    msg.description().unwrap_or("")
                )?;
            }
            for (k, v) in h.iter() {
                writeln!(out, "{k}: {v}")?;
            }
            writeln!(out)?;
        }
        out.write_all(&msg.payload)?;
        if !msg.payload.ends_with(b"\n") {
            writeln!(out)?;
        }
        writeln!(out)?;
    }
    out.flush()?;
    Ok(())
}

/// `{"seq","subject","reply","headers":{name:[values]},"data","size","time"}`; the data is
/// UTF-8 (invalid bytes replaced).
fn to_json(seq: u64, msg: &Message) -> serde_json::Value {
    let mut headers: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    if let Some(h) = &msg.headers {
        for (k, v) in h.iter() {
            headers.entry(k).or_default().push(v);
        }
    }
    let mut obj = serde_json::json!({
        "seq": seq,
        "subject": msg.subject.as_str(),
        "reply": msg.reply.as_ref().map(|r| r.as_str()),
        "headers": headers,
        "data": String::from_utf8_lossy(&msg.payload),
        "size": msg.payload.len(),
        "time": rfc3339(SystemTime::now()),
    });
    if let (Some(s), Some(map)) = (msg.status, obj.as_object_mut()) {
        map.insert("status".into(), s.as_u16().into());
    }
    obj
}
