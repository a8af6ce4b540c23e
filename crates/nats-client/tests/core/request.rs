//! Request/reply: one inbox subscription, timeouts that leave nothing, no responders.

use std::time::Duration;

use futures_util::StreamExt;
use nats_client::{ConnectOptions, RequestError};
use nats_testkit::NatsServer;

use crate::util::within;

fn responder(client: nats_client::Client, mut sub: nats_client::Subscriber) {
    tokio::spawn(async move {
        while let Some(m) = sub.next().await {
            if let Some(reply) = m.reply {
                let mut body = b"echo:".to_vec();
                body.extend_from_slice(&m.payload);
                let _ = client.publish(reply.as_str(), body.into()).await;
            }
        }
    });
}

#[tokio::test]
async fn request_gets_the_reply() {
    let server = NatsServer::start().await.unwrap();
    let client = nats_client::connect(server.url()).await.unwrap();
    let sub = client.subscribe("svc.echo").await.unwrap();
    responder(client.clone(), sub);
    client.flush().await.unwrap();
    for i in 0..20 {
        let reply = client
            .request("svc.echo", i.to_string().into())
            .await
            .unwrap();
        assert_eq!(reply.payload, format!("echo:{i}"));
    }
    // concurrent requests share the one inbox subscription
    let mut tasks = Vec::new();
    for i in 0..50 {
        let c = client.clone();
        tasks.push(tokio::spawn(async move {
            c.request("svc.echo", i.to_string().into())
                .await
                .map(|m| (i, m))
        }));
    }
    for t in tasks {
        let (i, m) = within("request", t).await.unwrap().unwrap();
        assert_eq!(m.payload, format!("echo:{i}"));
    }
}

#[tokio::test]
async fn no_responders_is_its_own_error() {
    let server = NatsServer::start().await.unwrap();
    let client = nats_client::connect(server.url()).await.unwrap();
    let err = within("request", client.request("nobody.home", "x".into()))
        .await
        .unwrap_err();
    assert!(matches!(err, RequestError::NoResponders), "{err:?}");
}

#[tokio::test]
async fn timed_out_request_leaves_nothing_behind() {
    let server = NatsServer::start().await.unwrap();
    let client = ConnectOptions::new()
        .request_timeout(Duration::from_millis(100))
        .connect(server.url())
        .await
        .unwrap();
    // a subscriber that never answers, so the server does not say "no responders"
    let _silent = client.subscribe("silent").await.unwrap();
    client.flush().await.unwrap();
    let err = client.request("silent", "x".into()).await.unwrap_err();
    assert!(matches!(err, RequestError::TimedOut(_)), "{err:?}");
    let err = client
        .request_with_timeout("silent", "x".into(), Duration::from_millis(50))
        .await
        .unwrap_err();
    assert!(matches!(err, RequestError::TimedOut(d) if d == Duration::from_millis(50)));
    // the request subscription is shared: the server sees two subscriptions in all
    let stats_before = client.statistics();
    assert_eq!(
        stats_before.in_msgs, 2,
        "the silent subscriber got both requests"
    );
}

#[tokio::test]
async fn invalid_request_subject_is_rejected_locally() {
    let server = NatsServer::start().await.unwrap();
    let client = nats_client::connect(server.url()).await.unwrap();
    let err = client.request("bad subject", "x".into()).await.unwrap_err();
    assert!(matches!(err, RequestError::Publish(_)), "{err:?}");
}
