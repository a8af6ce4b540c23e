//! The shared write buffer, which doubles as the reconnect buffer (DESIGN §3, §4).
//!
//! Publishers encode their frame straight into one `BytesMut` under a short lock (no channel hop,
//! no allocation per message once the buffer has grown); the writer task swaps the whole buffer
//! out and writes it without the lock. While disconnected the same buffer keeps collecting
//! publishes up to `reconnect_buffer_size` (R62–R64). When a connection drops, the bytes not yet
//! written stay, cut at a frame boundary (D1, see [`frames`](super::frames)).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{oneshot, Notify};

use crate::error::PublishError;

/// Bytes above which a publisher waits for the writer while connected (back-pressure). Big enough
/// that a burst goes out in large writes, small enough that memory stays bounded.
pub(crate) const HIGH_WATER_MARK: usize = 4 * 1024 * 1024;

/// A publisher writes its frame directly only if the previous direct write is at least this old.
/// Back-to-back publishes (a burst, ~100 ns apart) must go through the writer, which coalesces
/// them into large writes; a request loop's publishes are tens of microseconds apart at least.
const DIRECT_WRITE_SPACING: Duration = Duration::from_micros(20);

/// What the buffer does with a new frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Before the first connection completed (initial connect in progress).
    Connecting,
    /// A writer is draining the buffer to a live socket.
    Connected,
    /// Reconnecting: publishes are kept up to the reconnect limit; control ops are not
    /// written (subscriptions are re-sent from the table at reconnect).
    Disconnected,
    /// `drain()` passed its subscription phase: publishes are refused (R70).
    DrainingPubs,
    /// Closed: everything is refused.
    Closed,
}

/// A flush waiting for the PONG of its PING.
pub(crate) type PongWaiter = oneshot::Sender<()>;

pub(crate) struct BufferState {
    pub(crate) buf: BytesMut,
    pub(crate) phase: Phase,
    /// The writer parked because the buffer was empty; the next append must wake it.
    writer_idle: bool,
    /// One slot per PING in the current connection's byte stream, in wire order (R78).
    pongs: VecDeque<Option<PongWaiter>>,
    pub(crate) out_msgs: u64,
    pub(crate) out_bytes: u64,
    /// `None`: buffering disabled while disconnected.
    reconnect_limit: Option<usize>,
    /// The live plain-TCP socket, for direct writes of a lone frame while the writer is parked.
    direct: Option<Arc<OwnedWriteHalf>>,
    /// Bytes at the head of `buf` a direct write already handed to the socket.
    skip: usize,
    /// When the last direct write happened: a burst goes through the writer, which coalesces.
    last_direct: Option<Instant>,
}

impl BufferState {
    /// Whether the writer is parked and must be woken for the bytes just appended; claims that
    /// wake-up so only one appender sends it.
    #[inline]
    fn claim_wake(&mut self) -> bool {
        std::mem::replace(&mut self.writer_idle, false)
    }
}

/// The write buffer and the signals around it.
pub(crate) struct WriteBuffer {
    /// Held only to append a frame, swap the buffer out, or change phase: never across I/O.
    state: Mutex<BufferState>,
    /// Wakes the writer when data arrives while it is idle.
    pub(crate) writer_wake: Notify,
    /// Wakes publishers waiting for the buffer to drop below the high-water mark.
    space: Notify,
}

impl WriteBuffer {
    pub(crate) fn new(reconnect_limit: Option<usize>) -> WriteBuffer {
        WriteBuffer {
            state: Mutex::new(BufferState {
                buf: BytesMut::with_capacity(64 * 1024),
                phase: Phase::Connecting,
                writer_idle: false,
                pongs: VecDeque::new(),
                out_msgs: 0,
                out_bytes: 0,
                reconnect_limit,
                direct: None,
                skip: 0,
                last_direct: None,
            }),
            writer_wake: Notify::new(),
            space: Notify::new(),
        }
    }

