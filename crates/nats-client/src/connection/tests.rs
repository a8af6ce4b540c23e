//! The spec's §3 timelines, run in memory against the state machine with an injected clock:
//! no sockets, no real time. [`Sim`] plays the driver (and the servers): it carries out the
//! machine's actions, records what the client writes, and feeds server bytes back.

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
            let mut from = skip;
            while from < batch.len() {
                let chunk = batch.chunk(from);
                out.extend_from_slice(chunk);
                from += chunk.len();
            }
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
        let frame = PublishFrame {
            subject,
            reply: None,
            headers: None,
            payload: &payload,
        };
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

/// Timeline (a): the only server is killed, then restarted.
#[test]
fn timeline_a_single_server_restart() {
    let mut sim = Sim::new(options(), &["nats://a:4222"]);
    sim.connect("");
    assert_eq!(sim.status(), Status::Connected);
    assert_eq!(names(&sim.take_events()), ["Connected"]);
    let sub = sim.subscribe("orders.>");
    assert_eq!(op_names(&sim.wire).last().unwrap(), "SUB orders.> 1");

    sim.eof();
    assert_eq!(sim.status(), Status::Reconnecting);
    assert_eq!(
        (sim.dropped, sim.retired),
        (1, 0),
        "a broken socket is dropped at once"
    );
    let events = sim.take_events();
    assert_eq!(names(&events), ["Disconnected"]);
    assert!(matches!(
        &events[0],
        Event::Disconnected {
            error: ConnectionError::Io(_)
        }
    ));
    // Publishes are buffered meanwhile (R62).
    sim.publish("orders.new", b"1");
    assert!(sim.shared.queue.buffered() > 0);

    // One server: a wait before every attempt (R15).
    assert_eq!(sim.until_next_timer(), W);
    sim.dial_refused();
    let events = sim.take_events();
    assert!(
        matches!(&events[..], [Event::ReconnectFailed { attempt: 1, .. }]),
        "{events:?}"
    );
    assert_eq!(sim.until_next_timer(), W);
    sim.connect("");
    // R54, R65: CONNECT + PING, then the subscriptions, then the buffered publishes; R76:
    // then the reconnect's own round trip.
    assert_eq!(
        op_names(&sim.wire),
        [
            "CONNECT",
            "PING",
            "SUB orders.> 1",
            "PUB orders.new",
            "PING"
        ]
    );
    assert_eq!(names(&sim.take_events()), ["Reconnected", "Resubscribed"]);
    assert_eq!(sim.status(), Status::Connected);
    assert_eq!(sim.shared.counters.snapshot(0, 0, 0).reconnects, 1);
    assert_eq!(sim.machine.subscriptions(), 1);
    drop(sub);
}

/// Timeline (b): fail-over in a pool [A, B, C]: B at once, then C, then a wait, then A.
#[test]
fn timeline_b_cluster_fail_over() {
    let mut sim = Sim::new(options(), &["nats://a:1", "nats://b:1", "nats://c:1"]);
    sim.connect("");
    sim.take_events();
    sim.eof();
    assert_eq!(
        sim.dials.last().unwrap(),
        "nats://b:1",
        "the next server at once"
    );
    assert_eq!(sim.dial_times.last(), Some(&Duration::ZERO));
    sim.dial_refused();
    assert_eq!(sim.dials.last().unwrap(), "nats://c:1");
    assert_eq!(sim.dial_times.last(), Some(&Duration::ZERO));
    sim.dial_refused();
    // a full pass failed: one wait before A
    assert!(sim.dialing.is_none());
    assert_eq!(sim.until_next_timer(), W);
    assert_eq!(sim.dials.last().unwrap(), "nats://a:1");
    sim.connect("");
    assert_eq!(
        names(&sim.take_events()),
        [
            "Disconnected",
            "ReconnectFailed",
            "ReconnectFailed",
            "Reconnected"
        ]
    );
}

