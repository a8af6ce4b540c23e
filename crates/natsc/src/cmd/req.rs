//! `natsc req SUBJECT [BODY]`: one request, its reply on stdout.

use std::io::Write;
use std::time::Duration;

use clap::Args;
use nats_client::RequestError;

use super::Shutdown;
use crate::conn::ConnFlags;
use crate::error::{CliError, Result};
use crate::util::{body_or_stdin, expand_bytes, headers, parse_duration, parse_header};

/// Send a request and print the reply.
#[derive(Args)]
pub(crate) struct ReqArgs {
    /// Subject to send the request to
    subject: String,

    /// Request body; read from stdin when absent or "-"
    body: Option<String>,

    /// How long to wait for the reply
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    timeout: Duration,

    /// Header as Key:Value (repeatable)
    #[arg(short = 'H', long = "header", value_name = "K:V", value_parser = parse_header)]
    headers: Vec<(String, String)>,
}

/// Sends the request; the reply's headers and body go to stdout.
pub(crate) async fn run(args: ReqArgs, conn: &ConnFlags, mut shutdown: Shutdown) -> Result<()> {
    let options = conn.options()?.request_timeout(args.timeout);
    let body = body_or_stdin(args.body.as_deref()).await?;
    if args.timeout.is_zero() {
        return Err(CliError::msg("--timeout must be greater than zero"));
    }
    let target = conn.target()?;
    let client = conn.connect(options, &target.urls).await?;
    let payload = expand_bytes(&body, 1);
    let request = async {
        match headers(&args.headers, 1)? {
            Some(h) => {
                Ok::<_, CliError>(client.request_with_headers(&args.subject, h, payload).await)
            }
            None => Ok(client
                .request_with_timeout(&args.subject, payload, args.timeout)
                .await),
        }
    };
    let reply = tokio::select! {
        r = request => r?,
        () = &mut shutdown => return Err(CliError::msg("interrupted")),
    };
    let reply = reply.map_err(|e| match e {
        RequestError::NoResponders => CliError::msg(format!("no responders on {:?}", args.subject)),
        other => CliError::from(other).context(format!("request to {:?}", args.subject)),
    })?;
    client.close().await;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if let Some(h) = &reply.headers {
        for (k, v) in h.iter() {
            writeln!(out, "{k}: {v}")?;
        }
        writeln!(out)?;
    }
    out.write_all(&reply.payload)?;
    if !reply.payload.ends_with(b"\n") {
        writeln!(out)?;
    }
    out.flush()?;
    Ok(())
}
