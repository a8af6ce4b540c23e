//! [`ServiceBuilder`]: a service's configuration (name, version, description, metadata, queue
//! group, stats handler), checked when it starts.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::Value;

use super::error::ServiceError;
use super::id::new_id;
use super::responder;
use super::schema::{EndpointStats, Metadata};
use super::state::{Config, ServiceState, StatsHandler};
use super::time::rfc3339;
use super::validate::{is_semver, is_valid_name};
use super::Service;
use crate::client::Client;

/// The queue group of every endpoint unless configured otherwise (ADR-32).
pub const DEFAULT_QUEUE_GROUP: &str = "q";

/// Configures a service; [`start`](ServiceBuilder::start) checks it and starts it on a client.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::service::ServiceError> {
/// use nats_client::service::Service;
/// let service = Service::builder("inventory", "2.1.0")
///     .description("stock levels")
///     .metadata([("team", "warehouse")])
///     .queue_group("inventory")
///     .start(&client)
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "a service only runs once start() is awaited"]
pub struct ServiceBuilder {
    name: String,
    version: String,
    description: String,
    metadata: Metadata,
    queue_group: String,
    stats_handler: Option<StatsHandler>,
}

impl ServiceBuilder {
    pub(crate) fn new(name: &str, version: &str) -> Self {
        ServiceBuilder {
            name: name.to_string(),
            version: version.to_string(),
            description: String::new(),
            metadata: Metadata::new(),
            queue_group: DEFAULT_QUEUE_GROUP.to_string(),
            stats_handler: None,
        }
    }

    /// A human-readable description, shown by `$SRV.INFO`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::service::ServiceError> {
    /// let s = nats_client::service::Service::builder("a", "1.0.0").description("adds").start(&client).await?;
    /// # Ok(()) }
    /// ```
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Metadata shown by every discovery response (added to what was set before).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::service::ServiceError> {
    /// let s = nats_client::service::Service::builder("a", "1.0.0")
    ///     .metadata([("region", "eu"), ("tier", "gold")])
    ///     .start(&client)
    ///     .await?;
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

    /// The default queue group of the service's endpoints (default `"q"`): instances with the
    /// same queue group share the requests, one instance per request.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::service::ServiceError> {
    /// let s = nats_client::service::Service::builder("a", "1.0.0").queue_group("a-workers").start(&client).await?;
    /// # Ok(()) }
    /// ```
    pub fn queue_group(mut self, queue_group: impl Into<String>) -> Self {
        self.queue_group = queue_group.into();
        self
    }

    /// A handler whose JSON value becomes each endpoint's `data` in stats responses; it gets
    /// the endpoint's counters. Called on the discovery task: keep it quick. A panic in it
    /// leaves `data` empty.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::service::ServiceError> {
    /// let s = nats_client::service::Service::builder("a", "1.0.0")
    ///     .stats_handler(|endpoint| serde_json::json!({ "endpoint": endpoint.name, "cache_hits": 7 }))
    ///     .start(&client)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn stats_handler<F>(mut self, handler: F) -> Self
    where
        F: Fn(&EndpointStats) -> Value + Send + Sync + 'static,
    {
        self.stats_handler = Some(Arc::new(handler));
        self
    }

    /// Checks the configuration, gives the instance a new id and subscribes the discovery
    /// subjects. Endpoints are added afterwards ([`Service::endpoint`], [`Service::group`]).
    /// The subscriptions are the client's: re-sent at every reconnect. To be sure the server
    /// has them before another connection asks, `client.flush()`.
    ///
    /// # Errors
    ///
    /// [`ServiceError::InvalidName`], [`ServiceError::InvalidVersion`],
    /// [`ServiceError::InvalidQueueGroup`], [`ServiceError::Subscribe`] (e.g. the client is
    /// closed or draining).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::service::ServiceError> {
    /// let service = nats_client::service::Service::builder("adder", "1.0.0").start(&client).await?;
    /// println!("instance {}", service.id());
    /// # Ok(()) }
    /// ```
    pub async fn start(self, client: &Client) -> Result<Service, ServiceError> {
        if !is_valid_name(&self.name) {
            return Err(ServiceError::InvalidName { name: self.name });
        }
        if !is_semver(&self.version) {
            return Err(ServiceError::InvalidVersion {
                version: self.version,
            });
        }
        nats_proto::validate_queue_group(&self.queue_group).map_err(|source| {
            ServiceError::InvalidQueueGroup {
                queue_group: self.queue_group.clone(),
                source,
            }
        })?;
        let config = Config {
            name: self.name,
            version: self.version,
            description: self.description,
            metadata: self.metadata,
            queue_group: self.queue_group,
            stats_handler: self.stats_handler,
        };
        let state = Arc::new(ServiceState::new(
            client.clone(),
            config,
            new_id(),
            rfc3339(SystemTime::now()),
        ));
        responder::start(&state).await?;
        tracing::debug!(service = %state.config.name, id = %state.id, "service started");
        Ok(Service::from_state(state))
    }
}

impl fmt::Debug for ServiceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceBuilder")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("queue_group", &self.queue_group)
            .finish_non_exhaustive()
    }
}
