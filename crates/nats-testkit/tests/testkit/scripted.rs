//! ScriptedServer: a transcript with a raw client on the other side.

use std::io::ErrorKind;
use std::time::Duration;

use nats_proto::ClientOp;
use nats_testkit::{default_info, ScriptedServer, TestkitError};

use crate::raw::Raw;

#[tokio::test]
async fn transcript() {
    let server = ScriptedServer::start().await.unwrap();
    assert_eq!(server.url(), format!("nats://127.0.0.1:{}", server.port()));
    let port = server.port();

    let peer = async {
        let mut conn = server.accept().await.unwrap();
        let connect = conn.handshake().await.unwrap();
        assert_eq!(connect["name"], "raw");
        match conn.expect_op().await.unwrap() {
            ClientOp::Sub {
                subject,
                queue_group,
                sid,
            } => {
                assert_eq!((subject.as_str(), queue_group, sid), ("foo", None, 7));
                conn.send_msg(&subject, sid, Some("reply.x"), b"hello")
                    .await
                    .unwrap();
            }
            other => panic!("unexpected {other:?}"),
        }
        match conn.expect_op().await.unwrap() {
            ClientOp::Pub {
                subject, payload, ..
            } => {
                assert_eq!(subject, "bar");
                assert_eq!(&payload[..], b"abc");
            }
            other => panic!("unexpected {other:?}"),
        }
        conn.expect_ping().await.unwrap();
        conn.send_ping().await.unwrap();
        conn.expect_pong().await.unwrap();
        conn.send_err("Unknown Protocol Operation").await.unwrap();
        conn.send_raw(b"GARBAGE\r\n").await.unwrap();
        conn.close().await;
    };

    let client = async {
        let mut raw = Raw::connect(([127, 0, 0, 1], port).into()).await;
        let (info, answer) = raw
            .handshake(serde_json::json!({"verbose": false, "name": "raw", "protocol": 1}))
            .await;
        assert_eq!(answer, "PONG");
        assert_eq!(info["version"], "2.9.10");
        assert_eq!(info["port"], port);
        assert_eq!(info["headers"], true);
        assert_eq!(info["max_payload"], 1024 * 1024);
        assert_eq!(info["proto"], 1);

        raw.send(b"SUB foo 7\r\n").await;
        assert_eq!(raw.line().await, "MSG foo 7 reply.x 5");
        assert_eq!(raw.line().await, "hello");
        raw.send(b"PUB bar 3\r\nabc\r\nPING\r\n").await;
        assert_eq!(raw.line().await, "PING");
        raw.send(b"PONG\r\n").await;
        assert_eq!(raw.line().await, "-ERR 'Unknown Protocol Operation'");
        assert_eq!(raw.line().await, "GARBAGE");
        assert_eq!(raw.closed(Duration::from_secs(5)).await, None);
    };

    tokio::join!(peer, client);
}

#[tokio::test]
async fn expect_connect_rejects_a_ping_first_and_sees_the_close() {
    let server = ScriptedServer::start().await.unwrap();
    let port = server.port();
    let peer = async {
        let mut conn = server.accept().await.unwrap();
        conn.send_info(&default_info(port)).await.unwrap();
        let err = conn.expect_connect().await.unwrap_err();
        assert!(matches!(err, TestkitError::Unexpected(_)), "{err:?}");
        conn.expect_closed().await.unwrap();
        assert!(matches!(
            conn.expect_op().await.unwrap_err(),
            TestkitError::Closed
        ));
    };
    let client = async {
        let mut raw = Raw::connect(([127, 0, 0, 1], port).into()).await;
        assert!(raw.line().await.starts_with("INFO {"));
        raw.send(b"PING\r\n").await;
        drop(raw);
    };
    tokio::join!(peer, client);
}

#[tokio::test]
async fn hang_answers_nothing_and_reset_sends_rst() {
    let server = ScriptedServer::start().await.unwrap();
    let port = server.port();
    let peer = async {
        let mut conn = server.accept().await.unwrap();
        conn.handshake().await.unwrap();
        conn.hang(Duration::from_millis(400)).await;
        conn.reset();
    };
    let client = async {
        let mut raw = Raw::connect(([127, 0, 0, 1], port).into()).await;
        let (_, answer) = raw.handshake(crate::raw::plain_connect()).await;
        assert_eq!(answer, "PONG");
        raw.send(b"PING\r\n").await;
        assert_eq!(raw.try_line(Duration::from_millis(200)).await, Err(()));
        assert_eq!(
            raw.closed(Duration::from_secs(5)).await,
            Some(ErrorKind::ConnectionReset)
        );
    };
    tokio::join!(peer, client);
}

#[tokio::test]
async fn garbage_from_the_client_is_a_protocol_error() {
    let server = ScriptedServer::start().await.unwrap();
    let port = server.port();
    let peer = async {
        let mut conn = server.accept().await.unwrap();
        let err = conn.expect_op().await.unwrap_err();
        assert!(matches!(err, TestkitError::Proto(_)), "{err:?}");
    };
    let client = async {
        let mut raw = Raw::connect(([127, 0, 0, 1], port).into()).await;
        raw.send(b"NONSENSE here\r\n").await;
        raw
    };
    let (_, _raw) = tokio::join!(peer, client);
}
