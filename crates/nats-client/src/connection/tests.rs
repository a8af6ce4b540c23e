//! The spec's §3 timelines, run in memory against the state machine with an injected clock:
//! no sockets, no real time. [`Sim`] plays the driver (and the servers): it carries out the
//! machine's actions, records what the client writes, and feeds server bytes back.
//! The tests are in the child modules: `timelines`, `drain_close`, `edge_cases`,
//! `at_least_once`.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use nats_proto::{ClientOp, ClientOpParser};

use super::handshake;
use super::machine::{Action, Connection};
use crate::callback::CallbackKind;
use crate::error::{ConnectError, ConnectionError, DrainError};
use crate::events::{Event, Status};
use crate::message::Message;
use crate::options::ConnectOptions;
use crate::outbound::{Batch, Command, PublishFrame};
use crate::pool::ServerPool;
use crate::rng::Rng;
use crate::server_addr::ServerAddr;
use crate::shared::Shared;
use crate::subscription::SubState;

const W: Duration = Duration::from_millis(100);

/// The machine plus a scripted world around it.
struct Sim {
    shared: Arc<Shared>,
    machine: Connection,
    now: Instant,
    /// The transport is open (a dial succeeded and was not dropped).
    open: bool,
    live: bool,
    /// A dial the machine asked for and the test has not answered yet.
    dialing: Option<ServerAddr>,
    /// Every server dialled, in order.
    dials: Vec<String>,
    /// When each dial was asked for, relative to the start.
    dial_times: Vec<Duration>,
    start: Instant,
    /// Client ops written on the current transport.
    wire: Vec<ClientOp>,
    parser: ClientOpParser,
    events: Vec<Event>,
    shutdown_asked: bool,
    /// Transports dropped at once / retired gently (a connection left on purpose).
    dropped: usize,
    retired: usize,
}

fn options() -> ConnectOptions {
    ConnectOptions::new()
        .no_randomize(true)
        .reconnect_wait(W)
        .reconnect_jitter(Duration::ZERO, Duration::ZERO)
}

fn info(extra: &str) -> Vec<u8> {
    format!("INFO {{\"server_id\":\"S\",\"headers\":true,\"max_payload\":1048576{extra}}}\r\n")
        .into_bytes()
}

impl Sim {
    fn new(options: ConnectOptions, servers: &[&str]) -> Sim {
        let mut rng = Rng::with_seed(7);
        let addrs = servers
            .iter()
            .map(|s| ServerAddr::parse(s).unwrap())
            .collect();
        let pool = ServerPool::new(
            addrs,
            !options.no_randomize,
            options.max_reconnects,
            &mut rng,
        );
        let shared = Arc::new(Shared::new(
            Arc::new(options),
            pool.entries().to_vec(),
            Rng::with_seed(8),
        ));
        let machine = Connection::new(Arc::clone(&shared), pool, rng);
        let now = Instant::now();
        let mut sim = Sim {
            shared,
            machine,
            now,
            open: false,
            live: false,
            dialing: None,
            dials: Vec::new(),
            dial_times: Vec::new(),
            start: now,
            wire: Vec::new(),
            parser: ClientOpParser::new(),
            events: Vec::new(),
            shutdown_asked: false,
            dropped: 0,
            retired: 0,
        };
        sim.machine.start(now);
        sim.step();
        sim
    }

    /// Plays the driver once: records, actions, the bytes written, events.
    fn step(&mut self) {
        let mut records = Vec::new();
        self.shared.queue.take_records(&mut records);
        self.machine.handle_records(&mut records, self.now);
        if self.machine.is_draining() {
            self.machine.poll_drain(self.now);
        }
        while let Some(action) = self.machine.poll_action() {
            match action {
                Action::Dial { addr, .. } => {
                    self.drop_transport();
                    self.dials.push(addr.to_string());
                    self.dial_times.push(self.now - self.start);
                    self.dialing = Some(addr);
                }
                Action::UpgradeTls { .. } => self.machine.handle_tls(Ok(()), self.now),
                Action::Authenticate { addr, info, tls } => {
                    let mut panicked = None;
                    let result = handshake::connect_info(
                        &self.shared.options,
                        &addr,
                        &info,
                        tls,
                        &mut panicked,
                    );
                    self.machine.handle_credentials(result, panicked, self.now);
                }
                Action::GoLive => self.live = true,
                Action::DropTransport => {
                    self.dropped += usize::from(self.open);
                    self.drop_transport();
                }
                Action::RetireTransport => {
                    self.retired += usize::from(self.open);
                    self.drop_transport();
                }
                Action::Shutdown => self.shutdown_asked = true,
            }
        }
        let mut out = BytesMut::new();
        self.machine.poll_transmit(&mut out);
        if self.live {
            self.write_queue(&mut out);
            // As the driver does after each round of writing.
            self.machine.poll_confirm(self.now);
            self.write_queue(&mut out);
        }
        while let Ok(Some(op)) = self.parser.parse(&mut out) {
            self.wire.push(op);
        }
        while let Some(e) = self.machine.poll_event() {
            self.events.push(e);
        }
        if self.machine.poll_action().is_some() {
            panic!("actions left after a step");
        }
    }

