//! [`WriteQueue`]: the one intake from the handles to the connection.
//!
//! Publishers encode their frame straight into the current [`Batch`] under one short lock (no
//! channel hop, no allocation once the buffer has grown); the driver swaps the whole batch out
//! and writes it without the lock. While disconnected the same batch keeps collecting publishes
//! up to `reconnect_buffer_size` (R62–R64), and when a connection drops, what the socket did not
//! take goes back in front of it, cut at a frame boundary (D1).
//!
//! Next to the bytes, the queue carries [`Record`]s: subscribe and unsubscribe (applied to the
//! driver's sid table before any later byte is written, so a message can never arrive for a
//! subscription the table does not know) and the life-cycle [`Command`]s.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::Notify;

use super::batch::{Batch, FrameKind};
use super::frame::PublishFrame;
use super::record::{Command, PongWaiter, Record};
use super::unconfirmed::Unconfirmed;
use crate::error::PublishError;
use crate::message_id::IdStamp;
use crate::signal::DriverSignal;
use crate::subscription::SubState;

/// Bytes above which a publisher waits for the writer while connected (back-pressure). Big enough
/// that a burst goes out in large writes, small enough that memory stays bounded.
pub(crate) const HIGH_WATER_MARK: usize = 4 * 1024 * 1024;

/// A publisher writes its frame directly only if the previous direct write is at least this old.
/// Back-to-back publishes (a burst, ~100 ns apart) must go through the driver, which coalesces
/// them into large writes; a request loop's publishes are tens of microseconds apart at least.
const DIRECT_WRITE_SPACING: Duration = Duration::from_micros(20);

/// During a burst the driver writes once at least this much has gathered (nats.go's
/// write-buffer size; `write_buffer_size` sets it): a publish burst then goes out in large
/// writes instead of a small write per driver wake-up, which costs the server (on the same
/// cores) and the client a system call every few messages.
pub(crate) const COALESCE_BYTES: usize = 32 * 1024;

/// A take this soon after the previous one means a burst is under way (a write of a few KiB
/// takes 5–20 µs; a request loop's publishes are a round trip apart, 50 µs at the very least).
const BURST_WINDOW: Duration = Duration::from_micros(40);

/// How long the end of a burst may wait for more before it is written anyway (nats.c waits up
/// to 1 ms the same way). A flush (PING) never waits.
pub(crate) const COALESCE_WAIT: Duration = Duration::from_millis(1);

/// What [`WriteQueue::take`] gives the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Take {
    /// A batch; this many of its bytes were already written directly.
    Batch { skip: usize },
    /// Nothing to write; the next append wakes the driver.
    Idle,
    /// A burst is under way and little has gathered: come back at [`COALESCE_WAIT`] at the
    /// latest (an append past [`COALESCE_BYTES`] or a PING wakes the driver sooner).
    Later,
    /// Records were queued since the driver took them (a SUB, a force_reconnect): the machine
    /// applies them before any byte queued after them is written, so take them first.
    Records,
}

/// Initial capacity of a batch's inline buffer.
pub(crate) const BATCH_CAPACITY: usize = 64 * 1024;

/// What the queue does with a new frame; set by the connection state machine only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Before the first connection completed.
    Connecting,
    /// A live connection: the driver writes the batches.
    Connected,
    /// Reconnecting: publishes are kept up to the reconnect limit; control frames are not
    /// queued (subscriptions are re-sent from the table at reconnect).
    Disconnected,
    /// `drain()` passed its subscription phase: publishes are refused (R70).
    DrainingPubs,
    /// `close()` is flushing what was queued: everything new is refused.
    Closing,
    /// Closed: everything is refused and the queue is empty.
    Closed,
}

