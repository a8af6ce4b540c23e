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
//! What is written is copied into fixed-size chunks ([`CHUNK`] bytes, whole frames; a large
//! payload still by reference), so the writer keeps reusing its own two warm buffers and the
//! store's memory is recycled chunk by chunk. Keeping the written batches themselves (moving
//! them, no copy) was slower: at full speed every write then needed a fresh allocation,
//! grown frame by frame and faulted in page by page — a tenth of the publisher's time went
//! to page faults — and a batch that once grew to megabytes passed its allocation on. Copying
//! costs one `memcpy` of the bytes written.

use std::collections::VecDeque;

use super::batch::{Batch, FrameCopier};

/// Logical bytes per chunk of the store (a frame larger than this gets a chunk of its own).
pub(crate) const CHUNK: usize = 256 * 1024;

/// Confirmed chunks kept for reuse while nothing is unconfirmed (the end of a burst): the
/// memory a quiet connection holds on to.
const IDLE_FREE: usize = 2;

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
#[derive(Debug)]
pub(crate) struct Unconfirmed {
    entries: VecDeque<Entry>,
    /// Bytes at the head of the front entry that a PONG already confirmed.
    cut: usize,
    /// Unconfirmed bytes: every entry's length, less `cut`.
    bytes: usize,
    /// Confirmed chunks for reuse.
    free: Vec<Batch>,
    /// Chunks kept in `free` at most while publishing goes on: the unconfirmed limit's worth,
    /// which the store may hold anyway, so a burst at full speed reuses every confirmed chunk
    /// and never allocates.
    free_max: usize,
    /// PONGs in a row that found nothing unconfirmed.
    quiet_pongs: u8,
}

impl Unconfirmed {
    /// A store whose free list holds up to `limit` bytes of chunks during a burst.
    pub(crate) fn new(limit: usize) -> Unconfirmed {
        Unconfirmed {
            entries: VecDeque::new(),
            cut: 0,
            bytes: 0,
            free: Vec::new(),
            free_max: (limit / CHUNK).max(IDLE_FREE),
            quiet_pongs: 0,
        }
    }

