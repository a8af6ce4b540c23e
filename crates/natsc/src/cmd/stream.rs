//! `natsc stream add|info|ls|rm|purge|get`: JetStream streams, with the `nats` CLI's verbs and
//! flags (J4, J5).

use std::io::{IsTerminal, Write};
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use futures_util::StreamExt;
use nats_jetstream::stream::{self, DiscardPolicy, RetentionPolicy, StorageType};

use crate::conn::ConnFlags;
use crate::error::{js_error, CliError, Result};
use crate::util::{human_bytes, human_duration, parse_limit_duration, parse_limit_size, rfc3339};

/// JetStream stream management.
#[derive(Args)]
pub(crate) struct StreamArgs {
    #[command(subcommand)]
    command: StreamCommand,
}

#[derive(Subcommand)]
enum StreamCommand {
    /// Create a stream
    #[command(visible_alias = "create")]
    Add(AddArgs),
    /// Print a stream's configuration, state and cluster placement
    Info(InfoArgs),
    /// List the streams
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Delete a stream and its messages
    #[command(visible_alias = "delete")]
    Rm(RmArgs),
    /// Remove messages from a stream, all or some, keeping the stream
    Purge(PurgeArgs),
    /// Print one stored message, by sequence or the last on a subject
    Get(GetArgs),
}

/// `--storage`.
#[derive(Clone, Copy, ValueEnum)]
enum Storage {
    File,
    Memory,
}

/// `--retention`.
#[derive(Clone, Copy, ValueEnum)]
enum Retention {
    Limits,
    Interest,
    #[value(alias = "work", alias = "workqueue")]
    Workq,
}

/// `--discard`.
#[derive(Clone, Copy, ValueEnum)]
enum Discard {
    Old,
    New,
}

#[derive(Args)]
struct AddArgs {
    /// Stream name
    name: String,

    /// Subjects the stream stores, comma-separated or repeated [default: the stream name]
    #[arg(long, value_delimiter = ',', value_name = "SUBJECTS")]
    subjects: Vec<String>,

    /// Storage backend
    #[arg(long, value_enum, default_value = "file")]
    storage: Storage,

    /// Copies of each message in a cluster
    #[arg(long, default_value_t = 1)]
    replicas: usize,

    /// When messages are removed: by limits, once every consumer acked, or once one did
    #[arg(long, value_enum, default_value = "limits")]
    retention: Retention,

    /// What a full stream discards: the oldest messages, or the new one (the publish fails)
    #[arg(long, value_enum, default_value = "old")]
    discard: Discard,

    /// Most messages kept; -1 for no limit
    #[arg(long, default_value_t = -1, allow_negative_numbers = true, value_name = "N")]
    max_msgs: i64,

    /// Most messages kept per subject; -1 for no limit
    #[arg(long, default_value_t = -1, allow_negative_numbers = true, value_name = "N")]
    max_msgs_per_subject: i64,

    /// Most bytes kept, e.g. 1GiB; -1 for no limit
    #[arg(long, default_value = "-1", value_parser = parse_limit_size,
          allow_negative_numbers = true, value_name = "SIZE")]
    max_bytes: i64,

    /// Oldest message kept, e.g. 1h, 7d, 1y; -1 for no limit
    #[arg(long, default_value = "-1", value_parser = parse_limit_duration,
          allow_negative_numbers = true, value_name = "DURATION")]
    max_age: Duration,

    /// Largest message accepted, e.g. 1MiB; -1 for no limit
    #[arg(long, default_value = "-1", value_parser = parse_limit_size,
          allow_negative_numbers = true, value_name = "SIZE")]
    max_msg_size: i64,

    /// Most consumers; -1 for no limit
    #[arg(long, default_value_t = -1, allow_negative_numbers = true, value_name = "N")]
    max_consumers: i64,

    /// How long message ids are remembered to drop duplicates, e.g. 2m [default: the
    /// server's, 2m]
    #[arg(long, value_parser = crate::util::parse_duration, value_name = "DURATION")]
    dupe_window: Option<Duration>,

    /// Allow direct get: any replica answers message reads
    #[arg(long)]
    allow_direct: bool,

    /// Allow roll-ups with the Nats-Rollup header
    #[arg(long)]
    allow_rollup: bool,

    /// Refuse deleting single messages through the API
    #[arg(long)]
    deny_delete: bool,

    /// Refuse purges through the API
    #[arg(long)]
    deny_purge: bool,

    /// Do not acknowledge publishes
    #[arg(long)]
    no_ack: bool,

    /// A description of the stream
    #[arg(long)]
    description: Option<String>,

    /// Print the created stream's info as JSON
    #[arg(short, long)]
    json: bool,
}

#[derive(Args)]
struct InfoArgs {
    /// Stream name
    name: String,

