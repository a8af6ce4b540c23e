//! `natsc rtt [ITERATIONS]`: the round-trip time to the server (PING/PONG), as `nats rtt`.

use std::time::Duration;

use clap::Args;

use super::Shutdown;
use crate::conn::ConnFlags;
use crate::error::{CliError, Result};
use crate::util::parse_count;

/// Measure the round-trip time to the connected server.
#[derive(Args)]
pub(crate) struct RttArgs {
    /// How many round trips to average
    #[arg(default_value_t = 5, value_parser = parse_count, allow_negative_numbers = true)]
    iterations: u64,

    /// Print the result as JSON: url, server, iterations, rtt_us and every sample
    #[arg(long, short)]
    json: bool,
}

/// Connects, does `iterations` PING/PONG round trips, prints the average.
pub(crate) async fn run(args: RttArgs, conn: &ConnFlags, mut shutdown: Shutdown) -> Result<()> {
    let options = conn.options()?;
    let target = conn.target()?;
    let client = conn.connect(options, &target.urls).await?;
    let mut samples = Vec::new();
    for _ in 0..args.iterations {
        let rtt = tokio::select! {
            biased;
            () = &mut shutdown => break,
            r = client.rtt() => r.map_err(|e| CliError::from(e).context("rtt"))?,
        };
        samples.push(rtt);
    }
    let url = client
        .connected_url()
        .unwrap_or_else(|| crate::util::shown_urls(&target.urls));
    let name = client.server_info().server_name;
    client.close().await;
    if samples.is_empty() {
        return Err(CliError::msg("interrupted before the first round trip"));
    }
    let total: Duration = samples.iter().sum();
    let avg = total / samples.len() as u32;
    if args.json {
        let json = serde_json::json!({
            "url": url,
            "server": name,
            "iterations": samples.len(),
            "rtt_us": avg.as_secs_f64() * 1e6,
            "samples_us": samples.iter().map(|d| d.as_secs_f64() * 1e6).collect::<Vec<_>>(),
        });
        println!("{json}");
    } else {
        println!(
            "{url} ({name}): rtt {} (average of {} round trips)",
            fmt_rtt(avg),
            samples.len()
        );
    }
    Ok(())
}

/// A round-trip time: "212.4µs", "1.53ms", "2.100s".
pub(crate) fn fmt_rtt(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.1}µs")
    } else if us < 1e6 {
        format!("{:.2}ms", us / 1000.0)
    } else {
        format!("{:.3}s", us / 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtts_read_well() {
        assert_eq!(fmt_rtt(Duration::from_micros(212)), "212.0µs");
        assert_eq!(fmt_rtt(Duration::from_micros(1530)), "1.53ms");
        assert_eq!(fmt_rtt(Duration::from_millis(2100)), "2.100s");
    }
}
