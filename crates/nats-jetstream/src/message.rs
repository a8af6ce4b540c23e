//! [`Message`]: a message delivered by a consumer, its metadata parsed from the ack subject
//! (J16), and acknowledgements (J17).

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use nats_client::{Client, Subject};

use crate::error::{AckError, Error};

/// A message from a consumer: the NATS message (subject, payload, headers, reply = the ack
/// subject; reachable through `Deref`) and the means to acknowledge it.
///
/// Acks go out like any publish: during a disconnect they wait in the reconnect buffer (J17).
///
/// # Examples
///
/// ```no_run
/// # async fn demo(consumer: nats_jetstream::consumer::PullConsumer) -> Result<(), Box<dyn std::error::Error>> {
/// use futures_util::StreamExt;
/// use nats_jetstream::AckKind;
/// let mut messages = consumer.messages().await?;
/// while let Some(msg) = messages.next().await {
///     let msg = msg?;
///     let info = msg.info()?;
///     println!("{} #{} (delivered {}x): {:?}", msg.subject, info.stream_sequence, info.delivered, msg.payload);
///     if msg.payload.is_empty() {
///         msg.ack_with(AckKind::TermWithReason("empty".into())).await?;
///     } else {
///         msg.ack().await?;
///     }
/// }
/// # Ok(()) }
/// ```
pub struct Message {
    message: nats_client::Message,
    client: Client,
    timeout: Duration,
    /// A final ack (ack, nak, term) was sent.
    acked: AtomicBool,
}

/// How to acknowledge a message (J17).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use nats_jetstream::AckKind;
/// assert_eq!(AckKind::Nak(Some(Duration::from_secs(1))).payload(), "-NAK {\"delay\":1000000000}");
/// assert_eq!(AckKind::TermWithReason("bad".into()).payload(), "+TERM bad");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AckKind {
    /// Processed (`+ACK`).
    Ack,
    /// Not processed: redeliver, after the delay if given (`-NAK`).
    Nak(Option<Duration>),
    /// Still working: restart the ack wait (`+WPI`). May be sent any number of times.
    Progress,
    /// Never redeliver (`+TERM`).
    Term,
    /// Never redeliver, with a reason (`+TERM <reason>`; the reason is sent to 2.10+ servers
    /// only, as older ones ignore a `+TERM` with a reason).
    TermWithReason(String),
}

impl AckKind {
    /// The ack's payload on the wire.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(nats_jetstream::AckKind::Progress.payload(), "+WPI");
    /// ```
    pub fn payload(&self) -> String {
        self.wire().into_owned()
    }

    /// The payload, borrowed for the kinds that carry nothing else.
    fn wire(&self) -> Cow<'static, str> {
        match self {
            AckKind::Ack => Cow::Borrowed("+ACK"),
            AckKind::Nak(None) => Cow::Borrowed("-NAK"),
            AckKind::Nak(Some(d)) => {
                Cow::Owned(format!("-NAK {{\"delay\":{}}}", crate::wire::nanos_i64(*d)))
            }
            AckKind::Progress => Cow::Borrowed("+WPI"),
            AckKind::Term => Cow::Borrowed("+TERM"),
            AckKind::TermWithReason(reason) => Cow::Owned(format!("+TERM {reason}")),
        }
    }

    /// [`payload`](AckKind::payload) as the bytes to publish: the fixed kinds without an
    /// allocation (an ack is sent for every message consumed).
    fn body(&self) -> Bytes {
        match self.wire() {
            Cow::Borrowed(fixed) => Bytes::from_static(fixed.as_bytes()),
            Cow::Owned(text) => Bytes::from(text),
        }
    }

    fn is_final(&self) -> bool {
        !matches!(self, AckKind::Progress)
    }
}

impl Message {
    pub(crate) fn new(message: nats_client::Message, client: Client, timeout: Duration) -> Message {
        Message {
            message,
            client,
            timeout,
            acked: AtomicBool::new(false),
        }
    }

