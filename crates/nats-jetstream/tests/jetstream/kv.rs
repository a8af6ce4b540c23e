//! Key-Value store operations against a real JetStream server (J20–J22): buckets, key rules,
//! put/get/entry, create, compare-and-set, delete, purge, purge_deletes, history, keys,
//! direct get on and off. Every error kind is checked by its variant.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use futures_util::TryStreamExt;
use nats_jetstream::kv::{self, Operation};
use nats_jetstream::stream::{DiscardPolicy, StorageType};
use nats_jetstream::Context;

use crate::util::{js_server, within};

/// A memory bucket with `history`.
pub(crate) async fn bucket(js: &Context, name: &str, history: i64) -> kv::Store {
    js.create_key_value(kv::Config {
        bucket: name.into(),
        history,
        storage: StorageType::Memory,
        ..Default::default()
    })
    .await
    .unwrap()
}

async fn keys_of(store: &kv::Store, filters: &[&str]) -> BTreeSet<String> {
    within("the keys", async {
        if filters.is_empty() {
            store.keys().await.unwrap().try_collect().await.unwrap()
        } else {
            store
                .keys_with_filters(filters.iter().copied())
                .await
                .unwrap()
                .try_collect()
                .await
                .unwrap()
        }
    })
    .await
}

async fn history_of(store: &kv::Store, key: &str) -> Vec<(Operation, String)> {
    let entries: Vec<kv::Entry> = within("the history", async {
        store
            .history(key)
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap()
    })
    .await;
    entries
        .into_iter()
        .map(|e| (e.operation, String::from_utf8_lossy(&e.value).into_owned()))
        .collect()
}

fn set(keys: &[&str]) -> BTreeSet<String> {
    keys.iter().map(|k| k.to_string()).collect()
}

