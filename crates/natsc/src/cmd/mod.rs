//! One module per command: its arguments (clap derive, doc comments are the help) and `run`.

use std::future::Future;
use std::pin::Pin;

use clap::Subcommand;

use crate::conn::ConnFlags;
use crate::error::Result;

mod bench;
mod demo;
mod events;
mod pub_;
mod reply;
mod req;
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
    /// Measure throughput and latency: pub, sub, pubsub or reqrep
    Bench(bench::BenchArgs),
    /// Live fail-over demo: a local 3-node cluster, nodes killed and restarted under a
    /// publisher and a subscriber, every connection event printed
    Demo(demo::DemoArgs),
}

/// Runs `command`; long-running commands stop when `shutdown` resolves.
pub(crate) async fn run(command: Command, conn: ConnFlags, shutdown: Shutdown) -> Result<()> {
    match command {
        Command::Pub(args) => pub_::run(args, &conn, shutdown).await,
        Command::Sub(args) => sub::run(args, &conn, shutdown).await,
        Command::Req(args) => req::run(args, &conn, shutdown).await,
        Command::Reply(args) => reply::run(args, &conn, shutdown).await,
        Command::Events(args) => events::run(args, &conn, shutdown).await,
        Command::Bench(args) => bench::run(args, &conn, shutdown).await,
        Command::Demo(args) => demo::run(args, &conn, shutdown).await,
    }
}
