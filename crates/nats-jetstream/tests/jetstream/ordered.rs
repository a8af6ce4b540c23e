//! The ordered consumer (J18–J19): every message once and in order across resets; the old
//! consumer is deleted; a deleted stream ends it.

use std::time::Duration;

use futures_util::TryStreamExt;
use nats_jetstream::consumer::pull::OrderedConfig;
use nats_jetstream::{ConsumeError, Message};

use nats_testkit::Fault;

use crate::util::{
    expect_refused, js_behind_proxy, js_server, js_server_denying_pulls, memory_stream, next_item,
    publish_n, within,
};

async fn expect_in_order(
    messages: &mut nats_jetstream::consumer::Messages,
    from: usize,
    to: usize,
) {
    for i in from..to {
        let m: Message = next_item(messages).await.unwrap().unwrap();
        assert_eq!(m.payload, format!("m-{i}"), "out of order or duplicate");
        assert_eq!(m.info().unwrap().stream_sequence, i as u64 + 1);
    }
}

#[tokio::test]
async fn j18_j19_in_order_across_resets_without_leaking_consumers() {
    let (_server, js) = js_server().await;
    let s = memory_stream(&js, "ORD").await;
    publish_n(&js, "ord.a", "m", 300).await;
    let ordered = s
        .create_consumer(OrderedConfig {
            max_messages: Some(50),
            expires: Some(Duration::from_secs(2)),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut messages = ordered.messages().await.unwrap();
    expect_in_order(&mut messages, 0, 100).await;
    let names: Vec<String> = s.consumer_names().try_collect().await.unwrap();
    assert_eq!(names.len(), 1, "{names:?}");
    let first = names[0].clone();
    let info = s.consumer_info(&first).await.unwrap();
    assert!(info.config.memory_storage);
    assert_eq!(
        info.config.ack_policy,
        nats_jetstream::consumer::AckPolicy::None
    );

    // A reconnect resets the consumer: no gap, no duplicate.
    js.client().force_reconnect().await.unwrap();
    expect_in_order(&mut messages, 100, 200).await;
    // The consumer under it is deleted: re-created from the next sequence.
    let names: Vec<String> = s.consumer_names().try_collect().await.unwrap();
    for name in names {
        s.delete_consumer(&name).await.unwrap();
    }
    expect_in_order(&mut messages, 200, 300).await;
    for i in 300..310 {
        js.publish("ord.a", format!("m-{i}").into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    expect_in_order(&mut messages, 300, 310).await;

    // J19: each reset deleted the consumer it replaced.
    within("old consumers deleted", async {
        loop {
            let names: Vec<String> = s.consumer_names().try_collect().await.unwrap();
            if names.len() == 1 && names[0] != first {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    drop(messages);
    within("the dropped consumer deleted", async {
        loop {
            let names: Vec<String> = s.consumer_names().try_collect().await.unwrap();
            if names.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn j19_a_deleted_stream_ends_the_ordered_consumer() {
    let (_server, js) = js_server().await;
    let s = memory_stream(&js, "ORDGONE").await;
    publish_n(&js, "ordgone.a", "m", 5).await;
    let ordered = s
        .create_consumer(OrderedConfig {
            expires: Some(Duration::from_secs(2)),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut messages = ordered.messages().await.unwrap();
    expect_in_order(&mut messages, 0, 5).await;
    js.delete_stream("ORDGONE").await.unwrap();
    let end = next_item(&mut messages).await;
    assert!(
        matches!(end, Some(Err(ConsumeError::StreamDeleted))),
        "{end:?}"
    );
    assert!(next_item(&mut messages).await.is_none());
    assert!(js
        .get_stream("ORDGONE")
        .await
        .unwrap_err()
        .is_stream_not_found());
    let left: Vec<String> = js
        .consumer_names("ORDGONE")
        .try_collect()
        .await
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");

    // Creating one on a missing stream fails at once.
    let err = s
        .create_consumer(OrderedConfig::default())
        .await
        .unwrap()
        .messages()
        .await
        .unwrap_err();
    assert!(err.is_stream_not_found(), "{err:?}");
}

#[tokio::test]
async fn j18_missed_heartbeats_reset_the_consumer_and_order_holds() {
    let (_server, proxy, js) = js_behind_proxy(Duration::from_secs(1)).await;
    let s = memory_stream(&js, "ORDHB").await;
    publish_n(&js, "ordhb.a", "m", 10).await;
    let ordered = s
        .create_consumer(OrderedConfig {
            expires: Some(Duration::from_secs(2)),
            max_reset_attempts: None,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut messages = ordered.messages().await.unwrap();
    expect_in_order(&mut messages, 0, 10).await;
    let before: Vec<String> = s.consumer_names().try_collect().await.unwrap();

    // Silence for longer than two heartbeats: the ordered consumer resets (its re-creation
    // fails while the hole lasts and is retried with back-off).
    proxy.set_fault(Fault::BlackHole);
    let next = tokio::spawn(async move {
        let m = next_item(&mut messages).await;
        (m, messages)
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    tokio::time::sleep_until(deadline).await;
    proxy.set_fault(Fault::Pass);
    for i in 10..15 {
        js.publish("ordhb.a", format!("m-{i}").into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    let (first, mut messages) = within("the message after the hole", next).await.unwrap();
    let first = first.unwrap().unwrap();
    assert_eq!(first.payload, "m-10");
    expect_in_order(&mut messages, 11, 15).await;
    // J19: the replaced consumer is deleted, and so is any whose create answer was lost.
    within("the consumer replaced", async {
        loop {
            let now: Vec<String> = s.consumer_names().try_collect().await.unwrap();
            if now.len() == 1 && now != before {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}

/// The ordered consumer runs on the same engine: a refused pull ends it with
/// `PermissionDenied` instead of resetting for ever.
#[tokio::test]
async fn a_refused_pull_ends_the_ordered_consumer() {
    let (_server, js) = js_server_denying_pulls().await;
    let s = memory_stream(&js, "ODENIED").await;
    let ordered = s
        .create_consumer(OrderedConfig {
            expires: Some(Duration::from_secs(30)),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut messages = ordered.messages().await.unwrap();
    expect_refused(&mut messages, "CONSUMER.MSG.NEXT.ODENIED").await;
}
