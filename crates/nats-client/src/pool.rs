//! The server pool and the reconnect policy: which server next, how long to wait, when to give up.
//!
//! Pure: no I/O, no clock, randomness passed in. The supervisor asks [`ServerPool::select_next`]
//! for the next server and [`Backoff::next_deadline`] for when to dial it, and reports what
//! happened back (`record_*`). Every rule cites the R-number of `spec/reconnect-behaviour.md`.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nats_proto::{ServerErrorKind, ServerInfo};

use crate::callback::{guarded, CallbackKind, CallbackPanic};
use crate::rng::Rng;
use crate::server_addr::ServerAddr;

/// One entry of the pool as seen by a [`ReconnectToServer`] callback or `server_pool()`.
///
/// # Examples
///
/// ```no_run
/// # fn demo(client: nats_client::Client) {
/// for server in client.server_pool() {
///     println!("{}: {} failed attempts", server.addr, server.attempts);
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolServer {
    /// The server's address (credentials kept, never displayed).
    pub addr: ServerAddr,
    /// Failed attempts since the last completed handshake with it (R12).
    pub attempts: u32,
    /// Whether a handshake with it ever completed.
    pub did_connect: bool,
    /// Learned from a server's `connect_urls` rather than given by the user (R95).
    pub implicit: bool,
    /// The last authentication error it sent, cleared by a completed handshake (R44, R45).
    pub last_auth_error: Option<ServerErrorKind>,
}

/// The callback that picks the next server and the delay before dialling it (R106).
///
/// It receives a snapshot of the pool (servers over their attempt budget already removed) and the
/// last server INFO; it returns `None` to use the default rotation and back-off.
///
/// # Examples
///
/// ```
/// use std::{sync::Arc, time::Duration};
/// use nats_client::{PoolServer, ReconnectToServer, ServerInfo};
/// let first: ReconnectToServer = Arc::new(|pool: &[PoolServer], _info: Option<&ServerInfo>| {
///     pool.first().map(|s| (s.addr.clone(), Duration::from_millis(500)))
/// });
/// assert!(first(&[], None).is_none());
/// ```
pub type ReconnectToServer =
    Arc<dyn Fn(&[PoolServer], Option<&ServerInfo>) -> Option<(ServerAddr, Duration)> + Send + Sync>;

/// The user's custom delay: gets the pass count 1, 2, 3… and replaces wait + jitter (R17).
///
/// # Examples
///
/// ```
/// use std::{sync::Arc, time::Duration};
/// use nats_client::ReconnectDelay;
/// let linear: ReconnectDelay = Arc::new(|pass: u32| Duration::from_millis(100) * pass);
/// assert_eq!(linear(3), Duration::from_millis(300));
/// ```
pub type ReconnectDelay = Arc<dyn Fn(u32) -> Duration + Send + Sync>;

/// The server pool (R1–R21, R95–R101, R107).
#[derive(Clone)]
pub(crate) struct ServerPool {
    entries: Vec<PoolServer>,
    /// Key of the server currently connected or last tried.
    current: Option<String>,
    randomize: bool,
    /// Per-server attempt budget; `None` = unlimited.
    max_reconnects: Option<u32>,
    /// Every URL ever seen, for "never seen before" discovery events (R96).
    seen: HashSet<String>,
}

impl fmt::Debug for ServerPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerPool")
            .field("servers", &self.entries)
            .field("current", &self.current)
            .finish()
    }
}

