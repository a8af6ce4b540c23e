//! The service framework's errors: [`ServiceError`] for running a service, [`DiscoveryError`]
//! for asking services about themselves, [`SchemaError`] for a discovery response that is not
//! the ADR-32 JSON.

use nats_proto::{HeaderError, SubjectError};

use crate::error::{PublishError, SubscribeError};

/// Why starting a service, adding an endpoint or answering a request failed.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(client: nats_client::Client) {
/// use nats_client::service::{Service, ServiceError};
/// match Service::builder("my service", "1.0.0").start(&client).await {
///     Err(ServiceError::InvalidName { name }) => eprintln!("{name:?} is not a service name"),
///     Err(other) => eprintln!("{other}"),
///     Ok(service) => println!("started {}", service.id()),
/// }
/// # }
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// The service name is empty or has a character outside `A-Z a-z 0-9 - _`.
    #[error("invalid service name {name:?}: use only A-Z, a-z, 0-9, '-' and '_'")]
    InvalidName {
        /// The name given.
        name: String,
    },
    /// The version is not a semantic version (semver 2.0, e.g. `1.2.3-rc.1+build.5`).
    #[error("invalid service version {version:?}: not a semantic version (e.g. 1.2.3)")]
    InvalidVersion {
        /// The version given.
        version: String,
    },
    /// The endpoint name is empty or has a character outside `A-Z a-z 0-9 - _`.
    #[error("invalid endpoint name {name:?}: use only A-Z, a-z, 0-9, '-' and '_'")]
    InvalidEndpointName {
        /// The name given.
        name: String,
    },
    /// An endpoint with this name already exists on the service.
    #[error("the service already has an endpoint named {name:?}")]
    DuplicateEndpoint {
        /// The name given.
        name: String,
    },
    /// A queue group name (of the service, a group or an endpoint) is not valid.
    #[error("invalid queue group {queue_group:?}: {source}")]
    InvalidQueueGroup {
        /// The queue group given.
        queue_group: String,
        /// What is wrong with it.
        #[source]
        source: SubjectError,
    },
    /// Subscribing (an endpoint or a `$SRV` discovery subject) failed, e.g. an invalid
    /// endpoint subject or a closed client.
    #[error("subscribing to {subject:?} failed: {source}")]
    Subscribe {
        /// The subject.
        subject: String,
        /// The client's error.
        #[source]
        source: SubscribeError,
    },
    /// Publishing a response failed.
    #[error("publishing the response failed: {0}")]
    Publish(#[source] PublishError),
    /// The request has no reply subject, so there is nobody to respond to.
    #[error("the request has no reply subject")]
    NoReplySubject,
    /// An error description or code is not a valid header value (e.g. it has a newline), or
    /// the description is empty.
    #[error("invalid service error header: {0}")]
    InvalidErrorHeader(#[source] HeaderError),
    /// The service was stopped.
    #[error("the service is stopped")]
    Stopped,
}

/// Why a discovery request (`$SRV.PING`, `$SRV.INFO`, `$SRV.STATS`) failed.
///
/// No answer at all is not an error: it is an empty list.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(client: nats_client::Client) {
/// use nats_client::service::{Discovery, DiscoveryError};
/// match Discovery::new(&client).ping(Some("adder"), None).await {
///     Ok(found) => println!("{} instances", found.len()),
///     Err(DiscoveryError::InvalidName { name }) => eprintln!("bad name {name:?}"),
///     Err(other) => eprintln!("{other}"),
/// }
/// # }
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// A service name or id to ask for is empty or not a single subject token.
    #[error("invalid service name or id {name:?}")]
    InvalidName {
        /// The name or id given.
        name: String,
    },
    /// Subscribing to the reply inbox failed.
    #[error("subscribing to the reply inbox failed: {0}")]
    Subscribe(#[source] SubscribeError),
    /// Publishing the discovery request failed.
    #[error("publishing the discovery request failed: {0}")]
    Publish(#[source] PublishError),
}

/// Why a discovery response could not be read.
///
/// # Examples
///
/// ```
/// use nats_client::service::{PingResponse, SchemaError};
/// assert!(matches!(PingResponse::from_json(b"nope"), Err(SchemaError::Json(_))));
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// The payload is not JSON.
    #[error("not JSON: {0}")]
    Json(String),
    /// The JSON is not an object, or a field has the wrong type.
    #[error("field {field:?}: {reason}")]
    Field {
        /// The field (dotted path for nested ones).
        field: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The `type` field names another response (e.g. an info response where a ping was
    /// expected).
    #[error("unexpected response type {found:?}, expected {expected:?}")]
    WrongType {
        /// The `type` found.
        found: String,
        /// The `type` expected.
        expected: &'static str,
    },
}
