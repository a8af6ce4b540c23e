//! Subscribing: [`Client::subscribe`] and [`Client::queue_subscribe`]. A subscription is a
//! record in the write queue (the driver's sid table learns it before any later byte reaches
//! the socket) plus, while connected, its SUB.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::Client;
use crate::error::SubscribeError;
use crate::events::Status;
use crate::message::Message;
use crate::subscriber::Subscriber;
use crate::subscription::{Handler, SubState};

impl Client {
    /// Subscribes to `subject` (wildcards `*` and `>` allowed).
    ///
    /// While disconnected the subscription is registered and sent at reconnect (R55).
    ///
    /// # Errors
    ///
    /// [`SubscribeError::InvalidSubject`], [`SubscribeError::ControlLineTooLong`], `Draining`,
    /// `Closed`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::SubscribeError> {
    /// let sub = client.subscribe("orders.>").await?;
    /// # Ok(()) }
    /// ```
    pub async fn subscribe(&self, subject: impl AsRef<str>) -> Result<Subscriber, SubscribeError> {
        self.subscribe_inner(subject.as_ref(), None)
    }

    /// Subscribes as a member of a queue group: each message goes to one member.
    ///
    /// # Errors
    ///
    /// As [`subscribe`](Client::subscribe), plus [`SubscribeError::InvalidQueueGroup`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::SubscribeError> {
    /// let worker = client.queue_subscribe("work", "workers").await?;
    /// # Ok(()) }
    /// ```
    pub async fn queue_subscribe(
        &self,
        subject: impl AsRef<str>,
        queue_group: impl AsRef<str>,
    ) -> Result<Subscriber, SubscribeError> {
        nats_proto::validate_queue_group(queue_group.as_ref())
            .map_err(SubscribeError::InvalidQueueGroup)?;
        self.subscribe_inner(subject.as_ref(), Some(queue_group.as_ref()))
    }

    /// Subscribes to `subject` with a handler that the connection calls for each message, in
    /// order, as it reads them — nats.go's `Subscribe(subject, callback)`. No queue and no task
    /// hop sit between the socket and the handler, so it suits short, non-blocking work (match
    /// a reply, complete a future, count); anything slow belongs in a task of its own.
    ///
    /// The handler must not block: while it runs, the connection reads nothing else. A panic in
    /// it is caught and reported as [`Event::CallbackPanicked`](crate::Event::CallbackPanicked)
    /// (callback [`CallbackKind::MessageHandler`](crate::CallbackKind::MessageHandler)); the
    /// subscription goes on. Pending limits do not apply (nothing is queued). The returned
    /// [`Subscriber`] yields no messages; keep it to unsubscribe or drain (dropping it
    /// unsubscribes). The subscription is re-sent at reconnect like any other.
    ///
    /// # Errors
    ///
    /// As [`subscribe`](Client::subscribe).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::SubscribeError> {
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::sync::Arc;
    ///
    /// let seen = Arc::new(AtomicU64::new(0));
    /// let counter = Arc::clone(&seen);
    /// let _sub = client
    ///     .subscribe_with_handler("metrics.>", move |_msg| {
    ///         counter.fetch_add(1, Ordering::Relaxed);
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn subscribe_with_handler(
        &self,
        subject: impl AsRef<str>,
        handler: impl Fn(Message) + Send + Sync + 'static,
    ) -> Result<Subscriber, SubscribeError> {
        let subject = subject.as_ref();
        nats_proto::validate_subscribe_subject(subject).map_err(SubscribeError::InvalidSubject)?;
        let state = self.register(subject, None, false, Some(Box::new(handler)))?;
        Ok(Subscriber::new(state, self.guard()))
    }

    fn subscribe_inner(
        &self,
        subject: &str,
        queue_group: Option<&str>,
    ) -> Result<Subscriber, SubscribeError> {
        nats_proto::validate_subscribe_subject(subject).map_err(SubscribeError::InvalidSubject)?;
        let state = self.register(subject, queue_group, false, None)?;
        Ok(Subscriber::new(state, self.guard()))
    }

    /// Registers a subscription with the connection.
    pub(crate) fn register(
        &self,
        subject: &str,
        queue_group: Option<&str>,
        is_mux: bool,
        handler: Option<Handler>,
    ) -> Result<Arc<SubState>, SubscribeError> {
        match self.shared().view.status() {
            Status::Closed => return Err(SubscribeError::Closed),
            Status::Draining => return Err(SubscribeError::Draining),
            _ => {}
        }
        // "SUB <subject> [<queue>] <sid>"
        let line = 4 + subject.len() + queue_group.map_or(0, |q| q.len() + 1) + 1 + 20;
        let limit = self.shared().options.max_control_line;
        if line > limit {
            return Err(SubscribeError::ControlLineTooLong { len: line, limit });
        }
        let opts = &self.shared().options;
        let sid = self.shared().next_sid.fetch_add(1, Ordering::Relaxed);
        let state = Arc::new(
            SubState::new(
                sid,
                subject.to_string(),
                queue_group.map(str::to_string),
                is_mux,
                (opts.pending_msgs, opts.pending_bytes),
                Arc::clone(&self.shared().driver),
            )
            .with_handler(handler),
        );
        let registered = self.shared().queue.subscribe(Arc::clone(&state), |b| {
            nats_proto::encode_sub(b, subject, queue_group, sid);
        });
        if !registered {
            return Err(SubscribeError::Closed);
        }
        Ok(state)
    }
}
