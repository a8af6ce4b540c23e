//! `natsc service ls|info|stats`: find NATS services (ADR-32, `$SRV` discovery) and show
//! their endpoints and counters, like the `nats micro` commands.

use std::time::Duration;

use clap::{Args, Subcommand};
use nats_client::service::{Discovery, Verb};
use serde_json::Value;

use crate::conn::ConnFlags;
use crate::error::{CliError, Result};
use crate::util::{human_duration, parse_duration};

/// NATS services: list, describe, show stats.
#[derive(Args)]
pub(crate) struct ServiceArgs {
    #[command(subcommand)]
    command: ServiceCommand,
}

#[derive(Subcommand)]
enum ServiceCommand {
    /// List the running service instances (PING): name, id, version
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Describe a service's instances (INFO): description, metadata, endpoints
    Info(TargetArgs),
    /// Show a service's counters per endpoint (STATS)
    Stats(TargetArgs),
}

#[derive(Args)]
struct LsArgs {
    /// Only instances of this service
    name: Option<String>,

    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct TargetArgs {
    /// Service name
    name: String,

    /// One instance's id
    id: Option<String>,

    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct Common {
    /// How long to wait for answers at most
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    timeout: Duration,

    /// The answers as a JSON array, as the services sent them
    #[arg(short, long)]
    json: bool,
}

/// Runs one `service` subcommand.
pub(crate) async fn run(args: ServiceArgs, conn: &ConnFlags) -> Result<()> {
    let target = conn.target()?;
    let client = conn.connect(conn.options()?, &target.urls).await?;
    let result = match args.command {
        ServiceCommand::Ls(a) => ls(&client, a).await,
        ServiceCommand::Info(a) => info(&client, a).await,
        ServiceCommand::Stats(a) => stats(&client, a).await,
    };
    client.close().await;
    result
}

/// The answers to `verb` as JSON values, sorted by name and id.
async fn ask(
    client: &nats_client::Client,
    verb: Verb,
    name: Option<&str>,
    id: Option<&str>,
    common: &Common,
) -> Result<Vec<Value>> {
    if common.timeout.is_zero() {
        return Err(CliError::msg("--timeout must be greater than zero"));
    }
    let raw = Discovery::new(client)
        .timeout(common.timeout)
        .raw(verb, name, id)
        .await
        .map_err(|e| {
            CliError::from(e).context(format!("service {}", verb.as_str().to_lowercase()))
        })?;
    let mut answers: Vec<Value> = raw
        .iter()
        .filter_map(|body| serde_json::from_slice(body).ok())
        .filter(Value::is_object)
        .collect();
    answers.sort_by(|a, b| {
        (text(&a["name"]), text(&a["id"])).cmp(&(text(&b["name"]), text(&b["id"])))
    });
    Ok(answers)
}

/// A JSON string field, or "" when absent or not a string.
fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn number(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

fn nobody(name: &str, id: Option<&str>) -> CliError {
    match id {
        Some(id) => CliError::msg(format!("no instance {id} of service {name:?} answered")),
        None => CliError::msg(format!("no instance of service {name:?} answered")),
    }
}

fn print_json(answers: &[Value]) -> Result<()> {
    super::stream::print_json(&answers)
}

async fn ls(client: &nats_client::Client, a: LsArgs) -> Result<()> {
    let answers = ask(client, Verb::Ping, a.name.as_deref(), None, &a.common).await?;
    if a.common.json {
        return print_json(&answers);
    }
    if answers.is_empty() {
        println!("No services found");
        return Ok(());
    }
    let width = |field: &str, min: usize| {
        answers
            .iter()
            .map(|v| text(&v[field]).len())
            .max()
            .unwrap_or(0)
            .max(min)
    };
    let (wn, wi) = (width("name", 4), width("id", 2));
    println!("{:<wn$}  {:<wi$}  version", "name", "id");
    for v in &answers {
        println!(
            "{:<wn$}  {:<wi$}  {}",
            text(&v["name"]),
            text(&v["id"]),
            text(&v["version"])
        );
    }
    Ok(())
}

/// `k=v, k=v`, or `-` for none.
fn metadata(v: &Value) -> String {
    match v.as_object() {
        Some(m) if !m.is_empty() => m
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
            .collect::<Vec<_>>()
            .join(", "),
        _ => "-".into(),
    }
}

fn endpoints(v: &Value) -> &[Value] {
    v["endpoints"].as_array().map_or(&[], Vec::as_slice)
}

async fn info(client: &nats_client::Client, a: TargetArgs) -> Result<()> {
    let answers = ask(
        client,
        Verb::Info,
        Some(&a.name),
        a.id.as_deref(),
        &a.common,
    )
    .await?;
    if answers.is_empty() {
        return Err(nobody(&a.name, a.id.as_deref()));
    }
    if a.common.json {
        return print_json(&answers);
    }
    for (i, v) in answers.iter().enumerate() {
        if i > 0 {
            println!();
        }
        println!(
            "Service {} {} (id {})",
            text(&v["name"]),
            text(&v["version"]),
            text(&v["id"])
        );
        println!("  description: {}", text(&v["description"]));
        println!("  metadata:    {}", metadata(&v["metadata"]));
        let eps = endpoints(v);
        if eps.is_empty() {
            println!("  no endpoints");
            continue;
        }
        let w = |f: &str, min: usize| {
            eps.iter()
                .map(|e| text(&e[f]).len())
                .max()
                .unwrap_or(0)
                .max(min)
        };
        let (wn, ws, wq) = (w("name", 8), w("subject", 7), w("queue_group", 11));
        println!(
            "  {:<wn$}  {:<ws$}  {:<wq$}  metadata",
            "endpoint", "subject", "queue group"
        );
        for e in eps {
            println!(
                "  {:<wn$}  {:<ws$}  {:<wq$}  {}",
                text(&e["name"]),
                text(&e["subject"]),
                text(&e["queue_group"]),
                metadata(&e["metadata"])
            );
        }
    }
    Ok(())
}

async fn stats(client: &nats_client::Client, a: TargetArgs) -> Result<()> {
    let answers = ask(
        client,
        Verb::Stats,
        Some(&a.name),
        a.id.as_deref(),
        &a.common,
    )
    .await?;
    if answers.is_empty() {
        return Err(nobody(&a.name, a.id.as_deref()));
    }
    if a.common.json {
        return print_json(&answers);
    }
    for (i, v) in answers.iter().enumerate() {
        if i > 0 {
            println!();
        }
        println!(
            "Service {} {} (id {}), started {}",
            text(&v["name"]),
            text(&v["version"]),
            text(&v["id"]),
            text(&v["started"])
        );
        let eps = endpoints(v);
        if eps.is_empty() {
            println!("  no endpoints");
            continue;
        }
        let wn = eps
            .iter()
            .map(|e| text(&e["name"]).len())
            .max()
            .unwrap_or(0)
            .max(8);
        println!(
            "  {:<wn$}  {:>8}  {:>6}  {:>10}  {:>10}  last error",
            "endpoint", "requests", "errors", "processing", "average"
        );
        for e in eps {
            let ns = |f: &str| human_duration(Duration::from_nanos(number(&e[f])));
            let last = match text(&e["last_error"]) {
                "" => "-",
                s => s,
            };
            println!(
                "  {:<wn$}  {:>8}  {:>6}  {:>10}  {:>10}  {last}",
                text(&e["name"]),
                number(&e["num_requests"]),
                number(&e["num_errors"]),
                ns("processing_time"),
                ns("average_processing_time"),
            );
        }
    }
    Ok(())
}
