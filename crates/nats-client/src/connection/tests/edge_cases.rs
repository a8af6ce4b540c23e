//! Forced reconnects, `Duration::MAX`, panicking policy callbacks, bytes after a PONG.

use super::*;

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
