//! `natsc consumer add|info|ls|rm|next`: pull consumers of a stream, with the `nats` CLI's
//! verbs and flags (J11, J12, J16, J17).

use std::io::Write;
use std::time::{Duration, SystemTime};

use clap::{Args, Subcommand, ValueEnum};
use futures_util::StreamExt;
use nats_jetstream::consumer::{self, AckPolicy, DeliverPolicy, ReplayPolicy};

use super::stream::{confirm, print_json, section};
use crate::conn::ConnFlags;
use crate::error::{js_error, CliError, Result};
use crate::util::{human_duration, parse_duration, rfc3339};

/// JetStream consumer management.
#[derive(Args)]
pub(crate) struct ConsumerArgs {
    #[command(subcommand)]
    command: ConsumerCommand,
}

#[derive(Subcommand)]
enum ConsumerCommand {
    /// Create a durable pull consumer on a stream
    #[command(visible_alias = "create")]
    Add(AddArgs),
    /// Print a consumer's configuration and state
    Info(InfoArgs),
    /// List the consumers of a stream
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Delete a consumer
    #[command(visible_alias = "delete")]
    Rm(RmArgs),
    /// Pull messages from a consumer, print and acknowledge them
    Next(NextArgs),
}

/// `--ack`.
#[derive(Clone, Copy, ValueEnum)]
enum Ack {
    Explicit,
    All,
    None,
}

/// `--replay`.
#[derive(Clone, Copy, ValueEnum)]
enum Replay {
    Instant,
    Original,
}

/// `--deliver`: where the consumer starts.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Deliver {
    All,
    Last,
    New,
    LastPerSubject,
    Sequence(u64),
    /// Messages stored at most this long ago.
    Since(Duration),
}

fn parse_deliver(s: &str) -> Result<Deliver, String> {
    let t = s.trim().to_ascii_lowercase();
    match t.as_str() {
        "all" => return Ok(Deliver::All),
        "last" => return Ok(Deliver::Last),
        "new" => return Ok(Deliver::New),
        "subject" | "last-per-subject" | "last_per_subject" => return Ok(Deliver::LastPerSubject),
        _ => {}
    }
    if let Ok(seq) = t.parse::<u64>() {
        return if seq == 0 {
            Err("a start sequence counts from 1".into())
        } else {
            Ok(Deliver::Sequence(seq))
        };
    }
    parse_duration(&t).map(Deliver::Since).map_err(|_| {
        format!("{s:?} is not all, last, new, subject, a sequence or a duration like 1h")
    })
}

#[derive(Args)]
struct AddArgs {
    /// Stream name
    stream: String,

    /// Consumer (durable) name
    name: String,

    /// Only messages on this subject (wildcards allowed)
    #[arg(long, value_name = "SUBJECT")]
    filter: Option<String>,

    /// Where to start: all, last, new, subject (the last of each subject), a stream sequence,
    /// or a duration (messages stored since then, e.g. 1h)
    #[arg(long, default_value = "all", value_parser = parse_deliver, value_name = "POLICY")]
    deliver: Deliver,

    /// How messages are acknowledged
    #[arg(long, value_enum, default_value = "explicit")]
    ack: Ack,

    /// How long the server waits for an ack before redelivering, e.g. 30s [default: the
    /// server's, 30s]
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    wait: Option<Duration>,

    /// Most deliveries of one message; -1 for no limit
    #[arg(long, default_value_t = -1, allow_negative_numbers = true, value_name = "N")]
    max_deliver: i64,

    /// Most messages delivered and not yet acknowledged [default: the server's, 1000]
    #[arg(long, value_name = "N")]
    max_pending: Option<i64>,

    /// Most pull requests waiting at once [default: the server's, 512]
    #[arg(long, value_name = "N")]
    max_waiting: Option<i64>,

    /// Deliver as fast as possible, or at the pace messages were stored
    #[arg(long, value_enum, default_value = "instant")]
    replay: Replay,

    /// A description of the consumer
    #[arg(long)]
    description: Option<String>,

    /// A pull consumer (the only kind natsc creates; accepted as the nats CLI has it)
    #[arg(long)]
    pull: bool,

    /// Print the created consumer's info as JSON
    #[arg(short, long)]
    json: bool,
}

