//! The Object Store workloads of the peers harness (its README, "Key-Value and Object Store
//! workloads"), through `nats-jetstream`'s `object_store` as an application would use it:
//!
//! - `obj-put`: bucket `BENCHOBJ` deleted if present and created again (file storage, R1),
//!   then one timed `put` of `--size` bytes named `bench` from an in-memory `&[u8]` reader
//!   with the default chunk size (128 KiB). The put pipelines its chunk publishes through the
//!   context's ack window (a bounded window of chunks in flight) and returns once every chunk
//!   and the metadata are acked.
//! - `obj-get`: the same put, untimed; then a timed `get` + `read_to_end` into a buffer sized
//!   for the object (the SHA-256 digest is checked before the end of data is reported), and
//!   the length and every byte compared afterwards, untimed.
//!
//! The bucket is deleted at the end of each run.

use std::time::Instant;

use nats_jetstream::object_store::{self, ObjectStore, DEFAULT_CHUNK_SIZE};
use nats_jetstream::stream::StorageType;
use nats_jetstream::Context;
use serde_json::{json, Map, Value};
use tokio::io::AsyncReadExt;

use crate::{base, round, Res};

const BUCKET: &str = "BENCHOBJ";
const OBJECT: &str = "bench";

/// The object's bytes: a pattern that is not all one value.
fn object_bytes(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i % 251) as u8).collect()
}

/// Deletes `BENCHOBJ` if present and creates it again: file storage, 1 replica.
async fn fresh_bucket(js: &Context) -> Res<ObjectStore> {
    match js.delete_object_store(BUCKET).await {
        Ok(()) => {}
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(format!("delete bucket {BUCKET}: {e}").into()),
    }
    Ok(js
        .create_object_store(object_store::Config {
            bucket: BUCKET.into(),
            storage: StorageType::File,
            num_replicas: 1,
            ..Default::default()
        })
        .await?)
}

/// secs and mb_per_s (MB = 10^6 bytes) of `size` bytes in `secs`.
fn add_obj_rate(m: &mut Map<String, Value>, size: u64, secs: f64) {
    m.insert("secs".into(), json!(round(secs, 6)));
    m.insert("mb_per_s".into(), json!(round(size as f64 / secs / 1e6, 2)));
}

async fn stream_facts(m: &mut Map<String, Value>, store: &ObjectStore) -> Res<()> {
    let status = store.status().await?;
    m.insert("stream_storage".into(), json!(status.storage));
    m.insert("stream_msgs".into(), json!(status.stream.state.messages));
    m.insert("stream_bytes".into(), json!(status.stream.state.bytes));
    Ok(())
}

pub(crate) async fn obj_put(url: &str, n: u64, size: u64) -> Res<Map<String, Value>> {
    let client = nats_client::connect(url).await?;
    let js = nats_jetstream::new(client.clone());
    let store = fresh_bucket(&js).await?;
    let data = object_bytes(usize::try_from(size)?);
    let start = Instant::now();
    let info = store.put(OBJECT, &mut &data[..]).await?;
    let secs = start.elapsed().as_secs_f64();
    let mut m = base("obj-put", n, size);
    add_obj_rate(&mut m, size, secs);
    m.insert("chunk_size".into(), json!(DEFAULT_CHUNK_SIZE));
    m.insert("chunks".into(), json!(info.chunks));
    m.insert("digest".into(), json!(info.digest));
    m.insert("object_size".into(), json!(info.size));
    stream_facts(&mut m, &store).await?;
    js.delete_object_store(BUCKET).await?;
    client.close().await;
    Ok(m)
}

pub(crate) async fn obj_get(url: &str, n: u64, size: u64) -> Res<Map<String, Value>> {
    let client = nats_client::connect(url).await?;
    let js = nats_jetstream::new(client.clone());
    let store = fresh_bucket(&js).await?;
    let data = object_bytes(usize::try_from(size)?);
    let put_start = Instant::now();
    let info = store.put(OBJECT, &mut &data[..]).await?;
    let put_secs = put_start.elapsed().as_secs_f64();

    let mut buf = Vec::with_capacity(data.len());
    let start = Instant::now();
    let mut object = store.get(OBJECT).await?;
    object.read_to_end(&mut buf).await?;
    let secs = start.elapsed().as_secs_f64();

    let mut m = base("obj-get", n, size);
    if buf.len() != data.len() || buf != data {
        m.insert(
            "error".into(),
            json!(format!(
                "read {} bytes, expected {} identical ones",
                buf.len(),
                data.len()
            )),
        );
    } else {
        add_obj_rate(&mut m, size, secs);
    }
    m.insert("received_bytes".into(), json!(buf.len()));
    m.insert("digest_checked".into(), json!(true));
    m.insert("chunk_size".into(), json!(DEFAULT_CHUNK_SIZE));
    m.insert("chunks".into(), json!(info.chunks));
    m.insert("digest".into(), json!(info.digest));
    m.insert("object_size".into(), json!(info.size));
    m.insert("put_secs".into(), json!(round(put_secs, 6)));
    stream_facts(&mut m, &store).await?;
    js.delete_object_store(BUCKET).await?;
    client.close().await;
    Ok(m)
}