    /// Locks the buffer state ("write buffer" lock). A poisoned lock is recovered: the state is
    /// plain data and every critical section leaves it consistent.
    pub(crate) fn lock(&self) -> MutexGuard<'_, BufferState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends one publish frame of `len` bytes via `encode` if that can be decided now:
    /// `Ok(result)`, or `Err(encode)` when the buffer is above the high-water mark on a live
    /// connection and the caller must wait ([`publish`](Self::publish) does). The publish fast
    /// path: one short lock, no allocation once the buffer has grown, no await.
    #[inline]
    pub(crate) fn try_publish<F: FnOnce(&mut BytesMut)>(
        &self,
        len: usize,
        encode: F,
    ) -> Result<Result<(), PublishError>, F> {
        let mut st = self.lock();
        match st.phase {
            Phase::Connected if st.buf.len() >= HIGH_WATER_MARK => return Err(encode),
            Phase::Connected => {}
            Phase::Closed => return Ok(Err(PublishError::Closed)),
            Phase::DrainingPubs => return Ok(Err(PublishError::Draining)),
            Phase::Disconnected | Phase::Connecting => {
                // R63: refused when already at or over the limit; the accepted frame may cross it.
                match st.reconnect_limit {
                    Some(limit) if st.buf.len() < limit => {}
                    limit => {
                        return Ok(Err(PublishError::ReconnectBufferFull {
                            limit: limit.unwrap_or(0),
                        }))
                    }
                }
            }
        }
        let before = st.buf.len();
        st.buf.reserve(len);
        encode(&mut st.buf);
        st.out_msgs += 1;
        st.out_bytes += (st.buf.len() - before) as u64;
        self.send_or_wake(st, before == 0);
        Ok(Ok(()))
    }

    /// [`try_publish`](Self::try_publish), waiting for the writer while the buffer is above the
    /// high-water mark (back-pressure).
    pub(crate) async fn publish<F: FnOnce(&mut BytesMut)>(
        &self,
        len: usize,
        mut encode: F,
    ) -> Result<(), PublishError> {
        loop {
            // Registered before the check, so a wake-up between check and await is not missed.
            let notified = self.space.notified();
            match self.try_publish(len, encode) {
                Ok(result) => return result,
                Err(back) => encode = back,
            }
            notified.await;
        }
    }

    /// Appends a control frame (SUB, UNSUB, PONG) if a connection is live; while disconnected
    /// it is not needed (state is re-sent from the tables at reconnect). Returns whether it was
    /// appended.
    pub(crate) fn control(&self, encode: impl FnOnce(&mut BytesMut)) -> bool {
        let mut st = self.lock();
        if st.phase != Phase::Connected && st.phase != Phase::DrainingPubs {
            return false;
        }
        let was_empty = st.buf.is_empty();
        encode(&mut st.buf);
        self.send_or_wake(st, was_empty);
        true
    }

    /// Appends a PING with its waiter slot, keeping slots in wire order (R78). `None` when no
    /// connection is live.
    pub(crate) fn ping(&self, waiter: Option<PongWaiter>) -> Result<(), Option<PongWaiter>> {
        let mut st = self.lock();
        if st.phase != Phase::Connected && st.phase != Phase::DrainingPubs {
            return Err(waiter);
        }
        let was_empty = st.buf.is_empty();
        nats_proto::encode_ping(&mut st.buf);
        st.pongs.push_back(waiter);
        self.send_or_wake(st, was_empty);
        Ok(())
    }

    /// A PONG arrived: completes the oldest PING's waiter (R78).
    pub(crate) fn pong(&self) {
        let waiter = self.lock().pongs.pop_front();
        if let Some(Some(waiter)) = waiter {
            let _ = waiter.send(());
        }
    }

    /// After an append: a frame alone in an empty buffer while the writer is parked is written
    /// right here, under the lock (no task hop: a lone request goes out at once); anything else,
    /// or what the socket did not take, is left to the writer, woken after the lock is released.
    #[inline]
    fn send_or_wake(&self, mut st: MutexGuard<'_, BufferState>, was_empty: bool) {
        if was_empty && st.writer_idle && st.skip == 0 && st.direct.is_some() {
            let now = Instant::now();
            let lone = st
                .last_direct
                .is_none_or(|t| now.duration_since(t) >= DIRECT_WRITE_SPACING);
            let BufferState {
                direct,
                buf,
                last_direct,
                ..
            } = &mut *st;
            if let (true, Some(sock)) = (lone, direct) {
                *last_direct = Some(now);
                match sock.try_write(buf) {
                    Ok(n) if n == buf.len() => {
                        buf.clear();
                        return;
                    }
                    Ok(n) => st.skip = n,
                    // WouldBlock, or an error the writer and reader will meet and report.
                    Err(_) => {}
                }
            }
        }
        let wake = st.claim_wake();
        drop(st);
        self.wake_writer(wake);
    }

