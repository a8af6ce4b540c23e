//! # A NATS service (ADR-32, the `micro` API)
//!
//! A service `calc` with two endpoints in the group `calc`: `add` served as a stream of
//! requests, `div` served by a handler that answers a division by zero with a service error
//! (headers `Nats-Service-Error` / `Nats-Service-Error-Code`). A second client calls both,
//! then discovers the service through `$SRV.PING`, `$SRV.INFO` and `$SRV.STATS` and prints
//! what it learns; `stop()` drains the endpoints.
//!
//! ```text
//! cargo run -p nats-client --example service
//! ```

use std::time::Duration;

use futures_util::StreamExt;
use nats_client::service::{Discovery, Service, ERROR_CODE_HEADER, ERROR_HEADER};
use nats_testkit::NatsServer;

/// Two integers from "a b".
fn operands(payload: &[u8]) -> Option<(i64, i64)> {
    let text = std::str::from_utf8(payload).ok()?;
    let mut it = text.split_whitespace().map(str::parse::<i64>);
    match (it.next(), it.next(), it.next()) {
        (Some(Ok(a)), Some(Ok(b)), None) => Some((a, b)),
        _ => None,
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = NatsServer::start().await?;
    let client = nats_client::connect(server.url()).await?;

    let service = Service::builder("calc", "1.0.0")
        .description("integer arithmetic")
        .metadata([("team", "examples")])
        .start(&client)
        .await?;
    let calc = service.group("calc");

    // `add`: a stream of requests, served by a task of our own.
    let mut add = calc.endpoint("add").add().await?;
    let adder = tokio::spawn(async move {
        while let Some(request) = add.next().await {
            let answer = match operands(request.payload()) {
                Some((a, b)) => {
                    request
                        .respond(a.saturating_add(b).to_string().into())
                        .await
                }
                None => request.error(400, "expected two integers", "".into()).await,
            };
            if let Err(e) = answer {
                eprintln!("add: {e}");
            }
        }
    });
    // `div`: a handler the service calls for each request.
    calc.endpoint("div")
        .metadata([("rounding", "toward zero")])
        .handler(|request| async move {
            let answer = match operands(request.payload()) {
                Some((_, 0)) => request.error(422, "division by zero", "".into()).await,
                Some((a, b)) => request.respond(a.wrapping_div(b).to_string().into()).await,
                None => request.error(400, "expected two integers", "".into()).await,
            };
            if let Err(e) = answer {
                eprintln!("div: {e}");
            }
        })
        .await?;
    client.flush().await?; // the server knows every subscription
    println!(
        "service {} {} started, id {}",
        service.name(),
        service.version(),
        service.id()
    );

    let caller = nats_client::connect(server.url()).await?;
    for (subject, body) in [
        ("calc.add", "2 40"),
        ("calc.div", "84 2"),
        ("calc.div", "1 0"),
    ] {
        let reply = caller.request(subject, body.into()).await?;
        match reply.headers.as_ref().and_then(|h| h.get(ERROR_HEADER)) {
            Some(error) => {
                let code = reply
                    .headers
                    .as_ref()
                    .and_then(|h| h.get(ERROR_CODE_HEADER));
                println!(
                    "{subject} {body:?} -> error {} {error}",
                    code.unwrap_or("?")
                );
            }
            None => println!(
                "{subject} {body:?} -> {}",
                String::from_utf8_lossy(&reply.payload)
            ),
        }
    }

    // Discovery, as any NATS client (or `natsc service ls|info|stats`) does it.
    let discovery = Discovery::new(&caller).stall(Duration::from_millis(100));
    for ping in discovery.ping(None, None).await? {
        println!("PING  {} {} {}", ping.name, ping.id, ping.version);
    }
    for info in discovery.info(Some("calc"), None).await? {
        println!(
            "INFO  {}: {:?}, metadata {:?}",
            info.name, info.description, info.metadata
        );
        for e in &info.endpoints {
            println!(
                "      {} on {} (queue group {})",
                e.name, e.subject, e.queue_group
            );
        }
    }
    for stats in discovery.stats(Some("calc"), Some(service.id())).await? {
        println!("STATS started {}", stats.started);
        for e in &stats.endpoints {
            println!(
                "      {}: {} requests, {} errors, last error {:?}, average {:?}",
                e.name, e.num_requests, e.num_errors, e.last_error, e.average_processing_time
            );
        }
    }

    service.stop().await;
    tokio::time::timeout(Duration::from_secs(5), adder).await??;
    println!("stopped; the add stream ended after its last request");
    caller.close().await;
    client.close().await;
    Ok(())
}
