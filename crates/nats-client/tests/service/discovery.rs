//! `$SRV.PING|INFO|STATS` asked with our own client: all services, by name, by name and id,
//! several instances answering; the exact JSON fields of each response.

use std::time::Duration;

use nats_client::service::{Discovery, DiscoveryError, Service, Verb};
use nats_testkit::NatsServer;
use serde_json::json;

use crate::util::{ask, echo, expect, keys, service, within};

/// Two instances of `adder` and one `other` on three connections: `$SRV.<VERB>` reaches all
/// three, `$SRV.<VERB>.adder` both adders, `$SRV.<VERB>.adder.<id>` exactly that one.
#[tokio::test]
async fn every_verb_answers_all_by_name_and_by_id() {
    let server = NatsServer::start().await.unwrap();
    let (c1, c2, c3, asker) = (
        nats_client::connect(server.url()).await.unwrap(),
        nats_client::connect(server.url()).await.unwrap(),
        nats_client::connect(server.url()).await.unwrap(),
        nats_client::connect(server.url()).await.unwrap(),
    );
    let a1 = service(&c1, "adder").await;
    let a2 = service(&c2, "adder").await;
    let other = service(&c3, "other").await;
    assert_ne!(a1.id(), a2.id());

    for verb in ["PING", "INFO", "STATS"] {
        let all = ask(&asker, &format!("$SRV.{verb}"), 3).await;
        let mut ids: Vec<&str> = all.iter().map(|v| v["id"].as_str().unwrap()).collect();
        ids.sort_unstable();
        let mut want = vec![a1.id(), a2.id(), other.id()];
        want.sort_unstable();
        assert_eq!(ids, want, "{verb}");

        let adders = ask(&asker, &format!("$SRV.{verb}.adder"), 2).await;
        assert!(adders.iter().all(|v| v["name"] == "adder"), "{verb}");

        let one = ask(&asker, &format!("$SRV.{verb}.adder.{}", a2.id()), 1).await;
        assert_eq!(one[0]["id"], a2.id(), "{verb}");
        let kind = format!("io.nats.micro.v1.{}_response", verb.to_lowercase());
        assert_eq!(one[0]["type"], kind.as_str());
    }

    // The same through Discovery.
    let d = expect(&asker, 3);
    assert_eq!(d.ping(None, None).await.unwrap().len(), 3);
    assert_eq!(d.info(Some("adder"), None).await.unwrap().len(), 2);
    let stats = d.stats(Some("other"), None).await.unwrap();
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0].id, other.id());
    let by_id = Discovery::new(&asker)
        .ping(Some("adder"), Some(a1.id()))
        .await
        .unwrap();
    assert_eq!(by_id.len(), 1);
    assert_eq!(by_id[0].id, a1.id());
    assert_eq!(by_id[0].version, "1.0.0");
}

