//! Shared helpers: deadlines instead of sleeps, servers, contexts, collecting messages.

#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use futures_util::StreamExt;
use nats_client::ConnectOptions;
use nats_jetstream::{stream, Context};
use nats_testkit::NatsServer;

/// Default deadline for anything a test waits on.
pub(crate) const DEADLINE: Duration = Duration::from_secs(20);

/// Awaits `f` or panics after `DEADLINE` with `what`.
pub(crate) async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    within_for(DEADLINE, what, f).await
}

/// Awaits `f` or panics after `d` with `what`.
pub(crate) async fn within_for<T>(d: Duration, what: &str, f: impl Future<Output = T>) -> T {
    match tokio::time::timeout(d, f).await {
        Ok(v) => v,
        Err(_) => panic!("timed out after {d:?} waiting for {what}"),
    }
}

/// Client options for fast fail-over tests: 50 ms reconnect wait, no jitter, retry forever.
pub(crate) fn fast() -> ConnectOptions {
    ConnectOptions::new()
        .reconnect_wait(Duration::from_millis(50))
        .reconnect_jitter(Duration::ZERO, Duration::ZERO)
        .connection_timeout(Duration::from_secs(1))
        .max_reconnects(None)
}

/// A JetStream server and a context on it.
pub(crate) async fn js_server() -> (NatsServer, Context) {
    let server = NatsServer::start_jetstream().await.unwrap();
    let client = fast().connect(server.url()).await.unwrap();
    (server, nats_jetstream::new(client))
}

/// A memory stream `name` on `<lowercase name>.>`.
pub(crate) async fn memory_stream(js: &Context, name: &str) -> stream::Stream {
    js.create_stream(stream::Config {
        name: name.into(),
        subjects: vec![format!("{}.>", name.to_lowercase())],
        storage: stream::StorageType::Memory,
        ..Default::default()
    })
    .await
    .unwrap()
}

/// Publishes `n` messages `"<prefix>-<i>"` to `subject` and waits for every ack.
pub(crate) async fn publish_n(js: &Context, subject: &str, prefix: &str, n: usize) {
    let mut acks = Vec::with_capacity(n);
    for i in 0..n {
        acks.push(
            js.publish(subject, format!("{prefix}-{i}").into())
                .await
                .unwrap(),
        );
    }
    for ack in acks {
        within("an ack", ack).await.unwrap();
    }
}

/// The next item of a consumer stream, within the deadline.
pub(crate) async fn next_item<S>(s: &mut S) -> Option<S::Item>
where
    S: futures_core::Stream + Unpin,
{
    within("a consumer item", s.next()).await
}

/// Installs a tracing subscriber once (RUST_LOG controls it).
pub(crate) fn trace() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}
