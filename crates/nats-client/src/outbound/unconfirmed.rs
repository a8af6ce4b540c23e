//! [`Unconfirmed`]: with `at_least_once`, the batches the transport accepted on the current
//! connection that no PONG has confirmed yet, in wire order.
//!
//! The server handles a connection's input in order, so the PONG of a PING confirms every byte
//! written before that PING. Each batch is kept with its logical offset in the connection's
//! byte stream; a PONG for the PING that ended at offset `p` drops every batch that ends at or
//! before `p` and cuts the front batch at `p` (a PING is a frame boundary, so the cut is one
//! too). After a reconnect, [`take_publishes`](Unconfirmed::take_publishes) hands back the
//! publishes after the cut, whole and in their original order (D1); SUB, UNSUB, PING and PONG
//! are per connection and are not re-sent from here.
//!
//! A written batch is kept by moving it (no copy: its inline buffer and its large payloads'
//! `Bytes` go along); only a small one (a lone request, the end of a burst) is copied onto the
//! tail, so that a stream of small writes does not hold one 64 KiB allocation per frame.
//! Confirmed batches are recycled for the writer.

use std::collections::VecDeque;

use super::batch::Batch;

/// A written batch smaller than this is copied onto the tail instead of kept as it is.
pub(crate) const COPY_BELOW: usize = 16 * 1024;

/// Confirmed batches kept for reuse at most.
const FREE_LIST: usize = 8;

#[derive(Debug)]
struct Entry {
    /// Logical offset of the batch's first byte in the connection's stream.
    start: u64,
    batch: Batch,
}

impl Entry {
    fn end(&self) -> u64 {
        self.start + self.batch.len() as u64
    }
}

/// Written, not yet confirmed batches of one connection (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct Unconfirmed {
    entries: VecDeque<Entry>,
    /// Bytes at the head of the front entry that a PONG already confirmed.
    cut: usize,
    /// Unconfirmed bytes: every entry's length, less `cut`.
    bytes: usize,
    free: Vec<Batch>,
}

impl Unconfirmed {
    /// Bytes kept and not yet confirmed.
    #[inline]
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Keeps `written`, whose first byte is at stream offset `start`, leaving an empty batch
    /// in its place (a recycled one when the batch itself was kept).
    pub(crate) fn retire(&mut self, start: u64, written: &mut Batch) {
        if written.is_empty() {
            return;
        }
        self.bytes += written.len();
        let len = written.len();
        if len < COPY_BELOW {
            if let Some(tail) = self.entries.back_mut() {
                if tail.end() == start && tail.batch.spare_capacity() >= len {
                    written.append_to(&mut tail.batch);
                    written.clear();
                    return;
                }
            }
            // A fresh tail sized for more small writes, the written batch stays with the
            // writer (its allocation reused).
            let mut tail = self.spare(COPY_BELOW * 4);
            written.append_to(&mut tail);
            written.clear();
            self.entries.push_back(Entry { start, batch: tail });
            return;
        }
        let next = self.spare(len.min(super::queue::BATCH_CAPACITY));
        let batch = std::mem::replace(written, next);
        self.entries.push_back(Entry { start, batch });
    }

    /// A PONG confirmed every byte before stream offset `upto`. Returns whether anything was
    /// released.
    pub(crate) fn confirm(&mut self, upto: u64) -> bool {
        let before = self.bytes;
        while let Some(front) = self.entries.front() {
            if front.end() <= upto {
                let len = front.batch.len() - self.cut;
                self.bytes -= len;
                self.cut = 0;
                if let Some(entry) = self.entries.pop_front() {
                    self.recycle(entry.batch);
                }
                continue;
            }
            if front.start < upto {
                let cut = (upto - front.start) as usize;
                if cut > self.cut {
                    self.bytes -= cut - self.cut;
                    self.cut = cut;
                }
            }
            break;
        }
        self.bytes < before
    }

    /// Appends every unconfirmed publish, whole and in order, to `out` and empties the store;
    /// returns how many frames.
    pub(crate) fn take_publishes(&mut self, out: &mut Batch) -> u64 {
        let mut frames = 0;
        let mut cut = std::mem::take(&mut self.cut);
        while let Some(entry) = self.entries.pop_front() {
            frames += entry.batch.retain_publishes(cut, out);
            cut = 0;
            self.recycle(entry.batch);
        }
        self.bytes = 0;
        frames
    }