    /// Wakes the writer if [`BufferState::claim_wake`] said so. Called after the lock is
    /// released: a writer woken while the publisher still holds the lock would block on it.
    #[inline]
    fn wake_writer(&self, wake: bool) {
        if wake {
            self.writer_wake.notify_one();
        }
    }

    /// The writer takes everything buffered, leaving `spare` (cleared) in its place; returns how
    /// many of the taken bytes a direct write already sent. `None`, and the writer is marked
    /// idle, when there is nothing to write.
    pub(crate) fn take(&self, spare: &mut BytesMut) -> Option<usize> {
        let mut st = self.lock();
        if st.buf.is_empty() {
            st.writer_idle = true;
            return None;
        }
        spare.clear();
        std::mem::swap(&mut st.buf, spare);
        let skip = std::mem::take(&mut st.skip);
        let was_full = spare.len() >= HIGH_WATER_MARK;
        drop(st);
        if was_full {
            self.space.notify_waiters();
        }
        Some(skip)
    }

    /// Bytes waiting to be written (while disconnected: the reconnect buffer, R64).
    pub(crate) fn buffered(&self) -> usize {
        let st = self.lock();
        if st.reconnect_limit.is_none() && st.phase == Phase::Disconnected {
            0
        } else {
            st.buf.len()
        }
    }

    /// Sets the phase; a live phase drops waiters of an older connection's PINGs.
    pub(crate) fn set_phase(&self, phase: Phase) {
        let mut st = self.lock();
        if st.phase == Phase::Closed {
            // Closed is final; a late drain step must not reopen the buffer.
            return;
        }
        st.phase = phase;
        if phase == Phase::Closed {
            st.buf = BytesMut::new();
            st.pongs.clear();
            st.direct = None;
            st.skip = 0;
        }
        drop(st);
        // Publishers waiting for space must re-check (they may now fail or buffer).
        self.space.notify_waiters();
    }

    /// The connection dropped: fails PING waiters (R74) and puts the writer's unsent bytes back
    /// in front of the buffer, keeping only whole publish frames (D1).
    pub(crate) fn disconnect(&self, unsent: &[u8], sent: usize, next: Phase) {
        let mut st = self.lock();
        st.phase = next;
        st.pongs.clear();
        st.writer_idle = false;
        let mut kept = BytesMut::with_capacity(unsent.len().saturating_sub(sent) + st.buf.len());
        super::frames::retain_publishes(unsent, sent, &mut kept);
        super::frames::retain_publishes(&st.buf, st.skip, &mut kept);
        st.buf = kept;
        st.skip = 0;
        st.direct = None;
        drop(st);
        self.space.notify_waiters();
    }

    /// Starts a new connection: `prefix` (subscriptions re-sent, R54) goes before everything
    /// buffered (R65), and the phase becomes `Connected`.
    pub(crate) fn connect(&self, prefix: &[u8], direct: Option<Arc<OwnedWriteHalf>>) {
        let mut st = self.lock();
        st.direct = direct;
        st.skip = 0;
        if !prefix.is_empty() {
            let mut buf = BytesMut::with_capacity(prefix.len() + st.buf.len() + 64 * 1024);
            buf.extend_from_slice(prefix);
            buf.extend_from_slice(&st.buf);
            st.buf = buf;
        }
        st.phase = Phase::Connected;
        st.pongs.clear();
        st.writer_idle = false;
    }

    pub(crate) fn out_counts(&self) -> (u64, u64) {
        let st = self.lock();
        (st.out_msgs, st.out_bytes)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn pub_frame<'a>(subject: &str, payload: &'a [u8]) -> (usize, impl FnOnce(&mut BytesMut) + 'a) {
        let subject = subject.to_string();
        (
            nats_proto::pub_len(&subject, None, payload.len()),
            move |b: &mut BytesMut| nats_proto::encode_pub(b, &subject, None, payload),
        )
    }

    #[tokio::test]
    async fn r63_limit_checked_before_append() {
        let wb = WriteBuffer::new(Some(32));
        wb.set_phase(Phase::Disconnected);
        for _ in 0..2 {
            let (len, enc) = pub_frame("foo", b"food");
            wb.publish(len, enc).await.unwrap();
        }
        assert_eq!(wb.buffered(), 34);
        let (len, enc) = pub_frame("foo", b"food");
        assert!(matches!(
            wb.publish(len, enc).await,
            Err(PublishError::ReconnectBufferFull { limit: 32 })
        ));
        assert_eq!(wb.out_counts(), (2, 34));
    }

