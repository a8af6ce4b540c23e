//! The request/reply multiplexer: one wildcard inbox subscription (`<prefix>.<random>.*`) per
//! client, one numeric token per request (DESIGN §3). A request that times out or is dropped
//! removes its entry, so nothing leaks.
//!
//! Timeouts are not one tokio timer per request: registering a timer on the request path wakes
//! the runtime's time driver (a syscall and a lock) on the latency-critical path. One sweeper
//! task per client sleeps until the earliest deadline instead; with the usual uniform timeout a
//! new request's deadline is never the earliest, so registering it wakes nobody.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{oneshot, Notify, OnceCell};
use tokio::time::Instant;

use bytes::Bytes;
use nats_proto::HeaderMap;

use crate::error::RequestError;
use crate::message::Message;
use crate::signal::DriverSignal;

type Reply = Result<Message, RequestError>;

pub(crate) struct RequestMux {
    /// `<inbox_prefix>.<22 random chars>.`
    prefix: String,
    /// The inbox subscription's sid, created on the first request.
    pub(crate) sid: OnceCell<u64>,
    next: AtomicU64,
    pending: Mutex<Pending>,
    /// Wakes the sweeper: a deadline earlier than the one it sleeps until, or close.
    sweeper_wake: Notify,
    sweeper_started: AtomicBool,
    /// Set while the client drains: a request finishing wakes the driver, which waits for the
    /// requests in flight before it closes (R113).
    draining: AtomicBool,
    driver: Arc<DriverSignal>,
}

struct Waiter {
    tx: oneshot::Sender<Reply>,
    /// `None`: never times out (a timeout too large to add to now, e.g. `Duration::MAX`).
    deadline: Option<Instant>,
    timeout: Duration,
}

#[derive(Default)]
struct Pending {
    waiters: HashMap<u64, Waiter>,
    /// The deadline the sweeper sleeps until (`None`: it waits for a notification).
    armed: Option<Instant>,
    closed: bool,
}

impl std::fmt::Debug for RequestMux {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestMux")
            .field("prefix", &self.prefix)
            .field("in_flight", &self.in_flight())
            .finish_non_exhaustive()
    }
}

impl RequestMux {
    pub(crate) fn new(inbox_prefix: &str, random: String, driver: Arc<DriverSignal>) -> RequestMux {
        RequestMux {
            prefix: format!("{inbox_prefix}.{random}."),
            sid: OnceCell::new(),
            next: AtomicU64::new(1),
            pending: Mutex::new(Pending::default()),
            sweeper_wake: Notify::new(),
            sweeper_started: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            driver,
        }
    }

    /// From now on a finishing request wakes the driver (the drain waits for them).
    pub(crate) fn set_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    fn finished(&self) {
        if self.draining.load(Ordering::Acquire) {
            self.driver.wake();
        }
    }

    /// The wildcard subject of the inbox subscription.
    pub(crate) fn wildcard(&self) -> String {
        format!("{}*", self.prefix)
    }

    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a request that fails with `TimedOut(timeout)` unless answered in time: its
    /// reply subject and the receiver of the reply. Dropping the returned guard removes the
    /// entry. Starts the sweeper on first use (must be called inside the runtime).
    pub(crate) fn register(
        self: &Arc<Self>,
        timeout: Duration,
    ) -> (String, oneshot::Receiver<Reply>, PendingGuard) {
        if !self.sweeper_started.swap(true, Ordering::AcqRel) {
            tokio::spawn(sweep(Arc::clone(self)));
        }
        let token = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        let deadline = Instant::now().checked_add(timeout);
        let rearm = {
            let mut pending = self.lock();
            pending.waiters.insert(
                token,
                Waiter {
                    tx,
                    deadline,
                    timeout,
                },
            );
            deadline.is_some_and(|d| pending.armed.is_none_or(|armed| d < armed))
        };
        if rearm {
            self.sweeper_wake.notify_one();
        }
        (
            format!("{}{token}", self.prefix),
            rx,
            PendingGuard {
                mux: Arc::clone(self),
                token,
            },
        )
    }

