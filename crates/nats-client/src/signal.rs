//! [`DriverSignal`]: how handles, subscribers and the request table wake the connection's
//! driver task (a new command, a publish while it is idle, drain progress).

use std::sync::{Mutex, MutexGuard};
use std::task::Waker;

/// The driver's waker, registered on every poll. Waking it is cheap when the driver is already
/// awake (it is taken only once per registration).
#[derive(Debug, Default)]
pub(crate) struct DriverSignal {
    /// Held only to swap the waker in or out ("driver signal" lock).
    waker: Mutex<Option<Waker>>,
}

impl DriverSignal {
    fn lock(&self) -> MutexGuard<'_, Option<Waker>> {
        self.waker.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores the driver's current waker.
    pub(crate) fn register(&self, waker: &Waker) {
        let mut slot = self.lock();
        match &*slot {
            Some(w) if w.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
    }

    /// Wakes the driver if it is parked.
    pub(crate) fn wake(&self) {
        let waker = self.lock().take();
        if let Some(w) = waker {
            w.wake();
        }
    }
}
