//! [`ObjectStore::list`] and [`ObjectStore::watch`]: the metadata messages through an ordered
//! consumer on `$O.<bucket>.M.>` (J27).

use std::fmt;
use std::pin::Pin;
use std::task::{ready, Context as TaskContext, Poll};

use futures_core::Stream;
use futures_util::StreamExt;
use std::collections::HashMap;

use super::info::ObjectInfo;
use super::ops::decode_info;
use super::{retry_transient, ObjectStore, ObjectStoreError};
use crate::consumer::pull::OrderedConfig;
use crate::consumer::{DeliverPolicy, Messages};
use crate::error::ErrorCode;

/// Object infos a list reads at once.
const LIST_CONCURRENCY: usize = 16;

impl ObjectStore {
    /// Live updates of the bucket: the info of every object stored, changed or deleted
    /// (`deleted` set) from now on, in order. Survives reconnects and fail-overs without a
    /// gap or a duplicate (an ordered consumer, J18). On nats-server 2.9 the server moves the
    /// watch's consumer to each new metadata message (a roll-up), past updates not yet
    /// delivered: under bursts of writes a 2.9 watch may miss an update (2.10+ servers do
    /// not do this). See
    /// [`watch_with_history`](ObjectStore::watch_with_history) for the current objects first.
    ///
    /// # Errors
    ///
    /// [`ObjectStoreError::Api`] when the consumer cannot be created (bucket gone...).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::object_store::ObjectStore) -> Result<(), nats_jetstream::object_store::ObjectStoreError> {
    /// use futures_util::TryStreamExt;
    /// let mut updates = store.watch().await?;
    /// while let Some(info) = updates.try_next().await? {
    ///     println!("{} {}", if info.deleted { "deleted" } else { "stored" }, info.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn watch(&self) -> Result<Watch, ObjectStoreError> {
        self.watcher(DeliverPolicy::New, None).await
    }

    /// The current info of every object (deleted ones included, as markers), then live
    /// updates as [`watch`](ObjectStore::watch). [`Watch::initial_done`] tells when the
    /// current ones have all been delivered.
    ///
    /// # Errors
    ///
    /// As [`watch`](ObjectStore::watch).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::object_store::ObjectStore) -> Result<(), nats_jetstream::object_store::ObjectStoreError> {
    /// use futures_util::TryStreamExt;
    /// let mut watch = store.watch_with_history().await?;
    /// while let Some(info) = watch.try_next().await? {
    ///     println!("{}", info.name);
    ///     if watch.initial_done() {
    ///         println!("-- in sync; live updates from here");
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn watch_with_history(&self) -> Result<Watch, ObjectStoreError> {
        let last = self.last_meta_sequence().await?;
        self.watcher(DeliverPolicy::LastPerSubject, Some(last))
            .await
    }

    /// The objects in the bucket now (not deleted ones), each once, by name; the stream
    /// ends after the last. The metadata subjects come from the stream's info and each
    /// object's info is read by subject (a few at a time), not through a consumer: a
    /// consumer would skip objects written during the listing on nats-server 2.9, which
    /// moves consumers past a roll-up.
    ///
    /// # Errors
    ///
    /// [`ObjectStoreError::BucketNotFound`], [`ObjectStoreError::Api`]; the items fail like
    /// [`info`](ObjectStore::info) (an object deleted meanwhile is skipped).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::object_store::ObjectStore) -> Result<(), nats_jetstream::object_store::ObjectStoreError> {
    /// use futures_util::TryStreamExt;
    /// let objects: Vec<_> = store.list().await?.try_collect().await?;
    /// for o in objects {
    ///     println!("{} {} bytes", o.name, o.size);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list(&self) -> Result<List, ObjectStoreError> {
        let mut subjects = self.meta_subjects().await?;
        subjects.sort();
        let store = self.clone();
        let infos = futures_util::stream::iter(subjects)
            .map(move |subject| {
                let store = store.clone();
                async move { store.info_by_subject(subject).await }
            })
            .buffered(LIST_CONCURRENCY)
            .filter_map(|r| async move {
                match r {
                    Ok(Some(info)) if !info.deleted => Some(Ok(info)),
                    Ok(_) => None,
                    Err(e) => Some(Err(e)),
                }
            });
        Ok(List {
            inner: Box::pin(infos),
        })
    }

    /// The metadata subjects in the stream (`STREAM.INFO` with `subjects_filter`).
    async fn meta_subjects(&self) -> Result<Vec<String>, ObjectStoreError> {
        #[derive(serde::Deserialize)]
        struct Reply {
            state: SubjectsState,
        }
        #[derive(serde::Deserialize)]
        struct SubjectsState {
            #[serde(default)]
            subjects: Option<HashMap<String, u64>>,
        }
        let body = serde_json::json!({ "subjects_filter": format!("$O.{}.M.>", self.name) });
        let suffix = format!("STREAM.INFO.{}", self.stream.name);
        let reply: Reply = retry_transient(|| self.context().api(&suffix, Some(&body)))
            .await
            .map_err(|e| {
                if e.is_stream_not_found() {
                    ObjectStoreError::BucketNotFound {
                        bucket: self.name.clone(),
                    }
                } else {
                    ObjectStoreError::Api(e)
                }
            })?;
        Ok(reply
            .state
            .subjects
            .unwrap_or_default()
            .into_keys()
            .collect())
    }

    /// The stream sequence of the newest metadata message, `None` without any.
    async fn last_meta_sequence(&self) -> Result<Option<u64>, ObjectStoreError> {
        let all = format!("$O.{}.M.>", self.name);
        match retry_transient(|| self.stream.get_last_raw_message_by_subject(all.clone())).await {
            Ok(raw) => Ok(Some(raw.sequence)),
            Err(e) if e.err_code() == Some(ErrorCode::NO_MESSAGE_FOUND) => Ok(None),
            Err(e) if e.is_stream_not_found() => Err(ObjectStoreError::BucketNotFound {
                bucket: self.name.clone(),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// `initial`: `None` for updates only; `Some(last)` when the current values come first,
    /// `last` being the newest metadata sequence (`None`: nothing stored, in sync at once).
    async fn watcher(
        &self,
        deliver_policy: DeliverPolicy,
        initial: Option<Option<u64>>,
    ) -> Result<Watch, ObjectStoreError> {
        let ordered = self
            .stream
            .create_consumer(OrderedConfig {
                filter_subject: format!("$O.{}.M.>", self.name),
                deliver_policy,
                max_reset_attempts: None,
                ..Default::default()
            })
            .await?;
        let messages = ordered.messages().await?;
        let (initial_done, last_initial) = match initial {
            None | Some(None) => (true, 0),
            Some(Some(last)) => (false, last),
        };
        Ok(Watch {
            messages: Some(messages),
            initial_done,
            last_initial,
        })
    }
}

/// The metadata updates of a bucket (from [`ObjectStore::watch`] or
/// [`ObjectStore::watch_with_history`]): a `Stream` of `Result<ObjectInfo,
/// ObjectStoreError>`. Ends after a terminal error (the bucket was deleted).
///
/// # Examples
///
/// ```no_run
/// # async fn demo(store: nats_jetstream::object_store::ObjectStore) -> Result<(), nats_jetstream::object_store::ObjectStoreError> {
/// use futures_util::StreamExt;
/// let mut watch: nats_jetstream::object_store::Watch = store.watch().await?;
/// if let Some(update) = watch.next().await {
///     println!("{:?}", update?);
/// }
/// # Ok(()) }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct Watch {
    messages: Option<Messages>,
    initial_done: bool,
    last_initial: u64,
}

impl Watch {
    /// Whether every object that existed when the watch started has been delivered (always
    /// true for [`ObjectStore::watch`]). What follows are live updates.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::object_store::ObjectStore) -> Result<(), nats_jetstream::object_store::ObjectStoreError> {
    /// let watch = store.watch().await?;
    /// assert!(watch.initial_done());
    /// # Ok(()) }
    /// ```
    pub fn initial_done(&self) -> bool {
        self.initial_done
    }
}

impl Stream for Watch {
    type Item = Result<ObjectInfo, ObjectStoreError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            let Some(messages) = this.messages.as_mut() else {
                return Poll::Ready(None);
            };
            let msg = match ready!(Pin::new(messages).poll_next(cx)) {
                None => {
                    this.messages = None;
                    return Poll::Ready(None);
                }
                Some(Err(e)) if !e.is_terminal() => continue,
                Some(Err(e)) => {
                    this.messages = None;
                    return Poll::Ready(Some(Err(ObjectStoreError::Consume(e))));
                }
                Some(Ok(msg)) => msg,
            };
            let meta = msg
                .info()
                .ok()
                .map(|i| (i.stream_sequence, i.pending, i.published));
            if let Some((seq, pending, _)) = meta {
                if seq >= this.last_initial || pending == 0 {
                    this.initial_done = true;
                }
            }
            let item = decode_info(&msg.payload).map(|mut info| {
                if let Some((_, _, published)) = meta {
                    info.mtime = published;
                }
                info
            });
            return Poll::Ready(Some(item));
        }
    }
}

impl fmt::Debug for Watch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watch")
            .field("initial_done", &self.initial_done)
            .finish_non_exhaustive()
    }
}

/// The objects of [`ObjectStore::list`]: a `Stream` of `Result<ObjectInfo,
/// ObjectStoreError>` that ends after the last object stored when it started.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(store: nats_jetstream::object_store::ObjectStore) -> Result<(), nats_jetstream::object_store::ObjectStoreError> {
/// use futures_util::TryStreamExt;
/// let mut list: nats_jetstream::object_store::List = store.list().await?;
/// while let Some(info) = list.try_next().await? {
///     println!("{}", info.name);
/// }
/// # Ok(()) }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct List {
    inner: Pin<Box<dyn Stream<Item = Result<ObjectInfo, ObjectStoreError>> + Send>>,
}

impl Stream for List {
    type Item = Result<ObjectInfo, ObjectStoreError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl fmt::Debug for List {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("List").finish_non_exhaustive()
    }
}
