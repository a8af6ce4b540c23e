//! Subject, subscription-filter and queue-group validation (single pass over the bytes).
//!
//! * A **publish subject** is non-empty, has no empty token (`a..b`, `.a`, `a.`), no whitespace
//!   (space, tab, CR, LF) and no wildcard character (`*`, `>`).
//! * A **subscription filter** follows the same rules, except that `*` (one token) and `>` (one
//!   or more trailing tokens) are allowed as whole tokens, `>` only as the last one.
//! * A **queue group** is non-empty and has no whitespace.

/// The longest subject a validated newtype accepts: a subject must fit in the server's 4096-byte
/// control line together with the op name, reply and sizes.
pub const MAX_SUBJECT_LEN: usize = 4000;

/// Why a subject, filter or queue group was rejected.
///
/// # Examples
///
/// ```
/// use nats_proto::{validate_publish_subject, SubjectError};
/// assert_eq!(validate_publish_subject("a..b"), Err(SubjectError::EmptyToken));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SubjectError {
    /// The subject is empty.
    #[error("subject is empty")]
    Empty,
    /// A token between dots is empty.
    #[error("subject has an empty token")]
    EmptyToken,
    /// The subject contains a space, tab, CR or LF.
    #[error("subject contains whitespace")]
    Whitespace,
    /// A publish subject contains `*` or `>`.
    #[error("publish subject contains a wildcard")]
    Wildcard,
    /// `*` or `>` is not a whole token, or `>` is not the last token.
    #[error("wildcard is not a whole token or `>` is not last")]
    BadWildcard,
    /// A queue group is empty or contains whitespace.
    #[error("invalid queue group")]
    InvalidQueueGroup,
    /// Longer than [`MAX_SUBJECT_LEN`] (newtypes only).
    #[error("subject longer than {MAX_SUBJECT_LEN} bytes")]
    TooLong,
}

#[inline]
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Checks a subject to publish to.
///
/// # Errors
///
/// [`SubjectError::Empty`], [`SubjectError::EmptyToken`], [`SubjectError::Whitespace`] or
/// [`SubjectError::Wildcard`].
///
/// # Examples
///
/// ```
/// use nats_proto::{validate_publish_subject, SubjectError};
/// assert!(validate_publish_subject("orders.eu.created").is_ok());
/// assert_eq!(validate_publish_subject("orders.*"), Err(SubjectError::Wildcard));
/// assert_eq!(validate_publish_subject("a b"), Err(SubjectError::Whitespace));
/// ```
#[inline]
pub fn validate_publish_subject(s: &str) -> Result<(), SubjectError> {
    let bytes = s.as_bytes();
    match (bytes.first(), bytes.last()) {
        (None, _) | (_, None) => return Err(SubjectError::Empty),
        (Some(b'.'), _) => return Err(SubjectError::EmptyToken),
        (_, Some(b'.')) => {
            // A trailing dot is an empty token, unless an earlier byte is already wrong.
            return Err(first_publish_error(bytes).unwrap_or(SubjectError::EmptyToken));
        }
        _ => {}
    }
    // On the publish hot path: one table load per byte; only the rare bytes branch further.
    let mut prev_dot = false;
    for &b in bytes {
        // Every special byte is at most '>' (0x3E): letters and most punctuation skip the table.
        if b > b'>' {
            prev_dot = false;
            continue;
        }
        match PUBLISH_CLASS[usize::from(b)] {
            PLAIN => prev_dot = false,
            DOT if prev_dot => return Err(SubjectError::EmptyToken),
            DOT => prev_dot = true,
            WILDCARD => return Err(SubjectError::Wildcard),
            _ => return Err(SubjectError::Whitespace),
        }
    }
    Ok(())
}

/// Byte classes for [`validate_publish_subject`].
const PLAIN: u8 = 0;
const DOT: u8 = 1;
const WILDCARD: u8 = 2;
const WHITESPACE: u8 = 3;

static PUBLISH_CLASS: [u8; 256] = {
    let mut table = [PLAIN; 256];
    table[b'.' as usize] = DOT;
    table[b'*' as usize] = WILDCARD;
    table[b'>' as usize] = WILDCARD;
    table[b' ' as usize] = WHITESPACE;
    table[b'\t' as usize] = WHITESPACE;
    table[b'\r' as usize] = WHITESPACE;
    table[b'\n' as usize] = WHITESPACE;
    table
};

