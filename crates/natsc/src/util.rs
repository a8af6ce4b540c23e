//! Small helpers shared by the commands: value parsers for flags, the body template, stdin,
//! headers and timestamps.

use std::io::IsTerminal;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nats_client::{HeaderMap, ToServerAddrs};
use tokio::io::AsyncReadExt;

use crate::error::{CliError, Result};

/// Parses "2s", "500ms", "1.5s", "1m", "250us" or a bare number of seconds.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (try 2s, 500ms, 1m)"))?;
    let secs = match unit.trim() {
        "" | "s" | "sec" | "secs" => value,
        "ms" => value / 1e3,
        "us" | "µs" => value / 1e6,
        "ns" => value / 1e9,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        "d" => value * 86_400.0,
        "w" => value * 7.0 * 86_400.0,
        "y" => value * 365.0 * 86_400.0,
        other => {
            return Err(format!(
                "unknown duration unit {other:?} (use ms, s, m, h, d, w or y)"
            ))
        }
    };
    if !secs.is_finite() || !(0.0..=1e9).contains(&secs) {
        return Err(format!("{s:?} is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses a count of at least 1: "-1" is a value error that says so (not an unknown flag:
/// the flags using it allow a leading '-').
/// A server list for messages: passwords and tokens in the URLs shown as `***` (a URL that
/// does not parse is shown as `<invalid URL>`, never as typed).
pub(crate) fn shown_urls(urls: &str) -> String {
    match urls.to_server_addrs() {
        Ok(addrs) => addrs
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(","),
        Err(_) => "<invalid URL>".into(),
    }
}

pub(crate) fn parse_count(s: &str) -> Result<u64, String> {
    let t = s.trim();
    if t.starts_with('-') {
        return Err(format!("{t} is negative: give a number of 1 or more"));
    }
    match t.parse::<u64>() {
        Ok(0) => Err("0 is not allowed: give a number of 1 or more".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{t:?} is not a number")),
    }
}

/// Checks a queue group name before it goes to the server: not empty, no whitespace (the
/// protocol separates fields with spaces), no wildcard.
pub(crate) fn check_queue(queue: &str) -> Result<()> {
    let why = if queue.is_empty() {
        Some("it is empty")
    } else if queue.chars().any(char::is_whitespace) {
        Some("whitespace is not allowed in a queue group name")
    } else if queue.contains(['*', '>']) {
        Some("wildcards (* and >) are not allowed in a queue group name")
    } else {
        None
    };
    match why {
        Some(why) => Err(CliError::msg(format!(
            "invalid queue group {queue:?}: {why}"
        ))),
        None => Ok(()),
    }
}

/// Parses a byte size: "1024", "64KiB", "8MiB", "1k", "1MB".
pub(crate) fn parse_size(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let value: usize = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size (try 1024, 64KiB, 8MiB)"))?;
    let mult: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        "g" | "gb" | "gib" => 1024 * 1024 * 1024,
        other => return Err(format!("unknown size unit {other:?} (use KiB, MiB or GiB)")),
    };
    value
        .checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))
}

/// Parses a stream limit in bytes: a size as [`parse_size`], or -1 / "unlimited" for none.
pub(crate) fn parse_limit_size(s: &str) -> Result<i64, String> {
    let t = s.trim();
    if t == "-1" || t.eq_ignore_ascii_case("unlimited") {
        return Ok(-1);
    }
    let n = parse_size(t)?;
    i64::try_from(n).map_err(|_| format!("{s:?} is too large"))
}

/// Parses an age limit: a duration as [`parse_duration`], or -1 / 0 / "unlimited" for none.
pub(crate) fn parse_limit_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if t == "-1" || t.eq_ignore_ascii_case("unlimited") {
        return Ok(Duration::ZERO);
    }
    parse_duration(t)
}

/// `1536` as "1.5 KiB", `-1` style limits are the caller's business.
pub(crate) fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// A duration as the largest units that describe it: "2m", "1h30m", "1.5s", "250ms".
pub(crate) fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return match d.subsec_millis() {
            0 => format!("{}us", d.subsec_micros()),
            ms => format!("{ms}ms"),
        };
    }
    if d.subsec_millis() != 0 && secs < 60 {
        let secs = format!("{:.3}", d.as_secs_f64());
        return format!("{}s", secs.trim_end_matches('0'));
    }
    let (days, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    let mut out = String::new();
    for (v, unit) in [(days, "d"), (h, "h"), (m, "m"), (s, "s")] {
        if v > 0 {
            out.push_str(&format!("{v}{unit}"));
        }
    }
    out
}

/// Parses a `K:V` header flag.
pub(crate) fn parse_header(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once(':')
        .ok_or_else(|| format!("header {s:?} is not in the form Key:Value"))?;
    let k = k.trim();
    if k.is_empty() {
        return Err(format!("header {s:?} has an empty name"));
    }
    Ok((k.to_string(), v.trim().to_string()))
}