/// With `at_least_once`: what is written but not confirmed, and the bookkeeping that tells
/// which PONG confirms what (offsets in the current connection's byte stream).
#[derive(Debug)]
struct AtLeastOnce {
    store: Unconfirmed,
    /// Above this many unconfirmed bytes, publishers wait (back-pressure).
    limit: usize,
    /// Stream offset of the queue batch's first byte.
    stream_base: u64,
    /// Stream offset and length of the batch the driver is writing (counted against the
    /// limit with the store: it is the next to be kept).
    inflight_start: u64,
    inflight_len: usize,
    /// Stream offset just past each PING in `pongs`, in the same order.
    ping_ends: VecDeque<u64>,
    /// Publish bytes queued since the last PING (any PING: each confirms all before it).
    uncovered: usize,
    /// When the first of them was written.
    uncovered_since: Option<Instant>,
    /// Confirmation PINGs without their PONG yet.
    confirms_out: usize,
    /// Publishes re-sent after reconnects (possible duplicates).
    resent: u64,
}

impl AtLeastOnce {
    fn reset_connection(&mut self) {
        self.stream_base = 0;
        self.inflight_start = 0;
        self.inflight_len = 0;
        self.ping_ends.clear();
        self.uncovered = 0;
        self.uncovered_since = None;
        self.confirms_out = 0;
    }
}

/// What the confirmation policy looks at (`connection::confirm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConfirmStatus {
    /// Publish bytes no PING follows yet.
    pub(crate) uncovered: usize,
    /// When the first of them was written (`None`: not written yet).
    pub(crate) since: Option<Instant>,
    /// Confirmation PINGs waiting for their PONG.
    pub(crate) outstanding: usize,
}

#[derive(Debug)]
pub(crate) struct QueueState {
    phase: Phase,
    batch: Batch,
    records: Vec<Record>,
    /// One slot per PING in the current connection's byte stream, in wire order (R78).
    pongs: VecDeque<PongWaiter>,
    /// The driver took everything and waits: the next append must wake it.
    writer_idle: bool,
    /// The driver waits for a burst to gather: wake it at `COALESCE_BYTES` or a PING.
    coalescing: bool,
    /// A PING is queued: someone waits for a round trip, write at once.
    urgent: bool,
    /// When the driver last took a batch.
    last_take: Option<Instant>,
    out_msgs: u64,
    out_bytes: u64,
    /// `None`: buffering disabled while disconnected.
    reconnect_limit: Option<usize>,
    /// The live plain-TCP socket, for direct writes of a lone frame while the driver is idle.
    direct: Option<Arc<OwnedWriteHalf>>,
    /// Bytes at the head of the batch a direct write already handed to the socket.
    skip: usize,
    /// When the last direct write happened: a burst goes through the driver, which coalesces.
    last_direct: Option<Instant>,
    /// `Some` with `at_least_once`.
    alo: Option<Box<AtLeastOnce>>,
    /// `Some` with `message_ids`: stamped under this lock, so ids follow the wire order.
    ids: Option<IdStamp>,
    /// A burst is written once this much has gathered ([`COALESCE_BYTES`] by default).
    coalesce_bytes: usize,
}

/// The write queue and the signals around it.
#[derive(Debug)]
pub(crate) struct WriteQueue {
    /// Held only to append, swap the batch out, or change phase: never across I/O or a
    /// callback ("write queue" lock).
    state: Mutex<QueueState>,
    driver: Arc<DriverSignal>,
    /// Wakes publishers waiting for the batch to drop below the high-water mark.
    space: Notify,
    /// `records` is not empty (written under the lock): the driver looks here on every round
    /// and takes the lock only when there is something, so a round does not contend with a
    /// publisher for nothing.
    has_records: AtomicBool,
}

