//! Watches (J23, J24): the entries of the keys matching some filters as they change, on the
//! bucket's ordered consumer (J18).
//!
//! First come the current values (deliver last per subject; or every stored revision with
//! history; nothing with updates only), then one [`WatchEvent::InSync`] marker, then the
//! live updates. The marker comes at once when there is nothing to deliver first (an empty
//! bucket, updates only). Three ways to see it: [`Watch::next_event`] yields it;
//! [`Watch::in_sync`] tells whether it has passed; every entry carries
//! [`seen_current`](super::Entry::seen_current).
//!
//! **ours (J24)**: the consumer under the watch is re-created from the last revision the
//! watch delivered whenever delivery may have a hole — a reconnect, a server restart, a
//! stream leader change, missed heartbeats, a deleted consumer — and those resets are
//! retried for as long as it takes. The caller sees every revision once and in order,
//! whether or not it was polling during the outage. Only a deleted bucket or a closed client
//! ends a watch.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use futures_core::Stream as FuturesStream;
use futures_util::StreamExt;

use super::scan::{Plan, Reader};
use super::{Entry, Error, Store};
use crate::consumer::DeliverPolicy;

/// The idle heartbeat of a watch: two missed ones (the consumer's server died while the
/// connection stayed up) reset the consumer within ~4 s. Each pull expires after 2.5
/// heartbeats (5 s).
const WATCH_HEARTBEAT: Duration = Duration::from_secs(2);

/// An item of [`Watch::next_event`].
///
/// # Examples
///
/// ```no_run
/// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
/// use nats_jetstream::kv::WatchEvent;
/// let mut watch = store.watch_all().await?;
/// while let Some(event) = watch.next_event().await {
///     match event? {
///         WatchEvent::Entry(e) => println!("{} -> {:?}", e.key, e.value),
///         WatchEvent::InSync => println!("-- initial values done, live from here --"),
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    /// A revision of a watched key.
    Entry(Entry),
    /// The initial values are all delivered; what follows are updates. Comes exactly once.
    InSync,
}

/// A watch's options, from [`Store::watcher`]; await it (or call
/// [`start`](WatchBuilder::start)) to start the watch.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
/// let watch = store
///     .watcher()
///     .key("db.>")
///     .key("cache.*")
///     .include_history()
///     .ignore_deletes()
///     .await?;
/// let updates = store.watcher().updates_only().await?;
/// let since = store.watcher().from_revision(42).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a watch starts when the builder is awaited"]
pub struct WatchBuilder<'a> {
    store: &'a Store,
    filters: Vec<String>,
    history: bool,
    updates_only: bool,
    ignore_deletes: bool,
    meta_only: bool,
    from_revision: Option<u64>,
    heartbeat: Duration,
}

