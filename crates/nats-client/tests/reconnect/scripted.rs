//! Misbehaving servers, scripted: protocol garbage, a missing PONG or half an INFO during a
//! reconnect handshake, 'Stale Connection', a permissions -ERR, and the exact resubscription
//! bytes (R23, R25, R40, R51, R54, R57, D4).

use std::time::Duration;

use bytes::Bytes;
use nats_client::{ConnectionError, Event, Status};
use nats_proto::ClientOp;
use nats_testkit::{ScriptedConn, ScriptedServer};

use crate::util::{
    assert_well_formed, connect_scripted, fast, is_reconnected, next_msg, within, Recorder,
};

/// Accepts the reconnect and completes its handshake.
async fn accept_reconnect(scripted: &ScriptedServer) -> ScriptedConn {
    let mut conn = within("reconnect accept", scripted.accept()).await.unwrap();
    within("reconnect handshake", conn.handshake())
        .await
        .unwrap();
    conn
}

/// Garbage bytes mid-stream: Disconnected{Protocol}, then a reconnect to the next accept.
#[tokio::test]
async fn garbage_mid_stream_is_a_protocol_disconnect_then_reconnect() {
    let scripted = ScriptedServer::start().await.unwrap();
    let rec = Recorder::new();
    let (client, mut conn) = connect_scripted(&scripted, rec.install(fast())).await;
    conn.send_raw(b"\x00\x01NOT NATS AT ALL\r\n").await.unwrap();
    let _conn2 = accept_reconnect(&scripted).await;
    rec.wait_count("Reconnected", 1, is_reconnected).await;
    let events = rec.events();
    assert!(
        matches!(
            events[1],
            Event::Disconnected {
                error: ConnectionError::Protocol(_)
            }
        ),
        "{events:?}"
    );
    assert_eq!(client.status(), Status::Connected);
    assert_well_formed(&events);
}

/// R22, D4: no PONG during a reconnect handshake: the attempt times out after
/// connection_timeout (ReconnectFailed{TimedOut}), its socket is closed at once, and the next
/// attempt succeeds.
#[tokio::test]
async fn missing_pong_in_reconnect_handshake_times_out_the_attempt() {
    let scripted = ScriptedServer::start().await.unwrap();
    let rec = Recorder::new();
    let opts = fast().connection_timeout(Duration::from_millis(300));
    let (_client, conn) = connect_scripted(&scripted, rec.install(opts)).await;
    conn.close().await;
    let mut silent = within("accept", scripted.accept()).await.unwrap();
    silent
        .send_info(&nats_testkit::default_info(scripted.port()))
        .await
        .unwrap();
    silent.expect_connect().await.unwrap();
    // D4: the client gives up on this socket and closes it.
    within(
        "the client to close the silent socket",
        silent.expect_closed(),
    )
    .await
    .unwrap();
    let _conn3 = accept_reconnect(&scripted).await;
    rec.wait_count("Reconnected", 1, is_reconnected).await;
    let events = rec.events();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::ReconnectFailed { error, .. } if error.is_timeout())),
        "{events:?}"
    );
    assert_well_formed(&events);
}

/// R23: half an INFO then close: the attempt fails (ReconnectFailed), the next one succeeds.
#[tokio::test]
async fn half_info_then_close_fails_the_attempt() {
    let scripted = ScriptedServer::start().await.unwrap();
    let rec = Recorder::new();
    let (_client, conn) = connect_scripted(&scripted, rec.install(fast())).await;
    conn.close().await;
    let mut half = within("accept", scripted.accept()).await.unwrap();
    half.send_raw(b"INFO {\"server_id\":\"X\",\"ver")
        .await
        .unwrap();
    half.close().await;
    let _conn3 = accept_reconnect(&scripted).await;
    rec.wait_count("Reconnected", 1, is_reconnected).await;
    let events = rec.events();
    let n = crate::util::names(&events);
    assert_eq!(
        n[..4],
        [
            "Connected",
            "Disconnected",
            "ReconnectFailed",
            "Reconnected"
        ],
        "{n:?}"
    );
    assert_well_formed(&events);
}