/// Timeline (c): lame duck: an event while still connected; with `lame_duck_reconnect` the
/// client leaves by itself within the window and dials at once.
#[test]
fn timeline_c_lame_duck() {
    let mut sim = Sim::new(options(), &["nats://a:1", "nats://b:1"]);
    sim.connect("");
    sim.take_events();
    sim.server(&info(",\"ldm\":true"));
    assert_eq!(names(&sim.take_events()), ["LameDuckMode"]);
    assert_eq!(sim.status(), Status::Connected);
    assert!(sim.machine.poll_timeout().is_some(), "the ping timer only");

    let opts = options().lame_duck_reconnect(Some(Duration::from_millis(50)));
    let mut sim = Sim::new(opts, &["nats://a:1", "nats://b:1"]);
    sim.connect("");
    sim.take_events();
    sim.server(&info(",\"ldm\":true"));
    let waited = sim.until_next_timer();
    assert!(waited < Duration::from_millis(50), "{waited:?}");
    let events = sim.take_events();
    assert!(
        matches!(
            &events[..],
            [
                Event::LameDuckMode,
                Event::Disconnected {
                    error: ConnectionError::LameDuck
                }
            ]
        ),
        "{events:?}"
    );
    assert_eq!(sim.dials.last().unwrap(), "nats://b:1");
}

/// Timeline (d): max reconnects exhausted: N failed attempts, then Closed with NoServers.
#[test]
fn timeline_d_max_reconnects() {
    let mut sim = Sim::new(options().max_reconnects(Some(3)), &["nats://a:1"]);
    sim.connect("");
    sim.take_events();
    sim.eof();
    for _ in 0..3 {
        sim.until_next_timer();
        sim.dial_refused();
    }
    let events = sim.take_events();
    assert_eq!(
        names(&events),
        [
            "Disconnected",
            "ReconnectFailed",
            "ReconnectFailed",
            "ReconnectFailed",
            "Closed"
        ]
    );
    assert!(matches!(
        events.last(),
        Some(Event::Closed {
            reason: ConnectionError::NoServers
        })
    ));
    assert_eq!(sim.status(), Status::Closed);
    assert!(sim.machine.is_closed());
    assert_eq!(
        sim.machine.poll_timeout(),
        None,
        "no timer outlives the close"
    );
}

/// Timeline (e): the first connect fails everywhere with `retry_on_failed_connect`: a client
/// in Reconnecting, then `Connected` (not `Reconnected`) on the first success.
#[test]
fn timeline_e_retry_on_failed_connect() {
    let opts = options().retry_on_failed_connect(true);
    let mut sim = Sim::new(opts, &["nats://a:1", "nats://b:1"]);
    // R7: each server once, without waiting; then the reconnect loop starts with A at once
    // (B was tried last)
    sim.dial_refused();
    sim.dial_refused();
    assert_eq!(sim.dials, ["nats://a:1", "nats://b:1", "nats://a:1"]);
    assert_eq!(sim.dial_times, [Duration::ZERO; 3]);
    assert_eq!(sim.status(), Status::Reconnecting);
    assert!(matches!(
        *sim.shared.view.watch_connect().borrow(),
        Some(Ok(()))
    ));
    let events = sim.take_events();
    assert!(
        matches!(
            &events[..],
            [Event::ReconnectFailed {
                attempt: 0,
                error: ConnectError::NoServers,
                ..
            }]
        ),
        "{events:?}"
    );
    sim.publish("early", b"x");
    // a full pass: a wait before B
    sim.dial_refused();
    assert_eq!(sim.until_next_timer(), W);
    assert_eq!(sim.dials.last().unwrap(), "nats://b:1");
    sim.connect("");
    assert_eq!(op_names(&sim.wire), ["CONNECT", "PING", "PUB early"]);
    assert_eq!(names(&sim.take_events()), ["ReconnectFailed", "Connected"]);

    // without retry: the connect fails with NoServers and nothing is reported
    let mut sim = Sim::new(options(), &["nats://a:1"]);
    sim.dial_refused();
    assert!(matches!(
        *sim.shared.view.watch_connect().borrow(),
        Some(Err(ConnectError::NoServers))
    ));
    assert!(sim.take_events().is_empty());
    assert_eq!(sim.status(), Status::Closed);
}

/// R37: unanswered pings make the connection stale; a PONG resets the count.
#[test]
fn stale_connection_after_max_pings_out() {
    let opts = options()
        .ping_interval(Duration::from_secs(1))
        .max_pings_out(2);
    let mut sim = Sim::new(opts, &["nats://a:1", "nats://b:1"]);
    sim.connect("");
    sim.take_events();
    sim.until_next_timer();
    sim.until_next_timer();
    assert_eq!(op_names(&sim.wire)[2..], ["PING", "PING"]);
    sim.server(b"PONG\r\nPONG\r\n");
    sim.until_next_timer();
    sim.until_next_timer();
    assert!(sim.take_events().is_empty(), "answered pings keep it up");
    sim.until_next_timer();
    let events = sim.take_events();
    assert!(
        matches!(
            &events[..],
            [Event::Disconnected {
                error: ConnectionError::StaleConnection
            }]
        ),
        "{events:?}"
    );
    assert_eq!(sim.dials.last().unwrap(), "nats://b:1");
}

