//! Consumers (J11–J19): create, get, get_or_create, update, delete, info, list and names on a
//! [`Stream`] and on the [`Context`]; the pull consumer ([`pull`]) and the ordered consumer
//! ([`ordered`]).

pub mod config;
mod engine;
pub mod ordered;
pub mod pull;
mod status;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use futures_core::Stream as FuturesStream;
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::Map;

pub use config::{AckPolicy, Config, DeliverPolicy, Info, ReplayPolicy, SequenceInfo};
pub use ordered::OrderedConsumer;
pub use pull::{ConsumeBuilder, FetchBuilder, PullConsumer};

use crate::context::Context;
use crate::error::{ConsumeError, Error};
use crate::message::Message;
use crate::paged::Paged;
use crate::stream::Stream;
use crate::wire::validate_name;

/// A kind of consumer config [`Stream::create_consumer`] accepts: [`pull::Config`] makes a
/// [`PullConsumer`], [`pull::OrderedConfig`] an [`OrderedConsumer`].
///
/// # Examples
///
/// ```no_run
/// # async fn demo(stream: nats_jetstream::stream::Stream) -> Result<(), nats_jetstream::Error> {
/// use nats_jetstream::consumer::{pull, ConsumerKind};
/// async fn make<C: ConsumerKind>(s: &nats_jetstream::stream::Stream, c: C) -> Result<C::Consumer, nats_jetstream::Error> {
///     s.create_consumer(c).await
/// }
/// let pull: nats_jetstream::consumer::PullConsumer = make(&stream, pull::Config::default()).await?;
/// # Ok(()) }
/// ```
pub trait ConsumerKind: Send + Sized + 'static {
    /// The handle the config creates.
    type Consumer;

    /// Creates the consumer on `stream`.
    #[doc(hidden)]
    fn create(
        self,
        stream: Stream,
    ) -> Pin<Box<dyn Future<Output = Result<Self::Consumer, Error>> + Send>>;
}

impl ConsumerKind for Config {
    type Consumer = PullConsumer;

    fn create(
        self,
        stream: Stream,
    ) -> Pin<Box<dyn Future<Output = Result<PullConsumer, Error>> + Send>> {
        Box::pin(async move {
            let info = create(&stream.context, &stream.name, &self, Action::Create).await?;
            Ok(PullConsumer::new(stream.context, info))
        })
    }
}

/// The messages of a consumer, as a `Stream` (J12–J19):
///
/// - from [`FetchBuilder::messages`] (`fetch()` / `batch()`): one pull request; ends after the
///   batch, a 404 / 408 status, or the expiry (J12);
/// - from [`PullConsumer::messages`]: keeps pulling, survives reconnects and leader changes
///   without user action, yields [`ConsumeError::MissingHeartbeats`] as a warning, and ends
///   after one terminal error item when the consumer is deleted or is push based (J13–J15);
/// - from [`OrderedConsumer::messages`]: every message once and in stream order across resets;
///   ends with [`ConsumeError::StreamDeleted`] (J18–J19).
///
/// Status messages never appear in it. Work happens only while it is polled: a slow reader
/// leaves at most the pulled messages waiting in the client.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(c: nats_jetstream::consumer::PullConsumer) -> Result<(), Box<dyn std::error::Error>> {
/// use futures_util::StreamExt;
/// let mut messages: nats_jetstream::consumer::Messages = c.messages().await?;
/// while let Some(m) = messages.next().await { m?.ack().await?; }
/// # Ok(()) }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct Messages {
    inner: Pin<Box<dyn FuturesStream<Item = Result<Message, ConsumeError>> + Send>>,
}

/// A consumer stream's state: produces the next item, `None` once it has ended.
pub(crate) trait NextItem: Send + 'static {
    fn next_item(&mut self) -> impl Future<Output = Option<Result<Message, ConsumeError>>> + Send;
}

impl Messages {
    pub(crate) fn new<S: NextItem>(state: S) -> Messages {
        Messages {
            inner: Box::pin(futures_util::stream::unfold(state, |mut s| async move {
                let item = s.next_item().await?;
                Some((item, s))
            })),
        }
    }

