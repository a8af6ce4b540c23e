//! [`Context`]: the JetStream handle over a [`nats_client::Client`]: API prefix or domain, the
//! API timeout, and the one function every API request goes through (J1–J3).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use nats_client::{Client, Message};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, Error};
use crate::publish::{PublishOptions, Publisher};
use crate::wire::parse_version;

/// The API timeout when none is set (J1).
pub const DEFAULT_API_TIMEOUT: Duration = Duration::from_secs(5);
/// The API prefix of the local JetStream domain.
pub const DEFAULT_API_PREFIX: &str = "$JS.API";

/// A JetStream context: streams, consumers and publishing over one client. Cheap to clone;
/// clones share the publish ack window.
///
/// # Examples
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let client = nats_client::connect("nats://127.0.0.1:4222").await?;
/// let js = nats_jetstream::new(client);
/// let stream = js
///     .create_stream(nats_jetstream::stream::Config {
///         name: "ORDERS".into(),
///         subjects: vec!["orders.>".into()],
///         ..Default::default()
///     })
///     .await?;
/// let ack = js.publish("orders.new", "hi".into()).await?.await?;
/// assert_eq!(ack.stream, "ORDERS");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Context {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) client: Client,
    /// `$JS.API`, `$JS.<domain>.API` or a custom prefix.
    pub(crate) prefix: String,
    pub(crate) domain: Option<String>,
    pub(crate) timeout: Duration,
    pub(crate) publish: PublishOptions,
    /// Started at the first publish.
    pub(crate) publisher: tokio::sync::OnceCell<Publisher>,
}

/// Creates a JetStream context with the defaults: the local domain (`$JS.API`), a 5 s API
/// timeout, an ack window of 4,000 and a 2 min publish retry window (J1).
///
/// # Examples
///
/// ```no_run
/// # async fn demo() -> Result<(), nats_client::ConnectError> {
/// let client = nats_client::connect("nats://127.0.0.1:4222").await?;
/// let js = nats_jetstream::new(client);
/// # Ok(()) }
/// ```
pub fn new(client: Client) -> Context {
    ContextBuilder::new().build(client)
}

/// Creates a JetStream context for the JetStream `domain` (API prefix `$JS.<domain>.API`), with
/// the other defaults of [`new`] (J1). Shorthand for `ContextBuilder::new().domain(domain)`.
///
/// # Examples
///
/// ```no_run
/// # fn demo(client: nats_client::Client) {
/// let js = nats_jetstream::with_domain(client, "hub");
/// assert_eq!(js.api_prefix(), "$JS.hub.API");
/// # }
/// ```
pub fn with_domain(client: Client, domain: impl Into<String>) -> Context {
    ContextBuilder::new().domain(domain).build(client)
}

/// Creates a JetStream context whose API requests go to `prefix` instead of `$JS.API` (an
/// account import, J1), with the other defaults of [`new`]. Shorthand for
/// `ContextBuilder::new().api_prefix(prefix)`.
///
/// # Examples
///
/// ```no_run
/// # fn demo(client: nats_client::Client) {
/// let js = nats_jetstream::with_prefix(client, "$JS.orders.API");
/// assert_eq!(js.api_prefix(), "$JS.orders.API");
/// # }
/// ```
pub fn with_prefix(client: Client, prefix: impl Into<String>) -> Context {
    ContextBuilder::new().api_prefix(prefix).build(client)
}

/// Settings of a [`Context`]: domain or API prefix, API timeout, and the publish settings
/// (ack window, retry window).
///
/// # Examples
///
/// ```no_run
/// # fn demo(client: nats_client::Client) {
/// use std::time::Duration;
/// let js = nats_jetstream::ContextBuilder::new()
///     .domain("hub")                          // $JS.hub.API
///     .timeout(Duration::from_secs(2))
///     .max_ack_pending(256)
///     .publish_retry_window(Duration::from_secs(60))
///     .build(client);
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ContextBuilder {
    prefix: String,
    domain: Option<String>,
    timeout: Duration,
    publish: PublishOptions,
}

impl Default for ContextBuilder {
    fn default() -> Self {
        ContextBuilder::new()
    }
}

impl ContextBuilder {
    /// The defaults (see [`new`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = nats_jetstream::ContextBuilder::new();
    /// ```
    pub fn new() -> ContextBuilder {
        ContextBuilder {
            prefix: DEFAULT_API_PREFIX.to_owned(),
            domain: None,
            timeout: DEFAULT_API_TIMEOUT,
            publish: PublishOptions::default(),
        }
    }

