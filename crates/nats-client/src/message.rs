//! Received messages: subject, reply, headers and payload as zero-copy slices of the read buffer.

use std::fmt;

use bytes::Bytes;
use nats_proto::{HeaderMap, MsgOp, StatusCode, Subject};

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
///         client.publish(reply, "hello back".into()).await?;
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
            subject: op.subject,
            reply: op.reply,
            payload: op.payload,
            headers: op.headers,
            status,
            length: op.wire_len,
        }
    }

    #[cfg(test)]
    pub(crate) fn for_test(subject: &str, payload: Bytes) -> Message {
        Message {
            subject: Subject::try_from(subject).unwrap_or_else(|_| Subject::from_static("x")),
            reply: None,
            payload,
            headers: None,
            status: None,
            length: 0,
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
