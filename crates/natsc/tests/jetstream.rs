//! End-to-end tests of `natsc stream`, `natsc consumer` and `natsc js` against a real
//! JetStream-enabled `nats-server` (J4–J7, J11, J12, J17).

#![allow(missing_docs)]
#![allow(clippy::unwrap_used)]

mod common;

use common::{assert_one_line_failure, json, ok, output, with_server};
use nats_testkit::NatsServer;

#[tokio::test(flavor = "multi_thread")]
async fn stream_add_info_ls_get_purge_rm() {
    let server = NatsServer::start_jetstream().await.unwrap();
    let url = server.url();
    let s = |rest: &[&str]| with_server(&url, rest);

    let info = json(&s(&[
        "stream",
        "add",
        "ORDERS",
        "--subjects",
        "orders.>,audit.orders",
        "--storage",
        "memory",
        "--retention",
        "limits",
        "--discard",
        "new",
        "--max-msgs",
        "100",
        "--max-bytes",
        "1MiB",
        "--max-age",
        "1h",
        "--max-msg-size",
        "4KiB",
        "--dupe-window",
        "30s",
        "--allow-direct",
        "--json",
    ]))
    .await;
    let config = &info["config"];
    assert_eq!(config["name"], "ORDERS");
    assert_eq!(config["subjects"][1], "audit.orders");
    assert_eq!(config["storage"], "memory");
    assert_eq!(config["discard"], "new");
    assert_eq!(config["max_msgs"], 100);
    assert_eq!(config["max_bytes"], 1 << 20);
    assert_eq!(config["max_age"], 3_600_000_000_000u64);
    assert_eq!(config["max_msg_size"], 4096);
    assert_eq!(config["duplicate_window"], 30_000_000_000u64);
    assert_eq!(config["allow_direct"], true);

    let names = json(&s(&["stream", "ls", "--json"])).await;
    assert_eq!(names, serde_json::json!(["ORDERS"]));
    let table = ok(&s(&["stream", "ls"])).await;
    assert!(
        table.contains("ORDERS") && table.contains("orders.>"),
        "{table}"
    );

    let acks = ok(&s(&[
        "js",
        "pub",
        "orders.new",
        "order {{seq}}",
        "--count",
        "3",
        "--json",
    ]))
    .await;
    let seqs: Vec<u64> = acks
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(seqs, [1, 2, 3], "{acks}");
    ok(&s(&["js", "pub", "audit.orders", "audited"])).await;

    let info = json(&s(&["stream", "info", "ORDERS", "--json"])).await;
    assert_eq!(info["state"]["messages"], 4);
    assert_eq!(info["state"]["last_seq"], 4);
    let text = ok(&s(&["stream", "info", "ORDERS"])).await;
    assert!(text.contains("messages: 4"), "{text}");
    assert!(text.contains("max age: 1h"), "{text}");

    let msg = json(&s(&["stream", "get", "ORDERS", "2", "--json"])).await;
    assert_eq!(msg["data"], "order 2");
    assert_eq!(msg["subject"], "orders.new");
    let last = json(&s(&[
        "stream",
        "get",
        "ORDERS",
        "--last-for",
        "orders.new",
        "--json",
    ]))
    .await;
    assert_eq!(last["seq"], 3);
    assert_eq!(last["data"], "order 3");
    let plain = ok(&s(&["stream", "get", "ORDERS", "4"])).await;
    assert!(
        plain.contains("ORDERS#4") && plain.contains("audited"),
        "{plain}"
    );
    let out = output(&s(&["stream", "get", "ORDERS", "99"])).await;
    assert_one_line_failure(&out, "no message found");

    // Destructive commands want --force without a terminal.
    let out = output(&s(&["stream", "purge", "ORDERS"])).await;
    assert_one_line_failure(&out, "needs --force");
    let purged = ok(&s(&[
        "stream",
        "purge",
        "ORDERS",
        "--subject",
        "orders.new",
        "--keep",
        "1",
        "-f",
    ]))
    .await;
    assert!(
        purged.contains("Purged 2 messages") && purged.contains("2 left"),
        "{purged}"
    );
    let purged = ok(&s(&["stream", "purge", "ORDERS", "--seq", "4", "-f"])).await;
    assert!(
        purged.contains("Purged 1 message ") && purged.contains("1 left"),
        "{purged}"
    );
    let info = json(&s(&["stream", "info", "ORDERS", "--json"])).await;
    assert_eq!(info["state"]["messages"], 1);
    assert_eq!(info["state"]["first_seq"], 4);

    let out = output(&s(&["stream", "rm", "ORDERS"])).await;
    assert_one_line_failure(&out, "needs --force");
    assert!(ok(&s(&["stream", "rm", "ORDERS", "-f"]))
        .await
        .contains("deleted"));
    let out = output(&s(&["stream", "info", "ORDERS"])).await;
    assert_one_line_failure(&out, "stream not found");
    assert_eq!(
        json(&s(&["stream", "ls", "--json"])).await,
        serde_json::json!([])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn consumer_add_next_info_rm() {
    let server = NatsServer::start_jetstream().await.unwrap();
    let url = server.url();
    let s = |rest: &[&str]| with_server(&url, rest);
    ok(&s(&["stream", "add", "JOBS", "--subjects", "jobs.*"])).await;
    ok(&s(&[
        "js",
        "pub",
        "jobs.a",
        "job {{seq}}",
        "--count",
        "3",
        "--quiet",
    ]))
    .await;
    ok(&s(&["js", "pub", "jobs.b", "other", "--quiet"])).await;

    let info = json(&s(&[
        "consumer",
        "add",
        "JOBS",
        "workers",
        "--filter",
        "jobs.a",
        "--deliver",
        "all",
        "--ack",
        "explicit",
        "--max-deliver",
        "5",
        "--wait",
        "20s",
        "--max-pending",
        "50",
        "--json",
    ]))
    .await;
    assert_eq!(info["config"]["durable_name"], "workers");
    assert_eq!(info["config"]["filter_subject"], "jobs.a");
    assert_eq!(info["config"]["max_deliver"], 5);
    assert_eq!(info["config"]["ack_wait"], 20_000_000_000u64);
    assert_eq!(info["config"]["max_ack_pending"], 50);
    assert_eq!(info["num_pending"], 3);

    let got = ok(&s(&["consumer", "next", "JOBS", "workers", "--count", "2"])).await;
    assert!(got.contains("job 1") && got.contains("job 2"), "{got}");
    assert!(got.contains("stream seq 2 consumer seq 2"), "{got}");
    let info = json(&s(&["consumer", "info", "JOBS", "workers", "--json"])).await;
    // Both acks were confirmed by the server (double ack) before natsc exited.
    assert_eq!(info["ack_floor"]["stream_seq"], 2);
    assert_eq!(info["num_ack_pending"], 0);
    assert_eq!(info["num_pending"], 1);

    let got = ok(&s(&[
        "consumer", "next", "JOBS", "workers", "--no-ack", "--raw",
    ]))
    .await;
    assert_eq!(got.trim(), "job 3");
    let info = json(&s(&["consumer", "info", "JOBS", "workers", "--json"])).await;
    assert_eq!(info["num_ack_pending"], 1);
    let text = ok(&s(&["consumer", "info", "JOBS", "workers"])).await;
    assert!(
        text.contains("ack pending: 1") && text.contains("filter subject: jobs.a"),
        "{text}"
    );

    // Nothing left to deliver (job 3 waits for its ack wait): one line, non-zero.
    let out = output(&s(&[
        "consumer",
        "next",
        "JOBS",
        "workers",
        "--timeout",
        "300ms",
    ]))
    .await;
    assert_one_line_failure(&out, "no message within 300ms");

    ok(&s(&[
        "consumer",
        "add",
        "JOBS",
        "tail",
        "--deliver",
        "last",
        "--ack",
        "none",
    ]))
    .await;
    let names = json(&s(&["consumer", "ls", "JOBS", "--json"])).await;
    assert_eq!(names, serde_json::json!(["tail", "workers"]));
    let got = ok(&s(&["consumer", "next", "JOBS", "tail", "--raw"])).await;
    assert_eq!(got.trim(), "other");

    let out = output(&s(&["consumer", "rm", "JOBS", "workers"])).await;
    assert_one_line_failure(&out, "needs --force");
    ok(&s(&["consumer", "rm", "JOBS", "workers", "-f"])).await;
    let out = output(&s(&["consumer", "info", "JOBS", "workers"])).await;
    assert_one_line_failure(&out, "consumer not found");
    let out = output(&s(&["consumer", "ls", "NOPE"])).await;
    assert_one_line_failure(&out, "stream not found");
}

#[tokio::test(flavor = "multi_thread")]
async fn js_pub_dedup_and_expected_last_sequence() {
    let server = NatsServer::start_jetstream().await.unwrap();
    let url = server.url();
    let s = |rest: &[&str]| with_server(&url, rest);
    ok(&s(&["stream", "add", "PAY", "--subjects", "pay.>"])).await;

    let first = json(&s(&[
        "js", "pub", "pay.in", "10 EUR", "--msg-id", "pay-1", "--json",
    ]))
    .await;
    assert_eq!(first["stream"], "PAY");
    assert_eq!(first["seq"], 1);
    assert_eq!(first["duplicate"], false);
    let again = json(&s(&[
        "js", "pub", "pay.in", "10 EUR", "--msg-id", "pay-1", "--json",
    ]))
    .await;
    assert_eq!(again["seq"], 1);
    assert_eq!(again["duplicate"], true);
    let out = output(&s(&["js", "pub", "pay.in", "10 EUR", "--msg-id", "pay-1"])).await;
    assert!(common::text(&out.stdout).contains("duplicate"), "{out:?}");
    assert!(
        common::text(&out.stderr).contains("(1 duplicate)"),
        "{out:?}"
    );
    // Templated ids: one per message.
    let acks = ok(&s(&[
        "js",
        "pub",
        "pay.in",
        "x",
        "--count",
        "2",
        "--msg-id",
        "batch-{{seq}}",
    ]))
    .await;
    assert!(
        acks.contains("#2 stored in stream PAY at sequence 3"),
        "{acks}"
    );

    let out = output(&s(&[
        "js",
        "pub",
        "pay.in",
        "late",
        "--expect-last-seq",
        "1",
    ]))
    .await;
    assert_one_line_failure(&out, "wrong last sequence");
    assert!(common::text(&out.stderr).contains("not stored"), "{out:?}");
    let ok_ack = json(&s(&[
        "js",
        "pub",
        "pay.in",
        "next",
        "--expect-last-seq",
        "3",
        "--expect-stream",
        "PAY",
        "--json",
    ]))
    .await;
    assert_eq!(ok_ack["seq"], 4);
    let out = output(&s(&[
        "js",
        "pub",
        "pay.in",
        "x",
        "--expect-stream",
        "OTHER",
    ]))
    .await;
    assert_one_line_failure(&out, "--expect-stream");
    let info = json(&s(&["stream", "info", "PAY", "--json"])).await;
    assert_eq!(info["state"]["messages"], 4);

    let out = output(&s(&["js", "pub", "nobody.listens", "x"])).await;
    assert_one_line_failure(&out, "no stream stores this subject");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_and_no_jetstream_are_one_line() {
    let plain = NatsServer::start().await.unwrap();
    let url = plain.url();
    for args in [
        &["stream", "ls"][..],
        &["stream", "info", "ORDERS"],
        &["consumer", "ls", "ORDERS"],
        &["js", "pub", "orders.new", "x"],
        &["js", "info"],
    ] {
        let out = output(&with_server(&url, args)).await;
        assert_one_line_failure(&out, "JetStream is not enabled");
    }

    let js = NatsServer::start_jetstream().await.unwrap();
    let url = js.url();
    let s = |rest: &[&str]| with_server(&url, rest);
    let out = output(&s(&["stream", "add", "a.b"])).await;
    assert_one_line_failure(&out, "invalid stream name");
    let out = output(&s(&["stream", "info", "MISSING"])).await;
    assert_one_line_failure(&out, "stream not found");
    let out = output(&s(&["consumer", "add", "MISSING", "c"])).await;
    assert_one_line_failure(&out, "stream not found");
    let out = output(&s(&["stream", "add", "X", "--storage", "tape"])).await;
    assert_one_line_failure(&out, "invalid value 'tape'");
    let out = output(&s(&["consumer", "add", "X", "c", "--deliver", "sometimes"])).await;
    assert_one_line_failure(&out, "not all, last, new");
    let out = output(&s(&["stream", "get", "X"])).await;
    assert_one_line_failure(&out, "required");
    let info = json(&s(&["js", "info", "--json"])).await;
    assert_eq!(info["streams"], 0);
}