impl WriteQueue {
    /// `unconfirmed_limit`: `Some(limit)` turns on `at_least_once` with that back-pressure
    /// limit.
    pub(crate) fn new(
        reconnect_limit: Option<usize>,
        unconfirmed_limit: Option<usize>,
        driver: Arc<DriverSignal>,
    ) -> WriteQueue {
        WriteQueue {
            state: Mutex::new(QueueState {
                phase: Phase::Connecting,
                batch: Batch::with_capacity(BATCH_CAPACITY),
                records: Vec::new(),
                pongs: VecDeque::new(),
                writer_idle: false,
                coalescing: false,
                urgent: false,
                last_take: None,
                out_msgs: 0,
                out_bytes: 0,
                reconnect_limit,
                direct: None,
                skip: 0,
                last_direct: None,
                alo: unconfirmed_limit.map(|limit| {
                    Box::new(AtLeastOnce {
                        store: Unconfirmed::new(limit),
                        limit,
                        stream_base: 0,
                        inflight_start: 0,
                        inflight_len: 0,
                        ping_ends: VecDeque::new(),
                        uncovered: 0,
                        uncovered_since: None,
                        confirms_out: 0,
                        resent: 0,
                    })
                }),
                ids: None,
                coalesce_bytes: COALESCE_BYTES,
            }),
            driver,
            space: Notify::new(),
            has_records: AtomicBool::new(false),
        }
    }

    /// Stamps every publish with a message id from `ids` (`message_ids`).
    pub(crate) fn with_message_ids(self, ids: Option<IdStamp>) -> WriteQueue {
        self.lock().ids = ids;
        self
    }

    /// Writes a burst once `bytes` have gathered (`write_buffer_size`).
    pub(crate) fn with_coalesce_bytes(self, bytes: usize) -> WriteQueue {
        self.lock().coalesce_bytes = bytes;
        self
    }

    /// Locks the queue. A poisoned lock is recovered: the state is plain data and every
    /// critical section leaves it consistent.
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends one publish frame if that can be decided now: `Ok(result)`, or `Err(())` when the
    /// batch is above the high-water mark on a live connection and the caller must wait
    /// ([`publish`](Self::publish) does). The publish fast path: one short lock, no allocation
    /// once the buffer has grown, no await.
    #[inline]
    pub(crate) fn try_publish(
        &self,
        frame: &PublishFrame<'_>,
    ) -> Result<Result<(), PublishError>, ()> {
        let mut st = self.lock();
        match st.phase {
            Phase::Connected if st.batch.len() >= HIGH_WATER_MARK => return Err(()),
            Phase::Connected => {
                if let Some(alo) = &st.alo {
                    if alo.store.bytes() + alo.inflight_len + st.batch.len() >= alo.limit {
                        return Err(());
                    }
                }
            }
            Phase::Closed | Phase::Closing => return Ok(Err(PublishError::Closed)),
            Phase::DrainingPubs => return Ok(Err(PublishError::Draining)),
            Phase::Disconnected | Phase::Connecting => {
                // R63: refused when already at or over the limit; the accepted frame may cross it.
                match st.reconnect_limit {
                    Some(limit) if st.batch.len() < limit => {}
                    limit => {
                        return Ok(Err(PublishError::ReconnectBufferFull {
                            limit: limit.unwrap_or(0),
                        }))
                    }
                }
            }
        }
        let was_empty = st.batch.is_empty();
        let before = st.batch.len();
        let st_ref = &mut *st;
        frame.encode_into(st_ref.ids.as_mut(), &mut st_ref.batch);
        let added = st.batch.len() - before;
        st.out_msgs += 1;
        st.out_bytes += added as u64;
        if let Some(alo) = &mut st.alo {
            alo.uncovered += added;
        }
        self.send_or_wake(st, was_empty);
        Ok(Ok(()))
    }

    /// [`try_publish`](Self::try_publish), waiting while the batch is above the high-water mark
    /// (back-pressure). Cancel-safe: a dropped wait queued nothing.
    pub(crate) async fn publish(&self, frame: &PublishFrame<'_>) -> Result<(), PublishError> {
        loop {
            // Registered before the check, so a wake-up between check and await is not missed.
            let notified = self.space.notified();
            if let Ok(result) = self.try_publish(frame) {
                return result;
            }
            notified.await;
        }
    }

