//! The PubAck of a stored message read without the JSON decoder.
//!
//! A server answers every publish to a stream, and for a stored message it sends a small flat
//! object: `{"stream":"S", "seq":N}`, with `"domain"` and `"duplicate": true` when they apply
//! (nats-server writes it by hand, with spaces after some commas and colons). [`parse`] reads
//! such an object in one pass: the keys `stream`, `seq`, `domain` and `duplicate` in any order,
//! with JSON whitespace. Anything else (an `error`, any other key, a repeated key, an escaped
//! character, a number that is not a plain unsigned integer) is `None` and goes to the JSON
//! decoder, which stays the authority on what a reply means. With one reply per publish, the
//! decoder's two passes (the error envelope, then the ack) were about a tenth of the
//! client's work per publish.

use super::PubAck;

/// The ack, or `None` to let the JSON decoder read the reply.
pub(crate) fn parse(payload: &[u8]) -> Option<PubAck> {
    let mut r = Reader { rest: payload };
    r.expect(b'{')?;
    let mut stream = None;
    let mut sequence = None;
    let mut domain = None;
    let mut duplicate = None;
    loop {
        let key = r.string()?;
        r.expect(b':')?;
        let fresh = match key {
            "stream" => stream.replace(r.string()?.to_owned()).is_none(),
            "seq" => sequence.replace(r.number()?).is_none(),
            "domain" => domain.replace(r.string()?.to_owned()).is_none(),
            "duplicate" => duplicate.replace(r.boolean()?).is_none(),
            _ => return None,
        };
        if !fresh {
            return None;
        }
        match r.next()? {
            b',' => continue,
            b'}' => break,
            _ => return None,
        }
    }
    if !r.only_whitespace_left() {
        return None;
    }
    Some(PubAck {
        stream: stream?,
        sequence: sequence?,
        duplicate: duplicate.unwrap_or(false),
        domain,
    })
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn skip_whitespace(&mut self) {
        while let Some((b' ' | b'\t' | b'\r' | b'\n', tail)) = self.rest.split_first() {
            self.rest = tail;
        }
    }

    /// The next byte that is not whitespace.
    fn next(&mut self) -> Option<u8> {
        self.skip_whitespace();
        let (&b, tail) = self.rest.split_first()?;
        self.rest = tail;
        Some(b)
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.next()? == byte).then_some(())
    }

    fn only_whitespace_left(&mut self) -> bool {
        self.skip_whitespace();
        self.rest.is_empty()
    }

    /// A string without escapes or control characters.
    fn string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let end = self
            .rest
            .iter()
            .position(|b| *b == b'"' || *b == b'\\' || *b < 0x20)?;
        if self.rest.get(end) != Some(&b'"') {
            return None;
        }
        let text = std::str::from_utf8(self.rest.get(..end)?).ok()?;
        self.rest = self.rest.get(end + 1..)?;
        Some(text)
    }

    /// An unsigned integer as JSON writes one (no sign, leading zero, fraction or exponent).
    fn number(&mut self) -> Option<u64> {
        self.skip_whitespace();
        let end = self
            .rest
            .iter()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(self.rest.len());
        let digits = self.rest.get(..end)?;
        if digits.is_empty() || (digits.len() > 1 && digits.first() == Some(&b'0')) {
            return None;
        }
        self.rest = self.rest.get(end..)?;
        if matches!(self.rest.first(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        nats_proto::parse_u64(digits)
    }

    fn boolean(&mut self) -> Option<bool> {
        self.skip_whitespace();
        if let Some(tail) = self.rest.strip_prefix(b"true") {
            self.rest = tail;
            return Some(true);
        }
        let tail = self.rest.strip_prefix(b"false")?;
        self.rest = tail;
        Some(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::decode_reply;
    use crate::error::{Error, ErrorCode};

    fn ack(stream: &str, sequence: u64, duplicate: bool, domain: Option<&str>) -> PubAck {
        PubAck {
            stream: stream.into(),
            sequence,
            duplicate,
            domain: domain.map(Into::into),
        }
    }

    /// The fast reading must agree with the decoder wherever it answers.
    fn agrees(json: &str) -> Option<PubAck> {
        let fast = parse(json.as_bytes());
        if let Some(fast) = &fast {
            let decoded: PubAck = decode_reply(json.as_bytes()).unwrap();
            assert_eq!(&decoded, fast, "{json}");
        }
        fast
    }

    #[test]
    fn what_servers_send_is_read_like_the_decoder_reads_it() {
        let rows: &[(&str, PubAck)] = &[
            // nats-server 2.9.10, recorded: plain, duplicate, with a domain
            (r#"{"stream":"T", "seq":1}"#, ack("T", 1, false, None)),
            (
                r#"{"stream":"T", "seq":1,"duplicate": true}"#,
                ack("T", 1, true, None),
            ),
            (
                r#"{"stream":"T", "domain":"hub", "seq":1}"#,
                ack("T", 1, false, Some("hub")),
            ),
            // compact JSON, other orders, whitespace
            (r#"{"stream":"ORDERS","seq":42}"#, ack("ORDERS", 42, false, None)),
            (r#"{"seq":0,"stream":"S"}"#, ack("S", 0, false, None)),
            (
                r#"{"stream":"S","seq":7,"domain":"hub","duplicate":true}"#,
                ack("S", 7, true, Some("hub")),
            ),
            (
                "\n{ \"stream\" :\t\"S\" ,\r\n \"seq\" : 18446744073709551615 , \"duplicate\" : false }\n",
                ack("S", u64::MAX, false, None),
            ),
            (r#"{"stream":"Ströme","seq":3}"#, ack("Ströme", 3, false, None)),
        ];
        for (json, expected) in rows {
            assert_eq!(agrees(json).as_ref(), Some(expected), "{json}");
        }
    }

    #[test]
    fn everything_else_goes_to_the_decoder() {
        for json in [
            // errors, also those that carry a stream and a sequence (as 2.9.10 sends them)
            r#"{"error":{"code":503,"err_code":10077,"description":"no leader"}}"#,
            r#"{"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 1"},"stream":"T","seq":0}"#,
            r#"{"stream":"S","seq":0,"error":{"code":400,"err_code":10071,"description":"x"}}"#,
            // escapes, other keys, repeated keys, missing keys, odd values
            r#"{"stream":"a\"b","seq":1}"#,
            r#"{"stream":"a\u0041","seq":1}"#,
            r#"{"stream":"S","seq":1,"val":"5"}"#,
            r#"{"stream":"S","seq":1,"seq":2}"#,
            r#"{"stream":"S"}"#,
            r#"{"seq":1}"#,
            r#"{"stream":"S","seq":1,"domain":null}"#,
            r#"{"stream":"S","seq":1,"duplicate":1}"#,
            r#"{"stream":"S","seq":01}"#,
            r#"{"stream":"S","seq":1.0}"#,
            r#"{"stream":"S","seq":1e3}"#,
            r#"{"stream":"S","seq":-1}"#,
            r#"{"stream":"S","seq":18446744073709551616}"#,
            r#"{"stream":"S","seq":}"#,
            r#"{"stream":"S","seq":1}x"#,
            r#"{"stream":"S","seq":1,}"#,
            r#"{"stream":"S""#,
            "{}",
            "",
        ] {
            assert_eq!(parse(json.as_bytes()), None, "{json}");
        }
        let err = decode_reply::<PubAck>(
            br#"{"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 1"},"stream":"T","seq":0}"#,
        );
        assert!(matches!(err, Err(Error::Api(e)) if e.err_code == ErrorCode(10071)));
    }

    #[test]
    fn any_stream_name_and_sequence_reads_back_or_is_left_to_the_decoder() {
        let names = [
            "S",
            "ORDERS",
            "a-b_c",
            "ünï",
            "x<y",
            "tab\there",
            "quote\"d",
            "back\\s",
        ];
        let seqs = [0u64, 1, 9, 10, 99_999, u64::MAX - 1, u64::MAX];
        for name in names {
            for seq in seqs {
                for domain in [None, Some("hub"), Some("a\"b")] {
                    for duplicate in [false, true] {
                        let expected = ack(name, seq, duplicate, domain);
                        let json = serde_json::to_string(&expected).unwrap();
                        match agrees(&json) {
                            Some(fast) => assert_eq!(fast, expected, "{json}"),
                            None => assert!(json.contains('\\'), "{json} was refused"),
                        }
                    }
                }
            }
        }
    }
}
