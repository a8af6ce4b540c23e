//! Encoders: client → server ops (`CONNECT`, `PUB`, `HPUB`, `SUB`, `UNSUB`, `PING`, `PONG`) and,
//! for tests, fuzzing and the scripted fake server, server → client ops (`INFO`, `MSG`, `HMSG`,
//! `-ERR`, `+OK`).
//!
//! Every function reserves the exact size once and writes numbers with a hand-rolled decimal
//! formatter on the stack. The encoders do not validate: check subjects with
//! [`validate_publish_subject`](crate::validate_publish_subject) and friends first.

use bytes::{BufMut, BytesMut};

use crate::headers::{digits, HeaderMap};
use crate::info::{ConnectInfo, ServerInfo};

/// Digits in `u64::MAX`.
pub(crate) const MAX_U64_DIGITS: usize = 20;

/// Appends `n` in decimal.
#[inline]
pub(crate) fn write_u64(buf: &mut BytesMut, n: u64) {
    let mut tmp = [0u8; MAX_U64_DIGITS];
    buf.put_slice(format_u64(&mut tmp, n));
}

/// Appends `n` in decimal to a string (the encoders' formatter, for subjects built by hand,
/// e.g. reply tokens, without `format!`).
///
/// ```
/// let mut s = String::from("_INBOX.x.");
/// nats_proto::push_u64(&mut s, 1207);
/// assert_eq!(s, "_INBOX.x.1207");
/// ```
pub fn push_u64(s: &mut String, n: u64) {
    let mut tmp = [0u8; MAX_U64_DIGITS];
    for d in format_u64(&mut tmp, n) {
        s.push(char::from(*d));
    }
}

