//! Finite reads over the bucket's ordered consumer: [`Keys`] (the keys that hold a value,
//! J22), [`History`] (every revision of a key, J22), and the current markers for
//! `purge_deletes`. Each ends once the consumer has nothing pending (at once for an empty
//! match), and its consumer is deleted when it ends or is dropped.

use std::collections::HashSet;
use std::fmt;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use futures_core::Stream as FuturesStream;
use futures_util::StreamExt;

use super::keys::{key_matches, validate_filter};
use super::{Entry, Error, Operation, Store};
use crate::consumer::pull::OrderedConfig;
use crate::consumer::{DeliverPolicy, Messages};
use crate::message::Info;

/// How a read over the bucket's consumer is set up.
pub(crate) struct Plan {
    /// Key filters (wildcards allowed); empty: every key.
    pub(crate) filters: Vec<String>,
    pub(crate) deliver_policy: DeliverPolicy,
    pub(crate) opt_start_seq: Option<u64>,
    /// Only headers: no values.
    pub(crate) headers_only: bool,
    /// `None`: resets are retried for ever (a watch).
    pub(crate) max_reset_attempts: Option<u32>,
    pub(crate) expires: Option<std::time::Duration>,
    pub(crate) heartbeat: Option<std::time::Duration>,
}

/// The ordered consumer of a read, with what it had pending when created.
pub(crate) struct Reader {
    pub(crate) messages: Messages,
    pub(crate) initial_pending: u64,
    /// Filters the server could not apply (several filters on a 2.9 server): checked here.
    local_filters: Option<Vec<String>>,
}

impl Reader {
    pub(crate) fn local_filters(&self) -> Option<&[String]> {
        self.local_filters.as_deref()
    }
}

impl Plan {
    pub(crate) fn validated(filters: Vec<String>) -> Result<Vec<String>, Error> {
        for f in &filters {
            validate_filter(f).map_err(Error::InvalidKey)?;
        }
        Ok(filters)
    }
}

impl Store {
    /// Starts the ordered consumer of a read.
    pub(crate) async fn reader(&self, plan: Plan) -> Result<Reader, Error> {
        let subjects: Vec<String> = plan.filters.iter().map(|f| self.key_subject(f)).collect();
        let modern = self.context.server_at_least(2, 10);
        let mut config = OrderedConfig {
            deliver_policy: plan.deliver_policy,
            opt_start_seq: plan.opt_start_seq,
            headers_only: plan.headers_only,
            max_reset_attempts: plan.max_reset_attempts,
            expires: plan.expires,
            heartbeat: plan.heartbeat,
            ..Default::default()
        };
        let mut local_filters = None;
        match subjects.len() {
            0 => config.filter_subject = self.key_subject(">"),
            1 => config.filter_subject = subjects.into_iter().next().unwrap_or_default(),
            _ if modern => config.filter_subjects = subjects,
            _ => {
                // 2.9 filters on one subject only: take the whole bucket, match here.
                config.filter_subject = self.key_subject(">");
                local_filters = Some(plan.filters);
            }
        }
        let consumer = self
            .stream
            .create_consumer(config)
            .await
            .map_err(|e| Error::api(&self.bucket, e))?;
        let (messages, initial_pending) = consumer
            .messages_with_pending()
            .await
            .map_err(|e| Error::api(&self.bucket, e))?;
        Ok(Reader {
            messages,
            initial_pending,
            local_filters,
        })
    }

    /// The entry a delivered message is, and the number of messages still pending after it.
    /// `None` for a message that is not one of the bucket's keys or that the local filters
    /// exclude (its pending count still matters: it is returned in `Err`).
    pub(crate) fn delivered_entry(
        &self,
        msg: crate::Message,
        local_filters: Option<&[String]>,
    ) -> Result<Entry, u64> {
        let Some(info) = msg.info().ok().map(Owned::from) else {
            return Err(u64::MAX);
        };
        let Some(key) = self.key_of(msg.subject.as_str()) else {
            return Err(info.pending);
        };
        if let Some(filters) = local_filters {
            if !filters.iter().any(|f| key_matches(f, key)) {
                return Err(info.pending);
            }
        }
        let key = key.to_owned();
        let msg = msg.into_inner();
        Ok(Entry {
            bucket: self.bucket.clone(),
            key,
            operation: Operation::from_headers(msg.headers.as_ref()),
            value: msg.payload,
            revision: info.stream_sequence,
            created: info.published,
            delta: info.pending,
            seen_current: false,
        })
    }

