//! `natsc kv add|put|get|create|update|del|purge|history|keys|watch|ls|rm|status`: the
//! Key-Value store, with the `nats` CLI's verbs and flags (J20–J23).

use std::io::{Read, Write};
use std::time::Duration;

use bytes::Bytes;
use clap::{Args, Subcommand, ValueEnum};
use futures_util::StreamExt;
use nats_jetstream::kv::{self, Entry, Operation, WatchEvent};
use nats_jetstream::stream::StorageType;

use super::stream::{confirm, print_json, section};
use super::Shutdown;
use crate::conn::ConnFlags;
use crate::error::{js_error, CliError, Result};
use crate::util::{human_bytes, human_duration, parse_limit_duration, parse_limit_size, rfc3339};

/// Key-Value buckets and keys.
#[derive(Args)]
pub(crate) struct KvArgs {
    #[command(subcommand)]
    command: KvCommand,
}

#[derive(Subcommand)]
enum KvCommand {
    /// Create a bucket
    #[command(visible_alias = "new")]
    Add(AddArgs),
    /// Write a value; prints the new revision
    Put(PutArgs),
    /// Print a key's value
    Get(GetArgs),
    /// Write a value only if the key has none; prints the new revision
    Create(PutArgs),
    /// Write a value only if the key is at REVISION (compare-and-set); prints the new revision
    Update(UpdateArgs),
    /// Delete a key (a delete marker; earlier revisions stay as history)
    #[command(visible_alias = "rm-key", name = "del")]
    Del(KeyArgs),
    /// Purge a key: remove every revision, leaving one purge marker
    Purge(KeyArgs),
    /// Print every stored revision of a key
    History(HistoryArgs),
    /// List the keys that hold a value
    #[command(visible_alias = "ls-keys")]
    Keys(KeysArgs),
    /// Print the current values, then every change, until interrupted
    Watch(WatchArgs),
    /// List the buckets
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Delete a bucket with every key
    Rm(RmArgs),
    /// Print a bucket's configuration and state
    #[command(visible_alias = "info")]
    Status(StatusArgs),
}

/// `--storage`.
#[derive(Clone, Copy, ValueEnum)]
enum Storage {
    File,
    Memory,
}

#[derive(Args)]
struct AddArgs {
    /// Bucket name: letters, digits, '-', '_'
    bucket: String,

    /// Revisions kept per key, 1 to 64
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    history: i64,

    /// How long a revision lives, e.g. 1h, 7d; -1 for ever
    #[arg(long, default_value = "-1", value_parser = parse_limit_duration,
          allow_negative_numbers = true, value_name = "DURATION")]
    ttl: Duration,

    /// Copies of each value in a cluster
    #[arg(long, default_value_t = 1)]
    replicas: usize,

    /// Storage backend
    #[arg(long, value_enum, default_value = "file")]
    storage: Storage,

    /// Largest value accepted, e.g. 1MiB; -1 for no limit
    #[arg(long, default_value = "-1", value_parser = parse_limit_size,
          allow_negative_numbers = true, value_name = "SIZE")]
    max_value_size: i64,

    /// Most bytes the bucket holds, e.g. 1GiB; -1 for no limit
    #[arg(long, default_value = "-1", value_parser = parse_limit_size,
          allow_negative_numbers = true, value_name = "SIZE")]
    max_bucket_size: i64,

    /// Answer reads from the leader only (no direct get from any replica)
    #[arg(long)]
    no_direct: bool,

    /// A description of the bucket
    #[arg(long)]
    description: Option<String>,

    /// Print the bucket's status as JSON
    #[arg(short, long)]
    json: bool,
}

#[derive(Args)]
struct PutArgs {
    /// Bucket name
    bucket: String,
    /// Key: letters, digits and - / _ = . (no leading or trailing '.')
    key: String,
    /// The value [default: read from stdin]
    value: Option<String>,
}

#[derive(Args)]
struct UpdateArgs {
    /// Bucket name
    bucket: String,
    /// Key
    key: String,
    /// The new value
    value: String,
    /// The revision the key must be at (0: the key has no value yet)
    revision: u64,
}

#[derive(Args)]
struct GetArgs {
    /// Bucket name
    bucket: String,
    /// Key
    key: String,
    /// This revision instead of the latest
    #[arg(long)]
    revision: Option<u64>,
    /// Only the value
    #[arg(long)]
    raw: bool,
    /// One JSON object: bucket, key, revision, created, operation, value
    #[arg(short, long, conflicts_with = "raw")]
    json: bool,
}