/// The first wildcard or whitespace error in `bytes`, if any.
fn first_publish_error(bytes: &[u8]) -> Option<SubjectError> {
    bytes
        .iter()
        .find_map(|&b| match PUBLISH_CLASS[usize::from(b)] {
            WILDCARD => Some(SubjectError::Wildcard),
            WHITESPACE => Some(SubjectError::Whitespace),
            _ => None,
        })
}

/// Checks a subscription filter (wildcards allowed as whole tokens, `>` last).
///
/// # Errors
///
/// [`SubjectError::Empty`], [`SubjectError::EmptyToken`], [`SubjectError::Whitespace`] or
/// [`SubjectError::BadWildcard`].
///
/// # Examples
///
/// ```
/// use nats_proto::{validate_subscribe_subject, SubjectError};
/// assert!(validate_subscribe_subject("orders.*.created").is_ok());
/// assert!(validate_subscribe_subject("orders.>").is_ok());
/// assert_eq!(validate_subscribe_subject("orders.>.x"), Err(SubjectError::BadWildcard));
/// assert_eq!(validate_subscribe_subject("orders.a*"), Err(SubjectError::BadWildcard));
/// ```
#[inline]
pub fn validate_subscribe_subject(s: &str) -> Result<(), SubjectError> {
    let bytes = s.as_bytes();
    if bytes.is_empty() {
        return Err(SubjectError::Empty);
    }
    let mut token_len = 0usize;
    // Whether the current token contains a wildcard character; `>` seen ends the subject.
    let mut wildcard = false;
    let mut full_wildcard_seen = false;
    for &b in bytes {
        match b {
            b'.' => {
                if token_len == 0 {
                    return Err(SubjectError::EmptyToken);
                }
                if full_wildcard_seen {
                    return Err(SubjectError::BadWildcard);
                }
                token_len = 0;
                wildcard = false;
            }
            b'*' | b'>' => {
                if token_len != 0 {
                    return Err(SubjectError::BadWildcard);
                }
                wildcard = true;
                full_wildcard_seen = b == b'>';
                token_len += 1;
            }
            b if is_ws(b) => return Err(SubjectError::Whitespace),
            _ => {
                if wildcard {
                    return Err(SubjectError::BadWildcard);
                }
                token_len += 1;
            }
        }
    }
    if token_len == 0 {
        return Err(SubjectError::EmptyToken);
    }
    Ok(())
}

/// Checks a queue group name: non-empty, no whitespace.
///
/// # Errors
///
/// [`SubjectError::InvalidQueueGroup`].
///
/// # Examples
///
/// ```
/// use nats_proto::validate_queue_group;
/// assert!(validate_queue_group("workers").is_ok());
/// assert!(validate_queue_group("two words").is_err());
/// assert!(validate_queue_group("").is_err());
/// ```
#[inline]
pub fn validate_queue_group(s: &str) -> Result<(), SubjectError> {
    if s.is_empty() || s.bytes().any(is_ws) {
        return Err(SubjectError::InvalidQueueGroup);
    }
    Ok(())
}

/// A validated publish subject (no wildcards).
///
/// # Examples
///
/// ```
/// use nats_proto::Subject;
/// let s: Subject = "orders.created".parse()?;
/// assert_eq!(s.as_str(), "orders.created");
/// assert!(Subject::try_from("orders.*").is_err());
/// # Ok::<(), nats_proto::SubjectError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subject(String);

/// A validated subscription filter (wildcards allowed as whole tokens).
///
/// # Examples
///
/// ```
/// use nats_proto::SubjectFilter;
/// let f = SubjectFilter::try_from("orders.>")?;
/// assert_eq!(f.as_str(), "orders.>");
/// # Ok::<(), nats_proto::SubjectError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubjectFilter(String);

