//! The one writer task per connection (DESIGN §3): it takes the whole shared buffer, writes it
//! without holding the lock, and parks when there is nothing to write, so a lone request goes out
//! at once and a burst goes out in large writes.
//!
//! Stopping is cooperative: a socket write is cancel-safe (a cancelled `write` wrote nothing),
//! so on `Stop` the task hands back exactly the bytes the socket did not take (D1).

use std::io;
use std::sync::Arc;

use bytes::BytesMut;
use tokio::sync::watch;

use super::handshake::WriteHalf;
use crate::shared::Shared;

/// What the supervisor wants from the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Keep writing.
    Run,
    /// Write what is buffered, then shut the socket down (graceful close).
    Finish,
    /// Stop now and hand back what is unwritten.
    Stop,
}

/// What the writer leaves behind.
pub(crate) struct Exit {
    /// The bytes it had taken from the buffer…
    pub(crate) taken: BytesMut,
    /// …of which the socket accepted this many.
    pub(crate) sent: usize,
    /// The write error, if that is why it stopped.
    pub(crate) error: Option<io::Error>,
}

/// Initial capacity of the writer's spare buffer.
const SPARE_CAPACITY: usize = 64 * 1024;

pub(crate) async fn run(
    shared: Arc<Shared>,
    mut sock: WriteHalf,
    mut mode: watch::Receiver<Mode>,
) -> Exit {
    let mut taken = BytesMut::with_capacity(SPARE_CAPACITY);
    let mut sent = 0usize;
    loop {
        if sent == taken.len() {
            sent = 0;
            if let Some(already_sent) = shared.write.take(&mut taken) {
                sent = already_sent;
            } else {
                taken.clear();
                if *mode.borrow() != Mode::Run {
                    let _ = sock.shutdown().await;
                    return Exit {
                        taken,
                        sent,
                        error: None,
                    };
                }
                tokio::select! {
                    biased;
                    changed = mode.changed() => {
                        if changed.is_err() {
                            return Exit { taken, sent, error: None };
                        }
                    }
                    () = shared.write.writer_wake.notified() => {}
                }
                continue;
            }
        }
        let stop_now = *mode.borrow() == Mode::Stop;
        if stop_now {
            return Exit {
                taken,
                sent,
                error: None,
            };
        }
        let chunk = taken.get(sent..).unwrap_or_default();
        tokio::select! {
            biased;
            changed = mode.changed() => {
                if changed.is_err() || *mode.borrow() == Mode::Stop {
                    return Exit { taken, sent, error: None };
                }
            }
            written = sock.write(chunk) => match written {
                Ok(0) => {
                    return Exit {
                        taken,
                        sent,
                        error: Some(io::Error::new(io::ErrorKind::WriteZero, "socket accepted no bytes")),
                    }
                }
                Ok(n) => sent += n,
                Err(e) => return Exit { taken, sent, error: Some(e) },
            }
        }
    }
}