    /// Routes a message that arrived on the inbox subscription.
    pub(crate) fn complete(&self, msg: Message) {
        let token = msg
            .subject
            .strip_prefix(self.prefix.as_str())
            .and_then(|t| t.parse::<u64>().ok());
        // Take the sender out and release the lock before waking the requester, which will
        // take the same lock at once to drop its entry.
        let waiter = token.and_then(|token| self.lock().waiters.remove(&token));
        if let Some(waiter) = waiter {
            let _ = waiter.tx.send(Ok(msg));
        }
    }

    /// Fails every request in flight (close: R81).
    pub(crate) fn fail_all(&self, error: &RequestError) {
        self.fail_before(u64::MAX, error);
    }

    /// The token the next request will get: requests registered from now on are not "in flight"
    /// for a command queued now.
    pub(crate) fn next_token(&self) -> u64 {
        self.next.load(Ordering::Relaxed)
    }

    /// Fails the requests registered before `token` (force_reconnect: D7). Later ones were
    /// queued after the command, so their bytes go to the next connection and they stay.
    pub(crate) fn fail_before(&self, token: u64, error: &RequestError) {
        let waiters: Vec<_> = {
            let mut pending = self.lock();
            let old: Vec<u64> = pending
                .waiters
                .keys()
                .copied()
                .filter(|t| *t < token)
                .collect();
            old.into_iter()
                .filter_map(|t| pending.waiters.remove(&t))
                .map(|w| w.tx)
                .collect()
        };
        for tx in waiters {
            let _ = tx.send(Err(error.clone()));
        }
    }

    /// Fails everything in flight and stops the sweeper (the client closed).
    pub(crate) fn close(&self, error: &RequestError) {
        self.lock().closed = true;
        self.fail_all(error);
        self.sweeper_wake.notify_one();
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.lock().waiters.len()
    }

    /// Fails the requests whose deadline passed; returns the earliest remaining deadline, which
    /// the sweeper then sleeps until, or `Err(())` once closed.
    fn expire(&self, now: Instant) -> Result<Option<Instant>, ()> {
        let (expired, next) = {
            let mut pending = self.lock();
            if pending.closed {
                return Err(());
            }
            let due: Vec<u64> = pending
                .waiters
                .iter()
                .filter(|(_, w)| w.deadline.is_some_and(|d| d <= now))
                .map(|(token, _)| *token)
                .collect();
            let expired: Vec<Waiter> = due
                .iter()
                .filter_map(|token| pending.waiters.remove(token))
                .collect();
            let next = pending.waiters.values().filter_map(|w| w.deadline).min();
            pending.armed = next;
            (expired, next)
        };
        let any = !expired.is_empty();
        for waiter in expired {
            let _ = waiter.tx.send(Err(RequestError::TimedOut(waiter.timeout)));
        }
        if any {
            self.finished();
        }
        Ok(next)
    }
}

/// The sweeper: fails requests at their deadline. One per client, started by the first request,
/// ended by [`RequestMux::close`].
async fn sweep(mux: Arc<RequestMux>) {
    loop {
        // Registered before the check, so a notification in between is not lost.
        let wake = mux.sweeper_wake.notified();
        let Ok(next) = mux.expire(Instant::now()) else {
            return;
        };
        match next {
            Some(deadline) => {
                tokio::select! {
                    () = tokio::time::sleep_until(deadline) => {}
                    () = wake => {}
                }
            }
            None => wake.await,
        }
    }
}

/// Removes a request's entry when the request finishes in any way (reply, timeout, drop).
pub(crate) struct PendingGuard {
    mux: Arc<RequestMux>,
    token: u64,
}

impl Drop for PendingGuard {
    fn drop(&mut self) {
        self.mux.lock().waiters.remove(&self.token);
        self.mux.finished();
    }
}

/// A request with its options, for [`Client::send_request`](crate::Client::send_request):
/// payload, headers and timeout together.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(client: nats_client::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use nats_client::{HeaderMap, Request};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("Trace-Id", "abc123")?;
/// let request = Request::new()
///     .payload("ping".into())
///     .headers(headers)
///     .timeout(Duration::from_millis(500));
/// let reply = client.send_request("svc.echo", request).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct Request {
    pub(crate) payload: Bytes,
    pub(crate) headers: Option<HeaderMap>,
    pub(crate) timeout: Option<Duration>,
}

