//! Endpoints: [`EndpointBuilder`] (name, subject, queue group, metadata) and the two ways to
//! serve one: [`Endpoint`], a `Stream` of [`Request`]s, or a handler the service calls.
//!
//! Each endpoint is an ordinary queue subscription (re-sent by the client at every
//! reconnect) owned by a small pump task, which is what lets `stop()` drain it while the
//! requests already received are still handed out.

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use tokio::sync::{mpsc, watch};

use super::error::ServiceError;
use super::request::Request;
use super::schema::Metadata;
use super::state::{EndpointEntry, Mode, Phase, ServiceState};
use super::stats::Counters;
use super::validate::is_valid_name;
use super::Service;
use crate::message::Message;
use crate::subscriber::Subscriber;

/// Configures one endpoint; finish with [`add`](EndpointBuilder::add) (a stream of requests)
/// or [`handler`](EndpointBuilder::handler).
///
/// The subject defaults to the endpoint name, prefixed by the group's prefix when made from a
/// [`Group`](super::Group); the queue group defaults to the group's, then the service's
/// (`"q"` unless configured).
///
/// # Examples
///
/// ```no_run
/// # async fn demo(service: nats_client::service::Service) -> Result<(), nats_client::service::ServiceError> {
/// let endpoint = service
///     .endpoint("add")
///     .subject("math.add")
///     .queue_group("adders")
///     .metadata([("unit", "integers")])
///     .add()
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "an endpoint is only added by add() or handler()"]
pub struct EndpointBuilder {
    service: Service,
    name: String,
    subject: Option<String>,
    prefix: Option<String>,
    queue_group: Option<String>,
    group_queue_group: Option<String>,
    metadata: Metadata,
}

impl EndpointBuilder {
    pub(crate) fn new(
        service: Service,
        name: &str,
        prefix: Option<String>,
        group_queue_group: Option<String>,
    ) -> Self {
        EndpointBuilder {
            service,
            name: name.to_string(),
            subject: None,
            prefix,
            queue_group: None,
            group_queue_group,
            metadata: Metadata::new(),
        }
    }

    /// The subject to listen on (wildcards allowed); in a group, after the group's prefix.
    /// Default: the endpoint name.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(service: nats_client::service::Service) -> Result<(), nats_client::service::ServiceError> {
    /// let orders = service.endpoint("orders").subject("orders.*").add().await?;
    /// # Ok(()) }
    /// ```
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// The queue group, overriding the group's and the service's.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(service: nats_client::service::Service) -> Result<(), nats_client::service::ServiceError> {
    /// let e = service.endpoint("work").queue_group("workers").add().await?;
    /// assert_eq!(e.queue_group(), "workers");
    /// # Ok(()) }
    /// ```
    pub fn queue_group(mut self, queue_group: impl Into<String>) -> Self {
        self.queue_group = Some(queue_group.into());
        self
    }

