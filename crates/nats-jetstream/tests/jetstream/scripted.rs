//! What no real 2.9 server does on demand, played by the scripted fake server (J14): a
//! "409 Leadership Change" and a "409 Exceeded MaxWaiting" on a running `messages()` reset the
//! pending counts and re-pull at once; the stream goes on.

use bytes::BytesMut;
use futures_util::StreamExt;
use nats_proto::{ClientOp, HeaderMap, StatusCode};
use nats_testkit::{ScriptedConn, ScriptedServer};
use std::time::Duration;

use crate::util::{fast, within};

/// The next PUB/HPUB or SUB, skipping keep-alive traffic.
async fn next_op(conn: &mut ScriptedConn) -> ClientOp {
    loop {
        match conn.expect_op().await.unwrap() {
            ClientOp::Ping => conn.send_pong().await.unwrap(),
            ClientOp::Pong | ClientOp::Unsub { .. } => {}
            op => return op,
        }
    }
}

async fn expect_sub(conn: &mut ScriptedConn) -> (String, u64) {
    match next_op(conn).await {
        ClientOp::Sub { subject, sid, .. } => (subject, sid),
        other => panic!("expected SUB, got {other:?}"),
    }
}

/// Expects a publish to `subject`; returns its reply subject and payload.
async fn expect_pub(conn: &mut ScriptedConn, subject: &str) -> (String, serde_json::Value) {
    match next_op(conn).await {
        ClientOp::Pub {
            subject: s,
            reply,
            payload,
            ..
        } if s == subject => {
            let body = if payload.is_empty() {
                serde_json::Value::Null
            } else {
                serde_json::from_slice(&payload).unwrap()
            };
            (reply.unwrap(), body)
        }
        other => panic!("expected PUB {subject}, got {other:?}"),
    }
}

async fn send_status(conn: &mut ScriptedConn, subject: &str, sid: u64, code: u16, text: &str) {
    let mut headers = HeaderMap::new();
    headers.set_status(Some(StatusCode(code)), Some(text.into()));
    let mut out = BytesMut::new();
    nats_proto::encode_hmsg(&mut out, subject, sid, None, &headers, b"");
    conn.send_raw(&out).await.unwrap();
}

/// Accepts the client, does the handshake and answers its consumer info request (through
/// the request inbox, whose sid it returns).
async fn accept_and_serve_info(server: &ScriptedServer) -> (ScriptedConn, u64) {
    let mut conn = server.accept().await.unwrap();
    conn.handshake().await.unwrap();
    let (_, mux_sid) = expect_sub(&mut conn).await;
    let (reply, _) = expect_pub(&mut conn, "$JS.API.CONSUMER.INFO.S.C").await;
    conn.send_msg(&reply, mux_sid, None, INFO.as_bytes())
        .await
        .unwrap();
    (conn, mux_sid)
}

const INFO: &str = r#"{"stream_name":"S","name":"C","created":"2025-01-01T00:00:00Z",
    "config":{"durable_name":"C","deliver_policy":"all","ack_policy":"explicit","replay_policy":"instant"},
    "delivered":{"consumer_seq":0,"stream_seq":0},"ack_floor":{"consumer_seq":0,"stream_seq":0},
    "num_ack_pending":0,"num_redelivered":0,"num_waiting":0,"num_pending":1}"#;

