//! The drain's progress (R113), driven by the state machine:
//!
//! 1. `Unsubscribing`: every subscription is UNSUBed and marked draining (not re-sent, D3); a
//!    PING follows the UNSUBs. Its PONG means the server sends nothing more for them.
//! 2. `Consuming`: the subscriptions' streams end once the application has taken what had
//!    arrived; requests in flight finish (the request inbox goes last).
//! 3. `Flushing`: publishes are refused (R70); a last PING makes sure the server has what was
//!    queued; then the client closes with `Drained`.
//!
//! The drain timeout moves a drain stuck in 1 or 2 on to 3 and the result becomes
//! `DrainError::TimedOut`; the client still closes.

use std::sync::Arc;

use crate::subscription::SubState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Waiting for the PONG (by token) after the UNSUBs.
    Unsubscribing(u64),
    /// Waiting for the subscribers and the requests in flight.
    Consuming,
    /// Waiting for the PONG (by token) after the last publishes.
    Flushing(u64),
}

#[derive(Debug)]
pub(crate) struct Drain {
    pub(crate) stage: Stage,
    pub(crate) timed_out: bool,
    pub(crate) subs: Vec<Arc<SubState>>,
}

impl Drain {
    pub(crate) fn new(token: u64, subs: Vec<Arc<SubState>>) -> Drain {
        Drain {
            stage: Stage::Unsubscribing(token),
            timed_out: false,
            subs,
        }
    }

    /// Every drained subscription's messages have been handed to the application (or its
    /// subscriber is gone).
    pub(crate) fn consumed(&self) -> bool {
        self.subs.iter().all(|s| s.is_consumed())
    }
}