    /// Appends a control frame (SUB, UNSUB, PONG) if a connection is live; while disconnected
    /// it is not needed (state is re-sent from the table at reconnect). Returns whether it was
    /// appended.
    pub(crate) fn control(&self, encode: impl FnOnce(&mut BytesMut)) -> bool {
        let mut st = self.lock();
        if !matches!(st.phase, Phase::Connected | Phase::DrainingPubs) {
            return false;
        }
        let was_empty = st.batch.is_empty();
        st.batch.push(FrameKind::Control, encode);
        self.send_or_wake(st, was_empty);
        true
    }

    /// Registers a subscription with the connection: the record (applied to the sid table
    /// before these bytes reach the socket) and, while connected, its SUB. `false` once closed.
    pub(crate) fn subscribe(&self, sub: Arc<SubState>, encode: impl FnOnce(&mut BytesMut)) -> bool {
        let mut st = self.lock();
        if matches!(st.phase, Phase::Closed | Phase::Closing) {
            return false;
        }
        st.records.push(Record::Subscribe(sub));
        self.has_records.store(true, Ordering::Release);
        if matches!(st.phase, Phase::Connected | Phase::DrainingPubs) {
            st.batch.push(FrameKind::Control, encode);
        }
        drop(st);
        self.driver.wake();
        true
    }

    /// Removes a subscription: the record and, while connected, the UNSUB.
    pub(crate) fn unsubscribe(&self, sid: u64, send_unsub: bool) {
        let mut st = self.lock();
        if st.phase == Phase::Closed {
            return;
        }
        st.records.push(Record::Unsubscribe(sid));
        self.has_records.store(true, Ordering::Release);
        if send_unsub && matches!(st.phase, Phase::Connected | Phase::DrainingPubs) {
            st.batch.push(FrameKind::Control, |b| {
                nats_proto::encode_unsub(b, sid, None)
            });
        }
        drop(st);
        self.driver.wake();
    }

    /// Hands a life-cycle command to the connection. `false` when it is closed already.
    pub(crate) fn command(&self, command: Command) -> bool {
        self.command_with(|| command)
    }

    /// Queues the command `make` builds under the queue lock, so that it is ordered with the
    /// publishes around it (what `make` reads happened before any publish queued after it).
    pub(crate) fn command_with(&self, make: impl FnOnce() -> Command) -> bool {
        let mut st = self.lock();
        if st.phase == Phase::Closed {
            return false;
        }
        st.records.push(Record::Command(make()));
        self.has_records.store(true, Ordering::Release);
        drop(st);
        self.driver.wake();
        true
    }

    /// Appends a PING with its waiter slot, keeping slots in wire order (R78). Gives the waiter
    /// back when no connection is live.
    pub(crate) fn ping(&self, waiter: PongWaiter) -> Result<(), PongWaiter> {
        let mut st = self.lock();
        if !matches!(st.phase, Phase::Connected | Phase::DrainingPubs) {
            return Err(waiter);
        }
        let was_empty = st.batch.is_empty();
        st.batch.push(FrameKind::Control, nats_proto::encode_ping);
        let end = st.batch.len() as u64;
        if let Some(alo) = &mut st.alo {
            alo.ping_ends.push_back(alo.stream_base + end);
            alo.uncovered = 0;
            alo.uncovered_since = None;
            if matches!(waiter, PongWaiter::Confirm) {
                alo.confirms_out += 1;
            }
        }
        st.pongs.push_back(waiter);
        st.urgent = true;
        self.send_or_wake(st, was_empty);
        Ok(())
    }