    /// The metadata in the ack subject: stream, consumer, sequences, delivery count, pending,
    /// time (J16). Both the v1 and the v2 (domain, account hash) forms are understood.
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] when the reply is not a JetStream ack subject.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(msg: nats_jetstream::Message) -> Result<(), nats_jetstream::Error> {
    /// let info = msg.info()?;
    /// println!("{}/{} stream seq {} consumer seq {}", info.stream, info.consumer,
    ///          info.stream_sequence, info.consumer_sequence);
    /// # Ok(()) }
    /// ```
    pub fn info(&self) -> Result<Info<'_>, Error> {
        let reply = self.message.reply.as_deref().unwrap_or_default();
        Info::parse(reply)
            .ok_or_else(|| Error::Decode(format!("not a JetStream ack subject: {reply:?}")))
    }

    /// The underlying NATS message.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(msg: nats_jetstream::Message) {
    /// let raw: nats_client::Message = msg.into_inner();
    /// # }
    /// ```
    pub fn into_inner(self) -> nats_client::Message {
        self.message
    }

    /// Acknowledges it as processed (`+ACK`).
    ///
    /// # Errors
    ///
    /// [`AckError::AlreadyAcked`] after an ack, nak or term; [`AckError::NoReply`];
    /// [`AckError::Publish`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(msg: nats_jetstream::Message) -> Result<(), nats_jetstream::AckError> {
    /// msg.ack().await?;
    /// assert!(msg.ack().await.is_err()); // twice is an error
    /// # Ok(()) }
    /// ```
    pub async fn ack(&self) -> Result<(), AckError> {
        self.ack_with(AckKind::Ack).await
    }

    /// Sends an acknowledgement of the given kind (J17).
    ///
    /// # Errors
    ///
    /// As [`ack`](Message::ack); `Progress` may be sent repeatedly until a final ack.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(msg: nats_jetstream::Message) -> Result<(), nats_jetstream::AckError> {
    /// use std::time::Duration;
    /// use nats_jetstream::AckKind;
    /// msg.ack_with(AckKind::Progress).await?;
    /// msg.ack_with(AckKind::Progress).await?;
    /// msg.ack_with(AckKind::Nak(Some(Duration::from_secs(5)))).await?;
    /// # Ok(()) }
    /// ```
    pub async fn ack_with(&self, kind: AckKind) -> Result<(), AckError> {
        let reply = self.claim(&kind)?;
        // Servers before 2.10 ignore a `+TERM` that carries a reason: send it bare there.
        let payload = match &kind {
            AckKind::TermWithReason(_) if !self.server_at_least_2_10() => AckKind::Term.body(),
            other => other.body(),
        };
        let result = self
            .client
            .publish(reply, payload)
            .await
            .map_err(AckError::Publish);
        if result.is_err() && kind.is_final() {
            self.acked.store(false, Ordering::Release);
        }
        result
    }

    /// Acknowledges and waits until the server confirms it has the ack (J17).
    ///
    /// # Errors
    ///
    /// As [`ack`](Message::ack), plus [`AckError::Request`] when no confirmation comes within
    /// the context's API timeout.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(msg: nats_jetstream::Message) -> Result<(), nats_jetstream::AckError> {
    /// msg.double_ack().await?; // the server will not redeliver it
    /// # Ok(()) }
    /// ```
    pub async fn double_ack(&self) -> Result<(), AckError> {
        let kind = AckKind::Ack;
        let reply = self.claim(&kind)?;
        let result = self
            .client
            .request_with_timeout(reply, kind.body(), self.timeout)
            .await
            .map(|_| ())
            .map_err(AckError::Request);
        if result.is_err() {
            self.acked.store(false, Ordering::Release);
        }
        result
    }

    /// Not processed: the server redelivers it at once (`-NAK`, J17). Shorthand for
    /// `ack_with(AckKind::Nak(None))`.
    ///
    /// # Errors
    ///
    /// As [`ack`](Message::ack).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(msg: nats_jetstream::Message) -> Result<(), nats_jetstream::AckError> {
    /// msg.nak().await?; // try again, maybe on another worker
    /// # Ok(()) }
    /// ```
    pub async fn nak(&self) -> Result<(), AckError> {
        self.ack_with(AckKind::Nak(None)).await
    }

    /// Not processed: the server redelivers it once `delay` has passed (`-NAK {"delay":…}`,
    /// J17). Shorthand for `ack_with(AckKind::Nak(Some(delay)))`.
    ///
    /// # Errors
    ///
    /// As [`ack`](Message::ack).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(msg: nats_jetstream::Message) -> Result<(), nats_jetstream::AckError> {
    /// msg.nak_with_delay(std::time::Duration::from_secs(10)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn nak_with_delay(&self, delay: Duration) -> Result<(), AckError> {
        self.ack_with(AckKind::Nak(Some(delay))).await
    }

    /// Still working on it: the server restarts the ack wait (`+WPI`, J17). May be sent any
    /// number of times before the final ack. Shorthand for `ack_with(AckKind::Progress)`.
    ///
    /// # Errors
    ///
    /// As [`ack`](Message::ack); [`AckError::AlreadyAcked`] after a final ack.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(msg: nats_jetstream::Message) -> Result<(), nats_jetstream::AckError> {
    /// msg.in_progress().await?;
    /// // ... more work ...
    /// msg.ack().await?;
    /// # Ok(()) }
    /// ```
    pub async fn in_progress(&self) -> Result<(), AckError> {
        self.ack_with(AckKind::Progress).await
    }

    /// Never redeliver it (`+TERM`, J17). Shorthand for `ack_with(AckKind::Term)`.
    ///
    /// # Errors
    ///
    /// As [`ack`](Message::ack).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(msg: nats_jetstream::Message) -> Result<(), nats_jetstream::AckError> {
    /// msg.term().await?; // a poison message
    /// # Ok(()) }
    /// ```
    pub async fn term(&self) -> Result<(), AckError> {
        self.ack_with(AckKind::Term).await
    }

    /// Never redeliver it, saying why (`+TERM <reason>`; servers before 2.10 get a bare
    /// `+TERM`, J17). Shorthand for `ack_with(AckKind::TermWithReason(reason))`.
    ///
    /// # Errors
    ///
    /// As [`ack`](Message::ack).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(msg: nats_jetstream::Message) -> Result<(), nats_jetstream::AckError> {
    /// msg.term_with_reason("unparseable order").await?;
    /// # Ok(()) }
    /// ```
    pub async fn term_with_reason(&self, reason: impl Into<String>) -> Result<(), AckError> {
        self.ack_with(AckKind::TermWithReason(reason.into())).await
    }

    fn server_at_least_2_10(&self) -> bool {
        crate::context::server_at_least(&self.client, 2, 10)
    }

    /// Checks that `kind` may be sent and marks a final ack; returns the ack subject.
    fn claim(&self, kind: &AckKind) -> Result<&Subject, AckError> {
        // The subject the server gave, passed on as it is: it needs no new check.
        let reply = self.message.reply.as_ref().ok_or(AckError::NoReply)?;
        if kind.is_final() {
            if self.acked.swap(true, Ordering::AcqRel) {
                return Err(AckError::AlreadyAcked);
            }
        } else if self.acked.load(Ordering::Acquire) {
            return Err(AckError::AlreadyAcked);
        }
        Ok(reply)
    }
}

