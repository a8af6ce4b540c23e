//! Request/reply: [`Client::request`] and its variants, over the one inbox subscription of the
//! request multiplexer.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use nats_proto::{AsSubject, HeaderMap};

use super::Client;
use crate::error::{PublishError, RequestError, SubscribeError};
use crate::message::Message;
use crate::request::Request;

impl Client {
    /// Sends a request and waits for the first reply, within the default request timeout
    /// (10 s unless set with [`ConnectOptions::request_timeout`](crate::ConnectOptions::request_timeout)).
    ///
    /// Replies come through one shared inbox subscription. A request in flight during a
    /// reconnect keeps waiting (D7); a request made while disconnected is buffered (R80).
    /// Dropping the future forgets the request (a late reply is ignored).
    ///
    /// # Errors
    ///
    /// [`RequestError::NoResponders`] when nobody listens, [`RequestError::TimedOut`],
    /// [`RequestError::Publish`] for a bad subject or payload, `ConnectionReset`, `Closed`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::RequestError> {
    /// let reply = client.request("svc.time", "".into()).await?;
    /// println!("{:?}", reply.payload);
    /// # Ok(()) }
    /// ```
    pub async fn request(
        &self,
        subject: impl AsSubject,
        payload: Bytes,
    ) -> Result<Message, RequestError> {
        self.send_request(subject, Request::new().payload(payload))
            .await
    }

    /// [`request`](Client::request) with its own timeout (`Duration::MAX`: none).
    ///
    /// # Errors
    ///
    /// As [`request`](Client::request).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::RequestError> {
    /// use std::time::Duration;
    /// let reply = client.request_with_timeout("svc", "ping".into(), Duration::from_millis(500)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn request_with_timeout(
        &self,
        subject: impl AsSubject,
        payload: Bytes,
        timeout: Duration,
    ) -> Result<Message, RequestError> {
        self.send_request(subject, Request::new().payload(payload).timeout(timeout))
            .await
    }

    /// [`request`](Client::request) with headers.
    ///
    /// # Errors
    ///
    /// As [`request`](Client::request).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::RequestError> {
    /// let reply = client.request_with_headers("svc", nats_client::HeaderMap::new(), "".into()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn request_with_headers(
        &self,
        subject: impl AsSubject,
        headers: HeaderMap,
        payload: Bytes,
    ) -> Result<Message, RequestError> {
        self.send_request(subject, Request::new().payload(payload).headers(headers))
            .await
    }

    /// Sends a [`Request`] (payload, headers and timeout together) and waits for the first
    /// reply.
    ///
    /// # Errors
    ///
    /// As [`request`](Client::request).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::RequestError> {
    /// use std::time::Duration;
    /// use nats_client::{HeaderMap, Request};
    /// let request = Request::new()
    ///     .payload("ping".into())
    ///     .headers(HeaderMap::new())
    ///     .timeout(Duration::from_secs(1));
    /// let reply = client.send_request("svc.echo", request).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_request(
        &self,
        subject: impl AsSubject,
        request: Request,
    ) -> Result<Message, RequestError> {
        let subject = subject
            .as_subject()
            .map_err(|e| RequestError::Publish(PublishError::InvalidSubject(e)))?;
        if self.is_closed() {
            return Err(RequestError::Closed);
        }
        let shared = self.shared();
        let timeout = request.timeout.unwrap_or(shared.options.request_timeout);
        let mux = Arc::clone(&shared.requests);
        mux.sid
            .get_or_try_init(|| async {
                self.register(&mux.wildcard(), None, true, None)
                    .map(|state| state.sid)
            })
            .await
            .map_err(|e| match e {
                SubscribeError::Closed => RequestError::Closed,
                other => RequestError::Subscribe(other),
            })?;
        // The deadline is enforced by the multiplexer's sweeper, not a timer per request.
        let (reply, rx, _pending) = mux.register(timeout);
        self.publish_frame(
            subject,
            Some(&reply),
            request.headers.as_ref(),
            &request.payload,
        )
        .await?;
        match rx.await {
            Ok(Ok(msg)) if msg.is_no_responders() => Err(RequestError::NoResponders),
            Ok(Ok(msg)) => Ok(msg),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(RequestError::Closed),
        }
    }
}
