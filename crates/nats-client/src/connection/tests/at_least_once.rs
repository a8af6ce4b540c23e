//! `at_least_once` against the state machine with an injected clock: when confirmation PINGs
//! go out, what a PONG confirms, and what a reconnect re-sends (and in which order).

use super::*;

fn alo() -> ConnectOptions {
    options()
        .at_least_once(true)
        .at_least_once_threshold(40)
        .at_least_once_interval(Duration::from_millis(100))
}

fn last_op(sim: &Sim) -> String {
    op_names(&sim.wire).last().cloned().unwrap_or_default()
}

#[test]
fn a_lone_publish_is_confirmed_after_the_interval() {
    let mut sim = Sim::new(alo(), &["nats://a:1"]);
    sim.connect("");
    sim.publish("a", b"1");
    assert_eq!(
        last_op(&sim),
        "PUB a",
        "12 bytes: below the threshold, no PING yet"
    );
    assert_eq!(sim.until_next_timer(), Duration::from_millis(100));
    assert_eq!(last_op(&sim), "PING", "the age trigger");
    assert_eq!(
        sim.shared.queue.unconfirmed(),
        18,
        "the publish and its PING"
    );
    sim.server(b"PONG\r\n");
    assert_eq!(sim.shared.queue.unconfirmed(), 0, "the PONG confirmed it");
    assert_eq!(
        sim.machine.poll_timeout(),
        Some(sim.now + sim.shared.options.ping_interval - Duration::from_millis(100)),
        "only the keep-alive timer is left"
    );
}

#[test]
fn the_byte_threshold_pings_once_and_a_reconnect_resends_the_unconfirmed_first() {
    let mut sim = Sim::new(alo(), &["nats://a:1"]);
    sim.connect("");
    sim.take_events();
    let sub = sim.subscribe("x");
    for _ in 0..3 {
        sim.publish("b", b"1");
    }
    assert_eq!(last_op(&sim), "PUB b", "36 bytes uncovered");
    sim.publish("b", b"1");
    assert_eq!(
        last_op(&sim),
        "PING",
        "48 bytes: a confirmation PING right after"
    );
    for _ in 0..4 {
        sim.publish("c", b"1");
    }
    assert_eq!(
        last_op(&sim),
        "PUB c",
        "one confirmation in flight at a time: no second PING"
    );
    sim.eof();
    sim.publish("d", b"1");
    sim.take_events();
    sim.until_next_timer();
    sim.connect("");
    // R54, R65 with the unconfirmed publishes between the subscriptions and the buffer.
    let ops = op_names(&sim.wire);
    assert_eq!(
        ops[..12],
        [
            "CONNECT", "PING", "SUB x 1", "PUB b", "PUB b", "PUB b", "PUB b", "PUB c", "PUB c",
            "PUB c", "PUB c", "PUB d"
        ]
    );
    assert_eq!(
        ops[12..],
        ["PING"],
        "the re-sent publishes are confirmed again"
    );
    let events = sim.take_events();
    assert_eq!(names(&events), ["Reconnected", "Resubscribed", "Resent"]);
    assert!(matches!(events[2], Event::Resent { messages: 8 }));
    assert_eq!(sim.shared.queue.resent(), 8);
    sim.server(b"PONG\r\n");
    assert_eq!(sim.shared.queue.unconfirmed(), 0);
    drop(sub);
}

#[test]
fn any_pong_confirms_what_came_before_its_ping() {
    let mut sim = Sim::new(alo().at_least_once_interval(Duration::MAX), &["nats://a:1"]);
    sim.connect("");
    sim.publish("a", b"1");
    // a flush-style PING from elsewhere (keep-alive here) covers the publish
    let _ = sim
        .shared
        .queue
        .ping(crate::outbound::PongWaiter::KeepAlive);
    sim.step();
    sim.publish("b", b"1");
    assert_eq!(op_names(&sim.wire)[2..], ["PUB a", "PING", "PUB b"]);
    sim.server(b"PONG\r\n");
    assert_eq!(sim.shared.queue.unconfirmed(), 12, "only `b` is left");
    // the connection dies: only `b` is re-sent
    sim.eof();
    sim.until_next_timer();
    sim.connect("");
    assert_eq!(op_names(&sim.wire)[2..], ["PUB b", "PING"]);
}

#[test]
fn off_by_default_nothing_is_kept_or_resent() {
    let mut sim = Sim::new(options(), &["nats://a:1"]);
    sim.connect("");
    for _ in 0..10 {
        sim.publish("a", b"1");
    }
    assert_eq!(sim.shared.queue.unconfirmed(), 0);
    assert!(!op_names(&sim.wire).iter().skip(2).any(|op| op == "PING"));
    sim.eof();
    sim.until_next_timer();
    sim.connect("");
    // at most once: nothing re-sent; R76's round trip only
    assert_eq!(op_names(&sim.wire), ["CONNECT", "PING", "PING"]);
    assert!(!names(&sim.take_events()).contains(&"Resent"));
}
