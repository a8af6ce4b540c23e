//! The NATS service API (ADR-32, nats.go's `micro`): services that any NATS client can find
//! and monitor through `$SRV` discovery subjects, built on this crate's public API only
//! (queue subscriptions, message handlers, publish with headers).
//!
//! A [`Service`] has a name, a semantic version, a unique instance id, a description and
//! metadata. Its endpoints are queue subscriptions (queue group `"q"` unless configured), so
//! instances of the same service share the requests. Each instance answers
//! `$SRV.PING|INFO|STATS`, `$SRV.<VERB>.<name>` and `$SRV.<VERB>.<name>.<id>` with the
//! `io.nats.micro.v1` JSON ([`PingResponse`], [`Info`], [`Stats`]); [`Discovery`] asks them.
//! Everything is an ordinary subscription, so a service keeps serving across reconnects and
//! cluster fail-overs.
//!
//! ```no_run
//! use futures_util::StreamExt;
//! use nats_client::service::{Discovery, Service};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let client = nats_client::connect("nats://127.0.0.1:4222").await?;
//! let service = Service::builder("calc", "1.0.0")
//!     .description("integer arithmetic")
//!     .start(&client)
//!     .await?;
//! let math = service.group("calc");
//!
//! // A stream of requests ...
//! let mut add = math.endpoint("add").add().await?;
//! tokio::spawn(async move {
//!     while let Some(request) = add.next().await {
//!         let _ = request.respond("3".into()).await;
//!     }
//! });
//! // ... or a handler.
//! math.endpoint("div")
//!     .handler(|request| async move {
//!         let _ = request.error(400, "division by zero", "".into()).await;
//!     })
//!     .await?;
//!
//! let found = Discovery::new(&client).ping(Some("calc"), None).await?;
//! println!("{} instance(s), stats: {:?}", found.len(), service.stats());
//! service.stop().await;
//! # Ok(()) }
//! ```
//!
//! ## Layout
//!
//! - `builder`: [`ServiceBuilder`], the configuration and `start`; `validate`: names and
//!   semantic versions; `id`: instance ids.
//! - `endpoint`: [`EndpointBuilder`], [`Endpoint`] (a stream of requests) and the handler
//!   form; `group`: [`Group`]; `request`: [`Request`] and its answers.
//! - `stats`: per-endpoint counters; `state`: what the handle, pumps and responder share.
//! - `responder`: the `$SRV` subscriptions and their answers; `schema`: the discovery JSON;
//!   `subject`: the discovery subjects; `discovery`: [`Discovery`], the asking side.
//! - `error`, `time` (RFC 3339).

mod builder;
mod discovery;
mod endpoint;
mod error;
mod group;
mod id;
mod request;
mod responder;
mod schema;
mod state;
mod stats;
mod subject;
mod time;
mod validate;

use std::fmt;
use std::sync::Arc;

pub use builder::{ServiceBuilder, DEFAULT_QUEUE_GROUP};
pub use discovery::{Discovery, DEFAULT_DISCOVERY_STALL, DEFAULT_DISCOVERY_TIMEOUT};
pub use endpoint::{Endpoint, EndpointBuilder};
pub use error::{DiscoveryError, SchemaError, ServiceError};
pub use group::Group;
pub use request::{Request, ERROR_CODE_HEADER, ERROR_HEADER};
pub use schema::{
    EndpointInfo, EndpointStats, Info, Metadata, PingResponse, Stats, INFO_RESPONSE_TYPE,
    PING_RESPONSE_TYPE, STATS_RESPONSE_TYPE,
};
pub use subject::{control_subject, Verb, API_PREFIX};

use state::{Mode, ServiceState};

/// A running service instance. Cheap to clone; every clone is the same instance.
///
/// - [`stop`](Service::stop) drains the endpoints (requests already received are still
///   handled), then unsubscribes discovery; idempotent.
/// - **Dropping the last handle** stops the service at once, without draining: endpoint
///   streams end, discovery stops answering. ([`Endpoint`] streams and handler endpoints do
///   not keep the service alive.)
/// - The service also ends when its client closes.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::service::ServiceError> {
/// use nats_client::service::Service;
/// let service = Service::builder("echo", "0.1.0").start(&client).await?;
/// service
///     .endpoint("echo")
///     .handler(|r| async move { let _ = r.respond(r.payload().clone()).await; })
///     .await?;
/// println!("{} ({})", service.name(), service.id());
/// service.stop().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Service {
    handle: Arc<Handle>,
}

/// Stops the service when the last [`Service`] clone goes.
struct Handle {
    state: Arc<ServiceState>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        if self.state.set_mode(Mode::Aborted) {
            // Dropping the subscribers unsubscribes them.
            drop(self.state.take_discovery());
        }
    }
}