impl Deref for Message {
    type Target = nats_client::Message;

    fn deref(&self) -> &nats_client::Message {
        &self.message
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("subject", &self.message.subject)
            .field("reply", &self.message.reply)
            .field("payload_len", &self.message.payload.len())
            .field("acked", &self.acked.load(Ordering::Relaxed))
            .finish()
    }
}

/// A message's metadata from its ack subject (J16).
///
/// # Examples
///
/// ```
/// use nats_jetstream::message::Info;
/// let v1 = Info::parse("$JS.ACK.ORDERS.billing.1.42.7.1764662400000000000.3").unwrap();
/// assert_eq!((v1.stream, v1.consumer, v1.stream_sequence, v1.consumer_sequence), ("ORDERS", "billing", 42, 7));
/// let v2 = Info::parse("$JS.ACK.hub.ACCHASH.ORDERS.billing.2.42.7.1764662400000000000.3.rand").unwrap();
/// assert_eq!((v2.domain, v2.delivered, v2.pending), (Some("hub"), 2, 3));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Info<'a> {
    /// The domain (v2 subjects; `None` for `_` or v1).
    pub domain: Option<&'a str>,
    /// The account hash (v2 subjects).
    pub account_hash: Option<&'a str>,
    /// The stream.
    pub stream: &'a str,
    /// The consumer.
    pub consumer: &'a str,
    /// How many times it was delivered (1 the first time).
    pub delivered: u64,
    /// Its sequence in the stream.
    pub stream_sequence: u64,
    /// Its sequence in the consumer.
    pub consumer_sequence: u64,
    /// When it was stored.
    pub published: SystemTime,
    /// Messages still pending for the consumer after this one.
    pub pending: u64,
}