    /// Talk to the JetStream of domain `domain`: the API prefix becomes `$JS.<domain>.API`
    /// (replaces an [`api_prefix`](ContextBuilder::api_prefix)).
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = nats_jetstream::ContextBuilder::new().domain("leaf");
    /// ```
    pub fn domain(mut self, domain: impl Into<String>) -> ContextBuilder {
        let domain = domain.into();
        self.prefix = format!("$JS.{domain}.API");
        self.domain = Some(domain);
        self
    }

    /// A custom API prefix (for an account import), instead of `$JS.API`. A trailing `.` is
    /// ignored. Replaces a [`domain`](ContextBuilder::domain).
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = nats_jetstream::ContextBuilder::new().api_prefix("$JS.hub.API");
    /// ```
    pub fn api_prefix(mut self, prefix: impl Into<String>) -> ContextBuilder {
        self.prefix = prefix.into().trim_end_matches('.').to_owned();
        self.domain = None;
        self
    }

    /// How long an API request waits for its answer (default 5 s). Also the default time a
    /// publish waits for each ack before re-sending (J9).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = nats_jetstream::ContextBuilder::new().timeout(std::time::Duration::from_secs(2));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> ContextBuilder {
        self.timeout = timeout;
        if !self.publish.ack_timeout_set {
            self.publish.ack_timeout = timeout;
        }
        self
    }

    /// At most this many publishes wait for their ack at once (default 4,000, J8); past it
    /// `publish` waits. Memory: each pending publish keeps its message for re-sending.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = nats_jetstream::ContextBuilder::new().max_ack_pending(256);
    /// ```
    pub fn max_ack_pending(mut self, n: usize) -> ContextBuilder {
        self.publish.max_ack_pending = n.max(1);
        self
    }

    /// How long a publish keeps re-sending the same message (same message id) until it is
    /// acked (J9; default 2 min, the server's default duplicate window). **Keep it at or below
    /// the stream's `duplicate_window`**, or a late retry can store the message twice.
    /// `Duration::ZERO` disables retries (a lost ack fails at the ack timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = nats_jetstream::ContextBuilder::new()
    ///     .publish_retry_window(std::time::Duration::from_secs(30));
    /// ```
    pub fn publish_retry_window(mut self, window: Duration) -> ContextBuilder {
        self.publish.retry_window = window;
        self
    }

    /// How long one publish attempt waits for its ack before it is re-sent (default: the API
    /// timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = nats_jetstream::ContextBuilder::new()
    ///     .publish_ack_timeout(std::time::Duration::from_secs(2));
    /// ```
    pub fn publish_ack_timeout(mut self, timeout: Duration) -> ContextBuilder {
        self.publish.ack_timeout = timeout.max(Duration::from_millis(1));
        self.publish.ack_timeout_set = true;
        self
    }

    /// The context over `client`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(client: nats_client::Client) {
    /// let js = nats_jetstream::ContextBuilder::new().build(client);
    /// # }
    /// ```
    pub fn build(self, client: Client) -> Context {
        Context {
            inner: Arc::new(Inner {
                client,
                prefix: self.prefix,
                domain: self.domain,
                timeout: self.timeout,
                publish: self.publish,
                publisher: tokio::sync::OnceCell::new(),
            }),
        }
    }
}

impl Context {
    /// A context with the defaults; the same as [`nats_jetstream::new`](new) (J1).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(client: nats_client::Client) {
    /// let js = nats_jetstream::Context::new(client);
    /// assert_eq!(js.api_prefix(), "$JS.API");
    /// # }
    /// ```
    pub fn new(client: Client) -> Context {
        new(client)
    }

