//! Message headers (ADR-4): [`HeaderMap`], [`StatusCode`], [`HeaderError`].
//!
//! Header names are **case-preserving and case-sensitive**: `get("Foo")` does not find `foo`.
//! A header block on the wire is `NATS/1.0[ code[ description]]\r\n`, then `Name: value\r\n`
//! lines, then an empty line `\r\n`.

use bytes::{BufMut, BytesMut};
use std::sync::Arc;

use crate::encoder::{write_u64, MAX_U64_DIGITS};
use crate::header_lines::Lines;

/// The version prefix of every header block.
const VERSION: &[u8] = b"NATS/1.0";

/// A status code carried on the header version line, e.g. `503` in `NATS/1.0 503`.
///
/// Unknown values stay representable.
///
/// # Examples
///
/// ```
/// use nats_proto::StatusCode;
/// assert_eq!(StatusCode::NO_RESPONDERS.as_u16(), 503);
/// assert_eq!(StatusCode(503), StatusCode::NO_RESPONDERS);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusCode(pub u16);

impl StatusCode {
    /// `100`: JetStream idle heartbeat or flow-control message.
    pub const IDLE_HEARTBEAT: StatusCode = StatusCode(100);
    /// `100`: control message (same code as [`StatusCode::IDLE_HEARTBEAT`]).
    pub const CONTROL: StatusCode = StatusCode(100);
    /// `200`: OK.
    pub const OK: StatusCode = StatusCode(200);
    /// `400`: bad request.
    pub const BAD_REQUEST: StatusCode = StatusCode(400);
    /// `404`: not found (e.g. no messages).
    pub const NOT_FOUND: StatusCode = StatusCode(404);
    /// `408`: request timeout.
    pub const TIMEOUT: StatusCode = StatusCode(408);
    /// `409`: conflict (e.g. consumer deleted, max bytes exceeded).
    pub const CONFLICT: StatusCode = StatusCode(409);
    /// `503`: no responders for a request.
    pub const NO_RESPONDERS: StatusCode = StatusCode(503);

    /// The numeric code.
    ///
    /// ```
    /// assert_eq!(nats_proto::StatusCode::TIMEOUT.as_u16(), 408);
    /// ```
    pub fn as_u16(self) -> u16 {
        self.0
    }
}

impl std::fmt::Display for StatusCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A malformed header name, value or block.
///
/// # Examples
///
/// ```
/// use nats_proto::{HeaderError, HeaderMap};
/// let mut h = HeaderMap::new();
/// assert_eq!(h.insert("a:b", "v"), Err(HeaderError::InvalidName));
/// assert_eq!(h.insert("a", "x\r\nInjected: 1"), Err(HeaderError::InvalidValue));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// A name is empty or has a byte outside printable ASCII 33..=126, or a `:`.
    #[error("invalid header name")]
    InvalidName,
    /// A value contains CR or LF (or is not UTF-8 on decode).
    #[error("invalid header value")]
    InvalidValue,
    /// The block does not start with `NATS/1.0`, or its status code is not a number.
    #[error("invalid header version line")]
    InvalidVersionLine,
    /// The block does not end with an empty line.
    #[error("header block not terminated by an empty line")]
    MissingTerminator,
    /// A header line has no `:`.
    #[error("header line without ':'")]
    MissingColon,
    /// Bytes follow the terminating empty line inside the declared header length.
    #[error("bytes after the end of the header block")]
    TrailingData,
}