#[derive(Args)]
struct InfoArgs {
    /// Stream name
    stream: String,

    /// Consumer name
    name: String,

    /// The info as the server's JSON
    #[arg(short, long)]
    json: bool,
}

#[derive(Args)]
struct LsArgs {
    /// Stream name
    stream: String,

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
    stream: String,

    /// Consumer name
    name: String,

    /// Delete without asking
    #[arg(short, long)]
    force: bool,
}

#[derive(Args)]
struct NextArgs {
    /// Stream name
    stream: String,

    /// Consumer name
    name: String,

    /// Messages to pull
    #[arg(long, default_value_t = 1)]
    count: usize,

    /// Do not acknowledge them (they are redelivered after the ack wait)
    #[arg(long)]
    no_ack: bool,

    /// How long to wait for the messages
    #[arg(long, default_value = "5s", value_parser = parse_duration, value_name = "DURATION")]
    timeout: Duration,

    /// Print only the payloads
    #[arg(short, long)]
    raw: bool,
}

/// Runs a `consumer` subcommand.
pub(crate) async fn run(args: ConsumerArgs, conn: &ConnFlags) -> Result<()> {
    let (client, js, urls) = conn.jetstream().await?;
    let result = match args.command {
        ConsumerCommand::Add(a) => add(a, &js, &urls).await,
        ConsumerCommand::Info(a) => info(a, &js, &urls).await,
        ConsumerCommand::Ls(a) => ls(a, &js, &urls).await,
        ConsumerCommand::Rm(a) => rm(a, &js, &urls).await,
        ConsumerCommand::Next(a) => next(a, &js, &urls).await,
    };
    client.close().await;
    result
}

async fn add(a: AddArgs, js: &nats_jetstream::Context, urls: &str) -> Result<()> {
    let context = || format!("consumer add {} {}", a.stream, a.name);
    let stream = js
        .get_stream(&a.stream)
        .await
        .map_err(|e| js_error(e, urls).context(context()))?;
    let mut config = consumer::Config {
        durable_name: Some(a.name.clone()),
        description: a.description.clone(),
        ack_policy: match a.ack {
            Ack::Explicit => AckPolicy::Explicit,
            Ack::All => AckPolicy::All,
            Ack::None => AckPolicy::None,
        },
        ack_wait: a.wait.unwrap_or_default(),
        max_deliver: a.max_deliver,
        filter_subject: a.filter.clone().unwrap_or_default(),
        replay_policy: match a.replay {
            Replay::Instant => ReplayPolicy::Instant,
            Replay::Original => ReplayPolicy::Original,
        },
        max_ack_pending: a.max_pending.unwrap_or(0),
        max_waiting: a.max_waiting.unwrap_or(0),
        ..Default::default()
    };
    match a.deliver {
        Deliver::All => config.deliver_policy = DeliverPolicy::All,
        Deliver::Last => config.deliver_policy = DeliverPolicy::Last,
        Deliver::New => config.deliver_policy = DeliverPolicy::New,
        Deliver::LastPerSubject => config.deliver_policy = DeliverPolicy::LastPerSubject,
        Deliver::Sequence(seq) => {
            config.deliver_policy = DeliverPolicy::ByStartSequence;
            config.opt_start_seq = Some(seq);
        }
        Deliver::Since(d) => {
            config.deliver_policy = DeliverPolicy::ByStartTime;
            config.opt_start_time =
                Some(SystemTime::now().checked_sub(d).ok_or_else(|| {
                    CliError::msg("--deliver: that duration reaches before 1970")
                })?);
        }
    }
    let created: consumer::PullConsumer = stream
        .create_consumer(config)
        .await
        .map_err(|e| js_error(e, urls).context(context()))?;
    if a.json {
        print_json(created.cached_info())
    } else {
        println!("Consumer {} > {} was created", a.stream, a.name);
        println!();
        print_info(created.cached_info());
        Ok(())
    }
}

async fn info(a: InfoArgs, js: &nats_jetstream::Context, urls: &str) -> Result<()> {
    let info = js
        .get_consumer_from_stream(&a.stream, &a.name)
        .await
        .map_err(|e| js_error(e, urls).context(format!("consumer info {} {}", a.stream, a.name)))?
        .cached_info()
        .clone();
    if a.json {
        print_json(&info)
    } else {
        print_info(&info);
        Ok(())
    }
}

