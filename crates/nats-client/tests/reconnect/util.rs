//! Shared helpers: deadlines instead of sleeps, an event recorder, fast reconnect options.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use nats_client::{ConnectOptions, Event, Status, Subscriber};
use tokio::sync::Notify;
use tokio::time::Instant;

#[path = "../common/wait.rs"]
mod wait;

#[path = "../common/scripted.rs"]
mod scripted;

pub(crate) use scripted::connect_scripted;
#[allow(unused_imports)]
pub(crate) use wait::{eventually, next_msg, wait_event, within, within_for, DEADLINE};

/// Asserts that nothing more is waiting on `subs`, with a positive sign first: after a
/// round trip of their connection (`client`), every message the server had routed to it
/// before has arrived (the server writes in order).
pub(crate) async fn assert_no_more(client: &nats_client::Client, subs: &[&Subscriber]) {
    within("round trip", client.flush()).await.unwrap();
    for sub in subs {
        assert_eq!(sub.pending(), 0, "unexpected messages on {}", sub.subject());
    }
}

/// Waits until the client reports `status`.
pub(crate) async fn wait_status(client: &nats_client::Client, status: Status) {
    let ok = within(&format!("status {status}"), client.wait_for_status(status)).await;
    assert!(
        ok,
        "client closed before reaching {status}: {:?}",
        client.closed_reason()
    );
}

/// Options for fast tests: 50 ms reconnect wait, no jitter, 1 s handshake timeout.
pub(crate) fn fast() -> ConnectOptions {
    ConnectOptions::new()
        .reconnect_wait(Duration::from_millis(50))
        .reconnect_jitter(Duration::ZERO, Duration::ZERO)
        .connection_timeout(Duration::from_secs(1))
        .max_reconnects(None)
}

/// Records every event with the instant it was dispatched, from the very first one (the
/// callback is installed before connecting).
type Timed = Mutex<Vec<(Instant, Event)>>;

#[derive(Clone, Default)]
pub(crate) struct Recorder {
    inner: Arc<(Timed, Notify)>,
}

impl Recorder {
    pub(crate) fn new() -> Recorder {
        Recorder::default()
    }

    /// `opts` with this recorder installed as an event callback.
    pub(crate) fn install(&self, opts: ConnectOptions) -> ConnectOptions {
        let me = self.clone();
        opts.event_callback(move |e: &Event| {
            me.inner.0.lock().unwrap().push((Instant::now(), e.clone()));
            me.inner.1.notify_waiters();
        })
    }

    /// Every event so far.
    pub(crate) fn events(&self) -> Vec<Event> {
        self.inner
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|(_, e)| e.clone())
            .collect()
    }

    /// Every event so far with its time.
    pub(crate) fn timed(&self) -> Vec<(Instant, Event)> {
        self.inner.0.lock().unwrap().clone()
    }

    /// Number of events matching `pred`.
    pub(crate) fn count(&self, pred: impl Fn(&Event) -> bool) -> usize {
        self.inner
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, e)| pred(e))
            .count()
    }

    /// Waits until `cond` holds over the recorded events.
    pub(crate) async fn wait_until(&self, what: &str, cond: impl Fn(&[Event]) -> bool) {
        self.wait_until_for(DEADLINE, what, cond).await;
    }

    /// Waits until `cond` holds over the recorded events, at most `d`.
    pub(crate) async fn wait_until_for(
        &self,
        d: Duration,
        what: &str,
        cond: impl Fn(&[Event]) -> bool,
    ) {
        let res = tokio::time::timeout(d, async {
            loop {
                let notified = self.inner.1.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if cond(&self.events()) {
                    return;
                }
                notified.await;
            }
        })
        .await;
        if res.is_err() {
            panic!(
                "timed out after {d:?} waiting for {what}; events: {:?}",
                self.events()
            );
        }
    }

    /// Waits until `n` events match `pred`.
    pub(crate) async fn wait_count(&self, what: &str, n: usize, pred: impl Fn(&Event) -> bool) {
        self.wait_until(what, |evs| evs.iter().filter(|e| pred(e)).count() >= n)
            .await;
    }
}

pub(crate) fn is_disconnected(e: &Event) -> bool {
    matches!(e, Event::Disconnected { .. })
}
pub(crate) fn is_reconnected(e: &Event) -> bool {
    matches!(e, Event::Reconnected)
}
pub(crate) fn is_failed(e: &Event) -> bool {
    matches!(e, Event::ReconnectFailed { .. })
}
pub(crate) fn is_closed(e: &Event) -> bool {
    matches!(e, Event::Closed { .. })
}

/// Short names of events, for order assertions.
pub(crate) fn names(events: &[Event]) -> Vec<&'static str> {
    events
        .iter()
        .map(|e| match e {
            Event::Connected => "Connected",
            Event::Disconnected { .. } => "Disconnected",
            Event::ReconnectFailed { .. } => "ReconnectFailed",
            Event::Reconnected => "Reconnected",
            Event::Resubscribed => "Resubscribed",
            Event::DiscoveredServers => "DiscoveredServers",
            Event::LameDuckMode => "LameDuckMode",
            Event::SlowConsumer { .. } => "SlowConsumer",
            Event::ServerError { .. } => "ServerError",
            Event::Closed { .. } => "Closed",
            _ => "Other",
        })
        .collect()
}

/// D2 / R34 / R87: at most one Disconnected between two successful connections, never two in a row
/// without a Connected/Reconnected in between, Closed at most once and last.
pub(crate) fn assert_well_formed(events: &[Event]) {
    let n = names(events);
    let mut live = false;
    for (i, name) in n.iter().enumerate() {
        match *name {
            "Connected" | "Reconnected" => {
                assert!(!live, "connected twice without a Disconnected: {n:?}");
                live = true;
            }
            "Disconnected" => {
                assert!(live, "Disconnected without a live connection (D2): {n:?}");
                live = false;
            }
            "Closed" => assert_eq!(i, n.len() - 1, "Closed is not last (R87): {n:?}"),
            _ => {}
        }
    }
    assert!(
        n.iter().filter(|x| **x == "Closed").count() <= 1,
        "Closed twice: {n:?}"
    );
}

/// A watch of the status that records every distinct value it sees.
pub(crate) fn record_statuses(client: &nats_client::Client) -> Arc<Mutex<Vec<Status>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut rx = client.status_changes();
    let out = Arc::clone(&seen);
    tokio::spawn(async move {
        while rx.changed().await.is_ok() {
            let s = *rx.borrow_and_update();
            out.lock().unwrap().push(s);
            if s == Status::Closed {
                break;
            }
        }
    });
    seen
}
