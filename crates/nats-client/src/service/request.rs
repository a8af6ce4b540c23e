//! [`Request`]: one request to an endpoint, with the ways to answer it. Answering records the
//! endpoint's stats (before the response is published, so a requester that has its reply sees
//! it counted).

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use nats_proto::HeaderMap;
use tokio::time::Instant;

use super::error::ServiceError;
use super::state::EndpointEntry;
use crate::client::Client;
use crate::message::Message;

/// The header that carries a service error's description.
pub const ERROR_HEADER: &str = "Nats-Service-Error";
/// The header that carries a service error's code.
pub const ERROR_CODE_HEADER: &str = "Nats-Service-Error-Code";

/// A request received by an endpoint.
///
/// Answer it with [`respond`](Request::respond), [`respond_with_headers`](Request::respond_with_headers)
/// or [`error`](Request::error). The first answer records the request in the endpoint's stats
/// (an error answer also counts an error); a request dropped unanswered is recorded then.
/// Processing time runs from when the request was handed out until that moment.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(service: nats_client::service::Service) -> Result<(), nats_client::service::ServiceError> {
/// use futures_util::StreamExt;
/// let mut echo = service.endpoint("echo").add().await?;
/// while let Some(request) = echo.next().await {
///     if request.payload().is_empty() {
///         request.error(400, "empty request", "".into()).await?;
///     } else {
///         request.respond(request.payload().clone()).await?;
///     }
/// }
/// # Ok(()) }
/// ```
pub struct Request {
    message: Message,
    endpoint: Arc<EndpointEntry>,
    client: Client,
    start: Instant,
    recorded: AtomicBool,
}

impl Request {
    pub(crate) fn new(message: Message, endpoint: Arc<EndpointEntry>, client: Client) -> Request {
        Request {
            message,
            endpoint,
            client,
            start: Instant::now(),
            recorded: AtomicBool::new(false),
        }
    }

    /// The payload.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(request: nats_client::service::Request) {
    /// println!("{} bytes", request.payload().len());
    /// # }
    /// ```
    pub fn payload(&self) -> &Bytes {
        &self.message.payload
    }

    /// The headers, when the request was sent with some.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(request: nats_client::service::Request) {
    /// let trace = request.headers().and_then(|h| h.get("Trace-Id"));
    /// # }
    /// ```
    pub fn headers(&self) -> Option<&HeaderMap> {
        self.message.headers.as_ref()
    }

    /// The subject the request was sent to (the endpoint's, or one its wildcard matched).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(request: nats_client::service::Request) {
    /// println!("{}", request.subject());
    /// # }
    /// ```
    pub fn subject(&self) -> &str {
        &self.message.subject
    }

    /// The reply subject, if the requester gave one.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(request: nats_client::service::Request) {
    /// if request.reply().is_none() { println!("nobody waits for an answer"); }
    /// # }
    /// ```
    pub fn reply(&self) -> Option<&str> {
        self.message.reply.as_deref()
    }

    /// The name of the endpoint that received the request.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(request: nats_client::service::Request) {
    /// println!("for {}", request.endpoint());
    /// # }
    /// ```
    pub fn endpoint(&self) -> &str {
        &self.endpoint.name
    }

    /// The whole message.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(request: nats_client::service::Request) {
    /// println!("{:?}", request.message());
    /// # }
    /// ```
    pub fn message(&self) -> &Message {
        &self.message
    }

    /// Responds with `payload`.
    ///
    /// # Errors
    ///
    /// [`ServiceError::NoReplySubject`], [`ServiceError::Publish`] (also counted as an error in
    /// the stats).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(request: nats_client::service::Request) -> Result<(), nats_client::service::ServiceError> {
    /// request.respond("42".into()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn respond(&self, payload: Bytes) -> Result<(), ServiceError> {
        self.send(None, payload, None).await
    }

    /// Responds with headers and `payload`.
    ///
    /// # Errors
    ///
    /// As [`respond`](Request::respond).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(request: nats_client::service::Request) -> Result<(), Box<dyn std::error::Error>> {
    /// let mut headers = nats_client::HeaderMap::new();
    /// headers.insert("Content-Type", "application/json")?;
    /// request.respond_with_headers(headers, "{}".into()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn respond_with_headers(
        &self,
        headers: HeaderMap,
        payload: Bytes,
    ) -> Result<(), ServiceError> {
        self.send(Some(headers), payload, None).await
    }

    /// Responds with a service error: headers `Nats-Service-Error: description` and
    /// `Nats-Service-Error-Code: code`, and `body` as the payload. The endpoint counts an
    /// error, with last error `"code:description"`.
    ///
    /// # Errors
    ///
    /// [`ServiceError::InvalidErrorHeader`] when `description` is empty or not a header value
    /// (nothing is sent or counted then); otherwise as [`respond`](Request::respond).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(request: nats_client::service::Request) -> Result<(), nats_client::service::ServiceError> {
    /// request.error(404, "no such order", "".into()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn error(
        &self,
        code: u16,
        description: &str,
        body: Bytes,
    ) -> Result<(), ServiceError> {
        let mut headers = HeaderMap::new();
        if description.is_empty() {
            return Err(ServiceError::InvalidErrorHeader(
                nats_proto::HeaderError::InvalidValue,
            ));
        }
        headers
            .insert(ERROR_HEADER, description)
            .and_then(|()| headers.insert(ERROR_CODE_HEADER, code.to_string()))
            .map_err(ServiceError::InvalidErrorHeader)?;
        self.send(Some(headers), body, Some(format!("{code}:{description}")))
            .await
    }

    async fn send(
        &self,
        headers: Option<HeaderMap>,
        payload: Bytes,
        error: Option<String>,
    ) -> Result<(), ServiceError> {
        let Some(reply) = self.message.reply.as_ref() else {
            self.record(Some(error.unwrap_or_else(|| "no reply subject".into())));
            return Err(ServiceError::NoReplySubject);
        };
        self.record(error);
        let sent = match headers {
            Some(h) => self.client.publish_with_headers(reply, h, payload).await,
            None => self.client.publish(reply, payload).await,
        };
        sent.map_err(|e| {
            self.endpoint.counters.record_error(format!("500:{e}"));
            ServiceError::Publish(e)
        })
    }

    /// Records the request once, with its processing time so far.
    fn record(&self, error: Option<String>) {
        if !self.recorded.swap(true, Ordering::AcqRel) {
            self.endpoint.counters.record(self.start.elapsed(), error);
        } else if let Some(error) = error {
            self.endpoint.counters.record_error(error);
        }
    }
}

impl Drop for Request {
    fn drop(&mut self) {
        self.record(None);
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("endpoint", &self.endpoint.name)
            .field("subject", &self.message.subject)
            .field("reply", &self.message.reply)
            .field("payload_len", &self.message.payload.len())
            .finish_non_exhaustive()
    }
}
