//! End-to-end tests of `natsc kv` against a real JetStream-enabled `nats-server` (J20–J23):
//! every subcommand, the one-line failures for bad input, missing buckets and keys, CAS
//! conflicts, and no JetStream.

#![allow(missing_docs)]
#![allow(clippy::unwrap_used)]

mod common;

use common::{assert_one_line_failure, background, finish, json, ok, output, with_server};
use nats_testkit::NatsServer;

#[tokio::test(flavor = "multi_thread")]
async fn kv_add_put_get_create_update_status_ls() {
    let server = NatsServer::start_jetstream().await.unwrap();
    let url = server.url();
    let s = |rest: &[&str]| with_server(&url, rest);

    let info = json(&s(&[
        "kv",
        "add",
        "cfg",
        "--history",
        "5",
        "--ttl",
        "1h",
        "--replicas",
        "1",
        "--storage",
        "memory",
        "--max-value-size",
        "1KiB",
        "--description",
        "settings",
        "--json",
    ]))
    .await;
    let config = &info["config"];
    assert_eq!(config["name"], "KV_cfg");
    assert_eq!(config["subjects"][0], "$KV.cfg.>");
    assert_eq!(config["max_msgs_per_subject"], 5);
    assert_eq!(config["max_age"], 3_600_000_000_000u64);
    assert_eq!(config["storage"], "memory");
    assert_eq!(config["max_msg_size"], 1024);
    assert_eq!(config["allow_direct"], true);
    assert_eq!(config["discard"], "new");

    assert_eq!(
        ok(&s(&["kv", "put", "cfg", "db.url", "postgres://a"]))
            .await
            .trim(),
        "1"
    );
    assert_eq!(
        ok(&s(&["kv", "get", "cfg", "db.url", "--raw"]))
            .await
            .trim(),
        "postgres://a"
    );
    let plain = ok(&s(&["kv", "get", "cfg", "db.url"])).await;
    assert!(
        plain.contains("cfg > db.url revision: 1") && plain.contains("postgres://a"),
        "{plain}"
    );
    let entry = json(&s(&["kv", "get", "cfg", "db.url", "--json"])).await;
    assert_eq!(entry["revision"], 1);
    assert_eq!(entry["operation"], "PUT");
    assert_eq!(entry["value"], "postgres://a");

    // create: refused on an existing key, fine on a new one.
    let out = output(&s(&["kv", "create", "cfg", "db.url", "x"])).await;
    assert_one_line_failure(&out, "exists (revision 1)");
    assert_eq!(
        ok(&s(&["kv", "create", "cfg", "lock", "me"])).await.trim(),
        "2"
    );

    // update: compare-and-set on the revision.
    let out = output(&s(&["kv", "update", "cfg", "db.url", "postgres://b", "2"])).await;
    assert_one_line_failure(&out, "wrong last revision");
    assert_eq!(
        ok(&s(&["kv", "update", "cfg", "db.url", "postgres://b", "1"]))
            .await
            .trim(),
        "3"
    );
    assert_eq!(
        ok(&s(&[
            "kv",
            "get",
            "cfg",
            "db.url",
            "--revision",
            "1",
            "--raw"
        ]))
        .await
        .trim(),
        "postgres://a"
    );

    let text = ok(&s(&["kv", "status", "cfg"])).await;
    assert!(
        text.contains("history: 5") && text.contains("ttl: 1h") && text.contains("values: 3"),
        "{text}"
    );
    assert!(text.contains("backing stream: KV_cfg"), "{text}");
    let info = json(&s(&["kv", "info", "cfg", "--json"])).await;
    assert_eq!(info["state"]["messages"], 3);

    ok(&s(&["kv", "add", "other"])).await;
    let names = json(&s(&["kv", "ls", "--json"])).await;
    assert_eq!(names, serde_json::json!(["cfg", "other"]));
    let table = ok(&s(&["kv", "ls"])).await;
    assert!(
        table.contains("cfg") && table.contains("memory") && table.contains("1h"),
        "{table}"
    );
    assert_eq!(ok(&s(&["kv", "ls", "--names"])).await, "cfg\nother\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn kv_del_purge_history_keys() {
    let server = NatsServer::start_jetstream().await.unwrap();
    let url = server.url();
    let s = |rest: &[&str]| with_server(&url, rest);
    ok(&s(&[
        "kv",
        "add",
        "app",
        "--history",
        "10",
        "--storage",
        "memory",
    ]))
    .await;
    for (k, v) in [("a.1", "x"), ("a.1", "y"), ("a.2", "z"), ("b", "w")] {
        ok(&s(&["kv", "put", "app", k, v])).await;
    }

    assert_eq!(ok(&s(&["kv", "keys", "app"])).await, "a.1\na.2\nb\n");
    assert_eq!(ok(&s(&["kv", "keys", "app", "a.*"])).await, "a.1\na.2\n");

    let out = output(&s(&["kv", "del", "app", "a.1"])).await;
    assert_one_line_failure(&out, "needs --force");
    let del = ok(&s(&["kv", "del", "app", "a.1", "-f"])).await;
    assert!(
        del.contains("Deleted key a.1") && del.contains("revision 5"),
        "{del}"
    );
    let out = output(&s(&["kv", "get", "app", "a.1"])).await;
    assert_one_line_failure(&out, "key not found (deleted at revision 5)");
    assert_eq!(ok(&s(&["kv", "keys", "app"])).await, "a.2\nb\n");

    let lines = ok(&s(&["kv", "history", "app", "a.1", "--json"])).await;
    let ops: Vec<(String, String)> = lines
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["operation"].as_str().unwrap().into(),
                v["value"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        ops,
        [
            ("PUT".to_string(), "x".to_string()),
            ("PUT".into(), "y".into()),
            ("DEL".into(), String::new())
        ]
    );
    let table = ok(&s(&["kv", "history", "app", "a.1"])).await;
    assert!(
        table.contains("revision") && table.contains("DEL"),
        "{table}"
    );

    let out = output(&s(&["kv", "purge", "app", "a.2"])).await;
    assert_one_line_failure(&out, "needs --force");
    assert!(ok(&s(&["kv", "purge", "app", "a.2", "-f"]))
        .await
        .contains("Purged key a.2"));
    let lines = ok(&s(&["kv", "history", "app", "a.2", "--json"])).await;
    assert_eq!(
        lines.lines().count(),
        1,
        "a purge leaves only its marker: {lines}"
    );
    let out = output(&s(&["kv", "history", "app", "never"])).await;
    assert_one_line_failure(&out, "key not found");
    assert_eq!(ok(&s(&["kv", "keys", "app"])).await, "b\n");
    let out = output(&s(&["kv", "keys", "app", "a.>"])).await;
    assert!(out.status.success());
    assert!(
        common::text(&out.stderr).contains("no keys found"),
        "{out:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kv_watch_prints_current_values_then_changes() {
    let server = NatsServer::start_jetstream().await.unwrap();
    let url = server.url();
    let s = |rest: &[&str]| with_server(&url, rest);
    ok(&s(&["kv", "add", "w", "--storage", "memory"])).await;
    ok(&s(&["kv", "put", "w", "a", "1"])).await;
    let watch = background(
        &s(&["kv", "watch", "w", "--count", "3"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        "watching",
    )
    .await;
    ok(&s(&["kv", "put", "w", "b", "2"])).await;
    ok(&s(&["kv", "del", "w", "a", "-f"])).await;
    let got = finish(watch).await;
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(lines.len(), 3, "{got}");
    assert!(lines[0].ends_with("PUT w > a: 1"), "{got}");
    assert!(lines[1].ends_with("PUT w > b: 2"), "{got}");
    assert!(lines[2].ends_with("DEL w > a: "), "{got}");

    // JSON, only updates.
    let watch = background(
        &s(&[
            "kv",
            "watch",
            "w",
            "b",
            "--updates-only",
            "--json",
            "--count",
            "1",
        ])
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>(),
        "watching",
    )
    .await;
    ok(&s(&["kv", "put", "w", "b", "3"])).await;
    let got = finish(watch).await;
    let v: serde_json::Value = serde_json::from_str(got.trim()).unwrap();
    assert_eq!(
        (v["key"].as_str(), v["value"].as_str()),
        (Some("b"), Some("3"))
    );
    let out = output(&s(&["kv", "watch", "w", "a..b"])).await;
    assert_one_line_failure(&out, "invalid key filter");
}

#[tokio::test(flavor = "multi_thread")]
async fn kv_rm_and_bad_input_are_one_line() {
    let plain = NatsServer::start().await.unwrap();
    for args in [
        &["kv", "ls"][..],
        &["kv", "get", "b", "k"],
        &["kv", "add", "b"],
    ] {
        let out = output(&with_server(&plain.url(), args)).await;
        assert_one_line_failure(&out, "JetStream is not enabled");
    }

    let server = NatsServer::start_jetstream().await.unwrap();
    let url = server.url();
    let s = |rest: &[&str]| with_server(&url, rest);
    ok(&s(&["kv", "add", "gone", "--storage", "memory"])).await;
    let out = output(&s(&["kv", "rm", "gone"])).await;
    assert_one_line_failure(&out, "needs --force");
    assert!(ok(&s(&["kv", "rm", "gone", "-f"]))
        .await
        .contains("was deleted"));
    let out = output(&s(&["kv", "status", "gone"])).await;
    assert_one_line_failure(&out, "bucket \"gone\" not found");
    let out = output(&s(&["kv", "rm", "gone", "-f"])).await;
    assert_one_line_failure(&out, "not found");
    let out = output(&s(&["kv", "put", "gone", "k", "v"])).await;
    assert_one_line_failure(&out, "not found");

    let out = output(&s(&["kv", "add", "a.b"])).await;
    assert_one_line_failure(&out, "invalid bucket name");
    let out = output(&s(&["kv", "add", "h", "--history", "65"])).await;
    assert_one_line_failure(&out, "history must be between 1 and 64");
    let out = output(&s(&["kv", "add", "h", "--storage", "tape"])).await;
    assert_one_line_failure(&out, "invalid value 'tape'");
    let out = output(&s(&["kv", "add", "h", "--ttl", "soon"])).await;
    assert_one_line_failure(&out, "--ttl");
    ok(&s(&["kv", "add", "k", "--storage", "memory"])).await;
    for key in [".a", "a b", "a.*", "a..b"] {
        let out = output(&s(&["kv", "put", "k", key, "v"])).await;
        assert_one_line_failure(&out, "invalid key name");
        let out = output(&s(&["kv", "get", "k", key])).await;
        assert_one_line_failure(&out, "invalid key name");
    }
    let out = output(&s(&["kv", "get", "k", "missing"])).await;
    assert_one_line_failure(&out, "key not found");
    let out = output(&s(&["kv", "update", "k", "key", "v", "notanumber"])).await;
    assert_one_line_failure(&out, "invalid value 'notanumber'");
}
