//! Waiting helpers shared by the integration test binaries (each includes this file with
//! `#[path]`): deadlines instead of sleeps.

#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use futures_util::StreamExt;
use nats_client::{Event, EventStream, Message, Subscriber};

/// Default deadline for anything a test waits on.
pub(crate) const DEADLINE: Duration = Duration::from_secs(15);

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

/// How often [`eventually`] re-checks its condition.
const CHECK_EVERY: Duration = Duration::from_millis(2);

/// Waits until `cond` holds (checked every 2 ms), or panics after `DEADLINE` with `what`. For
/// state that no event announces (a counter, a snapshot); a wait for an event uses
/// [`wait_event`].
pub(crate) async fn eventually(what: &str, cond: impl Fn() -> bool) {
    within(what, async {
        while !cond() {
            tokio::time::sleep(CHECK_EVERY).await;
        }
    })
    .await;
}

/// The next message of `sub`, within the deadline.
pub(crate) async fn next_msg(sub: &mut Subscriber) -> Message {
    within("a message", sub.next())
        .await
        .expect("subscription ended")
}

/// Waits for the first event matching `pred`, returning every event seen up to and including it.
pub(crate) async fn wait_event(
    events: &mut EventStream,
    pred: impl Fn(&Event) -> bool,
) -> Vec<Event> {
    let mut seen = Vec::new();
    within("an event", async {
        while let Some(e) = events.next().await {
            let hit = pred(&e);
            seen.push(e);
            if hit {
                return;
            }
        }
        panic!("event stream ended; saw {seen:?}");
    })
    .await;
    seen
}

/// Notifies when dropped. Moved into a callback, it shows that the client let go of the
/// callback, i.e. every task that could still call it has ended: a positive sign to wait on.
pub(crate) struct DropSignal(std::sync::Arc<tokio::sync::Notify>);

impl DropSignal {
    /// The signal, and what to wait on (`gone.notified()`) for its drop.
    pub(crate) fn new() -> (DropSignal, std::sync::Arc<tokio::sync::Notify>) {
        let gone = std::sync::Arc::new(tokio::sync::Notify::new());
        (DropSignal(std::sync::Arc::clone(&gone)), gone)
    }
}

impl Drop for DropSignal {
    fn drop(&mut self) {
        self.0.notify_one();
    }
}