#[derive(Args)]
struct KeyArgs {
    /// Bucket name
    bucket: String,
    /// Key
    key: String,
    /// Do it without asking
    #[arg(short, long)]
    force: bool,
}

#[derive(Args)]
struct HistoryArgs {
    /// Bucket name
    bucket: String,
    /// Key (wildcards allowed)
    key: String,
    /// One JSON object per revision and line
    #[arg(short, long)]
    json: bool,
}

#[derive(Args)]
struct KeysArgs {
    /// Bucket name
    bucket: String,
    /// Only keys matching these filters (wildcards * and > allowed)
    filters: Vec<String>,
}

#[derive(Args)]
struct WatchArgs {
    /// Bucket name
    bucket: String,
    /// Only keys matching this filter (wildcards allowed) [default: every key]
    filter: Option<String>,
    /// Start with every stored revision, not only the latest of each key
    #[arg(long)]
    history: bool,
    /// Only changes made from now on
    #[arg(long, conflicts_with = "history")]
    updates_only: bool,
    /// Leave out deletes and purges
    #[arg(long)]
    ignore_deletes: bool,
    /// Exit after this many entries
    #[arg(long)]
    count: Option<u64>,
    /// One JSON object per entry and line
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
    /// Bucket name
    bucket: String,
    /// Delete without asking
    #[arg(short, long)]
    force: bool,
}

#[derive(Args)]
struct StatusArgs {
    /// Bucket name
    bucket: String,
    /// The bucket's stream info as the server's JSON
    #[arg(short, long)]
    json: bool,
}

/// Runs a `kv` subcommand; `watch` stops when `shutdown` resolves.
pub(crate) async fn run(args: KvArgs, conn: &ConnFlags, shutdown: Shutdown) -> Result<()> {
    let (client, js, urls) = conn.jetstream().await?;
    let cx = Cx { js, urls };
    let result = match args.command {
        KvCommand::Add(a) => add(a, &cx).await,
        KvCommand::Put(a) => put(a, &cx, false).await,
        KvCommand::Create(a) => put(a, &cx, true).await,
        KvCommand::Update(a) => update(a, &cx).await,
        KvCommand::Get(a) => get(a, &cx).await,
        KvCommand::Del(a) => remove(a, &cx, false).await,
        KvCommand::Purge(a) => remove(a, &cx, true).await,
        KvCommand::History(a) => history(a, &cx).await,
        KvCommand::Keys(a) => keys(a, &cx).await,
        KvCommand::Watch(a) => watch(a, &cx, shutdown).await,
        KvCommand::Ls(a) => ls(a, &cx).await,
        KvCommand::Rm(a) => rm(a, &cx).await,
        KvCommand::Status(a) => status(a, &cx).await,
    };
    client.close().await;
    result
}

/// The context of a command: the JetStream context and the URLs for error messages.
struct Cx {
    js: nats_jetstream::Context,
    urls: String,
}

impl Cx {
    async fn store(&self, bucket: &str, what: &str) -> Result<kv::Store> {
        self.js
            .get_key_value(bucket)
            .await
            .map_err(|e| self.error(e).context(format!("kv {what} {bucket}")))
    }

    /// A KV error in one line.
    fn error(&self, e: kv::Error) -> CliError {
        match e {
            kv::Error::Api(e) => js_error(e, &self.urls),
            kv::Error::Publish(nats_jetstream::PublishError::Api(a)) => {
                CliError::msg(format!("{} (err_code {})", a.description, a.err_code))
            }
            other => CliError::msg(other.to_string()),
        }
    }
}

async fn add(a: AddArgs, cx: &Cx) -> Result<()> {
    let max_value_size = i32::try_from(a.max_value_size)
        .map_err(|_| CliError::msg("--max-value-size must be below 2 GiB"))?;
    let config = kv::Config {
        bucket: a.bucket.clone(),
        description: a.description,
        history: a.history,
        max_age: a.ttl,
        num_replicas: a.replicas,
        storage: match a.storage {
            Storage::File => StorageType::File,
            Storage::Memory => StorageType::Memory,
        },
        max_value_size,
        max_bytes: a.max_bucket_size,
        allow_direct: !a.no_direct,
        ..Default::default()
    };
    let store = cx
        .js
        .create_key_value(config)
        .await
        .map_err(|e| cx.error(e).context(format!("kv add {}", a.bucket)))?;
    let status = store
        .status()
        .await
        .map_err(|e| cx.error(e).context(format!("kv add {}", a.bucket)))?;
    if a.json {
        return print_json(&status.info);
    }
    println!("Bucket {} was created", a.bucket);
    println!();
    print_status(&status);
    Ok(())
}

