//! [`Batch`]: a run of whole outgoing frames, as the writer sends them and as the reconnect
//! buffer keeps them.
//!
//! Small frames (control lines, headers, small payloads) are copied into one inline buffer;
//! a payload of [`SHARED_PAYLOAD`] bytes or more is not copied but kept as the caller's
//! [`Bytes`] and written with vectored I/O. Every frame's end is recorded as it is appended, so
//! the frame boundaries are known by construction: when a connection drops, what the socket
//! did not take is cut at the first frame it did not take whole (D1), and only publishes are
//! kept (subscriptions are re-sent from the table, PINGs of a dead connection have no PONG).

use std::io::IoSlice;

use bytes::{Bytes, BytesMut};

/// Payloads from this size on are queued by reference instead of copied. Below it, copying is
/// cheaper than a second `iovec` and a reference count; above it the copy dominates a publish
/// (a 64 KiB payload costs ~5 µs to copy, the `Bytes` clone a few ns).
pub(crate) const SHARED_PAYLOAD: usize = 8 * 1024;

/// At most this many slices go into one vectored write (well under `IOV_MAX` = 1024; 64 slices
/// of large payloads are megabytes per system call).
pub(crate) const MAX_IO_SLICES: usize = 64;

/// What kind of frame ends at a mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameKind {
    /// PUB / HPUB: kept across a reconnect.
    Publish,
    /// SUB, UNSUB, PING, PONG: meaningful for one connection only.
    Control,
}

#[derive(Debug, Clone, Copy)]
struct Mark {
    /// Logical offset just past the frame.
    end: usize,
    kind: FrameKind,
}

/// Whole frames in wire order. Logical offsets count inline and shared bytes alike.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    inline: BytesMut,
    /// Shared payloads, each written before `inline[at..]` (`at` ascending).
    shared: Vec<(usize, Bytes)>,
    marks: Vec<Mark>,
    shared_len: usize,
}

impl Batch {
    pub(crate) fn with_capacity(inline: usize) -> Batch {
        Batch {
            inline: BytesMut::with_capacity(inline),
            ..Batch::default()
        }
    }

    /// Bytes of the inline buffer's allocation.
    pub(crate) fn capacity(&self) -> usize {
        self.inline.capacity()
    }