/// The decimal digits of `n`, written at the end of `tmp`.
#[inline]
fn format_u64(tmp: &mut [u8; MAX_U64_DIGITS], mut n: u64) -> &[u8] {
    let mut i = MAX_U64_DIGITS;
    loop {
        i -= 1;
        // `n % 10` is below 10, so the cast is lossless.
        if let Some(d) = tmp.get_mut(i) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    tmp.get(i..).unwrap_or_default()
}

#[inline]
fn usize_u64(n: usize) -> u64 {
    // usize is at most 64 bits on every supported target.
    n as u64
}

#[inline]
fn opt_len(s: Option<&str>) -> usize {
    s.map_or(0, |s| 1 + s.len())
}

#[inline]
fn put_opt(buf: &mut BytesMut, s: Option<&str>) {
    if let Some(s) = s {
        buf.put_u8(b' ');
        buf.put_slice(s.as_bytes());
    }
}

/// Appends `CONNECT {json}\r\n`.
///
/// ```
/// let mut buf = bytes::BytesMut::new();
/// nats_proto::encode_connect(&mut buf, &nats_proto::ConnectInfo::default());
/// assert!(buf.starts_with(b"CONNECT {\"verbose\":false"));
/// assert!(buf.ends_with(b"}\r\n"));
/// ```
pub fn encode_connect(buf: &mut BytesMut, info: &ConnectInfo) {
    // Serialising a struct of strings, bools and integers cannot fail.
    let json = serde_json::to_vec(info).unwrap_or_else(|_| b"{}".to_vec());
    buf.reserve(8 + json.len() + 2);
    buf.put_slice(b"CONNECT ");
    buf.put_slice(&json);
    buf.put_slice(b"\r\n");
}

/// The exact number of bytes [`encode_pub`] writes.
///
/// ```
/// assert_eq!(nats_proto::pub_len("foo", None, 4), "PUB foo 4\r\nfood\r\n".len());
/// assert_eq!(nats_proto::pub_len("foo", None, 4), 17);
/// ```
#[inline]
pub fn pub_len(subject: &str, reply: Option<&str>, payload_len: usize) -> usize {
    pub_header_len(subject, reply, payload_len) + payload_len + 2
}

#[inline]
fn pub_header_len(subject: &str, reply: Option<&str>, payload_len: usize) -> usize {
    4 + subject.len() + opt_len(reply) + 1 + digits(usize_u64(payload_len)) + 2
}

/// Appends `PUB subject [reply] len\r\npayload\r\n`.
///
/// ```
/// let mut buf = bytes::BytesMut::new();
/// nats_proto::encode_pub(&mut buf, "foo", Some("_INBOX.1"), b"food");
/// assert_eq!(&buf[..], b"PUB foo _INBOX.1 4\r\nfood\r\n");
/// ```
#[inline]
pub fn encode_pub(buf: &mut BytesMut, subject: &str, reply: Option<&str>, payload: &[u8]) {
    let len = pub_len(subject, reply, payload.len());
    if len <= SMALL_FRAME {
        // A small frame is assembled on the stack and appended with one copy: one capacity
        // check and one length update instead of seven.
        let mut frame = [0u8; SMALL_FRAME];
        let mut at = 0;
        let mut put = |bytes: &[u8]| {
            if let Some(dst) = frame.get_mut(at..at + bytes.len()) {
                dst.copy_from_slice(bytes);
            }
            at += bytes.len();
        };
        put(b"PUB ");
        put(subject.as_bytes());
        if let Some(reply) = reply {
            put(b" ");
            put(reply.as_bytes());
        }
        put(b" ");
        let mut digits = [0u8; MAX_U64_DIGITS];
        put(format_u64(&mut digits, usize_u64(payload.len())));
        put(b"\r\n");
        put(payload);
        put(b"\r\n");
        buf.extend_from_slice(frame.get(..at).unwrap_or_default());
        return;
    }
    buf.reserve(len);
    put_pub_header(buf, subject, reply, payload.len());
    buf.put_slice(payload);
    buf.put_slice(b"\r\n");
}

/// Frames up to this size are assembled on the stack: small enough to stay in L1 and cheap to
/// zero, big enough for the usual small publish (a 64-byte subject and a 128-byte payload).
const SMALL_FRAME: usize = 256;

#[inline]
fn put_pub_header(buf: &mut BytesMut, subject: &str, reply: Option<&str>, payload_len: usize) {
    buf.put_slice(b"PUB ");
    buf.put_slice(subject.as_bytes());
    put_opt(buf, reply);
    buf.put_u8(b' ');
    write_u64(buf, usize_u64(payload_len));
    buf.put_slice(b"\r\n");
}

/// Appends only the control line `PUB subject [reply] len\r\n`; the caller writes the payload
/// and its trailing `\r\n` (for large payloads queued by reference).
///
/// ```
/// let mut buf = bytes::BytesMut::new();
/// nats_proto::encode_pub_header(&mut buf, "foo", None, 1000);
/// assert_eq!(&buf[..], b"PUB foo 1000\r\n");
/// ```
pub fn encode_pub_header(
    buf: &mut BytesMut,
    subject: &str,
    reply: Option<&str>,
    payload_len: usize,
) {
    buf.reserve(pub_header_len(subject, reply, payload_len));
    put_pub_header(buf, subject, reply, payload_len);
}

/// The exact number of bytes [`encode_hpub`] writes.
///
/// ```
/// let h = nats_proto::HeaderMap::new();
/// let mut buf = bytes::BytesMut::new();
/// nats_proto::encode_hpub(&mut buf, "foo", None, &h, b"hi");
/// assert_eq!(nats_proto::hpub_len("foo", None, &h, 2), buf.len());
/// ```
pub fn hpub_len(
    subject: &str,
    reply: Option<&str>,
    headers: &HeaderMap,
    payload_len: usize,
) -> usize {
    let hlen = headers.encoded_len();
    hpub_control_len(subject, reply, hlen, payload_len) + hlen + payload_len + 2
}

fn hpub_control_len(subject: &str, reply: Option<&str>, hlen: usize, payload_len: usize) -> usize {
    5 + subject.len()
        + opt_len(reply)
        + 1
        + digits(usize_u64(hlen))
        + 1
        + digits(usize_u64(hlen.saturating_add(payload_len)))
        + 2
}

fn put_hpub_header(
    buf: &mut BytesMut,
    subject: &str,
    reply: Option<&str>,
    headers: &HeaderMap,
    hlen: usize,
    payload_len: usize,
) {
    put_hpub_line(buf, subject, reply, hlen, payload_len);
    headers.encode(buf);
}

fn put_hpub_line(
    buf: &mut BytesMut,
    subject: &str,
    reply: Option<&str>,
    hlen: usize,
    payload_len: usize,
) {
    buf.put_slice(b"HPUB ");
    buf.put_slice(subject.as_bytes());
    put_opt(buf, reply);
    buf.put_u8(b' ');
    write_u64(buf, usize_u64(hlen));
    buf.put_u8(b' ');
    write_u64(buf, usize_u64(hlen.saturating_add(payload_len)));
    buf.put_slice(b"\r\n");
}

/// Appends the `HPUB` control line and a header block the caller encoded already (`NATS/1.0`,
/// its header lines and the empty line that ends it, as [`HeaderMap::encode`] writes them);
/// the caller writes the payload and its trailing `\r\n`. For a header block built without a
/// [`HeaderMap`] on a hot path.
///
/// ```
/// let mut buf = bytes::BytesMut::new();
/// nats_proto::encode_hpub_block_header(&mut buf, "foo", None, b"NATS/1.0\r\nA: 1\r\n\r\n", 2);
/// assert_eq!(&buf[..], b"HPUB foo 18 20\r\nNATS/1.0\r\nA: 1\r\n\r\n");
/// ```
pub fn encode_hpub_block_header(
    buf: &mut BytesMut,
    subject: &str,
    reply: Option<&str>,
    block: &[u8],
    payload_len: usize,
) {
    buf.reserve(hpub_control_len(subject, reply, block.len(), payload_len) + block.len());
    put_hpub_line(buf, subject, reply, block.len(), payload_len);
    buf.put_slice(block);
}

/// [`encode_hpub`] with a header block the caller encoded already (see
/// [`encode_hpub_block_header`]).
///
/// ```
/// let mut buf = bytes::BytesMut::new();
/// nats_proto::encode_hpub_block(&mut buf, "foo", Some("r"), b"NATS/1.0\r\n\r\n", b"hi");
/// assert_eq!(&buf[..], b"HPUB foo r 12 14\r\nNATS/1.0\r\n\r\nhi\r\n");
/// ```
pub fn encode_hpub_block(
    buf: &mut BytesMut,
    subject: &str,
    reply: Option<&str>,
    block: &[u8],
    payload: &[u8],
) {
    let hlen = block.len();
    buf.reserve(hpub_control_len(subject, reply, hlen, payload.len()) + hlen + payload.len() + 2);
    put_hpub_line(buf, subject, reply, hlen, payload.len());
    buf.put_slice(block);
    buf.put_slice(payload);
    buf.put_slice(b"\r\n");
}

/// Appends `HPUB subject [reply] hdr_len total_len\r\nheaders payload\r\n`.
///
/// ```
/// let mut h = nats_proto::HeaderMap::new();
/// h.insert("A", "1")?;
/// let mut buf = bytes::BytesMut::new();
/// nats_proto::encode_hpub(&mut buf, "foo", None, &h, b"hi");
/// assert_eq!(&buf[..], b"HPUB foo 18 20\r\nNATS/1.0\r\nA: 1\r\n\r\nhi\r\n");
/// # Ok::<(), nats_proto::HeaderError>(())
/// ```
pub fn encode_hpub(
    buf: &mut BytesMut,
    subject: &str,
    reply: Option<&str>,
    headers: &HeaderMap,
    payload: &[u8],
) {
    let hlen = headers.encoded_len();
    buf.reserve(hpub_control_len(subject, reply, hlen, payload.len()) + hlen + payload.len() + 2);
    put_hpub_header(buf, subject, reply, headers, hlen, payload.len());
    buf.put_slice(payload);
    buf.put_slice(b"\r\n");
}

/// Appends the `HPUB` control line and the header block; the caller writes the payload and its
/// trailing `\r\n`.
///
/// ```
/// let h = nats_proto::HeaderMap::new();
/// let mut buf = bytes::BytesMut::new();
/// nats_proto::encode_hpub_header(&mut buf, "foo", None, &h, 5);
/// assert_eq!(&buf[..], b"HPUB foo 12 17\r\nNATS/1.0\r\n\r\n");
/// ```
pub fn encode_hpub_header(
    buf: &mut BytesMut,
    subject: &str,
    reply: Option<&str>,
    headers: &HeaderMap,
    payload_len: usize,
) {
    let hlen = headers.encoded_len();
    buf.reserve(hpub_control_len(subject, reply, hlen, payload_len) + hlen);
    put_hpub_header(buf, subject, reply, headers, hlen, payload_len);
}

/// Appends `SUB subject [queue] sid\r\n`.
///
/// ```
/// let mut buf = bytes::BytesMut::new();
/// nats_proto::encode_sub(&mut buf, "foo.*", Some("workers"), 7);
/// assert_eq!(&buf[..], b"SUB foo.* workers 7\r\n");
/// ```
pub fn encode_sub(buf: &mut BytesMut, subject: &str, queue_group: Option<&str>, sid: u64) {
    buf.reserve(4 + subject.len() + opt_len(queue_group) + 1 + digits(sid) + 2);
    buf.put_slice(b"SUB ");
    buf.put_slice(subject.as_bytes());
    put_opt(buf, queue_group);
    buf.put_u8(b' ');
    write_u64(buf, sid);
    buf.put_slice(b"\r\n");
}

/// Appends `UNSUB sid [max]\r\n`.
///
/// ```
/// let mut buf = bytes::BytesMut::new();
/// nats_proto::encode_unsub(&mut buf, 7, Some(10));
/// assert_eq!(&buf[..], b"UNSUB 7 10\r\n");
/// ```
pub fn encode_unsub(buf: &mut BytesMut, sid: u64, max: Option<u64>) {
    buf.reserve(6 + digits(sid) + max.map_or(0, |m| 1 + digits(m)) + 2);
    buf.put_slice(b"UNSUB ");
    write_u64(buf, sid);
    if let Some(max) = max {
        buf.put_u8(b' ');
        write_u64(buf, max);
    }
    buf.put_slice(b"\r\n");
}

/// Appends `PING\r\n`.
///
/// ```
/// let mut buf = bytes::BytesMut::new();
/// nats_proto::encode_ping(&mut buf);
/// assert_eq!(&buf[..], b"PING\r\n");
/// ```
pub fn encode_ping(buf: &mut BytesMut) {
    buf.extend_from_slice(b"PING\r\n");
}

/// Appends `PONG\r\n`.
///
/// ```
/// let mut buf = bytes::BytesMut::new();
/// nats_proto::encode_pong(&mut buf);
/// assert_eq!(&buf[..], b"PONG\r\n");
/// ```
pub fn encode_pong(buf: &mut BytesMut) {
    buf.extend_from_slice(b"PONG\r\n");
}

/// Server side: appends `INFO {json}\r\n`.
///
/// ```
/// let mut buf = bytes::BytesMut::new();
/// nats_proto::encode_info(&mut buf, &nats_proto::ServerInfo::default());
/// assert!(buf.starts_with(b"INFO {"));
/// ```
pub fn encode_info(buf: &mut BytesMut, info: &ServerInfo) {
    // Serialising a struct of strings, bools and integers cannot fail.
    let json = serde_json::to_vec(info).unwrap_or_else(|_| b"{}".to_vec());
    buf.reserve(5 + json.len() + 2);
    buf.put_slice(b"INFO ");
    buf.put_slice(&json);
    buf.put_slice(b"\r\n");
}

/// Server side: appends `MSG subject sid [reply] len\r\npayload\r\n`.
///
/// ```
/// let mut buf = bytes::BytesMut::new();
/// nats_proto::encode_msg(&mut buf, "foo", 9, None, b"hi");
/// assert_eq!(&buf[..], b"MSG foo 9 2\r\nhi\r\n");
/// ```
pub fn encode_msg(
    buf: &mut BytesMut,
    subject: &str,
    sid: u64,
    reply: Option<&str>,
    payload: &[u8],
) {
    let len = usize_u64(payload.len());
    buf.reserve(
        4 + subject.len()
            + 1
            + digits(sid)
            + opt_len(reply)
            + 1
            + digits(len)
            + 2
            + payload.len()
            + 2,
    );
    buf.put_slice(b"MSG ");
    buf.put_slice(subject.as_bytes());
    buf.put_u8(b' ');
    write_u64(buf, sid);
    put_opt(buf, reply);
    buf.put_u8(b' ');
    write_u64(buf, len);
    buf.put_slice(b"\r\n");
    buf.put_slice(payload);
    buf.put_slice(b"\r\n");
}

/// Server side: appends `HMSG subject sid [reply] hdr_len total_len\r\nheaders payload\r\n`.
///
/// ```
/// let mut h = nats_proto::HeaderMap::new();
/// h.set_status(Some(nats_proto::StatusCode::NO_RESPONDERS), None);
/// let mut buf = bytes::BytesMut::new();
/// nats_proto::encode_hmsg(&mut buf, "_INBOX.x", 1, None, &h, b"");
/// assert_eq!(&buf[..], b"HMSG _INBOX.x 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\n");
/// ```
pub fn encode_hmsg(
    buf: &mut BytesMut,
    subject: &str,
    sid: u64,
    reply: Option<&str>,
    headers: &HeaderMap,
    payload: &[u8],
) {
    let hlen = headers.encoded_len();
    let total = hlen.saturating_add(payload.len());
    buf.reserve(
        5 + subject.len()
            + 1
            + digits(sid)
            + opt_len(reply)
            + 1
            + digits(usize_u64(hlen))
            + 1
            + digits(usize_u64(total))
            + 2
            + total
            + 2,
    );
    buf.put_slice(b"HMSG ");
    buf.put_slice(subject.as_bytes());
    buf.put_u8(b' ');
    write_u64(buf, sid);
    put_opt(buf, reply);
    buf.put_u8(b' ');
    write_u64(buf, usize_u64(hlen));
    buf.put_u8(b' ');
    write_u64(buf, usize_u64(total));
    buf.put_slice(b"\r\n");
    headers.encode(buf);
    buf.put_slice(payload);
    buf.put_slice(b"\r\n");
}

/// Server side: appends `-ERR 'message'\r\n`.
///
/// ```
/// let mut buf = bytes::BytesMut::new();
/// nats_proto::encode_err(&mut buf, "Stale Connection");
/// assert_eq!(&buf[..], b"-ERR 'Stale Connection'\r\n");
/// ```
pub fn encode_err(buf: &mut BytesMut, message: &str) {
    buf.reserve(6 + message.len() + 3);
    buf.put_slice(b"-ERR '");
    buf.put_slice(message.as_bytes());
    buf.put_slice(b"'\r\n");
}

/// Server side: appends `+OK\r\n`.
///
/// ```
/// let mut buf = bytes::BytesMut::new();
/// nats_proto::encode_ok(&mut buf);
/// assert_eq!(&buf[..], b"+OK\r\n");
/// ```
pub fn encode_ok(buf: &mut BytesMut) {
    buf.extend_from_slice(b"+OK\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        for n in [
            0u64,
            1,
            9,
            10,
            99,
            100,
            12345,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut buf = BytesMut::new();
            write_u64(&mut buf, n);
            assert_eq!(&buf[..], n.to_string().as_bytes());
            assert_eq!(digits(n), n.to_string().len());
        }
    }

    #[test]
    fn pub_len_matches() {
        let cases: &[(&str, Option<&str>, usize)] = &[
            ("foo", None, 4),
            ("foo", Some("bar"), 0),
            ("a.b.c", Some("_INBOX.abc"), 10),
            ("x", None, 123_456),
        ];
        for (subject, reply, n) in cases {
            let payload = vec![b'x'; *n];
            let mut buf = BytesMut::new();
            encode_pub(&mut buf, subject, *reply, &payload);
            assert_eq!(buf.len(), pub_len(subject, *reply, *n));
            let mut head = BytesMut::new();
            encode_pub_header(&mut head, subject, *reply, *n);
            assert!(buf.starts_with(&head));
            assert_eq!(head.len() + n + 2, buf.len());
        }
        let mut buf = BytesMut::new();
        encode_pub(&mut buf, "foo", None, b"food");
        assert_eq!(&buf[..], b"PUB foo 4\r\nfood\r\n");
        assert_eq!(pub_len("foo", None, 4), 17);
    }

    #[test]
    fn hpub_len_matches() {
        let mut h = HeaderMap::new();
        assert!(h.append("K", "v").is_ok());
        h.set_status(Some(crate::StatusCode(503)), Some("No Responders".into()));
        for n in [0usize, 1, 9, 10, 1000] {
            let payload = vec![b'y'; n];
            let mut buf = BytesMut::new();
            encode_hpub(&mut buf, "s", Some("r"), &h, &payload);
            assert_eq!(buf.len(), hpub_len("s", Some("r"), &h, n));
            let mut head = BytesMut::new();
            encode_hpub_header(&mut head, "s", Some("r"), &h, n);
            assert!(buf.starts_with(&head));
            assert_eq!(head.len() + n + 2, buf.len());
        }
    }

    #[test]
    fn control_ops() {
        let mut buf = BytesMut::new();
        encode_sub(&mut buf, "foo", None, 1);
        encode_unsub(&mut buf, 1, None);
        encode_ping(&mut buf);
        encode_pong(&mut buf);
        encode_ok(&mut buf);
        encode_msg(&mut buf, "foo", 1, Some("r"), b"");
        assert_eq!(
            &buf[..],
            b"SUB foo 1\r\nUNSUB 1\r\nPING\r\nPONG\r\n+OK\r\nMSG foo 1 r 0\r\n\r\n"
        );
    }
}
