//! `natsc pub SUBJECT [BODY]`: publish one or more messages.

use std::time::Duration;

use clap::Args;

use super::Shutdown;
use crate::conn::ConnFlags;
use crate::error::{CliError, Result};
use crate::util::{
    body_or_stdin, expand_bytes, headers, parse_count, parse_duration, parse_header,
};

/// Publish messages to a subject.
#[derive(Args)]
pub(crate) struct PubArgs {
    /// Subject to publish to
    subject: String,

    /// Message body; read from stdin when absent or "-". "{{seq}}" (or "{{Count}}") becomes
    /// the message number, counting from 1; "{{Time}}" the current time
    body: Option<String>,

    /// Number of messages to publish
    #[arg(long, default_value_t = 1, value_parser = parse_count, allow_negative_numbers = true)]
    count: u64,

    /// Pause between two messages, e.g. 100ms or 1s (as the nats CLI's --sleep)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, conflicts_with = "rate")]
    sleep: Option<Duration>,

    /// Messages per second [default: as fast as possible]
    #[arg(long, value_name = "MSGS_PER_SEC")]
    rate: Option<f64>,

    /// Header as Key:Value (repeatable); the value may use the body's placeholders
    #[arg(short = 'H', long = "header", value_name = "K:V", value_parser = parse_header)]
    headers: Vec<(String, String)>,

    /// Reply subject to send with the messages
    #[arg(long)]
    reply: Option<String>,

    /// Print nothing on success
    #[arg(short, long)]
    quiet: bool,
}

/// Publishes, flushes, closes.
pub(crate) async fn run(args: PubArgs, conn: &ConnFlags, mut shutdown: Shutdown) -> Result<()> {
    let period = match args.rate {
        Some(r) if !(r.is_finite() && r > 0.0) => {
            return Err(CliError::msg("--rate must be a positive number"))
        }
        Some(r) => Some(Duration::from_secs_f64(1.0 / r)),
        None => args.sleep.filter(|d| !d.is_zero()),
    };
    let options = conn.options()?;
    let body = body_or_stdin(args.body.as_deref()).await?;
    let target = conn.target_or_local("pub").await?;
    let client = conn.connect(options, &target.urls).await?;

    let mut ticker = period.map(tokio::time::interval);
    let mut sent = 0u64;
    let mut bytes = 0usize;
    for seq in 1..=args.count {
        if let Some(t) = ticker.as_mut() {
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                _ = t.tick() => {}
            }
        }
        let payload = expand_bytes(&body, seq);
        bytes += payload.len();
        let hdrs = headers(&args.headers, seq)?;
        let result = match (&args.reply, hdrs) {
            (None, None) => client.publish(&args.subject, payload).await,
            (None, Some(h)) => client.publish_with_headers(&args.subject, h, payload).await,
            (Some(r), None) => client.publish_with_reply(&args.subject, r, payload).await,
            (Some(r), Some(h)) => {
                client
                    .publish_with_reply_and_headers(&args.subject, r, h, payload)
                    .await
            }
        };
        result.map_err(|e| CliError::from(e).context(format!("publish to {:?}", args.subject)))?;
        sent += 1;
    }
    client
        .flush()
        .await
        .map_err(|e| CliError::from(e).context("flush"))?;
    client.close().await;
    if !args.quiet {
        eprintln!(
            "natsc: published {sent} message{} ({bytes} bytes) to {:?}",
            if sent == 1 { "" } else { "s" },
            args.subject
        );
    }
    Ok(())
}
