//! Dialling: the first connect's walk over the pool, reconnect attempts and their back-off, the
//! handshake steps, and what an established connection starts with (R10, R15–R22, R54–R65, R76).

use super::*;

impl Connection {
    pub(super) fn dial_initial(&mut self, now: Instant) {
        let Some(walk) = &mut self.initial else {
            return;
        };
        let Some(addr) = self.pool.get(walk.next).cloned() else {
            return self.initial_exhausted(now);
        };
        walk.next += 1;
        self.pool.set_current(&addr);
        self.attempt = 0;
        self.dial(addr, now);
    }

    /// Every server failed once (R7, R8): give up, or with `retry_on_failed_connect` go on as a
    /// reconnecting client (R108).
    fn initial_exhausted(&mut self, now: Instant) {
        let Some(walk) = self.initial.take() else {
            return;
        };
        let error = match (walk.last_error, walk.all_refused) {
            (Some(e), false) => e,
            _ => ConnectError::NoServers,
        };
        if self.opts.retry_on_failed_connect {
            self.shared.queue.set_phase(Phase::Disconnected);
            self.set_reconnecting();
            let server = self
                .pool
                .current()
                .map(ToString::to_string)
                .unwrap_or_default();
            self.events.push_back(Event::ReconnectFailed {
                server,
                error,
                attempt: 0,
            });
            self.shared.view.set_connect_result(Ok(()));
            self.next_attempt(now);
        } else {
            self.shared.view.set_connect_result(Err(error.clone()));
            self.finish_unobserved(ConnectionError::Connect(error));
        }
    }

    /// Picks the next server and when to dial it (R11–R17, R106), then dials or waits.
    pub(super) fn next_attempt(&mut self, now: Instant) {
        match self.choose(now) {
            None => self.finish(ConnectionError::NoServers),
            Some((addr, Some(at))) if at <= now => self.start_attempt(addr, now),
            Some((addr, at)) => {
                self.timers.set(Timer::Reconnect, at);
                self.state = State::Waiting { next: addr };
            }
        }
    }

    /// The next server and its dial deadline (`None`: never): the R106 callback if set and it
    /// picks a pool member, otherwise the default rotation (R11) and back-off (R15). `None`
    /// when the pool is empty (R13).
    fn choose(&mut self, now: Instant) -> Option<(ServerAddr, Option<Instant>)> {
        if let Some(callback) = self.opts.reconnect_to_server.clone() {
            self.pool.remove_exhausted();
            self.publish_pool();
            if self.pool.is_empty() {
                return None;
            }
            let snapshot = self.pool.entries().to_vec();
            let info = self.shared.view.info();
            match guarded(CallbackKind::ReconnectToServer, || {
                callback(&snapshot, Some(&info))
            }) {
                Ok(Some((addr, delay))) => {
                    if self.pool.choose(&addr) {
                        return Some((addr, deadline(now, delay)));
                    }
                    self.events.push_back(Event::ReconnectFailed {
                        server: addr.to_string(),
                        error: ConnectError::ServerNotInPool,
                        attempt: 0,
                    });
                }
                Ok(None) => {}
                Err(panic) => self.report_panic(panic),
            }
        }
        let addr = self.pool.select_next()?;
        let mut panicked = None;
        let at = self.backoff.next_deadline(
            now,
            self.pool.len(),
            &self.policy,
            &mut self.rng,
            &mut panicked,
        );
        if let Some(panic) = panicked {
            self.report_panic(panic);
        }
        self.publish_pool();
        Some((addr, at))
    }

    /// A reconnect attempt (counted against the server's budget, R12).
    pub(super) fn start_attempt(&mut self, addr: ServerAddr, now: Instant) {
        self.pool.record_attempt(&addr);
        self.attempt = self
            .pool
            .entries()
            .iter()
            .find(|e| e.addr == addr)
            .map_or(1, |e| e.attempts);
        self.publish_pool();
        self.dial(addr, now);
    }

    fn dial(&mut self, addr: ServerAddr, now: Instant) {
        self.timers.set(
            Timer::Handshake,
            deadline(now, self.opts.connection_timeout),
        );
        self.actions.push_back(Action::Dial {
            addr: addr.clone(),
            tls_first: self.opts.tls.first,
        });
        self.state = State::Dialing { addr };
    }

