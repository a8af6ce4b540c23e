//! Streams (J4–J5): management, info and state, purge, paged lists, get/delete messages.

use std::collections::HashSet;
use std::time::Duration;

use futures_util::TryStreamExt;
use nats_jetstream::stream::{self, DiscardPolicy, RetentionPolicy, StorageType};
use nats_jetstream::{ErrorCode, Publish};

use crate::util::{js_server, memory_stream, publish_n};

#[tokio::test]
async fn j4_j5_create_get_update_delete_and_info() {
    let (_server, js) = js_server().await;
    let config = stream::Config {
        name: "ORDERS".into(),
        description: Some("orders".into()),
        subjects: vec!["orders.>".into()],
        retention: RetentionPolicy::Limits,
        max_messages: 1000,
        max_bytes: 1 << 20,
        max_age: Duration::from_secs(3600),
        max_messages_per_subject: 100,
        max_message_size: 4096,
        discard: DiscardPolicy::Old,
        storage: StorageType::File,
        duplicate_window: Duration::from_secs(30),
        allow_rollup_hdrs: true,
        deny_delete: false,
        ..Default::default()
    };
    let s = js.create_stream(config.clone()).await.unwrap();
    assert_eq!(s.name(), "ORDERS");
    let held = &s.cached_info().config;
    assert_eq!(held.max_age, Duration::from_secs(3600));
    assert_eq!(held.duplicate_window, Duration::from_secs(30));
    assert_eq!(held.max_message_size, 4096);
    assert_eq!(held.description.as_deref(), Some("orders"));
    // Creating it again with the same config is fine; get_or_create finds it.
    js.create_stream(config.clone()).await.unwrap();
    let again = js.get_or_create_stream(config.clone()).await.unwrap();
    assert_eq!(again.cached_info().created, s.cached_info().created);

    publish_n(&js, "orders.new", "o", 3).await;
    let info = s.info().await.unwrap();
    assert_eq!(info.state.messages, 3);
    assert_eq!(
        (info.state.first_sequence, info.state.last_sequence),
        (1, 3)
    );
    assert!(info.state.bytes > 0);
    assert_eq!(info.state.consumer_count, 0);
    assert!(info.cluster.is_none(), "a standalone server has no cluster");

    let mut updated = info.config.clone();
    updated.max_messages = 2;
    updated.description = Some("fewer".into());
    let info = js.update_stream(updated).await.unwrap();
    assert_eq!(info.config.max_messages, 2);
    assert_eq!(info.state.messages, 2, "the new limit applies at once");

    // Storage cannot change: the server says why.
    let mut bad = info.config.clone();
    bad.storage = StorageType::Memory;
    let err = js.update_stream(bad).await.unwrap_err();
    assert!(err.api_error().is_some(), "{err:?}");

    // get_or_create makes a missing one.
    let created = js.get_or_create_stream("FRESH".into()).await.unwrap();
    assert_eq!(created.cached_info().config.subjects, ["FRESH"]);

    js.delete_stream("ORDERS").await.unwrap();
    assert!(js
        .get_stream("ORDERS")
        .await
        .unwrap_err()
        .is_stream_not_found());
    assert_eq!(
        js.delete_stream("ORDERS").await.unwrap_err().err_code(),
        Some(ErrorCode::STREAM_NOT_FOUND)
    );
}

