//! # WebSocket
//!
//! A `nats-server` with a `websocket { no_tls: true }` block (started here through
//! `nats-testkit`); the client connects to its `ws://` URL and does what it does over TCP:
//! subscribe, publish, request/reply. A second client on the plain `nats://` port answers the
//! requests: one server, both transports, the same protocol. A pool mixing `ws://` and
//! `nats://` URLs is refused with `ConnectError::MixingWebSocketSchemes`.
//!
//! `wss://` URLs work the same way with the TLS options of `tls://`
//! (`tls_root_certificates`, `tls_client_cert`, `tls_client_config`).
//!
//! ```text
//! cargo run -p nats-client --example websocket
//! ```

use std::time::Duration;

use futures_util::StreamExt;
use nats_client::{Bytes, ConnectError, ConnectOptions};
use nats_testkit::ServerConfig;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = ServerConfig::new().websocket(None).start().await?;
    let ws_url = server.ws_url().ok_or("the server has no websocket port")?;
    println!("server: {} and {ws_url}", server.url());

    let client = ConnectOptions::new()
        .name("websocket-example")
        .connect(ws_url.as_str())
        .await?;
    println!("connected over {:?}", client.connected_url());

    // Publish / subscribe over the WebSocket.
    let mut sub = client.subscribe("greetings.*").await?;
    for who in ["alice", "bob", "carol"] {
        client
            .publish(
                format!("greetings.{who}"),
                Bytes::from(format!("hello {who}")),
            )
            .await?;
    }
    for _ in 0..3 {
        let msg = tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await?
            .ok_or("subscription ended")?;
        println!(
            "received on {}: {}",
            msg.subject,
            String::from_utf8_lossy(&msg.payload)
        );
    }

    // Request / reply: the responder is a TCP client of the same server.
    let tcp = nats_client::connect(server.url()).await?;
    let mut requests = tcp.subscribe("svc.upper").await?;
    tcp.flush().await?;
    let responder = tcp.clone();
    let responder_task = tokio::spawn(async move {
        while let Some(msg) = requests.next().await {
            if let Some(reply) = &msg.reply {
                let answer = String::from_utf8_lossy(&msg.payload).to_uppercase();
                if let Err(e) = responder.publish(reply, answer.into()).await {
                    eprintln!("responder: {e}");
                }
            }
        }
    });
    let reply = client
        .request("svc.upper", Bytes::from_static(b"over websocket"))
        .await?;
    println!(
        "request over ws, reply from tcp: {}",
        String::from_utf8_lossy(&reply.payload)
    );

    // One pool is all WebSocket or all plain.
    match nats_client::connect(format!("{ws_url},{}", server.url())).await {
        Err(e @ ConnectError::MixingWebSocketSchemes { .. }) => println!("mixed pool: {e}"),
        other => return Err(format!("expected a mixed-pool error, got {other:?}").into()),
    }

    let stats = client.statistics();
    println!(
        "ws client: {} sent, {} received",
        stats.out_msgs, stats.in_msgs
    );
    client.drain().await?;
    tcp.close().await;
    responder_task.abort();
    Ok(())
}
