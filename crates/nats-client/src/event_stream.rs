//! How events reach the application: [`EventHub`] fans every event out to each
//! [`EventStream`] and to the callback dispatcher, in the order they happened (R82), off the
//! I/O task.
//!
//! Nothing is dropped, and memory stays bounded (D6): life-cycle events are kept until read, and
//! a slow-consumer report for a subscription that already has an unread one in a queue updates
//! that one (its `dropped` count) instead of adding another. An unread stream therefore holds
//! at most one slow-consumer event per subscription, however many messages are dropped.

use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use futures_core::Stream;

use crate::callback::{guarded, CallbackKind};
use crate::error::ConnectionError;
use crate::events::Event;

/// A user callback for events.
pub(crate) type EventCallback = Arc<dyn Fn(&Event) + Send + Sync>;

#[derive(Debug, Default)]
struct Queue {
    items: VecDeque<Event>,
    /// Sequence number of `items[0]`.
    head: u64,
    /// Unread slow-consumer event per sid, by sequence number.
    slow: HashMap<u64, u64>,
    waker: Option<Waker>,
    /// `Closed` was queued: nothing follows it.
    ended: bool,
}

/// One listener's queue.
#[derive(Debug, Default)]
struct Listener {
    queue: Mutex<Queue>,
    /// The stream was dropped; the hub forgets it.
    gone: AtomicBool,
}

impl Listener {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn push(&self, event: &Event) {
        let mut q = self.lock();
        if q.ended {
            return;
        }
        if let Event::SlowConsumer { sid, dropped } = event {
            if let Some(seq) = q.slow.get(sid).copied() {
                let index = seq.wrapping_sub(q.head) as usize;
                if let Some(Event::SlowConsumer {
                    dropped: unread, ..
                }) = q.items.get_mut(index)
                {
                    *unread = (*unread).max(*dropped);
                    return;
                }
            }
            let seq = q.head + q.items.len() as u64;
            q.slow.insert(*sid, seq);
        }
        if matches!(event, Event::Closed { .. }) {
            q.ended = true;
        }
        q.items.push_back(event.clone());
        let waker = q.waker.take();
        drop(q);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Ends the stream without an event (what it holds is still read first).
    fn end(&self) {
        let mut q = self.lock();
        q.ended = true;
        let waker = q.waker.take();
        drop(q);
        if let Some(w) = waker {
            w.wake();
        }
    }

    fn poll_next(&self, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        let mut q = self.lock();
        if let Some(event) = q.items.pop_front() {
            let seq = q.head;
            q.head += 1;
            if let Event::SlowConsumer { sid, .. } = &event {
                if q.slow.get(sid) == Some(&seq) {
                    q.slow.remove(sid);
                }
            }
            return Poll::Ready(Some(event));
        }
        if q.ended {
            return Poll::Ready(None);
        }
        match &q.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => q.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    fn len(&self) -> usize {
        self.lock().items.len()
    }
}

/// The fan-out point; the connection emits, listeners read.
#[derive(Debug, Default)]
pub(crate) struct EventHub {
    listeners: Mutex<Vec<Arc<Listener>>>,
    /// `Closed` was emitted: new streams end at once.
    closed: AtomicBool,
}

impl EventHub {
    fn lock(&self) -> MutexGuard<'_, Vec<Arc<Listener>>> {
        self.listeners.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Delivers an event to every listener; never blocks, never drops (D6).
    pub(crate) fn emit(&self, event: Event) {
        tracing::debug!(%event, "connection event");
        let closed = matches!(event, Event::Closed { .. });
        let mut listeners = self.lock();
        listeners.retain(|l| !l.gone.load(Ordering::Acquire));
        for l in listeners.iter() {
            l.push(&event);
        }
        if closed {
            self.closed.store(true, Ordering::Release);
        }
    }

    /// Ends every stream without a `Closed` event, for a client nobody holds: a first connect
    /// that failed (R9) or whose future was dropped. The callback task ends with its stream.
    pub(crate) fn end_quietly(&self) {
        self.closed.store(true, Ordering::Release);
        for l in self.lock().iter() {
            l.end();
        }
    }

    /// A new stream of every event from now on.
    pub(crate) fn listen(&self) -> EventStream {
        let listener = Arc::new(Listener::default());
        let mut listeners = self.lock();
        if self.closed.load(Ordering::Acquire) {
            listener.lock().ended = true;
        } else {
            listeners.push(Arc::clone(&listener));
        }
        EventStream { listener }
    }

