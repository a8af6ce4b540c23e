//! The Key-Value workloads of the peers harness (its README, "Key-Value and Object Store
//! workloads"), through `nats_jetstream::kv` as an application would use it:
//!
//! - `kv-put`: bucket `BENCH` (history 1, memory, R1) deleted and created again, keys
//!   `k.0`..`k.999` formatted beforehand, N sequential `put` of S bytes to `k.<i mod 1000>`,
//!   each awaiting its revision (the PubAck; the put goes through the context's JetStream
//!   publisher). First put -> last revision.
//! - `kv-get`: the same bucket filled untimed with one put per key, then N sequential `get`
//!   of `k.<i mod 1000>` (direct get: `$JS.API.DIRECT.GET.KV_BENCH.$KV.BENCH.k.<i>`, empty
//!   body, one request each), every value's length checked.

use std::time::Instant;

use bytes::Bytes;
use nats_jetstream::kv;
use nats_jetstream::stream::StorageType;
use nats_jetstream::Context;
use serde_json::{json, Map, Value};

use crate::{add_rate, base, round, Res};

const BUCKET: &str = "BENCH";
const STREAM: &str = "KV_BENCH";
/// Keys are `k.<i mod KEYS>`.
const KEYS: u64 = 1000;

fn keys() -> Vec<String> {
    (0..KEYS).map(|i| format!("k.{i}")).collect()
}

/// Deletes bucket BENCH if present and creates it again: history 1, memory, R1.
async fn fresh_bucket(js: &Context) -> Res<kv::Store> {
    match js.delete_key_value(BUCKET).await {
        Ok(()) | Err(kv::Error::BucketNotFound(_)) => {}
        Err(e) => return Err(format!("delete bucket {BUCKET}: {e}").into()),
    }
    Ok(js
        .create_key_value(kv::Config {
            bucket: BUCKET.into(),
            history: 1,
            storage: StorageType::Memory,
            num_replicas: 1,
            ..Default::default()
        })
        .await?)
}

/// The bucket facts every KV line carries.
fn bucket_fields(m: &mut Map<String, Value>, store: &kv::Store) {
    let allow_direct = store.stream().cached_info().config.allow_direct;
    m.insert("bucket".into(), json!(BUCKET));
    m.insert("storage".into(), json!("memory"));
    m.insert("history".into(), json!(1));
    m.insert("keys".into(), json!(KEYS));
    m.insert("bucket_created_with".into(), json!("create_key_value"));
    m.insert("allow_direct".into(), json!(allow_direct));
    m.insert(
        "get_path".into(),
        json!(if allow_direct {
            "direct-get-last-by-subject"
        } else {
            "msg-get-last-by-subject"
        }),
    );
}

async fn bucket_values(js: &Context) -> Res<u64> {
    Ok(js.stream_info(STREAM).await?.state.messages)
}

pub(crate) async fn kv_put(url: &str, n: u64, size: u64) -> Res<Map<String, Value>> {
    let client = nats_client::connect(url).await?;
    let js = nats_jetstream::new(client.clone());
    let store = fresh_bucket(&js).await?;
    let keys = keys();
    let value = Bytes::from(vec![b'x'; size as usize]);
    let mut last_revision = 0u64;
    let mut m = base("kv-put", n, size);
    let start = Instant::now();
    let mut failed = None;
    for i in 0..n {
        match store.put(&keys[(i % KEYS) as usize], value.clone()).await {
            Ok(r) => last_revision = r,
            Err(e) => {
                failed = Some(format!("put {i}: {e}"));
                break;
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    match failed {
        None => add_rate(&mut m, n, size, secs),
        Some(e) => {
            m.insert("error".into(), json!(e));
        }
    }
    bucket_fields(&mut m, &store);
    m.insert("last_revision".into(), json!(last_revision));
    m.insert("bucket_values".into(), json!(bucket_values(&js).await?));
    client.close().await;
    Ok(m)
}

pub(crate) async fn kv_get(url: &str, n: u64, size: u64) -> Res<Map<String, Value>> {
    let client = nats_client::connect(url).await?;
    let js = nats_jetstream::new(client.clone());
    let store = fresh_bucket(&js).await?;
    let keys = keys();
    let value = Bytes::from(vec![b'x'; size as usize]);
    let t_fill = Instant::now();
    for key in &keys {
        store.put(key, value.clone()).await?;
    }
    let fill_secs = t_fill.elapsed().as_secs_f64();

    let mut misses = 0u64;
    let mut failed = None;
    let start = Instant::now();
    for i in 0..n {
        match store.get(&keys[(i % KEYS) as usize]).await {
            Ok(Some(v)) if v.len() == size as usize => {}
            Ok(_) => misses += 1,
            Err(e) => {
                failed = Some(format!("get {i}: {e}"));
                break;
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let mut m = base("kv-get", n, size);
    match (failed, misses) {
        (None, 0) => add_rate(&mut m, n, size, secs),
        (Some(e), _) => {
            m.insert("error".into(), json!(e));
        }
        (None, misses) => {
            m.insert(
                "error".into(),
                json!(format!("{misses} gets missed or had a wrong length")),
            );
        }
    }
    m.insert("misses".into(), json!(misses));
    bucket_fields(&mut m, &store);
    m.insert("fill_secs".into(), json!(round(fill_secs, 6)));
    m.insert("bucket_values".into(), json!(bucket_values(&js).await?));
    client.close().await;
    Ok(m)
}