    /// Writes everything queued (each batch handed back once written, as the driver does).
    fn write_queue(&mut self, out: &mut BytesMut) {
        let mut batch = Batch::default();
        while let crate::outbound::Take::Batch { skip } =
            self.shared.queue.take(&mut batch, self.now, true)
        {
            out.extend_from_slice(&batch.to_vec_from(skip));
        }
    }

    fn drop_transport(&mut self) {
        self.open = false;
        self.live = false;
        self.dialing = None;
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
        self.machine.handle_timeout(self.now);
        self.step();
    }

    /// Advances to the machine's next deadline.
    fn until_next_timer(&mut self) -> Duration {
        let at = self.machine.poll_timeout().expect("a timer is set");
        let d = at.saturating_duration_since(self.now);
        self.advance(d);
        d
    }

    fn dial_ok(&mut self) {
        assert!(self.dialing.take().is_some(), "no dial pending");
        self.open = true;
        self.wire.clear();
        self.machine.handle_dialed(Ok(false), self.now);
        self.step();
    }

    fn dial_refused(&mut self) {
        assert!(self.dialing.take().is_some(), "no dial pending");
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        self.machine.handle_dialed(Err(refused.into()), self.now);
        self.step();
    }

    fn server(&mut self, bytes: &[u8]) {
        let mut buf = BytesMut::from(bytes);
        self.machine.handle_input(&mut buf, self.now);
        self.step();
    }

    /// A successful dial and handshake.
    fn connect(&mut self, info_extra: &str) {
        self.dial_ok();
        self.server(&info(info_extra));
        assert!(
            matches!(
                self.wire.as_slice(),
                [ClientOp::Connect(_), ClientOp::Ping, ..]
            ),
            "{:?}",
            self.wire
        );
        self.server(b"PONG\r\n");
        assert!(self.live);
    }

    fn eof(&mut self) {
        self.machine
            .handle_transport_error(ConnectionError::eof(), self.now);
        self.step();
    }

    fn command(&mut self, command: Command) {
        self.shared.queue.command(command);
        self.step();
    }

    fn subscribe(&mut self, subject: &str) -> Arc<SubState> {
        let sid = self
            .shared
            .next_sid
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let sub = Arc::new(SubState::new(
            sid,
            subject.into(),
            None,
            false,
            (1000, 1 << 20),
            Arc::clone(&self.shared.driver),
        ));
        self.shared.queue.subscribe(Arc::clone(&sub), |b| {
            nats_proto::encode_sub(b, subject, None, sid)
        });
        self.step();
        sub
    }

    fn publish(&mut self, subject: &str, payload: &'static [u8]) {
        let payload = Bytes::from_static(payload);
        let frame = PublishFrame::plain(subject, &payload);
        self.shared.queue.try_publish(&frame).unwrap().unwrap();
        self.step();
    }

    fn status(&self) -> Status {
        self.shared.view.status()
    }

    fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }
}

fn names(events: &[Event]) -> Vec<&'static str> {
    events
        .iter()
        .map(|e| match e {
            Event::Connected => "Connected",
            Event::Disconnected { .. } => "Disconnected",
            Event::ReconnectFailed { .. } => "ReconnectFailed",
            Event::Reconnected => "Reconnected",
            Event::Resubscribed => "Resubscribed",
            Event::Resent { .. } => "Resent",
            Event::DiscoveredServers => "DiscoveredServers",
            Event::LameDuckMode => "LameDuckMode",
            Event::SlowConsumer { .. } => "SlowConsumer",
            Event::ServerError { .. } => "ServerError",
            Event::CallbackPanicked { .. } => "CallbackPanicked",
            Event::Closed { .. } => "Closed",
        })
        .collect()
}

fn op_names(ops: &[ClientOp]) -> Vec<String> {
    ops.iter()
        .map(|op| match op {
            ClientOp::Connect(_) => "CONNECT".to_string(),
            ClientOp::Ping => "PING".into(),
            ClientOp::Pong => "PONG".into(),
            ClientOp::Sub { subject, sid, .. } => format!("SUB {subject} {sid}"),
            ClientOp::Unsub { sid, max } => format!("UNSUB {sid} {max:?}"),
            ClientOp::Pub { subject, .. } => format!("PUB {subject}"),
            other => format!("{other:?}"),
        })
        .collect()
}

mod at_least_once;
mod drain_close;
mod edge_cases;
mod timelines;