    /// Starts the task that runs the event callbacks, in order, each guarded: a panicking
    /// callback is reported with [`Event::CallbackPanicked`] and the dispatcher goes on.
    /// `quiet_on_close`: the events of a user's `close()` are not given to them.
    pub(crate) fn start_callbacks(
        self: &Arc<Self>,
        callbacks: Vec<EventCallback>,
        quiet_on_close: bool,
    ) {
        if callbacks.is_empty() {
            return;
        }
        let mut stream = self.listen();
        let hub = Arc::clone(self);
        tokio::spawn(async move {
            while let Some(event) = stream.recv().await {
                if quiet_on_close && is_user_close(&event) {
                    continue;
                }
                for cb in &callbacks {
                    if let Err(panic) = guarded(CallbackKind::Event, || cb(&event)) {
                        // A panic while delivering a panic report is only logged (no loop).
                        if !matches!(event, Event::CallbackPanicked { .. }) {
                            hub.emit(Event::CallbackPanicked {
                                callback: panic.kind,
                                message: panic.message,
                            });
                        }
                    }
                }
            }
        });
    }
}

/// The `Disconnected` or `Closed` of a `close()` call.
fn is_user_close(event: &Event) -> bool {
    matches!(
        event,
        Event::Disconnected {
            error: ConnectionError::ClosedByUser
        } | Event::Closed {
            reason: ConnectionError::ClosedByUser
        }
    )
}

/// Every connection event from the moment it was created, in order (`Client::events`).
///
/// Ends after [`Event::Closed`]. An unread stream costs little: repeated slow-consumer reports
/// for one subscription are merged into the unread one (with the latest `dropped` count), and
/// the other events are rare.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(client: nats_client::Client) {
/// use nats_client::Event;
/// let mut events = client.events();
/// while let Some(event) = events.recv().await {
///     if let Event::Disconnected { error } = &event {
///         eprintln!("connection lost: {error}");
///     }
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct EventStream {
    listener: Arc<Listener>,
}

impl EventStream {
    /// The next event, or `None` after `Closed`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) {
    /// let mut events = client.events();
    /// if let Some(event) = events.recv().await {
    ///     println!("{event}");
    /// }
    /// # }
    /// ```
    pub async fn recv(&mut self) -> Option<Event> {
        std::future::poll_fn(|cx| self.listener.poll_next(cx)).await
    }

    /// Events waiting to be read.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) {
    /// let events = client.events();
    /// println!("{} unread", events.len());
    /// # }
    /// ```
    pub fn len(&self) -> usize {
        self.listener.len()
    }

    /// Whether no event is waiting.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(client: nats_client::Client) {
    /// assert!(client.events().is_empty());
    /// # }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Stream for EventStream {
    type Item = Event;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.listener.poll_next(cx)
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        self.listener.gone.store(true, Ordering::Release);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::error::ConnectionError;

    fn slow(sid: u64, dropped: u64) -> Event {
        Event::SlowConsumer { sid, dropped }
    }

    async fn next(s: &mut EventStream) -> Event {
        s.recv().await.unwrap()
    }

    #[tokio::test]
    async fn d6_slow_consumer_reports_coalesce_while_unread() {
        let hub = EventHub::default();
        let mut s = hub.listen();
        hub.emit(Event::Connected);
        for n in 1..=1_000_000 {
            hub.emit(slow(1, n));
        }
        hub.emit(slow(2, 5));
        hub.emit(Event::Reconnected);
        hub.emit(slow(1, 1_000_001));
        assert_eq!(s.len(), 4, "one unread report per subscription");
        assert!(matches!(next(&mut s).await, Event::Connected));
        assert!(matches!(
            next(&mut s).await,
            Event::SlowConsumer {
                sid: 1,
                dropped: 1_000_001
            }
        ));
        assert!(matches!(
            next(&mut s).await,
            Event::SlowConsumer { sid: 2, dropped: 5 }
        ));
        assert!(matches!(next(&mut s).await, Event::Reconnected));
        // read: the next report for sid 1 is a new event
        hub.emit(slow(1, 1_000_002));
        assert!(matches!(
            next(&mut s).await,
            Event::SlowConsumer {
                sid: 1,
                dropped: 1_000_002
            }
        ));
        hub.emit(Event::Closed {
            reason: ConnectionError::ClosedByUser,
        });
        assert!(matches!(next(&mut s).await, Event::Closed { .. }));
        assert!(s.recv().await.is_none());
        assert!(
            hub.listen().recv().await.is_none(),
            "a stream made after Closed ends"
        );
    }
}
