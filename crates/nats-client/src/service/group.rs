//! [`Group`]: endpoints under a common subject prefix, with an optional queue group of their
//! own; groups nest.

use std::fmt;

use super::endpoint::EndpointBuilder;
use super::Service;

/// A subject prefix for endpoints: `service.group("math").endpoint("add")` listens on
/// `math.add`. Groups nest (`math.v2.add`) and may set a queue group for their endpoints
/// (an endpoint's own queue group still wins). Cheap to clone.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(service: nats_client::service::Service) -> Result<(), nats_client::service::ServiceError> {
/// let v2 = service.group("math").group("v2").queue_group("math-v2");
/// let add = v2.endpoint("add").add().await?;
/// assert_eq!((add.subject(), add.queue_group()), ("math.v2.add", "math-v2"));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Group {
    service: Service,
    prefix: String,
    queue_group: Option<String>,
}

impl Group {
    pub(crate) fn new(service: Service, prefix: &str) -> Group {
        Group {
            service,
            prefix: prefix.to_string(),
            queue_group: None,
        }
    }

    /// A group inside this one: its prefix is `<this prefix>.<prefix>`; it inherits this
    /// group's queue group.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(service: nats_client::service::Service) {
    /// assert_eq!(service.group("a").group("b").prefix(), "a.b");
    /// # }
    /// ```
    #[must_use]
    pub fn group(&self, prefix: &str) -> Group {
        Group {
            service: self.service.clone(),
            prefix: format!("{}.{prefix}", self.prefix),
            queue_group: self.queue_group.clone(),
        }
    }

    /// The queue group for this group's endpoints (and its sub-groups').
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(service: nats_client::service::Service) {
    /// let g = service.group("jobs").queue_group("job-workers");
    /// assert_eq!(g.queue_group_name(), Some("job-workers"));
    /// # }
    /// ```
    #[must_use]
    pub fn queue_group(mut self, queue_group: impl Into<String>) -> Group {
        self.queue_group = Some(queue_group.into());
        self
    }

    /// The subject prefix.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(service: nats_client::service::Service) {
    /// assert_eq!(service.group("math").prefix(), "math");
    /// # }
    /// ```
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The group's queue group, if it sets one.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(service: nats_client::service::Service) {
    /// assert_eq!(service.group("math").queue_group_name(), None);
    /// # }
    /// ```
    pub fn queue_group_name(&self) -> Option<&str> {
        self.queue_group.as_deref()
    }

    /// An endpoint in this group: subject `<prefix>.<name>` unless set, queue group this
    /// group's unless set.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(service: nats_client::service::Service) -> Result<(), nats_client::service::ServiceError> {
    /// let e = service.group("math").endpoint("mul").subject("multiply").add().await?;
    /// assert_eq!(e.subject(), "math.multiply");
    /// # Ok(()) }
    /// ```
    pub fn endpoint(&self, name: &str) -> EndpointBuilder {
        EndpointBuilder::new(
            self.service.clone(),
            name,
            Some(self.prefix.clone()),
            self.queue_group.clone(),
        )
    }
}

impl fmt::Debug for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Group")
            .field("prefix", &self.prefix)
            .field("queue_group", &self.queue_group)
            .finish_non_exhaustive()
    }
}