/// R41, R42: the write deadline runs only while bytes wait, restarts on any progress, and its
/// expiry loses the connection like a stale one (reconnect to the next server).
#[test]
fn write_deadline_runs_from_the_last_progress_while_blocked() {
    let opts = options()
        .ping_interval(Duration::ZERO)
        .flusher_timeout(Duration::from_secs(1));
    let mut sim = Sim::new(opts, &["nats://a:1", "nats://b:1"]);
    sim.connect("");
    sim.take_events();
    assert_eq!(sim.machine.poll_timeout(), None, "idle: no deadline");
    sim.machine.handle_write(true, false, sim.now);
    assert_eq!(
        sim.machine.poll_timeout(),
        Some(sim.now + Duration::from_secs(1))
    );
    sim.advance(Duration::from_millis(600));
    // the socket took a little and is full again: the deadline restarts
    sim.machine.handle_write(true, true, sim.now);
    sim.advance(Duration::from_millis(600));
    // still blocked, no progress: the deadline stays where it was
    sim.machine.handle_write(true, false, sim.now);
    assert_eq!(
        sim.machine.poll_timeout(),
        Some(sim.now + Duration::from_millis(400))
    );
    assert!(sim.take_events().is_empty(), "progress kept it up");
    // everything written: no deadline
    sim.machine.handle_write(false, true, sim.now);
    assert_eq!(sim.machine.poll_timeout(), None);
    sim.machine.handle_write(true, false, sim.now);
    let waited = sim.until_next_timer();
    assert_eq!(waited, Duration::from_secs(1));
    let events = sim.take_events();
    assert!(
        matches!(
            &events[..],
            [Event::Disconnected {
                error: ConnectionError::WriteTimeout(d)
            }] if *d == Duration::from_secs(1)
        ),
        "{events:?}"
    );
    assert_eq!(sim.dials.last().unwrap(), "nats://b:1");
    // zero disables the deadline
    let opts = options()
        .ping_interval(Duration::ZERO)
        .flusher_timeout(Duration::ZERO);
    let mut sim = Sim::new(opts, &["nats://a:1"]);
    sim.connect("");
    sim.machine.handle_write(true, false, sim.now);
    assert_eq!(sim.machine.poll_timeout(), None);
}

/// R44: the same auth error twice from one server ends reconnecting.
#[test]
fn auth_error_twice_closes() {
    let mut sim = Sim::new(options(), &["nats://a:1"]);
    sim.connect("");
    sim.take_events();
    sim.eof();
    for _ in 0..2 {
        sim.until_next_timer();
        sim.dial_ok();
        sim.server(&info(""));
        sim.server(b"-ERR 'Authorization Violation'\r\n");
    }
    let events = sim.take_events();
    assert_eq!(
        names(&events),
        [
            "Disconnected",
            "ReconnectFailed",
            "ReconnectFailed",
            "Closed"
        ]
    );
    assert!(matches!(
        events.last(),
        Some(Event::Closed {
            reason: ConnectionError::Connect(ConnectError::Server(_))
        })
    ));
}

/// R113: drain: UNSUB + PING; on the PONG the subscriptions end once consumed; then the
/// publishes are flushed and the client closes with `Drained`.
#[test]
fn drain_runs_to_closed() {
    let mut sim = Sim::new(options(), &["nats://a:1"]);
    sim.connect("");
    let sub = sim.subscribe("work");
    sim.server(b"MSG work 1 1\r\na\r\nMSG work 1 1\r\nb\r\n");
    sim.take_events();
    sim.wire.clear();
    sim.command(Command::Drain);
    assert_eq!(sim.status(), Status::Draining);
    assert_eq!(op_names(&sim.wire), ["UNSUB 1 None", "PING"]);
    sim.server(b"PONG\r\n");
    assert!(
        sub.is_closed() && !sub.is_consumed(),
        "two messages are still unread"
    );
    sim.step();
    assert_eq!(op_names(&sim.wire).len(), 2, "waits for the consumer");
    sub.set_yielded(2);
    sim.step();
    assert_eq!(op_names(&sim.wire), ["UNSUB 1 None", "PING", "PING"]);
    sim.server(b"PONG\r\n");
    assert!(sim.shutdown_asked, "a graceful close");
    sim.machine.handle_transport_closed(sim.now);
    sim.step();
    let events = sim.take_events();
    assert!(
        matches!(
            &events[..],
            [
                Event::Disconnected {
                    error: ConnectionError::Drained
                },
                Event::Closed {
                    reason: ConnectionError::Drained
                }
            ]
        ),
        "{events:?}"
    );
    assert_eq!(sim.shared.view.drain_result(), Some(Ok(())));
}