    /// A PONG arrived: the oldest PING's waiter (R78), if it was one of ours. A user waiter is
    /// completed here.
    pub(crate) fn pong(&self) -> Option<u64> {
        let mut st = self.lock();
        let waiter = st.pongs.pop_front();
        let mut released = false;
        if let Some(alo) = &mut st.alo {
            if let Some(end) = alo.ping_ends.pop_front() {
                released = alo.store.confirm(end);
            }
            if matches!(waiter, Some(PongWaiter::Confirm)) {
                alo.confirms_out = alo.confirms_out.saturating_sub(1);
            }
        }
        drop(st);
        if released {
            self.space.notify_waiters();
        }
        match waiter {
            Some(PongWaiter::User(tx)) => {
                let _ = tx.send(());
                None
            }
            Some(PongWaiter::Internal(token)) => Some(token),
            Some(PongWaiter::KeepAlive | PongWaiter::Confirm) | None => None,
        }
    }

    /// With `at_least_once` on a live connection: what the confirmation policy needs.
    pub(crate) fn confirm_status(&self) -> Option<ConfirmStatus> {
        let st = self.lock();
        if !matches!(st.phase, Phase::Connected | Phase::DrainingPubs) {
            return None;
        }
        st.alo.as_ref().map(|alo| ConfirmStatus {
            uncovered: alo.uncovered,
            since: alo.uncovered_since,
            outstanding: alo.confirms_out,
        })
    }

    /// Bytes written and not yet confirmed (`at_least_once`; 0 otherwise).
    #[cfg(test)]
    pub(crate) fn unconfirmed(&self) -> usize {
        self.lock().alo.as_ref().map_or(0, |alo| alo.store.bytes())
    }

    /// Publishes re-sent after reconnects so far (`at_least_once`).
    pub(crate) fn resent(&self) -> u64 {
        self.lock().alo.as_ref().map_or(0, |alo| alo.resent)
    }

    /// After an append: a frame alone in an empty batch while the driver is idle and has no
    /// record to apply first (a SUB, a command) is written right here, under the lock (no task
    /// hop: a lone request goes out at once); anything else,
    /// or what the socket did not take, is left to the driver, woken after the lock is released.
    #[inline]
    fn send_or_wake(&self, mut st: MutexGuard<'_, QueueState>, was_empty: bool) {
        if was_empty
            && st.writer_idle
            && st.records.is_empty()
            && st.skip == 0
            && st.direct.is_some()
            && !st.batch.has_shared()
        {
            let now = Instant::now();
            let lone = st
                .last_direct
                .is_none_or(|t| now.duration_since(t) >= DIRECT_WRITE_SPACING);
            if lone {
                st.last_direct = Some(now);
                let written = match &st.direct {
                    Some(sock) => sock.try_write(st.batch.chunk(0)),
                    None => Ok(0),
                };
                match written {
                    Ok(n) if n == st.batch.len() => {
                        let st = &mut *st;
                        match &mut st.alo {
                            Some(alo) => {
                                let start = alo.stream_base;
                                alo.stream_base += n as u64;
                                if alo.uncovered > 0 && alo.uncovered_since.is_none() {
                                    alo.uncovered_since = Some(now);
                                }
                                alo.store.retire(start, &mut st.batch);
                            }
                            None => st.batch.clear(),
                        }
                        return;
                    }
                    Ok(n) => st.skip = n,
                    // WouldBlock, or an error the driver will meet and report.
                    Err(_) => {}
                }
            }
        }
        let wake = if st.coalescing {
            let due = st.urgent || st.batch.len() >= st.coalesce_bytes;
            st.coalescing &= !due;
            due
        } else {
            std::mem::replace(&mut st.writer_idle, false)
        };
        drop(st);
        if wake {
            self.driver.wake();
        }
    }

    /// The driver takes the pending records.
    pub(crate) fn take_records(&self, out: &mut Vec<Record>) {
        if !self.has_records.load(Ordering::Acquire) {
            return;
        }
        let mut st = self.lock();
        std::mem::swap(&mut st.records, out);
        self.has_records
            .store(!st.records.is_empty(), Ordering::Release);
    }

