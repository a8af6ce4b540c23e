//! Pull consumers (J11–J15): management, fetch and batch, messages() with refills,
//! heartbeats, reconnects, a server restart, and the terminal 409s.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt};
use nats_jetstream::consumer::{pull, AckPolicy, DeliverPolicy, ReplayPolicy};
use nats_jetstream::{stream, ConsumeError};
use nats_testkit::{Fault, NatsServer};

use crate::util::{
    consume_for, durable, durable_config, expect_refused, fast, js_behind_proxy, js_server,
    js_server_denying_pulls, memory_stream, next_item, publish_n, within,
};

#[tokio::test]
async fn j11_create_get_update_delete_list_and_config_fields() {
    let (_server, js) = js_server().await;
    let s = memory_stream(&js, "MGMT").await;
    let config = pull::Config {
        durable_name: Some("billing".into()),
        description: Some("bills".into()),
        deliver_policy: DeliverPolicy::ByStartSequence,
        opt_start_seq: Some(3),
        ack_policy: AckPolicy::Explicit,
        max_deliver: 5,
        backoff: vec![Duration::from_secs(1), Duration::from_secs(2)],
        filter_subject: "mgmt.a".into(),
        replay_policy: ReplayPolicy::Instant,
        sample_frequency: Some("50%".into()),
        max_waiting: 64,
        max_ack_pending: 100,
        headers_only: true,
        max_batch: 50,
        max_expires: Duration::from_secs(60),
        max_bytes: 1 << 20,
        num_replicas: 1,
        memory_storage: true,
        ..Default::default()
    };
    let c = s.create_consumer(config).await.unwrap();
    assert_eq!((c.name(), c.stream_name()), ("billing", "MGMT"));
    let held = &c.cached_info().config;
    // With a back-off the server takes its first step as the ack wait.
    assert_eq!(held.ack_wait, Duration::from_secs(1));
    assert_eq!(
        held.backoff,
        [Duration::from_secs(1), Duration::from_secs(2)]
    );
    assert_eq!(held.opt_start_seq, Some(3));
    assert_eq!(held.deliver_policy, DeliverPolicy::ByStartSequence);
    assert_eq!(held.filter_subject, "mgmt.a");
    assert_eq!(
        (held.max_deliver, held.max_waiting, held.max_ack_pending),
        (5, 64, 100)
    );
    assert_eq!((held.max_batch, held.max_bytes), (50, 1 << 20));
    assert_eq!(held.max_expires, Duration::from_secs(60));
    assert!(held.headers_only && held.memory_storage);
    assert_eq!(held.sample_frequency.as_deref(), Some("50%"));

    let got = s.get_consumer("billing").await.unwrap();
    assert_eq!(got.cached_info().created, c.cached_info().created);
    let same = s
        .get_or_create_consumer("billing", Default::default())
        .await
        .unwrap();
    assert_eq!(same.cached_info().config.max_deliver, 5);
    let fresh = s
        .get_or_create_consumer("audit", Default::default())
        .await
        .unwrap();
    assert_eq!(
        fresh.cached_info().config.durable_name.as_deref(),
        Some("audit")
    );

    let mut changed = got.cached_info().config.clone();
    changed.description = Some("new bills".into());
    let updated = s.update_consumer(changed).await.unwrap();
    assert_eq!(
        updated.cached_info().config.description.as_deref(),
        Some("new bills")
    );
    assert_eq!(
        updated.info().await.unwrap().config.description.as_deref(),
        Some("new bills")
    );

    // Ephemeral: the server names it.
    let eph = s.create_consumer(pull::Config::default()).await.unwrap();
    assert!(!eph.name().is_empty());
    assert!(eph.cached_info().config.durable_name.is_none());

    let names: HashSet<String> = s.consumer_names().try_collect().await.unwrap();
    assert_eq!(
        names,
        ["billing", "audit", eph.name()].map(String::from).into()
    );
    let infos: Vec<_> = js.consumers("MGMT").try_collect().await.unwrap();
    assert_eq!(infos.len(), 3);
    assert_eq!(s.info().await.unwrap().state.consumer_count, 3);

    // On the context.
    js.get_consumer_from_stream("MGMT", "audit").await.unwrap();
    js.create_consumer_on_stream(durable_config("ctx"), "MGMT")
        .await
        .unwrap();
    js.delete_consumer_from_stream("MGMT", "ctx").await.unwrap();
    s.delete_consumer("audit").await.unwrap();
    assert!(s
        .get_consumer("audit")
        .await
        .unwrap_err()
        .is_consumer_not_found());
    assert!(s
        .delete_consumer("audit")
        .await
        .unwrap_err()
        .is_consumer_not_found());
    let names: Vec<String> = js.consumer_names("MGMT").try_collect().await.unwrap();
    assert_eq!(names.len(), 2);
}