/// The value argument, or stdin when it is missing.
fn value_or_stdin(value: Option<String>) -> Result<Bytes> {
    match value {
        Some(v) => Ok(Bytes::from(v)),
        None => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .map_err(|e| CliError::from(e).context("reading the value from stdin"))?;
            Ok(Bytes::from(buf))
        }
    }
}

async fn put(a: PutArgs, cx: &Cx, create: bool) -> Result<()> {
    let verb = if create { "create" } else { "put" };
    let context = || format!("kv {verb} {} {}", a.bucket, a.key);
    kv::validate_key(&a.key).map_err(|e| CliError::from(e).context(context()))?;
    let store = cx.store(&a.bucket, verb).await?;
    let value = value_or_stdin(a.value.clone())?;
    let written = if create {
        store.create(&a.key, value).await
    } else {
        store.put(&a.key, value).await
    };
    let revision = written.map_err(|e| cx.error(e).context(context()))?;
    println!("{revision}");
    Ok(())
}

async fn update(a: UpdateArgs, cx: &Cx) -> Result<()> {
    let context = || format!("kv update {} {}", a.bucket, a.key);
    kv::validate_key(&a.key).map_err(|e| CliError::from(e).context(context()))?;
    let store = cx.store(&a.bucket, "update").await?;
    let revision = store
        .update(&a.key, Bytes::from(a.value.clone()), a.revision)
        .await
        .map_err(|e| cx.error(e).context(context()))?;
    println!("{revision}");
    Ok(())
}

async fn get(a: GetArgs, cx: &Cx) -> Result<()> {
    let context = || format!("kv get {} {}", a.bucket, a.key);
    kv::validate_key(&a.key).map_err(|e| CliError::from(e).context(context()))?;
    let store = cx.store(&a.bucket, "get").await?;
    let entry = match a.revision {
        Some(r) => store.entry_for_revision(&a.key, r).await,
        None => store.entry(&a.key).await,
    }
    .map_err(|e| cx.error(e).context(context()))?;
    let entry = match entry {
        Some(e) if e.operation == Operation::Put || a.revision.is_some() => e,
        Some(e) => {
            return Err(CliError::msg(format!(
                "{}: key not found (deleted at revision {})",
                context(),
                e.revision
            )))
        }
        None => return Err(CliError::msg(format!("{}: key not found", context()))),
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if a.json {
        writeln!(out, "{}", entry_json(&entry))?;
    } else if a.raw {
        out.write_all(&entry.value)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "{} > {} revision: {} created @ {} ({})",
            entry.bucket,
            entry.key,
            entry.revision,
            rfc3339(entry.created),
            entry.operation
        )?;
        writeln!(out)?;
        out.write_all(&entry.value)?;
        writeln!(out)?;
    }
    Ok(())
}

async fn remove(a: KeyArgs, cx: &Cx, purge: bool) -> Result<()> {
    let verb = if purge { "purge" } else { "del" };
    let context = || format!("kv {verb} {} {}", a.bucket, a.key);
    kv::validate_key(&a.key).map_err(|e| CliError::from(e).context(context()))?;
    let question = if purge {
        format!(
            "Really purge every revision of key {} in bucket {}",
            a.key, a.bucket
        )
    } else {
        format!("Really delete key {} in bucket {}", a.key, a.bucket)
    };
    if !a.force && !confirm(&question)? {
        return Ok(());
    }
    let store = cx.store(&a.bucket, verb).await?;
    let revision = if purge {
        store.purge(&a.key).await
    } else {
        store.delete(&a.key).await
    }
    .map_err(|e| cx.error(e).context(context()))?;
    println!(
        "{} key {} in bucket {} (marker at revision {revision})",
        if purge { "Purged" } else { "Deleted" },
        a.key,
        a.bucket
    );
    Ok(())
}