    /// Metadata shown in the service's info (added to what was set before).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(service: nats_client::service::Service) -> Result<(), nats_client::service::ServiceError> {
    /// let e = service.endpoint("sum").metadata([("format", "json")]).add().await?;
    /// # Ok(()) }
    /// ```
    pub fn metadata<K, V>(mut self, metadata: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        self.metadata
            .extend(metadata.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Adds the endpoint and returns it as a stream of requests. Stopping the service drains
    /// it: the stream yields the requests already received, then ends. Dropping the stream
    /// removes the endpoint.
    ///
    /// # Errors
    ///
    /// [`ServiceError::InvalidEndpointName`], [`ServiceError::DuplicateEndpoint`],
    /// [`ServiceError::InvalidQueueGroup`], [`ServiceError::Subscribe`] (e.g. an invalid
    /// subject), [`ServiceError::Stopped`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(service: nats_client::service::Service) -> Result<(), nats_client::service::ServiceError> {
    /// use futures_util::StreamExt;
    /// let mut upper = service.endpoint("upper").add().await?;
    /// while let Some(request) = upper.next().await {
    ///     let text = String::from_utf8_lossy(request.payload()).to_uppercase();
    ///     request.respond(text.into()).await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn add(self) -> Result<Endpoint, ServiceError> {
        let state = Arc::clone(self.service.state());
        let (entry, sub) = self.subscribe().await?;
        // One request waits in the channel at most: the rest stay in the subscription, under
        // its pending limits.
        let (tx, rx) = mpsc::channel(1);
        let (phase_tx, phase_rx) = watch::channel(Phase::Running);
        state.add_waiter(phase_rx, Phase::Drained);
        tokio::spawn(forward(
            Arc::clone(&state),
            Arc::clone(&entry),
            sub,
            tx,
            phase_tx,
        ));
        Ok(Endpoint {
            rx,
            entry,
            client: state.client.clone(),
        })
    }

    /// Adds the endpoint with `handler`, called for each request, one at a time, in a task of
    /// its own (a panic in it is logged and costs only that request). Stopping the service
    /// drains the endpoint and waits until the requests already received are handled.
    ///
    /// **Do not await [`Service::stop`] inside the handler**: the stop waits for the handler.
    ///
    /// # Errors
    ///
    /// As [`add`](EndpointBuilder::add).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(service: nats_client::service::Service) -> Result<(), nats_client::service::ServiceError> {
    /// service
    ///     .endpoint("echo")
    ///     .handler(|request| async move {
    ///         let _ = request.respond(request.payload().clone()).await;
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn handler<F, Fut>(self, handler: F) -> Result<(), ServiceError>
    where
        F: Fn(Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let state = Arc::clone(self.service.state());
        let (entry, sub) = self.subscribe().await?;
        let (phase_tx, phase_rx) = watch::channel(Phase::Running);
        state.add_waiter(phase_rx, Phase::Finished);
        tokio::spawn(serve(state, entry, sub, handler, phase_tx));
        Ok(())
    }

    /// Validates, registers and subscribes.
    async fn subscribe(self) -> Result<(Arc<EndpointEntry>, Subscriber), ServiceError> {
        let state = self.service.state();
        if !is_valid_name(&self.name) {
            return Err(ServiceError::InvalidEndpointName { name: self.name });
        }
        let subject = self.subject.unwrap_or_else(|| self.name.clone());
        let subject = match self.prefix {
            Some(prefix) => format!("{prefix}.{subject}"),
            None => subject,
        };
        let queue_group = self
            .queue_group
            .or(self.group_queue_group)
            .unwrap_or_else(|| state.config.queue_group.clone());
        nats_proto::validate_queue_group(&queue_group).map_err(|source| {
            ServiceError::InvalidQueueGroup {
                queue_group: queue_group.clone(),
                source,
            }
        })?;
        if state.mode() != Mode::Running {
            return Err(ServiceError::Stopped);
        }
        let entry = Arc::new(EndpointEntry {
            name: self.name,
            subject,
            queue_group,
            metadata: self.metadata,
            counters: Counters::default(),
        });
        if !state.add_endpoint(Arc::clone(&entry)) {
            return Err(ServiceError::DuplicateEndpoint {
                name: entry.name.clone(),
            });
        }
        match state
            .client
            .queue_subscribe(&entry.subject, &entry.queue_group)
            .await
        {
            Ok(sub) => Ok((entry, sub)),
            Err(source) => {
                state.remove_endpoint(&entry);
                Err(ServiceError::Subscribe {
                    subject: entry.subject.clone(),
                    source,
                })
            }
        }
    }
}

impl fmt::Debug for EndpointBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EndpointBuilder")
            .field("name", &self.name)
            .field("subject", &self.subject)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// An endpoint served as a [`Stream`] of [`Request`]s (`use futures_util::StreamExt` for
/// `next()`).
///
/// The stream ends when the service stops (after the requests received before the stop),
/// when the service's last handle is dropped, or when the client closes. Dropping it
/// unsubscribes and removes the endpoint from the service.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(service: nats_client::service::Service) -> Result<(), nats_client::service::ServiceError> {
/// use futures_util::StreamExt;
/// let mut endpoint = service.endpoint("time").add().await?;
/// while let Some(request) = endpoint.next().await {
///     request.respond("12:00".into()).await?;
/// }
/// # Ok(()) }
/// ```
pub struct Endpoint {
    rx: mpsc::Receiver<Message>,
    entry: Arc<EndpointEntry>,
    client: crate::Client,
}

impl Endpoint {
    /// The endpoint name.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(service: nats_client::service::Service) -> Result<(), nats_client::service::ServiceError> {
    /// assert_eq!(service.endpoint("e").add().await?.name(), "e");
    /// # Ok(()) }
    /// ```
    pub fn name(&self) -> &str {
        &self.entry.name
    }

    /// The subject it listens on.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(service: nats_client::service::Service) -> Result<(), nats_client::service::ServiceError> {
    /// let e = service.group("math").endpoint("add").add().await?;
    /// assert_eq!(e.subject(), "math.add");
    /// # Ok(()) }
    /// ```
    pub fn subject(&self) -> &str {
        &self.entry.subject
    }

