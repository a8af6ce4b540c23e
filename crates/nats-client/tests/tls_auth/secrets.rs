//! Secrets never appear in Debug/Display output, errors, events or logs.

use std::io::Write;
use std::sync::{Arc, Mutex};

use nats_client::{Auth, ConnectOptions};
use nats_testkit::ServerConfig;
use tracing_subscriber::fmt::MakeWriter;

use crate::support::{creds_text, round_trip, Operator};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[test]
fn debug_output_redacts_every_secret() {
    let op = Operator::new();
    let (jwt, seed) = op.user("u", None);
    let nkey_seed = nkeys::KeyPair::new_user().seed().unwrap();
    let outputs = [
        format!(
            "{:?}",
            ConnectOptions::new().user_and_password("alice", "hunter2pw")
        ),
        format!("{:?}", ConnectOptions::new().token("tok3nvalue")),
        format!("{:?}", ConnectOptions::new().nkey(nkey_seed.clone())),
        format!(
            "{:?}",
            ConnectOptions::new().credentials(creds_text(&jwt, &seed))
        ),
        format!(
            "{:?}",
            Auth {
                jwt: Some(jwt.clone()),
                pass: Some("hunter2pw".into()),
                token: Some("tok3nvalue".into()),
                signature: Some(vec![1, 2, 3]),
                ..Auth::default()
            }
        ),
    ];
    for out in &outputs {
        for secret in [
            "hunter2pw",
            "tok3nvalue",
            nkey_seed.as_str(),
            seed.as_str(),
            jwt.as_str(),
        ] {
            assert!(!out.contains(secret), "secret in {out}");
        }
    }
    assert!(
        outputs[0].contains("alice"),
        "user names are not secret: {}",
        outputs[0]
    );
}

/// Failed and successful connections with every kind of secret: nothing secret in errors,
/// events or TRACE-level logs.
#[tokio::test]
async fn errors_events_and_logs_never_contain_secrets() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mut texts: Vec<String> = Vec::new();
    let server = ServerConfig::new()
        .user_password("alice", "hunter2pw")
        .start()
        .await
        .unwrap();
    // URL password: success, then a forced reconnect so events flow.
    let url = format!("nats://alice:hunter2pw@127.0.0.1:{}", server.port());
    let client = ConnectOptions::new().connect(url.as_str()).await.unwrap();
    let mut events = client.events();
    round_trip(&client).await;
    texts.push(client.connected_url().unwrap());
    texts.push(format!("{:?}", client.server_pool()));
    client.force_reconnect().await.unwrap();
    let seen = crate::support::wait_event(&mut events, |e| {
        matches!(e, nats_client::Event::Reconnected)
    })
    .await;
    texts.extend(seen.iter().map(|e| format!("{e} {e:?}")));
    client.close().await;

    // Wrong URL token / password: the errors.
    for bad in [
        format!("nats://tok3nvalue@127.0.0.1:{}", server.port()),
        format!("nats://alice:wr0ngpw@127.0.0.1:{}", server.port()),
    ] {
        let err = ConnectOptions::new().connect(bad).await.unwrap_err();
        texts.push(format!("{err} {err:?}"));
    }
    let err = ConnectOptions::new()
        .nkey(nkeys::KeyPair::new_user().seed().unwrap())
        .connect(server.url())
        .await
        .unwrap_err();
    texts.push(format!("{err} {err:?}"));
    let err = ConnectOptions::new()
        .token("tok3nvalue")
        .connect(server.url())
        .await
        .unwrap_err();
    texts.push(format!("{err} {err:?}"));
    let logs = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    assert!(logs.contains("127.0.0.1"), "the capture works: {logs}");
    texts.push(logs);

    for text in &texts {
        for secret in ["hunter2pw", "tok3nvalue", "wr0ngpw"] {
            assert!(!text.contains(secret), "{secret} leaked in: {text}");
        }
    }
}
