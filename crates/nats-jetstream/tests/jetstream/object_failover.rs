//! Object Store across kill -9 (J26, J27, J28): a large object (data from a seeded PRNG, never
//! held in memory) put and read back while the server the client is connected to is killed —
//! on a 3-node JetStream cluster with an R3 file bucket, and on a single server restarted on
//! its port. The put completes with every chunk stored exactly once, the get completes with
//! the digest verified and every byte compared, and the process memory stays far below the
//! object's size.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use nats_jetstream::object_store::{self, ObjectStore};
use nats_jetstream::stream::StorageType;
use nats_jetstream::Context;
use nats_testkit::{Cluster, NatsServer};
use tokio::io::{AsyncBufReadExt, AsyncRead, ReadBuf};

use crate::util::{fast, within_for};

/// The object's size.
const SIZE: u64 = 200 << 20;
/// Growth of the process's peak memory a transfer may cause, less than half of `SIZE`: a put
/// holds its window (8 MiB) in flight and up to twice that of acked chunks for a repair, a get
/// its window (16 MiB); the rest is allocator slack and the other tests of this binary, which
/// run in the same process at the same time (30–60 MiB measured alone, 64 MiB once in a full
/// run). A transfer that held the object would grow by more than `SIZE`.
const MEMORY_BOUND: u64 = 96 << 20;
/// A deadline for a whole transfer with a fail-over in it (a 2.9 election takes 6–8 s).
const TRANSFER: Duration = Duration::from_secs(240);

/// One big transfer at a time: the memory measure is the process's.
static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Byte `i` of the stream of `seed`: byte `i % 8` of SplitMix64(seed, i / 8).
fn word(seed: u64, index: u64) -> [u8; 8] {
    let mut z = seed
        .wrapping_add(index.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)).to_le_bytes()
}

/// Fills `out` with the bytes of stream `seed` from position `pos`.
fn fill(seed: u64, pos: u64, out: &mut [u8]) {
    let mut i = 0;
    while i < out.len() {
        let at = pos + i as u64;
        let w = word(seed, at / 8);
        let from = (at % 8) as usize;
        let n = (8 - from).min(out.len() - i);
        out[i..i + n].copy_from_slice(&w[from..from + n]);
        i += n;
    }
}

/// A reader of `size` PRNG bytes that counts what it handed out.
struct PrngReader {
    seed: u64,
    pos: u64,
    size: u64,
    progress: Arc<AtomicU64>,
}

impl AsyncRead for PrngReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = (self.size - self.pos).min(buf.remaining() as u64) as usize;
        let dst = buf.initialize_unfilled_to(n);
        fill(self.seed, self.pos, dst);
        buf.advance(n);
        self.pos += n as u64;
        self.progress.store(self.pos, Ordering::Relaxed);
        Poll::Ready(Ok(()))
    }
}

