//! The spec's timelines (restart, fail-over, lame duck, max reconnects, retry on failed
//! connect), keep-alive, the write deadline and the auth error twice, in paused time.

use super::*;

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
