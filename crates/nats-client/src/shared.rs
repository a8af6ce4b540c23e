//! [`Shared`]: the client-lifetime state every handle and the driver hold. Each part has one
//! writer for each kind of change:
//!
//! | part | written by | read by |
//! |---|---|---|
//! | `options` | nobody (fixed at connect) | everyone |
//! | `queue` | handles append; the state machine sets the phase; the driver takes batches | driver |
//! | `view` | the state machine only | handles (snapshots) |
//! | `requests` | handles add and remove their entries; the driver completes them | handles |
//! | `events` | the driver emits | event streams, callback task |
//! | `counters` | the driver (in), the queue (out) | `statistics()` |
//!
//! The subscription table and everything per connection (transport, parser, ping counters,
//! timers, pool, back-off) belong to the state machine alone (`connection::machine`).

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::event_stream::EventHub;
use crate::message_id::{self, IdStamp};
use crate::options::ConnectOptions;
use crate::outbound::WriteQueue;
use crate::pool::PoolServer;
use crate::request::RequestMux;
use crate::rng::Rng;
use crate::signal::DriverSignal;
use crate::stats::Counters;
use crate::view::View;

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) options: Arc<ConnectOptions>,
    pub(crate) queue: WriteQueue,
    pub(crate) view: View,
    pub(crate) requests: Arc<RequestMux>,
    pub(crate) events: Arc<EventHub>,
    pub(crate) counters: Counters,
    pub(crate) driver: Arc<DriverSignal>,
    /// The next subscription id (handles allocate sids without asking the driver).
    pub(crate) next_sid: AtomicU64,
    /// For inbox names (`new_inbox`): the handles' own generator.
    rng: Mutex<Rng>,
}

impl Shared {
    pub(crate) fn new(options: Arc<ConnectOptions>, pool: Vec<PoolServer>, mut rng: Rng) -> Shared {
        let driver = Arc::new(DriverSignal::default());
        let requests = Arc::new(RequestMux::new(
            &options.inbox_prefix,
            rng.base62(22),
            Arc::clone(&driver),
        ));
        Shared {
            queue: WriteQueue::new(
                options.reconnect_buffer_size,
                options.at_least_once.queue_limit(),
                Arc::clone(&driver),
            )
            .with_message_ids(
                options
                    .at_least_once
                    .ids
                    .then(|| IdStamp::new(rng.base62(message_id::MESSAGE_ID_PREFIX_LEN))),
            )
            .with_coalesce_bytes(options.write_buffer_size),
            view: View::new(pool),
            requests,
            events: Arc::new(EventHub::default()),
            counters: Counters::default(),
            driver,
            next_sid: AtomicU64::new(1),
            rng: Mutex::new(rng),
            options,
        }
    }

    pub(crate) fn rng(&self) -> MutexGuard<'_, Rng> {
        self.rng.lock().unwrap_or_else(|p| p.into_inner())
    }
}