#[tokio::test]
async fn j20_bucket_create_status_update_list_delete() {
    let (_server, js) = js_server().await;
    let store = js
        .create_key_value(kv::Config {
            bucket: "cfg".into(),
            description: Some("settings".into()),
            history: 5,
            max_age: Duration::from_secs(3600),
            max_value_size: 1024,
            storage: StorageType::Memory,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(store.bucket(), "cfg");
    let config = &store.stream().cached_info().config;
    assert_eq!(config.name, "KV_cfg");
    assert_eq!(config.subjects, ["$KV.cfg.>"]);
    assert_eq!(config.max_messages_per_subject, 5);
    assert_eq!(config.discard, DiscardPolicy::New);
    assert!(config.deny_delete && !config.deny_purge && config.allow_rollup_hdrs);
    assert!(config.allow_direct, "direct get on by default");
    assert_eq!(config.max_message_size, 1024);
    assert_eq!(config.duplicate_window, Duration::from_secs(120));
    assert_eq!(config.description.as_deref(), Some("settings"));

    store.put("a", "1".into()).await.unwrap();
    store.put("a", "2".into()).await.unwrap();
    let status = store.status().await.unwrap();
    assert_eq!(status.bucket(), "cfg");
    assert_eq!(status.values(), 2);
    assert_eq!(status.history(), 5);
    assert_eq!(status.max_age(), Duration::from_secs(3600));
    assert!(status.bytes() > 0);
    assert_eq!(status.stream_name(), "KV_cfg");
    assert!(!status.is_compressed());

    // A short TTL makes the duplicate window as short (ADR-8).
    let short = js
        .create_key_value(kv::Config {
            bucket: "short".into(),
            max_age: Duration::from_secs(30),
            storage: StorageType::Memory,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        short.stream().cached_info().config.duplicate_window,
        Duration::from_secs(30)
    );
    // Other streams are not buckets.
    js.create_stream(nats_jetstream::stream::Config {
        name: "PLAIN".into(),
        subjects: vec!["plain.>".into()],
        storage: StorageType::Memory,
        ..Default::default()
    })
    .await
    .unwrap();
    let names: BTreeSet<String> = js.key_value_store_names().try_collect().await.unwrap();
    assert_eq!(names, set(&["cfg", "short"]));
    let stores: Vec<kv::Status> = js.key_value_stores().try_collect().await.unwrap();
    assert_eq!(stores.len(), 2);

    let bound = js.get_key_value("cfg").await.unwrap();
    assert_eq!(bound.get("a").await.unwrap().as_deref(), Some(&b"2"[..]));
    let updated = js
        .update_key_value(kv::Config {
            bucket: "cfg".into(),
            history: 10,
            max_age: Duration::from_secs(3600),
            max_value_size: 1024,
            storage: StorageType::Memory,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(updated.status().await.unwrap().history(), 10);

    js.delete_key_value("cfg").await.unwrap();
    assert!(matches!(
        js.get_key_value("cfg").await,
        Err(kv::Error::BucketNotFound(b)) if b == "cfg"
    ));
    assert!(matches!(
        js.delete_key_value("cfg").await,
        Err(kv::Error::BucketNotFound(_))
    ));
    assert!(matches!(
        store.status().await,
        Err(kv::Error::BucketNotFound(_))
    ));
    let names: BTreeSet<String> = js.key_value_store_names().try_collect().await.unwrap();
    assert_eq!(names, set(&["short"]));
}

#[tokio::test]
async fn j20_j21_bad_bucket_names_history_and_keys_are_typed_errors() {
    let (_server, js) = js_server().await;
    for bad in ["", "a.b", "a b", "a*", "a>", "a/b"] {
        let e = js
            .create_key_value(kv::Config {
                bucket: bad.into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert!(
            matches!(&e, kv::Error::InvalidBucket(n) if n.what == "bucket"),
            "{bad:?}: {e:?}"
        );
        assert!(matches!(
            js.get_key_value(bad).await,
            Err(kv::Error::InvalidBucket(_))
        ));
        assert!(matches!(
            js.delete_key_value(bad).await,
            Err(kv::Error::InvalidBucket(_))
        ));
    }
    for history in [0, -3, 65, 1000] {
        let e = js
            .create_key_value(kv::Config {
                bucket: "h".into(),
                history,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert!(
            matches!(e, kv::Error::InvalidHistory(h) if h == history),
            "{e:?}"
        );
    }
    let max = bucket(&js, "h", 64).await;
    assert_eq!(max.status().await.unwrap().history(), 64);
    assert!(matches!(
        js.get_key_value("missing").await,
        Err(kv::Error::BucketNotFound(_))
    ));

    let store = bucket(&js, "keys", 1).await;
    for bad in ["", ".a", "a.", "a..b", "a b", "a*", "a.>", "ä", "a$b"] {
        let is_key_error = |r: Result<(), kv::Error>| matches!(r, Err(kv::Error::InvalidKey(n)) if n.what == "key");
        assert!(
            is_key_error(store.put(bad, "x".into()).await.map(drop)),
            "{bad:?}"
        );
        assert!(is_key_error(store.get(bad).await.map(drop)), "{bad:?}");
        assert!(is_key_error(store.entry(bad).await.map(drop)), "{bad:?}");
        assert!(is_key_error(store.create(bad, "x".into()).await.map(drop)));
        assert!(is_key_error(
            store.update(bad, "x".into(), 1).await.map(drop)
        ));
        assert!(is_key_error(store.delete(bad).await.map(drop)));
        assert!(is_key_error(store.purge(bad).await.map(drop)));
    }
    // Wildcards only in filters.
    for bad in ["a..b", "a.>.b", "a*", ""] {
        assert!(
            matches!(store.watch(bad).await, Err(kv::Error::InvalidKey(_))),
            "{bad:?}"
        );
        assert!(matches!(
            store.keys_with_filters([bad]).await,
            Err(kv::Error::InvalidKey(_))
        ));
    }
    assert!(store.watch("a.*").await.is_ok());
    assert!(store.keys_with_filters(["a.>"]).await.is_ok());
    // Nothing was written by the refused calls.
    assert_eq!(store.status().await.unwrap().values(), 0);
}

#[tokio::test]
async fn j22_put_get_entry_create_update_cas_delete() {
    let (_server, js) = js_server().await;
    let store = bucket(&js, "ent", 5).await;
    assert_eq!(store.get("db.url").await.unwrap(), None);
    assert_eq!(store.entry("db.url").await.unwrap(), None);

    let before = SystemTime::now() - Duration::from_secs(5);
    let r1 = store.put("db.url", "postgres://a".into()).await.unwrap();
    assert_eq!(r1, 1);
    assert_eq!(
        store.get("db.url").await.unwrap().as_deref(),
        Some(&b"postgres://a"[..])
    );
    let e = store.entry("db.url").await.unwrap().unwrap();
    assert_eq!(
        (
            e.bucket.as_str(),
            e.key.as_str(),
            e.revision,
            e.operation,
            e.delta
        ),
        ("ent", "db.url", r1, Operation::Put, 0)
    );
    assert_eq!(e.value, "postgres://a");
    assert!(e.created > before && e.created < SystemTime::now() + Duration::from_secs(5));

    // Compare-and-set.
    let r2 = store
        .update("db.url", "postgres://b".into(), r1)
        .await
        .unwrap();
    assert_eq!(r2, 2);
    match store.update("db.url", "postgres://c".into(), r1).await {
        Err(kv::Error::WrongLastRevision {
            key,
            expected,
            current,
        }) => assert_eq!((key.as_str(), expected, current), ("db.url", r1, Some(r2))),
        other => panic!("stale update: {other:?}"),
    }
    assert_eq!(
        store
            .update("db.url", "x".into(), r1)
            .await
            .unwrap_err()
            .err_code(),
        Some(nats_jetstream::ErrorCode::WRONG_LAST_SEQUENCE)
    );
    assert_eq!(
        store.get("db.url").await.unwrap().as_deref(),
        Some(&b"postgres://b"[..])
    );
    // Update of a key that was never written expects revision 0.
    let n1 = store.update("new", "n".into(), 0).await.unwrap();
    assert!(matches!(
        store.update("never", "n".into(), 7).await,
        Err(kv::Error::WrongLastRevision { expected: 7, .. })
    ));

    // Create: fails on a key with a value...
    match store.create("db.url", "x".into()).await {
        Err(kv::Error::KeyExists { key, revision }) => {
            assert_eq!((key.as_str(), revision), ("db.url", r2))
        }
        other => panic!("create on an existing key: {other:?}"),
    }
    let c1 = store.create("lock", "me".into()).await.unwrap();
    assert!(c1 > n1);
    // ... and works after a delete or a purge (ADR-8: it expects the marker's revision).
    let d = store.delete("lock").await.unwrap();
    assert_eq!(store.get("lock").await.unwrap(), None);
    let marker = store.entry("lock").await.unwrap().unwrap();
    assert_eq!((marker.operation, marker.revision), (Operation::Delete, d));
    assert!(marker.value.is_empty());
    let c2 = store.create("lock", "you".into()).await.unwrap();
    assert_eq!(
        store.get("lock").await.unwrap().as_deref(),
        Some(&b"you"[..])
    );
    store.purge("lock").await.unwrap();
    assert_eq!(store.get("lock").await.unwrap(), None);
    let c3 = store.create("lock", "them".into()).await.unwrap();
    assert!(c3 > c2);

    // Deletes and purges with an expected revision.
    assert!(matches!(
        store.delete_expect_revision("lock", Some(c2)).await,
        Err(kv::Error::WrongLastRevision { .. })
    ));
    assert!(matches!(
        store.purge_expect_revision("lock", Some(c2)).await,
        Err(kv::Error::WrongLastRevision { .. })
    ));
    let d2 = store
        .delete_expect_revision("lock", Some(c3))
        .await
        .unwrap();
    assert_eq!(store.entry("lock").await.unwrap().unwrap().revision, d2);

    // An older revision by number; another key's revision is not this key's.
    let old = store
        .entry_for_revision("db.url", r1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.value, "postgres://a");
    assert_eq!(store.entry_for_revision("db.url", c1).await.unwrap(), None);
    assert_eq!(
        store.entry_for_revision("db.url", 9999).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn j22_history_purge_and_purge_deletes() {
    let (_server, js) = js_server().await;
    let store = bucket(&js, "hist", 10).await;
    for v in ["1", "2", "3"] {
        store.put("a", v.into()).await.unwrap();
    }
    store.delete("a").await.unwrap();
    store.put("other", "o".into()).await.unwrap();
    assert_eq!(
        history_of(&store, "a").await,
        [
            (Operation::Put, "1".into()),
            (Operation::Put, "2".into()),
            (Operation::Put, "3".into()),
            (Operation::Delete, String::new()),
        ]
    );
    assert!(
        history_of(&store, "none").await.is_empty(),
        "an empty history ends"
    );

    // A purge replaces every earlier revision (roll-up).
    store.put("a", "4".into()).await.unwrap();
    store.purge("a").await.unwrap();
    assert_eq!(
        history_of(&store, "a").await,
        [(Operation::Purge, String::new())]
    );
    assert_eq!(store.get("a").await.unwrap(), None);

    // purge_deletes: old markers go with everything before them, newer ones stay alone.
    store.put("b", "1".into()).await.unwrap();
    store.put("b", "2".into()).await.unwrap();
    store.delete("b").await.unwrap();
    let cleaned = store
        .purge_deletes(Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(cleaned, 2, "the markers of a and b");
    assert_eq!(
        history_of(&store, "b").await,
        [(Operation::Delete, String::new())]
    );
    assert_eq!(
        history_of(&store, "a").await,
        [(Operation::Purge, String::new())]
    );
    let cleaned = store.purge_deletes(Duration::ZERO).await.unwrap();
    assert_eq!(cleaned, 2);
    assert!(history_of(&store, "a").await.is_empty());
    assert!(history_of(&store, "b").await.is_empty());
    assert_eq!(store.entry("b").await.unwrap(), None);
    assert_eq!(
        store.status().await.unwrap().values(),
        1,
        "only `other` is left"
    );
    assert_eq!(store.purge_deletes(Duration::ZERO).await.unwrap(), 0);
    // A key can be created again after its markers are gone.
    store.create("b", "again".into()).await.unwrap();

    // History 1 keeps one revision per key.
    let one = bucket(&js, "one", 1).await;
    one.put("k", "1".into()).await.unwrap();
    one.put("k", "2".into()).await.unwrap();
    assert_eq!(history_of(&one, "k").await, [(Operation::Put, "2".into())]);
}

#[tokio::test]
async fn j22_keys_with_and_without_filters() {
    let (_server, js) = js_server().await;
    let store = bucket(&js, "ks", 3).await;
    assert!(
        keys_of(&store, &[]).await.is_empty(),
        "an empty bucket ends at once"
    );
    for key in ["a.1", "a.2", "b.1", "c"] {
        store.put(key, "v".into()).await.unwrap();
        store.put(key, "w".into()).await.unwrap();
    }
    store.delete("c").await.unwrap();
    store.put("d", "v".into()).await.unwrap();
    store.purge("d").await.unwrap();
    assert_eq!(keys_of(&store, &[]).await, set(&["a.1", "a.2", "b.1"]));
    assert_eq!(keys_of(&store, &["a.*"]).await, set(&["a.1", "a.2"]));
    assert_eq!(keys_of(&store, &["b.>"]).await, set(&["b.1"]));
    assert_eq!(keys_of(&store, &["c"]).await, set(&[]));
    // Several filters (filtered here on a 2.9 server, by the server on 2.10+).
    assert_eq!(keys_of(&store, &["a.2", "b.*"]).await, set(&["a.2", "b.1"]));
    // The consumers of the finished reads are deleted.
    within("the key scans' consumers deleted", async {
        loop {
            let names: Vec<String> = store.stream().consumer_names().try_collect().await.unwrap();
            if names.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn j22_direct_get_on_and_off_read_the_same() {
    let (_server, js) = js_server().await;
    for allow_direct in [true, false] {
        let name = if allow_direct { "direct" } else { "msgget" };
        let store = js
            .create_key_value(kv::Config {
                bucket: name.into(),
                history: 3,
                allow_direct,
                max_value_size: 256,
                storage: StorageType::Memory,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            store.stream().cached_info().config.allow_direct,
            allow_direct
        );
        // The same through a handle bound later.
        let bound = js.get_key_value(name).await.unwrap();
        for s in [&store, &bound] {
            assert_eq!(s.get("k").await.unwrap(), None, "{name}");
            let r = s.put("k", "v1".into()).await.unwrap();
            assert_eq!(s.get("k").await.unwrap().as_deref(), Some(&b"v1"[..]));
            let e = s.entry("k").await.unwrap().unwrap();
            assert_eq!((e.revision, e.operation), (r, Operation::Put), "{name}");
            s.delete("k").await.unwrap();
            assert_eq!(s.get("k").await.unwrap(), None, "{name}");
            assert_eq!(
                s.entry("k").await.unwrap().unwrap().operation,
                Operation::Delete
            );
            s.purge("k").await.unwrap();
            assert_eq!(s.get("k").await.unwrap(), None, "{name}");
        }
        // A value above max_value_size is refused by the stream.
        let e = store.put("big", vec![b'x'; 1024].into()).await.unwrap_err();
        assert!(matches!(e, kv::Error::Publish(_)), "{e:?}");
        assert_eq!(
            e.err_code(),
            Some(nats_jetstream::ErrorCode::MESSAGE_TOO_LARGE)
        );
    }
}