impl Request {
    /// An empty request with the client's default timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// let request = nats_client::Request::new();
    /// ```
    pub fn new() -> Request {
        Request::default()
    }

    /// The payload (default: empty).
    ///
    /// # Examples
    ///
    /// ```
    /// let request = nats_client::Request::new().payload("hello".into());
    /// ```
    pub fn payload(mut self, payload: Bytes) -> Request {
        self.payload = payload;
        self
    }

    /// Headers to send with it (HPUB).
    ///
    /// # Examples
    ///
    /// ```
    /// let request = nats_client::Request::new().headers(nats_client::HeaderMap::new());
    /// ```
    pub fn headers(mut self, headers: HeaderMap) -> Request {
        self.headers = Some(headers);
        self
    }

    /// How long to wait for the reply, instead of the client's
    /// [`request_timeout`](crate::ConnectOptions::request_timeout). `Duration::MAX` waits for
    /// ever.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let request = nats_client::Request::new().timeout(Duration::from_secs(1));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Request {
        self.timeout = Some(timeout);
        self
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn reply(subject: &str) -> Message {
        Message::for_test(subject, Bytes::from_static(b"ok"))
    }

    #[tokio::test(start_paused = true)]
    async fn the_sweeper_fails_requests_at_their_own_deadline() {
        let mux = Arc::new(RequestMux::new("_INBOX", "t".into(), Arc::default()));
        let (_a, rx_long, _ga) = mux.register(Duration::from_secs(10));
        let (_b, rx_short, _gb) = mux.register(Duration::from_millis(100));
        let start = Instant::now();
        assert!(matches!(
            rx_short.await.unwrap(),
            Err(RequestError::TimedOut(d)) if d == Duration::from_millis(100)
        ));
        assert!(start.elapsed() >= Duration::from_millis(100));
        assert!(start.elapsed() < Duration::from_secs(10));
        assert!(matches!(
            rx_long.await.unwrap(),
            Err(RequestError::TimedOut(d)) if d == Duration::from_secs(10)
        ));
        assert_eq!(mux.in_flight(), 0);
        mux.close(&RequestError::Closed);
    }

    #[tokio::test]
    async fn routes_by_token_and_cleans_up() {
        let mux = Arc::new(RequestMux::new("_INBOX", "abc".into(), Arc::default()));
        assert_eq!(mux.wildcard(), "_INBOX.abc.*");
        let (subj, rx, guard) = mux.register(Duration::from_secs(10));
        let (_subj2, _rx2, guard2) = mux.register(Duration::from_secs(10));
        assert_eq!(mux.in_flight(), 2);
        mux.complete(reply(&subj));
        assert_eq!(rx.await.unwrap().unwrap().payload, "ok");
        drop(guard);
        drop(guard2);
        assert_eq!(
            mux.in_flight(),
            0,
            "a finished or timed-out request leaves nothing"
        );
        mux.complete(reply("_INBOX.abc.99"));
        mux.complete(reply("other.subject"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_timeout_of_duration_max_never_expires_and_never_panics() {
        let mux = Arc::new(RequestMux::new("_INBOX", "m".into(), Arc::default()));
        let (_s, mut rx, _g) = mux.register(Duration::MAX);
        let (_s2, rx2, _g2) = mux.register(Duration::from_millis(5));
        assert!(matches!(rx2.await.unwrap(), Err(RequestError::TimedOut(_))));
        tokio::time::advance(Duration::from_secs(365 * 24 * 3600)).await;
        assert!(rx.try_recv().is_err(), "still waiting");
        mux.close(&RequestError::Closed);
        assert!(matches!(rx.await.unwrap(), Err(RequestError::Closed)));
    }

    #[tokio::test]
    async fn fail_all_releases_waiters() {
        let mux = Arc::new(RequestMux::new("_INBOX", "x".into(), Arc::default()));
        let (_s, rx, _g) = mux.register(Duration::from_secs(10));
        mux.fail_all(&RequestError::Closed);
        assert!(matches!(rx.await.unwrap(), Err(RequestError::Closed)));
    }
}
