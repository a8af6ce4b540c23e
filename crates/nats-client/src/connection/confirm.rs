//! When `at_least_once` sends a confirmation PING (pure policy, time passed in).
//!
//! A PING confirms, by its PONG, every byte written before it. The policy asks for one when
//! the publish bytes that no PING follows yet reach the threshold, or when the oldest of them
//! was written `interval` ago, and never while [`MAX_CONFIRMS_OUT`] confirmation PINGs are
//! still waiting for their PONG: one PING per threshold's worth of publishes at most, so the
//! cost on throughput stays small. Any PING counts (keep-alive, `flush()`, drain): each one
//! covers what was queued before it, so the policy starts counting again after it.

use std::time::{Duration, Instant};

use super::timer::deadline;
use crate::outbound::ConfirmStatus;

/// Confirmation PINGs in flight at most.
pub(crate) const MAX_CONFIRMS_OUT: usize = 1;

/// The two triggers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConfirmPolicy {
    /// Uncovered publish bytes that call for a PING at once.
    pub(crate) threshold: usize,
    /// Age of the oldest uncovered byte that calls for a PING.
    pub(crate) interval: Duration,
}

/// What to do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Queue a confirmation PING.
    Ping,
    /// Look again at this instant (the age trigger).
    At(Instant),
    /// Nothing to confirm, or a confirmation is in flight (its PONG brings the next look).
    Idle,
}

impl ConfirmPolicy {
    /// The decision for `status` at `now`.
    pub(crate) fn step(&self, status: ConfirmStatus, now: Instant) -> Step {
        if status.uncovered == 0 || status.outstanding >= MAX_CONFIRMS_OUT {
            return Step::Idle;
        }
        if status.uncovered >= self.threshold {
            return Step::Ping;
        }
        let Some(since) = status.since else {
            // Queued, not written yet: the write starts the clock.
            return Step::Idle;
        };
        match deadline(since, self.interval) {
            Some(at) if at <= now => Step::Ping,
            Some(at) => Step::At(at),
            None => Step::Idle,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: ConfirmPolicy = ConfirmPolicy {
        threshold: 64 * 1024,
        interval: Duration::from_millis(100),
    };

    fn status(uncovered: usize, since: Option<Instant>, outstanding: usize) -> ConfirmStatus {
        ConfirmStatus {
            uncovered,
            since,
            outstanding,
        }
    }

    #[test]
    fn nothing_uncovered_means_no_ping() {
        let now = Instant::now();
        assert_eq!(P.step(status(0, Some(now), 0), now), Step::Idle);
    }

    #[test]
    fn the_byte_threshold_pings_at_once_even_before_the_write() {
        let now = Instant::now();
        assert_eq!(P.step(status(64 * 1024, None, 0), now), Step::Ping);
        assert_eq!(P.step(status(64 * 1024 - 1, None, 0), now), Step::Idle);
    }

    #[test]
    fn the_age_trigger_waits_for_the_interval_from_the_first_write() {
        let t0 = Instant::now();
        let s = status(100, Some(t0), 0);
        let at = t0 + Duration::from_millis(100);
        assert_eq!(P.step(s, t0), Step::At(at));
        assert_eq!(P.step(s, t0 + Duration::from_millis(99)), Step::At(at));
        assert_eq!(P.step(s, at), Step::Ping);
        assert_eq!(P.step(s, at + Duration::from_secs(5)), Step::Ping);
    }

    #[test]
    fn one_confirmation_in_flight_at_a_time() {
        let t0 = Instant::now();
        let late = t0 + Duration::from_secs(1);
        assert_eq!(P.step(status(1 << 20, Some(t0), 1), late), Step::Idle);
        assert_eq!(P.step(status(1 << 20, Some(t0), 0), late), Step::Ping);
    }

    #[test]
    fn an_endless_interval_never_pings_by_age_and_never_panics() {
        let never = ConfirmPolicy {
            threshold: usize::MAX,
            interval: Duration::MAX,
        };
        let t0 = Instant::now();
        assert_eq!(never.step(status(10, Some(t0), 0), t0), Step::Idle);
        let eager = ConfirmPolicy {
            threshold: 1,
            interval: Duration::ZERO,
        };
        assert_eq!(eager.step(status(1, None, 0), t0), Step::Ping);
    }
}
