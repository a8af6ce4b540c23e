use super::*;

use bytes::Bytes;
use tokio::sync::oneshot;

use crate::outbound::batch::SHARED_PAYLOAD;

fn queue(limit: Option<usize>) -> WriteQueue {
    WriteQueue::new(limit, None, Arc::default())
}

fn publish(q: &WriteQueue, subject: &str, payload: &'static [u8]) -> Result<(), PublishError> {
    let payload = Bytes::from_static(payload);
    let frame = PublishFrame::plain(subject, &payload);
    match q.try_publish(&frame) {
        Ok(r) => r,
        Err(()) => panic!("back-pressure"),
    }
}

fn drain(q: &WriteQueue) -> Vec<u8> {
    let mut b = Batch::default();
    let mut out = Vec::new();
    while let Take::Batch { .. } = q.take(&mut b, Instant::now(), true) {
        out.extend_from_slice(&b.to_vec_from(0));
    }
    out
}

#[test]
fn r63_limit_checked_before_append() {
    let q = queue(Some(32));
    q.set_phase(Phase::Disconnected);
    publish(&q, "foo", b"food").unwrap();
    publish(&q, "foo", b"food").unwrap();
    assert_eq!(q.buffered(), 34);
    assert!(matches!(
        publish(&q, "foo", b"food"),
        Err(PublishError::ReconnectBufferFull { limit: 32 })
    ));
    assert_eq!(q.out_counts(), (2, 34));
}

#[test]
fn r64_disabled_buffer_fails_at_once() {
    let q = queue(None);
    q.set_phase(Phase::Disconnected);
    assert!(matches!(
        publish(&q, "foo", b"x"),
        Err(PublishError::ReconnectBufferFull { limit: 0 })
    ));
    assert_eq!(q.buffered(), 0);
}

#[test]
fn r65_resubscriptions_go_before_buffered_publishes() {
    let q = queue(Some(1024));
    q.set_phase(Phase::Disconnected);
    publish(&q, "a", b"1").unwrap();
    assert!(!q.control(|b| nats_proto::encode_sub(b, "x", None, 1)));
    q.connect(Phase::Connected, |_, prefix| {
        prefix.extend_from_slice(b"SUB x 1\r\n")
    });
    publish(&q, "b", b"2").unwrap();
    assert_eq!(drain(&q), b"SUB x 1\r\nPUB a 1\r\n1\r\nPUB b 1\r\n2\r\n");
}

#[test]
fn d1_unsent_bytes_are_kept_from_the_first_incomplete_frame() {
    let q = queue(Some(1024));
    q.connect(Phase::Connected, |_, _| {});
    publish(&q, "a", b"1").unwrap();
    publish(&q, "b", b"2").unwrap();
    q.ping(PongWaiter::KeepAlive).unwrap();
    let mut inflight = Batch::default();
    assert!(matches!(
        q.take(&mut inflight, Instant::now(), true),
        Take::Batch { .. }
    ));
    publish(&q, "c", b"3").unwrap();
    // the socket took the first frame and half of the second
    q.disconnect(Phase::Disconnected);
    q.requeue(&mut inflight, 16);
    assert_eq!(q.phase(), Phase::Disconnected);
    q.connect(Phase::Connected, |_, _| {});
    assert_eq!(drain(&q), b"PUB b 1\r\n2\r\nPUB c 1\r\n3\r\n");
}

#[tokio::test]
async fn r78_pongs_complete_pings_in_order() {
    let q = queue(Some(1024));
    q.connect(Phase::Connected, |_, _| {});
    let (t1, r1) = oneshot::channel();
    let (t2, mut r2) = oneshot::channel();
    q.ping(PongWaiter::User(t1)).unwrap();
    q.ping(PongWaiter::Internal(7)).unwrap();
    q.ping(PongWaiter::User(t2)).unwrap();
    assert_eq!(q.pong(), None);
    r1.await.unwrap();
    assert_eq!(q.pong(), Some(7));
    assert!(r2.try_recv().is_err());
    assert_eq!(q.pong(), None);
    r2.await.unwrap();
}

#[tokio::test]
async fn r74_disconnect_fails_ping_waiters() {
    let q = queue(Some(1024));
    q.connect(Phase::Connected, |_, _| {});
    let (t, r) = oneshot::channel();
    q.ping(PongWaiter::User(t)).unwrap();
    q.disconnect(Phase::Disconnected);
    assert!(r.await.is_err());
    assert!(q.ping(PongWaiter::KeepAlive).is_err());
}

