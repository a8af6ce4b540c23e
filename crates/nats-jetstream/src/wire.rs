//! Wire helpers: durations as nanoseconds, base64 (message get), RFC 3339 times, server
//! versions, and name validation (J3).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::NameError;

/// Checks a stream or consumer name locally (J3): not empty, at most 255 bytes, no `.`, `*`,
/// `>`, whitespace, control characters or path separators.
///
/// # Errors
///
/// [`NameError`] saying what is wrong.
///
/// # Examples
///
/// ```
/// use nats_jetstream::validate_name;
/// assert!(validate_name("stream", "ORDERS").is_ok());
/// assert!(validate_name("consumer", "bad name").is_err());
/// assert!(validate_name("stream", "").is_err());
/// ```
pub fn validate_name(what: &'static str, name: &str) -> Result<(), NameError> {
    let fail = |reason: String| {
        Err(NameError {
            what,
            name: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() {
        return fail("empty".into());
    }
    if name.len() > MAX_NAME_LEN {
        return fail(format!("longer than {MAX_NAME_LEN} bytes"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| matches!(c, '.' | '*' | '>' | '/' | '\\') || c.is_whitespace() || c.is_control())
    {
        return fail(format!("contains {c:?}"));
    }
    Ok(())
}

/// The longest name the server accepts.
const MAX_NAME_LEN: usize = 255;

/// `Duration` as integer nanoseconds (Go's `time.Duration`).
pub(crate) mod nanos {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(super::nanos_i64(*d))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        // Negative values (never sent for durations we read) count as zero.
        let n = i64::deserialize(d)?;
        Ok(Duration::from_nanos(u64::try_from(n).unwrap_or(0)))
    }
}

/// `d` in nanoseconds as the server reads durations (a signed 64-bit integer): longer ones,
/// up to `Duration::MAX`, become the longest it can read (~292 years).
pub(crate) fn nanos_i64(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// `d` after `from`; a `d` too long to add (up to `Duration::MAX`) means "never" and gives a
/// time 30 years on, as tokio's own timers do, instead of an overflow panic.
pub(crate) fn later(from: tokio::time::Instant, d: Duration) -> tokio::time::Instant {
    const NEVER: Duration = Duration::from_secs(30 * 365 * 86_400);
    from.checked_add(d.min(NEVER)).unwrap_or(from)
}

/// `Option<Duration>` as nanoseconds, for `serialize_with` (with `skip_serializing_if`).
pub(crate) fn opt_nanos<S: serde::Serializer>(
    d: &Option<Duration>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => nanos::serialize(d, s),
        None => s.serialize_none(),
    }
}

/// `Vec<Duration>` as a list of nanoseconds (consumer back-off).
pub(crate) mod vec_nanos {
    use std::time::Duration;

    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(v: &[Duration], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for d in v {
            seq.serialize_element(&super::nanos_i64(*d))?;
        }
        seq.end()
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Duration>, D::Error> {
        let v = Option::<Vec<i64>>::deserialize(d)?.unwrap_or_default();
        Ok(v.into_iter()
            .map(|n| Duration::from_nanos(u64::try_from(n).unwrap_or(0)))
            .collect())
    }
}

/// `Option<SystemTime>` as an RFC 3339 string.
pub(crate) mod opt_time {
    use std::time::SystemTime;

    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        t: &Option<SystemTime>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&super::format_rfc3339(*t)),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<SystemTime>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) => super::parse_rfc3339(&s)
                .map(Some)
                .ok_or_else(|| D::Error::custom(format!("invalid time {s:?}"))),
        }
    }
}

/// Decodes standard base64 (with or without padding). `None` on invalid input.
pub(crate) fn base64_decode(input: &str) -> Option<Vec<u8>> {
    let input = input.trim_end_matches('=');
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for b in input.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `2026-12-02T08:00:00.123456789Z`.
pub(crate) fn format_rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    let (y, m, day) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_nanos()
    )
}

