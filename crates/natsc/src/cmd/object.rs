//! `natsc object add|put|get|info|ls|rm|watch|seal`: the Object Store, with the `nats` CLI's
//! verbs (J25–J27). put and get stream the data (never whole in memory) and show a progress
//! bar with bytes and rate on a terminal.

use std::io::IsTerminal;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use clap::{Args, Subcommand, ValueEnum};
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use nats_jetstream::object_store::{self, ObjectInfo, ObjectMeta, ObjectStore, ObjectStoreError};
use nats_jetstream::stream::StorageType;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};

use super::stream::{confirm, print_json, section};
use super::Shutdown;
use crate::conn::ConnFlags;
use crate::error::{js_error, CliError, Result};
use crate::util::{
    human_bytes, human_duration, parse_limit_duration, parse_limit_size, parse_size, rfc3339,
};

/// Object Store buckets and objects.
#[derive(Args)]
pub(crate) struct ObjectArgs {
    #[command(subcommand)]
    command: ObjectCommand,
}

#[derive(Subcommand)]
enum ObjectCommand {
    /// Create a bucket
    #[command(visible_alias = "create")]
    Add(AddArgs),
    /// Store a file (or stdin with -) as an object
    Put(PutArgs),
    /// Read an object to a file or stdout (its digest checked)
    Get(GetArgs),
    /// Print a bucket's status, or an object's info
    Info(InfoArgs),
    /// List the buckets, or the objects of a bucket
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Delete an object, or a whole bucket
    #[command(visible_alias = "del")]
    Rm(RmArgs),
    /// Print every change in a bucket until interrupted
    Watch(WatchArgs),
    /// Seal a bucket: no more changes, for ever
    Seal(SealArgs),
}

/// `--storage`.
#[derive(Clone, Copy, ValueEnum)]
enum Storage {
    File,
    Memory,
}

#[derive(Args)]
struct AddArgs {
    /// Bucket name ([a-zA-Z0-9_-]+)
    bucket: String,
    /// Storage backend
    #[arg(long, value_enum, default_value = "file")]
    storage: Storage,
    /// Copies of each chunk in a cluster
    #[arg(long, default_value_t = 1)]
    replicas: usize,
    /// How long objects are kept, e.g. 1h, 7d; -1 for ever
    #[arg(long, default_value = "-1", value_parser = parse_limit_duration,
          allow_negative_numbers = true, value_name = "DURATION")]
    ttl: Duration,
    /// Most bytes the bucket holds, e.g. 1GiB; -1 for no limit
    #[arg(long, default_value = "-1", value_parser = parse_limit_size,
          allow_negative_numbers = true, value_name = "SIZE")]
    max_bucket_size: i64,
    /// A description of the bucket
    #[arg(long)]
    description: Option<String>,
    /// Print the status as JSON
    #[arg(short, long)]
    json: bool,
}

#[derive(Args)]
struct PutArgs {
    /// Bucket name
    bucket: String,
    /// The file to store; - reads stdin
    file: String,
    /// The object's name [default: the file's name]
    #[arg(long, short = 'n')]
    name: Option<String>,
    /// A description of the object
    #[arg(long)]
    description: Option<String>,
    /// Chunk size, e.g. 128KiB [default: 128KiB]
    #[arg(long, value_parser = parse_size, value_name = "SIZE")]
    chunk_size: Option<usize>,
    /// Print the stored object's info as JSON
    #[arg(short, long)]
    json: bool,
}

#[derive(Args)]
struct GetArgs {
    /// Bucket name
    bucket: String,
    /// Object name
    name: String,
    /// Write to this file instead of stdout
    #[arg(short = 'O', long, value_name = "FILE")]
    output: Option<std::path::PathBuf>,
}

#[derive(Args)]
struct InfoArgs {
    /// Bucket name
    bucket: String,
    /// Object name [default: the bucket's status]
    name: Option<String>,
    /// As JSON
    #[arg(short, long)]
    json: bool,
}