/// An insertion-ordered multimap of message headers, plus the optional status of the version line.
///
/// Names are case-sensitive. Names and values are validated when inserted, so every map
/// encodes to a well-formed block (no CR/LF injection).
///
/// # Examples
///
/// ```
/// use nats_proto::HeaderMap;
/// let mut h = HeaderMap::new();
/// h.insert("Nats-Msg-Id", "42")?;
/// h.append("X-Tag", "a")?;
/// h.append("X-Tag", "b")?;
/// assert_eq!(h.get("X-Tag"), Some("a"));
/// assert_eq!(h.get_all("X-Tag").collect::<Vec<_>>(), ["a", "b"]);
/// assert_eq!(h.get("x-tag"), None);
/// # Ok::<(), nats_proto::HeaderError>(())
/// ```
#[derive(Clone, Default)]
pub struct HeaderMap {
    /// `None` for an empty map: a message without headers carries one pointer, not the whole
    /// map (a received message is moved several times between the parser and the consumer).
    /// Shared, copied on write: a clone (a publish kept for a re-send) costs no allocation.
    inner: Option<Arc<Inner>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Inner {
    status: Option<StatusCode>,
    description: Option<String>,
    /// The pairs, in their wire form.
    entries: Lines,
}

static EMPTY: Inner = Inner {
    status: None,
    description: None,
    entries: Lines::new(),
};

impl PartialEq for HeaderMap {
    fn eq(&self, other: &HeaderMap) -> bool {
        self.inner() == other.inner()
    }
}

impl Eq for HeaderMap {}

impl std::fmt::Debug for HeaderMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.inner();
        f.debug_struct("HeaderMap")
            .field("status", &inner.status)
            .field("description", &inner.description)
            .field("entries", &inner.entries)
            .finish()
    }
}

impl HeaderMap {
    fn inner(&self) -> &Inner {
        self.inner.as_deref().unwrap_or(&EMPTY)
    }

    fn inner_mut(&mut self) -> &mut Inner {
        Arc::make_mut(self.inner.get_or_insert_with(Arc::default))
    }

    /// An empty map without status.
    ///
    /// ```
    /// assert!(nats_proto::HeaderMap::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `name` to the single value `value`, replacing all its earlier values.
    ///
    /// # Errors
    ///
    /// [`HeaderError::InvalidName`] or [`HeaderError::InvalidValue`].
    ///
    /// ```
    /// let mut h = nats_proto::HeaderMap::new();
    /// h.append("a", "1")?;
    /// h.append("a", "2")?;
    /// h.insert("a", "3")?;
    /// assert_eq!(h.get_all("a").collect::<Vec<_>>(), ["3"]);
    /// # Ok::<(), nats_proto::HeaderError>(())
    /// ```
    pub fn insert(
        &mut self,
        name: impl AsRef<str>,
        value: impl AsRef<str>,
    ) -> Result<(), HeaderError> {
        let (name, value) = (name.as_ref(), value.as_ref());
        validate_name(name.as_bytes())?;
        validate_value(value)?;
        self.inner_mut().entries.set(name, value);
        Ok(())
    }

    /// Adds a value for `name` after the existing ones.
    ///
    /// # Errors
    ///
    /// [`HeaderError::InvalidName`] or [`HeaderError::InvalidValue`].
    ///
    /// ```
    /// let mut h = nats_proto::HeaderMap::new();
    /// h.append("a", "1")?;
    /// h.append("a", "2")?;
    /// assert_eq!(h.len(), 2);
    /// # Ok::<(), nats_proto::HeaderError>(())
    /// ```
    pub fn append(
        &mut self,
        name: impl AsRef<str>,
        value: impl AsRef<str>,
    ) -> Result<(), HeaderError> {
        let (name, value) = (name.as_ref(), value.as_ref());
        validate_name(name.as_bytes())?;
        validate_value(value)?;
        self.inner_mut().entries.push(name, value);
        Ok(())
    }

    /// The first value of `name` (case-sensitive).
    ///
    /// ```
    /// let mut h = nats_proto::HeaderMap::new();
    /// h.insert("a", "1")?;
    /// assert_eq!(h.get("a"), Some("1"));
    /// assert_eq!(h.get("A"), None);
    /// # Ok::<(), nats_proto::HeaderError>(())
    /// ```
    pub fn get(&self, name: &str) -> Option<&str> {
        self.inner()
            .entries
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }

    /// Every value of `name`, in insertion order.
    ///
    /// ```
    /// let mut h = nats_proto::HeaderMap::new();
    /// h.append("a", "1")?;
    /// h.append("b", "x")?;
    /// h.append("a", "2")?;
    /// assert_eq!(h.get_all("a").collect::<Vec<_>>(), ["1", "2"]);
    /// # Ok::<(), nats_proto::HeaderError>(())
    /// ```
    pub fn get_all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> {
        // Borrow the stored copy of the name so the iterator does not capture `name`.
        let key: Option<&'a str> = self
            .inner()
            .entries
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, _)| n);
        self.inner()
            .entries
            .iter()
            .filter(move |(n, _)| Some(*n) == key)
            .map(|(_, v)| v)
    }

    /// Removes every value of `name`; `true` if there was one.
    ///
    /// ```
    /// let mut h = nats_proto::HeaderMap::new();
    /// h.insert("a", "1")?;
    /// assert!(h.remove("a"));
    /// assert!(!h.remove("a"));
    /// # Ok::<(), nats_proto::HeaderError>(())
    /// ```
    pub fn remove(&mut self, name: &str) -> bool {
        let Some(inner) = self.inner.as_mut() else {
            return false;
        };
        if !inner.entries.iter().any(|(n, _)| n == name) {
            return false;
        }
        Arc::make_mut(inner).entries.remove(name);
        true
    }

    /// Every `(name, value)` pair in order.
    ///
    /// ```
    /// let mut h = nats_proto::HeaderMap::new();
    /// h.append("a", "1")?;
    /// h.append("b", "2")?;
    /// assert_eq!(h.iter().collect::<Vec<_>>(), [("a", "1"), ("b", "2")]);
    /// # Ok::<(), nats_proto::HeaderError>(())
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.inner().entries.iter()
    }

    /// The number of `(name, value)` pairs (the status does not count).
    ///
    /// ```
    /// assert_eq!(nats_proto::HeaderMap::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.inner().entries.len()
    }

    /// `true` if there are no pairs; a map with only a status is empty.
    ///
    /// ```
    /// let mut h = nats_proto::HeaderMap::new();
    /// h.set_status(Some(nats_proto::StatusCode::NO_RESPONDERS), None);
    /// assert!(h.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.inner().entries.is_empty()
    }

    /// The status code of the version line, if any.
    ///
    /// ```
    /// let h = nats_proto::HeaderMap::decode(b"NATS/1.0 503\r\n\r\n")?;
    /// assert_eq!(h.status(), Some(nats_proto::StatusCode::NO_RESPONDERS));
    /// # Ok::<(), nats_proto::HeaderError>(())
    /// ```
    pub fn status(&self) -> Option<StatusCode> {
        self.inner().status
    }

    /// The description after the status code, if any.
    ///
    /// ```
    /// let h = nats_proto::HeaderMap::decode(b"NATS/1.0 503 No Responders\r\n\r\n")?;
    /// assert_eq!(h.description(), Some("No Responders"));
    /// # Ok::<(), nats_proto::HeaderError>(())
    /// ```
    pub fn description(&self) -> Option<&str> {
        self.inner().description.as_deref()
    }

    /// Sets the status and its description. A description without a status is dropped; CR and
    /// LF in the description are replaced by spaces and surrounding whitespace is trimmed, so it
    /// cannot inject lines; an empty description becomes `None`.
    ///
    /// ```
    /// use nats_proto::{HeaderMap, StatusCode};
    /// let mut h = HeaderMap::new();
    /// h.set_status(Some(StatusCode::TIMEOUT), Some("Request Timeout".into()));
    /// let mut buf = bytes::BytesMut::new();
    /// h.encode(&mut buf);
    /// assert_eq!(&buf[..], b"NATS/1.0 408 Request Timeout\r\n\r\n");
    /// ```
    pub fn set_status(&mut self, status: Option<StatusCode>, description: Option<String>) {
        let inner = self.inner_mut();
        inner.status = status;
        inner.description = match (status, description) {
            (Some(_), Some(d)) => {
                let cleaned: String = d
                    .chars()
                    .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
                    .collect();
                let trimmed = cleaned.trim_matches(|c| c == ' ' || c == '\t');
                (!trimmed.is_empty()).then(|| trimmed.to_owned())
            }
            _ => None,
        };
    }

    /// The exact number of bytes [`encode`](Self::encode) writes.
    ///
    /// ```
    /// let mut h = nats_proto::HeaderMap::new();
    /// h.insert("a", "1")?;
    /// assert_eq!(h.encoded_len(), "NATS/1.0\r\na: 1\r\n\r\n".len());
    /// # Ok::<(), nats_proto::HeaderError>(())
    /// ```
    pub fn encoded_len(&self) -> usize {
        let mut len = VERSION.len() + 2 + 2;
        if let Some(code) = self.inner().status {
            len += 1 + digits(u64::from(code.0));
            if let Some(d) = &self.inner().description {
                len += 1 + d.len();
            }
        }
        len + self.inner().entries.as_bytes().len()
    }

    /// Appends the header block (version line, pairs, empty line) to `buf`.
    ///
    /// ```
    /// let mut h = nats_proto::HeaderMap::new();
    /// h.insert("a", "1")?;
    /// let mut buf = bytes::BytesMut::new();
    /// h.encode(&mut buf);
    /// assert_eq!(&buf[..], b"NATS/1.0\r\na: 1\r\n\r\n");
    /// # Ok::<(), nats_proto::HeaderError>(())
    /// ```
    pub fn encode(&self, buf: &mut BytesMut) {
        buf.reserve(self.encoded_len());
        buf.put_slice(VERSION);
        if let Some(code) = self.inner().status {
            buf.put_u8(b' ');
            write_u64(buf, u64::from(code.0));
            if let Some(d) = &self.inner().description {
                buf.put_u8(b' ');
                buf.put_slice(d.as_bytes());
            }
        }
        buf.put_slice(b"\r\n");
        buf.put_slice(self.inner().entries.as_bytes());
        buf.put_slice(b"\r\n");
    }

    /// Decodes a whole header block, including its terminating empty line.
    ///
    /// Lines may end in CRLF or a bare LF. Values are trimmed of surrounding spaces and tabs;
    /// `Name:` with nothing after it is an empty value.
    ///
    /// # Errors
    ///
    /// [`HeaderError::InvalidVersionLine`] if the block does not start with `NATS/1.0` (or has a
    /// non-numeric status), [`HeaderError::MissingColon`], [`HeaderError::InvalidName`],
    /// [`HeaderError::InvalidValue`] (not UTF-8), [`HeaderError::MissingTerminator`] if the
    /// final empty line is missing, [`HeaderError::TrailingData`] if bytes follow it.
    ///
    /// ```
    /// let h = nats_proto::HeaderMap::decode(b"NATS/1.0\r\nA: 1\r\nA:2\r\nB:\r\n\r\n")?;
    /// assert_eq!(h.get_all("A").collect::<Vec<_>>(), ["1", "2"]);
    /// assert_eq!(h.get("B"), Some(""));
    /// # Ok::<(), nats_proto::HeaderError>(())
    /// ```
    pub fn decode(block: &[u8]) -> Result<HeaderMap, HeaderError> {
        let mut rest = block;
        let version = next_line(&mut rest).ok_or(HeaderError::MissingTerminator)?;
        let after = version
            .strip_prefix(VERSION)
            .ok_or(HeaderError::InvalidVersionLine)?;
        // Built here and shared once at the end (no copy-on-write check per field).
        let mut inner = Inner::default();
        // One string for every pair, allocated at the first pair: in wire form the pairs take
        // at most what is left of the block.
        if let Some((&first, _)) = after.split_first() {
            if first != b' ' && first != b'\t' {
                return Err(HeaderError::InvalidVersionLine);
            }
            let after = trim(after);
            if !after.is_empty() {
                let code_end = after
                    .iter()
                    .position(|b| !b.is_ascii_digit())
                    .unwrap_or(after.len());
                let (code, desc) = after.split_at(code_end);
                if desc.first().is_some_and(|b| *b != b' ' && *b != b'\t') {
                    return Err(HeaderError::InvalidVersionLine);
                }
                let code = parse_u16(code).ok_or(HeaderError::InvalidVersionLine)?;
                inner.status = Some(StatusCode(code));
                let desc = trim(desc);
                if !desc.is_empty() {
                    let desc = std::str::from_utf8(desc).map_err(|_| HeaderError::InvalidValue)?;
                    inner.description = Some(desc.to_owned());
                }
            }
        }
        loop {
            let line = next_line(&mut rest).ok_or(HeaderError::MissingTerminator)?;
            if line.is_empty() {
                break;
            }
            let colon = line
                .iter()
                .position(|b| *b == b':')
                .ok_or(HeaderError::MissingColon)?;
            validate_name(line.get(..colon).unwrap_or_default())?;
            // The name is printable ASCII, so only the value can make the line invalid UTF-8:
            // one check for both.
            let line = std::str::from_utf8(line).map_err(|_| HeaderError::InvalidValue)?;
            let name = line.get(..colon).unwrap_or_default();
            let value = line
                .get(colon + 1..)
                .unwrap_or_default()
                .trim_matches([' ', '\t']);
            if inner.entries.is_empty() {
                inner.entries = Lines::with_capacity(line.len() + 2 + rest.len());
            }
            inner.entries.push(name, value);
        }
        if !rest.is_empty() {
            return Err(HeaderError::TrailingData);
        }
        let empty =
            inner.status.is_none() && inner.description.is_none() && inner.entries.is_empty();
        Ok(HeaderMap {
            inner: (!empty).then(|| Arc::new(inner)),
        })
    }
}