async fn history(a: HistoryArgs, cx: &Cx) -> Result<()> {
    let context = || format!("kv history {} {}", a.bucket, a.key);
    let store = cx.store(&a.bucket, "history").await?;
    let mut revisions = store
        .history(&a.key)
        .await
        .map_err(|e| cx.error(e).context(context()))?;
    let mut entries = Vec::new();
    while let Some(e) = revisions.next().await {
        entries.push(e.map_err(|e| cx.error(e).context(context()))?);
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if a.json {
        for e in &entries {
            writeln!(out, "{}", entry_json(e))?;
        }
        return Ok(());
    }
    if entries.is_empty() {
        return Err(CliError::msg(format!("{}: key not found", context())));
    }
    writeln!(
        out,
        "{:<20}  {:>8}  {:<5}  {:<30}  {:>8}  value",
        "key", "revision", "op", "created", "length"
    )?;
    for e in &entries {
        writeln!(
            out,
            "{:<20}  {:>8}  {:<5}  {:<30}  {:>8}  {}",
            e.key,
            e.revision,
            e.operation.to_string(),
            rfc3339(e.created),
            e.value.len(),
            preview(&e.value)
        )?;
    }
    Ok(())
}

async fn keys(a: KeysArgs, cx: &Cx) -> Result<()> {
    let context = || format!("kv keys {}", a.bucket);
    let store = cx.store(&a.bucket, "keys").await?;
    let mut keys = store
        .keys_with_filters(&a.filters)
        .await
        .map_err(|e| cx.error(e).context(context()))?;
    let mut all = Vec::new();
    while let Some(k) = keys.next().await {
        all.push(k.map_err(|e| cx.error(e).context(context()))?);
    }
    if all.is_empty() {
        eprintln!("natsc: no keys found in bucket {}", a.bucket);
    }
    all.sort();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for k in all {
        writeln!(out, "{k}")?;
    }
    Ok(())
}

async fn watch(a: WatchArgs, cx: &Cx, mut shutdown: Shutdown) -> Result<()> {
    let context = || format!("kv watch {}", a.bucket);
    let store = cx.store(&a.bucket, "watch").await?;
    let mut builder = store.watcher();
    if let Some(f) = &a.filter {
        builder = builder.key(f.clone());
    }
    if a.history {
        builder = builder.include_history();
    }
    if a.updates_only {
        builder = builder.updates_only();
    }
    if a.ignore_deletes {
        builder = builder.ignore_deletes();
    }
    let mut watch = builder
        .start()
        .await
        .map_err(|e| cx.error(e).context(context()))?;
    eprintln!(
        "natsc: watching bucket {} ({}), ctrl-c to stop",
        a.bucket,
        a.filter.as_deref().unwrap_or(">")
    );
    let mut seen = 0u64;
    while a.count.is_none_or(|c| seen < c) {
        let event = tokio::select! {
            biased;
            () = &mut shutdown => break,
            event = watch.next_event() => event,
        };
        match event {
            None => return Err(CliError::msg(format!("{}: the watch ended", context()))),
            Some(Err(e)) => return Err(cx.error(e).context(context())),
            Some(Ok(WatchEvent::InSync)) => {
                // A closed stderr (its reader went away) must not stop the watch.
                let _ = writeln!(std::io::stderr(), "natsc: initial values done");
            }
            Some(Ok(WatchEvent::Entry(e))) => {
                seen += 1;
                let stdout = std::io::stdout();
                let mut out = stdout.lock();
                if a.json {
                    writeln!(out, "{}", entry_json(&e))?;
                } else {
                    writeln!(
                        out,
                        "[{}] {} {} > {}: {}",
                        rfc3339(e.created),
                        e.operation,
                        e.bucket,
                        e.key,
                        preview(&e.value)
                    )?;
                }
                out.flush()?;
            }
        }
    }
    Ok(())
}

async fn ls(a: LsArgs, cx: &Cx) -> Result<()> {
    let mut stores = cx.js.key_value_stores();
    let mut all = Vec::new();
    while let Some(s) = stores.next().await {
        all.push(s.map_err(|e| cx.error(e).context("kv ls"))?);
    }
    all.sort_by(|x, y| x.bucket.cmp(&y.bucket));
    if a.json {
        let names: Vec<&str> = all.iter().map(|s| s.bucket()).collect();
        return print_json(&names);
    }
    if a.names {
        for s in &all {
            println!("{}", s.bucket());
        }
        return Ok(());
    }
    if all.is_empty() {
        println!("No Key-Value buckets defined");
        return Ok(());
    }
    let width = all.iter().map(|s| s.bucket.len()).max().unwrap_or(0).max(6);
    println!(
        "{:<width$}  {:>10}  {:>10}  {:>7}  {:>8}  {:>8}  ttl",
        "bucket", "values", "bytes", "history", "replicas", "storage"
    );
    for s in &all {
        let c = &s.info.config;
        println!(
            "{:<width$}  {:>10}  {:>10}  {:>7}  {:>8}  {:>8}  {}",
            s.bucket(),
            s.values(),
            human_bytes(s.bytes()),
            s.history(),
            c.num_replicas,
            storage_name(c.storage),
            ttl(s.max_age())
        );
    }
    Ok(())
}

async fn rm(a: RmArgs, cx: &Cx) -> Result<()> {
    kv::validate_bucket(&a.bucket)
        .map_err(|e| CliError::from(e).context(format!("kv rm {}", a.bucket)))?;
    if !a.force && !confirm(&format!("Really delete bucket {} with every key", a.bucket))? {
        return Ok(());
    }
    cx.js
        .delete_key_value(&a.bucket)
        .await
        .map_err(|e| cx.error(e).context(format!("kv rm {}", a.bucket)))?;
    println!("Bucket {} was deleted", a.bucket);
    Ok(())
}

async fn status(a: StatusArgs, cx: &Cx) -> Result<()> {
    let store = cx.store(&a.bucket, "status").await?;
    let status = store
        .status()
        .await
        .map_err(|e| cx.error(e).context(format!("kv status {}", a.bucket)))?;
    if a.json {
        return print_json(&status.info);
    }
    print_status(&status);
    Ok(())
}

fn print_status(s: &kv::Status) {
    let c = &s.info.config;
    println!("Information for Key-Value bucket {}", s.bucket());
    println!();
    let mut rows = vec![
        ("bucket", s.bucket().to_string()),
        ("history", s.history().to_string()),
        ("ttl", ttl(s.max_age())),
        ("values", s.values().to_string()),
        ("bytes", human_bytes(s.bytes())),
        ("storage", storage_name(c.storage).to_string()),
        ("replicas", c.num_replicas.to_string()),
        (
            "max value size",
            u64::try_from(c.max_message_size).map_or_else(|_| "unlimited".into(), human_bytes),
        ),
        (
            "max bucket size",
            u64::try_from(c.max_bytes).map_or_else(|_| "unlimited".into(), human_bytes),
        ),
        ("direct get", c.allow_direct.to_string()),
        ("compressed", s.is_compressed().to_string()),
        ("backing stream", s.stream_name().to_string()),
    ];
    if let Some(d) = &c.description {
        rows.insert(0, ("description", d.clone()));
    }
    if let Some(cl) = &s.info.cluster {
        rows.push((
            "cluster leader",
            cl.leader
                .clone()
                .unwrap_or_else(|| "none (electing)".into()),
        ));
    }
    section("Configuration and state", &rows);
}

fn ttl(d: Duration) -> String {
    if d.is_zero() {
        "forever".into()
    } else {
        human_duration(d)
    }
}

fn storage_name(s: StorageType) -> &'static str {
    match s {
        StorageType::File => "file",
        StorageType::Memory => "memory",
        _ => "other",
    }
}

/// A value for one line: as text when it is UTF-8 without control characters, else its size.
fn preview(value: &[u8]) -> String {
    match std::str::from_utf8(value) {
        Ok(s) if !s.chars().any(char::is_control) => {
            if s.chars().count() > 60 {
                format!("{}...", s.chars().take(60).collect::<String>())
            } else {
                s.to_string()
            }
        }
        _ => format!("<{} bytes>", value.len()),
    }
}

fn entry_json(e: &Entry) -> serde_json::Value {
    serde_json::json!({
        "bucket": e.bucket,
        "key": e.key,
        "revision": e.revision,
        "created": rfc3339(e.created),
        "operation": e.operation.to_string(),
        "delta": e.delta,
        "value": String::from_utf8_lossy(&e.value),
        "length": e.value.len(),
    })
}
