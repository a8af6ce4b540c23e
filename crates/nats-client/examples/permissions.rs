//! # Permissions: what the server refuses
//!
//! A server may limit what a user publishes and subscribes to. A refusal never closes the
//! connection: a publish to a subject the user may not use is dropped by the server and
//! reported as a `ServerError` event (and `client.last_error()`); a subscription it refuses is
//! reported the same way and recorded on the `Subscriber` (`permission_error()`). With
//! `permission_error_on_subscribe(true)`, `Subscriber::try_next()` returns the refusal instead
//! of waiting for messages that will not come. Everything allowed keeps working.
//!
//! ```text
//! cargo run -p nats-client --example permissions
//! ```

use std::time::Duration;

use futures_util::StreamExt;
use nats_client::{ConnectOptions, Event, SubscribeError};
use nats_testkit::ServerConfig;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = ServerConfig::new()
        .extra(
            r#"authorization { users = [ { user: "reporter", password: "pw",
                 permissions: { publish: { allow: ["reports.>"] },
                                subscribe: { allow: ["reports.>", "_INBOX.>"] } } } ] }"#,
        )
        .start()
        .await?;
    let client = ConnectOptions::new()
        .user_and_password("reporter", "pw")
        .permission_error_on_subscribe(true)
        .connect(server.url())
        .await?;
    let mut events = client.events();

    // A publish the user may not make: the server drops it and says so.
    client.publish("payroll.june", "42".into()).await?;
    let refusal = next_server_error(&mut events).await?;
    println!("publish refused: {refusal}");
    println!(
        "last_error(): {:?}",
        client.last_error().map(|e| e.to_string())
    );

    // A subscription the user may not make.
    let mut payroll = client.subscribe("payroll.>").await?;
    next_server_error(&mut events).await?;
    match tokio::time::timeout(WAIT, payroll.try_next()).await? {
        Err(SubscribeError::PermissionDenied(e)) => println!("subscription refused: {e}"),
        other => return Err(format!("expected a refusal, got {other:?}").into()),
    }
    println!(
        "payroll.permission_error() is set: {}",
        payroll.permission_error().is_some()
    );

    // What is allowed still works on the same connection.
    let mut reports = client.subscribe("reports.>").await?;
    client.publish("reports.daily", "ok".into()).await?;
    let msg = tokio::time::timeout(WAIT, reports.try_next())
        .await??
        .ok_or("subscription ended")?;
    println!("received on {}: {:?}", msg.subject, msg.payload);
    println!("status: {:?}", client.status());
    client.close().await;
    Ok(())
}

/// The next `ServerError` event, as text.
async fn next_server_error(
    events: &mut nats_client::EventStream,
) -> Result<String, Box<dyn std::error::Error>> {
    tokio::time::timeout(WAIT, async {
        while let Some(event) = events.next().await {
            if let Event::ServerError { error } = event {
                return Ok(error.to_string());
            }
        }
        Err("event stream ended".into())
    })
    .await?
}