    /// The keys that hold a value (J22), each once; markers are skipped. Ends after the
    /// last one.
    ///
    /// # Errors
    ///
    /// [`Error::BucketNotFound`], [`Error::Api`] when the read cannot start; items:
    /// [`Error::Consume`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
    /// use futures_util::TryStreamExt;
    /// let keys: Vec<String> = store.keys().await?.try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub async fn keys(&self) -> Result<Keys, Error> {
        self.keys_with_filters(Vec::<String>::new()).await
    }

    /// The keys matching any of `filters` (wildcards allowed) that hold a value.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKey`] for a bad filter; as [`keys`](Store::keys).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
    /// use futures_util::TryStreamExt;
    /// let db: Vec<String> = store.keys_with_filters(["db.>", "cache.*"]).await?.try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub async fn keys_with_filters(
        &self,
        filters: impl IntoIterator<Item = impl AsRef<str>>,
    ) -> Result<Keys, Error> {
        let filters =
            Plan::validated(filters.into_iter().map(|f| f.as_ref().to_owned()).collect())?;
        let scan = self
            .scan(filters, DeliverPolicy::LastPerSubject, true)
            .await?;
        let mut seen = HashSet::new();
        let keys = scan.filter_map(move |item| {
            let out = match item {
                Ok(e) if e.operation.is_marker() => None,
                Ok(e) => seen.insert(e.key.clone()).then_some(Ok(e.key)),
                Err(e) => Some(Err(e)),
            };
            std::future::ready(out)
        });
        Ok(Keys {
            inner: Box::pin(keys),
        })
    }

    /// Every stored revision of the keys matching `key` (a key, or a filter with wildcards),
    /// markers included, oldest first (J22). Ends after the newest.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKey`]; as [`keys`](Store::keys).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
    /// use futures_util::TryStreamExt;
    /// let revisions: Vec<_> = store.history("db.url").await?.try_collect().await?;
    /// for e in revisions {
    ///     println!("{} {} {:?}", e.revision, e.operation, e.value);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn history(&self, key: impl AsRef<str>) -> Result<History, Error> {
        let filters = Plan::validated(vec![key.as_ref().to_owned()])?;
        let scan = self.scan(filters, DeliverPolicy::All, false).await?;
        Ok(History {
            inner: Box::pin(scan),
        })
    }

    /// The current delete and purge markers (for `purge_deletes`).
    pub(crate) async fn current_markers(&self) -> Result<Vec<Entry>, Error> {
        let mut scan = std::pin::pin!(
            self.scan(Vec::new(), DeliverPolicy::LastPerSubject, true)
                .await?
        );
        let mut markers = Vec::new();
        while let Some(entry) = scan.next().await {
            let entry = entry?;
            if entry.operation.is_marker() {
                markers.push(entry);
            }
        }
        Ok(markers)
    }

    /// A finite read: entries until the consumer has nothing pending.
    async fn scan(
        &self,
        filters: Vec<String>,
        deliver_policy: DeliverPolicy,
        headers_only: bool,
    ) -> Result<impl FuturesStream<Item = Result<Entry, Error>> + Send + 'static, Error> {
        let reader = self
            .reader(Plan {
                filters,
                deliver_policy,
                opt_start_seq: None,
                headers_only,
                max_reset_attempts: Some(crate::consumer::ordered::DEFAULT_MAX_RESET_ATTEMPTS),
                expires: None,
                heartbeat: None,
            })
            .await?;
        let done = reader.initial_pending == 0;
        let state = (self.clone(), reader, done);
        Ok(futures_util::stream::unfold(
            state,
            |(store, mut reader, mut done)| async move {
                loop {
                    if done {
                        return None;
                    }
                    let msg = match reader.messages.next().await {
                        Some(Ok(msg)) => msg,
                        Some(Err(e)) => {
                            return Some((Err(Error::Consume(e)), (store, reader, true)))
                        }
                        None => return None,
                    };
                    match store.delivered_entry(msg, reader.local_filters.as_deref()) {
                        Ok(entry) => {
                            done = entry.delta == 0;
                            return Some((Ok(entry), (store, reader, done)));
                        }
                        Err(pending) => done = pending == 0,
                    }
                }
            },
        ))
    }
}

/// The parts of a message's [`Info`] an entry needs, owned.
struct Owned {
    stream_sequence: u64,
    published: std::time::SystemTime,
    pending: u64,
}

impl From<Info<'_>> for Owned {
    fn from(i: Info<'_>) -> Owned {
        Owned {
            stream_sequence: i.stream_sequence,
            published: i.published,
            pending: i.pending,
        }
    }
}

/// The keys of a bucket, from [`Store::keys`]; ends after the last one.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
/// use futures_util::TryStreamExt;
/// let mut keys: nats_jetstream::kv::Keys = store.keys().await?;
/// while let Some(key) = keys.try_next().await? {
///     println!("{key}");
/// }
/// # Ok(()) }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct Keys {
    inner: Pin<Box<dyn FuturesStream<Item = Result<String, Error>> + Send>>,
}

impl FuturesStream for Keys {
    type Item = Result<String, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys").finish_non_exhaustive()
    }
}

/// The revisions of a key, from [`Store::history`]; ends after the newest.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
/// use futures_util::TryStreamExt;
/// let mut history: nats_jetstream::kv::History = store.history("db.url").await?;
/// while let Some(e) = history.try_next().await? {
///     println!("{}: {}", e.revision, e.operation);
/// }
/// # Ok(()) }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct History {
    inner: Pin<Box<dyn FuturesStream<Item = Result<Entry, Error>> + Send>>,
}

impl FuturesStream for History {
    type Item = Result<Entry, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl fmt::Debug for History {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("History").finish_non_exhaustive()
    }
}
