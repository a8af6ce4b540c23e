//! The throughput and latency workloads: pub, pubsub, reqrep.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use hdrhistogram::Histogram;
use nats_client::ConnectOptions;
use serde_json::{json, Map, Value};

use crate::{add_rate, base, round, Args, Res, SUBJ_PUB, SUBJ_PUBSUB, SUBJ_REQ};

/// The publisher's options: `--at-least-once 1` turns on `ConnectOptions::at_least_once`,
/// `--message-ids 1` `ConnectOptions::message_ids`.
fn publisher_options(args: &Args) -> ConnectOptions {
    ConnectOptions::new()
        .at_least_once(args.flag("at-least-once"))
        .message_ids(args.flag("message-ids"))
}

/// Marks the line of an at-least-once run and reports its re-sent publishes.
fn mark(m: &mut Map<String, Value>, args: &Args, client: &nats_client::Client) {
    if args.flag("at-least-once") {
        m.insert("at_least_once".into(), json!(true));
        m.insert("resent".into(), json!(client.statistics().resent_messages));
    }
    if args.flag("message-ids") {
        m.insert("message_ids".into(), json!(true));
    }
}

/// N publishes, then a flush (PING/PONG: the server has processed everything).
pub(crate) async fn publish(url: &str, n: u64, size: u64, args: &Args) -> Res<Map<String, Value>> {
    let client = publisher_options(args).connect(url).await?;
    client.flush().await?;
    let payload = Bytes::from(vec![b'x'; size as usize]);
    let start = Instant::now();
    for _ in 0..n {
        client.publish(SUBJ_PUB, payload.clone()).await?;
    }
    let t_loop = start.elapsed();
    client.flush_timeout(Duration::from_secs(60)).await?;
    let secs = start.elapsed().as_secs_f64();
    let mut m = base("pub", n, size);
    add_rate(&mut m, n, size, secs);
    m.insert(
        "publish_loop_secs".into(),
        json!(round(t_loop.as_secs_f64(), 6)),
    );
    mark(&mut m, args, &client);
    client.close().await;
    Ok(m)
}

/// A subscriber connection and a publisher connection; from the first publish until the
/// subscriber has counted N. Pending limits are raised so nothing is dropped, as `nats bench`
/// does.
pub(crate) async fn pubsub(url: &str, n: u64, size: u64, args: &Args) -> Res<Map<String, Value>> {
    let stall = Duration::from_secs(args.num("stall-secs", 10)?);
    let sub_client = ConnectOptions::new()
        .subscription_pending_limits(usize::MAX, usize::MAX)
        .connect(url)
        .await?;
    let pub_client = publisher_options(args).connect(url).await?;
    let mut sub = sub_client.subscribe(SUBJ_PUBSUB).await?;
    sub_client.flush().await?;
    let counter = tokio::spawn(async move {
        let mut got = 0u64;
        while got < n {
            match crate::next_or_stall(&mut sub, stall).await {
                Ok(Some(_)) => got += 1,
                _ => break,
            }
        }
        (got, Instant::now())
    });
    let payload = Bytes::from(vec![b'x'; size as usize]);
    let start = Instant::now();
    for _ in 0..n {
        pub_client.publish(SUBJ_PUBSUB, payload.clone()).await?;
    }
    pub_client.flush_timeout(Duration::from_secs(60)).await?;
    let t_pub = start.elapsed();
    let (got, end) = counter.await?;
    let mut m = base("pubsub", n, size);
    m.insert("received".into(), json!(got));
    m.insert("lost".into(), json!(n - got));
    if got == n {
        add_rate(&mut m, n, size, (end - start).as_secs_f64());
    } else {
        m.insert(
            "error".into(),
            json!(format!("subscriber received {got}/{n}")),
        );
    }
    m.insert("publish_secs".into(), json!(round(t_pub.as_secs_f64(), 6)));
    mark(&mut m, args, &pub_client);
    Ok(m)
}

/// A responder echoes; the requester does `--warmup` requests, then N timed ones.
pub(crate) async fn reqrep(url: &str, n: u64, size: u64, args: &Args) -> Res<Map<String, Value>> {
    let warmup = args.num("warmup", 1000)?;
    let responder = nats_client::connect(url).await?;
    let mut sub = responder.subscribe(SUBJ_REQ).await?;
    responder.flush().await?;
    let r = responder.clone();
    tokio::spawn(async move {
        while let Some(msg) = sub.next().await {
            if let Some(reply) = msg.reply {
                if r.publish(reply.as_str(), msg.payload).await.is_err() {
                    break;
                }
            }
        }
    });
    let requester = nats_client::connect(url).await?;
    let payload = Bytes::from(vec![b'x'; size as usize]);
    for _ in 0..warmup {
        requester.request(SUBJ_REQ, payload.clone()).await?;
    }
    let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3)?;
    let start = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        requester.request(SUBJ_REQ, payload.clone()).await?;
        h.record(t.elapsed().as_nanos() as u64)?;
    }
    let secs = start.elapsed().as_secs_f64();
    let mut m = base("reqrep", n, size);
    add_rate(&mut m, n, size, secs);
    m.insert("warmup".into(), json!(warmup));
    let us = |ns: u64| round(ns as f64 / 1000.0, 1);
    m.insert("p50_us".into(), json!(us(h.value_at_quantile(0.50))));
    m.insert("p90_us".into(), json!(us(h.value_at_quantile(0.90))));
    m.insert("p99_us".into(), json!(us(h.value_at_quantile(0.99))));
    m.insert("p999_us".into(), json!(us(h.value_at_quantile(0.999))));
    m.insert("max_us".into(), json!(us(h.max())));
    m.insert("mean_us".into(), json!(round(h.mean() / 1000.0, 1)));
    Ok(m)
}