#[derive(Args)]
struct LsArgs {
    /// Bucket name [default: list the buckets]
    bucket: Option<String>,
    /// Only the names, one per line
    #[arg(short, long)]
    names: bool,
    /// As JSON
    #[arg(short, long, conflicts_with = "names")]
    json: bool,
}

#[derive(Args)]
struct RmArgs {
    /// Bucket name
    bucket: String,
    /// Object name [default: delete the whole bucket]
    name: Option<String>,
    /// Delete without asking
    #[arg(short, long)]
    force: bool,
}

#[derive(Args)]
struct WatchArgs {
    /// Bucket name
    bucket: String,
    /// Print the current objects first
    #[arg(long)]
    history: bool,
}

#[derive(Args)]
struct SealArgs {
    /// Bucket name
    bucket: String,
    /// Seal without asking
    #[arg(short, long)]
    force: bool,
}

/// Runs an `object` subcommand.
pub(crate) async fn run(args: ObjectArgs, conn: &ConnFlags, shutdown: Shutdown) -> Result<()> {
    let (client, js, urls) = conn.jetstream().await?;
    let result = match args.command {
        ObjectCommand::Add(a) => add(a, &js, &urls).await,
        ObjectCommand::Put(a) => put(a, &js, &urls).await,
        ObjectCommand::Get(a) => get(a, &js, &urls).await,
        ObjectCommand::Info(a) => info(a, &js, &urls).await,
        ObjectCommand::Ls(a) => ls(a, &js, &urls).await,
        ObjectCommand::Rm(a) => rm(a, &js, &urls).await,
        ObjectCommand::Watch(a) => watch(a, &js, &urls, shutdown).await,
        ObjectCommand::Seal(a) => seal(a, &js, &urls).await,
    };
    client.close().await;
    result
}

/// One line for an Object Store error.
fn obj_error(e: ObjectStoreError, urls: &str) -> CliError {
    match e {
        ObjectStoreError::Api(e) => js_error(e, urls),
        other => CliError::from(other),
    }
}

async fn open(js: &nats_jetstream::Context, bucket: &str, urls: &str) -> Result<ObjectStore> {
    js.get_object_store(bucket)
        .await
        .map_err(|e| obj_error(e, urls))
}

async fn add(a: AddArgs, js: &nats_jetstream::Context, urls: &str) -> Result<()> {
    if a.replicas == 0 {
        return Err(CliError::msg("--replicas must be at least 1"));
    }
    let store = js
        .create_object_store(object_store::Config {
            bucket: a.bucket.clone(),
            description: a.description,
            max_age: a.ttl,
            max_bytes: a.max_bucket_size,
            storage: match a.storage {
                Storage::File => StorageType::File,
                Storage::Memory => StorageType::Memory,
            },
            num_replicas: a.replicas,
            ..Default::default()
        })
        .await
        .map_err(|e| obj_error(e, urls).context(format!("object add {}", a.bucket)))?;
    let status = store
        .status()
        .await
        .map_err(|e| obj_error(e, urls).context(format!("object add {}", a.bucket)))?;
    if a.json {
        return print_json(&status_json(&status));
    }
    println!("Object Store bucket {} was created", a.bucket);
    println!();
    print_status(&status);
    Ok(())
}

/// A progress bar for `len` bytes on stderr, hidden unless stderr is a terminal.
fn progress(len: Option<u64>, verb: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let template = if len.is_some() {
        "{prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {elapsed}"
    } else {
        "{prefix} {bytes} {bytes_per_sec} {elapsed}"
    };
    let style = ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    let bar = match len {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::no_length(),
    };
    let bar = bar.with_style(style);
    bar.set_prefix(verb.to_string());
    bar
}

/// A reader that moves a progress bar.
struct Counting<R> {
    inner: R,
    bar: ProgressBar,
}

