//! Key, key-filter and bucket-name rules (J21, ADR-8), and matching a key against a filter
//! (used when a 2.9 server cannot filter on several subjects at once).
//!
//! - a key is `[-/_=.a-zA-Z0-9]+`, does not start or end with `.`, and has no empty token
//!   (`a..b`), so `$KV.<bucket>.<key>` is a valid subject;
//! - a filter is a key whose tokens may also be `*` (one token) or a last `>` (the rest);
//! - a bucket name is `[-_a-zA-Z0-9]+`.

use crate::error::NameError;

/// Checks a key (J21): `[-/_=.a-zA-Z0-9]+`, no leading or trailing `.`, no empty token.
/// Wildcards are not keys: they are allowed only in watch and keys filters.
///
/// # Errors
///
/// [`NameError`] (with `what` = `"key"`) saying what is wrong.
///
/// # Examples
///
/// ```
/// use nats_jetstream::kv::validate_key;
/// assert!(validate_key("config.db/url=main_1").is_ok());
/// assert!(validate_key(".hidden").is_err());
/// assert!(validate_key("a.*").is_err());
/// assert!(validate_key("").is_err());
/// ```
pub fn validate_key(key: &str) -> Result<(), NameError> {
    check_tokens("key", key, false)
}

/// Checks a watch or keys filter: a key whose tokens may be `*`, or `>` as the last one.
pub(crate) fn validate_filter(filter: &str) -> Result<(), NameError> {
    check_tokens("key filter", filter, true)
}

/// Checks a bucket name (J21): `[-_a-zA-Z0-9]+`.
///
/// # Errors
///
/// [`NameError`] (with `what` = `"bucket"`) saying what is wrong.
///
/// # Examples
///
/// ```
/// use nats_jetstream::kv::validate_bucket;
/// assert!(validate_bucket("app-config_1").is_ok());
/// assert!(validate_bucket("a.b").is_err());
/// assert!(validate_bucket("").is_err());
/// ```
pub fn validate_bucket(bucket: &str) -> Result<(), NameError> {
    if bucket.is_empty() {
        return Err(name_error("bucket", bucket, "empty".into()));
    }
    if bucket.len() > MAX_BUCKET_LEN {
        return Err(name_error(
            "bucket",
            bucket,
            format!("longer than {MAX_BUCKET_LEN} bytes"),
        ));
    }
    match bucket
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_')))
    {
        Some(c) => Err(name_error(
            "bucket",
            bucket,
            format!("contains {c:?} (allowed: letters, digits, '-', '_')"),
        )),
        None => Ok(()),
    }
}

/// `KV_<bucket>` must stay a valid stream name (255 bytes at most).
const MAX_BUCKET_LEN: usize = 252;

fn name_error(what: &'static str, name: &str, reason: String) -> NameError {
    NameError {
        what,
        name: name.to_owned(),
        reason,
    }
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'/' | b'_' | b'=' | b'.')
}

fn check_tokens(what: &'static str, text: &str, wildcards: bool) -> Result<(), NameError> {
    let fail = |reason: String| Err(name_error(what, text, reason));
    if text.is_empty() {
        return fail("empty".into());
    }
    // The common case (a plain key) is one pass over the bytes.
    let bytes = text.as_bytes();
    if bytes.iter().all(|&b| is_key_byte(b)) && !wildcards {
        if bytes.first() == Some(&b'.') || bytes.last() == Some(&b'.') {
            return fail("starts or ends with '.'".into());
        }
        if text.contains("..") {
            return fail("has an empty token ('..')".into());
        }
        return Ok(());
    }
    if text.starts_with('.') || text.ends_with('.') {
        return fail("starts or ends with '.'".into());
    }
    let mut tokens = text.split('.').peekable();
    while let Some(token) = tokens.next() {
        if token.is_empty() {
            return fail("has an empty token ('..')".into());
        }
        match token {
            "*" if wildcards => {}
            ">" if wildcards => {
                if tokens.peek().is_some() {
                    return fail("'>' must be the last token".into());
                }
            }
            _ => {
                if let Some(c) = token
                    .chars()
                    .find(|&c| !c.is_ascii() || !is_key_byte(c as u8))
                {
                    let allowed = if wildcards {
                        "letters, digits, '-', '/', '_', '=', '.', and '*' or '>' as a token"
                    } else {
                        "letters, digits, '-', '/', '_', '=', '.'"
                    };
                    return fail(format!("contains {c:?} (allowed: {allowed})"));
                }
            }
        }
    }
    Ok(())
}

/// Whether `key` matches `filter` (NATS subject matching on `.` tokens: `*` one token,
/// `>` one or more at the end).
pub(crate) fn key_matches(filter: &str, key: &str) -> bool {
    let mut f = filter.split('.');
    let mut k = key.split('.');
    loop {
        match (f.next(), k.next()) {
            (Some(">"), Some(_)) => return true,
            (Some("*"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn j21_keys_table() {
        for (key, ok) in [
            ("a", true),
            ("A-z_0=9/x.y", true),
            ("config.db.url", true),
            ("=", true),
            ("", false),
            (".a", false),
            ("a.", false),
            ("a..b", false),
            ("a b", false),
            ("a*", false),
            ("a.*", false),
            ("a.>", false),
            (">", false),
            ("ä", false),
            ("a\tb", false),
            ("a$b", false),
        ] {
            assert_eq!(validate_key(key).is_ok(), ok, "{key:?}");
        }
        let e = validate_key("a b").unwrap_err();
        assert_eq!(e.what, "key");
        assert!(e.to_string().contains("' '"), "{e}");
    }

    #[test]
    fn j21_filters_table() {
        for (filter, ok) in [
            ("a", true),
            (">", true),
            ("*", true),
            ("a.*.c", true),
            ("a.>", true),
            ("*.>", true),
            ("a.>.c", false),
            ("a*", false),
            ("a.b*", false),
            (".>", false),
            ("a..>", false),
            ("", false),
        ] {
            assert_eq!(validate_filter(filter).is_ok(), ok, "{filter:?}");
        }
    }

    #[test]
    fn j21_buckets_table() {
        for (bucket, ok) in [
            ("cfg", true),
            ("A-b_9", true),
            ("", false),
            ("a.b", false),
            ("a b", false),
            ("a*", false),
            ("a/b", false),
        ] {
            assert_eq!(validate_bucket(bucket).is_ok(), ok, "{bucket:?}");
        }
        assert!(validate_bucket(&"b".repeat(252)).is_ok());
        assert!(validate_bucket(&"b".repeat(253)).is_err());
    }

    #[test]
    fn matching() {
        for (filter, key, m) in [
            (">", "a", true),
            (">", "a.b", true),
            ("a.>", "a", false),
            ("a.>", "a.b.c", true),
            ("a.*", "a.b", true),
            ("a.*", "a.b.c", false),
            ("*.b", "a.b", true),
            ("a", "a", true),
            ("a", "a.b", false),
            ("a.b", "a", false),
        ] {
            assert_eq!(key_matches(filter, key), m, "{filter} {key}");
        }
    }
}
