//! The ack window as a pure state machine (J8–J10): pending publishes in publish order, their
//! attempts and timers, the flow mode (flowing, probing a stream without leader, disconnected),
//! and in-order completion. The driver feeds it replies, events and `now`, and carries out the
//! sends it asks for.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use bytes::Bytes;
use nats_client::HeaderMap;
use tokio::time::Instant;

use crate::wire::later;

use crate::error::{ApiError, ErrorCode, PublishError};
use crate::publish::slots::Slots;
use crate::publish::PubAck;
use crate::retry::{Decision, PublishRetry, NO_RESPONDERS_RETRIES, NO_RESPONDERS_WAIT};

/// Most subjects remembered as "a stream stored this"; the set is cleared when it is full.
const KNOWN_SUBJECTS: usize = 10_000;

/// A reply to one attempt, classified.
#[derive(Debug, Clone)]
pub(crate) enum Reply {
    /// Stored (or a duplicate of a stored message).
    Ack(PubAck),
    /// No responders: no stream listens, or its leader is being elected.
    NoResponders,
    /// A JetStream error that passes (no leader, cluster unavailable): re-send later.
    Transient(ApiError),
    /// A final answer (wrong last sequence, too large, ...).
    Failed(PublishError),
}

impl Reply {
    /// Classifies an API error of a publish.
    pub(crate) fn from_api(e: ApiError) -> Reply {
        let transient = e.code == 503
            || e.err_code == ErrorCode::CLUSTER_NOT_AVAILABLE
            || e.err_code == CLUSTER_NOT_LEADER;
        if transient {
            Reply::Transient(e)
        } else {
            Reply::Failed(PublishError::Api(e))
        }
    }
}

/// 10009: "JetStream cluster can not handle request" (seen during leader changes).
const CLUSTER_NOT_LEADER: ErrorCode = ErrorCode(10009);

/// What the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Publish entry `id` as attempt `attempt` (reply token `<id>-<attempt>`).
    Send { id: u64, attempt: u32 },
    /// Ask the API whether a stream stores `subject`; answer with
    /// [`Window::on_verdict`].
    CheckStream { subject: String },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    InFlight {
        sent_at: Instant,
        deadline: Instant,
    },
    /// Re-send at `at` (while flowing).
    Retry {
        at: Instant,
    },
    /// Waiting for the flow to resume (probing or disconnected).
    Held,
    /// Waiting for the answer of a stream check (ADR-22 retries used up).
    Checking,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Flowing,
    /// A stream has no leader: only the oldest message is re-sent, at `next`.
    Probing {
        since: Instant,
        probes: u32,
        next: Instant,
    },
    Disconnected,
}

struct Entry<W> {
    subject: String,
    headers: HeaderMap,
    payload: Bytes,
    first: Instant,
    attempt: u32,
    phase: Phase,
    no_responders: u32,
    may_be_stored: bool,
    timer: Option<Instant>,
    result: Option<Result<PubAck, PublishError>>,
    waiter: W,
}

/// The pending publishes of one context, `W` being what to complete (a oneshot sender and
/// the window permit in the driver; anything in tests).
pub(crate) struct Window<W> {
    policy: PublishRetry,
    ack_timeout: Duration,
    next_id: u64,
    entries: Slots<Entry<W>>,
    timers: BTreeSet<(Instant, u64)>,
    mode: Mode,
    known_subjects: HashSet<String>,
    checking: HashSet<String>,
    /// The deadline the driver sleeps until, to know when an insert must wake it.
    pub(crate) driver_deadline: Option<Instant>,
}

