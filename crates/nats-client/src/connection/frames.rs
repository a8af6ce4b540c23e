//! Frame boundaries in the client's own outgoing bytes, used only on the cold path when a
//! connection drops (D1): which frames were completely handed to the socket, and which publish
//! frames must be kept for the next connection.
//!
//! The bytes scanned here were encoded by this crate, so every frame is well formed; a frame that
//! does not parse ends the scan (nothing after it is kept rather than risk sending half a frame).

use bytes::BytesMut;

/// Copies into `out` every complete PUB/HPUB frame of `data` that ends after offset `sent`.
/// SUB, UNSUB, PING and PONG frames are dropped: subscriptions are re-sent from the table, and
/// PINGs of the old connection have no waiter any more.
pub(crate) fn retain_publishes(data: &[u8], sent: usize, out: &mut BytesMut) {
    let mut pos = 0;
    while pos < data.len() {
        let Some(frame) = frame_at(data, pos) else {
            return;
        };
        if frame.end > sent && frame.is_publish {
            if let Some(bytes) = data.get(pos..frame.end) {
                out.extend_from_slice(bytes);
            }
        }
        pos = frame.end;
    }
}

struct Frame {
    end: usize,
    is_publish: bool,
}

fn frame_at(data: &[u8], pos: usize) -> Option<Frame> {
    let rest = data.get(pos..)?;
    let nl = memchr_newline(rest)?;
    let line = rest.get(..nl)?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line_end = pos.checked_add(nl)?.checked_add(1)?;
    let mut args = line
        .split(|b| *b == b' ' || *b == b'\t')
        .filter(|a| !a.is_empty());
    let op = args.next()?;
    let is_publish = op.eq_ignore_ascii_case(b"PUB") || op.eq_ignore_ascii_case(b"HPUB");
    if !is_publish {
        return Some(Frame {
            end: line_end,
            is_publish: false,
        });
    }
    // The last argument is the payload size (HPUB: the total of headers and payload).
    let size = args.next_back().and_then(parse_usize)?;
    let end = line_end.checked_add(size)?.checked_add(2)?;
    if end > data.len() {
        return None;
    }
    Some(Frame {
        end,
        is_publish: true,
    })
}

fn memchr_newline(data: &[u8]) -> Option<usize> {
    data.iter().position(|b| *b == b'\n')
}

fn parse_usize(digits: &[u8]) -> Option<usize> {
    std::str::from_utf8(digits).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_unsent_publish_frames() {
        let data = b"SUB a 1\r\nPUB a 2\r\nhi\r\nPING\r\nHPUB b 12 14\r\nNATS/1.0\r\n\r\nyo\r\nUNSUB 1\r\n";
        let mut out = BytesMut::new();
        retain_publishes(data, 0, &mut out);
        assert_eq!(
            &out[..],
            b"PUB a 2\r\nhi\r\nHPUB b 12 14\r\nNATS/1.0\r\n\r\nyo\r\n"
        );
        let mut out = BytesMut::new();
        retain_publishes(data, 22, &mut out);
        assert_eq!(&out[..], b"HPUB b 12 14\r\nNATS/1.0\r\n\r\nyo\r\n");
        let mut out = BytesMut::new();
        retain_publishes(data, 21, &mut out);
        assert!(
            out.starts_with(b"PUB a 2\r\n"),
            "frame ending after `sent` is kept whole"
        );
    }

    #[test]
    fn truncated_frame_is_not_kept() {
        let mut out = BytesMut::new();
        retain_publishes(b"PUB a 2\r\nhi\r\nPUB b 5\r\nab", 0, &mut out);
        assert_eq!(&out[..], b"PUB a 2\r\nhi\r\n");
    }
}