#[tokio::test]
async fn j4_purge_all_by_filter_keep_and_sequence() {
    let (_server, js) = js_server().await;
    let s = memory_stream(&js, "PURGE").await;
    for i in 0..10 {
        let subject = if i % 2 == 0 {
            "purge.even"
        } else {
            "purge.odd"
        };
        js.publish(subject, format!("{i}").into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    assert_eq!(s.purge().filter("purge.even").keep(2).await.unwrap(), 3);
    assert_eq!(s.info().await.unwrap().state.messages, 7);
    // Evens are seqs 1, 3, 5, 7, 9 (1, 3, 5 purged); below sequence 6 only odds 2 and 4 remain.
    let purged = s.purge().sequence(6).await.unwrap();
    assert_eq!(purged, 2);
    let left = s.info().await.unwrap().state;
    assert_eq!(left.messages, 5);
    assert_eq!(left.first_sequence, 6);
    assert_eq!(s.purge().await.unwrap(), 5);
    assert_eq!(s.info().await.unwrap().state.messages, 0);
}

#[tokio::test]
async fn j4_stream_lists_are_paged() {
    let (_server, js) = js_server().await;
    // STREAM.LIST pages hold 256 infos: 260 streams take two pages.
    let mut want = HashSet::new();
    for i in 0..260 {
        let name = format!("PAGE{i:03}");
        js.create_stream(stream::Config {
            name: name.clone(),
            subjects: vec![format!("page.{i}")],
            storage: StorageType::Memory,
            ..Default::default()
        })
        .await
        .unwrap();
        want.insert(name);
    }
    let names: HashSet<String> = js.stream_names().try_collect().await.unwrap();
    assert_eq!(names, want);
    let infos: Vec<stream::Info> = js.streams().try_collect().await.unwrap();
    assert_eq!(infos.len(), 260);
    let listed: HashSet<String> = infos.into_iter().map(|i| i.config.name).collect();
    assert_eq!(listed, want);
    let for_subject: Vec<String> = js
        .stream_names_for_subject("page.7")
        .try_collect()
        .await
        .unwrap();
    assert_eq!(for_subject, ["PAGE007"]);
    let none: Vec<String> = js
        .stream_names_for_subject("nothing.here")
        .try_collect()
        .await
        .unwrap();
    assert!(none.is_empty());
}

#[tokio::test]
async fn j4_get_messages_direct_and_not_and_delete_one() {
    let (_server, js) = js_server().await;
    for allow_direct in [false, true] {
        let name = if allow_direct { "DIRECT" } else { "MSGGET" };
        let subject = format!("{}.a", name.to_lowercase());
        let s = js
            .create_stream(stream::Config {
                name: name.into(),
                subjects: vec![format!("{}.>", name.to_lowercase())],
                allow_direct,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(s.cached_info().config.allow_direct, allow_direct);
        js.send_publish(
            &subject,
            Publish::build()
                .payload("one".into())
                .header("X-Tag", "first"),
        )
        .await
        .unwrap()
        .await
        .unwrap();
        js.publish(&subject, "two".into())
            .await
            .unwrap()
            .await
            .unwrap();
        js.publish(format!("{}.b", name.to_lowercase()), "three".into())
            .await
            .unwrap()
            .await
            .unwrap();

        let m = s.get_raw_message(1).await.unwrap();
        assert_eq!(
            (m.sequence, m.subject.as_str(), &m.payload[..]),
            (1, subject.as_str(), &b"one"[..])
        );
        let headers = m.headers.unwrap();
        assert_eq!(headers.get("X-Tag"), Some("first"));
        assert!(
            headers.get("Nats-Msg-Id").is_some(),
            "every publish has a message id"
        );
        assert!(m.time.is_some());
        let last = s.get_last_raw_message_by_subject(&subject).await.unwrap();
        assert_eq!((last.sequence, &last.payload[..]), (2, &b"two"[..]));

        s.delete_message(2).await.unwrap();
        let err = s.get_raw_message(2).await.unwrap_err();
        assert!(err.is_not_found(), "{name}: {err:?}");
        let err = s
            .get_last_raw_message_by_subject(format!("{}.none", name.to_lowercase()))
            .await
            .unwrap_err();
        assert!(err.is_not_found(), "{name}: {err:?}");
        s.erase_message(3).await.unwrap();
        assert_eq!(s.info().await.unwrap().state.messages, 1);
        assert!(s.delete_message(99).await.is_err());
    }
}

#[tokio::test]
async fn j5_unknown_fields_from_newer_servers_are_kept() {
    let json = r#"{"name":"X","subjects":["x"],"retention":"interest","storage":"memory",
        "max_age":5000000000,"num_replicas":3,"compression":"s2","first_seq":10,
        "placement":{"cluster":"east","tags":["ssd"]},
        "republish":{"src":">","dest":"copy.>"},
        "mirror":{"name":"M","opt_start_seq":4,"future":true}}"#;
    let config: stream::Config = serde_json::from_str(json).unwrap();
    assert_eq!(config.retention, RetentionPolicy::Interest);
    assert_eq!(config.max_age, Duration::from_secs(5));
    assert_eq!(config.extra["compression"], "s2");
    assert_eq!(config.extra["first_seq"], 10);
    assert_eq!(config.placement.as_ref().unwrap().tags, ["ssd"]);
    assert_eq!(config.mirror.as_ref().unwrap().extra["future"], true);
    let back = serde_json::to_value(&config).unwrap();
    assert_eq!(back["compression"], "s2");
    assert_eq!(back["republish"]["dest"], "copy.>");
    assert_eq!(back["max_age"], 5_000_000_000u64);
    let again: stream::Config = serde_json::from_value(back).unwrap();
    assert_eq!(again, config);
}
