//! End-to-end tests of `natsc service ls|info|stats` against a real `nats-server` running
//! services started by the test with `nats_client::service` (ADR-32 `$SRV` discovery).

#![allow(missing_docs)]
#![allow(clippy::unwrap_used)]

mod common;

use common::{assert_one_line_failure, json, ok, output, with_server};
use nats_client::service::Service;
use nats_testkit::NatsServer;

/// Two instances of `adder` (one endpoint in a group, one erroring) and one `other`.
async fn services(url: &str) -> (Vec<Service>, nats_client::Client) {
    let client = nats_client::connect(url).await.unwrap();
    let mut out = Vec::new();
    for (name, version) in [
        ("adder", "1.0.0"),
        ("adder", "1.0.0"),
        ("other", "0.2.0-beta.1"),
    ] {
        let svc = Service::builder(name, version)
            .description(format!("the {name} service"))
            .metadata([("team", "core")])
            .start(&client)
            .await
            .unwrap();
        svc.group("math")
            .endpoint("add")
            .metadata([("unit", "int")])
            .handler(|r| async move {
                if r.payload().as_ref() == b"bad" {
                    let _ = r.error(400, "not a number", "".into()).await;
                } else {
                    let _ = r.respond("3".into()).await;
                }
            })
            .await
            .unwrap();
        out.push(svc);
    }
    client.flush().await.unwrap();
    (out, client)
}

#[tokio::test(flavor = "multi_thread")]
async fn service_ls_lists_every_instance() {
    let server = NatsServer::start().await.unwrap();
    let url = server.url();
    let (svcs, _client) = services(&url).await;

    let table = ok(&with_server(&url, &["service", "ls"])).await;
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(lines[0].starts_with("name"), "{table}");
    for svc in &svcs {
        let row = lines.iter().find(|l| l.contains(svc.id())).unwrap();
        assert!(
            row.starts_with(svc.name()) && row.ends_with(svc.version()),
            "{row}"
        );
    }
    // Sorted by name: both adders before other.
    assert!(
        lines[1].starts_with("adder") && lines[3].starts_with("other"),
        "{table}"
    );

    let all = json(&with_server(&url, &["service", "ls", "--json"])).await;
    assert_eq!(all.as_array().unwrap().len(), 3);
    assert!(all
        .as_array()
        .unwrap()
        .iter()
        .all(|v| v["type"] == "io.nats.micro.v1.ping_response"));
    let others = json(&with_server(&url, &["service", "ls", "other", "--json"])).await;
    assert_eq!(others.as_array().unwrap().len(), 1);
    assert_eq!(others[0]["id"], svcs[2].id());
    assert_eq!(others[0]["version"], "0.2.0-beta.1");
}

#[tokio::test(flavor = "multi_thread")]
async fn service_info_shows_endpoints() {
    let server = NatsServer::start().await.unwrap();
    let url = server.url();
    let (svcs, _client) = services(&url).await;

    let text = ok(&with_server(&url, &["service", "info", "adder"])).await;
    assert_eq!(text.matches("Service adder 1.0.0").count(), 2, "{text}");
    assert!(
        text.contains(svcs[0].id()) && text.contains(svcs[1].id()),
        "{text}"
    );
    assert!(text.contains("description: the adder service"), "{text}");
    assert!(text.contains("metadata:    team=core"), "{text}");
    let row = text
        .lines()
        .find(|l| l.trim_start().starts_with("add "))
        .unwrap();
    assert!(
        row.contains("math.add") && row.contains(" q ") && row.contains("unit=int"),
        "{row}"
    );

    let one = json(&with_server(
        &url,
        &["service", "info", "adder", svcs[1].id(), "--json"],
    ))
    .await;
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(one[0]["id"], svcs[1].id());
    assert_eq!(one[0]["endpoints"][0]["subject"], "math.add");
}

#[tokio::test(flavor = "multi_thread")]
async fn service_stats_shows_counters() {
    let server = NatsServer::start().await.unwrap();
    let url = server.url();
    let (svcs, client) = services(&url).await;
    // The three instances share math.add (queue group "q"): 6 requests, 2 errors in all.
    for body in ["1", "bad", "2", "bad", "3", "4"] {
        client
            .request("math.add", body.to_string().into())
            .await
            .unwrap();
    }
    let stats = json(&with_server(&url, &["service", "stats", "adder", "--json"])).await;
    let other = json(&with_server(
        &url,
        &["service", "stats", "other", svcs[2].id(), "--json"],
    ))
    .await;
    let all: Vec<&serde_json::Value> = stats
        .as_array()
        .unwrap()
        .iter()
        .chain(other.as_array().unwrap())
        .collect();
    let requests: u64 = all
        .iter()
        .map(|s| s["endpoints"][0]["num_requests"].as_u64().unwrap())
        .sum();
    let errors: u64 = all
        .iter()
        .map(|s| s["endpoints"][0]["num_errors"].as_u64().unwrap())
        .sum();
    assert_eq!((requests, errors), (6, 2));

    let text = ok(&with_server(
        &url,
        &["service", "stats", "adder", svcs[0].id()],
    ))
    .await;
    assert!(
        text.starts_with(&format!(
            "Service adder 1.0.0 (id {}), started ",
            svcs[0].id()
        )),
        "{text}"
    );
    let local = &svcs[0].stats().endpoints[0];
    let row = text
        .lines()
        .find(|l| l.trim_start().starts_with("add "))
        .unwrap();
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cols[1], local.num_requests.to_string(), "{row}");
    assert_eq!(cols[2], local.num_errors.to_string(), "{row}");
    if local.num_errors > 0 {
        assert!(row.ends_with("400:not a number"), "{row}");
    } else {
        assert!(row.ends_with(" -"), "{row}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn service_commands_fail_in_one_line() {
    let server = NatsServer::start().await.unwrap();
    let url = server.url();
    let empty = ok(&with_server(&url, &["service", "ls"])).await;
    assert_eq!(empty.trim(), "No services found");
    let out = output(&with_server(
        &url,
        &["service", "info", "ghost", "--timeout", "300ms"],
    ))
    .await;
    assert_one_line_failure(&out, "no instance of service \"ghost\" answered");
    let out = output(&with_server(&url, &["service", "stats", "ghost", "ID1"])).await;
    assert_one_line_failure(&out, "no instance ID1 of service \"ghost\"");
    let out = output(&with_server(&url, &["service", "info", "a.b"])).await;
    assert_one_line_failure(&out, "invalid service name");
}
