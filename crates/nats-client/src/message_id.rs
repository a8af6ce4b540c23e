//! Message ids: the `Nats-Msg-Id` header [`ConnectOptions::message_ids`] stamps on every
//! publish, in the form `<12 random base62 characters><a base62 counter>`.
//!
//! The prefix is drawn once per client, the counter is taken under the write queue's lock, so
//! the ids of one client increase in the order its publishes reach the wire; a re-send after a
//! reconnect (`at_least_once`) carries the id it had. That is what
//! [`Subscriber::dedup`](crate::Subscriber::dedup) relies on (see [`crate::dedup`]).
//!
//! [`ConnectOptions::message_ids`]: crate::ConnectOptions::message_ids

/// The header that carries a message id (the one JetStream deduplicates by).
///
/// # Examples
///
/// ```no_run
/// # async fn demo(client: nats_client::Client) -> Result<(), Box<dyn std::error::Error>> {
/// let mut headers = nats_client::HeaderMap::new();
/// headers.insert(nats_client::MESSAGE_ID_HEADER, "order-42")?;
/// client.publish_with_headers("orders.new", headers, "hi".into()).await?;
/// # Ok(()) }
/// ```
pub const MESSAGE_ID_HEADER: &str = "Nats-Msg-Id";

/// Random base62 characters at the head of every generated id: 71 bits, so two clients share
/// a prefix with a chance of about 2^-71 per pair.
///
/// # Examples
///
/// ```
/// let id = nats_client::message_id("Hx3k9QpL2mTa", 7);
/// assert_eq!(&id[nats_client::MESSAGE_ID_PREFIX_LEN..], "7");
/// ```
pub const MESSAGE_ID_PREFIX_LEN: usize = 12;

/// Base62 digits of `u64::MAX`.
const MAX_DIGITS: usize = 11;

/// Bytes an id adds to a message at most: the header line, and the header block's version
/// line and end when the message had no headers.
pub(crate) const ID_HEADER_MAX: usize =
    "NATS/1.0\r\n".len() + MESSAGE_ID_HEADER.len() + 2 + MESSAGE_ID_PREFIX_LEN + MAX_DIGITS + 2 + 2;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// One client's id generator.
#[derive(Debug)]
pub(crate) struct IdStamp {
    prefix: String,
    next: u64,
}

impl IdStamp {
    /// `prefix`: [`MESSAGE_ID_PREFIX_LEN`] random base62 characters.
    pub(crate) fn new(prefix: String) -> IdStamp {
        IdStamp { prefix, next: 1 }
    }

    /// The next id.
    pub(crate) fn next_id(&mut self) -> String {
        let n = self.next;
        self.next = self.next.wrapping_add(1);
        message_id(&self.prefix, n)
    }

    /// The header block of a message with no other header, carrying the next id, written into
    /// `out` (no allocation on the publish path); returns its length.
    pub(crate) fn next_block(&mut self, out: &mut [u8; ID_HEADER_MAX]) -> usize {
        let n = self.next;
        self.next = self.next.wrapping_add(1);
        let mut digits = [0u8; MAX_DIGITS];
        let at = base62(n, &mut digits);
        let parts: [&[u8]; 4] = [
            b"NATS/1.0\r\nNats-Msg-Id: ",
            self.prefix.as_bytes(),
            &digits[at..],
            b"\r\n\r\n",
        ];
        let mut len = 0;
        for part in parts {
            let Some(dst) = out.get_mut(len..len + part.len()) else {
                break;
            };
            dst.copy_from_slice(part);
            len += part.len();
        }
        len
    }
}

/// `n` in base62 at the end of `digits`; returns where it starts.
fn base62(mut n: u64, digits: &mut [u8; MAX_DIGITS]) -> usize {
    let mut at = MAX_DIGITS;
    loop {
        at -= 1;
        digits[at] = ALPHABET[(n % 62) as usize];
        n /= 62;
        if n == 0 {
            return at;
        }
    }
}

/// The message id `prefix` + `n` in base62, the form [`ConnectOptions::message_ids`] stamps
/// (JetStream publishing generates its ids the same way). With a fixed-length prefix no two
/// `n` give the same id.
///
/// [`ConnectOptions::message_ids`]: crate::ConnectOptions::message_ids
///
/// # Examples
///
/// ```
/// assert_eq!(nats_client::message_id("Hx3k9QpL2mTa", 1), "Hx3k9QpL2mTa1");
/// assert_eq!(nats_client::message_id("Hx3k9QpL2mTa", 62), "Hx3k9QpL2mTa10");
/// ```
pub fn message_id(prefix: &str, n: u64) -> String {
    let mut digits = [0u8; MAX_DIGITS];
    let at = base62(n, &mut digits);
    let mut id = String::with_capacity(prefix.len() + MAX_DIGITS - at);
    id.push_str(prefix);
    id.extend(digits[at..].iter().map(|&b| char::from(b)));
    id
}

/// `(prefix, counter)` of an id in this form; `None` for any other id.
pub(crate) fn parse(id: &str) -> Option<(&str, u64)> {
    let (prefix, counter) = (
        id.get(..MESSAGE_ID_PREFIX_LEN)?,
        id.get(MESSAGE_ID_PREFIX_LEN..)?,
    );
    if counter.is_empty() || counter.len() > MAX_DIGITS || !prefix.bytes().all(is_base62) {
        return None;
    }
    let mut n: u64 = 0;
    for b in counter.bytes() {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'A'..=b'Z' => b - b'A' + 10,
            b'a'..=b'z' => b - b'a' + 36,
            _ => return None,
        };
        n = n.checked_mul(62)?.checked_add(u64::from(digit))?;
    }
    Some((prefix, n))
}

fn is_base62(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ids_increase_and_parse_back() {
        let mut stamp = IdStamp::new("0123456789AB".into());
        let first = stamp.next_id();
        assert_eq!(first, "0123456789AB1");
        assert_eq!(parse(&first), Some(("0123456789AB", 1)));
        for n in 2..5000u64 {
            let id = stamp.next_id();
            assert_eq!(parse(&id), Some(("0123456789AB", n)));
        }
        stamp.next = u64::MAX;
        let last = stamp.next_id();
        assert_eq!(parse(&last), Some(("0123456789AB", u64::MAX)));
        let mut headers = nats_proto::HeaderMap::new();
        headers.insert(MESSAGE_ID_HEADER, last.as_str()).unwrap();
        assert!(
            headers.encoded_len() <= ID_HEADER_MAX,
            "the longest id fits the bound"
        );
    }

    #[test]
    fn other_ids_are_not_ours() {
        assert_eq!(parse(""), None);
        assert_eq!(parse("order-42"), None);
        assert_eq!(parse("0123456789AB"), None, "no counter");
        assert_eq!(parse("0123456789AB-1"), None);
        assert_eq!(parse("0123456789-B1"), None);
        assert_eq!(parse("0123456789ABzzzzzzzzzzzz"), None, "too long");
        assert_eq!(parse("0123456789ABzzzzzzzzzzz"), None, "overflows u64");
        assert_eq!(parse("éé23456789AB1"), None);
    }
}