    /// The queue group it is subscribed with.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(service: nats_client::service::Service) -> Result<(), nats_client::service::ServiceError> {
    /// assert_eq!(service.endpoint("e").add().await?.queue_group(), "q");
    /// # Ok(()) }
    /// ```
    pub fn queue_group(&self) -> &str {
        &self.entry.queue_group
    }
}

impl Stream for Endpoint {
    type Item = Request;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Request>> {
        let this = &mut *self;
        this.rx
            .poll_recv(cx)
            .map(|msg| msg.map(|m| Request::new(m, Arc::clone(&this.entry), this.client.clone())))
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("name", &self.entry.name)
            .field("subject", &self.entry.subject)
            .field("queue_group", &self.entry.queue_group)
            .finish_non_exhaustive()
    }
}

/// The next message of `sub`.
async fn next(sub: &mut Subscriber) -> Option<Message> {
    poll_fn(|cx| Pin::new(&mut *sub).poll_next(cx)).await
}

/// What a pump does when the mode changes: drain (true: keep going) or stop now (false).
async fn on_stop(mode: Mode, sub: &mut Subscriber, phase: &watch::Sender<Phase>) -> bool {
    match mode {
        Mode::Running => true,
        Mode::Draining => {
            // Closed client: nothing in flight to wait for; the subscription ends anyway.
            let _ = sub.drain().await;
            phase.send_replace(Phase::Drained);
            true
        }
        Mode::Aborted => false,
    }
}

/// Hands the endpoint's messages to its [`Endpoint`] stream, one at a time.
async fn forward(
    state: Arc<ServiceState>,
    entry: Arc<EndpointEntry>,
    mut sub: Subscriber,
    tx: mpsc::Sender<Message>,
    phase: watch::Sender<Phase>,
) {
    let mut mode = state.watch_mode();
    // A stop that came before this task subscribed is seen on the first turn.
    mode.mark_changed();
    let mut draining = false;
    let mut pending: Option<Message> = None;
    loop {
        tokio::select! {
            biased;
            changed = mode.changed(), if !draining => {
                let now = if changed.is_ok() { *mode.borrow_and_update() } else { Mode::Aborted };
                if !on_stop(now, &mut sub, &phase).await {
                    break;
                }
                draining = now == Mode::Draining;
            }
            permit = tx.reserve(), if pending.is_some() => match (permit, pending.take()) {
                (Ok(permit), Some(msg)) => permit.send(msg),
                _ => {
                    // The Endpoint was dropped: the endpoint is gone.
                    state.remove_endpoint(&entry);
                    break;
                }
            },
            () = tx.closed(), if pending.is_none() => {
                state.remove_endpoint(&entry);
                break;
            }
            msg = next(&mut sub), if pending.is_none() => match msg {
                Some(msg) => pending = Some(msg),
                None => break,
            },
        }
    }
    phase.send_replace(Phase::Finished);
}

/// Calls the handler for each of the endpoint's messages, one at a time.
async fn serve<F, Fut>(
    state: Arc<ServiceState>,
    entry: Arc<EndpointEntry>,
    mut sub: Subscriber,
    handler: F,
    phase: watch::Sender<Phase>,
) where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut mode = state.watch_mode();
    // A stop that came before this task subscribed is seen on the first turn.
    mode.mark_changed();
    let mut draining = false;
    loop {
        tokio::select! {
            biased;
            changed = mode.changed(), if !draining => {
                let now = if changed.is_ok() { *mode.borrow_and_update() } else { Mode::Aborted };
                if !on_stop(now, &mut sub, &phase).await {
                    break;
                }
                draining = now == Mode::Draining;
            }
            msg = next(&mut sub) => match msg {
                Some(msg) => {
                    let request = Request::new(msg, Arc::clone(&entry), state.client.clone());
                    // A task per call: a panic stays in it (the request is recorded when it is
                    // dropped during the unwind) and counts as an error.
                    if let Err(e) = tokio::spawn(handler(request)).await {
                        if e.is_panic() {
                            tracing::error!(service = %state.config.name, endpoint = %entry.name,
                                "endpoint handler panicked");
                            entry.counters.record_error("500:handler panicked".into());
                        }
                    }
                }
                None => break,
            },
        }
    }
    phase.send_replace(Phase::Finished);
}