impl ServerPool {
    /// A pool of the seed servers, shuffled once unless `randomize` is false (R3).
    pub(crate) fn new(
        seeds: Vec<ServerAddr>,
        randomize: bool,
        max_reconnects: Option<u32>,
        rng: &mut Rng,
    ) -> ServerPool {
        let mut entries: Vec<PoolServer> = Vec::with_capacity(seeds.len());
        for addr in seeds {
            if entries.iter().any(|e| e.addr.key() == addr.key()) {
                continue;
            }
            entries.push(PoolServer {
                addr,
                attempts: 0,
                did_connect: false,
                implicit: false,
                last_auth_error: None,
            });
        }
        if randomize {
            rng.shuffle(&mut entries);
        }
        let seen = entries.iter().map(|e| e.addr.key()).collect();
        ServerPool {
            entries,
            current: None,
            randomize,
            max_reconnects,
            seen,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The servers in pool order (R98).
    pub(crate) fn entries(&self) -> &[PoolServer] {
        &self.entries
    }

    /// The address of the server at `index` in pool order (initial walk, R7).
    pub(crate) fn get(&self, index: usize) -> Option<&ServerAddr> {
        self.entries.get(index).map(|e| &e.addr)
    }

    /// The server currently connected or last tried.
    pub(crate) fn current(&self) -> Option<&ServerAddr> {
        let key = self.current.as_ref()?;
        self.entries
            .iter()
            .find(|e| &e.addr.key() == key)
            .map(|e| &e.addr)
    }

    pub(crate) fn set_current(&mut self, addr: &ServerAddr) {
        self.current = Some(addr.key());
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.entries.iter().position(|e| e.addr.key() == key)
    }

    fn over_budget(&self, entry: &PoolServer) -> bool {
        self.max_reconnects.is_some_and(|max| entry.attempts >= max)
    }

    /// Rotation (R11, R12): the current server goes to the tail, or leaves the pool when its
    /// attempt counter reached `max_reconnects`; the head becomes current and is returned.
    /// `None` when the pool is empty (R13).
    pub(crate) fn select_next(&mut self) -> Option<ServerAddr> {
        if let Some(idx) = self.current.clone().and_then(|k| self.position(&k)) {
            let entry = self.entries.remove(idx);
            if !self.over_budget(&entry) {
                self.entries.push(entry);
            }
        }
        let head = self.entries.first()?.addr.clone();
        self.current = Some(head.key());
        Some(head)
    }

    /// Drops every server whose attempt counter reached the budget (R106: before the callback).
    pub(crate) fn remove_exhausted(&mut self) {
        let max = self.max_reconnects;
        self.entries
            .retain(|e| max.is_none_or(|max| e.attempts < max));
    }

    /// Makes `addr` current (a server chosen by the R106 callback); false if it is not in the pool.
    pub(crate) fn choose(&mut self, addr: &ServerAddr) -> bool {
        match self.position(&addr.key()) {
            Some(_) => {
                self.current = Some(addr.key());
                true
            }
            None => false,
        }
    }

    /// Counts an attempt against the server, before dialling it (R12, R49).
    pub(crate) fn record_attempt(&mut self, addr: &ServerAddr) {
        if let Some(i) = self.position(&addr.key()) {
            self.entries[i].attempts = self.entries[i].attempts.saturating_add(1);
        }
    }

    /// A completed handshake: the counter and the remembered auth error are cleared (R12, R45).
    pub(crate) fn record_connected(&mut self, addr: &ServerAddr) {
        self.current = Some(addr.key());
        if let Some(i) = self.position(&addr.key()) {
            let e = &mut self.entries[i];
            e.attempts = 0;
            e.did_connect = true;
            e.last_auth_error = None;
        }
    }

    /// Remembers an auth error from `addr`; returns true when it is the same error as the last
    /// one from that server since it was last connected (R44: reconnecting ends).
    pub(crate) fn record_auth_error(&mut self, addr: &ServerAddr, kind: &ServerErrorKind) -> bool {
        match self.position(&addr.key()) {
            Some(i) => {
                let e = &mut self.entries[i];
                let repeated = e.last_auth_error.as_ref() == Some(kind);
                e.last_auth_error = Some(kind.clone());
                repeated
            }
            None => false,
        }
    }

    /// Applies an INFO's `connect_urls` (R95–R97, R29). Returns the URLs never seen before.
    ///
    /// An empty list leaves the pool untouched. New URLs are appended as implicit entries that
    /// inherit the current server's credentials and TLS; implicit entries missing from the list
    /// are dropped unless current; user-given entries are kept; counters survive.
    pub(crate) fn apply_connect_urls(&mut self, urls: &[String], rng: &mut Rng) -> Vec<String> {
        if urls.is_empty() {
            return Vec::new();
        }
        let reference = self
            .current()
            .cloned()
            .or_else(|| self.entries.first().map(|e| e.addr.clone()));
        let mut listed: HashSet<String> = HashSet::new();
        let mut added = false;
        let mut never_seen = Vec::new();
        for url in urls {
            let Ok(mut addr) = ServerAddr::parse(url) else {
                continue;
            };
            if let Some(reference) = &reference {
                // Trap 13: a discovered server takes the connection's scheme (wss, not ws).
                addr.set_tls(reference.is_tls());
                addr.set_websocket(reference.is_websocket());
                addr = addr.with_credentials_of(reference);
            }
            let key = addr.key();
            listed.insert(key.clone());
            if self.position(&key).is_none() {
                self.entries.push(PoolServer {
                    addr,
                    attempts: 0,
                    did_connect: false,
                    implicit: true,
                    last_auth_error: None,
                });
                added = true;
            }
            if self.seen.insert(key) {
                never_seen.push(url.clone());
            }
        }
        let current = self.current.clone();
        self.entries.retain(|e| {
            !e.implicit || listed.contains(&e.addr.key()) || Some(e.addr.key()) == current
        });
        if added && self.randomize {
            // R97: reshuffle all but the head, so the next candidate stays the same.
            if let Some(tail) = self.entries.get_mut(1..) {
                rng.shuffle(tail);
            }
        }
        never_seen
    }

    /// Replaces the pool (R107): counters and auth memory survive for servers in both, the set
    /// of seen URLs is reset.
    pub(crate) fn replace(&mut self, servers: Vec<ServerAddr>) {
        let entries = ServerPool::replaced(&self.entries, servers);
        self.seen = entries.iter().map(|e| e.addr.key()).collect();
        self.entries = entries;
    }

    /// The entries `replace` makes of `servers`, given the current ones (pure, so a handle can
    /// show the new pool at once).
    pub(crate) fn replaced(current: &[PoolServer], servers: Vec<ServerAddr>) -> Vec<PoolServer> {
        let mut entries = Vec::with_capacity(servers.len());
        for addr in servers {
            let key = addr.key();
            if entries.iter().any(|e: &PoolServer| e.addr.key() == key) {
                continue;
            }
            let old = current.iter().find(|e| e.addr.key() == key);
            entries.push(PoolServer {
                attempts: old.map_or(0, |o| o.attempts),
                did_connect: old.is_some_and(|o| o.did_connect),
                last_auth_error: old.and_then(|o| o.last_auth_error.clone()),
                implicit: false,
                addr,
            });
        }
        entries
    }

    /// Switches every entry to TLS (R6).
    pub(crate) fn require_tls(&mut self) {
        for e in &mut self.entries {
            e.addr.set_tls(true);
        }
    }
}

/// How long to wait between passes over the pool (R15–R17).
#[derive(Clone)]
pub(crate) struct DelayPolicy {
    pub(crate) wait: Duration,
    pub(crate) jitter: Duration,
    pub(crate) jitter_tls: Duration,
    pub(crate) tls: bool,
    pub(crate) custom: Option<ReconnectDelay>,
}

impl fmt::Debug for DelayPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DelayPolicy")
            .field("wait", &self.wait)
            .field("jitter", &self.jitter)
            .field("jitter_tls", &self.jitter_tls)
            .field("tls", &self.tls)
            .field("custom", &self.custom.as_ref().map(|_| "<callback>"))
            .finish()
    }
}

