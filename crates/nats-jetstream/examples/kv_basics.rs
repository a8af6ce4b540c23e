//! # Key-Value basics
//!
//! A bucket with history, then put / get / entry, compare-and-set with `update` (a stale
//! revision is refused with a typed error), `create` (refused on an existing key, allowed
//! after a delete), delete, the key's history, and the keys of the bucket.
//!
//! ```text
//! cargo run -p nats-jetstream --example kv_basics
//! ```

use futures_util::TryStreamExt;
use nats_jetstream::kv;
use nats_jetstream::stream::StorageType;
use nats_testkit::NatsServer;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = NatsServer::start_jetstream().await?;
    let client = nats_client::connect(server.url()).await?;
    let js = nats_jetstream::new(client);
    let store = js
        .create_key_value(kv::Config {
            bucket: "settings".into(),
            history: 5,
            storage: StorageType::Memory,
            ..Default::default()
        })
        .await?;

    let r1 = store.put("db.url", "postgres://primary".into()).await?;
    let value = store.get("db.url").await?.ok_or("db.url has no value")?;
    println!(
        "put db.url at revision {r1}: {}",
        String::from_utf8_lossy(&value)
    );

    // Compare-and-set: only from the revision we read.
    let r2 = store
        .update("db.url", "postgres://replica".into(), r1)
        .await?;
    println!("update from revision {r1} -> revision {r2}");
    match store.update("db.url", "postgres://stale".into(), r1).await {
        Err(kv::Error::WrongLastRevision { current, .. }) => {
            println!("update from the stale revision {r1} refused: the key is at {current:?}")
        }
        other => return Err(format!("a stale update must be refused, got {other:?}").into()),
    }

    // create: only when the key has no value.
    match store.create("db.url", "x".into()).await {
        Err(kv::Error::KeyExists { revision, .. }) => {
            println!("create db.url refused: it exists at revision {revision}")
        }
        other => return Err(format!("create on an existing key must fail, got {other:?}").into()),
    }
    store.put("feature.dark-mode", "on".into()).await?;
    store.put("feature.beta", "off".into()).await?;
    store.delete("feature.beta").await?;
    if store.get("feature.beta").await?.is_some() {
        return Err("a deleted key has no value".into());
    }
    let again = store.create("feature.beta", "on".into()).await?;
    println!("feature.beta deleted, then created again at revision {again}");

    let history: Vec<kv::Entry> = store.history("db.url").await?.try_collect().await?;
    for e in &history {
        println!(
            "  db.url revision {}: {} {:?}",
            e.revision,
            e.operation,
            String::from_utf8_lossy(&e.value)
        );
    }
    let mut keys: Vec<String> = store.keys().await?.try_collect().await?;
    keys.sort();
    println!("keys: {}", keys.join(", "));
    if keys != ["db.url", "feature.beta", "feature.dark-mode"] || history.len() != 2 {
        return Err(format!("unexpected keys {keys:?} or history {history:?}").into());
    }
    let status = store.status().await?;
    println!(
        "bucket {}: {} revisions stored, history {}",
        status.bucket(),
        status.values(),
        status.history()
    );
    Ok(())
}
