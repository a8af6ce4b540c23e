//! [`Discovery`]: the asking side of `$SRV`. One request to a discovery subject, every
//! instance that hears it answers; the answers are gathered until none came for a short
//! while (the stall), the overall timeout passed, or as many as wanted arrived.

use std::future::poll_fn;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use tokio::time::{timeout_at, Instant};

use super::error::{DiscoveryError, SchemaError};
use super::schema::{Info, PingResponse, Stats};
use super::subject::{control_subject, Verb};
use super::validate::is_subject_token;
use crate::client::Client;
use crate::message::Message;

/// How long [`Discovery`] waits for answers at most, by default.
pub const DEFAULT_DISCOVERY_TIMEOUT: Duration = Duration::from_secs(2);
/// How long [`Discovery`] waits for one more answer after the last, by default: long enough
/// for instances behind other servers of a cluster, short enough for a command line.
pub const DEFAULT_DISCOVERY_STALL: Duration = Duration::from_millis(300);

/// Finds service instances and asks them for their info and stats.
///
/// Asking by name and id stops at the first answer; otherwise answers are gathered until
/// the stall passes without a new one, the timeout passes, or
/// [`max_responses`](Discovery::max_responses) arrived. Nobody answering is an empty list.
/// Answers that are not the expected JSON are skipped (logged at debug level);
/// [`raw`](Discovery::raw) returns every answer as it came.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::service::DiscoveryError> {
/// use nats_client::service::Discovery;
/// for ping in Discovery::new(&client).ping(None, None).await? {
///     println!("{} {} {}", ping.name, ping.id, ping.version);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Discovery {
    client: Client,
    timeout: Duration,
    stall: Duration,
    max_responses: Option<usize>,
}

impl Discovery {
    /// Discovery over `client`, with the default timeout and stall.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(client: nats_client::Client) {
    /// let discovery = nats_client::service::Discovery::new(&client);
    /// # }
    /// ```
    pub fn new(client: &Client) -> Discovery {
        Discovery {
            client: client.clone(),
            timeout: DEFAULT_DISCOVERY_TIMEOUT,
            stall: DEFAULT_DISCOVERY_STALL,
            max_responses: None,
        }
    }

    /// The longest wait for answers (default 2 s).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(client: nats_client::Client) {
    /// let d = nats_client::service::Discovery::new(&client).timeout(std::time::Duration::from_secs(5));
    /// # }
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Discovery {
        self.timeout = timeout;
        self
    }

    /// How long to wait for another answer after the last one (default 300 ms).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(client: nats_client::Client) {
    /// let d = nats_client::service::Discovery::new(&client).stall(std::time::Duration::from_millis(50));
    /// # }
    /// ```
    pub fn stall(mut self, stall: Duration) -> Discovery {
        self.stall = stall;
        self
    }

    /// Stop as soon as `n` answers arrived (`0`: no limit).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(client: nats_client::Client) {
    /// let d = nats_client::service::Discovery::new(&client).max_responses(3);
    /// # }
    /// ```
    pub fn max_responses(mut self, n: usize) -> Discovery {
        self.max_responses = (n > 0).then_some(n);
        self
    }

