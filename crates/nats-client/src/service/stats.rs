//! Per-endpoint counters: requests, errors, the last error, processing time. One short lock
//! per update; the snapshot is an [`EndpointStats`](super::EndpointStats).

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// The counters of one endpoint since its start or the last reset.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Locked only to update or copy four fields, never across an await.
    inner: Mutex<Totals>,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Totals {
    pub(crate) num_requests: u64,
    pub(crate) num_errors: u64,
    pub(crate) last_error: String,
    pub(crate) processing_time: Duration,
}

impl Totals {
    /// `processing_time / num_requests`, zero before the first request.
    pub(crate) fn average(&self) -> Duration {
        match u32::try_from(self.num_requests) {
            Ok(0) => Duration::ZERO,
            Ok(n) => self.processing_time / n,
            // More than 4 billion requests: divide the nanoseconds instead.
            Err(_) => Duration::from_nanos(
                u64::try_from(self.processing_time.as_nanos() / u128::from(self.num_requests))
                    .unwrap_or(u64::MAX),
            ),
        }
    }
}

impl Counters {
    fn lock(&self) -> MutexGuard<'_, Totals> {
        // The totals stay consistent even if a holder panicked: every update is one step.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One request handled in `elapsed`; with `error`, also an error.
    pub(crate) fn record(&self, elapsed: Duration, error: Option<String>) {
        let mut t = self.lock();
        t.num_requests = t.num_requests.saturating_add(1);
        t.processing_time = t.processing_time.saturating_add(elapsed);
        if let Some(error) = error {
            t.num_errors = t.num_errors.saturating_add(1);
            t.last_error = error;
        }
    }

    /// An error after the request was counted (its response could not be sent).
    pub(crate) fn record_error(&self, error: String) {
        let mut t = self.lock();
        t.num_errors = t.num_errors.saturating_add(1);
        t.last_error = error;
    }

    /// Back to zero.
    pub(crate) fn reset(&self) {
        *self.lock() = Totals::default();
    }

    /// A copy of the totals.
    pub(crate) fn snapshot(&self) -> Totals {
        self.lock().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_and_average() {
        let c = Counters::default();
        assert_eq!(c.snapshot().average(), Duration::ZERO);
        c.record(Duration::from_nanos(100), None);
        c.record(Duration::from_nanos(200), Some("500:boom".into()));
        c.record(Duration::from_nanos(301), None);
        c.record_error("503:gone".into());
        let t = c.snapshot();
        assert_eq!((t.num_requests, t.num_errors), (3, 2));
        assert_eq!(t.last_error, "503:gone");
        assert_eq!(t.processing_time, Duration::from_nanos(601));
        assert_eq!(t.average(), Duration::from_nanos(200));
        c.reset();
        assert_eq!(c.snapshot(), Totals::default());
    }

    #[test]
    fn saturates_instead_of_overflowing() {
        let c = Counters::default();
        c.record(Duration::MAX, None);
        c.record(Duration::MAX, None);
        assert_eq!(c.snapshot().processing_time, Duration::MAX);
        let huge = Totals {
            num_requests: u64::MAX,
            processing_time: Duration::MAX,
            ..Totals::default()
        };
        assert!(huge.average() > Duration::ZERO);
    }
}
