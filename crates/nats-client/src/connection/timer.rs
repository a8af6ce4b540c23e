//! The state machine's deadlines: one slot per [`Timer`], the driver sleeps until the earliest
//! (quinn-proto's `connection/timer.rs` shape). A deadline is an `Option`: a duration too large
//! to add to now (`Duration::MAX`) means "never", and never panics.

use std::time::{Duration, Instant};

/// What a deadline is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// The back-off wait before the next dial (R15).
    Reconnect,
    /// One dial plus handshake (`connection_timeout`, R22).
    Handshake,
    /// The next keep-alive tick (R37).
    Ping,
    /// Leave a lame-duck server (opt-in `lame_duck_reconnect`).
    LameDuck,
    /// The drain's deadline (R113).
    Drain,
    /// A graceful close's last chance to hand the queue to the socket.
    CloseFlush,
    /// `at_least_once`: the oldest unconfirmed publish is due a confirmation PING.
    Confirm,
    /// Bytes wait and the socket has taken none since the deadline was set (R42).
    Write,
}

const TIMERS: [Timer; 8] = [
    Timer::Reconnect,
    Timer::Handshake,
    Timer::Ping,
    Timer::LameDuck,
    Timer::Drain,
    Timer::CloseFlush,
    Timer::Confirm,
    Timer::Write,
];

impl Timer {
    fn index(self) -> usize {
        self as usize
    }
}

/// `now + d`, or `None` ("never") when that is not representable.
pub(crate) fn deadline(now: Instant, d: Duration) -> Option<Instant> {
    now.checked_add(d)
}

#[derive(Debug, Default, Clone)]
pub(crate) struct TimerTable {
    slots: [Option<Instant>; TIMERS.len()],
}

impl TimerTable {
    pub(crate) fn set(&mut self, timer: Timer, at: Option<Instant>) {
        self.slots[timer.index()] = at;
    }

    pub(crate) fn stop(&mut self, timer: Timer) {
        self.slots[timer.index()] = None;
    }

    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.slots[timer.index()]
    }

    pub(crate) fn is_set(&self, timer: Timer) -> bool {
        self.get(timer).is_some()
    }

    pub(crate) fn stop_all(&mut self) {
        self.slots = Default::default();
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.slots.iter().flatten().min().copied()
    }

    /// Takes one expired timer (earliest first), if any.
    pub(crate) fn expired(&mut self, now: Instant) -> Option<Timer> {
        let timer = TIMERS
            .iter()
            .filter(|t| self.get(**t).is_some_and(|at| at <= now))
            .min_by_key(|t| self.get(**t))
            .copied()?;
        self.stop(timer);
        Some(timer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_and_never_is_never() {
        let now = Instant::now();
        let mut t = TimerTable::default();
        assert_eq!(deadline(now, Duration::MAX), None);
        t.set(Timer::Ping, deadline(now, Duration::from_secs(2)));
        t.set(Timer::Drain, deadline(now, Duration::from_secs(1)));
        t.set(Timer::LameDuck, deadline(now, Duration::MAX));
        assert_eq!(t.next(), deadline(now, Duration::from_secs(1)));
        assert_eq!(t.expired(now), None);
        let later = now + Duration::from_secs(3);
        assert_eq!(t.expired(later), Some(Timer::Drain));
        assert_eq!(t.expired(later), Some(Timer::Ping));
        assert_eq!(t.expired(later), None);
        assert_eq!(t.next(), None);
    }
}
