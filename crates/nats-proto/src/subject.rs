//! Subject, subscription-filter and queue-group validation (single pass over the bytes).
//!
//! * A **publish subject** is non-empty, has no empty token (`a..b`, `.a`, `a.`), no whitespace
//!   (space, tab, CR, LF) and no wildcard character (`*`, `>`).
//! * A **subscription filter** follows the same rules, except that `*` (one token) and `>` (one
//!   or more trailing tokens) are allowed as whole tokens, `>` only as the last one.
//! * A **queue group** is non-empty and has no whitespace.

use bytes::Bytes;

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

/// A subject: the one subject type of the API, for the subjects a message is published to, the
/// reply subjects, and the subjects of received messages.
///
/// A `Subject` you build is valid for publishing (non-empty, no empty token, no whitespace, no
/// wildcard) and UTF-8. One received from the server is UTF-8 and has no whitespace, but is
/// otherwise taken as the server sent it: a server that does not run in pedantic mode delivers
/// a publish to `orders.*` under that very subject, and passes any reply subject a publisher
/// chose. So publishing to a received subject checks it for wildcards (a search for `*` and
/// `>`, nothing more when there are none): replying to a `reply` of `inbox.*` is refused with
/// [`SubjectError::Wildcard`] instead of reaching every `inbox.…` subscriber.
///
/// It is cheap to clone: the text is a [`Bytes`] handle, and a subject received from the
/// server is a zero-copy slice of the connection's read buffer.
///
/// Build one with [`TryFrom`] / [`FromStr`](std::str::FromStr) (checked) or
/// [`from_static`](Subject::from_static) for a literal. Everything that takes a subject takes
/// any [`AsSubject`]: a `Subject` or a `&str` / `String` (checked on use).
/// Derefs to `str` and compares with `&str`.
///
/// # Examples
///
/// ```
/// use nats_proto::{Subject, SubjectError};
///
/// let s: Subject = "orders.created".parse()?;
/// assert_eq!(s, "orders.created");
/// assert!(s.starts_with("orders."));
/// assert_eq!(Subject::try_from("orders.*"), Err(SubjectError::Wildcard));
/// # Ok::<(), SubjectError>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Subject(Bytes);

impl Subject {
    /// Builds the subject from a literal, without allocating.
    ///
    /// # Panics
    ///
    /// If the literal is not a valid publish subject; use [`TryFrom`] for anything not written
    /// in the source.
    ///
    /// # Examples
    ///
    /// ```
    /// const ORDERS: &str = "orders.new";
    /// assert_eq!(nats_proto::Subject::from_static(ORDERS).as_str(), ORDERS);
    /// ```
    pub fn from_static(s: &'static str) -> Subject {
        match validate_publish_subject(s) {
            Ok(()) if s.len() <= MAX_SUBJECT_LEN => Subject(Bytes::from_static(s.as_bytes())),
            Ok(()) => panic!("invalid subject literal {s:?}: {}", SubjectError::TooLong),
            Err(e) => panic!("invalid subject literal {s:?}: {e}"),
        }
    }

    /// A subject the server sent (a `MSG` subject or reply): zero-copy. The parser has already
    /// split it on whitespace, so only UTF-8 is checked here, and invalid UTF-8 (which a real
    /// server never sends) is replaced. A server delivers subjects and replies with wildcard
    /// tokens when publishers use them (not in pedantic mode); [`AsSubject`] looks for those
    /// when one is published to. (Empty tokens it does not deliver.)
    #[inline]
    pub(crate) fn from_wire(bytes: Bytes) -> Subject {
        // Subjects are nearly always ASCII, and the ASCII check is far cheaper than full UTF-8
        // validation on short strings.
        if bytes.is_ascii() {
            return Subject(bytes);
        }
        Subject::from_wire_utf8(bytes)
    }