/// R113: a drain whose consumer never reads times out, and the client still closes.
#[test]
fn drain_times_out_and_still_closes() {
    let opts = options().drain_timeout(Duration::from_secs(3));
    let mut sim = Sim::new(opts, &["nats://a:1"]);
    sim.connect("");
    let _sub = sim.subscribe("work");
    sim.server(b"MSG work 1 1\r\na\r\n");
    sim.command(Command::Drain);
    sim.server(b"PONG\r\n");
    let mut waited = Duration::ZERO;
    while waited < Duration::from_secs(3) {
        waited += sim.until_next_timer();
    }
    sim.server(b"PONG\r\n");
    sim.machine.handle_transport_closed(sim.now);
    sim.step();
    assert_eq!(
        sim.shared.view.drain_result(),
        Some(Err(DrainError::TimedOut(Duration::from_secs(3))))
    );
    assert_eq!(sim.status(), Status::Closed);
}

/// R112 and R36: drain while reconnecting closes at once; a connection lost while draining
/// closes instead of reconnecting.
#[test]
fn drain_while_reconnecting_or_lost_closes() {
    let mut sim = Sim::new(options(), &["nats://a:1"]);
    sim.connect("");
    sim.eof();
    sim.command(Command::Drain);
    assert_eq!(
        sim.shared.view.drain_result(),
        Some(Err(DrainError::Reconnecting))
    );
    assert_eq!(sim.status(), Status::Closed);

    let mut sim = Sim::new(options(), &["nats://a:1"]);
    sim.connect("");
    sim.command(Command::Drain);
    sim.eof();
    assert_eq!(
        sim.shared.view.drain_result(),
        Some(Err(DrainError::Closed))
    );
    assert_eq!(sim.status(), Status::Closed);
    assert!(sim.dialing.is_none(), "no reconnect");
}

/// Close in each state: every one ends in Closed, once, with no timer left.
#[test]
fn close_in_each_state() {
    type Setup = fn(&mut Sim);
    let setups: [(&str, Setup); 5] = [
        ("initial dial", |_| {}),
        ("handshaking", |s| {
            s.dial_ok();
            s.server(&info(""));
        }),
        ("waiting", |s| {
            s.connect("");
            s.eof();
        }),
        ("dialling again", |s| {
            s.connect("");
            s.eof();
            s.until_next_timer();
        }),
        ("connected", |s| s.connect("")),
    ];
    for (name, setup) in setups {
        let mut sim = Sim::new(options(), &["nats://a:1"]);
        setup(&mut sim);
        sim.take_events();
        sim.command(Command::Close(ConnectionError::ClosedByUser));
        if sim.shutdown_asked {
            // connected: a graceful close, then the transport is shut down
            sim.command(Command::Close(ConnectionError::ClosedByUser));
            sim.machine.handle_transport_closed(sim.now);
            sim.step();
        }
        assert_eq!(sim.status(), Status::Closed, "{name}");
        let events = sim.take_events();
        assert_eq!(
            events
                .iter()
                .filter(|e| matches!(e, Event::Closed { .. }))
                .count(),
            usize::from(name != "initial dial" && name != "handshaking"),
            "{name}: {events:?}"
        );
        assert_eq!(sim.machine.poll_timeout(), None, "{name}");
        assert!(!sim.open, "{name}: transport dropped");
        // closed is final
        sim.command(Command::Close(ConnectionError::ClosedByUser));
        sim.command(Command::Drain);
        assert!(sim.take_events().is_empty(), "{name}");
    }
}

/// A graceful close that cannot finish is cut off by its timer.
#[test]
fn a_stuck_graceful_close_is_bounded() {
    let mut sim = Sim::new(options(), &["nats://a:1"]);
    sim.connect("");
    sim.take_events();
    sim.command(Command::Close(ConnectionError::ClosedByUser));
    assert_eq!(sim.until_next_timer(), Duration::from_secs(2));
    assert_eq!(sim.status(), Status::Closed);
    assert_eq!(names(&sim.take_events()), ["Disconnected", "Closed"]);
}