/// The process's resident memory now (VmRSS), bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Samples VmRSS every 20 ms and keeps the highest: the peak of this test's transfers (the
/// process's VmHWM would include earlier tests).
struct RssPeak {
    base: u64,
    peak: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl RssPeak {
    fn start() -> RssPeak {
        let base = rss();
        let peak = Arc::new(AtomicU64::new(base));
        let p = Arc::clone(&peak);
        let task = tokio::spawn(async move {
            loop {
                p.fetch_max(rss(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        RssPeak { base, peak, task }
    }

    /// How far above the start the memory went.
    fn growth(&self) -> u64 {
        self.peak
            .fetch_max(rss(), Ordering::Relaxed)
            .max(rss())
            .saturating_sub(self.base)
    }
}

impl Drop for RssPeak {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a put of `SIZE` PRNG bytes of `seed` as `name`; returns the task and its progress.
fn start_put(
    store: &ObjectStore,
    name: &str,
    seed: u64,
) -> (
    tokio::task::JoinHandle<Result<object_store::ObjectInfo, object_store::ObjectStoreError>>,
    Arc<AtomicU64>,
) {
    let progress = Arc::new(AtomicU64::new(0));
    let mut reader = PrngReader {
        seed,
        pos: 0,
        size: SIZE,
        progress: Arc::clone(&progress),
    };
    let (store, name) = (store.clone(), name.to_owned());
    let task = tokio::spawn(async move { store.put(name.as_str(), &mut reader).await });
    (task, progress)
}

async fn wait_progress(progress: &AtomicU64, at: u64) {
    within_for(TRANSFER, "put progress", async {
        while progress.load(Ordering::Relaxed) < at {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// Reads `name` to its end, comparing every byte with stream `seed`; `at_half` runs once
/// when half of it was read. Returns the bytes read.
async fn read_and_compare<F, Fut>(store: &ObjectStore, name: &str, seed: u64, at_half: F) -> u64
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut object = store.get(name).await.unwrap();
    assert_eq!(object.info().size, SIZE);
    let mut pos = 0u64;
    let mut expected = Vec::new();
    let mut at_half = Some(at_half);
    loop {
        let buf = within_for(TRANSFER, "the next chunk", object.fill_buf())
            .await
            .unwrap_or_else(|e| panic!("read failed at byte {pos}: {e}"));
        if buf.is_empty() {
            break;
        }
        let n = buf.len();
        expected.resize(n, 0);
        fill(seed, pos, &mut expected);
        assert!(
            buf == &expected[..],
            "J27: bytes differ in [{pos}, {})",
            pos + n as u64
        );
        Pin::new(&mut object).consume(n);
        pos += n as u64;
        if pos >= SIZE / 2 {
            if let Some(f) = at_half.take() {
                f().await;
            }
        }
    }
    pos
}

/// J26: the stream holds the object's chunks in the object's order (an object's get reads them
/// in stream order): every message on its chunk subject, by sequence, holds the next bytes of
/// stream `seed`. Returns the number of chunks.
async fn assert_chunks_in_stream_order(
    js: &Context,
    stream: &str,
    chunk_subject: &str,
    seed: u64,
) -> u64 {
    let s = js.get_stream(stream).await.unwrap();
    let last = s.info().await.unwrap().state.last_sequence;
    let (mut pos, mut chunks, mut expected) = (0u64, 0u64, Vec::new());
    for seq in 1..=last {
        let msg = match s.get_raw_message(seq).await {
            Ok(msg) => msg,
            Err(e) if e.api_error().is_some() => continue, // deleted (a repair's)
            Err(e) => panic!("message {seq}: {e}"),
        };
        if msg.subject != chunk_subject {
            continue;
        }
        expected.resize(msg.payload.len(), 0);
        fill(seed, pos, &mut expected);
        assert!(
            msg.payload == expected[..],
            "J26: stream sequence {seq} is not chunk {chunks} (bytes [{pos}, {}))",
            pos + expected.len() as u64
        );
        pos += expected.len() as u64;
        chunks += 1;
    }
    assert_eq!(pos, SIZE, "J26: the chunks hold the whole object");
    chunks
}

/// The index of the node `js` is connected to.
fn connected_node(cluster: &Cluster, js: &Context) -> usize {
    let url = js.client().connected_url().unwrap_or_default();
    cluster
        .nodes()
        .iter()
        .position(|n| url.ends_with(&format!(":{}", n.port())))
        .unwrap_or_else(|| panic!("connected to {url:?}, not a node"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn j26_j27_j28_big_object_across_kill_9_of_the_connected_cluster_node() {
    let _heavy = HEAVY.lock().await;
    let mut cluster = Cluster::start_jetstream(3).await.unwrap();
    let client = fast()
        .no_randomize(true)
        .connect(cluster.urls())
        .await
        .unwrap();
    let js = nats_jetstream::new(client);
    let store = js
        .create_object_store(object_store::Config {
            bucket: "big".into(),
            storage: StorageType::File,
            num_replicas: 3,
            ..Default::default()
        })
        .await
        .unwrap();
    cluster.wait_for_stream_leader("OBJ_big").await.unwrap();
    let memory = RssPeak::start();
    let started = Instant::now();

    // Mid-put: kill -9 the node the client is on.
    let (put, progress) = start_put(&store, "blob", 7);
    wait_progress(&progress, SIZE / 3).await;
    let victim = connected_node(&cluster, &js);
    cluster.node_mut(victim).kill();
    let info = within_for(TRANSFER, "the put", put).await.unwrap().unwrap();
    let put_secs = started.elapsed().as_secs_f64();
    assert_eq!(info.size, SIZE);
    assert_eq!(info.chunks, SIZE / object_store::DEFAULT_CHUNK_SIZE as u64);
    assert_ne!(connected_node(&cluster, &js), victim, "the client moved on");
    let status = store.status().await.unwrap();
    assert_eq!(
        status.stream.state.messages,
        info.chunks + 1,
        "J9/J26: every chunk stored exactly once, and the metadata"
    );
    assert_eq!(
        assert_chunks_in_stream_order(&js, "OBJ_big", &format!("$O.big.C.{}", info.nuid), 7).await,
        info.chunks
    );

    // Bring the victim back and let it catch up (a majority of up-to-date copies must
    // survive the next kill), then mid-get kill the node the client is on now.
    cluster.node_mut(victim).restart().await.unwrap();
    cluster.wait_for_jetstream().await.unwrap();
    cluster.wait_for_stream_current("OBJ_big").await.unwrap();
    let started_get = Instant::now();
    let read = read_and_compare(&store, "blob", 7, || async {
        let now = connected_node(&cluster, &js);
        cluster.node_mut(now).kill();
    })
    .await;
    assert_eq!(read, SIZE, "J27: the get completed, digest verified");
    let growth = memory.growth();
    eprintln!(
        "cluster: put {put_secs:.1} s, get {:.1} s, peak memory growth {} MiB",
        started_get.elapsed().as_secs_f64(),
        growth >> 20
    );
    assert!(
        growth < MEMORY_BOUND,
        "J26/J27: memory grew by {growth} bytes for a {SIZE}-byte object"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn j26_j27_j28_big_object_across_a_single_server_killed_and_restarted() {
    let _heavy = HEAVY.lock().await;
    let mut server = NatsServer::start_jetstream().await.unwrap();
    let client = fast().connect(server.url()).await.unwrap();
    let js = nats_jetstream::new(client);
    let store = js
        .create_object_store(object_store::Config {
            bucket: "single".into(),
            storage: StorageType::File,
            ..Default::default()
        })
        .await
        .unwrap();
    let memory = RssPeak::start();
    let started = Instant::now();

    let (put, progress) = start_put(&store, "blob", 11);
    wait_progress(&progress, SIZE / 3).await;
    server.kill();
    server.restart().await.unwrap();
    server.wait_for_jetstream().await.unwrap();
    let info = within_for(TRANSFER, "the put", put).await.unwrap().unwrap();
    let put_secs = started.elapsed().as_secs_f64();
    assert_eq!(info.size, SIZE);
    let status = store.status().await.unwrap();
    assert_eq!(
        status.stream.state.messages,
        info.chunks + 1,
        "J9/J26: every chunk stored exactly once across the restart"
    );

    let started_get = Instant::now();
    let read = read_and_compare(&store, "blob", 11, || async {
        server.kill();
        server.restart().await.unwrap();
        server.wait_for_jetstream().await.unwrap();
    })
    .await;
    assert_eq!(
        read, SIZE,
        "J27: the get resumed after the restart, digest verified"
    );
    let growth = memory.growth();
    eprintln!(
        "single: put {put_secs:.1} s, get {:.1} s, peak memory growth {} MiB",
        started_get.elapsed().as_secs_f64(),
        growth >> 20
    );
    assert!(
        growth < MEMORY_BOUND,
        "J26/J27: memory grew by {growth} bytes for a {SIZE}-byte object"
    );
}