    /// The next item, like `StreamExt::next`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(c: nats_jetstream::consumer::PullConsumer) -> Result<(), Box<dyn std::error::Error>> {
    /// let mut messages = c.messages().await?;
    /// if let Some(msg) = messages.recv().await {
    ///     msg?.ack().await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn recv(&mut self) -> Option<Result<Message, ConsumeError>> {
        self.next().await
    }
}

impl FuturesStream for Messages {
    type Item = Result<Message, ConsumeError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl fmt::Debug for Messages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Messages").finish_non_exhaustive()
    }
}

/// Create or update (2.10+ servers tell them apart; 2.9 creates or updates as needed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Create,
    Update,
}

#[derive(Serialize)]
struct CreateRequest<'a> {
    stream_name: &'a str,
    config: &'a Config,
    #[serde(skip_serializing_if = "Option::is_none")]
    action: Option<&'static str>,
}

/// `CONSUMER.DURABLE.CREATE.<stream>.<durable>` / `CONSUMER.CREATE.<stream>` on 2.9;
/// `CONSUMER.CREATE.<stream>.<name>[.<filter>]` with `action` on 2.10+ (J11).
pub(crate) async fn create(
    context: &Context,
    stream: &str,
    config: &Config,
    action: Action,
) -> Result<Info, Error> {
    validate_name("stream", stream)?;
    for name in [config.durable_name.as_deref(), config.name.as_deref()]
        .into_iter()
        .flatten()
    {
        validate_name("consumer", name)?;
    }
    if let (Some(d), Some(n)) = (&config.durable_name, &config.name) {
        if d != n {
            return Err(Error::InvalidArgument(format!(
                "durable_name {d:?} and name {n:?} differ"
            )));
        }
    }
    let modern = context.server_at_least(2, 10);
    let subject = create_subject(modern, stream, config);
    let request = CreateRequest {
        stream_name: stream,
        config,
        action: modern.then_some(match action {
            Action::Create => "create",
            Action::Update => "update",
        }),
    };
    context.api(&subject, Some(&request)).await
}

/// The create subject: the 2.10 form (`CONSUMER.CREATE.<stream>.<name>[.<filter>]`) only for
/// 2.10+ servers (`modern`); on 2.9 `CONSUMER.DURABLE.CREATE.<stream>.<durable>` for durables
/// and `CONSUMER.CREATE.<stream>` for ephemerals.
fn create_subject(modern: bool, stream: &str, config: &Config) -> String {
    match (
        modern,
        config.consumer_name(),
        config.durable_name.as_deref(),
    ) {
        (true, Some(name), _) => {
            let single_filter =
                config.filter_subjects.is_empty() && !config.filter_subject.is_empty();
            if single_filter {
                format!("CONSUMER.CREATE.{stream}.{name}.{}", config.filter_subject)
            } else {
                format!("CONSUMER.CREATE.{stream}.{name}")
            }
        }
        (false, _, Some(durable)) => format!("CONSUMER.DURABLE.CREATE.{stream}.{durable}"),
        _ => format!("CONSUMER.CREATE.{stream}"),
    }
}