    #[cold]
    fn from_wire_utf8(bytes: Bytes) -> Subject {
        if std::str::from_utf8(&bytes).is_ok() {
            return Subject(bytes);
        }
        Subject(Bytes::from(
            String::from_utf8_lossy(&bytes).into_owned().into_bytes(),
        ))
    }

    /// The subject text.
    ///
    /// # Examples
    ///
    /// ```
    /// let subject = nats_proto::Subject::from_static("orders.new");
    /// assert_eq!(subject.as_str(), "orders.new");
    /// ```
    pub fn as_str(&self) -> &str {
        // Every constructor admits only UTF-8, so the fallback is never taken.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The subject's bytes (for a received message: shared with the read buffer).
    ///
    /// # Examples
    ///
    /// ```
    /// let subject = nats_proto::Subject::from_static("orders.new");
    /// assert_eq!(&subject.as_bytes()[..], b"orders.new");
    /// ```
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// The subject's length in bytes (without looking at the text again, unlike `as_str().len()`).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(nats_proto::Subject::from_static("orders.new").len(), 10);
    /// ```
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the subject is empty (only a subject received from a server can be).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!nats_proto::Subject::from_static("a").is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl TryFrom<&str> for Subject {
    type Error = SubjectError;
    fn try_from(s: &str) -> Result<Subject, SubjectError> {
        check_subject(s)?;
        Ok(Subject(Bytes::copy_from_slice(s.as_bytes())))
    }
}

impl TryFrom<String> for Subject {
    type Error = SubjectError;
    fn try_from(s: String) -> Result<Subject, SubjectError> {
        check_subject(&s)?;
        Ok(Subject(Bytes::from(s.into_bytes())))
    }
}

impl TryFrom<&String> for Subject {
    type Error = SubjectError;
    fn try_from(s: &String) -> Result<Subject, SubjectError> {
        Subject::try_from(s.as_str())
    }
}

impl std::str::FromStr for Subject {
    type Err = SubjectError;
    fn from_str(s: &str) -> Result<Subject, SubjectError> {
        Subject::try_from(s)
    }
}

fn check_subject(s: &str) -> Result<(), SubjectError> {
    if s.len() > MAX_SUBJECT_LEN {
        return Err(SubjectError::TooLong);
    }
    validate_publish_subject(s)
}

impl std::ops::Deref for Subject {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Subject {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::borrow::Borrow<str> for Subject {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

// Hashes like `str`, so that `Borrow<str>` lookups in hash maps work.
impl std::hash::Hash for Subject {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialEq<str> for Subject {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Subject {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Subject {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<Subject> for str {
    fn eq(&self, other: &Subject) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Subject> for &str {
    fn eq(&self, other: &Subject) -> bool {
        *self == other.as_str()
    }
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl serde::Serialize for Subject {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Subject {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Subject, D::Error> {
        let s = String::deserialize(deserializer)?;
        Subject::try_from(s).map_err(serde::de::Error::custom)
    }
}

/// Anything that names a publish subject: a [`Subject`] (checked when it was made, so using it
/// costs nothing) or a `&str` / `String` (checked on every use, without allocating).
///
/// Publish and request methods take `impl AsSubject`, so `"orders.new"`, a `String` and a
/// message's `reply` all work.
///
/// # Examples
///
/// ```
/// use nats_proto::{AsSubject, Subject, SubjectError};
///
/// assert_eq!("orders.new".as_subject(), Ok("orders.new"));
/// assert_eq!("orders.*".as_subject(), Err(SubjectError::Wildcard));
/// let checked = Subject::from_static("orders.new");
/// assert_eq!(checked.as_subject(), Ok("orders.new"));
/// ```
pub trait AsSubject {
    /// The subject text once it is known to be a valid publish subject.
    ///
    /// # Errors
    ///
    /// Why the text is not a valid publish subject ([`SubjectError`]).
    fn as_subject(&self) -> Result<&str, SubjectError>;
}

impl AsSubject for str {
    #[inline]
    fn as_subject(&self) -> Result<&str, SubjectError> {
        validate_publish_subject(self)?;
        Ok(self)
    }
}

impl AsSubject for String {
    #[inline]
    fn as_subject(&self) -> Result<&str, SubjectError> {
        self.as_str().as_subject()
    }
}

impl AsSubject for Subject {
    /// A subject you built is valid already; one the server sent may carry a wildcard token
    /// (see [`Subject`]), so it is searched for `*` and `>` (a word-at-a-time search) and fully
    /// checked only if it has one.
    #[inline]
    fn as_subject(&self) -> Result<&str, SubjectError> {
        let text = self.as_str();
        if self.0.contains(&b'*') || self.0.contains(&b'>') {
            validate_publish_subject(text)?;
        }
        Ok(text)
    }
}

impl AsSubject for std::borrow::Cow<'_, str> {
    #[inline]
    fn as_subject(&self) -> Result<&str, SubjectError> {
        self.as_ref().as_subject()
    }
}

impl<T: AsSubject + ?Sized> AsSubject for &T {
    #[inline]
    fn as_subject(&self) -> Result<&str, SubjectError> {
        (**self).as_subject()
    }
}

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

impl SubjectFilter {
    /// Builds the filter from a literal.
    ///
    /// # Panics
    ///
    /// If the literal is not valid; use `TryFrom` for anything not written in the source.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(nats_proto::SubjectFilter::from_static("a.*").as_str(), "a.*");
    /// ```
    pub fn from_static(s: &'static str) -> Self {
        match Self::try_from(s) {
            Ok(v) => v,
            Err(e) => panic!("invalid subject literal {s:?}: {e}"),
        }
    }

    /// The filter text.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(nats_proto::SubjectFilter::from_static("a.>").as_str(), "a.>");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A filter: within the subject length limit and valid for subscribing.
fn check_filter(s: &str) -> Result<(), SubjectError> {
    if s.len() > MAX_SUBJECT_LEN {
        return Err(SubjectError::TooLong);
    }
    validate_subscribe_subject(s)
}

/// The conversions of a checked text type (`SubjectFilter`, `QueueGroup`): `TryFrom` a `&str`
/// or a `String` and `FromStr` through `check`, `AsRef<str>` and `Display` as the text.
macro_rules! checked_text {
    ($ty:ident, $check:path) => {
        impl TryFrom<&str> for $ty {
            type Error = SubjectError;
            fn try_from(s: &str) -> Result<Self, SubjectError> {
                $check(s)?;
                Ok(Self(s.to_owned()))
            }
        }

        impl TryFrom<String> for $ty {
            type Error = SubjectError;
            fn try_from(s: String) -> Result<Self, SubjectError> {
                $check(&s)?;
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

checked_text!(SubjectFilter, check_filter);

/// A validated queue group name: non-empty, no whitespace (what the server accepts in `SUB`).
/// Queue-subscribe methods take any `AsRef<str>`, so a `QueueGroup` or a plain `&str` (checked
/// on use) both work.
///
/// # Examples
///
/// ```
/// use nats_proto::{QueueGroup, SubjectError};
/// let workers: QueueGroup = "workers".parse()?;
/// assert_eq!(workers.as_str(), "workers");
/// assert_eq!(QueueGroup::try_from("two words"), Err(SubjectError::InvalidQueueGroup));
/// # Ok::<(), SubjectError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueueGroup(String);

impl QueueGroup {
    /// Builds the queue group from a literal.
    ///
    /// # Panics
    ///
    /// If the literal is not valid; use `TryFrom` for anything not written in the source.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(nats_proto::QueueGroup::from_static("billing").as_str(), "billing");
    /// ```
    pub fn from_static(s: &'static str) -> Self {
        match Self::try_from(s) {
            Ok(v) => v,
            Err(e) => panic!("invalid queue group literal {s:?}: {e}"),
        }
    }

    /// The queue group's name.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(nats_proto::QueueGroup::from_static("q").as_str(), "q");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

checked_text!(QueueGroup, validate_queue_group);

#[cfg(test)]
mod tests;
