//! What a running service shares between its handle, its endpoint pumps and its discovery
//! responder: the configuration, the endpoint registry with their counters, the stop signal.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::Value;
use tokio::sync::watch;

use super::schema::{EndpointInfo, EndpointStats, Info, Metadata, PingResponse, Stats};
use super::stats::Counters;
use crate::client::Client;
use crate::subscriber::Subscriber;

/// A custom stats handler: the `data` of an endpoint's stats.
pub(crate) type StatsHandler = Arc<dyn Fn(&EndpointStats) -> Value + Send + Sync>;

/// The validated configuration.
pub(crate) struct Config {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) description: String,
    pub(crate) metadata: Metadata,
    pub(crate) queue_group: String,
    pub(crate) stats_handler: Option<StatsHandler>,
}

/// Where the service is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Running,
    /// `stop()`: drain the endpoints, let in-flight requests finish.
    Draining,
    /// The last handle was dropped: unsubscribe everything now.
    Aborted,
}

/// How far an endpoint pump has got after a stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Phase {
    Running,
    /// The subscription is drained: the server sends nothing more.
    Drained,
    /// Every received request was handed out (and, for a handler, handled).
    Finished,
}

/// One endpoint as discovery shows it.
pub(crate) struct EndpointEntry {
    pub(crate) name: String,
    pub(crate) subject: String,
    pub(crate) queue_group: String,
    pub(crate) metadata: Metadata,
    pub(crate) counters: Counters,
}

/// A pump a stop waits for, and how far.
struct Waiter {
    phase: watch::Receiver<Phase>,
    until: Phase,
}

pub(crate) struct ServiceState {
    pub(crate) client: Client,
    pub(crate) config: Config,
    pub(crate) id: String,
    pub(crate) started: String,
    mode: watch::Sender<Mode>,
    /// Short locks only: registry reads and updates, never across an await.
    endpoints: Mutex<Vec<Arc<EndpointEntry>>>,
    waiters: Mutex<Vec<Waiter>>,
    discovery: Mutex<Vec<Subscriber>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section is one push, retain or copy: consistent even after a panic.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ServiceState {
    pub(crate) fn new(client: Client, config: Config, id: String, started: String) -> Self {
        ServiceState {
            client,
            config,
            id,
            started,
            mode: watch::Sender::new(Mode::Running),
            endpoints: Mutex::new(Vec::new()),
            waiters: Mutex::new(Vec::new()),
            discovery: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn mode(&self) -> Mode {
        *self.mode.borrow()
    }

    pub(crate) fn watch_mode(&self) -> watch::Receiver<Mode> {
        self.mode.subscribe()
    }

    /// Moves to `mode` unless the service is already past it. True if it changed.
    pub(crate) fn set_mode(&self, mode: Mode) -> bool {
        self.mode.send_if_modified(|m| {
            if *m == Mode::Running {
                *m = mode;
                true
            } else {
                false
            }
        })
    }

    /// Registers `entry` unless an endpoint of that name exists (false then).
    pub(crate) fn add_endpoint(&self, entry: Arc<EndpointEntry>) -> bool {
        let mut endpoints = lock(&self.endpoints);
        if endpoints.iter().any(|e| e.name == entry.name) {
            return false;
        }
        endpoints.push(entry);
        true
    }

    pub(crate) fn remove_endpoint(&self, entry: &Arc<EndpointEntry>) {
        lock(&self.endpoints).retain(|e| !Arc::ptr_eq(e, entry));
    }

    pub(crate) fn endpoints(&self) -> Vec<Arc<EndpointEntry>> {
        lock(&self.endpoints).clone()
    }

    pub(crate) fn add_waiter(&self, phase: watch::Receiver<Phase>, until: Phase) {
        lock(&self.waiters).push(Waiter { phase, until });
    }

    /// Waits until every pump got as far as a stop needs (a pump that ended counts).
    pub(crate) async fn wait_for_pumps(&self) {
        let waiters: Vec<(watch::Receiver<Phase>, Phase)> = lock(&self.waiters)
            .iter()
            .map(|w| (w.phase.clone(), w.until))
            .collect();
        for (mut phase, until) in waiters {
            // Err: the pump is gone (its sender dropped), which is as far as it gets.
            let _ = phase.wait_for(|p| *p >= until).await;
        }
    }

    pub(crate) fn set_discovery(&self, subs: Vec<Subscriber>) {
        *lock(&self.discovery) = subs;
    }

    pub(crate) fn take_discovery(&self) -> Vec<Subscriber> {
        std::mem::take(&mut *lock(&self.discovery))
    }

    pub(crate) fn ping(&self) -> PingResponse {
        PingResponse {
            name: self.config.name.clone(),
            id: self.id.clone(),
            version: self.config.version.clone(),
            metadata: self.config.metadata.clone(),
        }
    }

    pub(crate) fn info(&self) -> Info {
        Info {
            name: self.config.name.clone(),
            id: self.id.clone(),
            version: self.config.version.clone(),
            metadata: self.config.metadata.clone(),
            description: self.config.description.clone(),
            endpoints: self
                .endpoints()
                .iter()
                .map(|e| EndpointInfo {
                    name: e.name.clone(),
                    subject: e.subject.clone(),
                    queue_group: e.queue_group.clone(),
                    metadata: e.metadata.clone(),
                })
                .collect(),
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        let endpoints = self
            .endpoints()
            .iter()
            .map(|e| {
                let totals = e.counters.snapshot();
                let mut stats = EndpointStats {
                    name: e.name.clone(),
                    subject: e.subject.clone(),
                    queue_group: e.queue_group.clone(),
                    num_requests: totals.num_requests,
                    num_errors: totals.num_errors,
                    average_processing_time: totals.average(),
                    last_error: totals.last_error,
                    processing_time: totals.processing_time,
                    data: None,
                };
                if let Some(handler) = &self.config.stats_handler {
                    // A panicking handler costs its `data`, not the service.
                    let data = catch_unwind(AssertUnwindSafe(|| handler(&stats)));
                    if data.is_err() {
                        tracing::warn!(service = %self.config.name, endpoint = %e.name,
                            "the stats handler panicked; data left empty");
                    }
                    stats.data = data.ok();
                }
                stats
            })
            .collect();
        Stats {
            name: self.config.name.clone(),
            id: self.id.clone(),
            version: self.config.version.clone(),
            metadata: self.config.metadata.clone(),
            started: self.started.clone(),
            endpoints,
        }
    }

    pub(crate) fn reset(&self) {
        for e in self.endpoints() {
            e.counters.reset();
        }
    }
}

impl fmt::Debug for ServiceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Service")
            .field("name", &self.config.name)
            .field("id", &self.id)
            .field("version", &self.config.version)
            .field("mode", &self.mode())
            .finish_non_exhaustive()
    }
}