#[tokio::test]
async fn j12_fetch_and_batch_end_on_the_batch_404_408_or_expiry() {
    let (_server, js) = js_server().await;
    let s = memory_stream(&js, "FETCH").await;
    let c = s.create_consumer(durable_config("f")).await.unwrap();
    // Nothing stored: fetch ends at once (404), with no item.
    let start = Instant::now();
    let items: Vec<_> = within(
        "an empty fetch",
        c.fetch()
            .max_messages(5)
            .messages()
            .await
            .unwrap()
            .collect(),
    )
    .await;
    assert!(items.is_empty(), "{items:?}");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );

    publish_n(&js, "fetch.a", "m", 25).await;
    let batch: Vec<_> = within(
        "a fetch",
        c.fetch()
            .max_messages(10)
            .messages()
            .await
            .unwrap()
            .collect(),
    )
    .await;
    assert_eq!(batch.len(), 10);
    for (i, m) in batch.iter().enumerate() {
        let m = m.as_ref().unwrap();
        assert_eq!(m.payload, format!("m-{i}"));
        assert!(m.status.is_none(), "a status message reached the user");
        m.ack().await.unwrap();
    }
    // 15 left: fetch(20) returns them and ends on the server's status.
    let rest: Vec<_> = within(
        "a short fetch",
        c.fetch()
            .max_messages(20)
            .messages()
            .await
            .unwrap()
            .collect(),
    )
    .await;
    assert_eq!(rest.len(), 15);
    for m in &rest {
        m.as_ref().unwrap().ack().await.unwrap();
    }
    // batch() waits for more until its expiry (408), then ends.
    let start = Instant::now();
    let mut b = c
        .batch()
        .max_messages(10)
        .expires(Duration::from_secs(1))
        .messages()
        .await
        .unwrap();
    js.publish("fetch.a", "late".into())
        .await
        .unwrap()
        .await
        .unwrap();
    let first = next_item(&mut b).await.unwrap().unwrap();
    assert_eq!(first.payload, "late");
    first.ack().await.unwrap();
    assert!(next_item(&mut b).await.is_none());
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "{took:?}"
    );
    // A batch of exactly what is there ends without waiting.
    publish_n(&js, "fetch.a", "x", 3).await;
    let start = Instant::now();
    let three: Vec<_> = within(
        "a full batch",
        c.batch()
            .max_messages(3)
            .messages()
            .await
            .unwrap()
            .collect(),
    )
    .await;
    assert_eq!(three.len(), 3);
    assert!(start.elapsed() < Duration::from_secs(1));
    // A heartbeat above half the expiry is refused.
    assert!(c
        .batch()
        .expires(Duration::from_secs(1))
        .heartbeat(Duration::from_secs(1))
        .messages()
        .await
        .is_err());
}

#[tokio::test]
async fn j13_messages_keeps_pulling_and_refills() {
    let (_server, js) = js_server().await;
    let s = memory_stream(&js, "CONSUME").await;
    let c = s.create_consumer(durable_config("c")).await.unwrap();
    publish_n(&js, "consume.a", "m", 1200).await;
    let mut messages = c.consume().max_messages(100).messages().await.unwrap();
    for i in 0..1200 {
        let m = next_item(&mut messages).await.unwrap().unwrap();
        assert_eq!(m.payload, format!("m-{i}"));
        m.ack().await.unwrap();
    }
    // Live messages keep coming.
    publish_n(&js, "consume.a", "live", 5).await;
    for i in 0..5 {
        let m = next_item(&mut messages).await.unwrap().unwrap();
        assert_eq!(m.payload, format!("live-{i}"));
        m.double_ack().await.unwrap();
    }
    let info = c.info().await.unwrap();
    assert_eq!(info.num_ack_pending, 0);
    assert_eq!(info.num_pending, 0);
}

