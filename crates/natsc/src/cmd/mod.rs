//! One module per command: its arguments (clap derive, doc comments are the help) and `run`.

use std::future::Future;
use std::pin::Pin;

use clap::Subcommand;

use crate::conn::ConnFlags;
use crate::error::Result;

mod bench;
mod consumer;
mod context;
mod demo;
mod demo_js;
mod demo_summary;
mod events;
mod js;
mod kv;
mod object;
mod pub_;
mod reply;
mod req;
mod rtt;
mod server;
mod service;
mod stream;
mod sub;

/// The future that tells a long-running command to stop (ctrl-c in `main`, anything in tests).
pub(crate) type Shutdown = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The commands.
#[derive(Subcommand)]
pub(crate) enum Command {
    /// Publish messages to a subject
    Pub(pub_::PubArgs),
    /// Subscribe to a subject and print the messages
    Sub(sub::SubArgs),
    /// Send a request and print the reply
    Req(req::ReqArgs),
    /// Answer requests: echo them, reply a fixed body, or run a command
    Reply(reply::ReplyArgs),
    /// Connect and print every connection event with a timestamp until interrupted
    Events(events::EventsArgs),
    /// Measure the round-trip time to the server
    Rtt(rtt::RttArgs),
    /// The connected server's INFO, a ping of every server, a local nats-server for
    /// development: info, ping, run
    Server(server::ServerArgs),
    /// Named connection profiles: add, ls, select, rm, info
    #[command(visible_alias = "ctx")]
    Context(context::ContextArgs),
    /// Measure throughput and latency: pub, sub, pubsub or reqrep
    Bench(bench::BenchArgs),
    /// JetStream streams: add, info, ls, rm, purge, get
    #[command(visible_alias = "str")]
    Stream(stream::StreamArgs),
    /// JetStream pull consumers: add, info, ls, rm, next
    #[command(visible_alias = "con")]
    Consumer(consumer::ConsumerArgs),
    /// JetStream publish with acks (js pub), account usage (js info)
    Js(js::JsArgs),
    /// NATS services ($SRV discovery): ls, info, stats
    #[command(visible_alias = "micro")]
    Service(service::ServiceArgs),
    /// Key-Value store: add, put, get, create, update, del, purge, history, keys, watch, ls,
    /// rm, status
    Kv(kv::KvArgs),
    /// Object Store: add, put, get, info, ls, rm, watch, seal
    #[command(visible_alias = "obj")]
    Object(object::ObjectArgs),
    /// Live fail-over demo: a local 3-node cluster, nodes killed and restarted under a
    /// publisher and a subscriber, every connection event printed; then the same under
    /// JetStream (R3 stream, acked publishes, a durable consumer): at-most-once vs exactly once
    Demo(demo::DemoArgs),
}

/// Runs `command`; long-running commands stop when `shutdown` resolves.
pub(crate) async fn run(command: Command, conn: ConnFlags, shutdown: Shutdown) -> Result<()> {
    // Every command but `context` itself connects with the context's values filling the gaps.
    let conn = match command {
        Command::Context(_) => conn,
        _ => conn.with_context()?,
    };
    match command {
        Command::Pub(args) => pub_::run(args, &conn, shutdown).await,
        Command::Sub(args) => sub::run(args, &conn, shutdown).await,
        Command::Req(args) => req::run(args, &conn, shutdown).await,
        Command::Reply(args) => reply::run(args, &conn, shutdown).await,
        Command::Events(args) => events::run(args, &conn, shutdown).await,
        Command::Rtt(args) => rtt::run(args, &conn, shutdown).await,
        Command::Server(args) => server::run(args, &conn, shutdown).await,
        Command::Context(args) => context::run(args, &conn).await,
        Command::Bench(args) => bench::run(args, &conn, shutdown).await,
        Command::Stream(args) => stream::run(args, &conn).await,
        Command::Consumer(args) => consumer::run(args, &conn).await,
        Command::Js(args) => js::run(args, &conn).await,
        Command::Service(args) => service::run(args, &conn).await,
        Command::Kv(args) => kv::run(args, &conn, shutdown).await,
        Command::Object(args) => object::run(args, &conn, shutdown).await,
        Command::Demo(args) => demo::run(args, &conn, shutdown).await,
    }
}

/// The next message of `sub`, or `None` when `shutdown` fires first. A subscription that ends
/// on its own is an error that says why (the client's close reason).
pub(crate) async fn next_or_shutdown(
    sub: &mut nats_client::Subscriber,
    shutdown: &mut Shutdown,
    client: &nats_client::Client,
) -> Result<Option<nats_client::Message>> {
    use futures_util::StreamExt;
    let msg = tokio::select! {
        biased;
        () = shutdown => return Ok(None),
        msg = sub.next() => msg,
    };
    match msg {
        Some(msg) => Ok(Some(msg)),
        None => {
            let why = client
                .closed_reason()
                .map(|r| r.to_string())
                .unwrap_or_else(|| "subscription ended".into());
            Err(crate::error::CliError::msg(format!(
                "subscription closed: {why}"
            )))
        }
    }
}