impl<R: AsyncRead + Unpin> AsyncRead for Counting<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        self.bar.inc(n as u64);
        r
    }
}

async fn put(a: PutArgs, js: &nats_jetstream::Context, urls: &str) -> Result<()> {
    let context = || format!("object put {} {}", a.bucket, a.file);
    let name = match (&a.name, a.file.as_str()) {
        (Some(n), _) => n.clone(),
        (None, "-") => return Err(CliError::msg("reading stdin needs --name")),
        (None, path) => std::path::Path::new(path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| CliError::msg(format!("{}: no file name in {path:?}", context())))?,
    };
    let store = open(js, &a.bucket, urls).await?;
    let meta = ObjectMeta {
        description: a.description.clone(),
        max_chunk_size: a.chunk_size,
        ..ObjectMeta::from(name)
    };
    let started = Instant::now();
    let info = if a.file == "-" {
        let mut reader = Counting {
            inner: tokio::io::stdin(),
            bar: progress(None, "put"),
        };
        let r = store.put(meta, &mut reader).await;
        reader.bar.finish_and_clear();
        r
    } else {
        let file = tokio::fs::File::open(&a.file)
            .await
            .map_err(|e| CliError::from(e).context(context()))?;
        let len = file.metadata().await.ok().map(|m| m.len());
        let mut reader = Counting {
            inner: file,
            bar: progress(len, "put"),
        };
        let r = store.put(meta, &mut reader).await;
        reader.bar.finish_and_clear();
        r
    }
    .map_err(|e| obj_error(e, urls).context(context()))?;
    if a.json {
        return print_json(&info);
    }
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    println!(
        "Stored {} in bucket {}: {} in {} chunks, {}/s, {}",
        info.name,
        a.bucket,
        human_bytes(info.size),
        info.chunks,
        human_bytes((info.size as f64 / secs) as u64),
        info.digest.as_deref().unwrap_or("-")
    );
    Ok(())
}

async fn get(a: GetArgs, js: &nats_jetstream::Context, urls: &str) -> Result<()> {
    let context = || format!("object get {} {}", a.bucket, a.name);
    let store = open(js, &a.bucket, urls)
        .await
        .map_err(|e| e.context(context()))?;
    let mut object = store
        .get(&a.name)
        .await
        .map_err(|e| obj_error(e, urls).context(context()))?;
    let size = object.info().size;
    let bar = progress(Some(size), "get");
    let result = match &a.output {
        Some(path) => {
            // Into a temporary file next to the target, renamed once the digest matched.
            let tmp = path.with_extension("natsc-partial");
            let mut file = tokio::fs::File::create(&tmp)
                .await
                .map_err(|e| CliError::from(e).context(context()))?;
            let r = copy(&mut object, &mut file, &bar).await;
            let r = match r {
                Ok(()) => file.sync_all().await.map_err(CliError::from),
                Err(e) => Err(e),
            };
            match r {
                Ok(()) => tokio::fs::rename(&tmp, path).await.map_err(CliError::from),
                Err(e) => {
                    let _ = tokio::fs::remove_file(&tmp).await;
                    Err(e)
                }
            }
        }
        None => copy(&mut object, &mut tokio::io::stdout(), &bar).await,
    };
    bar.finish_and_clear();
    result.map_err(|e| e.context(context()))?;
    if let Some(path) = &a.output {
        eprintln!(
            "Wrote {} ({}) to {}, digest verified",
            a.name,
            human_bytes(size),
            path.display()
        );
    }
    Ok(())
}