#[tokio::test]
async fn j13_missed_heartbeats_warn_and_repull_without_ending() {
    let (_server, proxy, js) = js_behind_proxy(Duration::from_secs(5)).await;
    let s = memory_stream(&js, "HB").await;
    let c = s.create_consumer(durable_config("hb")).await.unwrap();
    let mut messages = c
        .consume()
        .expires(Duration::from_secs(2)) // heartbeat 1 s: missed after 2 s
        .messages()
        .await
        .unwrap();
    publish_n(&js, "hb.a", "before", 1).await;
    let m = next_item(&mut messages).await.unwrap().unwrap();
    m.ack().await.unwrap();

    proxy.set_fault(Fault::BlackHole);
    let start = Instant::now();
    match next_item(&mut messages).await {
        Some(Err(e @ ConsumeError::MissingHeartbeats { .. })) => assert!(!e.is_terminal()),
        other => panic!("expected a missing-heartbeat warning, got {other:?}"),
    }
    let took = start.elapsed();
    // Two heartbeats (2 s) plus the consumer-info check, which times out (5 s) in the hole.
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(10),
        "{took:?}"
    );
    proxy.set_fault(Fault::Pass);
    // The stream goes on: a message published now arrives.
    publish_n(&js, "hb.a", "after", 1).await;
    let m = loop {
        match next_item(&mut messages).await.unwrap() {
            Ok(m) => break m,
            Err(ConsumeError::MissingHeartbeats { .. }) => continue,
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(m.payload, "after-0");
}

#[tokio::test]
async fn j13_messages_resume_after_a_server_restart_without_user_action_heartbeats_paused() {
    let mut server = NatsServer::start_jetstream().await.unwrap();
    let client = fast().connect(server.url()).await.unwrap();
    let js = nats_jetstream::new(client.clone());
    let s = js
        .create_stream(stream::Config {
            name: "RESTART".into(),
            subjects: vec!["restart.>".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let c = durable(&s, "r", Duration::from_secs(2)).await;
    publish_n(&js, "restart.a", "m", 50).await;
    let mut messages = consume_for(&c, Duration::from_secs(4)).await;
    let mut seen = HashSet::new();
    while seen.len() < 20 {
        let m = next_item(&mut messages).await.unwrap().unwrap();
        seen.insert(m.payload.clone());
        m.ack().await.unwrap();
    }
    client.flush().await.unwrap();
    server.kill();
    within(
        "the disconnect",
        client.wait_for_status(nats_client::Status::Reconnecting),
    )
    .await;
    // The heartbeat timer (1 s, missed after 2 s) is paused while disconnected: in 3 s of
    // outage no warning comes, only messages that had already arrived (a bounded check).
    let outage = tokio::time::Instant::now() + Duration::from_secs(3);
    while let Ok(item) = tokio::time::timeout_at(outage, messages.next()).await {
        match item {
            Some(Ok(m)) => {
                seen.insert(m.payload.clone());
            }
            other => panic!("while disconnected: {other:?}"),
        }
    }
    server.restart().await.unwrap();
    server.wait_for_jetstream().await.unwrap();
    within(
        "reconnect",
        client.wait_for_status(nats_client::Status::Connected),
    )
    .await;
    publish_n(&js, "restart.a", "after", 10).await;
    while seen.len() < 60 {
        match next_item(&mut messages).await.unwrap() {
            Ok(m) => {
                seen.insert(m.payload.clone());
                m.ack().await.unwrap();
            }
            Err(ConsumeError::MissingHeartbeats { .. }) => {}
            Err(e) => panic!("terminal error across the restart: {e}"),
        }
    }
    for i in 0..50 {
        assert!(seen.contains(format!("m-{i}").as_bytes()));
    }
    // Acks sent just before the kill may be lost: those messages come again after the ack
    // wait; keep acking until the server has nothing pending.
    within("all acked", async {
        loop {
            let info = c.info().await.unwrap();
            if info.num_ack_pending == 0 && info.num_pending == 0 {
                break;
            }
            if let Ok(Some(Ok(m))) =
                tokio::time::timeout(Duration::from_millis(200), messages.next()).await
            {
                m.double_ack().await.unwrap();
            }
        }
    })
    .await;
}

#[tokio::test]
async fn j14_j15_a_deleted_consumer_ends_the_stream() {
    let (_server, js) = js_server().await;
    let s = memory_stream(&js, "GONE").await;
    let c = s.create_consumer(durable_config("gone")).await.unwrap();
    let mut messages = consume_for(&c, Duration::from_secs(2)).await;
    publish_n(&js, "gone.a", "m", 1).await;
    next_item(&mut messages)
        .await
        .unwrap()
        .unwrap()
        .ack()
        .await
        .unwrap();
    s.delete_consumer("gone").await.unwrap();
    let start = Instant::now();
    let end = loop {
        match next_item(&mut messages).await {
            Some(Err(ConsumeError::MissingHeartbeats { .. })) => continue,
            other => break other,
        }
    };
    assert!(
        matches!(end, Some(Err(ConsumeError::ConsumerDeleted))),
        "{end:?}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "{:?}",
        start.elapsed()
    );
    assert!(
        next_item(&mut messages).await.is_none(),
        "the stream ends after the error"
    );

    // A consumer deleted while nobody pulls: its pulls go unanswered, and the missed
    // heartbeats lead to a consumer info that says 10014.
    let c2 = s.create_consumer(durable_config("later")).await.unwrap();
    s.delete_consumer("later").await.unwrap();
    let start = Instant::now();
    let mut messages = consume_for(&c2, Duration::from_secs(2)).await;
    let end = next_item(&mut messages).await;
    assert!(
        matches!(end, Some(Err(ConsumeError::ConsumerDeleted))),
        "{end:?}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}

/// A consumer whose pulls the server refuses (the account may not publish to this consumer's
/// `CONSUMER.MSG.NEXT` subject) ends `messages()` at once with `PermissionDenied` and the
/// server's words, instead of reporting missed heartbeats for ever.
#[tokio::test]
async fn a_refused_pull_ends_the_stream_with_permission_denied() {
    let (_server, js) = js_server_denying_pulls().await;
    let s = memory_stream(&js, "DENIED").await;
    let c = s.create_consumer(durable_config("denied")).await.unwrap();
    // heartbeats 15 s apart: only the refusal can end the stream within the deadline
    let mut messages = consume_for(&c, Duration::from_secs(30)).await;
    expect_refused(&mut messages, "CONSUMER.MSG.NEXT.DENIED.denied").await;
}

/// `fetch()` and `batch()` whose pull the server refuses end at once with
/// `PermissionDenied`, the same as `messages()`: before, the refused pull was never answered,
/// so `fetch()` ended empty after its wait (as if nothing were stored) and `batch()` only at
/// its expiry, with no error.
#[tokio::test]
async fn j12_a_refused_fetch_or_batch_ends_with_permission_denied() {
    let (_server, js) = js_server_denying_pulls().await;
    let s = memory_stream(&js, "DENIEDB").await;
    publish_n(&js, "deniedb.a", "m", 3).await;
    let c = s.create_consumer(durable_config("denied")).await.unwrap();
    let fetch = c.fetch().max_messages(5).messages().await.unwrap();
    // expires 30 s: only the refusal can end the batch within the deadline
    let batch = c
        .batch()
        .max_messages(5)
        .expires(Duration::from_secs(30))
        .messages()
        .await
        .unwrap();
    for (what, pull) in [("fetch", fetch), ("batch", batch)] {
        let start = Instant::now();
        let items: Vec<_> = within(what, pull.collect()).await;
        match items.as_slice() {
            [Err(ConsumeError::PermissionDenied(e))] => {
                assert!(
                    e.message().contains("CONSUMER.MSG.NEXT.DENIEDB.denied"),
                    "{what}: {e}"
                );
            }
            other => panic!("{what}: {other:?}"),
        }
        assert!(
            start.elapsed() < Duration::from_secs(4),
            "{what}: {:?}",
            start.elapsed()
        );
    }
}

#[tokio::test]
async fn j14_a_push_consumer_cannot_be_pulled() {
    let (_server, js) = js_server().await;
    let s = memory_stream(&js, "PUSH").await;
    let mut config = durable_config("pushy");
    config
        .extra
        .insert("deliver_subject".into(), "deliver.push".into());
    s.create_consumer(config).await.unwrap();
    let c = s.get_consumer("pushy").await.unwrap();
    assert_eq!(
        c.cached_info().config.extra["deliver_subject"],
        "deliver.push"
    );
    let mut messages = c.messages().await.unwrap();
    let end = next_item(&mut messages).await;
    assert!(
        matches!(
            end,
            Some(Err(
                ConsumeError::ConsumerPushBased | ConsumeError::PullRejected { .. }
            ))
        ),
        "{end:?}"
    );
    assert!(next_item(&mut messages).await.is_none());
}

#[tokio::test]
async fn j13_messages_by_byte_limit_refill() {
    let (_server, js) = js_server().await;
    let s = memory_stream(&js, "BYTES").await;
    let c = s.create_consumer(durable_config("b")).await.unwrap();
    let body = "x".repeat(100);
    let mut acks = Vec::new();
    for _ in 0..200 {
        acks.push(js.publish("bytes.a", body.clone().into()).await.unwrap());
    }
    for a in acks {
        a.await.unwrap();
    }
    // About 8 messages fit in 2 KiB: the stream refills by bytes, many times over.
    let mut messages = c.consume().max_bytes(2048).messages().await.unwrap();
    for i in 1..=200u64 {
        let m = next_item(&mut messages).await.unwrap().unwrap();
        assert_eq!(m.info().unwrap().stream_sequence, i);
        m.ack().await.unwrap();
    }
}