/// The fields of each response, exactly (ADR-32 `io.nats.micro.v1`).
#[tokio::test]
async fn responses_have_exactly_the_v1_fields() {
    let server = NatsServer::start().await.unwrap();
    let client = nats_client::connect(server.url()).await.unwrap();
    let svc = Service::builder("shop", "2.3.4-rc.1+b7")
        .description("a shop")
        .metadata([("team", "web"), ("region", "eu")])
        .start(&client)
        .await
        .unwrap();
    svc.group("orders")
        .endpoint("new")
        .metadata([("format", "json")])
        .handler(|r| async move {
            let _ = r.respond("ok".into()).await;
        })
        .await
        .unwrap();
    client.flush().await.unwrap();
    let id = svc.id().to_string();
    let metadata = json!({"team": "web", "region": "eu"});

    let ping = &ask(&client, &format!("$SRV.PING.shop.{id}"), 1).await[0];
    assert_eq!(keys(ping), ["id", "metadata", "name", "type", "version"]);
    assert_eq!(
        *ping,
        json!({"type": "io.nats.micro.v1.ping_response", "name": "shop", "id": id,
               "version": "2.3.4-rc.1+b7", "metadata": metadata})
    );

    let info = &ask(&client, &format!("$SRV.INFO.shop.{id}"), 1).await[0];
    assert_eq!(
        keys(info),
        [
            "description",
            "endpoints",
            "id",
            "metadata",
            "name",
            "type",
            "version"
        ]
    );
    assert_eq!(info["type"], "io.nats.micro.v1.info_response");
    assert_eq!(info["description"], "a shop");
    assert_eq!(info["metadata"], metadata);
    assert_eq!(
        info["endpoints"],
        json!([{"name": "new", "subject": "orders.new", "queue_group": "q",
                "metadata": {"format": "json"}}])
    );

    client.request("orders.new", "x".into()).await.unwrap();
    let stats = &ask(&client, &format!("$SRV.STATS.shop.{id}"), 1).await[0];
    assert_eq!(
        keys(stats),
        [
            "endpoints",
            "id",
            "metadata",
            "name",
            "started",
            "type",
            "version"
        ]
    );
    assert_eq!(stats["type"], "io.nats.micro.v1.stats_response");
    let started = stats["started"].as_str().unwrap();
    assert!(
        started.len() == 30 && started.as_bytes()[10] == b'T' && started.ends_with('Z'),
        "not RFC 3339 UTC: {started}"
    );
    let e = &stats["endpoints"][0];
    assert_eq!(
        keys(e),
        [
            "average_processing_time",
            "data",
            "last_error",
            "name",
            "num_errors",
            "num_requests",
            "processing_time",
            "queue_group",
            "subject"
        ]
    );
    assert_eq!(e["num_requests"], 1);
    assert_eq!(e["num_errors"], 0);
    assert_eq!(e["last_error"], "");
    assert!(e["processing_time"].as_u64().unwrap() > 0);
    assert_eq!(e["processing_time"], e["average_processing_time"]);
    assert_eq!(e["data"], serde_json::Value::Null);
    // The typed view agrees with the wire.
    assert_eq!(svc.stats().endpoints[0].num_requests, 1);
    assert_eq!(svc.info().to_json(), *info);
}

/// Nobody serving: the server's no-responders status ends the wait at once, an empty list.
/// A name that is not one subject token is refused before anything is sent.
#[tokio::test]
async fn nothing_to_discover_and_bad_names() {
    let server = NatsServer::start().await.unwrap();
    let client = nats_client::connect(server.url()).await.unwrap();
    let slow = Discovery::new(&client).timeout(Duration::from_secs(30));
    let found = within("no-responders answer", slow.ping(None, None)).await;
    assert!(found.unwrap().is_empty());
    for bad in ["a.b", "", "x*", "a b"] {
        assert!(matches!(
            slow.info(Some(bad), None).await,
            Err(DiscoveryError::InvalidName { .. })
        ));
    }
    assert!(matches!(
        slow.raw(Verb::Stats, Some("ok"), Some(">")).await,
        Err(DiscoveryError::InvalidName { .. })
    ));
}

/// A custom stats handler fills each endpoint's `data`.
#[tokio::test]
async fn stats_handler_fills_data() {
    let server = NatsServer::start().await.unwrap();
    let client = nats_client::connect(server.url()).await.unwrap();
    let svc = Service::builder("cache", "0.1.0")
        .stats_handler(|e| json!({"endpoint": e.name, "seen": e.num_requests, "hits": 7}))
        .start(&client)
        .await
        .unwrap();
    echo(&svc, "get").await;
    client.request("get", "k".into()).await.unwrap();
    let stats = expect(&client, 1)
        .stats(Some("cache"), Some(svc.id()))
        .await
        .unwrap();
    assert_eq!(
        stats[0].endpoints[0].data,
        Some(json!({"endpoint": "get", "seen": 1, "hits": 7}))
    );
}
