//! The discovery responder: each instance subscribes (no queue group) to `$SRV.<VERB>`,
//! `$SRV.<VERB>.<name>` and `$SRV.<VERB>.<name>.<id>` for PING, INFO and STATS, and answers
//! with the JSON of [`schema`](super::schema).
//!
//! The subscriptions use message handlers that only hand the reply subject to one task
//! (a bounded queue: a flood of discovery requests drops answers, never blocks the
//! connection); the task builds the JSON and publishes it.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::error::ServiceError;
use super::state::{Mode, ServiceState};
use super::subject::{control_subject, Verb};
use crate::message::Message;
use crate::subscriber::Subscriber;
use crate::Subject;

/// Discovery requests waiting for the responder task; beyond this they are dropped.
const QUEUE: usize = 1024;

/// Subscribes the nine discovery subjects and starts the task that answers them.
pub(crate) async fn start(state: &Arc<ServiceState>) -> Result<(), ServiceError> {
    let (tx, rx) = mpsc::channel::<(Verb, Subject)>(QUEUE);
    let name = state.config.name.as_str();
    let id = state.id.as_str();
    let mut subs: Vec<Subscriber> = Vec::with_capacity(9);
    for verb in Verb::ALL {
        for subject in [
            control_subject(verb, None, None),
            control_subject(verb, Some(name), None),
            control_subject(verb, Some(name), Some(id)),
        ] {
            let tx = tx.clone();
            let handler = move |msg: Message| {
                if let Some(reply) = msg.reply {
                    if tx.try_send((verb, reply)).is_err() {
                        tracing::debug!(%verb, "discovery queue full; request dropped");
                    }
                }
            };
            let sub = state
                .client
                .subscribe_with_handler(&subject, handler)
                .await
                .map_err(|source| ServiceError::Subscribe { subject, source })?;
            subs.push(sub);
        }
    }
    state.set_discovery(subs);
    tokio::spawn(answer(Arc::clone(state), rx));
    Ok(())
}

/// Answers discovery requests until the service stops.
async fn answer(state: Arc<ServiceState>, mut rx: mpsc::Receiver<(Verb, Subject)>) {
    let mut mode = state.watch_mode();
    loop {
        let (verb, reply) = tokio::select! {
            biased;
            changed = mode.wait_for(|m| *m != Mode::Running) => {
                let _ = changed;
                break;
            }
            next = rx.recv() => match next {
                Some(next) => next,
                None => break,
            },
        };
        let json = match verb {
            Verb::Ping => state.ping().to_json(),
            Verb::Info => state.info().to_json(),
            Verb::Stats => state.stats().to_json(),
        };
        let body = match serde_json::to_vec(&json) {
            Ok(body) => Bytes::from(body),
            Err(e) => {
                tracing::warn!(%verb, error = %e, "discovery response not serialisable");
                continue;
            }
        };
        if let Err(e) = state.client.publish(&reply, body).await {
            tracing::debug!(%verb, error = %e, "discovery response not sent");
        }
    }
}
