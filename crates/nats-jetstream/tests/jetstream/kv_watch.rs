//! Key-Value watches (J23): initial values, the in-sync marker, live updates, the options
//! (history, updates only, ignore deletes, from a revision, several filters).

use futures_util::StreamExt;
use nats_jetstream::kv::{self, Operation, WatchEvent};

use crate::kv::bucket;
use crate::util::{js_server, within};

/// The next event of `watch` within the deadline, as `key=value` / `key:DEL` / `SYNC`.
async fn event(watch: &mut kv::Watch) -> String {
    match within("a watch event", watch.next_event()).await {
        Some(Ok(WatchEvent::Entry(e))) => match e.operation {
            Operation::Put => format!("{}={}", e.key, String::from_utf8_lossy(&e.value)),
            op => format!("{}:{op}", e.key),
        },
        Some(Ok(WatchEvent::InSync)) => "SYNC".into(),
        other => panic!("watch ended or failed: {other:?}"),
    }
}

async fn events(watch: &mut kv::Watch, n: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(event(watch).await);
    }
    out
}

#[tokio::test]
async fn j23_initial_values_then_in_sync_then_live_updates() {
    let (_server, js) = js_server().await;
    let store = bucket(&js, "w", 5).await;

    // An empty bucket is in sync at once.
    let mut empty = store.watch_all().await.unwrap();
    assert!(empty.in_sync());
    assert_eq!(event(&mut empty).await, "SYNC");

    store.put("a", "1".into()).await.unwrap();
    store.put("a", "2".into()).await.unwrap();
    store.put("b", "1".into()).await.unwrap();
    store.put("c", "1".into()).await.unwrap();
    store.delete("c").await.unwrap();
    assert_eq!(
        events(&mut empty, 5).await,
        ["a=1", "a=2", "b=1", "c=1", "c:DEL"]
    );

    // The latest revision of each key, in revision order, then the marker.
    let mut watch = store.watch_all().await.unwrap();
    assert!(!watch.in_sync());
    assert_eq!(events(&mut watch, 4).await, ["a=2", "b=1", "c:DEL", "SYNC"]);
    assert!(watch.in_sync());
    store.put("d", "1".into()).await.unwrap();
    store.purge("a").await.unwrap();
    assert_eq!(events(&mut watch, 2).await, ["d=1", "a:PURGE"]);

    // The Stream of entries: seen_current from the last initial value on.
    let mut entries = store.watch("b").await.unwrap();
    let first = within("an entry", entries.next()).await.unwrap().unwrap();
    assert_eq!(
        (first.key.as_str(), first.seen_current, first.delta),
        ("b", true, 0)
    );
    assert_eq!(first.bucket, "w");
    assert!(entries.in_sync());
    let r = store.put("b", "2".into()).await.unwrap();
    let next = within("an entry", entries.next()).await.unwrap().unwrap();
    assert_eq!((next.revision, next.seen_current), (r, true));
    assert_eq!(next.value, "2");
}

#[tokio::test]
async fn j23_watch_options_history_updates_only_ignore_deletes_from_revision_filters() {
    let (_server, js) = js_server().await;
    let store = bucket(&js, "opt", 10).await;
    let r1 = store.put("x.a", "1".into()).await.unwrap();
    store.put("x.a", "2".into()).await.unwrap();
    store.put("y.b", "1".into()).await.unwrap();
    store.delete("x.a").await.unwrap();

    let mut history = store.watch_with_history("x.a").await.unwrap();
    assert_eq!(
        events(&mut history, 4).await,
        ["x.a=1", "x.a=2", "x.a:DEL", "SYNC"]
    );

    let mut updates = store.watcher().updates_only().await.unwrap();
    assert!(updates.in_sync());
    assert_eq!(event(&mut updates).await, "SYNC");
    store.put("z", "new".into()).await.unwrap();
    assert_eq!(event(&mut updates).await, "z=new");

    let mut live = store
        .watcher()
        .ignore_deletes()
        .include_history()
        .await
        .unwrap();
    assert_eq!(
        events(&mut live, 5).await,
        ["x.a=1", "x.a=2", "y.b=1", "z=new", "SYNC"]
    );
    store.delete("y.b").await.unwrap();
    store.put("y.b", "again".into()).await.unwrap();
    assert_eq!(event(&mut live).await, "y.b=again", "the delete is skipped");

    let mut from = store.watch_from_revision("x.a", r1 + 1).await.unwrap();
    assert_eq!(events(&mut from, 3).await, ["x.a=2", "x.a:DEL", "SYNC"]);

    // Wildcards, and several filters (filtered locally on a 2.9 server).
    let mut wild = store.watch("*.b").await.unwrap();
    assert_eq!(events(&mut wild, 2).await, ["y.b=again", "SYNC"]);
    let mut many = store.watch_many(["x.>", "z"]).await.unwrap();
    assert_eq!(events(&mut many, 3).await, ["x.a:DEL", "z=new", "SYNC"]);
    store.put("y.c", "no".into()).await.unwrap();
    store.put("x.q", "yes".into()).await.unwrap();
    assert_eq!(event(&mut many).await, "x.q=yes");

    // Values left out on request.
    let mut meta = store.watcher().key("x.q").meta_only().await.unwrap();
    let e = within("an entry", meta.next()).await.unwrap().unwrap();
    assert!(e.value.is_empty() && e.key == "x.q", "{e:?}");
    drop(meta);

    // A deleted bucket ends a watch with a terminal error.
    js.delete_key_value("opt").await.unwrap();
    let end = within("the end of the watch", many.next()).await;
    assert!(
        matches!(
            end,
            Some(Err(kv::Error::Consume(
                nats_jetstream::ConsumeError::StreamDeleted
            )))
        ),
        "{end:?}"
    );
    assert!(within("nothing after the end", many.next()).await.is_none());
}
