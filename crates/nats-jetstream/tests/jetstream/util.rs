//! Shared helpers: deadlines instead of sleeps, servers, contexts, collecting messages.

#![allow(dead_code)]

use std::time::Duration;

use futures_util::StreamExt;
use nats_client::ConnectOptions;
use nats_jetstream::{stream, Context};
use nats_testkit::{FaultProxy, NatsServer, ServerConfig};

// `within` / `within_for`: the workspace's test waiting helpers (deadlines, not sleeps).
#[path = "../../../nats-client/tests/common/wait.rs"]
mod wait;

pub(crate) use wait::{within, within_for};

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

/// The next item of `messages` is `PermissionDenied` naming `subject` (a refused pull), and
/// then the stream ends.
pub(crate) async fn expect_refused(
    messages: &mut nats_jetstream::consumer::Messages,
    subject: &str,
) {
    match next_item(messages).await {
        Some(Err(nats_jetstream::ConsumeError::PermissionDenied(e))) => {
            assert!(e.message().contains(subject), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        next_item(messages).await.is_none(),
        "the stream ends after the error"
    );
}

/// A durable pull consumer `name` on `s` with the given ack wait.
pub(crate) async fn durable(
    s: &stream::Stream,
    name: &str,
    ack_wait: Duration,
) -> nats_jetstream::consumer::PullConsumer {
    s.create_consumer(nats_jetstream::consumer::pull::Config {
        ack_wait,
        ..durable_config(name)
    })
    .await
    .unwrap()
}

/// The config of a durable pull consumer `name`, everything else the defaults.
pub(crate) fn durable_config(name: &str) -> nats_jetstream::consumer::pull::Config {
    nats_jetstream::consumer::pull::Config {
        durable_name: Some(name.into()),
        ..Default::default()
    }
}

/// `messages()` with pulls expiring after `expires` (heartbeat: half of it).
pub(crate) async fn consume_for(
    c: &nats_jetstream::consumer::PullConsumer,
    expires: Duration,
) -> nats_jetstream::consumer::Messages {
    c.consume().expires(expires).messages().await.unwrap()
}

/// A JetStream server behind a fault proxy, and a context through the proxy whose keep-alive
/// is far off (a black hole then shows as missed heartbeats, not a dead socket).
pub(crate) async fn js_behind_proxy(api_timeout: Duration) -> (NatsServer, FaultProxy, Context) {
    let server = NatsServer::start_jetstream().await.unwrap();
    let proxy = FaultProxy::start(server.addr()).await.unwrap();
    let client = fast()
        .ping_interval(Duration::from_secs(60))
        .connect(proxy.url())
        .await
        .unwrap();
    let js = nats_jetstream::ContextBuilder::new()
        .timeout(api_timeout)
        .build(client);
    (server, proxy, js)
}

/// A JetStream server whose only user (`puller`) may do everything but pull: publishing to
/// `$JS.API.CONSUMER.MSG.NEXT.>` is denied; and a context as that user.
pub(crate) async fn js_server_denying_pulls() -> (NatsServer, Context) {
    let server = ServerConfig::new()
        .jetstream()
        .extra(
            r#"authorization { users = [ { user: "puller", password: "pw",
                 permissions: { publish: { allow: [">"], deny: ["$JS.API.CONSUMER.MSG.NEXT.>"] },
                                subscribe: { allow: [">"] } } } ] }"#,
        )
        .start()
        .await
        .unwrap();
    let client = fast()
        .user_and_password("puller", "pw")
        .connect(server.url())
        .await
        .unwrap();
    (server, nats_jetstream::new(client))
}
