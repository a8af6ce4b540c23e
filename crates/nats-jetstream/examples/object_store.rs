//! # Object Store
//!
//! Stores a file from a reader (in 64 KiB chunks, never whole in memory), reads it back
//! through the digest-checked reader and compares the bytes, then shows info, list, a link
//! and delete.
//!
//! ```text
//! cargo run -p nats-jetstream --example object_store
//! ```

use std::time::Duration;

use futures_util::TryStreamExt;
use nats_jetstream::object_store::{self, ObjectMeta, ObjectStoreError};
use nats_testkit::NatsServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const WAIT: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = NatsServer::start_jetstream().await?;
    let client = nats_client::connect(server.url()).await?;
    let js = nats_jetstream::new(client.clone());
    let store = js
        .create_object_store(object_store::Config {
            bucket: "files".into(),
            description: Some("example uploads".into()),
            ..Default::default()
        })
        .await?;

    // A 1 MiB file on disk, put from the open file (a reader).
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("report.bin");
    let data: Vec<u8> = (0..1_048_576u32).map(|i| (i * 7 % 251) as u8).collect();
    tokio::fs::File::create(&path)
        .await?
        .write_all(&data)
        .await?;
    let mut file = tokio::fs::File::open(&path).await?;
    let meta = ObjectMeta {
        description: Some("quarterly numbers".into()),
        max_chunk_size: Some(64 * 1024),
        ..ObjectMeta::from("report.bin")
    };
    let info = tokio::time::timeout(WAIT, store.put(meta, &mut file)).await??;
    println!(
        "put {}: {} bytes in {} chunks, {}",
        info.name,
        info.size,
        info.chunks,
        info.digest.as_deref().unwrap_or("-")
    );

    // Read it back; the digest is checked before the end of the data is reported.
    let mut object = store.get("report.bin").await?;
    let mut back = Vec::new();
    tokio::time::timeout(WAIT, object.read_to_end(&mut back)).await??;
    if back != data {
        return Err("the bytes read differ from the file".into());
    }
    println!(
        "get report.bin: {} bytes, identical, digest verified",
        back.len()
    );

    let info = store.info("report.bin").await?;
    println!(
        "info: {:?}, {} bytes, modified {:?}",
        info.description.as_deref().unwrap_or("-"),
        info.size,
        info.mtime
    );

    // A link reads as its target.
    store.add_link("latest", &info).await?;
    let mut via_link = Vec::new();
    store
        .get("latest")
        .await?
        .read_to_end(&mut via_link)
        .await?;
    println!(
        "get latest (a link to report.bin): {} bytes",
        via_link.len()
    );

    store
        .put("notes.txt", &mut &b"remember the milk"[..])
        .await?;
    let mut names: Vec<String> = store.list().await?.map_ok(|i| i.name).try_collect().await?;
    names.sort();
    println!("list: {}", names.join(", "));

    store.delete("report.bin").await?;
    match store.get("report.bin").await {
        Err(ObjectStoreError::NotFound { name, .. }) => println!("after delete: {name} not found"),
        other => return Err(format!("expected NotFound, got {other:?}").into()),
    }
    match store.get("latest").await {
        Err(e) if e.is_not_found() => println!("the link now leads nowhere: {e}"),
        other => return Err(format!("expected NotFound, got {other:?}").into()),
    }
    let status = store.status().await?;
    println!("bucket {}: {} bytes stored", status.bucket, status.size);

    js.delete_object_store("files").await?;
    client.close().await;
    Ok(())
}
