//! Publish (J6–J8, J10): acks, options and their typed errors, no stream, the ack window.

use std::time::{Duration, Instant};

use nats_jetstream::{stream, ContextBuilder, ErrorCode, Publish, PublishError};

use crate::util::{fast, js_server, memory_stream, within};

#[tokio::test]
async fn j6_publish_returns_the_ack_and_options_reach_the_server() {
    let (_server, js) = js_server().await;
    let s = memory_stream(&js, "PUB").await;
    let ack = js
        .publish("pub.a", "one".into())
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(
        (ack.stream.as_str(), ack.sequence, ack.duplicate),
        ("PUB", 1, false)
    );
    assert_eq!(ack.domain, None);

    // Message id: the second publish of the same id is a duplicate of sequence 2.
    let mut acks = Vec::new();
    for _ in 0..2 {
        let p = Publish::build().payload("two".into()).message_id("m-2");
        acks.push(js.send_publish("pub.a", p).await.unwrap().await.unwrap());
    }
    let (first, dup) = (&acks[0], &acks[1]);
    assert_eq!((first.sequence, first.duplicate), (2, false));
    assert_eq!((dup.sequence, dup.duplicate), (2, true));

    // Expectations that hold.
    let ok = js
        .send_publish(
            "pub.b",
            Publish::build()
                .payload("three".into())
                .expected_stream("PUB")
                .expected_last_sequence(2)
                .expected_last_subject_sequence(0)
                .expected_last_message_id("m-2")
                .header("Trace-Id", "t-1"),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(ok.sequence, 3);
    let stored = s.get_raw_message(3).await.unwrap();
    let headers = stored.headers.unwrap();
    assert_eq!(headers.get("Trace-Id"), Some("t-1"));

    // J7: each one that does not hold is its own error code.
    let refuse = |p: Publish| {
        let js = js.clone();
        async move {
            js.send_publish("pub.b", p)
                .await
                .unwrap()
                .await
                .unwrap_err()
        }
    };
    let cases = [
        (
            Publish::build().expected_stream("OTHER"),
            ErrorCode::STREAM_NOT_MATCH,
        ),
        (
            Publish::build().expected_last_sequence(1),
            ErrorCode::WRONG_LAST_SEQUENCE,
        ),
        (
            Publish::build().expected_last_subject_sequence(1),
            ErrorCode::WRONG_LAST_SEQUENCE,
        ),
        (
            Publish::build().expected_last_message_id("nope"),
            ErrorCode::WRONG_LAST_MSG_ID,
        ),
    ];
    for (p, code) in cases {
        let err = refuse(p).await;
        assert_eq!(err.err_code(), Some(code), "{err:?}");
        assert!(!err.may_be_stored());
    }
    assert_eq!(
        s.info().await.unwrap().state.messages,
        3,
        "refused messages are not stored"
    );

    // A bad header is refused locally.
    let err = js
        .send_publish("pub.b", Publish::build().header("Bad Name", "x"))
        .await
        .unwrap_err();
    assert!(matches!(err, PublishError::InvalidArgument(_)), "{err:?}");
}

#[tokio::test]
async fn j7_too_large_and_no_stream() {
    let (_server, js) = js_server().await;
    js.create_stream(stream::Config {
        name: "SMALL".into(),
        subjects: vec!["small.>".into()],
        max_message_size: 100,
        storage: stream::StorageType::Memory,
        ..Default::default()
    })
    .await
    .unwrap();
    let err = js
        .publish("small.a", vec![b'x'; 500].into())
        .await
        .unwrap()
        .await
        .unwrap_err();
    assert_eq!(
        err.err_code(),
        Some(ErrorCode::MESSAGE_TOO_LARGE),
        "{err:?}"
    );

    // No stream on the subject: NoStream after the ADR-22 retries (2 x 250 ms).
    let start = Instant::now();
    let err = within("NoStream", async {
        js.publish("nowhere.a", "x".into())
            .await
            .unwrap()
            .await
            .unwrap_err()
    })
    .await;
    assert!(
        matches!(&err, PublishError::NoStream { subject } if subject == "nowhere.a"),
        "{err:?}"
    );
    assert!(
        start.elapsed() >= Duration::from_millis(450),
        "{:?}",
        start.elapsed()
    );
    assert!(!err.may_be_stored());

    // A subject the client refuses never reaches the window.
    let err = js.publish("bad subject", "x".into()).await.unwrap_err();
    assert!(matches!(err, PublishError::Publish(_)), "{err:?}");
}

#[tokio::test]
async fn j8_a_full_window_makes_publish_wait_never_fail() {
    let server = nats_testkit::NatsServer::start_jetstream().await.unwrap();
    let client = fast().connect(server.url()).await.unwrap();
    let js = ContextBuilder::new().max_ack_pending(2).build(client);
    // Acks for subjects without a stream take ~500 ms (ADR-22): the third publish waits for
    // a window slot.
    let a = js.publish("void.1", "x".into()).await.unwrap();
    let b = js.publish("void.2", "x".into()).await.unwrap();
    let start = Instant::now();
    let c = within("a window slot", js.publish("void.3", "x".into()))
        .await
        .unwrap();
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(400),
        "did not wait: {waited:?}"
    );
    for f in [a, b, c] {
        assert!(matches!(f.await, Err(PublishError::NoStream { .. })));
    }
}

#[tokio::test]
async fn j10_acks_in_publish_order_and_a_slow_ack_reader_does_not_stall() {
    let (_server, js) = js_server().await;
    memory_stream(&js, "ORDER").await;
    const N: u64 = 10_000;
    let mut acks = Vec::with_capacity(N as usize);
    for i in 0..N {
        acks.push(js.publish("order.x", format!("{i}").into()).await.unwrap());
    }
    // Nobody read an ack yet; the connection still serves other traffic.
    within("a flush", js.client().flush()).await.unwrap();
    let info = within("stream info", js.stream_info("ORDER"))
        .await
        .unwrap();
    assert_eq!(info.state.messages, N);
    for (i, ack) in acks.into_iter().enumerate() {
        let ack = within("an ack", ack).await.unwrap();
        assert_eq!(ack.sequence, i as u64 + 1);
        assert!(!ack.duplicate);
    }
}

#[tokio::test]
async fn j9_a_resent_message_with_expectations_is_a_duplicate_not_a_conflict() {
    // A re-send after a lost ack repeats the expectations of the first attempt; the server's
    // duplicate check comes first, so the re-send is acked as the stored message.
    let (_server, js) = js_server().await;
    memory_stream(&js, "EXPECT").await;
    let send = || {
        let js = js.clone();
        async move {
            let p = Publish::build()
                .payload("x".into())
                .message_id("once")
                .expected_last_sequence(0)
                .expected_last_subject_sequence(0);
            js.send_publish("expect.a", p).await.unwrap().await
        }
    };
    let first = send().await.unwrap();
    let again = send().await.unwrap();
    assert_eq!((first.sequence, first.duplicate), (1, false));
    assert_eq!((again.sequence, again.duplicate), (1, true));
}