/// Parses RFC 3339 (`Z` or `±hh:mm`, optional fraction). Times before 1970 are `None`.
pub(crate) fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
    if b.len() < 20
        || b.get(4) != Some(&b'-')
        || b.get(10).map(u8::to_ascii_uppercase) != Some(b'T')
    {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut i = 19;
    let mut nanos = 0u32;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let frac = s.get(start..i)?;
        let digits = frac.get(..frac.len().min(9))?;
        nanos = digits.parse::<u32>().ok()? * 10u32.pow(9 - digits.len() as u32);
    }
    let offset: i64 = match b.get(i)? {
        b'Z' | b'z' => 0,
        sign @ (b'+' | b'-') => {
            let oh = i64::from(num(i + 1..i + 3)?);
            let om = i64::from(num(i + 4..i + 6)?);
            let v = oh * 3600 + om * 60;
            if *sign == b'+' {
                v
            } else {
                -v
            }
        }
        _ => return None,
    };
    let days = days_from_civil(i64::from(y), mo, d);
    let secs = days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(se) - offset;
    let secs = u64::try_from(secs).ok()?;
    Some(UNIX_EPOCH + Duration::new(secs, nanos))
}

/// `(major, minor, patch)` of a server version like `2.10.3-beta`; `None` when unparsable.
pub(crate) fn parse_version(v: &str) -> Option<(u32, u32, u32)> {
    let core = v.trim().trim_start_matches('v').split(['-', '+']).next()?;
    let mut it = core.split('.');
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    let patch = it.next().map_or(Some(0), |p| p.parse().ok())?;
    Some((major, minor, patch))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_up_to_max_stay_readable_and_addable() {
        assert_eq!(nanos_i64(Duration::from_secs(2)), 2_000_000_000);
        assert_eq!(nanos_i64(Duration::MAX), i64::MAX);
        let json = serde_json::to_string(&Backoff(vec![Duration::MAX])).unwrap();
        assert_eq!(json, format!("[{}]", i64::MAX));
        let now = tokio::time::Instant::now();
        assert_eq!(
            later(now, Duration::from_secs(1)),
            now + Duration::from_secs(1)
        );
        assert!(later(now, Duration::MAX) >= now + Duration::from_secs(29 * 365 * 86_400));
    }

    #[derive(serde::Serialize)]
    struct Backoff(#[serde(with = "vec_nanos")] Vec<Duration>);

    #[test]
    fn names_table() {
        for (name, ok) in [
            ("ORDERS", true),
            ("orders-eu_1", true),
            ("", false),
            ("a.b", false),
            ("a*", false),
            ("a>", false),
            ("a b", false),
            ("a\tb", false),
            ("a/b", false),
            ("a\\b", false),
            ("a\u{7}", false),
        ] {
            assert_eq!(validate_name("stream", name).is_ok(), ok, "{name:?}");
        }
        assert!(validate_name("stream", &"x".repeat(256)).is_err());
    }

    #[test]
    fn base64_roundtrips_known_values() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGVsbG8").unwrap(), b"hello");
        assert_eq!(base64_decode("").unwrap(), b"");
        assert_eq!(base64_decode("TkFUUy8xLjANCg==").unwrap(), b"NATS/1.0\r\n");
        assert!(base64_decode("a$b").is_none());
    }

    #[test]
    fn rfc3339_formats_and_parses() {
        let t = UNIX_EPOCH + Duration::new(1_764_662_400, 123_456_789);
        let s = format_rfc3339(t);
        assert_eq!(s, "2025-12-02T08:00:00.123456789Z");
        assert_eq!(parse_rfc3339(&s), Some(t));
        assert_eq!(
            parse_rfc3339("2025-12-02T09:00:00.5+01:00"),
            Some(UNIX_EPOCH + Duration::new(1_764_662_400, 500_000_000))
        );
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(UNIX_EPOCH));
        assert_eq!(parse_rfc3339("0001-01-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("nonsense"), None);
        assert_eq!(format_rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000000000Z");
    }

    #[test]
    fn versions() {
        assert_eq!(parse_version("2.9.10"), Some((2, 9, 10)));
        assert_eq!(parse_version("2.10.0-beta.2"), Some((2, 10, 0)));
        assert_eq!(parse_version("v2.11"), Some((2, 11, 0)));
        assert_eq!(parse_version(""), None);
    }
}