/// Takes the next line (without its CRLF or LF) off the front of `rest`; `None` if no LF is left.
fn next_line<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let nl = memchr::memchr(b'\n', rest)?;
    let (line, tail) = rest.split_at(nl);
    *rest = tail.get(1..).unwrap_or_default();
    Some(line.strip_suffix(b"\r").unwrap_or(line))
}

/// Strips spaces and tabs from both ends.
fn trim(mut s: &[u8]) -> &[u8] {
    while let Some((first, tail)) = s.split_first() {
        if *first != b' ' && *first != b'\t' {
            break;
        }
        s = tail;
    }
    while let Some((last, head)) = s.split_last() {
        if *last != b' ' && *last != b'\t' {
            break;
        }
        s = head;
    }
    s
}

fn parse_u16(s: &[u8]) -> Option<u16> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u16, |acc, b| {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        acc.checked_mul(10)?.checked_add(u16::from(d))
    })
}

fn validate_name(name: &[u8]) -> Result<(), HeaderError> {
    if name.is_empty() || !name.iter().all(|b| (33..=126).contains(b) && *b != b':') {
        return Err(HeaderError::InvalidName);
    }
    Ok(())
}

fn validate_value(value: &str) -> Result<(), HeaderError> {
    if value.bytes().any(|b| b == b'\r' || b == b'\n') {
        return Err(HeaderError::InvalidValue);
    }
    Ok(())
}