async fn ls(a: LsArgs, js: &nats_jetstream::Context, urls: &str) -> Result<()> {
    let context = || format!("consumer ls {}", a.stream);
    // The stream first, so that a missing stream is said as such.
    js.stream_info(&a.stream)
        .await
        .map_err(|e| js_error(e, urls).context(context()))?;
    let mut pages = js.consumers(&a.stream);
    let mut infos = Vec::new();
    while let Some(info) = pages.next().await {
        infos.push(info.map_err(|e| js_error(e, urls).context(context()))?);
    }
    infos.sort_by(|x, y| x.name.cmp(&y.name));
    if a.json {
        let names: Vec<&str> = infos.iter().map(|i| i.name.as_str()).collect();
        return print_json(&names);
    }
    if a.names {
        for i in &infos {
            println!("{}", i.name);
        }
        return Ok(());
    }
    if infos.is_empty() {
        println!("No consumers defined on stream {}", a.stream);
        return Ok(());
    }
    let width = infos.iter().map(|i| i.name.len()).max().unwrap_or(0).max(8);
    println!(
        "{:<width$}  {:>10}  {:>11}  {:>11}  filter",
        "consumer", "pending", "ack pending", "redelivered"
    );
    for i in &infos {
        println!(
            "{:<width$}  {:>10}  {:>11}  {:>11}  {}",
            i.name,
            i.num_pending,
            i.num_ack_pending,
            i.num_redelivered,
            if i.config.filter_subject.is_empty() {
                "-"
            } else {
                &i.config.filter_subject
            }
        );
    }
    Ok(())
}

async fn rm(a: RmArgs, js: &nats_jetstream::Context, urls: &str) -> Result<()> {
    if !a.force && !confirm(&format!("Really delete consumer {} > {}", a.stream, a.name))? {
        return Ok(());
    }
    js.delete_consumer_from_stream(&a.stream, &a.name)
        .await
        .map_err(|e| js_error(e, urls).context(format!("consumer rm {} {}", a.stream, a.name)))?;
    println!("Consumer {} > {} was deleted", a.stream, a.name);
    Ok(())
}

async fn next(a: NextArgs, js: &nats_jetstream::Context, urls: &str) -> Result<()> {
    if a.count == 0 {
        return Err(CliError::msg("--count must be at least 1"));
    }
    let context = || format!("consumer next {} {}", a.stream, a.name);
    let consumer = js
        .get_consumer_from_stream(&a.stream, &a.name)
        .await
        .map_err(|e| js_error(e, urls).context(context()))?;
    let policy = consumer.cached_info().config.ack_policy;
    let mut batch = consumer
        .fetch()
        .max_messages(a.count)
        .expires(a.timeout)
        .messages()
        .await
        .map_err(|e| js_error(e, urls).context(context()))?;
    let mut got = 0usize;
    let mut last = None;
    while let Some(item) = batch.next().await {
        let msg = item.map_err(|e| CliError::from(e).context(context()))?;
        got += 1;
        print_message(&msg, a.raw)?;
        match policy {
            // A final ack confirmed by the server: when natsc says "acked", it is.
            AckPolicy::Explicit if !a.no_ack => msg
                .double_ack()
                .await
                .map_err(|e| CliError::from(e).context(context()))?,
            AckPolicy::All if !a.no_ack => last = Some(msg),
            _ => {}
        }
    }
    // With ack all, one ack of the last message acknowledges the batch.
    if let Some(msg) = last {
        msg.double_ack()
            .await
            .map_err(|e| CliError::from(e).context(context()))?;
    }
    if got == 0 {
        return Err(CliError::msg(format!(
            "{}: no message within {}",
            context(),
            human_duration(a.timeout)
        )));
    }
    let acked = match policy {
        AckPolicy::None => " (the consumer does not take acks)",
        _ if a.no_ack => " (not acknowledged)",
        _ => ", acknowledged",
    };
    eprintln!(
        "natsc: received {got} of {} message{}{acked}",
        a.count,
        if a.count == 1 { "" } else { "s" }
    );
    Ok(())
}