/// R40, R53: `-ERR 'Stale Connection'` from the server: Disconnected{StaleConnection}, then a
/// reconnect.
#[tokio::test]
async fn r40_server_stale_connection_reconnects() {
    let scripted = ScriptedServer::start().await.unwrap();
    let rec = Recorder::new();
    let (_client, mut conn) = connect_scripted(&scripted, rec.install(fast())).await;
    conn.send_err("Stale Connection").await.unwrap();
    let _conn2 = accept_reconnect(&scripted).await;
    rec.wait_count("Reconnected", 1, is_reconnected).await;
    let events = rec.events();
    assert!(
        matches!(
            events[1],
            Event::Disconnected {
                error: ConnectionError::StaleConnection
            }
        ),
        "{events:?}"
    );
    assert_well_formed(&events);
}

/// R51: a permissions violation is an event; the connection stays up and keeps working.
#[tokio::test]
async fn r51_permission_violation_keeps_the_connection() {
    let scripted = ScriptedServer::start().await.unwrap();
    let rec = Recorder::new();
    let (client, mut conn) = connect_scripted(&scripted, rec.install(fast())).await;
    conn.send_err("Permissions Violation for Publish to \"x\"")
        .await
        .unwrap();
    rec.wait_count("ServerError", 1, |e| matches!(e, Event::ServerError { .. }))
        .await;
    let flushing = {
        let c = client.clone();
        tokio::spawn(async move { c.flush().await })
    };
    within("PING", conn.expect_ping()).await.unwrap();
    conn.send_pong().await.unwrap();
    within("flush", flushing).await.unwrap().unwrap();
    assert_eq!(client.status(), Status::Connected);
    assert_eq!(rec.count(crate::util::is_disconnected), 0);
    let events = rec.events();
    match &events[1] {
        Event::ServerError { error } => assert!(error.message().contains("\"x\""), "{error}"),
        other => panic!("{other:?}"),
    }
}

/// R54, R57, R65 on the wire: after a reconnect the client sends `SUB auto <same sid>` then
/// `UNSUB <sid> 3` (max 5, 2 delivered), then the buffered publish.
#[tokio::test]
async fn r54_r57_resubscription_bytes_carry_sid_and_remaining_count() {
    let scripted = ScriptedServer::start().await.unwrap();
    let rec = Recorder::new();
    let (client, mut conn) = connect_scripted(&scripted, rec.install(fast())).await;
    let mut sub = client.subscribe("auto").await.unwrap();
    let mut q = client.queue_subscribe("work", "g").await.unwrap();
    sub.unsubscribe_after(5).await.unwrap();
    let sid = sub.sid();
    let qsid = q.sid();
    let mut ops = Vec::new();
    for _ in 0..3 {
        ops.push(within("op", conn.expect_op()).await.unwrap());
    }
    assert!(
        ops.iter()
            .any(|o| matches!(o, ClientOp::Unsub { sid: s, max: Some(5) } if *s == sid)),
        "{ops:?}"
    );
    conn.send_msg("auto", sid, None, b"1").await.unwrap();
    conn.send_msg("auto", sid, None, b"2").await.unwrap();
    next_msg(&mut sub).await;
    next_msg(&mut sub).await;
    conn.close().await;
    rec.wait_count("Disconnected", 1, crate::util::is_disconnected)
        .await;
    client
        .publish("out", Bytes::from_static(b"buffered"))
        .await
        .unwrap();
    let mut conn2 = within("accept", scripted.accept()).await.unwrap();
    conn2.handshake().await.unwrap();
    let mut ops = Vec::new();
    for _ in 0..4 {
        ops.push(within("op", conn2.expect_op()).await.unwrap());
    }
    let pos = |pred: &dyn Fn(&ClientOp) -> bool| ops.iter().position(pred);
    let s = pos(
        &|o| matches!(o, ClientOp::Sub { subject, sid: s, queue_group: None } if subject == "auto" && *s == sid),
    );
    let u = pos(&|o| matches!(o, ClientOp::Unsub { sid: s, max: Some(3) } if *s == sid));
    let qs = pos(
        &|o| matches!(o, ClientOp::Sub { subject, sid: s, queue_group: Some(g) } if subject == "work" && g == "g" && *s == qsid),
    );
    let p = pos(&|o| matches!(o, ClientOp::Pub { subject, .. } if subject == "out"));
    let (s, u, qs, p) = (
        s.expect("SUB"),
        u.expect("UNSUB 3"),
        qs.expect("queue SUB"),
        p.expect("PUB"),
    );
    assert!(s < u && u < p && qs < p, "{ops:?}");
    drop(q.unsubscribe().await);
}