    /// Logical length: every byte this batch puts on the wire.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.inline.len() + self.shared_len
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.marks.is_empty()
    }

    /// Number of frames.
    #[cfg(test)]
    pub(crate) fn frames(&self) -> usize {
        self.marks.len()
    }

    /// The batch's bytes from `from` on, chunk by chunk as a writer sees them (tests).
    #[cfg(test)]
    pub(crate) fn to_vec_from(&self, mut from: usize) -> Vec<u8> {
        let mut out = Vec::new();
        while from < self.len() {
            let c = self.chunk(from);
            assert!(!c.is_empty(), "an empty chunk at {from}");
            out.extend_from_slice(c);
            from += c.len();
        }
        out
    }

    /// Appends one frame written by `encode` into the inline buffer (the encoders reserve
    /// what they write).
    #[inline]
    pub(crate) fn push(&mut self, kind: FrameKind, encode: impl FnOnce(&mut BytesMut)) {
        encode(&mut self.inline);
        let end = self.len();
        self.marks.push(Mark { end, kind });
    }

    /// Appends a publish whose payload is sent by reference: `head` encodes the control line
    /// (and header block), then the payload, then the closing CRLF.
    pub(crate) fn push_shared(&mut self, head: impl FnOnce(&mut BytesMut), payload: Bytes) {
        head(&mut self.inline);
        self.shared_len += payload.len();
        self.shared.push((self.inline.len(), payload));
        self.inline.extend_from_slice(b"\r\n");
        let end = self.len();
        self.marks.push(Mark {
            end,
            kind: FrameKind::Publish,
        });
    }

    /// Empties the batch, keeping its allocations.
    pub(crate) fn clear(&mut self) {
        self.inline.clear();
        self.shared.clear();
        self.marks.clear();
        self.shared_len = 0;
    }

    /// Whether any payload is shared (the writer then uses vectored writes).
    pub(crate) fn has_shared(&self) -> bool {
        !self.shared.is_empty()
    }

    /// The pieces of the logical stream in order: inline runs and shared payloads, each with
    /// its logical start.
    fn pieces(&self) -> impl Iterator<Item = (usize, &[u8])> {
        let mut inline_at = 0usize;
        let mut logical = 0usize;
        let mut shared = self.shared.iter();
        let mut pending: Option<&[u8]> = None;
        std::iter::from_fn(move || loop {
            if let Some(payload) = pending.take() {
                let start = logical;
                logical += payload.len();
                return Some((start, payload));
            }
            match shared.next() {
                Some((at, payload)) => {
                    let run = self.inline.get(inline_at..*at).unwrap_or_default();
                    inline_at = *at;
                    pending = Some(payload.as_ref());
                    if !run.is_empty() {
                        let start = logical;
                        logical += run.len();
                        return Some((start, run));
                    }
                }
                None => {
                    let run = self.inline.get(inline_at..).unwrap_or_default();
                    inline_at = self.inline.len();
                    if run.is_empty() {
                        return None;
                    }
                    let start = logical;
                    logical += run.len();
                    return Some((start, run));
                }
            }
        })
    }

    /// Fills `out` with the bytes from logical offset `from` on; returns how many slices.
    pub(crate) fn io_slices<'a>(&'a self, from: usize, out: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        for (start, piece) in self.pieces() {
            let end = start + piece.len();
            if end <= from {
                continue;
            }
            let skip = from.saturating_sub(start);
            let (Some(slot), Some(rest)) = (out.get_mut(n), piece.get(skip..)) else {
                break;
            };
            *slot = IoSlice::new(rest);
            n += 1;
        }
        n
    }

    /// The first contiguous bytes from logical offset `from` (for transports without vectored
    /// writes, and for the common batch without shared payloads).
    pub(crate) fn chunk(&self, from: usize) -> &[u8] {
        if self.shared.is_empty() {
            return self.inline.get(from..).unwrap_or_default();
        }
        for (start, piece) in self.pieces() {
            if start + piece.len() > from {
                return piece.get(from - start..).unwrap_or_default();
            }
        }
        &[]
    }

    /// Appends to `out` every publish frame that ends after logical offset `sent`, whole: the
    /// frame the socket took only in part is re-sent from its start (D1). One pass. Returns
    /// how many frames were appended.
    pub(crate) fn retain_publishes(&self, sent: usize, out: &mut Batch) -> u64 {
        let mut cursor = Cursor::default();
        let mut start = 0;
        let mut frames = 0;
        for mark in &self.marks {
            let keep = mark.end > sent && mark.kind == FrameKind::Publish;
            cursor.advance(self, start, mark.end, keep.then_some(&mut *out));
            if keep {
                let end = out.len();
                out.marks.push(Mark {
                    end,
                    kind: mark.kind,
                });
                frames += 1;
            }
            start = mark.end;
        }
        frames
    }
}

/// Copies a batch's frames, whole and in order, into a chain of bounded batches (the
/// unconfirmed store's fixed-size chunks): each call fills one.
pub(crate) struct FrameCopier<'a> {
    batch: &'a Batch,
    cursor: Cursor,
    /// Index of the next frame to copy.
    mark: usize,
}

