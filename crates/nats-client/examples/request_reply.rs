//! # Request / reply
//!
//! A responder answers on `svc.upper`; requests get its reply. A request to a subject nobody
//! subscribes to fails at once with `RequestError::NoResponders` (the server's 503 status), and
//! a request to a responder that never answers fails with `RequestError::TimedOut` after the
//! per-call timeout of `request_with_timeout`. `send_request` takes a `Request` with
//! headers and a timeout together; the responder sees the headers.
//!
//! ```text
//! cargo run -p nats-client --example request_reply
//! ```

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use nats_client::{Bytes, HeaderMap, Request, RequestError};
use nats_testkit::NatsServer;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = NatsServer::start().await?;
    let client = nats_client::connect(server.url()).await?;

    // The responder: upper-cases the payload and publishes it to the request's reply subject.
    let mut requests = client.subscribe("svc.upper").await?;
    let responder = client.clone();
    let responder_task = tokio::spawn(async move {
        while let Some(msg) = requests.next().await {
            if let Some(reply) = &msg.reply {
                let mut answer = String::from_utf8_lossy(&msg.payload).to_uppercase();
                if let Some(id) = msg.headers.as_ref().and_then(|h| h.get("Request-Id")) {
                    answer = format!("{answer} (request {id})");
                }
                if let Err(e) = responder.publish(reply, answer.into()).await {
                    eprintln!("responder: {e}");
                }
            }
        }
    });
    // A "responder" that takes requests but never answers. It must still consume them:
    // `drain()` waits until every subscription's received messages have been taken.
    let mut silent = client.subscribe("svc.silent").await?;
    let silent_task = tokio::spawn(async move { while silent.next().await.is_some() {} });
    client.flush().await?; // both subscriptions are known to the server

    for word in ["hello", "nats"] {
        let reply = client
            .request("svc.upper", Bytes::from(word.to_string()))
            .await?;
        println!(
            "request svc.upper {word:?} -> {:?}",
            String::from_utf8_lossy(&reply.payload)
        );
    }

    // Headers and a timeout together.
    let mut headers = HeaderMap::new();
    headers.insert("Request-Id", "42")?;
    let request = Request::new()
        .payload("with headers".into())
        .headers(headers)
        .timeout(Duration::from_secs(2));
    let reply = client.send_request("svc.upper", request).await?;
    println!(
        "send_request svc.upper -> {:?}",
        String::from_utf8_lossy(&reply.payload)
    );

    let started = Instant::now();
    match client.request("svc.nobody", Bytes::new()).await {
        Err(RequestError::NoResponders) => println!(
            "request svc.nobody -> NoResponders after {:?} (no waiting for the timeout)",
            started.elapsed()
        ),
        other => return Err(format!("expected NoResponders, got {other:?}").into()),
    }

    let started = Instant::now();
    match client
        .request_with_timeout("svc.silent", Bytes::new(), Duration::from_millis(300))
        .await
    {
        Err(e @ RequestError::TimedOut(_)) => {
            println!("request svc.silent -> {e} (after {:?})", started.elapsed());
        }
        other => return Err(format!("expected TimedOut, got {other:?}").into()),
    }

    client.drain().await?; // ends both responders' subscriptions
    responder_task.await?;
    silent_task.await?;
    println!("drained, responder stopped");
    Ok(())
}