#[test]
fn closed_refuses_everything_and_is_final() {
    let q = queue(Some(1024));
    q.set_phase(Phase::Closed);
    assert!(matches!(publish(&q, "a", b"1"), Err(PublishError::Closed)));
    q.set_phase(Phase::DrainingPubs);
    assert!(matches!(publish(&q, "a", b"1"), Err(PublishError::Closed)));
    assert!(!q.command(Command::Drain));
    let draining = queue(Some(1024));
    draining.set_phase(Phase::DrainingPubs);
    assert!(matches!(
        publish(&draining, "a", b"1"),
        Err(PublishError::Draining)
    ));
}

#[tokio::test]
async fn write_buffer_size_sets_how_much_a_burst_gathers() {
    let t0 = Instant::now();
    let soon = t0 + Duration::from_micros(10);
    // zero: never wait for a burst to gather
    let q = queue(Some(1 << 20)).with_coalesce_bytes(0);
    q.connect(Phase::Connected, |_, _| {});
    let mut b = Batch::default();
    publish(&q, "a", b"1").unwrap();
    assert_eq!(q.take(&mut b, t0, false), Take::Batch { skip: 0 });
    publish(&q, "a", b"2").unwrap();
    assert_eq!(q.take(&mut b, soon, false), Take::Batch { skip: 0 });
    // 100 bytes: a burst waits below it and goes at it
    let q = queue(Some(1 << 20)).with_coalesce_bytes(100);
    q.connect(Phase::Connected, |_, _| {});
    publish(&q, "a", b"1").unwrap();
    assert_eq!(q.take(&mut b, t0, false), Take::Batch { skip: 0 });
    publish(&q, "a", b"2").unwrap();
    assert_eq!(q.take(&mut b, soon, false), Take::Later);
    while q.buffered() < 100 {
        publish(&q, "abc", b"12345").unwrap();
    }
    assert_eq!(q.take(&mut b, soon, false), Take::Batch { skip: 0 });
}

#[tokio::test]
async fn a_burst_gathers_into_large_writes_and_a_ping_never_waits() {
    let q = queue(Some(1 << 20));
    q.connect(Phase::Connected, |_, _| {});
    let t0 = Instant::now();
    let mut b = Batch::default();
    publish(&q, "a", b"1").unwrap();
    assert_eq!(
        q.take(&mut b, t0, false),
        Take::Batch { skip: 0 },
        "no burst yet"
    );
    publish(&q, "a", b"2").unwrap();
    let soon = t0 + Duration::from_micros(10);
    assert_eq!(
        q.take(&mut b, soon, false),
        Take::Later,
        "a burst: let it gather"
    );
    assert_eq!(
        q.take(&mut b, soon, true),
        Take::Batch { skip: 0 },
        "the wait is over"
    );
    publish(&q, "a", b"3").unwrap();
    q.ping(PongWaiter::KeepAlive).unwrap();
    let sooner = soon + Duration::from_micros(5);
    assert_eq!(
        q.take(&mut b, sooner, false),
        Take::Batch { skip: 0 },
        "a PING goes at once"
    );
    // past the coalescing size it goes at once too
    for _ in 0..(COALESCE_BYTES / 10) {
        publish(&q, "abc", b"12345").unwrap();
    }
    let later = sooner + Duration::from_micros(5);
    assert!(matches!(q.take(&mut b, later, false), Take::Batch { .. }));
    // an idle pause ends the burst
    publish(&q, "a", b"4").unwrap();
    let pause = later + Duration::from_millis(1);
    assert_eq!(q.take(&mut b, pause, false), Take::Batch { skip: 0 });
}

fn alo_queue(limit: usize) -> WriteQueue {
    let q = WriteQueue::new(Some(1 << 20), Some(limit), Arc::default());
    q.connect(Phase::Connected, |_, _| {});
    q
}

/// Writes everything queued; the written batches are handed back (kept unconfirmed).
fn write_all(q: &WriteQueue) -> Vec<u8> {
    drain(q)
}