fn print_message(msg: &nats_jetstream::Message, raw: bool) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if !raw {
        write!(
            out,
            "[{}] subject {:?}",
            rfc3339(SystemTime::now()),
            msg.subject.as_str()
        )?;
        if let Ok(info) = msg.info() {
            write!(
                out,
                " stream seq {} consumer seq {} delivered {} pending {}",
                info.stream_sequence, info.consumer_sequence, info.delivered, info.pending
            )?;
        }
        writeln!(out)?;
        if let Some(h) = &msg.headers {
            for (k, v) in h.iter() {
                writeln!(out, "{k}: {v}")?;
            }
        }
    }
    out.write_all(&msg.payload)?;
    if !msg.payload.ends_with(b"\n") {
        writeln!(out)?;
    }
    if !raw {
        writeln!(out)?;
    }
    out.flush()?;
    Ok(())
}

fn print_info(info: &consumer::Info) {
    let c = &info.config;
    println!(
        "Information for consumer {} > {}{}",
        info.stream_name,
        info.name,
        if info.created.is_empty() {
            String::new()
        } else {
            format!(" created {}", info.created)
        }
    );
    println!();
    let deliver = match c.deliver_policy {
        DeliverPolicy::All => "all".to_string(),
        DeliverPolicy::Last => "last".to_string(),
        DeliverPolicy::New => "new".to_string(),
        DeliverPolicy::LastPerSubject => "last per subject".to_string(),
        DeliverPolicy::ByStartSequence => {
            format!("from sequence {}", c.opt_start_seq.unwrap_or(0))
        }
        DeliverPolicy::ByStartTime => format!(
            "since {}",
            c.opt_start_time.map(rfc3339).unwrap_or_else(|| "-".into())
        ),
        _ => "other".to_string(),
    };
    let ack = match c.ack_policy {
        AckPolicy::Explicit => "explicit",
        AckPolicy::All => "all",
        AckPolicy::None => "none",
        _ => "other",
    };
    let mut rows = vec![
        ("durable", c.durable_name.is_some().to_string()),
        ("pull", "true".to_string()),
        (
            "filter subject",
            if c.filter_subject.is_empty() {
                "-".to_string()
            } else {
                c.filter_subject.clone()
            },
        ),
        ("deliver policy", deliver),
        ("ack policy", ack.to_string()),
        ("ack wait", human_duration(c.ack_wait)),
        (
            "max deliveries",
            if c.max_deliver < 0 {
                "unlimited".into()
            } else {
                c.max_deliver.to_string()
            },
        ),
        ("max ack pending", c.max_ack_pending.to_string()),
        ("max waiting pulls", c.max_waiting.to_string()),
        (
            "replay policy",
            format!("{:?}", c.replay_policy).to_lowercase(),
        ),
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
            rows.push((
                "replica",
                format!(
                    "{} {}",
                    p.name,
                    if p.offline { "offline" } else { "online" }
                ),
            ));
        }
        section("Cluster", &rows);
    }
    section(
        "State",
        &[
            (
                "last delivered",
                format!(
                    "consumer seq {} stream seq {}",
                    info.delivered.consumer_sequence, info.delivered.stream_sequence
                ),
            ),
            (
                "ack floor",
                format!(
                    "consumer seq {} stream seq {}",
                    info.ack_floor.consumer_sequence, info.ack_floor.stream_sequence
                ),
            ),
            ("pending", info.num_pending.to_string()),
            ("ack pending", info.num_ack_pending.to_string()),
            ("redelivered", info.num_redelivered.to_string()),
            ("waiting pulls", info.num_waiting.to_string()),
        ],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliver_policies() {
        assert_eq!(parse_deliver("all"), Ok(Deliver::All));
        assert_eq!(parse_deliver("Subject"), Ok(Deliver::LastPerSubject));
        assert_eq!(parse_deliver("42"), Ok(Deliver::Sequence(42)));
        assert_eq!(
            parse_deliver("1h"),
            Ok(Deliver::Since(Duration::from_secs(3600)))
        );
        assert!(parse_deliver("0").is_err());
        assert!(parse_deliver("sometimes").is_err());
    }
}