/// R76: after each reconnect (not after the first connect) the client makes one round trip of
/// its own, queued behind the resubscriptions and the reconnect buffer.
#[tokio::test]
async fn r76_one_round_trip_after_each_reconnect() {
    let scripted = ScriptedServer::start().await.unwrap();
    let rec = Recorder::new();
    let (client, mut conn) = connect_scripted(&scripted, rec.install(fast())).await;
    // The first connection: the first op after the handshake is the user's, no PING.
    client
        .publish("first", Bytes::from_static(b"1"))
        .await
        .unwrap();
    let op = within("op", conn.expect_op()).await.unwrap();
    assert!(
        matches!(&op, ClientOp::Pub { subject, .. } if subject == "first"),
        "{op:?}"
    );
    let sub = client.subscribe("kept").await.unwrap();
    let op = within("op", conn.expect_op()).await.unwrap();
    assert!(matches!(op, ClientOp::Sub { .. }), "{op:?}");
    for round in 1..=2u64 {
        conn.close().await;
        rec.wait_count("Disconnected", round as usize, crate::util::is_disconnected)
            .await;
        client
            .publish("buffered", Bytes::from_static(b"b"))
            .await
            .unwrap();
        conn = within("accept", scripted.accept()).await.unwrap();
        conn.handshake().await.unwrap();
        let mut ops = Vec::new();
        loop {
            let op = within("op", conn.expect_op()).await.unwrap();
            let ping = matches!(op, ClientOp::Ping);
            ops.push(op);
            if ping {
                break;
            }
        }
        // The resubscription and the buffered publish, then the round trip's PING.
        assert!(
            matches!(ops.as_slice(), [
                ClientOp::Sub { subject: s, sid, .. },
                ClientOp::Pub { subject: p, .. },
                ClientOp::Ping,
            ] if s == "kept" && *sid == sub.sid() && p == "buffered"),
            "round {round}: {ops:?}"
        );
        conn.send_pong().await.unwrap();
        rec.wait_count("Reconnected", round as usize, is_reconnected)
            .await;
        // The PONG is taken: a flush still gets its own answer.
        let flushing = tokio::spawn({
            let client = client.clone();
            async move { client.flush().await }
        });
        within("flush PING", conn.expect_ping()).await.unwrap();
        conn.send_pong().await.unwrap();
        within("flush", flushing).await.unwrap().unwrap();
    }
    assert_eq!(client.statistics().reconnects, 2);
}

/// R43, R44, R46: an auth -ERR on a live connection is an event (the client keeps the socket);
/// when the server then closes it and answers the next handshake with the same auth error,
/// that is the same error twice from one server: Closed{Connect(auth)}, one Disconnected.
#[tokio::test]
async fn r44_r46_live_auth_error_then_same_error_on_reconnect_closes() {
    let scripted = ScriptedServer::start().await.unwrap();
    let rec = Recorder::new();
    let (client, mut conn) = connect_scripted(&scripted, rec.install(fast())).await;
    conn.send_err("Authorization Violation").await.unwrap();
    rec.wait_count("ServerError", 1, |e| matches!(e, Event::ServerError { .. }))
        .await;
    assert_eq!(client.status(), Status::Connected);
    conn.close().await;
    let mut again = within("accept", scripted.accept()).await.unwrap();
    again
        .send_info(&nats_testkit::default_info(scripted.port()))
        .await
        .unwrap();
    again.expect_connect().await.unwrap();
    again.send_err("Authorization Violation").await.unwrap();
    rec.wait_count("Closed", 1, crate::util::is_closed).await;
    let events = rec.events();
    assert_eq!(
        crate::util::names(&events),
        [
            "Connected",
            "ServerError",
            "Disconnected",
            "ReconnectFailed",
            "Closed"
        ]
    );
    assert!(matches!(
        events.last(),
        Some(Event::Closed { reason: ConnectionError::Connect(e) }) if e.is_auth()
    ));
}
