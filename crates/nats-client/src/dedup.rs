//! The duplicate filter of [`Subscriber::dedup`](crate::Subscriber::dedup) (pure; time is
//! passed in).
//!
//! A client with [`message_ids`](crate::ConnectOptions::message_ids) stamps ids that increase in
//! the order its publishes reach the wire, and the server delivers one connection's messages to
//! a subscription in that order. With `at_least_once`, what a reconnect re-sends is the tail of
//! that sequence from the last confirmation on, again in order. So per publisher (the id's
//! prefix) the filter only needs the highest counter seen: a message at or below it was
//! delivered already. A publisher not heard from for `window` is forgotten, which bounds the
//! memory by the number of publishers active within the window. Messages without an id in this
//! form always pass.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::message_id::{self, MESSAGE_ID_HEADER};
use crate::Message;

/// Checks between two sweeps of forgotten publishers.
const SWEEP_EVERY: u32 = 4096;

#[derive(Debug)]
struct Seen {
    highest: u64,
    at: Instant,
}

/// Per-publisher high-water marks.
#[derive(Debug)]
pub(crate) struct Dedup {
    window: Duration,
    publishers: HashMap<String, Seen>,
    since_sweep: u32,
}

impl Dedup {
    pub(crate) fn new(window: Duration) -> Dedup {
        Dedup {
            window,
            publishers: HashMap::new(),
            since_sweep: 0,
        }
    }

    /// Whether `msg` was delivered before (and records it otherwise).
    pub(crate) fn is_duplicate(&mut self, msg: &Message, now: Instant) -> bool {
        let id = msg.headers.as_ref().and_then(|h| h.get(MESSAGE_ID_HEADER));
        self.check(id, now)
    }

    fn check(&mut self, id: Option<&str>, now: Instant) -> bool {
        self.since_sweep += 1;
        if self.since_sweep >= SWEEP_EVERY {
            self.sweep(now);
        }
        let Some((prefix, counter)) = id.and_then(message_id::parse) else {
            return false;
        };
        match self.publishers.get_mut(prefix) {
            Some(seen) if now.saturating_duration_since(seen.at) <= self.window => {
                seen.at = now;
                if counter <= seen.highest {
                    return true;
                }
                seen.highest = counter;
                false
            }
            Some(seen) => {
                // forgotten: start again from this message
                *seen = Seen {
                    highest: counter,
                    at: now,
                };
                false
            }
            None => {
                self.publishers.insert(
                    prefix.to_owned(),
                    Seen {
                        highest: counter,
                        at: now,
                    },
                );
                false
            }
        }
    }

    fn sweep(&mut self, now: Instant) {
        self.since_sweep = 0;
        let window = self.window;
        self.publishers
            .retain(|_, seen| now.saturating_duration_since(seen.at) <= window);
    }

    #[cfg(test)]
    fn publishers(&self) -> usize {
        self.publishers.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message_id::IdStamp;

    #[test]
    fn a_resent_tail_is_dropped_and_what_follows_passes() {
        let mut stamp = IdStamp::new("AAAAAAAAAAAA".into());
        let ids: Vec<String> = (0..10).map(|_| stamp.next_id()).collect();
        let mut d = Dedup::new(Duration::from_secs(60));
        let t = Instant::now();
        for id in &ids[..7] {
            assert!(!d.check(Some(id), t));
        }
        // a reconnect re-sends from the last confirmation (4..7 were delivered already)
        for id in &ids[4..7] {
            assert!(d.check(Some(id), t), "{id} again");
        }
        for id in &ids[7..] {
            assert!(!d.check(Some(id), t));
        }
    }

    #[test]
    fn publishers_are_independent_and_foreign_ids_pass() {
        let mut a = IdStamp::new("AAAAAAAAAAAA".into());
        let mut b = IdStamp::new("BBBBBBBBBBBB".into());
        let mut d = Dedup::new(Duration::from_secs(60));
        let t = Instant::now();
        let (a1, b1, a2) = (a.next_id(), b.next_id(), a.next_id());
        assert!(!d.check(Some(&a1), t));
        assert!(!d.check(Some(&b1), t));
        assert!(!d.check(Some(&a2), t));
        assert!(d.check(Some(&b1), t));
        for _ in 0..3 {
            assert!(!d.check(Some("order-7"), t), "not our form: always passes");
            assert!(!d.check(None, t));
        }
    }

    #[test]
    fn a_quiet_publisher_is_forgotten_after_the_window() {
        let mut stamp = IdStamp::new("AAAAAAAAAAAA".into());
        let (one, two) = (stamp.next_id(), stamp.next_id());
        let mut d = Dedup::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert!(!d.check(Some(&two), t0));
        assert!(
            d.check(Some(&one), t0 + Duration::from_secs(10)),
            "within the window"
        );
        let late = t0 + Duration::from_secs(21);
        assert!(!d.check(Some(&one), late), "forgotten: passes");
        // the sweep bounds the table by the publishers active within the window
        let mut others: Vec<IdStamp> = (0..100)
            .map(|i| IdStamp::new(format!("{i:0>12}")))
            .collect();
        for s in &mut others {
            let id = s.next_id();
            assert!(!d.check(Some(&id), late));
        }
        assert_eq!(d.publishers(), 101);
        let later = late + Duration::from_secs(11);
        for _ in 0..SWEEP_EVERY {
            d.check(None, later);
        }
        assert_eq!(d.publishers(), 0);
    }

    #[test]
    fn an_endless_window_never_forgets_and_never_panics() {
        let mut d = Dedup::new(Duration::MAX);
        let t0 = Instant::now();
        assert!(!d.check(Some("AAAAAAAAAAAA5"), t0));
        assert!(d.check(Some("AAAAAAAAAAAA5"), t0 + Duration::from_secs(1 << 40)));
    }
}
