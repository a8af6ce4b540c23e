//! The live connection: parsing what the server sends and dispatching it, INFO updates,
//! server errors, keep-alive (R37–R39) and `at_least_once` confirmations.

use super::*;

impl Connection {
    pub(super) fn live_input(&mut self, buf: &mut BytesMut, now: Instant) {
        let mut msgs = 0u64;
        loop {
            if !self.is_live() {
                break;
            }
            match self.parser.parse(buf) {
                Ok(None) => break,
                Ok(Some(ServerOp::Msg(op))) => {
                    msgs += 1;
                    let sid = op.sid;
                    let Some(sub) = self.subs.get(sid) else {
                        // For a subscription already gone (unsubscribed, drained): ignored.
                        continue;
                    };
                    if sub.is_mux {
                        self.shared.requests.complete(Message::from_op(op));
                        continue;
                    }
                    match sub.deliver(Message::from_op(op), &mut self.wake) {
                        Delivery::Queued | Delivery::Ignored => {}
                        Delivery::Dropped { first, total } => {
                            Counters::add(&self.shared.counters.dropped_msgs, 1);
                            if first {
                                self.events.push_back(Event::SlowConsumer {
                                    sid,
                                    dropped: total,
                                });
                            }
                        }
                        Delivery::LastMessage => {
                            self.subs.remove(sid);
                        }
                        Delivery::Panicked { panic, last } => {
                            if last {
                                self.subs.remove(sid);
                            }
                            self.report_panic(panic);
                        }
                    }
                }
                Ok(Some(ServerOp::Ping)) => {
                    self.shared.queue.control(nats_proto::encode_pong);
                }
                Ok(Some(ServerOp::Pong)) => {
                    if let State::Connected { pings_out, .. } = &mut self.state {
                        *pings_out = 0;
                    }
                    if let Some(token) = self.shared.queue.pong() {
                        self.drain_pong(token, now);
                    }
                }
                Ok(Some(ServerOp::Info(info))) => self.apply_info(*info, false, now),
                Ok(Some(ServerOp::Err(error))) => self.server_error(error, now),
                Ok(Some(_)) => {}
                Err(e) => {
                    self.lose(ConnectionError::Protocol(e), false, now);
                    break;
                }
            }
        }
        if msgs > 0 {
            Counters::add(&self.shared.counters.in_msgs, msgs);
        }
    }

    /// R10: servers the INFO of a handshake announces during the first walk join the pool at
    /// once (quietly, as the first connection's INFO does), so the walk reaches them in the
    /// same pass even if this server then refuses; the walk reads the pool afresh for each
    /// server, so a pool that grows or shrinks under it is fine.
    pub(super) fn learn_during_first_walk(&mut self) {
        if self.initial.is_none() || self.opts.ignore_discovered_servers {
            return;
        }
        let State::Handshaking(hs) = &self.state else {
            return;
        };
        let Some(urls) = hs.info.as_ref().map(|i| i.connect_urls.clone()) else {
            return;
        };
        if !urls.is_empty() {
            self.pool.apply_connect_urls(&urls, &mut self.rng);
            self.publish_pool();
        }
    }

    /// Applies a server INFO (R95–R102). `initial` is the first connection's INFO.
    pub(super) fn apply_info(&mut self, info: ServerInfo, initial: bool, now: Instant) {
        if !self.opts.ignore_discovered_servers {
            let new = self
                .pool
                .apply_connect_urls(&info.connect_urls, &mut self.rng);
            if !new.is_empty() && !initial {
                self.events.push_back(Event::DiscoveredServers);
            }
            self.publish_pool();
        }
        let lame_duck = info.ldm;
        self.shared.view.set_info(info);
        if lame_duck && !initial {
            self.events.push_back(Event::LameDuckMode);
            if let Some(window) = self.opts.lame_duck_reconnect {
                if !self.timers.is_set(Timer::LameDuck) {
                    let delay = self.rng.duration_below(window);
                    self.timers.set(Timer::LameDuck, deadline(now, delay));
                }
            }
        }
    }

    /// A `-ERR` on a live connection (R43, R46, R50–R52).
    fn server_error(&mut self, error: ServerError, now: Instant) {
        if let Some(("subscription", subject, queue)) = error.permission_subject() {
            // The refused subscription learns it too (before the event goes out).
            let refused = self.subs.deny(subject, queue, &error);
            tracing::warn!(
                subject,
                ?queue,
                subscriptions = refused,
                "subscription refused"
            );
        }
        if error.is_connection_kept() {
            self.events.push_back(Event::ServerError { error });
            return;
        }
        if error.is_auth_error() {
            // Reported and remembered; the server closes the socket itself (R46).
            if let State::Connected { addr, .. } = &self.state {
                let addr = addr.clone();
                self.pool.record_auth_error(&addr, error.kind());
            }
            self.events.push_back(Event::ServerError { error });
            return;
        }
        let cause = if matches!(error.kind(), ServerErrorKind::StaleConnection) {
            ConnectionError::StaleConnection
        } else {
            ConnectionError::Server(error)
        };
        self.lose(cause, false, now);
    }

    pub(super) fn arm_ping(&mut self, now: Instant) {
        let every = self.opts.ping_interval;
        if every.is_zero() {
            self.timers.stop(Timer::Ping);
        } else {
            self.timers.set(Timer::Ping, deadline(now, every));
        }
    }

    /// `at_least_once`: queues a confirmation PING when the policy asks for one, or sets the
    /// timer for its age trigger. The driver calls it after every round of writing; the timer
    /// and a PONG bring the next look.
    pub(crate) fn poll_confirm(&mut self, now: Instant) {
        let settings = &self.opts.at_least_once;
        if !settings.enabled || !matches!(self.state, State::Connected { .. }) {
            return;
        }
        let policy = ConfirmPolicy {
            threshold: settings.threshold,
            interval: settings.interval,
        };
        let Some(status) = self.shared.queue.confirm_status() else {
            return;
        };
        match policy.step(status, now) {
            Step::Ping => {
                self.timers.stop(Timer::Confirm);
                let _ = self.shared.queue.ping(PongWaiter::Confirm);
            }
            Step::At(at) => self.timers.set(Timer::Confirm, Some(at)),
            Step::Idle => self.timers.stop(Timer::Confirm),
        }
    }

    /// Keep-alive (R37–R39).
    pub(super) fn ping_tick(&mut self, now: Instant) {
        let State::Connected { pings_out, .. } = &mut self.state else {
            return;
        };
        *pings_out += 1;
        match ping::on_tick(*pings_out, self.opts.max_pings_out) {
            Tick::Stale => self.lose(ConnectionError::StaleConnection, false, now),
            Tick::SendPing => {
                let _ = self.shared.queue.ping(PongWaiter::KeepAlive);
                self.arm_ping(now);
            }
        }
    }
}
