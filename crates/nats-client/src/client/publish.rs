//! Publishing: [`Client::publish`] and its variants. The fast path is synchronous: check,
//! encode into the write queue under one short lock, no await and no allocation.

use bytes::Bytes;
use nats_proto::{AsSubject, HeaderMap};

use super::Client;
use crate::error::PublishError;
use crate::message_id::ID_HEADER_MAX;
use crate::outbound::PublishFrame;

impl Client {
    /// Publishes `payload` to `subject` (a `&str`, `String` or [`Subject`](crate::Subject)).
    ///
    /// Returns once the message is in the write queue (or, while disconnected, in the reconnect
    /// buffer, R62); use [`flush`](Client::flush) to know the server has it. Waits only when the
    /// queue is above its high-water mark (back-pressure); dropping the future then publishes
    /// nothing. A payload of 8 KiB or more is not copied: it is written from the `Bytes` you
    /// pass.
    ///
    /// # Errors
    ///
    /// [`PublishError::InvalidSubject`], [`PublishError::PayloadTooLarge`] (checked locally
    /// against the server's `max_payload`; the connection stays up),
    /// [`PublishError::ControlLineTooLong`], [`PublishError::ReconnectBufferFull`] while
    /// disconnected, `Draining`, `Closed`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::PublishError> {
    /// client.publish("orders.new", bytes::Bytes::from_static(b"hi")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn publish(
        &self,
        subject: impl AsSubject,
        payload: Bytes,
    ) -> Result<(), PublishError> {
        let subject = subject.as_subject().map_err(PublishError::InvalidSubject)?;
        match self.try_publish_frame(subject, None, None, &payload) {
            Ok(done) => done,
            Err(()) => self.publish_slow(subject, None, None, &payload).await,
        }
    }

    /// Publishes with a reply subject, for a responder to answer on.
    ///
    /// # Errors
    ///
    /// As [`publish`](Client::publish), plus [`PublishError::InvalidReply`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::PublishError> {
    /// client.publish_with_reply("svc.time", "my.inbox", bytes::Bytes::new()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn publish_with_reply(
        &self,
        subject: impl AsSubject,
        reply: impl AsSubject,
        payload: Bytes,
    ) -> Result<(), PublishError> {
        let subject = subject.as_subject().map_err(PublishError::InvalidSubject)?;
        let reply = reply.as_subject().map_err(PublishError::InvalidReply)?;
        self.publish_frame(subject, Some(reply), None, &payload)
            .await
    }

    /// Publishes with headers (HPUB).
    ///
    /// # Errors
    ///
    /// As [`publish`](Client::publish), plus [`PublishError::HeadersNotSupported`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let mut headers = nats_client::HeaderMap::new();
    /// headers.insert("Trace-Id", "abc123")?;
    /// client.publish_with_headers("orders.new", headers, "hi".into()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn publish_with_headers(
        &self,
        subject: impl AsSubject,
        headers: HeaderMap,
        payload: Bytes,
    ) -> Result<(), PublishError> {
        let subject = subject.as_subject().map_err(PublishError::InvalidSubject)?;
        self.publish_frame(subject, None, Some(&headers), &payload)
            .await
    }

    /// Publishes with a reply subject and headers.
    ///
    /// # Errors
    ///
    /// As [`publish_with_headers`](Client::publish_with_headers).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::PublishError> {
    /// let headers = nats_client::HeaderMap::new();
    /// client.publish_with_reply_and_headers("svc", "inbox.1", headers, "hi".into()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn publish_with_reply_and_headers(
        &self,
        subject: impl AsSubject,
        reply: impl AsSubject,
        headers: HeaderMap,
        payload: Bytes,
    ) -> Result<(), PublishError> {
        let subject = subject.as_subject().map_err(PublishError::InvalidSubject)?;
        let reply = reply.as_subject().map_err(PublishError::InvalidReply)?;
        self.publish_frame(subject, Some(reply), Some(&headers), &payload)
            .await
    }

    /// Checks and queues one frame.
    pub(crate) async fn publish_frame(
        &self,
        subject: &str,
        reply: Option<&str>,
        headers: Option<&HeaderMap>,
        payload: &Bytes,
    ) -> Result<(), PublishError> {
        match self.try_publish_frame(subject, reply, headers, payload) {
            Ok(done) => done,
            Err(()) => self.publish_slow(subject, reply, headers, payload).await,
        }
    }

    /// The fast path, synchronous: checked and decided under one short lock. `Err(())` when
    /// the queue is above its high-water mark and the caller must wait.
    #[inline]
    fn try_publish_frame(
        &self,
        subject: &str,
        reply: Option<&str>,
        headers: Option<&HeaderMap>,
        payload: &Bytes,
    ) -> Result<Result<(), PublishError>, ()> {
        if let Err(e) = self.check_publish(subject, reply, headers, payload.len()) {
            return Ok(Err(e));
        }
        let frame = PublishFrame {
            subject,
            reply,
            headers,
            payload,
        };
        self.shared().queue.try_publish(&frame)
    }

    /// The back-pressure path, boxed so the publish futures stay small (one is created on
    /// every publish).
    fn publish_slow<'a>(
        &'a self,
        subject: &'a str,
        reply: Option<&'a str>,
        headers: Option<&'a HeaderMap>,
        payload: &'a Bytes,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), PublishError>> + Send + 'a>>
    {
        Box::pin(async move {
            let frame = PublishFrame {
                subject,
                reply,
                headers,
                payload,
            };
            self.shared().queue.publish(&frame).await
        })
    }

    /// Checks a publish against the server's limits.
    #[inline]
    fn check_publish(
        &self,
        subject: &str,
        reply: Option<&str>,
        headers: Option<&HeaderMap>,
        payload_len: usize,
    ) -> Result<(), PublishError> {
        let view = &self.shared().view;
        let max = view.max_payload();
        if self.shared().options.at_least_once.ids {
            // `message_ids`: every publish carries headers
            if !view.headers_supported() {
                return Err(PublishError::HeadersNotSupported);
            }
            let size = headers.map_or(0, HeaderMap::encoded_len) + ID_HEADER_MAX + payload_len;
            if size > max {
                return Err(PublishError::PayloadTooLarge { size, max });
            }
        }
        match headers {
            None if payload_len > max => {
                return Err(PublishError::PayloadTooLarge {
                    size: payload_len,
                    max,
                })
            }
            None => {}
            Some(headers) => {
                if !view.headers_supported() {
                    return Err(PublishError::HeadersNotSupported);
                }
                let size = headers.encoded_len() + payload_len;
                if size > max {
                    return Err(PublishError::PayloadTooLarge { size, max });
                }
            }
        }
        // The control line's length, only worked out when it could be near the limit.
        let limit = self.shared().options.max_control_line;
        let names = subject.len() + reply.map_or(0, |r| r.len() + 1);
        if names + 64 > limit {
            let sizes = match headers {
                None => digits(payload_len),
                Some(h) => {
                    let header_len = h.encoded_len();
                    digits(header_len) + 1 + digits(header_len + payload_len)
                }
            };
            let op = if headers.is_some() { 4 } else { 3 };
            let line = op + 1 + names + 1 + sizes;
            if line > limit {
                return Err(PublishError::ControlLineTooLong { len: line, limit });
            }
        }
        Ok(())
    }
}

/// Decimal digits of `n`.
fn digits(n: usize) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}