/// Copies the object's chunks to `out` as they come (no copy into a buffer of ours).
async fn copy<W: AsyncWrite + Unpin>(
    object: &mut object_store::Object,
    out: &mut W,
    bar: &ProgressBar,
) -> Result<()> {
    loop {
        let chunk = object
            .fill_buf()
            .await
            .map_err(|e| match ObjectStoreError::from_io(&e) {
                Some(inner) => CliError::msg(inner.to_string()),
                None => CliError::from(e),
            })?;
        if chunk.is_empty() {
            break;
        }
        out.write_all(chunk).await?;
        let n = chunk.len();
        Pin::new(&mut *object).consume(n);
        bar.inc(n as u64);
    }
    out.flush().await?;
    Ok(())
}

async fn info(a: InfoArgs, js: &nats_jetstream::Context, urls: &str) -> Result<()> {
    let store = open(js, &a.bucket, urls).await?;
    let Some(name) = &a.name else {
        let status = store
            .status()
            .await
            .map_err(|e| obj_error(e, urls).context(format!("object info {}", a.bucket)))?;
        if a.json {
            return print_json(&status_json(&status));
        }
        print_status(&status);
        return Ok(());
    };
    let info = store
        .info(name)
        .await
        .map_err(|e| obj_error(e, urls).context(format!("object info {} {name}", a.bucket)))?;
    if a.json {
        return print_json(&info);
    }
    print_object(&info);
    Ok(())
}

async fn ls(a: LsArgs, js: &nats_jetstream::Context, urls: &str) -> Result<()> {
    let Some(bucket) = &a.bucket else {
        let mut names = Vec::new();
        let mut stream = js.object_store_names();
        while let Some(n) = stream.next().await {
            names.push(n.map_err(|e| js_error(e, urls).context("object ls"))?);
        }
        names.sort();
        if a.json {
            return print_json(&names);
        }
        if names.is_empty() && !a.names {
            println!("No Object Store buckets");
        }
        for n in names {
            println!("{n}");
        }
        return Ok(());
    };
    let context = || format!("object ls {bucket}");
    let store = open(js, bucket, urls).await?;
    let mut list = store
        .list()
        .await
        .map_err(|e| obj_error(e, urls).context(context()))?;
    let mut infos = Vec::new();
    while let Some(info) = list.next().await {
        infos.push(info.map_err(|e| obj_error(e, urls).context(context()))?);
    }
    if a.json {
        return print_json(&infos);
    }
    if a.names {
        for i in &infos {
            println!("{}", i.name);
        }
        return Ok(());
    }
    if infos.is_empty() {
        println!("No objects in bucket {bucket}");
        return Ok(());
    }
    let width = infos.iter().map(|i| i.name.len()).max().unwrap_or(0).max(4);
    println!(
        "{:<width$}  {:>10}  {:>6}  modified",
        "name", "size", "chunks"
    );
    for i in &infos {
        let size = match i.link() {
            Some(l) => format!("-> {}/{}", l.bucket, l.name.as_deref().unwrap_or("")),
            None => human_bytes(i.size),
        };
        println!(
            "{:<width$}  {:>10}  {:>6}  {}",
            i.name,
            size,
            i.chunks,
            rfc3339(i.mtime)
        );
    }
    Ok(())
}

async fn rm(a: RmArgs, js: &nats_jetstream::Context, urls: &str) -> Result<()> {
    match &a.name {
        Some(name) => {
            if !a.force
                && !confirm(&format!(
                    "Really delete object {name} of bucket {}",
                    a.bucket
                ))?
            {
                return Ok(());
            }
            let store = open(js, &a.bucket, urls).await?;
            store.delete(name).await.map_err(|e| {
                obj_error(e, urls).context(format!("object rm {} {name}", a.bucket))
            })?;
            println!("Object {name} was deleted from bucket {}", a.bucket);
        }
        None => {
            if !a.force
                && !confirm(&format!(
                    "Really delete bucket {} and all its objects",
                    a.bucket
                ))?
            {
                return Ok(());
            }
            js.delete_object_store(&a.bucket)
                .await
                .map_err(|e| obj_error(e, urls).context(format!("object rm {}", a.bucket)))?;
            println!("Object Store bucket {} was deleted", a.bucket);
        }
    }
    Ok(())
}

