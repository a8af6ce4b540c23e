//! Connection statistics, kept across reconnects (R73, D8).

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of the client's counters. Nothing is reset by a reconnect.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(client: nats_client::Client) {
/// let stats = client.statistics();
/// println!("sent {} msgs, {} reconnects", stats.out_msgs, stats.reconnects);
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Statistics {
    /// Messages received (MSG and HMSG).
    pub in_msgs: u64,
    /// Bytes received from the socket.
    pub in_bytes: u64,
    /// Messages accepted for sending, including those buffered while disconnected (R73).
    pub out_msgs: u64,
    /// Bytes of the accepted messages' frames.
    pub out_bytes: u64,
    /// Reconnects whose handshake completed (D8).
    pub reconnects: u64,
    /// Reconnect attempts that failed (D8).
    pub failed_reconnects: u64,
    /// Messages dropped by slow subscriptions.
    pub dropped_msgs: u64,
    /// With [`ConnectOptions::at_least_once`](crate::ConnectOptions::at_least_once): publishes
    /// sent again after a reconnect because no PONG had confirmed them. Each may reach
    /// subscribers twice; it is the upper bound of the duplicates this client caused.
    pub resent_messages: u64,
}

/// The counters not kept under the write-buffer lock.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) in_msgs: AtomicU64,
    pub(crate) in_bytes: AtomicU64,
    pub(crate) reconnects: AtomicU64,
    pub(crate) failed_reconnects: AtomicU64,
    pub(crate) dropped_msgs: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self, out_msgs: u64, out_bytes: u64, resent: u64) -> Statistics {
        Statistics {
            in_msgs: self.in_msgs.load(Ordering::Relaxed),
            in_bytes: self.in_bytes.load(Ordering::Relaxed),
            out_msgs,
            out_bytes,
            reconnects: self.reconnects.load(Ordering::Relaxed),
            failed_reconnects: self.failed_reconnects.load(Ordering::Relaxed),
            dropped_msgs: self.dropped_msgs.load(Ordering::Relaxed),
            resent_messages: resent,
        }
    }
}
