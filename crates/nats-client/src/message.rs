//! Received messages: subject, reply, headers and payload as zero-copy slices of the read buffer.

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;
use nats_proto::{HeaderMap, MsgOp, StatusCode};

/// A subject received from the server: a zero-copy, UTF-8 checked view of the read buffer.
///
/// Derefs to `str` and compares with `&str`.
///
/// # Examples
///
/// ```
/// use nats_client::Subject;
///
/// let s = Subject::from("orders.new");
/// assert_eq!(s, "orders.new");
/// assert!(s.starts_with("orders."));
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subject(Bytes);

impl Subject {
    /// Wraps server bytes, replacing invalid UTF-8 (which a real server never sends).
    pub(crate) fn from_wire(bytes: Bytes) -> Subject {
        // Subjects are nearly always ASCII, and the ASCII check is far cheaper than full UTF-8
        // validation on short strings.
        if bytes.is_ascii() {
            return Subject(bytes);
        }
        match std::str::from_utf8(&bytes) {
            Ok(_) => Subject(bytes),
            Err(_) => Subject(Bytes::from(
                String::from_utf8_lossy(&bytes).into_owned().into_bytes(),
            )),
        }
    }

    /// The subject as a string slice.
    ///
    /// # Examples
    ///
    /// ```
    /// let subject = nats_client::Subject::from("orders.new");
    /// assert_eq!(subject.as_str(), "orders.new");
    /// ```
    pub fn as_str(&self) -> &str {
        // The constructors only admit valid UTF-8, so this never takes the fallback.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The subject's bytes (shared with the read buffer).
    ///
    /// # Examples
    ///
    /// ```
    /// let subject = nats_client::Subject::from("orders.new");
    /// assert_eq!(&subject.as_bytes()[..], b"orders.new");
    /// ```
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }
}

impl Deref for Subject {
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

impl From<&str> for Subject {
    fn from(s: &str) -> Self {
        Subject(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<String> for Subject {
    fn from(s: String) -> Self {
        Subject(Bytes::from(s.into_bytes()))
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

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// A message delivered to a [`Subscriber`](crate::Subscriber) or returned by
/// [`Client::request`](crate::Client::request).
///
/// # Examples
///
/// ```no_run
/// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::Error> {
/// use futures_util::StreamExt;
/// let mut sub = client.subscribe("greet.*").await?;
/// if let Some(msg) = sub.next().await {
///     println!("{} said {:?}", msg.subject, msg.payload);
///     if let Some(reply) = &msg.reply {
///         client.publish(reply.as_str(), "hello back".into()).await?;
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct Message {
    /// The concrete subject the message was published to.
    pub subject: Subject,
    /// Where the publisher wants the reply.
    pub reply: Option<Subject>,
    /// The payload, a zero-copy slice of the read buffer.
    pub payload: Bytes,
    /// Headers, when the message was sent with HPUB.
    pub headers: Option<HeaderMap>,
    /// The status code of the header line (e.g. 503 for no responders).
    pub status: Option<StatusCode>,
    /// Bytes the message took on the wire.
    pub length: usize,
}

impl Message {
    pub(crate) fn from_op(op: MsgOp) -> Message {
        let status = op.headers.as_ref().and_then(HeaderMap::status);
        Message {
            subject: Subject::from_wire(op.subject),
            reply: op.reply.map(Subject::from_wire),
            payload: op.payload,
            headers: op.headers,
            status,
            length: op.wire_len,
        }
    }

    /// The description that followed the status code in the header line, if any.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::Error> {
    /// use futures_util::StreamExt;
    /// let mut sub = client.subscribe("replies.>").await?;
    /// if let Some(msg) = sub.next().await {
    ///     if let Some(text) = msg.description() {
    ///         println!("status {:?}: {text}", msg.status);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn description(&self) -> Option<&str> {
        self.headers.as_ref().and_then(HeaderMap::description)
    }

    /// Whether this is the server's "no responders" status (503 with an empty body).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::Error> {
    /// use futures_util::StreamExt;
    /// let inbox = client.new_inbox();
    /// let mut replies = client.subscribe(&inbox).await?;
    /// client.publish_with_reply("svc.time", &inbox, "".into()).await?;
    /// if let Some(msg) = replies.next().await {
    ///     if msg.is_no_responders() {
    ///         eprintln!("nobody serves svc.time");
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn is_no_responders(&self) -> bool {
        self.status == Some(StatusCode::NO_RESPONDERS) && self.payload.is_empty()
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("subject", &self.subject)
            .field("reply", &self.reply)
            .field("headers", &self.headers)
            .field("status", &self.status)
            .field("payload_len", &self.payload.len())
            .finish()
    }
}