    /// The driver hands back `written`, the batch it has written completely (kept unconfirmed
    /// with `at_least_once`, otherwise cleared for reuse), and takes everything queued into it
    /// (see [`Take`]). During a burst a small batch is left to gather unless `force` (the
    /// coalescing wait is over) or a PING is queued.
    pub(crate) fn take(&self, written: &mut Batch, now: Instant, force: bool) -> Take {
        let mut st = self.lock();
        if !written.is_empty() {
            match &mut st.alo {
                Some(alo) => {
                    alo.store.retire(alo.inflight_start, written);
                    alo.inflight_len = 0;
                }
                None => written.clear(),
            }
        }
        if !st.records.is_empty() {
            return Take::Records;
        }
        if st.batch.is_empty() {
            st.writer_idle = true;
            st.coalescing = false;
            return Take::Idle;
        }
        let burst = st
            .last_take
            .is_some_and(|t| now.saturating_duration_since(t) < BURST_WINDOW);
        if burst && !force && !st.urgent && st.skip == 0 && st.batch.len() < st.coalesce_bytes {
            st.coalescing = true;
            return Take::Later;
        }
        st.coalescing = false;
        st.urgent = false;
        st.last_take = Some(now);
        std::mem::swap(&mut st.batch, written);
        if let Some(alo) = &mut st.alo {
            alo.inflight_start = alo.stream_base;
            alo.inflight_len = written.len();
            alo.stream_base += written.len() as u64;
            if alo.uncovered > 0 && alo.uncovered_since.is_none() {
                alo.uncovered_since = Some(now);
            }
        }
        let skip = std::mem::take(&mut st.skip);
        let was_full = written.len() >= HIGH_WATER_MARK;
        drop(st);
        if was_full {
            self.space.notify_waiters();
        }
        Take::Batch { skip }
    }

    /// Bytes waiting to be written (while disconnected: the reconnect buffer's fill, R64,
    /// plus, with `at_least_once`, the unconfirmed publishes waiting to be re-sent).
    pub(crate) fn buffered(&self) -> usize {
        let st = self.lock();
        let resend = match (&st.alo, st.phase) {
            (Some(alo), Phase::Disconnected | Phase::Connecting) => alo.store.bytes(),
            _ => 0,
        };
        if st.reconnect_limit.is_none() && st.phase == Phase::Disconnected {
            resend
        } else {
            st.batch.len() + resend
        }
    }

    /// The current phase.
    pub(crate) fn phase(&self) -> Phase {
        self.lock().phase
    }

    /// Sets the phase (the state machine only). Closed is final and empties the queue.
    pub(crate) fn set_phase(&self, phase: Phase) {
        let mut st = self.lock();
        if st.phase == Phase::Closed {
            return;
        }
        st.phase = phase;
        if phase == Phase::Closed {
            st.batch = Batch::default();
            st.pongs.clear();
            st.direct = None;
            st.skip = 0;
            st.records.clear();
            if let Some(alo) = &mut st.alo {
                if alo.store.bytes() > 0 {
                    tracing::debug!(
                        bytes = alo.store.bytes(),
                        "closed with unconfirmed publishes; they are not re-sent"
                    );
                }
                alo.store.clear();
                alo.reset_connection();
            }
        }
        drop(st);
        // Publishers waiting for space must re-check (they may now fail or buffer).
        self.space.notify_waiters();
    }

    /// The connection dropped (the state machine): PING waiters fail (R74), control frames
    /// are discarded and publishes kept whole (D1), direct writes stop.
    pub(crate) fn disconnect(&self, next: Phase) {
        let mut st = self.lock();
        if st.phase == Phase::Closed {
            return;
        }
        st.phase = next;
        st.pongs.clear();
        st.writer_idle = false;
        st.coalescing = false;
        st.urgent = false;
        st.last_take = None;
        let mut kept = Batch::with_capacity(BATCH_CAPACITY.max(st.batch.len()));
        let skip = st.skip;
        st.batch.retain_publishes(skip, &mut kept);
        st.batch = kept;
        st.skip = 0;
        st.direct = None;
        if let Some(alo) = &mut st.alo {
            // The offsets stay until `connect`: the driver still hands back its batch.
            alo.ping_ends.clear();
            alo.uncovered = 0;
            alo.uncovered_since = None;
            alo.confirms_out = 0;
        }
        drop(st);
        self.space.notify_waiters();
    }