    /// The info as the server's JSON
    #[arg(short, long)]
    json: bool,
}

#[derive(Args)]
struct LsArgs {
    /// Only the names, one per line
    #[arg(short, long)]
    names: bool,

    /// The names as a JSON array
    #[arg(short, long, conflicts_with = "names")]
    json: bool,
}

#[derive(Args)]
struct RmArgs {
    /// Stream name
    name: String,

    /// Delete without asking
    #[arg(short, long)]
    force: bool,
}

#[derive(Args)]
struct PurgeArgs {
    /// Stream name
    name: String,

    /// Only messages on this subject (wildcards allowed)
    #[arg(long, value_name = "SUBJECT")]
    subject: Option<String>,

    /// Keep the newest N messages
    #[arg(long, value_name = "N", conflicts_with = "seq")]
    keep: Option<u64>,

    /// Purge up to, not including, this sequence
    #[arg(long, value_name = "SEQUENCE")]
    seq: Option<u64>,

    /// Purge without asking
    #[arg(short, long)]
    force: bool,
}

#[derive(Args)]
struct GetArgs {
    /// Stream name
    name: String,

    /// Sequence of the message
    #[arg(required_unless_present = "last_for", conflicts_with = "last_for")]
    seq: Option<u64>,

    /// The last message stored on this subject instead
    #[arg(short = 'S', long, value_name = "SUBJECT")]
    last_for: Option<String>,

    /// One JSON object: subject, seq, time, headers, data
    #[arg(short, long)]
    json: bool,
}

/// Runs a `stream` subcommand.
pub(crate) async fn run(args: StreamArgs, conn: &ConnFlags) -> Result<()> {
    let (client, js, urls) = conn.jetstream().await?;
    let result = match args.command {
        StreamCommand::Add(a) => add(a, &js, &urls).await,
        StreamCommand::Info(a) => info(a, &js, &urls).await,
        StreamCommand::Ls(a) => ls(a, &js, &urls).await,
        StreamCommand::Rm(a) => rm(a, &js, &urls).await,
        StreamCommand::Purge(a) => purge(a, &js, &urls).await,
        StreamCommand::Get(a) => get(a, &js, &urls).await,
    };
    client.close().await;
    result
}

async fn add(a: AddArgs, js: &nats_jetstream::Context, urls: &str) -> Result<()> {
    if a.replicas == 0 {
        return Err(CliError::msg("--replicas must be at least 1"));
    }
    let config = stream::Config {
        name: a.name.clone(),
        description: a.description,
        subjects: a.subjects,
        retention: match a.retention {
            Retention::Limits => RetentionPolicy::Limits,
            Retention::Interest => RetentionPolicy::Interest,
            Retention::Workq => RetentionPolicy::WorkQueue,
        },
        max_consumers: a.max_consumers,
        max_messages: a.max_msgs,
        max_bytes: a.max_bytes,
        max_age: a.max_age,
        max_messages_per_subject: a.max_msgs_per_subject,
        max_message_size: i32::try_from(a.max_msg_size)
            .map_err(|_| CliError::msg("--max-msg-size must be below 2 GiB"))?,
        discard: match a.discard {
            Discard::Old => DiscardPolicy::Old,
            Discard::New => DiscardPolicy::New,
        },
        storage: match a.storage {
            Storage::File => StorageType::File,
            Storage::Memory => StorageType::Memory,
        },
        num_replicas: a.replicas,
        no_ack: a.no_ack,
        duplicate_window: a.dupe_window.unwrap_or_default(),
        allow_direct: a.allow_direct,
        allow_rollup_hdrs: a.allow_rollup,
        deny_delete: a.deny_delete,
        deny_purge: a.deny_purge,
        ..Default::default()
    };
    let created = js
        .create_stream(config)
        .await
        .map_err(|e| js_error(e, urls).context(format!("stream add {}", a.name)))?;
    let info = created.cached_info();
    if a.json {
        print_json(info)
    } else {
        println!("Stream {} was created", info.config.name);
        println!();
        print_info(info);
        Ok(())
    }
}

async fn info(a: InfoArgs, js: &nats_jetstream::Context, urls: &str) -> Result<()> {
    let info = js
        .stream_info(&a.name)
        .await
        .map_err(|e| js_error(e, urls).context(format!("stream info {}", a.name)))?;
    if a.json {
        print_json(&info)
    } else {
        print_info(&info);
        Ok(())
    }
}