impl Stream {
    /// Creates a consumer (J11): a [`pull::Config`] gives a [`PullConsumer`] (durable when
    /// `durable_name` is set), a [`pull::OrderedConfig`] an [`OrderedConsumer`] (J18).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`] (J3), [`Error::Api`] (e.g. 10013 the name is in use with
    /// another config, 10059 stream not found), and as [`Context::stream_info`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(stream: nats_jetstream::stream::Stream) -> Result<(), nats_jetstream::Error> {
    /// use nats_jetstream::consumer::pull;
    /// let billing = stream
    ///     .create_consumer(pull::Config { durable_name: Some("billing".into()), ..Default::default() })
    ///     .await?;
    /// let ordered = stream.create_consumer(pull::OrderedConfig::default()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_consumer<C: ConsumerKind>(&self, config: C) -> Result<C::Consumer, Error> {
        config.create(self.clone()).await
    }

    /// A handle to an existing consumer (one `CONSUMER.INFO`).
    ///
    /// # Errors
    ///
    /// 10014 when it does not exist; as [`create_consumer`](Stream::create_consumer).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(stream: nats_jetstream::stream::Stream) -> Result<(), nats_jetstream::Error> {
    /// let billing = stream.get_consumer("billing").await?;
    /// # Ok(()) }
    /// ```
    pub async fn get_consumer(&self, name: impl AsRef<str>) -> Result<PullConsumer, Error> {
        self.context
            .get_consumer_from_stream(&self.name, name)
            .await
    }

    /// The consumer `name` if it exists, else a new one with `config` (whose name is set
    /// to `name` as durable when it has none).
    ///
    /// # Errors
    ///
    /// As [`create_consumer`](Stream::create_consumer).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(stream: nats_jetstream::stream::Stream) -> Result<(), nats_jetstream::Error> {
    /// let c = stream.get_or_create_consumer("billing", Default::default()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn get_or_create_consumer(
        &self,
        name: impl AsRef<str>,
        mut config: Config,
    ) -> Result<PullConsumer, Error> {
        let name = name.as_ref();
        match self.get_consumer(name).await {
            Ok(c) => Ok(c),
            Err(e) if e.is_consumer_not_found() => {
                if config.consumer_name().is_none() {
                    config.durable_name = Some(name.to_owned());
                }
                self.create_consumer(config).await
            }
            Err(e) => Err(e),
        }
    }

    /// Changes an existing consumer's config (the one named in `config`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] without a name; [`Error::Api`] when the change is not
    /// allowed or the consumer does not exist (2.10+); as
    /// [`create_consumer`](Stream::create_consumer).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(stream: nats_jetstream::stream::Stream) -> Result<(), nats_jetstream::Error> {
    /// let mut config = stream.get_consumer("billing").await?.cached_info().config.clone();
    /// config.description = Some("the billing service".into());
    /// let c = stream.update_consumer(config).await?;
    /// # Ok(()) }
    /// ```
    pub async fn update_consumer(&self, config: Config) -> Result<PullConsumer, Error> {
        if config.consumer_name().is_none() {
            return Err(Error::InvalidArgument(
                "update_consumer needs durable_name or name".into(),
            ));
        }
        let info = create(&self.context, &self.name, &config, Action::Update).await?;
        Ok(PullConsumer::new(self.context.clone(), info))
    }

    /// Deletes a consumer.
    ///
    /// # Errors
    ///
    /// 10014 when it does not exist; as [`create_consumer`](Stream::create_consumer).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(stream: nats_jetstream::stream::Stream) -> Result<(), nats_jetstream::Error> {
    /// stream.delete_consumer("billing").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_consumer(&self, name: impl AsRef<str>) -> Result<(), Error> {
        self.context
            .delete_consumer_from_stream(&self.name, name)
            .await
    }

    /// A consumer's current config and state.
    ///
    /// # Errors
    ///
    /// As [`get_consumer`](Stream::get_consumer).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(stream: nats_jetstream::stream::Stream) -> Result<(), nats_jetstream::Error> {
    /// println!("{} pending", stream.consumer_info("billing").await?.num_pending);
    /// # Ok(()) }
    /// ```
    pub async fn consumer_info(&self, name: impl AsRef<str>) -> Result<Info, Error> {
        consumer_info(&self.context, &self.name, name.as_ref()).await
    }

    /// The names of the stream's consumers, paged (J11).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(stream: nats_jetstream::stream::Stream) -> Result<(), nats_jetstream::Error> {
    /// use futures_util::TryStreamExt;
    /// let names: Vec<String> = stream.consumer_names().try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn consumer_names(&self) -> Paged<String> {
        self.context.consumer_names(&self.name)
    }

    /// The info of the stream's consumers, paged (J11).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(stream: nats_jetstream::stream::Stream) -> Result<(), nats_jetstream::Error> {
    /// use futures_util::TryStreamExt;
    /// let all: Vec<nats_jetstream::consumer::Info> = stream.consumers().try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn consumers(&self) -> Paged<Info> {
        self.context.consumers(&self.name)
    }
}

/// `CONSUMER.INFO.<stream>.<consumer>`.
pub(crate) async fn consumer_info(
    context: &Context,
    stream: &str,
    consumer: &str,
) -> Result<Info, Error> {
    validate_name("stream", stream)?;
    validate_name("consumer", consumer)?;
    context
        .api(&format!("CONSUMER.INFO.{stream}.{consumer}"), None::<&()>)
        .await
}