impl WatchBuilder<'_> {
    /// Watch the keys matching `filter` (a key, or wildcards: `*` one token, `>` the rest).
    /// Several calls watch the union; none watches every key.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
    /// let watch = store.watcher().key("sessions.*").await?;
    /// # Ok(()) }
    /// ```
    pub fn key(mut self, filter: impl Into<String>) -> Self {
        self.filters.push(filter.into());
        self
    }

    /// First every stored revision of the watched keys (oldest first), not just the latest.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
    /// let watch = store.watcher().include_history().await?;
    /// # Ok(()) }
    /// ```
    pub fn include_history(mut self) -> Self {
        self.history = true;
        self
    }

    /// Only changes made from now on: no initial values (in sync at once).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
    /// let watch = store.watcher().updates_only().await?;
    /// # Ok(()) }
    /// ```
    pub fn updates_only(mut self) -> Self {
        self.updates_only = true;
        self
    }

    /// Skip delete and purge markers.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
    /// let watch = store.watcher().ignore_deletes().await?;
    /// # Ok(()) }
    /// ```
    pub fn ignore_deletes(mut self) -> Self {
        self.ignore_deletes = true;
        self
    }

    /// Only the keys, revisions and operations: values are left empty.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
    /// let watch = store.watcher().meta_only().await?;
    /// # Ok(()) }
    /// ```
    pub fn meta_only(mut self) -> Self {
        self.meta_only = true;
        self
    }

    /// Every revision from `revision` on (overrides history and updates only); in sync once
    /// the newest stored revision is delivered.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
    /// let watch = store.watcher().from_revision(100).await?;
    /// # Ok(()) }
    /// ```
    pub fn from_revision(mut self, revision: u64) -> Self {
        self.from_revision = Some(revision.max(1));
        self
    }

    /// The idle heartbeat asked of the server (default 2 s): two missed ones re-create the
    /// consumer, so it bounds how long a watch stalls when the consumer's server dies while
    /// the connection stays up. At least 100 ms.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
    /// let watch = store.watcher().heartbeat(std::time::Duration::from_secs(1)).await?;
    /// # Ok(()) }
    /// ```
    pub fn heartbeat(mut self, heartbeat: Duration) -> Self {
        self.heartbeat = heartbeat.clamp(Duration::from_millis(100), Duration::from_secs(30));
        self
    }

    /// Starts the watch (the same as awaiting the builder).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKey`] for a bad filter, [`Error::BucketNotFound`], [`Error::Api`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
    /// let watch = store.watcher().key("a.>").start().await?;
    /// # Ok(()) }
    /// ```
    pub async fn start(self) -> Result<Watch, Error> {
        let filters = Plan::validated(self.filters)?;
        let (deliver_policy, opt_start_seq) = match (self.from_revision, self.updates_only) {
            (Some(r), _) => (DeliverPolicy::ByStartSequence, Some(r)),
            (None, true) => (DeliverPolicy::New, None),
            (None, false) if self.history => (DeliverPolicy::All, None),
            (None, false) => (DeliverPolicy::LastPerSubject, None),
        };
        // Pulls expire after 2.5 heartbeats (at least the server's minimum of 1 s).
        let expires = (self.heartbeat * 5 / 2).max(Duration::from_secs(1));
        let heartbeat = self.heartbeat.min(expires / 2);
        let reader = self
            .store
            .reader(Plan {
                filters,
                deliver_policy,
                opt_start_seq,
                headers_only: self.meta_only,
                max_reset_attempts: None,
                expires: Some(expires),
                heartbeat: Some(heartbeat),
            })
            .await?;
        Ok(Watch::new(self.store.clone(), reader, self.ignore_deletes))
    }
}

impl<'a> IntoFuture for WatchBuilder<'a> {
    type Output = Result<Watch, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<Watch, Error>> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.start())
    }
}

/// Whether the initial values are done, from the pending counts of the deliveries (pure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct InitialValues {
    in_sync: bool,
}

impl InitialValues {
    /// In sync at once when the consumer had nothing pending at its creation.
    fn new(initial_pending: u64) -> InitialValues {
        InitialValues {
            in_sync: initial_pending == 0,
        }
    }

    /// A delivery with `pending` messages after it: whether it completes the initial values.
    fn delivered(&mut self, pending: u64) -> bool {
        let done = !self.in_sync && pending == 0;
        self.in_sync |= done;
        done
    }
}

struct State {
    store: Store,
    reader: Reader,
    initial: InitialValues,
    /// `InSync` is due before the next entry.
    announce: bool,
    ignore_deletes: bool,
    done: bool,
}

