//! Drain (R113) and close in each state, and a graceful close that cannot finish.

use super::*;

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
