//! The discovery subjects: `$SRV.<VERB>`, `$SRV.<VERB>.<name>`, `$SRV.<VERB>.<name>.<id>`.

use std::fmt;

/// The root of every discovery subject.
pub const API_PREFIX: &str = "$SRV";

/// A discovery request kind.
///
/// # Examples
///
/// ```
/// use nats_client::service::{control_subject, Verb};
/// assert_eq!(control_subject(Verb::Ping, None, None), "$SRV.PING");
/// assert_eq!(control_subject(Verb::Info, Some("adder"), None), "$SRV.INFO.adder");
/// assert_eq!(control_subject(Verb::Stats, Some("adder"), Some("ID1")), "$SRV.STATS.adder.ID1");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Verb {
    /// `PING`: who is there.
    Ping,
    /// `INFO`: description and endpoints.
    Info,
    /// `STATS`: counters per endpoint.
    Stats,
}

impl Verb {
    /// Every verb a service answers.
    pub(crate) const ALL: [Verb; 3] = [Verb::Ping, Verb::Info, Verb::Stats];

    /// The verb as it stands in the subject.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(nats_client::service::Verb::Stats.as_str(), "STATS");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Ping => "PING",
            Verb::Info => "INFO",
            Verb::Stats => "STATS",
        }
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The discovery subject for `verb`: all services, the instances of `name`, or the one
/// instance `name`/`id`. An `id` without a `name` is ignored (the subject needs both).
///
/// # Examples
///
/// ```
/// use nats_client::service::{control_subject, Verb};
/// assert_eq!(control_subject(Verb::Ping, Some("adder"), Some("X")), "$SRV.PING.adder.X");
/// ```
pub fn control_subject(verb: Verb, name: Option<&str>, id: Option<&str>) -> String {
    match (name, id) {
        (None, _) => format!("{API_PREFIX}.{verb}"),
        (Some(name), None) => format!("{API_PREFIX}.{verb}.{name}"),
        (Some(name), Some(id)) => format!("{API_PREFIX}.{verb}.{name}.{id}"),
    }
}