    /// The driver hands back the batch it was writing when the transport went: its publishes
    /// that the transport did not take whole go in front of everything queued since (D1).
    /// Bytes the transport accepted (the kernel's or TLS's buffers) count as sent and are
    /// never re-sent: at most once. With `at_least_once` the whole batch joins the unconfirmed
    /// publishes instead (what the transport accepted is not confirmed either), and `inflight`
    /// is left empty.
    pub(crate) fn requeue(&self, inflight: &mut Batch, sent: usize) {
        if inflight.is_empty() {
            return;
        }
        let mut st = self.lock();
        if matches!(st.phase, Phase::Closed | Phase::Closing) {
            return;
        }
        if let Some(alo) = &mut st.alo {
            alo.store.retire(alo.inflight_start, inflight);
            alo.inflight_len = 0;
            return;
        }
        let mut kept = Batch::with_capacity(BATCH_CAPACITY.max(inflight.len() + st.batch.len()));
        inflight.retain_publishes(sent, &mut kept);
        st.batch.retain_publishes(0, &mut kept);
        st.batch = kept;
    }

    /// Starts a new connection: `prefix` (the re-sent subscriptions, R54) goes before everything
    /// buffered (R65) and the phase becomes `phase`. `apply` runs under the lock with the
    /// pending records, so a subscription made concurrently is either in the table (and in
    /// `prefix`) or sends its own SUB afterwards, never both. With `at_least_once`, the
    /// publishes the previous connections did not confirm go between the two, in their
    /// original order; returns how many.
    pub(crate) fn connect(
        &self,
        phase: Phase,
        apply: impl FnOnce(&mut Vec<Record>, &mut BytesMut),
    ) -> u64 {
        let mut st = self.lock();
        let mut records = std::mem::take(&mut st.records);
        let mut prefix = BytesMut::new();
        apply(&mut records, &mut prefix);
        // Records `apply` did not consume (commands) stay for the driver.
        st.records.splice(0..0, records);
        self.has_records
            .store(!st.records.is_empty(), Ordering::Release);
        let resend = st.alo.as_ref().is_some_and(|alo| !alo.store.is_empty());
        let mut resent = 0;
        if !prefix.is_empty() || resend {
            let capacity = BATCH_CAPACITY.max(st.batch.len() + prefix.len());
            let old = std::mem::replace(&mut st.batch, Batch::with_capacity(capacity));
            if !prefix.is_empty() {
                st.batch
                    .push(FrameKind::Control, |b| b.extend_from_slice(&prefix));
            }
            let st = &mut *st;
            if let Some(alo) = &mut st.alo {
                resent = alo.store.take_publishes(&mut st.batch);
                alo.resent += resent;
            }
            old.retain_publishes(0, &mut st.batch);
        }
        let queued = st.batch.len();
        if let Some(alo) = &mut st.alo {
            alo.reset_connection();
            alo.uncovered = queued;
        }
        st.phase = phase;
        st.pongs.clear();
        st.writer_idle = false;
        st.coalescing = false;
        st.urgent = false;
        st.last_take = None;
        st.skip = 0;
        resent
    }

    /// Lets publishers write a lone frame straight to this socket (plain TCP only).
    pub(crate) fn set_direct(&self, direct: Option<Arc<OwnedWriteHalf>>) {
        let mut st = self.lock();
        st.direct = direct;
        st.skip = 0;
    }

    pub(crate) fn out_counts(&self) -> (u64, u64) {
        let st = self.lock();
        (st.out_msgs, st.out_bytes)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