impl DelayPolicy {
    /// The sleep due before pass number `pass` (1, 2, 3…). A panicking custom delay callback
    /// is reported in `panicked` and the default wait plus jitter is used instead.
    pub(crate) fn delay(
        &self,
        pass: u32,
        rng: &mut Rng,
        panicked: &mut Option<CallbackPanic>,
    ) -> Duration {
        if let Some(custom) = &self.custom {
            match guarded(CallbackKind::ReconnectDelay, || custom(pass)) {
                Ok(delay) => return delay,
                Err(panic) => *panicked = Some(panic),
            }
        }
        let bound = if self.tls {
            self.jitter_tls
        } else {
            self.jitter
        };
        self.wait.saturating_add(rng.duration_below(bound))
    }
}

/// Where the reconnect loop is within its passes over the pool (R15): within one pass the first
/// N−1 candidates are dialled back to back, the N-th after the sleep. One `Backoff` lives for one
/// outage; a forced reconnect skips one sleep (D5).
#[derive(Debug, Clone, Default)]
pub(crate) struct Backoff {
    index: usize,
    passes: u32,
    skip_once: bool,
}

impl Backoff {
    pub(crate) fn new() -> Backoff {
        Backoff::default()
    }

    /// The next dial cuts its wait short, once (R103, R105, D5).
    pub(crate) fn skip_next_wait(&mut self) {
        self.skip_once = true;
    }