/// D5, R103: force_reconnect drops a live connection and dials at once; while waiting it cuts
/// the wait short once, and later waits are back.
#[test]
fn force_reconnect_skips_one_wait() {
    let mut sim = Sim::new(options(), &["nats://a:1"]);
    sim.connect("");
    sim.take_events();
    sim.command(Command::ForceReconnect {
        requests_before: u64::MAX,
    });
    let events = sim.take_events();
    assert!(
        matches!(
            &events[..],
            [Event::Disconnected {
                error: ConnectionError::ForcedReconnect
            }]
        ),
        "{events:?}"
    );
    assert_eq!(sim.dials.len(), 2, "dialled without waiting");
    // a connection left on purpose is retired gently; one that broke is dropped at once
    assert_eq!((sim.retired, sim.dropped), (1, 0));
    sim.dial_refused();
    assert_eq!(sim.machine.poll_timeout().map(|t| t - sim.now), Some(W));
    sim.command(Command::ForceReconnect {
        requests_before: u64::MAX,
    });
    assert_eq!(sim.dials.len(), 3, "the wait was cut short");
    sim.dial_refused();
    assert_eq!(
        sim.machine.poll_timeout().map(|t| t - sim.now),
        Some(W),
        "waits again"
    );
}

/// Durations up to `Duration::MAX` are accepted: "never" where they mean never.
#[test]
fn duration_max_means_never_and_never_panics() {
    let opts = options()
        .reconnect_wait(Duration::MAX)
        .reconnect_jitter(Duration::MAX, Duration::MAX)
        .ping_interval(Duration::MAX)
        .connection_timeout(Duration::MAX)
        .drain_timeout(Duration::MAX)
        .lame_duck_reconnect(Some(Duration::MAX));
    let mut sim = Sim::new(opts, &["nats://a:1"]);
    assert_eq!(sim.machine.poll_timeout(), None, "no handshake deadline");
    sim.connect(",\"ldm\":false");
    assert_eq!(sim.machine.poll_timeout(), None, "no ping deadline");
    sim.server(&info(",\"ldm\":true"));
    sim.eof();
    assert_eq!(sim.status(), Status::Reconnecting);
    assert_eq!(sim.machine.poll_timeout(), None, "waits for ever");
    sim.advance(Duration::from_secs(10 * 365 * 24 * 3600));
    assert!(sim.dialing.is_none());
    sim.command(Command::ForceReconnect {
        requests_before: u64::MAX,
    });
    assert!(
        sim.dialing.is_some(),
        "force_reconnect ends the endless wait"
    );
}

/// Guarded callbacks: a panicking delay or server-choice callback is reported and the loop
/// goes on with the default.
#[test]
fn panicking_policy_callbacks_fall_back_to_the_defaults() {
    let calls = Arc::new(Mutex::new(0));
    let seen = Arc::clone(&calls);
    let opts = options()
        .reconnect_delay_callback(|_| panic!("delay bug"))
        .reconnect_to_server_callback(move |_, _| {
            *seen.lock().unwrap() += 1;
            panic!("choice bug")
        });
    let mut sim = Sim::new(opts, &["nats://a:1"]);
    sim.connect("");
    sim.take_events();
    sim.eof();
    let events = sim.take_events();
    let panics: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::CallbackPanicked { callback, .. } => Some(*callback),
            _ => None,
        })
        .collect();
    assert_eq!(
        panics,
        [
            CallbackKind::ReconnectToServer,
            CallbackKind::ReconnectDelay
        ]
    );
    assert_eq!(sim.until_next_timer(), W, "the default wait");
    assert!(sim.dialing.is_some());
    assert_eq!(*calls.lock().unwrap(), 1);
}

/// R24: ops right behind the handshake PONG (INFO, MSG) are handled as the live connection's.
#[test]
fn bytes_after_the_pong_belong_to_the_connection() {
    let mut sim = Sim::new(options(), &["nats://a:1"]);
    let sub = sim.subscribe("x");
    sim.dial_ok();
    sim.server(&info(""));
    let mut bytes = b"PONG\r\n".to_vec();
    bytes.extend_from_slice(&info(",\"connect_urls\":[\"b:1\"]"));
    bytes.extend_from_slice(b"MSG x 1 2\r\nhi\r\n");
    sim.server(&bytes);
    assert_eq!(sim.status(), Status::Connected);
    assert_eq!(sim.shared.view.pool().len(), 2);
    let mut local = std::collections::VecDeque::new();
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    assert!(sub.poll_batch(&mut local, &mut cx).is_ready());
    let msg: Message = local.pop_front().unwrap();
    assert_eq!(msg.subject, "x");
}

mod at_least_once;
