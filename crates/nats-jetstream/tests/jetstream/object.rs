//! Object Store against a real JetStream server (J25–J27): buckets, put/get, digests, replace,
//! failed puts, links, rename, seal, list and watch, and every error kind.

use std::io;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use futures_util::{StreamExt, TryStreamExt};
use nats_jetstream::object_store::{self, ObjectMeta, ObjectStore, ObjectStoreError};
use nats_jetstream::{Context, Publish};
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};

use crate::util::{js_server, within};

/// A bucket `name` on memory storage.
async fn bucket(js: &Context, name: &str) -> ObjectStore {
    js.create_object_store(object_store::Config {
        bucket: name.into(),
        storage: nats_jetstream::stream::StorageType::Memory,
        ..Default::default()
    })
    .await
    .unwrap()
}

/// `n` bytes of a pattern that differs per `seed`.
fn data(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

async fn read_all(store: &ObjectStore, name: &str) -> io::Result<Vec<u8>> {
    let mut object = store.get(name).await.map_err(io::Error::other)?;
    let mut out = Vec::new();
    within("reading an object", object.read_to_end(&mut out)).await?;
    Ok(out)
}

/// Messages in the bucket's stream.
async fn stored_messages(store: &ObjectStore) -> u64 {
    store.status().await.unwrap().stream.state.messages
}

/// A reader that yields `good` bytes, then fails.
struct FailingReader {
    good: usize,
}

impl AsyncRead for FailingReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.good == 0 {
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::BrokenPipe, "disk gone")));
        }
        let n = self.good.min(buf.remaining()).min(1000);
        buf.put_slice(&vec![7u8; n]);
        self.good -= n;
        Poll::Ready(Ok(()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn j25_buckets_create_get_status_names_seal_delete() {
    let (_server, js) = js_server().await;
    let store = js
        .create_object_store(object_store::Config {
            bucket: "files".into(),
            description: Some("uploads".into()),
            max_age: std::time::Duration::from_secs(3600),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(store.name(), "files");
    let info = js.stream_info("OBJ_files").await.unwrap();
    let c = &info.config;
    assert_eq!(c.subjects, ["$O.files.C.>", "$O.files.M.>"]);
    assert!(c.allow_rollup_hdrs, "J25: the metadata rolls up");
    assert_eq!(c.discard, nats_jetstream::stream::DiscardPolicy::New);
    let status = store.status().await.unwrap();
    assert_eq!(status.bucket, "files");
    assert_eq!(status.stream_name(), "OBJ_files");
    assert_eq!(status.description.as_deref(), Some("uploads"));
    assert_eq!(status.max_age, std::time::Duration::from_secs(3600));
    assert!(!status.sealed);
    assert_eq!(status.size, 0);

    bucket(&js, "other").await;
    js.create_stream(nats_jetstream::stream::Config {
        name: "PLAIN".into(),
        subjects: vec!["plain.>".into()],
        ..Default::default()
    })
    .await
    .unwrap();
    let mut names: Vec<String> = js.object_store_names().try_collect().await.unwrap();
    names.sort();
    assert_eq!(
        names,
        ["files", "other"],
        "only OBJ_ streams, prefix stripped"
    );

    let again = js.get_object_store("files").await.unwrap();
    again.put("a", &mut &b"abc"[..]).await.unwrap();
    let status = again.status().await.unwrap();
    assert!(status.size > 0);
    let sealed = again.seal().await.unwrap();
    assert!(sealed.sealed);
    let e = again.put("b", &mut &b"x"[..]).await.unwrap_err();
    assert!(
        matches!(e, ObjectStoreError::Publish(_)),
        "J25: sealed refuses puts: {e:?}"
    );
    assert_eq!(
        read_all(&again, "a").await.unwrap(),
        b"abc",
        "a sealed bucket reads"
    );
    assert!(matches!(
        again.delete("a").await.unwrap_err(),
        ObjectStoreError::Publish(_)
    ));

    js.delete_object_store("files").await.unwrap();
    assert!(matches!(
        js.get_object_store("files").await.unwrap_err(),
        ObjectStoreError::BucketNotFound { bucket } if bucket == "files"
    ));
    assert!(matches!(
        js.delete_object_store("files").await.unwrap_err(),
        ObjectStoreError::BucketNotFound { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn j25_j27_bad_names_and_missing_objects_are_typed_errors() {
    let (_server, js) = js_server().await;
    for bad in ["", "a.b", "a b", "a*", "a>", "ü"] {
        let e = js.create_object_store(bad.into()).await.unwrap_err();
        assert!(
            matches!(&e, ObjectStoreError::InvalidName(n) if n.what == "bucket"),
            "{bad:?}: {e:?}"
        );
        assert!(matches!(
            js.get_object_store(bad).await.unwrap_err(),
            ObjectStoreError::InvalidName(_)
        ));
    }
    assert!(matches!(
        js.get_object_store("nope").await.unwrap_err(),
        ObjectStoreError::BucketNotFound { .. }
    ));
    let store = bucket(&js, "names").await;
    for bad in ["", ".hidden", "dot.", "nul\0"] {
        let e = store.put(bad, &mut &b"x"[..]).await.unwrap_err();
        assert!(
            matches!(&e, ObjectStoreError::InvalidName(n) if n.what == "object"),
            "{bad:?}: {e:?}"
        );
        assert!(matches!(
            store.get(bad).await.unwrap_err(),
            ObjectStoreError::InvalidName(_)
        ));
        assert!(matches!(
            store.info(bad).await.unwrap_err(),
            ObjectStoreError::InvalidName(_)
        ));
    }
    let e = store.get("missing").await.unwrap_err();
    assert!(
        matches!(&e, ObjectStoreError::NotFound { bucket, name } if bucket == "names" && name == "missing")
    );
    assert!(e.is_not_found());
    assert!(store.info("missing").await.unwrap_err().is_not_found());
    assert!(store.delete("missing").await.unwrap_err().is_not_found());
    assert!(store
        .update_metadata("missing", "other")
        .await
        .unwrap_err()
        .is_not_found());
    // Names with any UTF-8, spaces and slashes are fine (base64url in the subject).
    let odd = "dir/sub dir/ünïcode ✓.txt";
    store.put(odd, &mut &b"odd"[..]).await.unwrap();
    assert_eq!(read_all(&store, odd).await.unwrap(), b"odd");
    assert_eq!(store.info(odd).await.unwrap().name, odd);
    let e = store
        .put(
            ObjectMeta {
                max_chunk_size: Some(64 << 20),
                ..ObjectMeta::from("huge-chunks")
            },
            &mut &b"x"[..],
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ObjectStoreError::Api(_)), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn j26_j27_put_get_round_trip_records_size_chunks_digest() {
    let (_server, js) = js_server().await;
    let store = bucket(&js, "rt").await;
    let bytes = data(10_000, 1);
    let meta = ObjectMeta {
        description: Some("ten thousand".into()),
        max_chunk_size: Some(1024),
        metadata: [("k".to_string(), "v".to_string())].into(),
        headers: [("X-Kind".to_string(), vec!["test".to_string()])].into(),
        ..ObjectMeta::from("data.bin")
    };
    let info = store.put(meta, &mut &bytes[..]).await.unwrap();
    assert_eq!(info.size, 10_000);
    assert_eq!(
        info.chunks, 10,
        "J26: 10 chunks of 1 KiB (the last shorter)"
    );
    assert_eq!(info.bucket, "rt");
    assert_eq!(info.nuid.len(), 22);
    let expected = {
        use base64::Engine as _;
        use sha2::Digest as _;
        format!(
            "SHA-256={}",
            base64::engine::general_purpose::URL_SAFE.encode(sha2::Sha256::digest(&bytes))
        )
    };
    assert_eq!(info.digest.as_deref(), Some(expected.as_str()));
    assert_eq!(
        stored_messages(&store).await,
        11,
        "10 chunks and the metadata"
    );

    let got = store.info("data.bin").await.unwrap();
    assert_eq!(got.size, 10_000);
    assert_eq!(got.description.as_deref(), Some("ten thousand"));
    assert_eq!(got.metadata["k"], "v");
    assert_eq!(got.headers["X-Kind"], ["test"]);
    assert_eq!(got.options.max_chunk_size, Some(1024));
    assert!(got.mtime > std::time::UNIX_EPOCH);
    let object = store.get("data.bin").await.unwrap();
    assert_eq!(object.info().digest, info.digest);
    assert_eq!(read_all(&store, "data.bin").await.unwrap(), bytes);

    // The chunks as a Stream of Bytes, each as stored.
    let mut object = store.get("data.bin").await.unwrap();
    let mut sizes = Vec::new();
    while let Some(chunk) = within("a chunk", object.next()).await {
        sizes.push(chunk.unwrap().len());
    }
    assert_eq!(sizes.len(), 10);
    assert_eq!(sizes[9], 10_000 - 9 * 1024);

    // Empty objects: no chunks, a digest, reads as empty.
    let empty = store.put("empty", &mut &b""[..]).await.unwrap();
    assert_eq!((empty.size, empty.chunks), (0, 0));
    assert!(empty.digest.is_some());
    assert_eq!(read_all(&store, "empty").await.unwrap(), b"");
    // Exactly one chunk's worth: one chunk.
    let one = store
        .clone()
        .with_chunk_size(100)
        .put("hundred", &mut &data(100, 2)[..])
        .await
        .unwrap();
    assert_eq!(one.chunks, 1);
    assert_eq!(read_all(&store, "hundred").await.unwrap(), data(100, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn j27_a_changed_chunk_fails_the_read_with_a_digest_mismatch() {
    let (_server, js) = js_server().await;
    let store = bucket(&js, "dm").await;
    let info = store.put("one", &mut &data(500, 3)[..]).await.unwrap();
    assert_eq!(info.chunks, 1);
    // Behind the store's back: the chunk replaced (rolled up) by other bytes of the same size.
    js.send_publish(
        format!("$O.dm.C.{}", info.nuid),
        Publish::build()
            .payload(data(500, 4).into())
            .header("Nats-Rollup", "sub"),
    )
    .await
    .unwrap()
    .await
    .unwrap();
    let mut object = store.get("one").await.unwrap();
    let mut out = Vec::new();
    let e = within("the failing read", object.read_to_end(&mut out))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    match ObjectStoreError::from_io(&e) {
        Some(ObjectStoreError::DigestMismatch {
            name,
            expected,
            actual,
        }) => {
            assert_eq!(name, "one");
            assert_eq!(Some(expected), info.digest.as_ref());
            assert_ne!(expected, actual);
        }
        other => panic!("expected a digest mismatch, got {other:?} ({e})"),
    }
    assert!(out.is_empty(), "J27: the bad last chunk is not handed out");

    // A multi-chunk object whose chunks were rolled up into one: missing chunks, typed.
    let info = store
        .put(
            ObjectMeta {
                max_chunk_size: Some(100),
                ..ObjectMeta::from("many")
            },
            &mut &data(1000, 5)[..],
        )
        .await
        .unwrap();
    js.send_publish(
        format!("$O.dm.C.{}", info.nuid),
        Publish::build()
            .payload(data(100, 5).into())
            .header("Nats-Rollup", "sub"),
    )
    .await
    .unwrap()
    .await
    .unwrap();
    let e = read_all(&store, "many").await.unwrap_err();
    assert!(
        matches!(
            ObjectStoreError::from_io(&e),
            Some(ObjectStoreError::Corrupt { .. })
        ),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn j26_replacing_purges_the_old_chunks_and_a_failed_put_leaves_nothing() {
    let (_server, js) = js_server().await;
    let store = bucket(&js, "rep").await.with_chunk_size(1000);
    let first = store.put("obj", &mut &data(5000, 1)[..]).await.unwrap();
    assert_eq!(stored_messages(&store).await, 6);
    let second = store.put("obj", &mut &data(2500, 2)[..]).await.unwrap();
    assert_ne!(first.nuid, second.nuid);
    assert_eq!(
        stored_messages(&store).await,
        4,
        "J26: the old 5 chunks are gone, 3 new chunks + 1 metadata remain"
    );
    assert_eq!(read_all(&store, "obj").await.unwrap(), data(2500, 2));

    // A reader failing midway: an error, the old object intact, no new chunks left.
    let e = store
        .put("obj", &mut FailingReader { good: 3500 })
        .await
        .unwrap_err();
    match &e {
        ObjectStoreError::Read(io) => assert_eq!(io.kind(), io::ErrorKind::BrokenPipe),
        other => panic!("expected a read error, got {other:?}"),
    }
    assert_eq!(
        stored_messages(&store).await,
        4,
        "J26: the partial chunks were purged"
    );
    assert_eq!(store.info("obj").await.unwrap().nuid, second.nuid);
    assert_eq!(read_all(&store, "obj").await.unwrap(), data(2500, 2));

    // A new name failing midway: not visible at all.
    store
        .put("fresh", &mut FailingReader { good: 2500 })
        .await
        .unwrap_err();
    assert!(store.info("fresh").await.unwrap_err().is_not_found());
    assert!(store.get("fresh").await.unwrap_err().is_not_found());
    assert_eq!(stored_messages(&store).await, 4);
    let listed: Vec<String> = store
        .list()
        .await
        .unwrap()
        .map_ok(|i| i.name)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed, ["obj"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn j27_delete_marks_deleted_and_purges_chunks() {
    let (_server, js) = js_server().await;
    let store = bucket(&js, "del").await.with_chunk_size(100);
    store.put("a", &mut &data(1000, 1)[..]).await.unwrap();
    store.put("b", &mut &data(10, 1)[..]).await.unwrap();
    store.delete("a").await.unwrap();
    assert!(store.info("a").await.unwrap_err().is_not_found());
    assert!(store.get("a").await.unwrap_err().is_not_found());
    let marker = store.info_including_deleted("a").await.unwrap();
    assert!(marker.deleted);
    assert_eq!((marker.size, marker.chunks), (0, 0));
    assert_eq!(
        stored_messages(&store).await,
        3,
        "the deleted marker, b's chunk and metadata"
    );
    assert!(store.delete("a").await.unwrap_err().is_not_found());
    let listed: Vec<String> = store
        .list()
        .await
        .unwrap()
        .map_ok(|i| i.name)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed, ["b"], "list excludes deleted objects");
    // A deleted name can be stored again.
    store.put("a", &mut &b"again"[..]).await.unwrap();
    assert_eq!(read_all(&store, "a").await.unwrap(), b"again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn j27_links_to_objects_and_buckets() {
    let (_server, js) = js_server().await;
    let store = bucket(&js, "links").await;
    let other = bucket(&js, "elsewhere").await;
    let target = store.put("target", &mut &b"payload"[..]).await.unwrap();
    let far = other.put("far", &mut &b"far away"[..]).await.unwrap();

    let link = store.add_link("alias", &target).await.unwrap();
    assert!(link.is_link());
    assert_eq!(link.link().unwrap().name.as_deref(), Some("target"));
    assert_eq!(read_all(&store, "alias").await.unwrap(), b"payload");
    let object = store.get("alias").await.unwrap();
    assert_eq!(
        object.info().name,
        "target",
        "the info of the linked object"
    );
    store.add_link("far-alias", &far).await.unwrap();
    assert_eq!(read_all(&store, "far-alias").await.unwrap(), b"far away");

    // A link to a link, a link over an object: refused.
    let e = store.add_link("alias2", &link).await.unwrap_err();
    assert!(matches!(e, ObjectStoreError::LinkToLink { .. }), "{e:?}");
    let e = store.add_link("target", &far).await.unwrap_err();
    assert!(matches!(e, ObjectStoreError::AlreadyExists { .. }), "{e:?}");
    // A link may be replaced by a link.
    store.add_link("alias", &target).await.unwrap();

    // Bucket links: stored, but not readable as an object.
    let bl = store.add_bucket_link("other-bucket", &other).await.unwrap();
    assert_eq!(bl.link().unwrap().bucket, "elsewhere");
    assert!(bl.link().unwrap().name.is_none());
    let e = store.get("other-bucket").await.unwrap_err();
    assert!(
        matches!(&e, ObjectStoreError::BucketLink { bucket, .. } if bucket == "elsewhere"),
        "{e:?}"
    );
    let e = store
        .add_bucket_link("nowhere", "no-such-bucket")
        .await
        .unwrap_err();
    assert!(
        matches!(e, ObjectStoreError::BucketNotFound { .. }),
        "{e:?}"
    );

    // Deleted targets: a link to one is refused; an existing link then reads NotFound.
    store.delete("target").await.unwrap();
    let e = store.add_link("late", &target).await.unwrap_err();
    assert!(
        matches!(e, ObjectStoreError::LinkToDeleted { ref name } if name == "target"),
        "J27: the target was deleted since its info was read: {e:?}"
    );
    let deleted = store.info_including_deleted("target").await.unwrap();
    let e = store.add_link("late", &deleted).await.unwrap_err();
    assert!(matches!(e, ObjectStoreError::LinkToDeleted { .. }), "{e:?}");
    assert!(store.get("alias").await.unwrap_err().is_not_found());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn j27_update_metadata_and_rename() {
    let (_server, js) = js_server().await;
    let store = bucket(&js, "meta").await;
    store.put("a", &mut &b"aaa"[..]).await.unwrap();
    store.put("b", &mut &b"bbb"[..]).await.unwrap();

    let updated = store
        .update_metadata(
            "a",
            ObjectMeta {
                description: Some("described".into()),
                ..ObjectMeta::from("a")
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.description.as_deref(), Some("described"));
    assert_eq!(
        store.info("a").await.unwrap().description.as_deref(),
        Some("described")
    );

    let e = store.update_metadata("a", "b").await.unwrap_err();
    assert!(
        matches!(&e, ObjectStoreError::AlreadyExists { name, .. } if name == "b"),
        "{e:?}"
    );
    let renamed = store
        .update_metadata(
            "a",
            ObjectMeta {
                name: "c".into(),
                ..ObjectMeta::from(&updated)
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "c");
    assert!(store.info("a").await.unwrap_err().is_not_found());
    assert!(
        store
            .info_including_deleted("a")
            .await
            .unwrap_err()
            .is_not_found(),
        "the old metadata subject was purged"
    );
    let c = store.info("c").await.unwrap();
    assert_eq!(c.description.as_deref(), Some("described"));
    assert_eq!(read_all(&store, "c").await.unwrap(), b"aaa");

    // Renaming onto a deleted name is fine.
    store.delete("b").await.unwrap();
    store.update_metadata("c", "b").await.unwrap();
    assert_eq!(read_all(&store, "b").await.unwrap(), b"aaa");
    let e = store.update_metadata("b", "").await.unwrap_err();
    assert!(matches!(e, ObjectStoreError::InvalidName(_)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn j27_watch_and_list() {
    let (_server, js) = js_server().await;
    let store = bucket(&js, "w").await;
    // Nothing stored: the history watch is in sync at once, the list is empty.
    let empty = store.watch_with_history().await.unwrap();
    assert!(empty.initial_done());
    assert_eq!(store.list().await.unwrap().count().await, 0);

    store.put("one", &mut &b"1"[..]).await.unwrap();
    store.put("two", &mut &b"22"[..]).await.unwrap();
    store.put("one", &mut &b"111"[..]).await.unwrap();

    let mut history = store.watch_with_history().await.unwrap();
    assert!(!history.initial_done());
    let first = within("history 1", history.next()).await.unwrap().unwrap();
    assert_eq!(first.name, "two");
    assert!(!history.initial_done());
    let second = within("history 2", history.next()).await.unwrap().unwrap();
    assert_eq!((second.name.as_str(), second.size), ("one", 3));
    assert!(
        history.initial_done(),
        "J27: the current objects were all delivered"
    );

    let mut live = store.watch().await.unwrap();
    assert!(live.initial_done());
    // Each update read before the next write: nats-server 2.9 moves a consumer whose filter
    // matches a rolled-up subject to the roll-up message, past updates it has not delivered.
    store.put("three", &mut &b"333"[..]).await.unwrap();
    let u = within("live update", live.next()).await.unwrap().unwrap();
    assert_eq!((u.name.as_str(), u.deleted), ("three", false));
    let h = within("history live", history.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(h.name, "three");
    store.delete("two").await.unwrap();
    let d = within("live delete", live.next()).await.unwrap().unwrap();
    assert_eq!((d.name.as_str(), d.deleted), ("two", true));

    let mut listed: Vec<(String, u64)> = store
        .list()
        .await
        .unwrap()
        .map_ok(|i| (i.name, i.size))
        .try_collect()
        .await
        .unwrap();
    listed.sort();
    assert_eq!(listed, [("one".to_string(), 3), ("three".to_string(), 3)]);

    // A deleted bucket ends the watch with a terminal error.
    js.delete_object_store("w").await.unwrap();
    let end = within("the watch's end", async {
        loop {
            match live.next().await {
                Some(Ok(_)) => continue,
                other => return other,
            }
        }
    })
    .await;
    assert!(
        matches!(end, Some(Err(ObjectStoreError::Consume(_))) | None),
        "{end:?}"
    );
}
