//! Drain and queued messages across outages (R36, R61, R112, D3).

use std::time::Duration;

use nats_client::{ConnectionError, DrainError, Event, PublishError, Status};
use nats_proto::ClientOp;
use nats_testkit::{NatsServer, ScriptedServer};

use crate::util::{connect_scripted, eventually, fast, next_msg, wait_event, wait_status, within};

/// R112: drain() while reconnecting closes the client at once and says why.
#[tokio::test]
async fn r112_drain_while_reconnecting_closes_instead() {
    let mut server = NatsServer::start().await.unwrap();
    let client = fast().connect(server.url()).await.unwrap();
    let mut events = client.events();
    server.kill();
    wait_status(&client, Status::Reconnecting).await;
    let err = within("drain", client.drain()).await.unwrap_err();
    assert!(matches!(err, DrainError::Reconnecting), "{err:?}");
    assert_eq!(client.status(), Status::Closed);
    let seen = wait_event(&mut events, |e| matches!(e, Event::Closed { .. })).await;
    assert_eq!(
        seen.iter()
            .filter(|e| matches!(e, Event::Closed { .. }))
            .count(),
        1
    );
}

/// R36: a connection lost while draining closes the client; it does not reconnect, and a
/// publish afterwards says Closed.
#[tokio::test]
async fn r36_connection_lost_while_draining_closes() {
    let mut server = NatsServer::start().await.unwrap();
    let client = fast()
        .drain_timeout(Duration::from_secs(30))
        .connect(server.url())
        .await
        .unwrap();
    let mut events = client.events();
    // a subscriber that never consumes keeps the drain waiting
    let _stuck = client.subscribe("stuck").await.unwrap();
    client.flush().await.unwrap();
    client.publish("stuck", "x".into()).await.unwrap();
    eventually("delivery", || client.statistics().in_msgs >= 1).await;
    let draining = {
        let c = client.clone();
        tokio::spawn(async move { c.drain().await })
    };
    wait_status(&client, Status::Draining).await;
    server.kill();
    let result = within("drain ends", draining).await.unwrap();
    assert!(matches!(result, Err(DrainError::Closed)), "{result:?}");
    let seen = wait_event(&mut events, |e| matches!(e, Event::Closed { .. })).await;
    assert!(
        !seen.iter().any(|e| matches!(e, Event::Reconnected)),
        "{seen:?}"
    );
    assert!(matches!(
        seen.last(),
        Some(Event::Closed {
            reason: ConnectionError::Io(_)
        })
    ));
    assert!(matches!(
        client.publish("stuck", "y".into()).await,
        Err(PublishError::Closed)
    ));
}

/// R61: messages already queued for a subscription are not discarded by a reconnect.
#[tokio::test]
async fn r61_queued_messages_survive_a_reconnect() {
    let mut server = NatsServer::start().await.unwrap();
    let client = fast().connect(server.url()).await.unwrap();
    let mut sub = client.subscribe("kept").await.unwrap();
    client.flush().await.unwrap();
    for i in 0..5 {
        client.publish("kept", i.to_string().into()).await.unwrap();
    }
    client.flush().await.unwrap();
    eventually("queued", || client.statistics().in_msgs >= 5).await;
    server.kill();
    wait_status(&client, Status::Reconnecting).await;
    server.restart().await.unwrap();
    wait_status(&client, Status::Connected).await;
    for i in 0..5 {
        assert_eq!(next_msg(&mut sub).await.payload, i.to_string());
    }
}

/// D3: a subscription that was being drained is not re-sent on the next connection, while the
/// others are (with their sids).
#[tokio::test]
async fn d3_draining_subscription_is_not_resent() {
    let scripted = ScriptedServer::start().await.unwrap();
    let (client, mut conn) = connect_scripted(&scripted, fast()).await;
    let keep = client.subscribe("keep").await.unwrap();
    let mut going = client.subscribe("going").await.unwrap();
    let going_sid = going.sid();
    for _ in 0..2 {
        assert!(matches!(
            within("SUB", conn.expect_op()).await.unwrap(),
            ClientOp::Sub { .. }
        ));
    }
    let draining = tokio::spawn(async move { going.drain().await });
    assert!(matches!(
        within("UNSUB", conn.expect_op()).await.unwrap(),
        ClientOp::Unsub { sid, max: None } if sid == going_sid
    ));
    // The flush PING of the drain goes unanswered; the connection drops under it.
    assert!(matches!(
        within("PING", conn.expect_op()).await.unwrap(),
        ClientOp::Ping
    ));
    conn.reset();
    let _ = within("drain returns", draining).await.unwrap();
    let mut conn2 = within("reconnect accept", scripted.accept()).await.unwrap();
    within("reconnect handshake", conn2.handshake())
        .await
        .unwrap();
    wait_status(&client, Status::Connected).await;
    // Exactly the live subscription comes back; nothing for the drained one.
    match within("resubscription", conn2.expect_op()).await.unwrap() {
        ClientOp::Sub { subject, sid, .. } => {
            assert_eq!(subject, "keep");
            assert_eq!(sid, keep.sid());
        }
        other => panic!("expected SUB keep, got {other:?}"),
    }
    // The positive sign that a re-sent SUB would have come by now: the PING of a flush made
    // after the reconnect comes after every resubscription. Every PING is answered (the
    // reconnect's own round trip, R76, comes first) until the flush returns.
    let mut flushing = {
        let c = client.clone();
        tokio::spawn(async move { c.flush().await })
    };
    within("flush", async {
        loop {
            let op = tokio::select! {
                done = &mut flushing => return done.unwrap().unwrap(),
                op = conn2.expect_op() => op.unwrap(),
            };
            match op {
                ClientOp::Ping => conn2.send_pong().await.unwrap(),
                ClientOp::Sub { subject, .. } if subject == "going" => {
                    panic!("drained subscription re-sent")
                }
                _ => {}
            }
        }
    })
    .await;
}

/// R79: rtt() measures one round trip while connected, fails at once while reconnecting and
/// after close.
#[tokio::test]
async fn r79_rtt_while_connected_reconnecting_and_closed() {
    let mut server = NatsServer::start().await.unwrap();
    let client = fast().connect(server.url()).await.unwrap();
    let rtt = client.rtt().await.unwrap();
    assert!(rtt < Duration::from_secs(5));
    server.kill();
    wait_status(&client, Status::Reconnecting).await;
    assert!(matches!(
        client.rtt().await,
        Err(nats_client::FlushError::Disconnected)
    ));
    client.close().await;
    assert!(matches!(
        client.rtt().await,
        Err(nats_client::FlushError::Closed)
    ));
}