impl<W> Window<W> {
    pub(crate) fn new(policy: PublishRetry, ack_timeout: Duration) -> Window<W> {
        Window {
            policy,
            ack_timeout,
            next_id: 1,
            entries: Slots::new(),
            timers: BTreeSet::new(),
            mode: Mode::Flowing,
            known_subjects: HashSet::new(),
            checking: HashSet::new(),
            driver_deadline: None,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds a publish; sends it at once unless the flow is held.
    pub(crate) fn insert(
        &mut self,
        subject: String,
        headers: HeaderMap,
        payload: Bytes,
        waiter: W,
        now: Instant,
    ) -> (u64, Option<Action>) {
        let id = self.next_id;
        self.next_id += 1;
        self.entries.insert(
            id,
            Entry {
                subject,
                headers,
                payload,
                first: now,
                attempt: 0,
                phase: Phase::Held,
                no_responders: 0,
                may_be_stored: false,
                timer: None,
                result: None,
                waiter,
            },
        );
        let action = if self.mode == Mode::Flowing {
            self.send(id, now)
        } else {
            self.arm(id);
            None
        };
        (id, action)
    }

    /// The message of entry `id`, to (re-)send.
    pub(crate) fn message(&self, id: u64) -> Option<(&str, &HeaderMap, &Bytes)> {
        self.entries
            .get(&id)
            .map(|e| (e.subject.as_str(), &e.headers, &e.payload))
    }

    /// Forgets an entry whose first publish failed locally.
    pub(crate) fn remove(&mut self, id: u64) -> Option<W> {
        let e = self.entries.remove(&id)?;
        if let Some(t) = e.timer {
            self.timers.remove(&(t, id));
        }
        Some(e.waiter)
    }

    /// The earliest timer (an entry's or the probe's).
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let entry = self.timers.first().map(|(t, _)| *t);
        let probe = match self.mode {
            Mode::Probing { next, .. } => Some(next),
            _ => None,
        };
        match (entry, probe) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether the next deadline is now earlier than the one the driver sleeps until (it must
    /// be woken to sleep less).
    pub(crate) fn deadline_moved_up(&self) -> bool {
        match (self.driver_deadline, self.next_deadline()) {
            (None, Some(_)) => true,
            (Some(was), Some(next)) => next < was,
            _ => false,
        }
    }

    /// A reply to attempt `attempt` of entry `id`.
    pub(crate) fn on_reply(
        &mut self,
        id: u64,
        attempt: u32,
        reply: Reply,
        now: Instant,
    ) -> Vec<Action> {
        let mut actions = Vec::new();
        let Some(e) = self.entries.get_mut(&id) else {
            return actions;
        };
        if e.result.is_some() {
            return actions;
        }
        let latest = attempt == e.attempt;
        match reply {
            Reply::Ack(mut ack) => {
                // A duplicate for a message we re-sent is the ack of an earlier attempt.
                if e.attempt > 1 {
                    ack.duplicate = false;
                }
                let sent_at = match e.phase {
                    Phase::InFlight { sent_at, .. } => Some(sent_at),
                    _ => None,
                };
                if !self.known_subjects.contains(&e.subject) {
                    let subject = e.subject.clone();
                    self.remember(subject);
                }
                self.complete(id, Ok(ack));
                if let Mode::Probing { since, .. } = self.mode {
                    if latest && sent_at.is_some_and(|s| s > since) {
                        actions.extend(self.resume(now, since));
                    }
                }
            }
            Reply::Failed(err) if latest => self.complete(id, Err(err)),
            Reply::NoResponders if latest => {
                if self.known_subjects.contains(&e.subject) {
                    // A stream stores it: its leader is gone for now.
                    if self.mode == Mode::Flowing {
                        self.enter_probing(now);
                    }
                    self.hold(id);
                } else if self.mode != Mode::Flowing {
                    // An earlier check could not tell: ask again, so that "no stream" ends
                    // the publish instead of a probe until the retry window.
                    self.check_stream(id, &mut actions);
                } else {
                    e.no_responders += 1;
                    if e.no_responders <= NO_RESPONDERS_RETRIES {
                        self.set_phase(
                            id,
                            Phase::Retry {
                                at: now + NO_RESPONDERS_WAIT,
                            },
                        );
                    } else {
                        self.check_stream(id, &mut actions);
                    }
                }
            }
            Reply::Transient(err) if latest => {
                tracing::debug!(%err, id, "publish hit a transient JetStream error; probing");
                self.enter_probing(now);
                self.hold(id);
            }
            _ => {}
        }
        actions
    }

    /// The answer to [`Action::CheckStream`]: `Some(false)` no stream stores `subject`,
    /// `Some(true)` one does (its leader is being elected), `None` unknown.
    pub(crate) fn on_verdict(&mut self, subject: &str, verdict: Option<bool>, now: Instant) {
        self.checking.remove(subject);
        let ids: Vec<u64> = self
            .entries
            .iter()
            .filter(|(_, e)| {
                e.phase == Phase::Checking && e.subject == subject && e.result.is_none()
            })
            .map(|(id, _)| *id)
            .collect();
        if ids.is_empty() {
            return;
        }
        if verdict == Some(false) {
            for id in ids {
                self.complete(
                    id,
                    Err(PublishError::NoStream {
                        subject: subject.to_owned(),
                    }),
                );
            }
            return;
        }
        if verdict == Some(true) {
            self.remember(subject.to_owned());
        }
        if self.mode == Mode::Flowing {
            self.enter_probing(now);
        }
        for id in ids {
            self.hold(id);
        }
    }

    /// Timers due at `now`: ack timeouts, retries, the probe, give-ups.
    pub(crate) fn on_timer(&mut self, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        while let Some(&(t, id)) = self.timers.first() {
            if t > now {
                break;
            }
            self.timers.remove(&(t, id));
            if let Some(e) = self.entries.get_mut(&id) {
                e.timer = None;
            }
            actions.extend(self.fire(id, now));
        }
        if let Mode::Probing {
            since,
            probes,
            next,
        } = self.mode
        {
            if next <= now {
                let probes = probes + 1;
                let oldest = self
                    .entries
                    .iter()
                    .find(|(_, e)| e.result.is_none() && e.phase != Phase::Checking)
                    .map(|(id, e)| (*id, e.first));
                // The probe's pace comes from the retry policy; once the oldest message's
                // window has passed its own timer fails it and the next one is probed.
                let next = match oldest.map(|(_, first)| self.policy.decide(probes, first, now)) {
                    Some(Decision::RetryAt(at)) => at,
                    _ => now + self.policy.backoff.delay(probes),
                };
                self.mode = Mode::Probing {
                    since,
                    probes,
                    next,
                };
                if let Some((id, _)) = oldest {
                    actions.extend(self.send(id, now));
                }
            }
        }
        actions
    }

    fn fire(&mut self, id: u64, now: Instant) -> Option<Action> {
        let give_up = self.give_up_at(self.entries.get(&id)?.first);
        let e = self.entries.get_mut(&id)?;
        if e.result.is_some() {
            return None;
        }
        if now >= give_up {
            let err = PublishError::TimedOut {
                attempts: e.attempt,
                window: self.policy.window,
                // An attempt still unanswered may have been stored.
                may_be_stored: e.may_be_stored || matches!(e.phase, Phase::InFlight { .. }),
            };
            self.complete(id, Err(err));
            return None;
        }
        match e.phase {
            Phase::InFlight { deadline, .. } if deadline <= now => {
                // The attempt may have been stored and its ack lost. A clustered stream
                // without a leader drops messages silently: an ack timeout is how that shows,
                // so probe instead of re-sending everything.
                e.may_be_stored = true;
                self.enter_probing(now);
                self.hold(id);
                None
            }
            Phase::Retry { at } if at <= now => {
                if self.mode == Mode::Flowing {
                    self.send(id, now)
                } else {
                    self.hold(id);
                    None
                }
            }
            _ => {
                self.arm(id);
                None
            }
        }
    }

    /// The connection was lost: hold everything until it is back.
    pub(crate) fn on_disconnected(&mut self) {
        self.mode = Mode::Disconnected;
        self.hold_retrying();
    }

    /// A new connection: re-send every pending message whose attempt may have been lost.
    pub(crate) fn on_reconnected(&mut self, now: Instant) -> Vec<Action> {
        self.mode = Mode::Flowing;
        let ids: Vec<u64> = self
            .entries
            .iter()
            .filter(|(_, e)| e.result.is_none() && e.phase != Phase::Checking)
            .map(|(id, _)| *id)
            .collect();
        ids.into_iter()
            .filter_map(|id| self.send(id, now))
            .collect()
    }

    /// Fails everything still pending (the client closed).
    pub(crate) fn fail_all(&mut self, err: &PublishError) {
        let ids: Vec<u64> = self
            .entries
            .iter()
            .filter(|(_, e)| e.result.is_none())
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.complete(id, Err(err.clone()));
        }
    }

    /// Hands each completed entry at the front to `f`, in publish order (J10): later
    /// completions wait for earlier ones.
    pub(crate) fn for_each_ready(&mut self, mut f: impl FnMut(W, Result<PubAck, PublishError>)) {
        while let Some(e) = self.entries.pop_front_if(|e| e.result.is_some()) {
            if let Some(result) = e.result {
                f(e.waiter, result);
            }
        }
    }

    fn complete(&mut self, id: u64, result: Result<PubAck, PublishError>) {
        self.set_timer(id, None);
        if let Some(e) = self.entries.get_mut(&id) {
            e.result = Some(result);
        }
    }

    fn remember(&mut self, subject: String) {
        if self.known_subjects.len() >= KNOWN_SUBJECTS {
            self.known_subjects.clear();
        }
        self.known_subjects.insert(subject);
    }

    fn enter_probing(&mut self, now: Instant) {
        if self.mode != Mode::Flowing {
            return;
        }
        tracing::debug!("publishes get no leader: probing with the oldest message");
        self.mode = Mode::Probing {
            since: now,
            probes: 0,
            next: now + self.policy.backoff.delay(1),
        };
        self.hold_retrying();
    }

    /// Acks flow again: send what was held and what was in flight when probing began.
    fn resume(&mut self, now: Instant, since: Instant) -> Vec<Action> {
        tracing::debug!("publishes acked again: re-sending the held messages");
        self.mode = Mode::Flowing;
        let ids: Vec<u64> = self
            .entries
            .iter()
            .filter(|(_, e)| {
                e.result.is_none()
                    && match e.phase {
                        Phase::Held | Phase::Retry { .. } => true,
                        Phase::InFlight { sent_at, .. } => sent_at <= since,
                        Phase::Checking => false,
                    }
            })
            .map(|(id, _)| *id)
            .collect();
        ids.into_iter()
            .filter_map(|id| self.send(id, now))
            .collect()
    }

    /// When a message first sent at `first` fails: at the end of the retry window, but not
    /// before its first attempt had its ack timeout.
    fn give_up_at(&self, first: Instant) -> Instant {
        self.policy
            .give_up_at(first)
            .max(later(first, self.ack_timeout))
    }

    fn send(&mut self, id: u64, now: Instant) -> Option<Action> {
        let deadline = later(now, self.ack_timeout);
        let e = self.entries.get_mut(&id)?;
        e.attempt += 1;
        let attempt = e.attempt;
        self.set_phase(
            id,
            Phase::InFlight {
                sent_at: now,
                deadline,
            },
        );
        Some(Action::Send { id, attempt })
    }

    /// Entries waiting for a re-send time wait for the flow instead.
    fn hold_retrying(&mut self) {
        let retrying: Vec<u64> = self
            .entries
            .iter()
            .filter(|(_, e)| matches!(e.phase, Phase::Retry { .. }))
            .map(|(id, _)| *id)
            .collect();
        for id in retrying {
            self.hold(id);
        }
    }

    fn hold(&mut self, id: u64) {
        self.set_phase(id, Phase::Held);
    }

    /// Entry `id` waits for the answer to whether a stream stores its subject; the question is
    /// asked unless it is out already (one check per subject at a time).
    fn check_stream(&mut self, id: u64, actions: &mut Vec<Action>) {
        let Some(subject) = self.entries.get(&id).map(|e| e.subject.clone()) else {
            return;
        };
        self.set_phase(id, Phase::Checking);
        if self.checking.insert(subject.clone()) {
            actions.push(Action::CheckStream { subject });
        }
    }

    fn set_phase(&mut self, id: u64, phase: Phase) {
        if let Some(e) = self.entries.get_mut(&id) {
            e.phase = phase;
        }
        self.arm(id);
    }

    /// Sets the entry's timer to its phase deadline or give-up time, whichever is first.
    fn arm(&mut self, id: u64) {
        let Some(e) = self.entries.get(&id) else {
            return;
        };
        let give_up = self.give_up_at(e.first);
        let at = match e.phase {
            Phase::InFlight { deadline, .. } => deadline.min(give_up),
            Phase::Retry { at } => at.min(give_up),
            Phase::Held | Phase::Checking => give_up,
        };
        self.set_timer(id, Some(at));
    }

    fn set_timer(&mut self, id: u64, at: Option<Instant>) {
        let Some(e) = self.entries.get_mut(&id) else {
            return;
        };
        if let Some(old) = e.timer.take() {
            self.timers.remove(&(old, id));
        }
        if let Some(at) = at {
            e.timer = Some(at);
            self.timers.insert((at, id));
        }
    }
}

#[cfg(test)]
#[path = "window_tests.rs"]
mod tests;
