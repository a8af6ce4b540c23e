//! Messages and acks (J16–J17): metadata from the ack subject, ack kinds, acking twice.

use std::time::{Duration, Instant, SystemTime};

use nats_jetstream::{AckError, AckKind};

use crate::util::{
    consume_for, durable, durable_config, js_server, memory_stream, next_item, publish_n,
};

#[tokio::test]
async fn j16_info_comes_from_the_ack_subject() {
    let (_server, js) = js_server().await;
    let s = memory_stream(&js, "META").await;
    publish_n(&js, "meta.a", "m", 3).await;
    let c = s.create_consumer(durable_config("meta")).await.unwrap();
    let mut batch = c.fetch().max_messages(3).messages().await.unwrap();
    for i in 1..=3u64 {
        let m = next_item(&mut batch).await.unwrap().unwrap();
        let info = m.info().unwrap();
        assert_eq!((info.stream, info.consumer), ("META", "meta"));
        assert_eq!((info.stream_sequence, info.consumer_sequence), (i, i));
        assert_eq!(info.delivered, 1);
        assert_eq!(info.pending, 3 - i);
        let age = SystemTime::now().duration_since(info.published).unwrap();
        assert!(age < Duration::from_secs(60), "{age:?}");
        assert!(m.reply.as_ref().unwrap().starts_with("$JS.ACK."));
        m.ack().await.unwrap();
    }
}

#[tokio::test]
async fn j17_ack_kinds_and_acking_twice() {
    let (_server, js) = js_server().await;
    let s = memory_stream(&js, "ACKS").await;
    let c = durable(&s, "acks", Duration::from_secs(30)).await;
    publish_n(&js, "acks.a", "m", 3).await;
    let mut messages = consume_for(&c, Duration::from_secs(2)).await;

    // m-0: progress twice, then ack; a second ack is an error, and so is progress after it.
    let m0 = next_item(&mut messages).await.unwrap().unwrap();
    m0.ack_with(AckKind::Progress).await.unwrap();
    m0.ack_with(AckKind::Progress).await.unwrap();
    m0.double_ack().await.unwrap();
    assert!(matches!(m0.ack().await, Err(AckError::AlreadyAcked)));
    assert!(matches!(
        m0.ack_with(AckKind::Progress).await,
        Err(AckError::AlreadyAcked)
    ));
    assert!(matches!(m0.double_ack().await, Err(AckError::AlreadyAcked)));

    // m-1: nak with a delay comes back once the delay has passed, delivered twice.
    let m1 = next_item(&mut messages).await.unwrap().unwrap();
    assert_eq!(m1.payload, "m-1");
    let nak_at = Instant::now();
    m1.ack_with(AckKind::Nak(Some(Duration::from_millis(500))))
        .await
        .unwrap();
    assert!(matches!(
        m1.ack_with(AckKind::Term).await,
        Err(AckError::AlreadyAcked)
    ));

    // m-2: term with a reason: never again.
    let m2 = next_item(&mut messages).await.unwrap().unwrap();
    assert_eq!(m2.payload, "m-2");
    m2.ack_with(AckKind::TermWithReason("unprocessable".into()))
        .await
        .unwrap();

    let again = next_item(&mut messages).await.unwrap().unwrap();
    assert_eq!(again.payload, "m-1");
    assert!(
        nak_at.elapsed() >= Duration::from_millis(450),
        "{:?}",
        nak_at.elapsed()
    );
    assert_eq!(again.info().unwrap().delivered, 2);
    again.ack_with(AckKind::Nak(None)).await.unwrap();
    let third = next_item(&mut messages).await.unwrap().unwrap();
    assert_eq!(
        (third.payload.as_ref(), third.info().unwrap().delivered),
        (&b"m-1"[..], 3)
    );
    third.double_ack().await.unwrap();

    let info = c.info().await.unwrap();
    assert_eq!(info.num_ack_pending, 0, "{info:#?}");
    assert_eq!(info.ack_floor.stream_sequence, 3);
}

/// J17 with the named methods: `in_progress` may repeat, `nak` redelivers at once,
/// `nak_with_delay` after the delay, `term` / `term_with_reason` never again, and any second
/// final ack is `AlreadyAcked`.
#[tokio::test]
async fn j17_named_ack_methods() {
    let (_server, js) = js_server().await;
    let s = memory_stream(&js, "NAMED").await;
    let c = durable(&s, "named", Duration::from_secs(30)).await;
    publish_n(&js, "named.a", "m", 4).await;
    let mut messages = consume_for(&c, Duration::from_secs(2)).await;

    let m0 = next_item(&mut messages).await.unwrap().unwrap();
    m0.in_progress().await.unwrap();
    m0.in_progress().await.unwrap();
    m0.term().await.unwrap();
    assert!(matches!(m0.nak().await, Err(AckError::AlreadyAcked)));
    assert!(matches!(
        m0.in_progress().await,
        Err(AckError::AlreadyAcked)
    ));

    let m1 = next_item(&mut messages).await.unwrap().unwrap();
    assert_eq!(m1.payload, "m-1");
    let nak_at = Instant::now();
    m1.nak_with_delay(Duration::from_millis(1000))
        .await
        .unwrap();
    assert!(matches!(m1.term().await, Err(AckError::AlreadyAcked)));

    let m2 = next_item(&mut messages).await.unwrap().unwrap();
    assert_eq!(m2.payload, "m-2");
    m2.term_with_reason("unprocessable").await.unwrap();
    assert!(matches!(
        m2.term_with_reason("again").await,
        Err(AckError::AlreadyAcked)
    ));

    let m3 = next_item(&mut messages).await.unwrap().unwrap();
    assert_eq!(m3.payload, "m-3");
    m3.nak().await.unwrap();
    // a plain nak comes back at once, before m-1's delay is over
    let again = next_item(&mut messages).await.unwrap().unwrap();
    assert_eq!(
        (again.payload.as_ref(), again.info().unwrap().delivered),
        (&b"m-3"[..], 2)
    );
    again.ack().await.unwrap();
    let later = next_item(&mut messages).await.unwrap().unwrap();
    assert_eq!(
        (later.payload.as_ref(), later.info().unwrap().delivered),
        (&b"m-1"[..], 2)
    );
    assert!(
        nak_at.elapsed() >= Duration::from_millis(950),
        "{:?}",
        nak_at.elapsed()
    );
    later.double_ack().await.unwrap();

    let info = c.info().await.unwrap();
    assert_eq!(info.num_ack_pending, 0, "{info:#?}");
    assert_eq!(info.ack_floor.stream_sequence, 4);
}