    /// One attempt failed: the transport goes at once (D4), then the next server (or the rules
    /// end reconnecting: R44 same auth error twice).
    pub(super) fn attempt_failed(&mut self, error: ConnectError, now: Instant) {
        self.actions.push_back(Action::DropTransport);
        self.timers.stop(Timer::Handshake);
        let addr = match std::mem::replace(&mut self.state, State::Closed) {
            State::Dialing { addr } => addr,
            State::Handshaking(hs) => hs.addr,
            other => {
                self.state = other;
                return;
            }
        };
        tracing::debug!(server = %addr, %error, attempt = self.attempt, "connect attempt failed");
        if let Some(walk) = &mut self.initial {
            walk.all_refused &= error.is_refused();
            walk.last_error = Some(error);
            return self.dial_initial(now);
        }
        Counters::add(&self.shared.counters.failed_reconnects, 1);
        self.events.push_back(Event::ReconnectFailed {
            server: addr.to_string(),
            error: error.clone(),
            attempt: self.attempt,
        });
        if let ConnectError::Server(e) = &error {
            if e.is_auth_error() {
                let repeated = self.pool.record_auth_error(&addr, e.kind());
                if repeated && !self.opts.ignore_auth_error_abort {
                    return self.finish(ConnectionError::Connect(error));
                }
            }
        }
        self.next_attempt(now);
    }

    pub(super) fn after_handshake_step(&mut self, next: Next, now: Instant) {
        if matches!(next, Next::UpgradeTls | Next::Authenticate) {
            // the INFO has just arrived
            self.learn_during_first_walk();
        }
        let State::Handshaking(hs) = &self.state else {
            return;
        };
        match next {
            Next::Wait => {}
            Next::UpgradeTls => self.actions.push_back(Action::UpgradeTls {
                addr: hs.addr.clone(),
            }),
            Next::Authenticate => {
                let info = hs.info.clone().unwrap_or_default();
                self.actions.push_back(Action::Authenticate {
                    addr: hs.addr.clone(),
                    info: Box::new(info),
                    tls: hs.tls,
                });
            }
            Next::SendPong => nats_proto::encode_pong(&mut self.transmit),
            Next::Established => self.established(now),
            Next::Failed(e) => self.attempt_failed(e, now),
        }
    }

    pub(super) fn handshake_input(&mut self, buf: &mut BytesMut, now: Instant) {
        while let State::Handshaking(hs) = &mut self.state {
            if !hs.reads_ops() {
                break;
            }
            match self.parser.parse(buf) {
                Ok(None) => break,
                Ok(Some(op)) => {
                    let next = hs.on_op(op, &self.opts);
                    self.after_handshake_step(next, now);
                }
                Err(e) => {
                    self.attempt_failed(ConnectError::Protocol(e.to_string()), now);
                    break;
                }
            }
        }
        // R24: bytes after the PONG belong to the live connection.
        if matches!(self.state, State::Connected { .. }) && !buf.is_empty() {
            self.live_input(buf, now);
        }
    }

    /// The handshake completed: the pool, the server info, the subscriptions re-sent before
    /// the buffered publishes (R54, R65), the status and events (R26, R83).
    fn established(&mut self, now: Instant) {
        let State::Handshaking(hs) = std::mem::replace(&mut self.state, State::Closed) else {
            return;
        };
        self.timers.stop(Timer::Handshake);
        let first = !self.ever_connected;
        self.pool.record_connected(&hs.addr);
        if let Some(info) = hs.info {
            // R96, R102: the first connection's INFO raises no discovery or lame-duck event.
            self.apply_info(info, first, now);
        }
        if !first {
            Counters::add(&self.shared.counters.reconnects, 1);
        }
        self.ever_connected = true;
        self.initial = None;
        let subs = &mut self.subs;
        let mut commands = Vec::new();
        let mut resubscribed = 0;
        let resent = self
            .shared
            .queue
            .connect(Phase::Connected, |records, prefix| {
                for record in records.drain(..) {
                    match record {
                        Record::Subscribe(sub) => subs.insert(sub),
                        Record::Unsubscribe(sid) => {
                            subs.remove(sid);
                        }
                        Record::Command(c) => commands.push(Record::Command(c)),
                    }
                }
                resubscribed = subs.resubscribe(prefix);
            });
        tracing::info!(server = %hs.addr, "connected");
        self.shared.view.set_connected(Some(hs.addr.clone()));
        self.state = State::Connected {
            addr: hs.addr,
            pings_out: 0,
        };
        self.arm_ping(now);
        self.actions.push_back(Action::GoLive);
        self.shared.view.set_status(Status::Connected);
        if first {
            self.events.push_back(Event::Connected);
        } else {
            self.events.push_back(Event::Reconnected);
            if resubscribed > 0 {
                self.events.push_back(Event::Resubscribed);
            }
            if resent > 0 {
                tracing::info!(messages = resent, "re-sent unconfirmed publishes");
                self.events.push_back(Event::Resent { messages: resent });
            }
        }
        self.shared.view.set_connect_result(Ok(()));
        self.publish_pool();
        self.handle_records(&mut commands, now);
        if !first {
            // R76: one round trip after each reconnect, behind the resubscriptions and the
            // reconnect buffer: its PONG shows the new server took them (with
            // `at_least_once` it confirms the re-sent publishes at once), and a server that
            // accepted the handshake but cannot serve is found by the keep-alive rules.
            let _ = self.shared.queue.ping(PongWaiter::KeepAlive);
        }
    }
}