    #[tokio::test]
    async fn r64_disabled_buffer_fails_at_once() {
        let wb = WriteBuffer::new(None);
        wb.set_phase(Phase::Disconnected);
        let (len, enc) = pub_frame("foo", b"x");
        assert!(matches!(
            wb.publish(len, enc).await,
            Err(PublishError::ReconnectBufferFull { limit: 0 })
        ));
        assert_eq!(wb.buffered(), 0);
    }

    #[tokio::test]
    async fn r65_resubscriptions_go_before_buffered_publishes() {
        let wb = WriteBuffer::new(Some(1024));
        wb.set_phase(Phase::Disconnected);
        let (len, enc) = pub_frame("a", b"1");
        wb.publish(len, enc).await.unwrap();
        assert!(!wb.control(|b| nats_proto::encode_sub(b, "x", None, 1)));
        wb.connect(b"SUB x 1\r\n", None);
        let (len, enc) = pub_frame("b", b"2");
        wb.publish(len, enc).await.unwrap();
        let mut out = BytesMut::new();
        assert!(wb.take(&mut out).is_some());
        assert_eq!(&out[..], b"SUB x 1\r\nPUB a 1\r\n1\r\nPUB b 1\r\n2\r\n");
    }

    #[tokio::test]
    async fn d1_unsent_bytes_are_kept_from_the_first_incomplete_frame() {
        let wb = WriteBuffer::new(Some(1024));
        wb.connect(b"", None);
        for (s, p) in [("a", b"1"), ("b", b"2")] {
            let (len, enc) = pub_frame(s, p);
            wb.publish(len, enc).await.unwrap();
        }
        wb.ping(None).unwrap();
        let mut inflight = BytesMut::new();
        assert!(wb.take(&mut inflight).is_some());
        let (len, enc) = pub_frame("c", b"3");
        wb.publish(len, enc).await.unwrap();
        // the socket took the first frame and half of the second
        wb.disconnect(&inflight, 16, Phase::Disconnected);
        let st = wb.lock();
        assert_eq!(&st.buf[..], b"PUB b 1\r\n2\r\nPUB c 1\r\n3\r\n");
        assert_eq!(st.phase, Phase::Disconnected);
    }

    #[tokio::test]
    async fn r78_pongs_complete_pings_in_order() {
        let wb = WriteBuffer::new(Some(1024));
        wb.connect(b"", None);
        let (t1, r1) = oneshot::channel();
        let (t2, mut r2) = oneshot::channel();
        wb.ping(Some(t1)).unwrap();
        wb.ping(None).unwrap();
        wb.ping(Some(t2)).unwrap();
        wb.pong();
        r1.await.unwrap();
        wb.pong();
        assert!(r2.try_recv().is_err());
        wb.pong();
        r2.await.unwrap();
    }

    #[tokio::test]
    async fn r74_disconnect_fails_ping_waiters() {
        let wb = WriteBuffer::new(Some(1024));
        wb.connect(b"", None);
        let (t, r) = oneshot::channel();
        wb.ping(Some(t)).unwrap();
        wb.disconnect(&[], 0, Phase::Disconnected);
        assert!(r.await.is_err());
        assert!(wb.ping(None).is_err());
    }

    #[tokio::test]
    async fn closed_refuses_everything() {
        let wb = WriteBuffer::new(Some(1024));
        wb.set_phase(Phase::Closed);
        let (len, enc) = pub_frame("a", b"1");
        assert!(matches!(
            wb.publish(len, enc).await,
            Err(PublishError::Closed)
        ));
        // Closed is final: a late phase change does not reopen the buffer.
        wb.set_phase(Phase::DrainingPubs);
        let (len, enc) = pub_frame("a", b"1");
        assert!(matches!(
            wb.publish(len, enc).await,
            Err(PublishError::Closed)
        ));
        let draining = WriteBuffer::new(Some(1024));
        draining.set_phase(Phase::DrainingPubs);
        let (len, enc) = pub_frame("a", b"1");
        assert!(matches!(
            draining.publish(len, enc).await,
            Err(PublishError::Draining)
        ));
    }
}