    /// Forgets everything (the client closed).
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.free.clear();
        self.cut = 0;
        self.bytes = 0;
    }

    /// An empty batch, recycled when one is free.
    pub(crate) fn spare(&mut self, capacity: usize) -> Batch {
        self.free
            .pop()
            .unwrap_or_else(|| Batch::with_capacity(capacity))
    }

    fn recycle(&mut self, mut batch: Batch) {
        if self.free.len() < FREE_LIST {
            batch.clear();
            self.free.push(batch);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use bytes::Bytes;

    use super::super::batch::FrameKind;
    use super::*;

    fn flat(batch: &Batch) -> Vec<u8> {
        let mut out = Vec::new();
        let mut from = 0;
        while from < batch.len() {
            let c = batch.chunk(from);
            out.extend_from_slice(c);
            from += c.len();
        }
        out
    }

    fn pubs(b: &mut Batch, n: usize, tag: u8) {
        for i in 0..n {
            b.push(FrameKind::Publish, |buf| {
                buf.extend_from_slice(
                    format!("PUB s 2\r\n{}{}\r\n", tag as char, i % 10).as_bytes(),
                )
            });
        }
    }

    #[test]
    fn small_batches_are_copied_onto_one_tail_and_confirmed_by_offset() {
        let mut u = Unconfirmed::default();
        let mut b = Batch::default();
        pubs(&mut b, 1, b'a'); // 13 bytes
        u.retire(0, &mut b);
        assert!(b.is_empty(), "the writer's batch is handed back empty");
        pubs(&mut b, 1, b'b');
        b.push(FrameKind::Control, |buf| buf.extend_from_slice(b"PING\r\n"));
        u.retire(13, &mut b);
        pubs(&mut b, 1, b'c');
        u.retire(32, &mut b);
        assert_eq!(u.entries.len(), 1, "one tail");
        assert_eq!(u.bytes(), 45);
        // the PONG of the PING that ended at 32 confirms a and b
        assert!(u.confirm(32));
        assert_eq!(u.bytes(), 13);
        assert!(
            !u.confirm(32),
            "a second PONG for the same point releases nothing"
        );
        let mut out = Batch::default();
        assert_eq!(u.take_publishes(&mut out), 1);
        assert_eq!(flat(&out), b"PUB s 2\r\nc0\r\n");
        assert!(u.is_empty());
        assert_eq!(u.bytes(), 0);
    }

    #[test]
    fn large_batches_are_kept_by_move_and_resent_whole_from_the_cut() {
        let mut u = Unconfirmed::default();
        let mut b = Batch::with_capacity(64 * 1024);
        b.push(FrameKind::Control, |buf| {
            buf.extend_from_slice(b"SUB x 1\r\n")
        });
        pubs(&mut b, 2000, b'a');
        b.push_shared(
            |buf| buf.extend_from_slice(b"PUB big 5\r\n"),
            Bytes::from_static(b"HELLO"),
        );
        let len = b.len() as u64;
        let ptr = b.chunk(0).as_ptr();
        u.retire(100, &mut b);
        assert!(b.is_empty());
        assert_eq!(u.entries.len(), 1);
        assert_eq!(
            u.entries[0].batch.chunk(0).as_ptr(),
            ptr,
            "moved, not copied"
        );
        // nothing before the batch confirms it
        assert!(!u.confirm(100));
        // a PING after the SUB and 1000 publishes (9 + 13 * 1000 bytes in)
        assert!(u.confirm(100 + 9 + 13 * 1000));
        assert_eq!(u.bytes() as u64, len - 9 - 13_000);
        let mut out = Batch::default();
        assert_eq!(
            u.take_publishes(&mut out),
            1001,
            "SUB not re-sent, cut respected"
        );
        assert!(out.has_shared(), "the large payload is still by reference");
        assert!(flat(&out).ends_with(b"PUB big 5\r\nHELLO\r\n"));
        assert!(flat(&out).starts_with(b"PUB s 2\r\na0\r\n"));
    }

    #[test]
    fn confirm_past_everything_recycles_and_empties() {
        let mut u = Unconfirmed::default();
        let mut start = 0;
        for _ in 0..3 {
            let mut b = Batch::with_capacity(64 * 1024);
            pubs(&mut b, 2000, b'z');
            let len = b.len() as u64;
            u.retire(start, &mut b);
            start += len;
        }
        assert_eq!(u.entries.len(), 3);
        assert!(u.confirm(start + 1000));
        assert!(u.is_empty());
        assert_eq!(u.bytes(), 0);
        assert_eq!(u.free.len(), 3);
        let mut out = Batch::default();
        assert_eq!(u.take_publishes(&mut out), 0);
    }
}