/// Number of decimal digits of `n`.
pub(crate) fn digits(n: u64) -> usize {
    let mut n = n;
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    debug_assert!(d <= MAX_U64_DIGITS);
    d
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn decode_table() {
        let rows: &[(&[u8], Result<(), HeaderError>)] = &[
            (b"NATS/1.0\r\n\r\n", Ok(())),
            (b"NATS/1.0 503\r\n\r\n", Ok(())),
            (b"NATS/1.0\n\n", Ok(())),
            (b"NATS/1.0\r\nA: b\r\n\r\n", Ok(())),
            (b"NATS/1.0\r\nA:\r\n\r\n", Ok(())),
            (b"", Err(HeaderError::MissingTerminator)),
            (b"NATS/1.0\r\n", Err(HeaderError::MissingTerminator)),
            (b"NATS/1.0\r\nA: b\r\n", Err(HeaderError::MissingTerminator)),
            (b"NATS/2.0\r\n\r\n", Err(HeaderError::InvalidVersionLine)),
            (b"NATS/1.0x\r\n\r\n", Err(HeaderError::InvalidVersionLine)),
            (
                b"NATS/1.0 abc\r\n\r\n",
                Err(HeaderError::InvalidVersionLine),
            ),
            (
                b"NATS/1.0 99999\r\n\r\n",
                Err(HeaderError::InvalidVersionLine),
            ),
            (
                b"NATS/1.0 5x3\r\n\r\n",
                Err(HeaderError::InvalidVersionLine),
            ),
            (
                b"NATS/1.0\r\nnocolon\r\n\r\n",
                Err(HeaderError::MissingColon),
            ),
            (b"NATS/1.0\r\n: v\r\n\r\n", Err(HeaderError::InvalidName)),
            (b"NATS/1.0\r\na b: v\r\n\r\n", Err(HeaderError::InvalidName)),
            (
                b"NATS/1.0\r\na: \xff\r\n\r\n",
                Err(HeaderError::InvalidValue),
            ),
            (b"NATS/1.0\r\n\r\nextra", Err(HeaderError::TrailingData)),
        ];
        for (block, expected) in rows {
            assert_eq!(
                HeaderMap::decode(block).map(|_| ()),
                *expected,
                "block {:?}",
                String::from_utf8_lossy(block)
            );
        }
    }

    #[test]
    fn status_and_description() {
        let h = HeaderMap::decode(b"NATS/1.0 503\r\n\r\n").unwrap();
        assert_eq!(h.status(), Some(StatusCode::NO_RESPONDERS));
        assert_eq!(h.description(), None);
        assert!(h.is_empty());
        let h = HeaderMap::decode(b"NATS/1.0   503   No Responders  \r\n\r\n").unwrap();
        assert_eq!(h.status(), Some(StatusCode(503)));
        assert_eq!(h.description(), Some("No Responders"));
        let h = HeaderMap::decode(b"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 3\r\n\r\n")
            .unwrap();
        assert_eq!(h.status(), Some(StatusCode::IDLE_HEARTBEAT));
        assert_eq!(h.get("Nats-Last-Consumer"), Some("3"));
    }

    #[test]
    fn encode_decode_roundtrip() {
        let mut h = HeaderMap::new();
        h.set_status(Some(StatusCode(408)), Some("Request\r\nTimeout ".into()));
        h.append("A", "1").unwrap();
        h.append("b", "two words").unwrap();
        h.append("A", "").unwrap();
        let mut buf = BytesMut::new();
        h.encode(&mut buf);
        assert_eq!(buf.len(), h.encoded_len());
        assert_eq!(h.description(), Some("Request  Timeout"));
        assert_eq!(HeaderMap::decode(&buf).unwrap(), h);
    }

    #[test]
    fn a_clone_is_shared_until_either_side_changes() {
        let mut a = HeaderMap::new();
        a.insert("Nats-Msg-Id", "1").unwrap();
        let mut b = a.clone();
        b.insert("Nats-Msg-Id", "2").unwrap();
        b.append("X", "y").unwrap();
        assert_eq!(a.get("Nats-Msg-Id"), Some("1"));
        assert_eq!(a.len(), 1);
        let c = b.clone();
        assert!(b.remove("X"));
        assert!(!b.remove("absent"));
        assert_eq!(c.get("X"), Some("y"));
        assert_eq!(b.get("X"), None);
        b.set_status(Some(StatusCode(503)), None);
        assert_eq!(c.status(), None);
    }

    #[test]
    fn insert_replaces_and_keeps_position() {
        let mut h = HeaderMap::new();
        h.append("a", "1").unwrap();
        h.append("b", "2").unwrap();
        h.append("a", "3").unwrap();
        h.insert("a", "4").unwrap();
        assert_eq!(h.iter().collect::<Vec<_>>(), [("a", "4"), ("b", "2")]);
        assert_eq!(h.insert("", "x"), Err(HeaderError::InvalidName));
        assert_eq!(h.append("é", "x"), Err(HeaderError::InvalidName));
        assert_eq!(h.append("a", "x\ny"), Err(HeaderError::InvalidValue));
        assert!(h.remove("b"));
        assert_eq!(h.len(), 1);
        assert_eq!(h.get_all("zz").count(), 0);
    }

    #[test]
    fn description_without_status_is_dropped() {
        let mut h = HeaderMap::new();
        h.set_status(None, Some("x".into()));
        assert_eq!(h.description(), None);
        assert_eq!(h.encoded_len(), b"NATS/1.0\r\n\r\n".len());
    }
}