impl Context {
    /// A handle to consumer `consumer` of stream `stream`, without a stream handle.
    ///
    /// # Errors
    ///
    /// As [`Stream::get_consumer`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::Error> {
    /// let c = js.get_consumer_from_stream("ORDERS", "billing").await?;
    /// # Ok(()) }
    /// ```
    pub async fn get_consumer_from_stream(
        &self,
        stream: impl AsRef<str>,
        consumer: impl AsRef<str>,
    ) -> Result<PullConsumer, Error> {
        let info = consumer_info(self, stream.as_ref(), consumer.as_ref()).await?;
        Ok(PullConsumer::new(self.clone(), info))
    }

    /// Creates a pull consumer on stream `stream`, without a stream handle.
    ///
    /// # Errors
    ///
    /// As [`Stream::create_consumer`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::Error> {
    /// let config = nats_jetstream::consumer::pull::Config { durable_name: Some("b".into()), ..Default::default() };
    /// let c = js.create_consumer_on_stream(config, "ORDERS").await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_consumer_on_stream(
        &self,
        config: Config,
        stream: impl AsRef<str>,
    ) -> Result<PullConsumer, Error> {
        let info = create(self, stream.as_ref(), &config, Action::Create).await?;
        Ok(PullConsumer::new(self.clone(), info))
    }

    /// Deletes consumer `consumer` of stream `stream`.
    ///
    /// # Errors
    ///
    /// As [`Stream::delete_consumer`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::Error> {
    /// js.delete_consumer_from_stream("ORDERS", "billing").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_consumer_from_stream(
        &self,
        stream: impl AsRef<str>,
        consumer: impl AsRef<str>,
    ) -> Result<(), Error> {
        let (stream, consumer) = (stream.as_ref(), consumer.as_ref());
        validate_name("stream", stream)?;
        validate_name("consumer", consumer)?;
        #[derive(serde::Deserialize)]
        struct Reply {
            #[serde(default)]
            success: bool,
        }
        let r: Reply = self
            .api(&format!("CONSUMER.DELETE.{stream}.{consumer}"), None::<&()>)
            .await?;
        if r.success {
            Ok(())
        } else {
            Err(Error::Decode(
                "consumer delete did not report success".into(),
            ))
        }
    }

    /// The consumer names of stream `stream`, paged.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::Error> {
    /// use futures_util::TryStreamExt;
    /// let names: Vec<String> = js.consumer_names("ORDERS").try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn consumer_names(&self, stream: impl AsRef<str>) -> Paged<String> {
        Paged::new(
            self.clone(),
            format!("CONSUMER.NAMES.{}", stream.as_ref()),
            "consumers",
            Map::new(),
        )
    }

    /// The consumer infos of stream `stream`, paged.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::Error> {
    /// use futures_util::TryStreamExt;
    /// let all: Vec<_> = js.consumers("ORDERS").try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn consumers(&self, stream: impl AsRef<str>) -> Paged<Info> {
        Paged::new(
            self.clone(),
            format!("CONSUMER.LIST.{}", stream.as_ref()),
            "consumers",
            Map::new(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn j11_create_subjects_per_server_version() {
        let durable = Config {
            durable_name: Some("d".into()),
            filter_subject: "a.>".into(),
            ..Default::default()
        };
        let named = Config {
            name: Some("n".into()),
            ..Default::default()
        };
        let ephemeral = Config::default();
        let rows = [
            (false, &durable, "CONSUMER.DURABLE.CREATE.S.d"),
            (false, &named, "CONSUMER.CREATE.S"),
            (false, &ephemeral, "CONSUMER.CREATE.S"),
            (true, &durable, "CONSUMER.CREATE.S.d.a.>"),
            (true, &named, "CONSUMER.CREATE.S.n"),
            (true, &ephemeral, "CONSUMER.CREATE.S"),
        ];
        for (modern, config, want) in rows {
            assert_eq!(
                create_subject(modern, "S", config),
                want,
                "{modern} {config:?}"
            );
        }
        let two_filters = Config {
            durable_name: Some("d".into()),
            filter_subjects: vec!["a".into(), "b".into()],
            ..Default::default()
        };
        assert_eq!(
            create_subject(true, "S", &two_filters),
            "CONSUMER.CREATE.S.d"
        );
    }
}