impl Service {
    /// A builder for a service called `name` (`A-Z a-z 0-9 - _`) at `version` (semver 2.0),
    /// checked by [`start`](ServiceBuilder::start).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::service::ServiceError> {
    /// let service = nats_client::service::Service::builder("adder", "1.0.0").start(&client).await?;
    /// # Ok(()) }
    /// ```
    pub fn builder(name: &str, version: &str) -> ServiceBuilder {
        ServiceBuilder::new(name, version)
    }

    fn from_state(state: Arc<ServiceState>) -> Service {
        Service {
            handle: Arc::new(Handle { state }),
        }
    }

    pub(crate) fn state(&self) -> &Arc<ServiceState> {
        &self.handle.state
    }

    /// The instance id (22 base62 characters, unique per instance).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(service: nats_client::service::Service) {
    /// assert_eq!(service.id().len(), 22);
    /// # }
    /// ```
    pub fn id(&self) -> &str {
        &self.state().id
    }

    /// The service name.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(service: nats_client::service::Service) {
    /// println!("{}", service.name());
    /// # }
    /// ```
    pub fn name(&self) -> &str {
        &self.state().config.name
    }

    /// The service version.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(service: nats_client::service::Service) {
    /// println!("{}", service.version());
    /// # }
    /// ```
    pub fn version(&self) -> &str {
        &self.state().config.version
    }

    /// An endpoint on this service; subject = name unless set.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(service: nats_client::service::Service) -> Result<(), nats_client::service::ServiceError> {
    /// let e = service.endpoint("status").add().await?;
    /// assert_eq!(e.subject(), "status");
    /// # Ok(()) }
    /// ```
    pub fn endpoint(&self, name: &str) -> EndpointBuilder {
        EndpointBuilder::new(self.clone(), name, None, None)
    }

    /// A group of endpoints under the subject prefix `prefix`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(service: nats_client::service::Service) -> Result<(), nats_client::service::ServiceError> {
    /// let e = service.group("orders").endpoint("new").add().await?;
    /// assert_eq!(e.subject(), "orders.new");
    /// # Ok(()) }
    /// ```
    pub fn group(&self, prefix: &str) -> Group {
        Group::new(self.clone(), prefix)
    }

    /// What `$SRV.PING` answers.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(service: nats_client::service::Service) {
    /// assert_eq!(service.ping().id, service.id());
    /// # }
    /// ```
    pub fn ping(&self) -> PingResponse {
        self.state().ping()
    }

    /// What `$SRV.INFO` answers: description, metadata and endpoints.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(service: nats_client::service::Service) {
    /// println!("{} endpoints", service.info().endpoints.len());
    /// # }
    /// ```
    pub fn info(&self) -> Info {
        self.state().info()
    }

    /// What `$SRV.STATS` answers: the counters of every endpoint.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(service: nats_client::service::Service) {
    /// let total: u64 = service.stats().endpoints.iter().map(|e| e.num_requests).sum();
    /// # }
    /// ```
    pub fn stats(&self) -> Stats {
        self.state().stats()
    }

    /// Sets every endpoint's counters back to zero (the start time stays).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(service: nats_client::service::Service) {
    /// service.reset();
    /// assert!(service.stats().endpoints.iter().all(|e| e.num_requests == 0));
    /// # }
    /// ```
    pub fn reset(&self) {
        self.state().reset();
    }

    /// Stops the service: drains every endpoint subscription (the server sends no more
    /// requests; those already received are still handed out, and handler endpoints finish
    /// them before this returns), then unsubscribes the discovery subjects. Idempotent; a
    /// second call waits for the same stop. Adding endpoints afterwards fails with
    /// [`ServiceError::Stopped`].
    ///
    /// **Not from inside an endpoint handler**: the stop waits for the handlers.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(service: nats_client::service::Service) {
    /// service.stop().await;
    /// assert!(service.is_stopped());
    /// # }
    /// ```
    pub async fn stop(&self) {
        let state = self.state();
        state.set_mode(Mode::Draining);
        state.wait_for_pumps().await;
        for mut sub in state.take_discovery() {
            // Only fails on a closed client, where there is nothing left to unsubscribe.
            let _ = sub.unsubscribe().await;
        }
        tracing::debug!(service = %state.config.name, id = %state.id, "service stopped");
    }

    /// Whether [`stop`](Service::stop) was called (or the service is otherwise ending).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(service: nats_client::service::Service) {
    /// assert!(!service.is_stopped());
    /// # }
    /// ```
    pub fn is_stopped(&self) -> bool {
        self.state().mode() != Mode::Running
    }

    /// The client the service runs on.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(service: nats_client::service::Service) -> Result<(), nats_client::FlushError> {
    /// service.client().flush().await?; // the server knows every subscription
    /// # Ok(()) }
    /// ```
    pub fn client(&self) -> &crate::Client {
        &self.state().client
    }
}

impl fmt::Debug for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self.state(), f)
    }
}