impl<'a> FrameCopier<'a> {
    pub(crate) fn new(batch: &'a Batch) -> FrameCopier<'a> {
        FrameCopier {
            batch,
            cursor: Cursor::default(),
            mark: 0,
        }
    }

    /// Every frame is copied.
    pub(crate) fn is_done(&self) -> bool {
        self.mark >= self.batch.marks.len()
    }

    /// Appends the next frames to `out` while its logical length stays within `room` (at
    /// least one frame when `out` is empty, however large), the inline bytes in one run;
    /// returns the logical bytes appended.
    pub(crate) fn copy_into(&mut self, out: &mut Batch, room: usize) -> usize {
        let from = self.cursor.logical;
        let base = out.len();
        let marks = &self.batch.marks[self.mark..];
        let mut n = marks
            .iter()
            .take_while(|m| base + (m.end - from) <= room)
            .count();
        if n == 0 && out.is_empty() && !marks.is_empty() {
            n = 1;
        }
        let Some(last) = n.checked_sub(1).and_then(|i| marks.get(i)) else {
            return 0;
        };
        let to = last.end;
        self.cursor.advance(self.batch, from, to, Some(&mut *out));
        out.marks.extend(marks[..n].iter().map(|m| Mark {
            end: base + (m.end - from),
            kind: m.kind,
        }));
        self.mark += n;
        to - from
    }
}

/// A sequential walk over a batch's logical stream.
#[derive(Default)]
struct Cursor {
    /// Index into `inline` of the next inline byte.
    inline_pos: usize,
    /// Index of the next shared payload.
    shared: usize,
    /// Logical offset of the cursor.
    logical: usize,
}

impl Cursor {
    /// Moves from `start` (the cursor's position) to `end`, copying the bytes passed into `out`
    /// when given. Shared payloads never straddle a frame boundary.
    fn advance(&mut self, batch: &Batch, start: usize, end: usize, mut out: Option<&mut Batch>) {
        debug_assert_eq!(self.logical, start);
        while self.logical < end {
            match batch.shared.get(self.shared) {
                Some((at, payload)) if *at == self.inline_pos => {
                    if let Some(out) = out.as_deref_mut() {
                        out.shared_len += payload.len();
                        out.shared.push((out.inline.len(), payload.clone()));
                    }
                    self.logical += payload.len();
                    self.shared += 1;
                }
                next => {
                    let run_end = next.map_or(batch.inline.len(), |(at, _)| *at);
                    let take = (run_end - self.inline_pos).min(end - self.logical);
                    if take == 0 {
                        break;
                    }
                    if let (Some(out), Some(bytes)) = (
                        out.as_deref_mut(),
                        batch.inline.get(self.inline_pos..self.inline_pos + take),
                    ) {
                        out.inline.extend_from_slice(bytes);
                    }
                    self.inline_pos += take;
                    self.logical += take;
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn flat(batch: &Batch) -> Vec<u8> {
        batch.to_vec_from(0)
    }

    fn sample() -> Batch {
        let mut b = Batch::default();
        b.push(FrameKind::Control, |buf| {
            buf.extend_from_slice(b"SUB a 1\r\n")
        });
        b.push(FrameKind::Publish, |buf| {
            buf.extend_from_slice(b"PUB a 2\r\nhi\r\n")
        });
        b.push_shared(
            |buf| buf.extend_from_slice(b"PUB big 5\r\n"),
            Bytes::from_static(b"HELLO"),
        );
        b.push(FrameKind::Control, |buf| buf.extend_from_slice(b"PING\r\n"));
        b.push(FrameKind::Publish, |buf| {
            buf.extend_from_slice(b"PUB c 1\r\nx\r\n")
        });
        b
    }

    #[test]
    fn chunks_and_slices_give_the_wire_bytes() {
        let b = sample();
        let wire = b"SUB a 1\r\nPUB a 2\r\nhi\r\nPUB big 5\r\nHELLO\r\nPING\r\nPUB c 1\r\nx\r\n";
        assert_eq!(flat(&b), wire);
        assert_eq!(b.len(), wire.len());
        let mut slices = [IoSlice::new(&[]); MAX_IO_SLICES];
        let n = b.io_slices(3, &mut slices);
        let joined: Vec<u8> = slices[..n].iter().flat_map(|s| s.to_vec()).collect();
        assert_eq!(joined, &wire[3..]);
        assert_eq!(b.frames(), 5);
    }

    #[test]
    fn d1_keeps_whole_publishes_after_the_cut() {
        let b = sample();
        let mut kept = Batch::default();
        b.retain_publishes(0, &mut kept);
        assert_eq!(
            flat(&kept),
            b"PUB a 2\r\nhi\r\nPUB big 5\r\nHELLO\r\nPUB c 1\r\nx\r\n"
        );
        assert!(kept.has_shared(), "the large payload stays shared");
        // cut in the middle of the shared payload: that frame is kept whole
        let mut kept = Batch::default();
        b.retain_publishes(36, &mut kept);
        assert_eq!(flat(&kept), b"PUB big 5\r\nHELLO\r\nPUB c 1\r\nx\r\n");
        // cut after it: only the last publish
        let mut kept = Batch::default();
        b.retain_publishes(40, &mut kept);
        assert_eq!(flat(&kept), b"PUB c 1\r\nx\r\n");
        assert_eq!(kept.frames(), 1);
        let mut none = Batch::default();
        b.retain_publishes(b.len(), &mut none);
        assert!(none.is_empty());
    }
}
