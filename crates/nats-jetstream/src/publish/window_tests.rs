//! The ack window without a server: a fake clock, replies fed by hand (J8–J10, J9 policy).

use super::*;
use crate::retry::PROBE_BACKOFF;

const ACK_TIMEOUT: Duration = Duration::from_secs(5);
const WINDOW: Duration = Duration::from_secs(120);

fn window() -> Window<u32> {
    Window::new(
        PublishRetry {
            backoff: PROBE_BACKOFF,
            window: WINDOW,
        },
        ACK_TIMEOUT,
    )
}

fn ack(seq: u64, duplicate: bool) -> Reply {
    Reply::Ack(PubAck {
        stream: "S".into(),
        sequence: seq,
        duplicate,
        domain: None,
    })
}

fn put(w: &mut Window<u32>, subject: &str, tag: u32, now: Instant) -> (u64, Option<Action>) {
    w.insert(subject.into(), HeaderMap::new(), Bytes::new(), tag, now)
}

fn sends(actions: &[Action]) -> Vec<(u64, u32)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send { id, attempt } => Some((*id, *attempt)),
            Action::CheckStream { .. } => None,
        })
        .collect()
}

fn ready(w: &mut Window<u32>) -> Vec<(u32, Result<PubAck, PublishError>)> {
    let mut out = Vec::new();
    w.for_each_ready(|waiter, result| out.push((waiter, result)));
    out
}

#[test]
fn j10_acks_complete_in_publish_order() {
    let t0 = Instant::now();
    let mut w = window();
    let (a, sa) = put(&mut w, "s.a", 1, t0);
    let (b, _) = put(&mut w, "s.b", 2, t0);
    let (c, _) = put(&mut w, "s.c", 3, t0);
    assert_eq!(sa, Some(Action::Send { id: a, attempt: 1 }));
    w.on_reply(c, 1, ack(3, false), t0);
    w.on_reply(b, 1, ack(2, false), t0);
    assert!(ready(&mut w).is_empty(), "later acks wait for the first");
    w.on_reply(a, 1, ack(1, false), t0);
    let done: Vec<(u32, u64)> = ready(&mut w)
        .into_iter()
        .map(|(tag, r)| (tag, r.unwrap().sequence))
        .collect();
    assert_eq!(done, [(1, 1), (2, 2), (3, 3)]);
    assert!(w.is_empty());
}

#[test]
fn j7_no_responders_for_an_unknown_subject_retries_twice_then_asks_for_a_stream() {
    let t0 = Instant::now();
    let mut w = window();
    let (id, _) = put(&mut w, "nobody", 1, t0);
    assert!(w.on_reply(id, 1, Reply::NoResponders, t0).is_empty());
    // ADR-22: 250 ms later, attempt 2.
    assert_eq!(w.next_deadline(), Some(t0 + NO_RESPONDERS_WAIT));
    let t1 = t0 + NO_RESPONDERS_WAIT;
    assert_eq!(sends(&w.on_timer(t1)), [(id, 2)]);
    w.on_reply(id, 2, Reply::NoResponders, t1);
    let t2 = t1 + NO_RESPONDERS_WAIT;
    assert_eq!(sends(&w.on_timer(t2)), [(id, 3)]);
    let actions = w.on_reply(id, 3, Reply::NoResponders, t2);
    assert_eq!(
        actions,
        [Action::CheckStream {
            subject: "nobody".into()
        }]
    );
    w.on_verdict("nobody", Some(false), t2);
    let done = ready(&mut w);
    assert!(
        matches!(&done[..], [(1, Err(PublishError::NoStream { subject }))] if subject == "nobody")
    );
}

#[test]
fn j7_a_stream_check_that_cannot_tell_is_asked_again_at_the_next_no_responders() {
    let t0 = Instant::now();
    let mut w = window();
    let (id, _) = put(&mut w, "nobody", 1, t0);
    let mut now = t0;
    for attempt in 1..=2 {
        w.on_reply(id, attempt, Reply::NoResponders, now);
        now += NO_RESPONDERS_WAIT;
        assert_eq!(sends(&w.on_timer(now)), [(id, attempt + 1)]);
    }
    let check = [Action::CheckStream {
        subject: "nobody".into(),
    }];
    assert_eq!(w.on_reply(id, 3, Reply::NoResponders, now), check);
    // The API could not answer (no meta leader, a timeout): the message is held and probed.
    w.on_verdict("nobody", None, now);
    assert!(ready(&mut w).is_empty());
    let probe_at = w.next_deadline().unwrap();
    assert!(probe_at - now <= Duration::from_millis(50));
    let sent = sends(&w.on_timer(probe_at));
    assert_eq!(sent, [(id, 4)]);
    // The probe meets no responders again: the stream is asked about again, and only once
    // while that check is out.
    assert_eq!(w.on_reply(id, 4, Reply::NoResponders, probe_at), check);
    assert!(sends(&w.on_timer(probe_at + Duration::from_millis(50))).is_empty());
    w.on_verdict("nobody", Some(false), probe_at);
    let done = ready(&mut w);
    assert!(
        matches!(&done[..], [(1, Err(PublishError::NoStream { subject }))] if subject == "nobody"),
        "{done:?}"
    );
    assert!(w.is_empty());
}

