//! How a connection ends: lost (to reconnect) or closed for good, with the events and the
//! view updated once (D2, R83–R91).

use super::*;

impl Connection {
    /// lame duck, which reconnect even with `allow_reconnect(false)`, R104, and skip the first
    /// wait, R103). What follows: R33, R35, R36, R50, R52.
    pub(super) fn lose(&mut self, cause: ConnectionError, forced: bool, now: Instant) {
        if matches!(self.state, State::Closing { .. }) {
            // Closing already: this ends the flush, the close reason stays.
            return self.handle_transport_closed(now);
        }
        let fatal = matches!(&cause, ConnectionError::Server(e) if !e.triggers_reconnect());
        let after = if self.drain.is_some() || fatal || (!self.opts.allow_reconnect && !forced) {
            After::Close(cause.clone())
        } else {
            After::Reconnect { skip_wait: forced }
        };
        // teardown takes the queue out of Connected before the status says Reconnecting
        self.teardown(cause, now);
        match after {
            After::Reconnect { skip_wait } => {
                self.set_reconnecting();
                self.backoff = Backoff::new();
                if skip_wait {
                    self.backoff.skip_next_wait();
                }
                self.next_attempt(now);
            }
            After::Close(reason) => self.finish(reason),
        }
    }

    /// Publishes the status `Reconnecting`, once the queue has left `Connected`: a caller that
    /// has seen `Reconnecting` publishes into the reconnect buffer under its limit (R63, R64),
    /// never into the dead connection's batch, where the frame could go to a closed socket.
    pub(super) fn set_reconnecting(&self) {
        debug_assert!(
            self.shared.queue.phase() != Phase::Connected,
            "Reconnecting shown while the queue still takes publishes for the old connection"
        );
        self.shared.view.set_status(Status::Reconnecting);
    }

    /// Ends the live connection: the transport goes, the queue keeps what was not written (D1),
    /// PING waiters fail (R74), `Disconnected` fires once with its cause (D2).
    pub(super) fn teardown(&mut self, cause: ConnectionError, _now: Instant) {
        // a live connection left on purpose (force_reconnect, a lame-duck move)
        self.actions.push_back(
            if cause.is_deliberate() && matches!(self.state, State::Connected { .. }) {
                Action::RetireTransport
            } else {
                Action::DropTransport
            },
        );
        self.shared.queue.disconnect(Phase::Disconnected);
        for timer in [
            Timer::Ping,
            Timer::LameDuck,
            Timer::CloseFlush,
            Timer::Confirm,
            Timer::Write,
        ] {
            self.timers.stop(timer);
        }
        if let State::Connected { addr, .. } = &self.state {
            tracing::info!(server = %addr, error = %cause, "disconnected");
        }
        self.state = State::Closed;
        self.shared.view.set_connected(None);
        self.events.push_back(Event::Disconnected { error: cause });
    }

    /// Close: a live connection flushes what is queued first (bounded), anything else closes
    /// at once.
    pub(super) fn close(&mut self, reason: ConnectionError, now: Instant) {
        match &self.state {
            State::Connected { .. } => {
                self.shared.queue.set_phase(Phase::Closing);
                for timer in [Timer::Ping, Timer::LameDuck, Timer::Drain] {
                    self.timers.stop(timer);
                }
                self.timers
                    .set(Timer::CloseFlush, deadline(now, CLOSE_FLUSH_TIMEOUT));
                self.actions.push_back(Action::Shutdown);
                self.state = State::Closing { reason };
            }
            State::Closing { .. } | State::Closed => {}
            State::Waiting { .. } | State::Dialing { .. } | State::Handshaking(_) => {
                self.actions.push_back(Action::DropTransport);
                if self.initial.take().is_some() {
                    // The connect future was dropped: nobody holds a client to see events.
                    self.shared
                        .view
                        .set_connect_result(Err(ConnectError::NoServers));
                    self.finish_unobserved(reason);
                } else {
                    self.finish(reason);
                }
            }
        }
    }

    /// Closed for good (R13, R68, R81, R87, R114): the queue is discarded, waiters fail,
    /// subscriptions end, `Closed` fires once.
    pub(super) fn finish(&mut self, reason: ConnectionError) {
        self.finish_quietly(reason.clone());
        tracing::info!(%reason, "closed");
        self.events.push_back(Event::Closed { reason });
    }

    /// Closes a client nobody holds (its first connect failed, or the connect future was
    /// dropped): no event at all, and every event stream ends, so the callback task does not
    /// outlive it (R9).
    pub(super) fn finish_unobserved(&mut self, reason: ConnectionError) {
        self.finish_quietly(reason);
        self.shared.events.end_quietly();
    }

    fn finish_quietly(&mut self, reason: ConnectionError) {
        self.state = State::Closed;
        self.timers.stop_all();
        self.actions.push_back(Action::DropTransport);
        self.shared.queue.set_phase(Phase::Closed);
        self.shared.requests.close(&RequestError::Closed);
        self.subs.close_all();
        if self.drain.take().is_some() {
            self.shared.view.set_drain_result(Err(DrainError::Closed));
        }
        self.shared.view.set_connected(None);
        self.shared.view.set_closed_reason(reason);
        self.shared.view.set_status(Status::Closed);
    }
}
