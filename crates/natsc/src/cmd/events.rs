//! `natsc events`: connect and print every connection event with a timestamp.

use std::time::SystemTime;

use clap::Args;
use nats_client::Event;
use tokio::sync::mpsc;

use super::Shutdown;
use crate::conn::ConnFlags;
use crate::error::Result;
use crate::util::rfc3339;

/// Connect and print every connection event until interrupted.
#[derive(Args)]
pub(crate) struct EventsArgs {}

/// Prints events until `shutdown`, then closes and prints the last ones.
pub(crate) async fn run(_args: EventsArgs, conn: &ConnFlags, mut shutdown: Shutdown) -> Result<()> {
    let (tx, mut rx) = mpsc::unbounded_channel::<(SystemTime, Event)>();
    let options = conn.options()?.event_callback(move |e: &Event| {
        let _ = tx.send((SystemTime::now(), e.clone()));
    });
    let target = conn.target()?;
    let client = conn.connect(options, &target.urls).await?;
    eprintln!(
        "natsc: watching the connection to {}; ctrl-c to stop",
        crate::util::shown_urls(&target.urls)
    );
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            e = rx.recv() => match e {
                Some((t, e)) => print(t, &e, client.connected_url()),
                None => return Ok(()),
            },
        }
    }
    client.close().await;
    // The rest, up to Closed (the channel ends when the client is gone).
    drop(client);
    while let Some((t, e)) = rx.recv().await {
        let last = matches!(e, Event::Closed { .. });
        print(t, &e, None);
        if last {
            break;
        }
    }
    Ok(())
}

fn print(t: SystemTime, e: &Event, url: Option<String>) {
    match (e, url) {
        (Event::Connected | Event::Reconnected, Some(url)) => {
            println!("{}  {e} to {url}", rfc3339(t));
        }
        _ => println!("{}  {e}", rfc3339(t)),
    }
}