async fn ls(a: LsArgs, js: &nats_jetstream::Context, urls: &str) -> Result<()> {
    let mut streams = js.streams();
    let mut infos = Vec::new();
    while let Some(info) = streams.next().await {
        infos.push(info.map_err(|e| js_error(e, urls).context("stream ls"))?);
    }
    infos.sort_by(|x, y| x.config.name.cmp(&y.config.name));
    if a.json {
        let names: Vec<&str> = infos.iter().map(|i| i.config.name.as_str()).collect();
        return print_json(&names);
    }
    if a.names {
        for i in &infos {
            println!("{}", i.config.name);
        }
        return Ok(());
    }
    if infos.is_empty() {
        println!("No streams defined");
        return Ok(());
    }
    let width = infos
        .iter()
        .map(|i| i.config.name.len())
        .max()
        .unwrap_or(0)
        .max(6);
    println!(
        "{:<width$}  {:>10}  {:>10}  {:>9}  {:>8}  subjects",
        "stream", "messages", "bytes", "consumers", "replicas"
    );
    for i in &infos {
        println!(
            "{:<width$}  {:>10}  {:>10}  {:>9}  {:>8}  {}",
            i.config.name,
            i.state.messages,
            human_bytes(i.state.bytes),
            i.state.consumer_count,
            i.config.num_replicas,
            i.config.subjects.join(", ")
        );
    }
    Ok(())
}

async fn rm(a: RmArgs, js: &nats_jetstream::Context, urls: &str) -> Result<()> {
    if !a.force && !confirm(&format!("Really delete stream {}", a.name))? {
        return Ok(());
    }
    js.delete_stream(&a.name)
        .await
        .map_err(|e| js_error(e, urls).context(format!("stream rm {}", a.name)))?;
    println!("Stream {} was deleted", a.name);
    Ok(())
}

async fn purge(a: PurgeArgs, js: &nats_jetstream::Context, urls: &str) -> Result<()> {
    let what = match (&a.subject, a.keep, a.seq) {
        (None, None, None) => "every message".to_string(),
        _ => "the selected messages".to_string(),
    };
    if !a.force && !confirm(&format!("Really purge {what} of stream {}", a.name))? {
        return Ok(());
    }
    let context = || format!("stream purge {}", a.name);
    let stream = js
        .get_stream(&a.name)
        .await
        .map_err(|e| js_error(e, urls).context(context()))?;
    let mut request = stream.purge();
    if let Some(s) = &a.subject {
        request = request.filter(s);
    }
    if let Some(k) = a.keep {
        request = request.keep(k);
    }
    if let Some(s) = a.seq {
        request = request.sequence(s);
    }
    let purged = request
        .await
        .map_err(|e| js_error(e, urls).context(context()))?;
    let left = stream
        .info()
        .await
        .map_err(|e| js_error(e, urls).context(context()))?;
    println!(
        "Purged {purged} message{} from stream {}; {} left",
        if purged == 1 { "" } else { "s" },
        a.name,
        left.state.messages
    );
    Ok(())
}

async fn get(a: GetArgs, js: &nats_jetstream::Context, urls: &str) -> Result<()> {
    let context = || format!("stream get {}", a.name);
    let stream = js
        .get_stream(&a.name)
        .await
        .map_err(|e| js_error(e, urls).context(context()))?;
    let msg = match (&a.last_for, a.seq) {
        (Some(subject), _) => {
            stream
                .get_last_raw_message_by_subject(subject.clone())
                .await
        }
        (None, Some(seq)) => stream.get_raw_message(seq).await,
        (None, None) => return Err(CliError::msg("give a sequence or --last-for SUBJECT")),
    }
    .map_err(|e| match (e.err_code(), &a.last_for, a.seq) {
        (Some(nats_jetstream::ErrorCode::NO_MESSAGE_FOUND), Some(subject), _) => CliError::msg(
            format!("{}: no message found on subject {subject}", context()),
        ),
        (Some(nats_jetstream::ErrorCode::NO_MESSAGE_FOUND), None, Some(seq)) => {
            CliError::msg(format!("{}: no message found at sequence {seq}", context()))
        }
        _ => js_error(e, urls).context(context()),
    })?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if a.json {
        let mut headers = serde_json::Map::new();
        for (k, v) in msg.headers.iter().flat_map(|h| h.iter()) {
            if let serde_json::Value::Array(values) = headers
                .entry(k.to_string())
                .or_insert_with(|| serde_json::Value::Array(Vec::new()))
            {
                values.push(v.into());
            }
        }
        let line = serde_json::json!({
            "stream": a.name,
            "subject": msg.subject,
            "seq": msg.sequence,
            "time": msg.time.map(rfc3339),
            "headers": headers,
            "data": String::from_utf8_lossy(&msg.payload),
            "size": msg.payload.len(),
        });
        writeln!(out, "{line}")?;
        return Ok(());
    }
    write!(
        out,
        "Item: {}#{} received {} on subject {}",
        a.name,
        msg.sequence,
        msg.time.map(rfc3339).unwrap_or_else(|| "-".into()),
        msg.subject
    )?;
    writeln!(out)?;
    if let Some(h) = &msg.headers {
        writeln!(out)?;
        writeln!(out, "Headers:")?;
        for (k, v) in h.iter() {
            writeln!(out, "  {k}: {v}")?;
        }
    }
    writeln!(out)?;
    out.write_all(&msg.payload)?;
    if !msg.payload.ends_with(b"\n") {
        writeln!(out)?;
    }
    Ok(())
}