/// Builds a header map from `K:V` pairs, expanding the template in each value.
pub(crate) fn headers(pairs: &[(String, String)], seq: u64) -> Result<Option<HeaderMap>> {
    if pairs.is_empty() {
        return Ok(None);
    }
    let mut map = HeaderMap::new();
    for (k, v) in pairs {
        map.append(k, expand(v, seq))
            .map_err(|e| CliError::from(e).context(format!("header {k:?}")))?;
    }
    Ok(Some(map))
}

/// Replaces `{{seq}}` / `{{Count}}` (also `{{.Count}}`, any case, spaces allowed) with `seq`,
/// `{{Time}}` with the current UTC time and `{{Unix}}` with the Unix time in seconds. Unknown
/// placeholders are left as they are.
pub(crate) fn expand(template: &str, seq: u64) -> String {
    if !template.contains("{{") {
        return template.to_string();
    }
    let mut out = String::with_capacity(template.len() + 8);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = after[..end]
            .trim()
            .trim_start_matches('.')
            .to_ascii_lowercase();
        match name.as_str() {
            "seq" | "count" => out.push_str(&seq.to_string()),
            "time" | "timestamp" => out.push_str(&rfc3339(SystemTime::now())),
            "unix" => out.push_str(
                &SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_secs()
                    .to_string(),
            ),
            _ => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// The body of `pub`, `req` and `reply`: the argument, or stdin when it is absent or "-".
pub(crate) async fn body_or_stdin(body: Option<&str>) -> Result<Vec<u8>> {
    match body {
        Some(b) if b != "-" => Ok(b.as_bytes().to_vec()),
        _ => {
            if std::io::stdin().is_terminal() {
                eprintln!("natsc: reading the message body from stdin (end with ctrl-d)");
            }
            let mut buf = Vec::new();
            tokio::io::stdin()
                .read_to_end(&mut buf)
                .await
                .map_err(|e| CliError::from(e).context("reading stdin"))?;
            Ok(buf)
        }
    }
}

/// `body` with the template expanded for `seq`, when it is UTF-8 and has a placeholder.
pub(crate) fn expand_bytes(body: &[u8], seq: u64) -> bytes::Bytes {
    match std::str::from_utf8(body) {
        Ok(s) if s.contains("{{") => bytes::Bytes::from(expand(s, seq)),
        _ => bytes::Bytes::copy_from_slice(body),
    }
}

/// `2024-05-01T12:34:56.789Z`.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, dd) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{dd:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("abc").is_err());
        assert!(parse_duration("5 parsecs").is_err());
    }

    #[test]
    fn limits() {
        assert_eq!(parse_limit_size("-1"), Ok(-1));
        assert_eq!(parse_limit_size("1KiB"), Ok(1024));
        assert!(parse_limit_size("-2").is_err());
        assert_eq!(parse_limit_duration("unlimited"), Ok(Duration::ZERO));
        assert_eq!(parse_limit_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("1y"), Ok(Duration::from_secs(365 * 86_400)));
    }

    #[test]
    fn human() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_duration(Duration::from_secs(120)), "2m");
        assert_eq!(human_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(human_duration(Duration::from_millis(250)), "250ms");
    }

    #[test]
    fn counts_and_queues() {
        assert_eq!(parse_count("3"), Ok(3));
        assert!(parse_count("-1").unwrap_err().contains("negative"));
        assert!(parse_count("0").is_err());
        assert!(parse_count("x").is_err());
        assert!(check_queue("workers").is_ok());
        let e = check_queue("bad queue").unwrap_err().to_string();
        assert!(e.contains("whitespace is not allowed"), "{e}");
        assert!(check_queue("").is_err());
        assert!(check_queue("a.>").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("8MiB"), Ok(8 << 20));
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        assert!(parse_size("x").is_err());
    }

    #[test]
    fn templates() {
        assert_eq!(expand("msg {{seq}}", 3), "msg 3");
        assert_eq!(expand("{{Count}}/{{ .Count }}", 7), "7/7");
        assert_eq!(expand("{{other}} {{", 1), "{{other}} {{");
        assert_eq!(expand("plain", 1), "plain");
    }

    #[test]
    fn headers_parse() {
        assert_eq!(
            parse_header("a: b:c"),
            Ok(("a".to_string(), "b:c".to_string()))
        );
        assert!(parse_header("nocolon").is_err());
    }

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_millis(1_700_000_000_123)),
            "2023-11-14T22:13:20.123Z"
        );
    }

    #[test]
    fn shown_urls_hide_passwords_and_tokens() {
        assert_eq!(
            shown_urls("nats://bob:hunter2@a:4222,tls://t0ken@b:4223"),
            "nats://bob:***@a:4222,tls://***@b:4223"
        );
        assert_eq!(shown_urls("a"), "nats://a:4222");
        assert!(!shown_urls("nats://bob:hunter2@").contains("hunter2"));
    }
}
