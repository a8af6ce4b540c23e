//! Drain (R113): unsubscribe, wait for the subscribers, flush the publishes, close.

use super::*;

impl Connection {
    pub(super) fn start_drain(&mut self, now: Instant) {
        if self.drain.is_some() {
            return;
        }
        match &self.state {
            State::Connected { .. } => {}
            State::Closing { .. } | State::Closed => {
                self.shared.view.set_drain_result(Err(DrainError::Closed));
                return;
            }
            // R112: while (re)connecting, close at once instead.
            State::Waiting { .. } | State::Dialing { .. } | State::Handshaking(_) => {
                self.shared
                    .view
                    .set_drain_result(Err(DrainError::Reconnecting));
                self.close(ConnectionError::ClosedByUser, now);
                return;
            }
        }
        self.shared.view.set_status(Status::Draining);
        self.shared.requests.set_draining();
        let subs = self.subs.user_subscriptions();
        for sub in &subs {
            sub.set_draining();
            let sid = sub.sid;
            self.shared
                .queue
                .control(|b| nats_proto::encode_unsub(b, sid, None));
        }
        let token = self.round_trip();
        self.timers
            .set(Timer::Drain, deadline(now, self.opts.drain_timeout));
        self.drain = Some(Drain::new(token, subs));
    }

    /// A PING in the queue whose PONG comes back to [`drain_pong`](Self::drain_pong).
    fn round_trip(&mut self) -> u64 {
        self.next_token += 1;
        let token = self.next_token;
        let _ = self.shared.queue.ping(PongWaiter::Internal(token));
        token
    }

    pub(super) fn drain_pong(&mut self, token: u64, now: Instant) {
        let Some(drain) = &mut self.drain else {
            return;
        };
        match drain.stage {
            Stage::Unsubscribing(t) if t == token => {
                // The server has processed every UNSUB: nothing more arrives for them. Their
                // streams end once what arrived is consumed.
                for sub in &drain.subs {
                    sub.close();
                    self.subs.remove(sub.sid);
                }
                drain.stage = Stage::Consuming;
                self.poll_drain(now);
            }
            Stage::Flushing(t) if t == token => self.drain_done(now),
            _ => {}
        }
    }

    /// Re-checks a drain waiting for consumers and requests in flight.
    pub(crate) fn poll_drain(&mut self, now: Instant) {
        let Some(drain) = &self.drain else {
            return;
        };
        if drain.stage == Stage::Consuming
            && drain.consumed()
            && self.shared.requests.in_flight() == 0
        {
            self.drain_flush(now, None);
        }
    }

    /// The publish phase: no more publishes (R70); what is queued reaches the server.
    fn drain_flush(&mut self, now: Instant, limit: Option<Duration>) {
        self.shared.queue.set_phase(Phase::DrainingPubs);
        let token = self.round_trip();
        if let Some(limit) = limit {
            self.timers.set(Timer::Drain, deadline(now, limit));
        }
        if let Some(drain) = &mut self.drain {
            drain.stage = Stage::Flushing(token);
        }
    }

    pub(super) fn drain_timer(&mut self, now: Instant) {
        let Some(drain) = &mut self.drain else {
            return;
        };
        drain.timed_out = true;
        match drain.stage {
            Stage::Unsubscribing(_) | Stage::Consuming => {
                self.drain_flush(now, Some(DRAIN_FLUSH_TIMEOUT))
            }
            Stage::Flushing(_) => self.drain_done(now),
        }
    }

    fn drain_done(&mut self, now: Instant) {
        let Some(drain) = self.drain.take() else {
            return;
        };
        self.timers.stop(Timer::Drain);
        let result = if drain.timed_out {
            Err(DrainError::TimedOut(self.opts.drain_timeout))
        } else {
            Ok(())
        };
        self.shared.view.set_drain_result(result);
        self.close(ConnectionError::Drained, now);
    }
}