impl State {
    async fn next_event(&mut self) -> Option<Result<WatchEvent, Error>> {
        loop {
            if self.announce {
                self.announce = false;
                return Some(Ok(WatchEvent::InSync));
            }
            if self.done {
                return None;
            }
            let msg = match self.reader.messages.next().await? {
                Ok(msg) => msg,
                Err(e) => {
                    self.done = e.is_terminal();
                    return Some(Err(Error::Consume(e)));
                }
            };
            let local = self.reader.local_filters();
            match self.store.delivered_entry(msg, local) {
                Ok(mut entry) => {
                    self.announce = self.initial.delivered(entry.delta);
                    entry.seen_current = self.initial.in_sync;
                    if self.ignore_deletes && entry.operation.is_marker() {
                        continue;
                    }
                    return Some(Ok(WatchEvent::Entry(entry)));
                }
                Err(pending) => self.announce = self.initial.delivered(pending),
            }
        }
    }
}

/// A watch on a bucket (J23, J24): a `Stream` of the [`Entry`]s of the watched keys — the
/// current values, then live updates — that survives reconnects, server restarts and leader
/// changes without a gap or a duplicate. [`next_event`](Watch::next_event) also yields the
/// [`WatchEvent::InSync`] marker. Ends only after a terminal error item (the bucket was
/// deleted: [`Error::Consume`] with `StreamDeleted`; the client closed). Dropping it deletes
/// its consumer.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
/// use futures_util::StreamExt;
/// let mut watch = store.watch("db.>").await?;
/// while let Some(entry) = watch.next().await {
///     let entry = entry?;
///     if entry.seen_current {
///         println!("update: {} = {:?} ({})", entry.key, entry.value, entry.operation);
///     }
/// }
/// # Ok(()) }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct Watch {
    inner: Pin<Box<dyn FuturesStream<Item = Result<WatchEvent, Error>> + Send>>,
    in_sync: bool,
}

impl Watch {
    fn new(store: Store, reader: Reader, ignore_deletes: bool) -> Watch {
        let initial = InitialValues::new(reader.initial_pending);
        let state = State {
            store,
            reader,
            initial,
            announce: initial.in_sync,
            ignore_deletes,
            done: false,
        };
        let inner = futures_util::stream::unfold(state, |mut s| async move {
            let event = s.next_event().await?;
            Some((event, s))
        });
        Watch {
            inner: Box::pin(inner),
            in_sync: initial.in_sync,
        }
    }

    /// Whether the initial values have all been delivered (at once for an empty bucket or
    /// an updates-only watch).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
    /// let watch = store.watcher().updates_only().await?;
    /// assert!(watch.in_sync());
    /// # Ok(()) }
    /// ```
    pub fn in_sync(&self) -> bool {
        self.in_sync
    }

    /// The next entry or the one-time [`WatchEvent::InSync`] marker.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
    /// use nats_jetstream::kv::WatchEvent;
    /// let mut watch = store.watch_all().await?;
    /// let mut current = std::collections::HashMap::new();
    /// while let Some(event) = watch.next_event().await {
    ///     match event? {
    ///         WatchEvent::Entry(e) => { current.insert(e.key.clone(), e.value); }
    ///         WatchEvent::InSync => break, // `current` is a snapshot of the bucket
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn next_event(&mut self) -> Option<Result<WatchEvent, Error>> {
        let event = self.inner.next().await;
        self.note(&event);
        event
    }

    fn note(&mut self, event: &Option<Result<WatchEvent, Error>>) {
        match event {
            Some(Ok(WatchEvent::InSync)) => self.in_sync = true,
            Some(Ok(WatchEvent::Entry(e))) => self.in_sync |= e.seen_current,
            _ => {}
        }
    }
}

impl FuturesStream for Watch {
    type Item = Result<Entry, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        loop {
            let event = match self.inner.as_mut().poll_next(cx) {
                Poll::Ready(event) => event,
                Poll::Pending => return Poll::Pending,
            };
            self.note(&event);
            return Poll::Ready(match event {
                Some(Ok(WatchEvent::InSync)) => continue,
                Some(Ok(WatchEvent::Entry(e))) => Some(Ok(e)),
                Some(Err(e)) => Some(Err(e)),
                None => None,
            });
        }
    }
}