#[test]
fn j9_no_leader_probes_with_the_oldest_message_and_resends_the_rest_when_acks_flow() {
    let t0 = Instant::now();
    let mut w = window();
    // A first ack teaches the window that a stream stores "s.x".
    let (first, _) = put(&mut w, "s.x", 0, t0);
    w.on_reply(first, 1, ack(1, false), t0);
    assert_eq!(ready(&mut w).len(), 1);

    let ids: Vec<u64> = (1..=5).map(|tag| put(&mut w, "s.x", tag, t0).0).collect();
    // The leader dies: no responders for the first two, the others vanish.
    w.on_reply(ids[0], 1, Reply::NoResponders, t0);
    w.on_reply(ids[1], 1, Reply::NoResponders, t0);
    // New publishes while probing are held, not sent.
    let (held, action) = put(&mut w, "s.x", 6, t0);
    assert_eq!(action, None);

    // Probes: only the oldest, at most 50 ms apart, for as long as there is no leader.
    let mut now = t0;
    let mut probes = 0;
    for _ in 0..40 {
        let next = w.next_deadline().unwrap();
        assert!(
            next - now <= Duration::from_millis(50),
            "probe gap {:?}",
            next - now
        );
        now = next;
        let sent = sends(&w.on_timer(now));
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert_eq!(sent[0].0, ids[0]);
        probes += 1;
        w.on_reply(ids[0], sent[0].1, Reply::NoResponders, now);
    }
    assert_eq!(probes, 40);

    // A leader again: the probe is acked and everything else goes out at once.
    now = w.next_deadline().unwrap();
    let probe = sends(&w.on_timer(now))[0];
    let resent = sends(&w.on_reply(ids[0], probe.1, ack(2, false), now));
    let resent_ids: Vec<u64> = resent.iter().map(|(id, _)| *id).collect();
    assert_eq!(resent_ids, [ids[1], ids[2], ids[3], ids[4], held]);
    for (i, (id, attempt)) in resent.into_iter().enumerate() {
        // The vanished ones were stored after all: duplicate acks, absorbed. The held one
        // goes out for the first time.
        w.on_reply(id, attempt, ack(3 + i as u64, id != held), now);
    }
    let done = ready(&mut w);
    assert_eq!(done.len(), 6);
    for (_, r) in &done {
        let ack = r.as_ref().unwrap();
        assert!(
            !ack.duplicate,
            "a duplicate of our own retry is reported as stored"
        );
    }
}

#[test]
fn j9_a_lost_ack_probes_until_the_window_then_fails_as_maybe_stored() {
    let t0 = Instant::now();
    let mut w = Window::<u32>::new(
        PublishRetry {
            backoff: PROBE_BACKOFF,
            window: Duration::from_secs(12),
        },
        ACK_TIMEOUT,
    );
    let (id, _) = put(&mut w, "s.x", 1, t0);
    put(&mut w, "s.x", 2, t0);
    // Nothing answers (a stream leader died silently): at the ack timeout the oldest message
    // is probed, at most 50 ms apart; the other one waits.
    let mut now = t0;
    let mut probes = 0;
    let mut done = Vec::new();
    while let Some(next) = w.next_deadline() {
        assert!(next >= now);
        if now >= t0 + ACK_TIMEOUT + Duration::from_millis(100) {
            assert!(
                next - now <= Duration::from_millis(50),
                "gap {:?}",
                next - now
            );
        }
        now = next;
        for (sid, attempt) in sends(&w.on_timer(now)) {
            assert_eq!(sid, id, "only the oldest is probed");
            assert_eq!(attempt, probes + 2);
            probes += 1;
        }
        done.extend(ready(&mut w));
        if done.len() == 2 || now > t0 + Duration::from_secs(13) {
            break;
        }
    }
    assert!(probes > 100, "{probes} probes");
    assert_eq!(now, t0 + Duration::from_secs(12));

    // The window has passed for both: each fails, saying it may be stored.
    assert_eq!(done.len(), 2, "{done:?}");
    for (_, r) in &done {
        assert!(
            matches!(
                r,
                Err(PublishError::TimedOut {
                    may_be_stored: true,
                    ..
                })
            ),
            "{r:?}"
        );
    }

    // A probe acked: the held one goes out at once.
    let mut w = window();
    let (a, _) = put(&mut w, "s.y", 7, t0);
    let (b, _) = put(&mut w, "s.y", 8, t0);
    assert!(sends(&w.on_timer(t0 + ACK_TIMEOUT)).is_empty());
    let probe_at = w.next_deadline().unwrap();
    assert!(probe_at - (t0 + ACK_TIMEOUT) <= Duration::from_millis(50));
    let probe = sends(&w.on_timer(probe_at));
    assert_eq!(probe, [(a, 2)]);
    let resent = sends(&w.on_reply(a, 2, ack(1, true), probe_at));
    assert_eq!(resent, [(b, 2)]);
    w.on_reply(b, 2, ack(2, false), probe_at);
    let done = ready(&mut w);
    assert_eq!(done.len(), 2);
    assert!(done.iter().all(|(_, r)| !r.as_ref().unwrap().duplicate));
}