impl<'a> Info<'a> {
    /// Parses an ack subject: v1 `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>`
    /// or v2 `$JS.ACK.<domain>.<account hash>.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>[.<token>…]`.
    ///
    /// # Examples
    ///
    /// ```
    /// use nats_jetstream::message::Info;
    /// assert!(Info::parse("$JS.ACK.S.C.1.5.5.0.0").is_some());
    /// assert!(Info::parse("_INBOX.x").is_none());
    /// ```
    pub fn parse(subject: &'a str) -> Option<Info<'a>> {
        let rest = subject.strip_prefix("$JS.ACK.")?;
        let tokens: Vec<&str> = rest.split('.').collect();
        let (domain, hash, t) = match tokens.len() {
            7 => (None, None, &tokens[..]),
            n if n >= 9 => {
                let domain = tokens.first().copied().filter(|d| *d != "_");
                (domain, tokens.get(1).copied(), tokens.get(2..9)?)
            }
            _ => return None,
        };
        let num = |i: usize| t.get(i)?.parse::<u64>().ok();
        Some(Info {
            domain,
            account_hash: hash,
            stream: t.first()?,
            consumer: t.get(1)?,
            delivered: num(2)?,
            stream_sequence: num(3)?,
            consumer_sequence: num(4)?,
            published: UNIX_EPOCH + Duration::from_nanos(num(5)?),
            pending: num(6)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn j16_both_ack_subject_forms_parse() {
        let v1 = Info::parse("$JS.ACK.S.C.3.10.4.1000000000.5").unwrap();
        assert_eq!(v1.domain, None);
        assert_eq!(v1.account_hash, None);
        assert_eq!(
            (
                v1.delivered,
                v1.stream_sequence,
                v1.consumer_sequence,
                v1.pending
            ),
            (3, 10, 4, 5)
        );
        assert_eq!(v1.published, UNIX_EPOCH + Duration::from_secs(1));

        let v2 = Info::parse("$JS.ACK._.HASH.S.C.1.10.4.1000000000.0.tok").unwrap();
        assert_eq!((v2.domain, v2.account_hash), (None, Some("HASH")));
        assert_eq!((v2.stream, v2.consumer, v2.stream_sequence), ("S", "C", 10));
        let v2_no_token = Info::parse("$JS.ACK.dom.HASH.S.C.1.10.4.1000000000.0").unwrap();
        assert_eq!(v2_no_token.domain, Some("dom"));

        for bad in [
            "",
            "$JS.ACK.S.C.1.2.3",
            "$JS.ACK.S.C.x.10.4.1.5",
            "_INBOX.a.b.c.d.e.f.g.h",
            "$JS.ACK.a.b.c.d.e.f.g.h",
        ] {
            assert!(Info::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn ack_payloads() {
        assert_eq!(AckKind::Ack.payload(), "+ACK");
        assert_eq!(AckKind::Nak(None).payload(), "-NAK");
        assert_eq!(AckKind::Progress.payload(), "+WPI");
        assert_eq!(AckKind::Term.payload(), "+TERM");
        assert!(!AckKind::Progress.is_final());
        assert!(AckKind::Term.is_final());
        for kind in [
            AckKind::Ack,
            AckKind::Nak(None),
            AckKind::Nak(Some(Duration::from_millis(1500))),
            AckKind::Progress,
            AckKind::Term,
            AckKind::TermWithReason("bad input".into()),
        ] {
            assert_eq!(kind.body(), kind.payload().as_bytes(), "{kind:?}");
        }
    }
}