    /// The deadline before the next dial, given the pool size at that moment. `None` means
    /// never (a delay too large to add to `now`, e.g. `Duration::MAX`): only `force_reconnect`
    /// or `close` end that wait.
    pub(crate) fn next_deadline(
        &mut self,
        now: Instant,
        pool_len: usize,
        policy: &DelayPolicy,
        rng: &mut Rng,
        panicked: &mut Option<CallbackPanic>,
    ) -> Option<Instant> {
        let do_sleep = self.index + 1 >= pool_len;
        if do_sleep {
            self.index = 0;
        } else {
            self.index += 1;
        }
        if !do_sleep {
            return Some(now);
        }
        self.passes = self.passes.saturating_add(1);
        if std::mem::take(&mut self.skip_once) {
            return Some(now);
        }
        now.checked_add(policy.delay(self.passes, rng, panicked))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn addrs(list: &[&str]) -> Vec<ServerAddr> {
        list.iter().map(|s| ServerAddr::parse(s).unwrap()).collect()
    }

    fn hosts(pool: &ServerPool) -> Vec<String> {
        pool.entries()
            .iter()
            .map(|e| e.addr.socket_addr_string())
            .collect()
    }

    fn policy(wait_ms: u64, jitter_ms: u64) -> DelayPolicy {
        DelayPolicy {
            wait: Duration::from_millis(wait_ms),
            jitter: Duration::from_millis(jitter_ms),
            jitter_tls: Duration::from_millis(10 * jitter_ms),
            tls: false,
            custom: None,
        }
    }

    #[test]
    fn r3_no_randomize_keeps_seed_order_and_randomize_spreads() {
        let mut rng = Rng::with_seed(3);
        let p = ServerPool::new(addrs(&["a:1", "b:1", "c:1"]), false, Some(60), &mut rng);
        assert_eq!(hosts(&p), ["a:1", "b:1", "c:1"]);
        let mut first_a = 0;
        for seed in 0..100 {
            let mut rng = Rng::with_seed(seed);
            let p = ServerPool::new(addrs(&["a:1", "b:1"]), true, Some(60), &mut rng);
            if p.get(0).unwrap().host() == "a" {
                first_a += 1;
            }
        }
        assert!((35..=65).contains(&first_a), "{first_a}");
    }

    #[test]
    fn r11_lost_server_goes_to_the_tail() {
        let mut rng = Rng::with_seed(0);
        let mut p = ServerPool::new(addrs(&["a:1", "b:1", "c:1"]), false, Some(60), &mut rng);
        p.set_current(&p.get(0).unwrap().clone());
        let next = p.select_next().unwrap();
        assert_eq!(next.host(), "b");
        assert_eq!(hosts(&p), ["b:1", "c:1", "a:1"]);
        assert_eq!(p.select_next().unwrap().host(), "c");
        assert_eq!(hosts(&p), ["c:1", "a:1", "b:1"]);
    }

    #[test]
    fn r12_r13_exhausted_server_leaves_and_empty_pool_ends() {
        let mut rng = Rng::with_seed(0);
        let mut p = ServerPool::new(addrs(&["a:1"]), false, Some(2), &mut rng);
        let mut dials = 0;
        while let Some(s) = p.select_next() {
            p.record_attempt(&s);
            dials += 1;
            assert!(dials < 10);
        }
        assert_eq!(dials, 2);
        assert!(p.is_empty());
    }

    #[test]
    fn r12_counter_reset_only_by_completed_handshake() {
        let mut rng = Rng::with_seed(0);
        let mut p = ServerPool::new(addrs(&["a:1", "b:1"]), false, Some(3), &mut rng);
        let a = p.select_next().unwrap();
        p.record_attempt(&a);
        p.record_attempt(&a);
        assert_eq!(p.entries()[0].attempts, 2);
        p.record_connected(&a);
        assert_eq!(p.entries()[0].attempts, 0);
        assert!(p.entries()[0].did_connect);
    }

    #[test]
    fn r14_budget_is_max_times_pool_size() {
        let mut rng = Rng::with_seed(0);
        let mut p = ServerPool::new(addrs(&["a:1", "b:1", "c:1"]), true, Some(5), &mut rng);
        let mut dials = 0;
        while let Some(s) = p.select_next() {
            p.record_attempt(&s);
            dials += 1;
        }
        assert_eq!(dials, 15);
    }

    #[test]
    fn unlimited_budget_never_empties() {
        let mut rng = Rng::with_seed(0);
        let mut p = ServerPool::new(addrs(&["a:1"]), false, None, &mut rng);
        for _ in 0..1000 {
            let s = p.select_next().unwrap();
            p.record_attempt(&s);
        }
        assert_eq!(p.len(), 1);
    }

    #[test]
    fn r15_sleep_once_per_pass_and_before_every_single_server_attempt() {
        let now = Instant::now();
        let pol = policy(100, 0);
        let mut rng = Rng::with_seed(0);
        let mut b = Backoff::new();
        // three servers: two immediate dials, then a sleep
        assert_eq!(
            b.next_deadline(now, 3, &pol, &mut rng, &mut None).unwrap(),
            now
        );
        assert_eq!(
            b.next_deadline(now, 3, &pol, &mut rng, &mut None).unwrap(),
            now
        );
        assert_eq!(
            b.next_deadline(now, 3, &pol, &mut rng, &mut None).unwrap(),
            now + Duration::from_millis(100)
        );
        assert_eq!(
            b.next_deadline(now, 3, &pol, &mut rng, &mut None).unwrap(),
            now
        );
        // one server: every attempt waits, the first included
        let mut b = Backoff::new();
        for _ in 0..3 {
            assert_eq!(
                b.next_deadline(now, 1, &pol, &mut rng, &mut None).unwrap(),
                now + Duration::from_millis(100)
            );
        }
    }

    #[test]
    fn r16_jitter_bound_depends_on_tls() {
        let now = Instant::now();
        let mut rng = Rng::with_seed(9);
        let mut pol = policy(100, 50);
        for _ in 0..200 {
            let d = Backoff::new()
                .next_deadline(now, 1, &pol, &mut rng, &mut None)
                .unwrap()
                - now;
            assert!(d >= Duration::from_millis(100) && d < Duration::from_millis(150));
        }
        pol.tls = true;
        let mut beyond_plain = false;
        for _ in 0..200 {
            let d = Backoff::new()
                .next_deadline(now, 1, &pol, &mut rng, &mut None)
                .unwrap()
                - now;
            assert!(d >= Duration::from_millis(100) && d < Duration::from_millis(600));
            beyond_plain |= d >= Duration::from_millis(150);
        }
        assert!(beyond_plain);
    }

    #[test]
    fn r17_custom_delay_gets_pass_counts_and_replaces_wait() {
        let calls = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = calls.clone();
        let mut pol = policy(5000, 1000);
        pol.custom = Some(Arc::new(move |n| {
            seen.lock().unwrap().push(n);
            Duration::from_millis(u64::from(n))
        }));
        let now = Instant::now();
        let mut rng = Rng::with_seed(0);
        let mut b = Backoff::new();
        for n in 1..=4u64 {
            assert_eq!(
                b.next_deadline(now, 1, &pol, &mut rng, &mut None).unwrap(),
                now + Duration::from_millis(n)
            );
        }
        assert_eq!(*calls.lock().unwrap(), [1, 2, 3, 4]);
    }

    #[test]
    fn a_panicking_or_huge_custom_delay_never_panics_the_loop() {
        let now = Instant::now();
        let mut rng = Rng::with_seed(0);
        let mut pol = policy(100, 0);
        pol.custom = Some(Arc::new(|_| panic!("delay callback bug")));
        let mut panicked = None;
        let at = Backoff::new().next_deadline(now, 1, &pol, &mut rng, &mut panicked);
        assert_eq!(
            at,
            Some(now + Duration::from_millis(100)),
            "default wait instead"
        );
        assert_eq!(panicked.map(|p| p.kind), Some(CallbackKind::ReconnectDelay));
        pol.custom = Some(Arc::new(|_| Duration::MAX));
        assert_eq!(
            Backoff::new().next_deadline(now, 1, &pol, &mut rng, &mut None),
            None
        );
        let mut huge = policy(0, 0);
        huge.wait = Duration::MAX;
        huge.jitter = Duration::MAX;
        assert_eq!(
            Backoff::new().next_deadline(now, 1, &huge, &mut rng, &mut None),
            None
        );
    }

    #[test]
    fn d5_forced_skip_cuts_one_wait_only() {
        let now = Instant::now();
        let pol = policy(100, 0);
        let mut rng = Rng::with_seed(0);
        let mut b = Backoff::new();
        b.skip_next_wait();
        assert_eq!(
            b.next_deadline(now, 1, &pol, &mut rng, &mut None).unwrap(),
            now
        );
        assert_eq!(
            b.next_deadline(now, 1, &pol, &mut rng, &mut None).unwrap(),
            now + Duration::from_millis(100)
        );
    }

    #[test]
    fn r44_same_auth_error_twice_from_one_server() {
        let mut rng = Rng::with_seed(0);
        let mut p = ServerPool::new(addrs(&["a:1", "b:1"]), false, None, &mut rng);
        let a = p.get(0).unwrap().clone();
        let b = p.get(1).unwrap().clone();
        let exp = ServerErrorKind::UserAuthenticationExpired;
        let viol = ServerErrorKind::AuthorizationViolation;
        assert!(!p.record_auth_error(&a, &exp));
        assert!(!p.record_auth_error(&b, &viol));
        assert!(
            !p.record_auth_error(&a, &viol),
            "a different error replaces"
        );
        assert!(p.record_auth_error(&a, &viol), "same error twice aborts");
        p.record_connected(&a);
        assert!(!p.record_auth_error(&a, &viol), "R45: cleared by a connect");
    }

    #[test]
    fn r95_r96_discovery_adds_prunes_and_reports_new_only() {
        let mut rng = Rng::with_seed(0);
        let mut p = ServerPool::new(addrs(&["nats://u:p@a:1"]), false, Some(60), &mut rng);
        p.set_current(&p.get(0).unwrap().clone());
        let new = p.apply_connect_urls(&["a:1".into(), "b:1".into(), "c:1".into()], &mut rng);
        assert_eq!(new, ["b:1", "c:1"]);
        assert_eq!(p.len(), 3);
        assert!(p.entries().iter().all(|e| e.addr.username() == Some("u")));
        assert!(p.entries()[1].implicit);
        // c leaves the cluster: pruned; a (user-given) stays even when unlisted
        let new = p.apply_connect_urls(&["b:1".into()], &mut rng);
        assert!(new.is_empty());
        assert_eq!(hosts(&p), ["a:1", "b:1"]);
        // c comes back: added again, but not "never seen"
        let new = p.apply_connect_urls(&["b:1".into(), "c:1".into()], &mut rng);
        assert!(new.is_empty());
        assert_eq!(p.len(), 3);
        // empty list: no change (trap 8)
        p.apply_connect_urls(&[], &mut rng);
        assert_eq!(p.len(), 3);
    }

    #[test]
    fn r101_discovered_servers_of_a_websocket_pool_are_websocket() {
        let mut rng = Rng::with_seed(0);
        let mut p = ServerPool::new(addrs(&["wss://u:p@seed:8443/ws"]), false, None, &mut rng);
        p.set_current(&p.get(0).unwrap().clone());
        let new = p.apply_connect_urls(&["seed:8443".into(), "10.0.0.2:8443".into()], &mut rng);
        assert_eq!(new, ["10.0.0.2:8443"]);
        let d = &p.entries()[1].addr;
        assert!(d.is_websocket() && d.is_tls(), "{d}");
        assert_eq!(d.username(), Some("u"));
        assert_eq!(d.tls_name(), Some("seed"));
        assert_eq!(d.to_string(), "wss://u:***@10.0.0.2:8443");
    }

    #[test]
    fn r97_reshuffle_keeps_the_head() {
        for seed in 0..20 {
            let mut rng = Rng::with_seed(seed);
            let mut p = ServerPool::new(addrs(&["a:1"]), true, Some(60), &mut rng);
            let urls: Vec<String> = (2..9).map(|i| format!("h{i}:1")).collect();
            p.apply_connect_urls(&urls, &mut rng);
            assert_eq!(p.get(0).unwrap().host(), "a");
        }
    }

    #[test]
    fn r107_replace_keeps_counters_of_surviving_servers() {
        let mut rng = Rng::with_seed(0);
        let mut p = ServerPool::new(addrs(&["a:1", "b:1"]), false, Some(60), &mut rng);
        let a = p.get(0).unwrap().clone();
        p.record_attempt(&a);
        p.replace(addrs(&["c:1", "a:1"]));
        assert_eq!(hosts(&p), ["c:1", "a:1"]);
        assert_eq!(p.entries()[1].attempts, 1);
        assert_eq!(p.entries()[0].attempts, 0);
    }
}