macro_rules! subject_newtype {
    ($ty:ident, $validate:ident) => {
        impl $ty {
            /// Builds the value from a literal.
            ///
            /// # Panics
            ///
            /// If the literal is not valid; use `TryFrom` for anything not written in the source.
            pub fn from_static(s: &'static str) -> Self {
                match Self::try_from(s) {
                    Ok(v) => v,
                    Err(e) => panic!("invalid subject literal {s:?}: {e}"),
                }
            }

            /// The subject text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<&str> for $ty {
            type Error = SubjectError;
            fn try_from(s: &str) -> Result<Self, SubjectError> {
                if s.len() > MAX_SUBJECT_LEN {
                    return Err(SubjectError::TooLong);
                }
                $validate(s)?;
                Ok(Self(s.to_owned()))
            }
        }

        impl TryFrom<String> for $ty {
            type Error = SubjectError;
            fn try_from(s: String) -> Result<Self, SubjectError> {
                if s.len() > MAX_SUBJECT_LEN {
                    return Err(SubjectError::TooLong);
                }
                $validate(&s)?;
                Ok(Self(s))
            }
        }

        impl std::str::FromStr for $ty {
            type Err = SubjectError;
            fn from_str(s: &str) -> Result<Self, SubjectError> {
                Self::try_from(s)
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

subject_newtype!(Subject, validate_publish_subject);
subject_newtype!(SubjectFilter, validate_subscribe_subject);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_table() {
        use SubjectError::*;
        let rows: &[(&str, Result<(), SubjectError>)] = &[
            ("foo", Ok(())),
            ("foo.bar.baz", Ok(())),
            ("FOO.Bar-1_2", Ok(())),
            ("ü.ñ", Ok(())),
            ("", Err(Empty)),
            (".", Err(EmptyToken)),
            (".foo", Err(EmptyToken)),
            ("foo.", Err(EmptyToken)),
            ("foo..bar", Err(EmptyToken)),
            ("foo bar", Err(Whitespace)),
            ("foo\tbar", Err(Whitespace)),
            ("foo\r\nPUB x 1", Err(Whitespace)),
            ("foo\n", Err(Whitespace)),
            ("foo.*", Err(Wildcard)),
            ("foo.>", Err(Wildcard)),
            ("a*b", Err(Wildcard)),
        ];
        for (s, expected) in rows {
            assert_eq!(validate_publish_subject(s), *expected, "subject {s:?}");
        }
    }

    #[test]
    fn subscribe_table() {
        use SubjectError::*;
        let rows: &[(&str, Result<(), SubjectError>)] = &[
            ("foo", Ok(())),
            ("*", Ok(())),
            (">", Ok(())),
            ("foo.*", Ok(())),
            ("*.foo.*", Ok(())),
            ("foo.>", Ok(())),
            ("*.>", Ok(())),
            ("", Err(Empty)),
            ("foo..bar", Err(EmptyToken)),
            ("foo.", Err(EmptyToken)),
            (".>", Err(EmptyToken)),
            ("foo bar", Err(Whitespace)),
            ("foo.>.bar", Err(BadWildcard)),
            (">.", Err(BadWildcard)),
            ("foo.*bar", Err(BadWildcard)),
            ("foo.bar*", Err(BadWildcard)),
            ("foo.>>", Err(BadWildcard)),
            ("foo.*>", Err(BadWildcard)),
            ("a>", Err(BadWildcard)),
        ];
        for (s, expected) in rows {
            assert_eq!(validate_subscribe_subject(s), *expected, "filter {s:?}");
        }
    }

    #[test]
    fn queue_group_table() {
        let rows: &[(&str, bool)] = &[
            ("q", true),
            ("q.x-1", true),
            ("", false),
            ("a b", false),
            ("a\r", false),
        ];
        for (s, ok) in rows {
            assert_eq!(validate_queue_group(s).is_ok(), *ok, "queue {s:?}");
        }
    }

    #[test]
    fn newtypes() {
        assert_eq!(Subject::from_static("a.b").as_str(), "a.b");
        assert_eq!(SubjectFilter::from_static("a.*").to_string(), "a.*");
        assert_eq!("a.>".parse::<Subject>(), Err(SubjectError::Wildcard));
        assert_eq!(
            Subject::try_from("x".repeat(MAX_SUBJECT_LEN + 1)),
            Err(SubjectError::TooLong)
        );
    }

    #[test]
    #[should_panic(expected = "invalid subject literal")]
    fn from_static_panics() {
        let _ = Subject::from_static("a..b");
    }
}