#[test]
fn alo_a_pong_confirms_what_was_written_before_its_ping() {
    let q = alo_queue(1 << 20);
    publish(&q, "a", b"1").unwrap();
    q.ping(PongWaiter::Confirm).unwrap();
    publish(&q, "b", b"2").unwrap();
    assert_eq!(write_all(&q), b"PUB a 1\r\n1\r\nPING\r\nPUB b 1\r\n2\r\n");
    assert_eq!(q.unconfirmed(), 30, "written is not confirmed");
    let status = q.confirm_status().unwrap();
    assert_eq!((status.uncovered, status.outstanding), (12, 1));
    assert!(status.since.is_some(), "the write started the clock");
    assert_eq!(q.pong(), None);
    assert_eq!(q.unconfirmed(), 12, "only what follows the PING is left");
    assert_eq!(q.confirm_status().unwrap().outstanding, 0);
    // the connection dies: the unconfirmed publish goes first on the next one, after the
    // subscriptions and before what was buffered meanwhile (R65)
    q.disconnect(Phase::Disconnected);
    publish(&q, "c", b"3").unwrap();
    assert_eq!(q.buffered(), 24, "buffered counts what waits to be re-sent");
    let resent = q.connect(Phase::Connected, |_, prefix| {
        prefix.extend_from_slice(b"SUB x 1\r\n")
    });
    assert_eq!(resent, 1);
    assert_eq!(q.resent(), 1);
    assert_eq!(
        write_all(&q),
        b"SUB x 1\r\nPUB b 1\r\n2\r\nPUB c 1\r\n3\r\n"
    );
}

#[test]
fn alo_d1_the_batch_in_flight_is_kept_whole_after_the_written_ones() {
    let q = alo_queue(1 << 20);
    publish(&q, "a", b"1").unwrap();
    let mut inflight = Batch::default();
    assert!(matches!(
        q.take(&mut inflight, Instant::now(), true),
        Take::Batch { .. }
    ));
    publish(&q, "b", b"2").unwrap();
    // `a` written completely and handed back; `b` taken and written in part
    assert!(matches!(
        q.take(&mut inflight, Instant::now(), true),
        Take::Batch { .. }
    ));
    q.ping(PongWaiter::KeepAlive).unwrap();
    publish(&q, "c", b"3").unwrap();
    q.disconnect(Phase::Disconnected);
    q.requeue(&mut inflight, 4);
    assert!(inflight.is_empty());
    assert_eq!(q.connect(Phase::Connected, |_, _| {}), 2);
    assert_eq!(
        drain(&q),
        b"PUB a 1\r\n1\r\nPUB b 1\r\n2\r\nPUB c 1\r\n3\r\n",
        "in order, whole, the PING of the dead connection dropped"
    );
}

#[tokio::test]
async fn alo_publishers_wait_at_the_unconfirmed_limit_until_a_pong() {
    let q = Arc::new(alo_queue(20));
    publish(&q, "a", b"1").unwrap();
    publish(&q, "b", b"2").unwrap(); // 12 < 20 before it: accepted, crosses the limit
    let payload = Bytes::from_static(b"3");
    let frame = PublishFrame::plain("c", &payload);
    assert!(
        q.try_publish(&frame).is_err(),
        "back-pressure, not an error"
    );
    write_all(&q);
    assert!(q.try_publish(&frame).is_err(), "still unconfirmed");
    q.ping(PongWaiter::Confirm).unwrap();
    write_all(&q);
    let waiting = {
        let q = Arc::clone(&q);
        tokio::spawn(async move {
            let payload = Bytes::from_static(b"4");
            let frame = PublishFrame::plain("d", &payload);
            q.publish(&frame).await
        })
    };
    tokio::task::yield_now().await;
    assert!(!waiting.is_finished());
    assert_eq!(q.pong(), None);
    waiting.await.unwrap().unwrap();
    assert_eq!(q.unconfirmed(), 0);
}

#[test]
fn alo_closed_forgets_the_unconfirmed() {
    let q = alo_queue(1 << 20);
    publish(&q, "a", b"1").unwrap();
    write_all(&q);
    assert_eq!(q.unconfirmed(), 12);
    q.set_phase(Phase::Closed);
    assert_eq!(q.unconfirmed(), 0);
    assert_eq!(q.buffered(), 0);
}

#[test]
fn a_large_payload_is_queued_by_reference() {
    let q = queue(Some(1 << 20));
    q.connect(Phase::Connected, |_, _| {});
    let payload = Bytes::from(vec![7u8; SHARED_PAYLOAD]);
    let frame = PublishFrame::plain("big", &payload);
    q.try_publish(&frame).unwrap().unwrap();
    let mut b = Batch::default();
    assert_eq!(
        q.take(&mut b, Instant::now(), true),
        Take::Batch { skip: 0 }
    );
    assert!(b.has_shared());
    let mut slices = [std::io::IoSlice::new(&[]); super::super::batch::MAX_IO_SLICES];
    assert_eq!(b.io_slices(0, &mut slices), 3);
    assert_eq!(slices[1].as_ptr(), payload.as_ptr(), "not copied");
    assert_eq!(b.len(), nats_proto::pub_len("big", None, payload.len()));
}