async fn watch(
    a: WatchArgs,
    js: &nats_jetstream::Context,
    urls: &str,
    mut shutdown: Shutdown,
) -> Result<()> {
    let context = || format!("object watch {}", a.bucket);
    let store = open(js, &a.bucket, urls).await?;
    let mut updates = if a.history {
        store.watch_with_history().await
    } else {
        store.watch().await
    }
    .map_err(|e| obj_error(e, urls).context(context()))?;
    eprintln!("Watching bucket {}", a.bucket);
    loop {
        let update = tokio::select! {
            biased;
            () = &mut shutdown => return Ok(()),
            u = updates.next() => u,
        };
        let Some(update) = update else {
            return Err(CliError::msg(format!("{}: the watch ended", context())));
        };
        let info = update.map_err(|e| obj_error(e, urls).context(context()))?;
        let what = if info.deleted {
            "DEL".to_string()
        } else if let Some(l) = info.link() {
            format!("LINK -> {}/{}", l.bucket, l.name.as_deref().unwrap_or(""))
        } else {
            format!("PUT {} in {} chunks", human_bytes(info.size), info.chunks)
        };
        println!("[{}] {} {what}", rfc3339(info.mtime), info.name);
    }
}

async fn seal(a: SealArgs, js: &nats_jetstream::Context, urls: &str) -> Result<()> {
    if !a.force
        && !confirm(&format!(
            "Really seal bucket {} (it cannot be undone)",
            a.bucket
        ))?
    {
        return Ok(());
    }
    let store = open(js, &a.bucket, urls).await?;
    store
        .seal()
        .await
        .map_err(|e| obj_error(e, urls).context(format!("object seal {}", a.bucket)))?;
    println!("Object Store bucket {} was sealed", a.bucket);
    Ok(())
}

fn status_json(s: &object_store::Status) -> serde_json::Value {
    serde_json::json!({
        "bucket": s.bucket,
        "description": s.description,
        "ttl": u64::try_from(s.max_age.as_nanos()).unwrap_or(u64::MAX),
        "storage": s.storage,
        "replicas": s.replicas,
        "sealed": s.sealed,
        "size": s.size,
        "stream": s.stream_name(),
        "messages": s.stream.state.messages,
        "metadata": s.metadata,
    })
}

fn print_status(s: &object_store::Status) {
    let mut rows = vec![
        ("bucket", s.bucket.clone()),
        ("stream", s.stream_name().to_string()),
        ("storage", format!("{:?}", s.storage).to_lowercase()),
        ("replicas", s.replicas.to_string()),
        (
            "ttl",
            if s.max_age.is_zero() {
                "unlimited".into()
            } else {
                human_duration(s.max_age)
            },
        ),
        ("sealed", s.sealed.to_string()),
        ("size", human_bytes(s.size)),
    ];
    if let Some(d) = &s.description {
        rows.insert(1, ("description", d.clone()));
    }
    section("Object Store status", &rows);
}

fn print_object(i: &ObjectInfo) {
    let mut rows = vec![
        ("name", i.name.clone()),
        ("bucket", i.bucket.clone()),
        (
            "size",
            format!("{} ({} bytes)", human_bytes(i.size), i.size),
        ),
        ("chunks", i.chunks.to_string()),
        ("modified", rfc3339(i.mtime)),
        ("digest", i.digest.clone().unwrap_or_else(|| "-".into())),
        ("nuid", i.nuid.clone()),
    ];
    if let Some(d) = &i.description {
        rows.insert(1, ("description", d.clone()));
    }
    if let Some(l) = i.link() {
        rows.push((
            "link",
            format!("{}/{}", l.bucket, l.name.as_deref().unwrap_or("")),
        ));
    }
    for (k, v) in &i.metadata {
        rows.push(("metadata", format!("{k}={v}")));
    }
    section("Object information", &rows);
}