    /// Bytes kept and not yet confirmed.
    #[inline]
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Keeps a copy of `written`, whose first byte is at stream offset `start`, and clears it
    /// (the writer reuses its allocation).
    pub(crate) fn retire(&mut self, start: u64, written: &mut Batch) {
        if written.is_empty() {
            return;
        }
        self.bytes += written.len();
        let mut copier = FrameCopier::new(written);
        let mut at = start;
        // the current tail continues the stream: fill it first
        if let Some(tail) = self.entries.back_mut().filter(|t| t.end() == at) {
            at += copier.copy_into(&mut tail.batch, CHUNK) as u64;
        }
        while !copier.is_done() {
            // a fresh chunk always takes at least one frame
            let mut batch = self.spare();
            let copied = copier.copy_into(&mut batch, CHUNK);
            self.entries.push_back(Entry { start: at, batch });
            at += copied as u64;
        }
        written.clear();
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
        if self.entries.is_empty() {
            // Empty at two PONGs in a row (the second comes from a keep-alive PING or a
            // flush, since nothing was left to confirm): the connection is quiet, so keep a
            // little for the next burst and give the rest back. Not at the first: a burst
            // can catch up with its confirmations for a moment, and chunks freed then would be
            // allocated and faulted in again at once.
            self.quiet_pongs = self.quiet_pongs.saturating_add(1);
            if self.quiet_pongs >= 2 {
                self.free.truncate(IDLE_FREE);
            }
        } else {
            self.quiet_pongs = 0;
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

    /// An empty chunk, recycled when one is free.
    fn spare(&mut self) -> Batch {
        self.free
            .pop()
            .unwrap_or_else(|| Batch::with_capacity(CHUNK))
    }

    fn recycle(&mut self, mut batch: Batch) {
        // a chunk that grew for one huge frame is not kept
        if self.free.len() < self.free_max && batch.capacity() <= 2 * CHUNK {
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

    const LIMIT: usize = 8 * 1024 * 1024;

    fn flat(batch: &Batch) -> Vec<u8> {
        batch.to_vec_from(0)
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
        let mut u = Unconfirmed::new(LIMIT);
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
    fn a_copied_batch_is_resent_whole_from_the_cut() {
        let mut u = Unconfirmed::new(LIMIT);
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
        assert_ne!(u.entries[0].batch.chunk(0).as_ptr(), ptr, "copied");
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
        let mut u = Unconfirmed::new(LIMIT);
        let mut start = 0;
        for _ in 0..3 {
            let mut b = Batch::with_capacity(64 * 1024);
            pubs(&mut b, 2000, b'z');
            let len = b.len() as u64;
            u.retire(start, &mut b);
            start += len;
        }
        assert_eq!(u.entries.len(), 1, "three small writes share a chunk");
        assert!(u.confirm(start + 1000));
        assert!(u.is_empty());
        assert_eq!(u.bytes(), 0);
        assert_eq!(u.free.len(), 1, "the chunk is kept for the next burst");
        let mut out = Batch::default();
        assert_eq!(u.take_publishes(&mut out), 0);
    }

    #[test]
    fn written_batches_are_copied_into_bounded_chunks_and_the_writer_keeps_its_buffer() {
        let mut u = Unconfirmed::new(LIMIT);
        let mut b = Batch::with_capacity(64 * 1024);
        pubs(&mut b, 100_000, b'g'); // 1.3 MB, grows well past 64 KiB
        let grown = b.capacity();
        let len = b.len();
        let expected = flat(&b);
        u.retire(0, &mut b);
        assert!(b.is_empty());
        assert_eq!(b.capacity(), grown, "the writer's buffer stays with it");
        assert_eq!(u.bytes(), len);
        assert!(u.entries.len() >= len / CHUNK);
        let mut at = 0;
        for e in &u.entries {
            assert_eq!(e.start, at, "chunks are contiguous");
            assert!(e.batch.len() <= CHUNK);
            assert_eq!(e.batch.len() % 13, 0, "whole frames only");
            at = e.end();
        }
        let mut out = Batch::default();
        assert_eq!(u.take_publishes(&mut out), 100_000);
        assert_eq!(flat(&out), expected, "the same bytes in the same order");
    }

    #[test]
    fn a_frame_larger_than_a_chunk_gets_its_own_and_large_payloads_stay_shared() {
        let mut u = Unconfirmed::new(LIMIT);
        let mut b = Batch::default();
        pubs(&mut b, 1, b'a');
        let big = Bytes::from(vec![b'x'; CHUNK * 2]);
        b.push_shared(
            |buf| buf.extend_from_slice(format!("PUB big {}\r\n", CHUNK * 2).as_bytes()),
            big,
        );
        pubs(&mut b, 1, b'b');
        let len = b.len();
        u.retire(0, &mut b);
        assert_eq!(u.entries.len(), 3, "the big frame alone in its chunk");
        assert!(u.entries[1].batch.has_shared(), "by reference, not copied");
        assert_eq!(u.bytes(), len);
        assert!(u.confirm(len as u64));
        assert!(u.is_empty());
    }

    #[test]
    fn confirmed_chunks_are_reused_during_a_burst_and_mostly_given_back_after_it() {
        let mut u = Unconfirmed::new(4 * CHUNK);
        let mut start = 0;
        let mut b = Batch::default();
        for _ in 0..10 {
            pubs(&mut b, 20_000, b'i'); // about one chunk each
            let len = b.len() as u64;
            u.retire(start, &mut b);
            start += len;
        }
        pubs(&mut b, 1, b'j');
        let burst_end = start;
        start += b.len() as u64;
        u.retire(burst_end, &mut b);
        assert!(u.confirm(burst_end), "all but the last frame");
        assert_eq!(u.free.len(), 4, "at most the limit's worth is kept");
        let chunks = u.entries.len();
        pubs(&mut b, 20_000, b'k');
        let len = b.len() as u64;
        u.retire(start, &mut b);
        start += len;
        assert!(u.entries.len() > chunks);
        assert!(u.free.len() < 4, "a recycled chunk was used");
        // the end of the burst: everything kept at the first quiet PONG, only a little once
        // the next PONG (a keep-alive) finds nothing either
        assert!(u.confirm(start));
        assert!(u.is_empty());
        assert!(u.free.len() > IDLE_FREE);
        assert!(!u.confirm(start));
        assert_eq!(u.free.len(), IDLE_FREE);
    }
}