#[tokio::test]
async fn j14_leadership_change_and_max_waiting_reset_and_repull() {
    let server = ScriptedServer::start().await.unwrap();
    let url = server.url();
    let client_side = tokio::spawn(async move {
        let client = fast().connect(url).await.unwrap();
        let js = nats_jetstream::new(client);
        let consumer = js.get_consumer_from_stream("S", "C").await.unwrap();
        let mut messages = consumer
            .consume()
            .expires(Duration::from_secs(10))
            .messages()
            .await
            .unwrap();
        let first = messages.next().await.unwrap().unwrap();
        let info = first.info().unwrap();
        (first.payload.clone(), info.stream_sequence)
    });

    let (mut conn, _) = accept_and_serve_info(&server).await;
    // messages(): its inbox, then the first pull.
    let (_inbox, sid) = expect_sub(&mut conn).await;
    let (pull_reply, body) = expect_pub(&mut conn, "$JS.API.CONSUMER.MSG.NEXT.S.C").await;
    assert_eq!(body["batch"], 500);
    assert_eq!(body["idle_heartbeat"], 5_000_000_000u64);
    // A leadership change: the pending counts reset, a new full pull goes out.
    send_status(&mut conn, &pull_reply, sid, 409, "Leadership Change").await;
    let (again, body) = within(
        "a re-pull",
        expect_pub(&mut conn, "$JS.API.CONSUMER.MSG.NEXT.S.C"),
    )
    .await;
    assert_eq!(
        (again.as_str(), body["batch"].as_u64()),
        (pull_reply.as_str(), Some(500))
    );
    send_status(&mut conn, &pull_reply, sid, 409, "Exceeded MaxWaiting").await;
    let (_, body) = within(
        "a re-pull",
        expect_pub(&mut conn, "$JS.API.CONSUMER.MSG.NEXT.S.C"),
    )
    .await;
    assert_eq!(body["batch"], 500);
    // A heartbeat never reaches the user; the message does.
    send_status(&mut conn, &pull_reply, sid, 100, "Idle Heartbeat").await;
    conn.send_msg(
        "s.a",
        sid,
        Some("$JS.ACK.S.C.1.7.1.1700000000000000000.0"),
        b"hi",
    )
    .await
    .unwrap();
    let (payload, seq) = within("the message", client_side).await.unwrap();
    assert_eq!((&payload[..], seq), (&b"hi"[..], 7));
}

#[tokio::test]
async fn j15_unanswered_repulls_give_up_after_max_retries() {
    let server = ScriptedServer::start().await.unwrap();
    let url = server.url();
    let client_side = tokio::spawn(async move {
        let client = fast().connect(url).await.unwrap();
        let js = nats_jetstream::ContextBuilder::new()
            .timeout(Duration::from_millis(500))
            .build(client);
        let consumer = js.get_consumer_from_stream("S", "C").await.unwrap();
        let mut messages = consumer
            .consume()
            .expires(Duration::from_secs(1))
            .max_retries(Some(2))
            .messages()
            .await
            .unwrap();
        let mut items = Vec::new();
        while let Some(item) = messages.next().await {
            items.push(item.map(|_| ()).map_err(|e| e.to_string()));
        }
        items
    });

    let (mut conn, mux_sid) = accept_and_serve_info(&server).await;
    let _inbox = expect_sub(&mut conn).await;
    // The pulls go unanswered; every consumer info after two missed heartbeats gets a
    // "temporarily unavailable" error (the consumer's state cannot be read).
    let unavailable = br#"{"error":{"code":503,"err_code":10008,"description":"JetStream system temporarily unavailable"}}"#;
    let mut infos = 0;
    let serve = async {
        loop {
            // The client closes when it is done: then only its result matters.
            let Ok(op) = conn.expect_op().await else {
                std::future::pending::<()>().await;
                continue;
            };
            match op {
                ClientOp::Ping => conn.send_pong().await.unwrap(),
                ClientOp::Pub {
                    subject,
                    reply: Some(reply),
                    ..
                } if subject == "$JS.API.CONSUMER.INFO.S.C" => {
                    infos += 1;
                    let _ = conn.send_msg(&reply, mux_sid, None, unavailable).await;
                }
                _ => {}
            }
        }
    };
    let items = tokio::select! {
        items = client_side => items.unwrap(),
        () = serve => unreachable!(),
    };
    assert_eq!(items.len(), 2, "{items:?}");
    assert!(
        items[0]
            .as_ref()
            .unwrap_err()
            .contains("missed 2 idle heartbeats"),
        "{items:?}"
    );
    assert!(
        items[1]
            .as_ref()
            .unwrap_err()
            .contains("gave up after 2 attempts"),
        "{items:?}"
    );
    assert_eq!(infos, 2);
}