#[test]
fn j9_a_disconnect_holds_and_a_reconnect_resends_everything() {
    let t0 = Instant::now();
    let mut w = window();
    let (a, _) = put(&mut w, "s.x", 1, t0);
    let (b, _) = put(&mut w, "s.x", 2, t0);
    w.on_disconnected();
    let (c, action) = put(&mut w, "s.x", 3, t0);
    assert_eq!(action, None, "nothing is sent while disconnected");
    // Ack timeouts during the outage do not send.
    assert!(sends(&w.on_timer(t0 + ACK_TIMEOUT)).is_empty());
    let t1 = t0 + ACK_TIMEOUT + Duration::from_secs(1);
    let resent = sends(&w.on_reconnected(t1));
    assert_eq!(resent, [(a, 2), (b, 2), (c, 1)]);
    // A stale reply of attempt 1 (a no-responders) is ignored.
    assert!(w.on_reply(a, 1, Reply::NoResponders, t1).is_empty());
    w.on_reply(a, 2, ack(1, true), t1);
    w.on_reply(b, 2, ack(2, false), t1);
    w.on_reply(c, 1, ack(3, true), t1);
    let dups: Vec<bool> = ready(&mut w)
        .into_iter()
        .map(|(_, r)| r.unwrap().duplicate)
        .collect();
    // c was sent once: its duplicate flag is the server's truth.
    assert_eq!(dups, [false, false, true]);
}

#[test]
fn j7_a_refused_message_fails_and_a_transient_error_probes() {
    let t0 = Instant::now();
    let mut w = window();
    let (a, _) = put(&mut w, "s.x", 1, t0);
    let (b, _) = put(&mut w, "s.x", 2, t0);
    w.on_reply(
        a,
        1,
        Reply::from_api(ApiError::new(
            400,
            ErrorCode::WRONG_LAST_SEQUENCE,
            "wrong last sequence: 3",
        )),
        t0,
    );
    w.on_reply(
        b,
        1,
        Reply::from_api(ApiError::new(
            503,
            ErrorCode(10008),
            "temporarily unavailable",
        )),
        t0,
    );
    let done = ready(&mut w);
    assert!(
        matches!(&done[..], [(1, Err(e))] if e.err_code() == Some(ErrorCode::WRONG_LAST_SEQUENCE))
    );
    // b is held; the probe re-sends it.
    let next = w.next_deadline().unwrap();
    assert_eq!(sends(&w.on_timer(next)), [(b, 2)]);
}

#[test]
fn removing_an_entry_frees_its_timer() {
    let t0 = Instant::now();
    let mut w = window();
    let (a, _) = put(&mut w, "s.x", 1, t0);
    assert!(!w.is_empty());
    assert_eq!(w.remove(a), Some(1));
    assert_eq!(w.next_deadline(), None);
    w.fail_all(&PublishError::Closed);
    assert!(ready(&mut w).is_empty());
}

/// An ack timeout and a retry window of `Duration::MAX` mean "wait for ever": no overflow
/// panic, and no deadline that would ever fire.
#[test]
fn durations_up_to_max_wait_for_ever() {
    let t0 = Instant::now();
    let mut w: Window<u32> = Window::new(
        PublishRetry {
            backoff: PROBE_BACKOFF,
            window: Duration::MAX,
        },
        Duration::MAX,
    );
    let (a, sent) = put(&mut w, "s.a", 1, t0);
    assert_eq!(sent, Some(Action::Send { id: a, attempt: 1 }));
    let next = w.next_deadline().unwrap();
    assert!(
        next >= t0 + Duration::from_secs(10 * 365 * 86_400),
        "{next:?}"
    );
    assert!(w.on_timer(t0 + Duration::from_secs(3600)).is_empty());
    w.on_reply(a, 1, ack(1, false), t0 + Duration::from_secs(3600));
    assert_eq!(ready(&mut w).len(), 1);
}