    /// The client this context uses.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(js: nats_jetstream::Context) {
    /// println!("{}", js.client().status());
    /// # }
    /// ```
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The API prefix (`$JS.API`, `$JS.<domain>.API`, or the custom one).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(js: nats_jetstream::Context) {
    /// assert_eq!(js.api_prefix(), "$JS.API");
    /// # }
    /// ```
    pub fn api_prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// The domain set with [`ContextBuilder::domain`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(js: nats_jetstream::Context) {
    /// assert_eq!(js.domain(), None);
    /// # }
    /// ```
    pub fn domain(&self) -> Option<&str> {
        self.inner.domain.as_deref()
    }

    /// The API timeout.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(js: nats_jetstream::Context) {
    /// println!("{:?}", js.timeout());
    /// # }
    /// ```
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// Account usage and limits (`$JS.API.INFO`).
    ///
    /// # Errors
    ///
    /// [`Error::JetStreamNotEnabled`] on a server without JetStream, [`Error::Api`],
    /// [`Error::TimedOut`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::Error> {
    /// let info = js.account_info().await?;
    /// println!("{} streams, {} bytes stored", info.streams, info.storage);
    /// # Ok(()) }
    /// ```
    pub async fn account_info(&self) -> Result<AccountInfo, Error> {
        self.api("INFO", None::<&()>).await
    }

    /// Whether the connected server speaks the 2.10 consumer API (`CONSUMER.CREATE.<s>.<c>`
    /// with `action`, several filter subjects).
    pub(crate) fn server_at_least(&self, major: u32, minor: u32) -> bool {
        server_at_least(&self.inner.client, major, minor)
    }

    /// THE one place an API request is sent (J1, J2): `subject` under the prefix, a JSON (or
    /// empty) payload, the API timeout. No responders is [`Error::JetStreamNotEnabled`].
    ///
    /// When nats-client grows `send_request(subject, Request)`, only this changes.
    pub(crate) async fn request(&self, suffix: &str, payload: Bytes) -> Result<Message, Error> {
        let subject = format!("{}.{}", self.inner.prefix, suffix);
        tracing::trace!(%subject, "JetStream API request");
        self.inner
            .client
            .send_request(
                subject.as_str(),
                nats_client::Request::new()
                    .payload(payload)
                    .timeout(self.inner.timeout),
            )
            .await
            .map_err(|e| match e {
                nats_client::RequestError::NoResponders => Error::JetStreamNotEnabled,
                nats_client::RequestError::TimedOut(d) => Error::TimedOut(d),
                other => Error::Request(other),
            })
    }

    /// An API request with a JSON body whose JSON reply is `T`, or an API error (J1).
    pub(crate) async fn api<B: Serialize, T: DeserializeOwned>(
        &self,
        suffix: &str,
        body: Option<&B>,
    ) -> Result<T, Error> {
        let payload = match body {
            Some(b) => {
                Bytes::from(serde_json::to_vec(b).map_err(|e| Error::Decode(e.to_string()))?)
            }
            None => Bytes::new(),
        };
        let reply = self.request(suffix, payload).await?;
        decode_reply(&reply.payload)
    }
}

/// Whether `client`'s server reports at least version `major.minor`.
pub(crate) fn server_at_least(client: &Client, major: u32, minor: u32) -> bool {
    parse_version(&client.server_info().version).is_some_and(|(a, b, _)| (a, b) >= (major, minor))
}

/// Decodes an API reply: its `error` member becomes [`Error::Api`], anything else `T`.
pub(crate) fn decode_reply<T: DeserializeOwned>(payload: &[u8]) -> Result<T, Error> {
    #[derive(Deserialize)]
    struct Envelope {
        error: Option<ApiError>,
    }
    let envelope: Envelope =
        serde_json::from_slice(payload).map_err(|e| Error::Decode(e.to_string()))?;
    if let Some(e) = envelope.error {
        return Err(Error::Api(e));
    }
    serde_json::from_slice(payload).map_err(|e| Error::Decode(e.to_string()))
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("prefix", &self.inner.prefix)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

/// The account's JetStream usage (`$JS.API.INFO`).
///
/// # Examples
///
/// ```
/// let info: nats_jetstream::AccountInfo =
///     serde_json::from_str(r#"{"memory":0,"storage":10,"streams":1,"consumers":2}"#).unwrap();
/// assert_eq!(info.consumers, 2);
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct AccountInfo {
    /// Memory storage in use, bytes.
    #[serde(default)]
    pub memory: u64,
    /// File storage in use, bytes.
    #[serde(default)]
    pub storage: u64,
    /// Number of streams.
    #[serde(default)]
    pub streams: u64,
    /// Number of consumers.
    #[serde(default)]
    pub consumers: u64,
    /// The domain, when the server has one.
    #[serde(default)]
    pub domain: Option<String>,
    /// Everything else the server sent (limits, API statistics, tiers...).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_decode_with_their_code() {
        let r: Result<AccountInfo, Error> = decode_reply(
            br#"{"type":"x","error":{"code":404,"err_code":10059,"description":"stream not found"}}"#,
        );
        let e = r.unwrap_err();
        assert!(e.is_stream_not_found(), "{e:?}");
        assert_eq!(e.api_error().map(|a| a.code), Some(404));
        let bad: Result<AccountInfo, Error> = decode_reply(b"not json");
        assert!(matches!(bad, Err(Error::Decode(_))));
        let ok: AccountInfo = decode_reply(br#"{"streams":3,"limits":{"max_memory":-1}}"#).unwrap();
        assert_eq!(ok.streams, 3);
        assert!(ok.extra.contains_key("limits"));
    }

    #[test]
    fn prefixes() {
        let b = ContextBuilder::new().domain("hub");
        assert_eq!(b.prefix, "$JS.hub.API");
        let b = b.api_prefix("$JS.x.API.");
        assert_eq!(b.prefix, "$JS.x.API");
        assert_eq!(b.domain, None);
    }
}
