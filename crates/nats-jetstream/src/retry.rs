//! Retry policies as pure functions of (attempt, now): publish re-sends (J9), the probe while a
//! stream has no leader, and consumer re-pulls / resets (J15, J19). Nothing here reads the
//! clock; the callers pass `now`.

use std::time::Duration;

use tokio::time::Instant;

/// ADR-22: a publish answered by no responders is retried this many times...
pub(crate) const NO_RESPONDERS_RETRIES: u32 = 2;
/// ... this far apart, which covers a short leader election.
pub(crate) const NO_RESPONDERS_WAIT: Duration = Duration::from_millis(250);

/// Exponential back-off: `initial`, doubling each attempt, capped at `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backoff {
    pub(crate) initial: Duration,
    pub(crate) max: Duration,
}

impl Backoff {
    /// The wait before retry number `attempt` (1 = the first retry).
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        let shift = attempt.saturating_sub(1).min(20);
        self.initial
            .checked_mul(1 << shift)
            .unwrap_or(self.max)
            .min(self.max)
    }
}

/// Re-sends of unacked publishes (J9). While acks do not come (no stream leader, a lost
/// connection's aftermath) only the oldest pending message is re-sent, as a probe: 10 ms
/// doubling to 50 ms, so the first ack after an election comes within ~50 ms plus a round
/// trip; the rest go out as soon as a probe is acked.
pub(crate) const PROBE_BACKOFF: Backoff = Backoff {
    initial: Duration::from_millis(10),
    max: Duration::from_millis(50),
};

/// Consumer re-pulls and ordered-consumer resets (J15, J19): 250 ms doubling to 10 s.
pub(crate) const CONSUMER_BACKOFF: Backoff = Backoff {
    initial: Duration::from_millis(250),
    max: Duration::from_secs(10),
};

/// What to do about a publish that has no ack yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Send it again at this instant.
    RetryAt(Instant),
    /// The retry window has passed: fail it.
    GiveUp,
}

/// The publish retry policy (J9): a pure function of the attempt number, the first attempt's
/// time and `now`: when the next probe goes out, and when a message gives up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PublishRetry {
    pub(crate) backoff: Backoff,
    /// How long after the first attempt re-sending stops.
    pub(crate) window: Duration,
}

impl PublishRetry {
    /// When attempt `attempt + 1` goes out, after attempt `attempt` failed at `now`.
    pub(crate) fn decide(&self, attempt: u32, first: Instant, now: Instant) -> Decision {
        let end = self.give_up_at(first);
        let at = now + self.backoff.delay(attempt);
        if now >= end || at >= end {
            Decision::GiveUp
        } else {
            Decision::RetryAt(at)
        }
    }

    /// When a message first sent at `first` fails if no ack has come.
    pub(crate) fn give_up_at(&self, first: Instant) -> Instant {
        crate::wire::later(first, self.window)
    }
}

/// A bounded number of attempts with back-off (consumer re-pulls and resets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Attempts {
    pub(crate) backoff: Backoff,
    /// `None`: retry forever.
    pub(crate) max: Option<u32>,
}

impl Attempts {
    /// The wait before attempt `attempt + 1` after `attempt` consecutive failures, or `None`
    /// when the attempts are used up.
    pub(crate) fn next_delay(&self, failures: u32) -> Option<Duration> {
        match self.max {
            Some(max) if failures >= max => None,
            _ => Some(self.backoff.delay(failures)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let b = CONSUMER_BACKOFF;
        let got: Vec<u64> = (1..=8).map(|a| b.delay(a).as_millis() as u64).collect();
        assert_eq!(got, [250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
        assert_eq!(b.delay(0), Duration::from_millis(250));
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(10));
        assert!(PROBE_BACKOFF.delay(9) <= Duration::from_millis(50));
    }

    #[test]
    fn publish_retry_gives_up_at_the_window() {
        let policy = PublishRetry {
            backoff: PROBE_BACKOFF,
            window: Duration::from_secs(2),
        };
        let t0 = Instant::now();
        assert_eq!(
            policy.decide(1, t0, t0),
            Decision::RetryAt(t0 + Duration::from_millis(10))
        );
        let later = t0 + Duration::from_millis(1500);
        assert_eq!(
            policy.decide(3, t0, later),
            Decision::RetryAt(later + Duration::from_millis(40))
        );
        assert_eq!(
            policy.decide(9, t0, later),
            Decision::RetryAt(later + Duration::from_millis(50))
        );
        // The next attempt would land after the window: give up instead.
        assert_eq!(
            policy.decide(5, t0, t0 + Duration::from_millis(1990)),
            Decision::GiveUp
        );
        assert_eq!(
            policy.decide(1, t0, t0 + Duration::from_secs(2)),
            Decision::GiveUp
        );
        assert_eq!(policy.give_up_at(t0), t0 + Duration::from_secs(2));
    }

    #[test]
    fn attempts_are_bounded_or_not() {
        let bounded = Attempts {
            backoff: CONSUMER_BACKOFF,
            max: Some(3),
        };
        assert_eq!(bounded.next_delay(1), Some(Duration::from_millis(250)));
        assert_eq!(bounded.next_delay(2), Some(Duration::from_millis(500)));
        assert_eq!(bounded.next_delay(3), None);
        let forever = Attempts {
            backoff: CONSUMER_BACKOFF,
            max: None,
        };
        assert_eq!(forever.next_delay(1000), Some(Duration::from_secs(10)));
    }
}