    /// `$SRV.PING`: every instance, the instances of `name`, or the instance `name`/`id`.
    ///
    /// # Errors
    ///
    /// [`DiscoveryError::InvalidName`] for a name or id that is not one subject token;
    /// [`DiscoveryError::Subscribe`] / [`DiscoveryError::Publish`] when the client cannot
    /// ask (e.g. it is closed).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::service::DiscoveryError> {
    /// let adders = nats_client::service::Discovery::new(&client).ping(Some("adder"), None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn ping(
        &self,
        name: Option<&str>,
        id: Option<&str>,
    ) -> Result<Vec<PingResponse>, DiscoveryError> {
        self.parsed(Verb::Ping, name, id, PingResponse::from_json)
            .await
    }

    /// `$SRV.INFO`: description, metadata and endpoints of each instance asked.
    ///
    /// # Errors
    ///
    /// As [`ping`](Discovery::ping).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::service::DiscoveryError> {
    /// for info in nats_client::service::Discovery::new(&client).info(Some("adder"), None).await? {
    ///     println!("{}: {}", info.id, info.description);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn info(
        &self,
        name: Option<&str>,
        id: Option<&str>,
    ) -> Result<Vec<Info>, DiscoveryError> {
        self.parsed(Verb::Info, name, id, Info::from_json).await
    }

    /// `$SRV.STATS`: the endpoint counters of each instance asked.
    ///
    /// # Errors
    ///
    /// As [`ping`](Discovery::ping).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::service::DiscoveryError> {
    /// for stats in nats_client::service::Discovery::new(&client).stats(Some("adder"), None).await? {
    ///     println!("{} started {}", stats.id, stats.started);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn stats(
        &self,
        name: Option<&str>,
        id: Option<&str>,
    ) -> Result<Vec<Stats>, DiscoveryError> {
        self.parsed(Verb::Stats, name, id, Stats::from_json).await
    }

    /// Every answer to `verb` as it came (payload bytes), for tools that print the JSON.
    ///
    /// # Errors
    ///
    /// As [`ping`](Discovery::ping).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) -> Result<(), nats_client::service::DiscoveryError> {
    /// use nats_client::service::{Discovery, Verb};
    /// for body in Discovery::new(&client).raw(Verb::Info, None, None).await? {
    ///     println!("{}", String::from_utf8_lossy(&body));
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn raw(
        &self,
        verb: Verb,
        name: Option<&str>,
        id: Option<&str>,
    ) -> Result<Vec<Bytes>, DiscoveryError> {
        for token in name.into_iter().chain(id) {
            if !is_subject_token(token) {
                return Err(DiscoveryError::InvalidName {
                    name: token.to_string(),
                });
            }
        }
        let max = match (name, id) {
            (Some(_), Some(_)) => Some(1),
            _ => self.max_responses,
        };
        let subject = control_subject(verb, name, id);
        let inbox = self.client.new_inbox();
        let mut replies = self
            .client
            .subscribe(&inbox)
            .await
            .map_err(DiscoveryError::Subscribe)?;
        self.client
            .publish_with_reply(&subject, &inbox, Bytes::new())
            .await
            .map_err(DiscoveryError::Publish)?;
        let start = Instant::now();
        let deadline = start.checked_add(self.timeout);
        let mut answers = Vec::new();
        loop {
            if max.is_some_and(|max| answers.len() >= max) {
                break;
            }
            // Until the first answer the whole timeout; then the stall, within the timeout.
            let wait_until = if answers.is_empty() {
                deadline
            } else {
                let stall = Instant::now().checked_add(self.stall);
                match (stall, deadline) {
                    (Some(s), Some(d)) => Some(s.min(d)),
                    (s, d) => s.or(d),
                }
            };
            let next = poll_fn(|cx| Pin::new(&mut replies).poll_next(cx));
            let msg: Option<Message> = match wait_until {
                Some(at) => match timeout_at(at, next).await {
                    Ok(msg) => msg,
                    Err(_) => break,
                },
                None => next.await,
            };
            match msg {
                // Nobody subscribes to the subject: the server's 503.
                Some(msg) if msg.is_no_responders() => break,
                Some(msg) => answers.push(msg.payload),
                None => break,
            }
        }
        let _ = replies.unsubscribe().await;
        Ok(answers)
    }

    async fn parsed<T>(
        &self,
        verb: Verb,
        name: Option<&str>,
        id: Option<&str>,
        parse: fn(&[u8]) -> Result<T, SchemaError>,
    ) -> Result<Vec<T>, DiscoveryError> {
        let raw = self.raw(verb, name, id).await?;
        Ok(raw
            .iter()
            .filter_map(|body| match parse(body) {
                Ok(v) => Some(v),
                Err(e) => {
                    tracing::debug!(%verb, error = %e, "skipping a discovery answer");
                    None
                }
            })
            .collect())
    }
}
