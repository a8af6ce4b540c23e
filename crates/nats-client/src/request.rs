//! The request/reply multiplexer: one wildcard inbox subscription (`<prefix>.<random>.*`) per
//! client, one numeric token per request (DESIGN §3). A request that times out or is dropped
//! removes its entry, so nothing leaks.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{oneshot, OnceCell};

use crate::error::RequestError;
use crate::message::Message;

type Reply = Result<Message, RequestError>;

pub(crate) struct RequestMux {
    /// `<inbox_prefix>.<22 random chars>.`
    prefix: String,
    /// The inbox subscription's sid, created on the first request.
    pub(crate) sid: OnceCell<u64>,
    next: AtomicU64,
    pending: Mutex<HashMap<u64, oneshot::Sender<Reply>>>,
}

impl RequestMux {
    pub(crate) fn new(inbox_prefix: &str, random: String) -> RequestMux {
        RequestMux {
            prefix: format!("{inbox_prefix}.{random}."),
            sid: OnceCell::new(),
            next: AtomicU64::new(1),
            pending: Mutex::new(HashMap::new()),
        }
    }

    /// The wildcard subject of the inbox subscription.
    pub(crate) fn wildcard(&self) -> String {
        format!("{}*", self.prefix)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<u64, oneshot::Sender<Reply>>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a request: its reply subject and the receiver of the reply. Dropping the
    /// returned guard removes the entry.
    pub(crate) fn register(self: &Arc<Self>) -> (String, oneshot::Receiver<Reply>, PendingGuard) {
        let token = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.lock().insert(token, tx);
        (
            format!("{}{token}", self.prefix),
            rx,
            PendingGuard {
                mux: Arc::clone(self),
                token,
            },
        )
    }

    /// Routes a message that arrived on the inbox subscription.
    pub(crate) fn complete(&self, msg: Message) {
        let token = msg
            .subject
            .strip_prefix(self.prefix.as_str())
            .and_then(|t| t.parse::<u64>().ok());
        // Take the sender out and release the lock before waking the requester, which will
        // take the same lock at once to drop its entry.
        let waiter = token.and_then(|token| self.lock().remove(&token));
        if let Some(tx) = waiter {
            let _ = tx.send(Ok(msg));
        }
    }

    /// Fails every request in flight (close, force_reconnect: D7, R81).
    pub(crate) fn fail_all(&self, error: &RequestError) {
        let waiters: Vec<_> = self.lock().drain().map(|(_, tx)| tx).collect();
        for tx in waiters {
            let _ = tx.send(Err(error.clone()));
        }
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.lock().len()
    }
}

/// Removes a request's entry when the request finishes in any way (reply, timeout, drop).
pub(crate) struct PendingGuard {
    mux: Arc<RequestMux>,
    token: u64,
}

impl Drop for PendingGuard {
    fn drop(&mut self) {
        self.mux.lock().remove(&self.token);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn reply(subject: &str) -> Message {
        Message {
            subject: subject.into(),
            reply: None,
            payload: Bytes::from_static(b"ok"),
            headers: None,
            status: None,
            length: 0,
        }
    }

    #[tokio::test]
    async fn routes_by_token_and_cleans_up() {
        let mux = Arc::new(RequestMux::new("_INBOX", "abc".into()));
        assert_eq!(mux.wildcard(), "_INBOX.abc.*");
        let (subj, rx, guard) = mux.register();
        let (_subj2, _rx2, guard2) = mux.register();
        assert_eq!(mux.in_flight(), 2);
        mux.complete(reply(&subj));
        assert_eq!(rx.await.unwrap().unwrap().payload, "ok");
        drop(guard);
        drop(guard2);
        assert_eq!(
            mux.in_flight(),
            0,
            "a finished or timed-out request leaves nothing"
        );
        mux.complete(reply("_INBOX.abc.99"));
        mux.complete(reply("other.subject"));
    }

    #[tokio::test]
    async fn fail_all_releases_waiters() {
        let mux = Arc::new(RequestMux::new("_INBOX", "x".into()));
        let (_s, rx, _g) = mux.register();
        mux.fail_all(&RequestError::Closed);
        assert!(matches!(rx.await.unwrap(), Err(RequestError::Closed)));
    }
}