/// Asks `question` on the terminal; without one the answer is a refusal that names `--force`.
pub(crate) fn confirm(question: &str) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::msg(format!(
            "{} needs --force when stdin is not a terminal",
            question.trim_start_matches("Really ")
        )));
    }
    eprint!("{question}? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let yes = matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes");
    if !yes {
        eprintln!("natsc: nothing done");
    }
    Ok(yes)
}

/// Pretty JSON on stdout.
pub(crate) fn print_json(value: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::from(e).context("encoding JSON"))?;
    println!("{text}");
    Ok(())
}

fn limit(n: i64) -> String {
    if n < 0 {
        "unlimited".into()
    } else {
        n.to_string()
    }
}

fn limit_bytes(n: i64) -> String {
    u64::try_from(n).map_or_else(|_| "unlimited".into(), human_bytes)
}

fn limit_age(d: Duration) -> String {
    if d.is_zero() {
        "unlimited".into()
    } else {
        human_duration(d)
    }
}

/// `label value` rows under a heading.
pub(crate) fn section(title: &str, rows: &[(&str, String)]) {
    println!("{title}:");
    for (k, v) in rows {
        println!("  {k:>22}: {v}");
    }
    println!();
}

fn print_info(info: &stream::Info) {
    let c = &info.config;
    println!(
        "Information for stream {}{}",
        c.name,
        if info.created.is_empty() {
            String::new()
        } else {
            format!(" created {}", info.created)
        }
    );
    println!();
    let mut rows = vec![
        (
            "subjects",
            if c.subjects.is_empty() {
                "-".to_string()
            } else {
                c.subjects.join(", ")
            },
        ),
        ("storage", format!("{:?}", c.storage).to_lowercase()),
        ("replicas", c.num_replicas.to_string()),
        ("retention", retention_name(c.retention).to_string()),
        ("discard", format!("{:?}", c.discard).to_lowercase()),
        ("acknowledgements", (!c.no_ack).to_string()),
        ("max messages", limit(c.max_messages)),
        ("max per subject", limit(c.max_messages_per_subject)),
        ("max bytes", limit_bytes(c.max_bytes)),
        ("max age", limit_age(c.max_age)),
        (
            "max message size",
            limit_bytes(i64::from(c.max_message_size)),
        ),
        ("max consumers", limit(c.max_consumers)),
        ("duplicate window", human_duration(c.duplicate_window)),
        ("allow direct", c.allow_direct.to_string()),
        ("allow rollup", c.allow_rollup_hdrs.to_string()),
        ("deny delete", c.deny_delete.to_string()),
        ("deny purge", c.deny_purge.to_string()),
    ];
    if let Some(d) = &c.description {
        rows.insert(0, ("description", d.clone()));
    }
    section("Configuration", &rows);
    if let Some(cl) = &info.cluster {
        let mut rows = vec![
            ("name", cl.name.clone().unwrap_or_else(|| "-".into())),
            (
                "leader",
                cl.leader
                    .clone()
                    .unwrap_or_else(|| "none (electing)".into()),
            ),
        ];
        for p in &cl.replicas {
            let state = match (p.offline, p.current) {
                (true, _) => "offline".to_string(),
                (false, true) => "current".to_string(),
                (false, false) => format!("outdated, {} behind", p.lag),
            };
            rows.push((
                "replica",
                format!("{} {state}, seen {} ago", p.name, human_duration(p.active)),
            ));
        }
        section("Cluster", &rows);
    }
    let s = &info.state;
    let at = |t: &str| {
        if t.is_empty() || t.starts_with("0001-") {
            String::new()
        } else {
            format!(" @ {t}")
        }
    };
    section(
        "State",
        &[
            ("messages", s.messages.to_string()),
            ("bytes", human_bytes(s.bytes)),
            (
                "first sequence",
                format!("{}{}", s.first_sequence, at(&s.first_timestamp)),
            ),
            (
                "last sequence",
                format!("{}{}", s.last_sequence, at(&s.last_timestamp)),
            ),
            ("subjects", s.num_subjects.to_string()),
            ("deleted messages", s.num_deleted.to_string()),
            ("consumers", s.consumer_count.to_string()),
        ],
    );
}

fn retention_name(r: RetentionPolicy) -> &'static str {
    match r {
        RetentionPolicy::Limits => "limits",
        RetentionPolicy::Interest => "interest",
        RetentionPolicy::WorkQueue => "workq",
        _ => "other",
    }
}