impl fmt::Debug for Watch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watch")
            .field("in_sync", &self.in_sync)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// The options of a watch (J23): keys, history, updates only, ignore deletes, from a
    /// revision. Await the builder to start it.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
    /// let watch = store.watcher().key("db.>").updates_only().await?;
    /// # Ok(()) }
    /// ```
    pub fn watcher(&self) -> WatchBuilder<'_> {
        WatchBuilder {
            store: self,
            filters: Vec::new(),
            history: false,
            updates_only: false,
            ignore_deletes: false,
            meta_only: false,
            from_revision: None,
            heartbeat: WATCH_HEARTBEAT,
        }
    }

    /// Watches the keys matching `filter` (J23): their current values, the in-sync marker,
    /// then every change.
    ///
    /// # Errors
    ///
    /// As [`WatchBuilder::start`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
    /// let watch = store.watch("db.>").await?;
    /// # Ok(()) }
    /// ```
    pub async fn watch(&self, filter: impl AsRef<str>) -> Result<Watch, Error> {
        self.watcher().key(filter.as_ref()).start().await
    }

    /// Watches the keys matching any of `filters`.
    ///
    /// # Errors
    ///
    /// As [`WatchBuilder::start`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
    /// let watch = store.watch_many(["db.>", "cache.*"]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn watch_many(
        &self,
        filters: impl IntoIterator<Item = impl AsRef<str>>,
    ) -> Result<Watch, Error> {
        let mut builder = self.watcher();
        for f in filters {
            builder = builder.key(f.as_ref());
        }
        builder.start().await
    }

    /// Watches every key.
    ///
    /// # Errors
    ///
    /// As [`WatchBuilder::start`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
    /// let watch = store.watch_all().await?;
    /// # Ok(()) }
    /// ```
    pub async fn watch_all(&self) -> Result<Watch, Error> {
        self.watcher().start().await
    }

    /// Watches the keys matching `filter`, starting with every stored revision.
    ///
    /// # Errors
    ///
    /// As [`WatchBuilder::start`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
    /// let watch = store.watch_with_history("db.url").await?;
    /// # Ok(()) }
    /// ```
    pub async fn watch_with_history(&self, filter: impl AsRef<str>) -> Result<Watch, Error> {
        self.watcher()
            .key(filter.as_ref())
            .include_history()
            .start()
            .await
    }

    /// Watches the keys matching `filter` from revision `revision` on.
    ///
    /// # Errors
    ///
    /// As [`WatchBuilder::start`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
    /// let watch = store.watch_from_revision("db.>", 100).await?;
    /// # Ok(()) }
    /// ```
    pub async fn watch_from_revision(
        &self,
        filter: impl AsRef<str>,
        revision: u64,
    ) -> Result<Watch, Error> {
        self.watcher()
            .key(filter.as_ref())
            .from_revision(revision)
            .start()
            .await
    }

    /// Watches every key from revision `revision` on.
    ///
    /// # Errors
    ///
    /// As [`WatchBuilder::start`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::kv::Store) -> Result<(), nats_jetstream::kv::Error> {
    /// let watch = store.watch_all_from_revision(100).await?;
    /// # Ok(()) }
    /// ```
    pub async fn watch_all_from_revision(&self, revision: u64) -> Result<Watch, Error> {
        self.watcher().from_revision(revision).start().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn j23_in_sync_after_the_last_initial_value_or_at_once() {
        let mut empty = InitialValues::new(0);
        assert!(empty.in_sync);
        assert!(!empty.delivered(0), "announced once, at creation");

        let mut three = InitialValues::new(3);
        assert!(!three.in_sync);
        assert!(!three.delivered(2));
        assert!(!three.delivered(1));
        assert!(three.delivered(0), "the last initial value");
        assert!(three.in_sync);
        // Live updates (pending 0 again) do not announce it again.
        assert!(!three.delivered(0));
        assert!(!three.delivered(5));
        assert!(three.in_sync);
    }
}
