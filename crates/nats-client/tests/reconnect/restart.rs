//! A single server killed (-9) or stopped (SIGTERM) and restarted on the same port: spec §3
//! timeline (a).

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use nats_client::{ConnectionError, Event, RequestError, Status};
use nats_testkit::NatsServer;

use crate::util::{
    assert_no_more, assert_well_formed, eventually, fast, is_disconnected, is_failed,
    is_reconnected, names, next_msg, record_statuses, wait_status, within, Recorder,
};

/// Timeline (a), R33, R54, R55, R58, R62, R65, R75, R83, R85, R90, R91, D2, D8: kill -9, outage,
/// restart on the same port.
#[tokio::test]
async fn timeline_a_kill_and_restart_resumes_everything() {
    let mut server = NatsServer::start().await.unwrap();
    let rec = Recorder::new();
    let client = rec.install(fast()).connect(server.url()).await.unwrap();
    let statuses = record_statuses(&client);
    let mut sub = client.subscribe("foo").await.unwrap();
    let sid = sub.sid();
    let mut q1 = client.queue_subscribe("work", "workers").await.unwrap();
    let mut q2 = client.queue_subscribe("work", "workers").await.unwrap();
    client.flush().await.unwrap();

    server.kill();
    rec.wait_count("Disconnected", 1, is_disconnected).await;
    assert_eq!(client.status(), Status::Reconnecting);
    rec.wait_count("two failed attempts", 2, is_failed).await;

    // R62: publishes while disconnected are buffered; R55: a new subscription registers
    // locally and gets what is published to it while disconnected.
    client
        .publish("foo", Bytes::from_static(b"buffered"))
        .await
        .unwrap();
    let mut late = client.subscribe("late").await.unwrap();
    client
        .publish("late", Bytes::from_static(b"for-late"))
        .await
        .unwrap();
    assert!(client.buffered() > 0);
    // R75: a flush across the outage succeeds once reconnected.
    let flushing = {
        let c = client.clone();
        tokio::spawn(async move { c.flush_timeout(Duration::from_secs(8)).await })
    };

    server.restart().await.unwrap();
    rec.wait_count("Reconnected", 1, is_reconnected).await;
    rec.wait_count("Resubscribed", 1, |e| matches!(e, Event::Resubscribed))
        .await;
    within("flush across the outage", flushing)
        .await
        .unwrap()
        .unwrap();

    // R54/R65: the old subscription (same sid) and the one made while down both get the
    // buffered messages, which were written after the SUBs.
    assert_eq!(sub.sid(), sid);
    assert_eq!(
        next_msg(&mut sub).await.payload,
        Bytes::from_static(b"buffered")
    );
    assert_eq!(
        next_msg(&mut late).await.payload,
        Bytes::from_static(b"for-late")
    );
    assert_eq!(client.buffered(), 0);

    // R58: two queue members on one connection: each message exactly once after the restart.
    let other = nats_client::connect(server.url()).await.unwrap();
    for i in 0..20u32 {
        other
            .publish("work", Bytes::from(i.to_string()))
            .await
            .unwrap();
    }
    other.flush().await.unwrap();
    let mut got = Vec::new();
    within("20 queue messages", async {
        use futures_util::StreamExt;
        while got.len() < 20 {
            tokio::select! {
                Some(m) = q1.next() => got.push(m.payload),
                Some(m) = q2.next() => got.push(m.payload),
            }
        }
    })
    .await;
    got.sort();
    got.dedup();
    assert_eq!(got.len(), 20, "each queue message exactly once");
    other.flush().await.unwrap();
    assert_no_more(&client, &[&q1, &q2]).await;

    // D8: one restart is one reconnect; failed attempts are counted apart.
    let stats = client.statistics();
    assert_eq!(stats.reconnects, 1);
    assert_eq!(stats.failed_reconnects as usize, rec.count(is_failed));
    assert!(stats.failed_reconnects >= 2);

    client.close().await;
    rec.wait_count("Closed", 1, |e| matches!(e, Event::Closed { .. }))
        .await;
    let events = rec.events();
    // Timeline (a): Connected, Disconnected(I/O), ReconnectFailed+, Reconnected, Resubscribed,
    // then the close: Disconnected(closed by user), Closed.
    let n = names(&events);
    assert_eq!(n[0], "Connected", "{n:?}");
    assert_eq!(n[1], "Disconnected", "{n:?}");
    assert!(
        matches!(
            &events[1],
            Event::Disconnected {
                error: ConnectionError::Io(_)
            }
        ),
        "{events:?}"
    );
    let r = n.iter().position(|x| *x == "Reconnected").unwrap();
    assert!(n[2..r].iter().all(|x| *x == "ReconnectFailed"), "{n:?}");
    assert_eq!(n[r + 1], "Resubscribed", "{n:?}");
    assert_eq!(&n[n.len() - 2..], &["Disconnected", "Closed"], "{n:?}");
    assert!(matches!(
        &events[events.len() - 2],
        Event::Disconnected {
            error: ConnectionError::ClosedByUser
        }
    ));
    assert_well_formed(&events);
    // R91: the status listener saw Reconnecting, Connected, Closed.
    eventually("status recorder", || {
        statuses.lock().unwrap().last() == Some(&Status::Closed)
    })
    .await;
    assert_eq!(
        *statuses.lock().unwrap(),
        vec![Status::Reconnecting, Status::Connected, Status::Closed]
    );
}

/// R56: an unsubscribe while disconnected is applied locally and not re-sent.
#[tokio::test]
async fn r56_unsubscribe_while_disconnected_takes_effect() {
    let mut server = NatsServer::start().await.unwrap();
    let rec = Recorder::new();
    let client = rec.install(fast()).connect(server.url()).await.unwrap();
    let mut gone = client.subscribe("gone").await.unwrap();
    let mut kept = client.subscribe("kept").await.unwrap();
    client.flush().await.unwrap();
    server.kill();
    rec.wait_count("Disconnected", 1, is_disconnected).await;
    gone.unsubscribe().await.unwrap();
    server.restart().await.unwrap();
    rec.wait_count("Reconnected", 1, is_reconnected).await;
    client.flush().await.unwrap();
    let other = nats_client::connect(server.url()).await.unwrap();
    other
        .publish("gone", Bytes::from_static(b"x"))
        .await
        .unwrap();
    other
        .publish("kept", Bytes::from_static(b"y"))
        .await
        .unwrap();
    other.flush().await.unwrap();
    assert_eq!(next_msg(&mut kept).await.payload, Bytes::from_static(b"y"));
    // `gone` ended locally; nothing more arrives for it and the client counted no extra message.
    use futures_util::StreamExt;
    assert!(within("ended stream", gone.next()).await.is_none());
    assert_eq!(
        client.statistics().in_msgs,
        1,
        "server still delivered to the removed sid"
    );
}

/// R57: auto-unsubscribe progress is carried over: max 5, 2 delivered before the outage, exactly
/// 3 after it.
#[tokio::test]
async fn r57_auto_unsubscribe_remaining_count_carried_over() {
    let mut server = NatsServer::start().await.unwrap();
    let rec = Recorder::new();
    let client = rec.install(fast()).connect(server.url()).await.unwrap();
    let mut sub = client.subscribe("auto").await.unwrap();
    sub.unsubscribe_after(5).await.unwrap();
    client.flush().await.unwrap();
    for _ in 0..2 {
        client
            .publish("auto", Bytes::from_static(b"before"))
            .await
            .unwrap();
    }
    next_msg(&mut sub).await;
    next_msg(&mut sub).await;
    server.kill();
    rec.wait_count("Disconnected", 1, is_disconnected).await;
    server.restart().await.unwrap();
    rec.wait_count("Reconnected", 1, is_reconnected).await;
    client.flush().await.unwrap();
    let other = nats_client::connect(server.url()).await.unwrap();
    for _ in 0..10 {
        other
            .publish("auto", Bytes::from_static(b"after"))
            .await
            .unwrap();
    }
    other.flush().await.unwrap();
    for _ in 0..3 {
        assert_eq!(
            next_msg(&mut sub).await.payload,
            Bytes::from_static(b"after")
        );
    }
    use futures_util::StreamExt;
    assert!(within("end of the subscription", sub.next())
        .await
        .is_none());
    client.flush().await.unwrap();
    // The server got `UNSUB sid 3`: it delivered 3 after the reconnect, not 10.
    assert_eq!(client.statistics().in_msgs, 5);
}

/// R80, D7, R65: a request in flight across a restart gets its reply once the responder is
/// back; a request made while disconnected is buffered and answered too. The responder is a
/// subscription of the same client, so its SUB is re-sent before the buffered request (R65)
/// and the test does not race two reconnecting clients.
#[tokio::test]
async fn r80_d7_request_in_flight_across_restart_gets_its_reply() {
    let mut server = NatsServer::start().await.unwrap();
    let rec = Recorder::new();
    let requester = rec.install(fast()).connect(server.url()).await.unwrap();
    let mut svc = requester.subscribe("svc").await.unwrap();
    requester.flush().await.unwrap();

    let in_flight = {
        let c = requester.clone();
        tokio::spawn(async move {
            c.request_with_timeout("svc", Bytes::from_static(b"q1"), Duration::from_secs(8))
                .await
        })
    };
    let held = next_msg(&mut svc).await;
    server.kill();
    rec.wait_count("requester Disconnected", 1, is_disconnected)
        .await;
    // Issued while disconnected: buffered (R80 second half).
    let buffered = {
        let c = requester.clone();
        tokio::spawn(async move {
            c.request_with_timeout("svc", Bytes::from_static(b"q2"), Duration::from_secs(8))
                .await
        })
    };
    server.restart().await.unwrap();
    rec.wait_count("requester Reconnected", 1, is_reconnected)
        .await;
    requester
        .publish(
            held.reply.clone().unwrap().as_str(),
            Bytes::from_static(b"a1"),
        )
        .await
        .unwrap();
    let m = next_msg(&mut svc).await;
    assert_eq!(m.payload, Bytes::from_static(b"q2"));
    requester
        .publish(m.reply.unwrap().as_str(), Bytes::from_static(b"a2"))
        .await
        .unwrap();
    let a1 = within("in-flight reply", in_flight).await.unwrap().unwrap();
    assert_eq!(a1.payload, Bytes::from_static(b"a1"));
    let a2 = within("buffered reply", buffered).await.unwrap().unwrap();
    assert_eq!(a2.payload, Bytes::from_static(b"a2"));
}

/// D7, R81, R103: force_reconnect fails a request in flight at once with ConnectionReset.
#[tokio::test]
async fn d7_force_reconnect_fails_in_flight_request_with_connection_reset() {
    let server = NatsServer::start().await.unwrap();
    let rec = Recorder::new();
    let client = rec
        .install(fast().reconnect_wait(Duration::from_secs(600)))
        .connect(server.url())
        .await
        .unwrap();
    let responder = nats_client::connect(server.url()).await.unwrap();
    let mut svc = responder.subscribe("svc").await.unwrap();
    responder.flush().await.unwrap();
    let req = {
        let c = client.clone();
        tokio::spawn(async move {
            c.request_with_timeout("svc", Bytes::new(), Duration::from_secs(30))
                .await
        })
    };
    next_msg(&mut svc).await; // in flight now
    client.force_reconnect().await.unwrap();
    let err = within("request failure", req).await.unwrap().unwrap_err();
    assert!(matches!(err, RequestError::ConnectionReset), "{err:?}");
    // R103: reconnect_wait of 10 minutes is skipped.
    rec.wait_count("Reconnected", 1, is_reconnected).await;
    let events = rec.events();
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Disconnected {
            error: ConnectionError::ForcedReconnect
        }
    )));
    assert_well_formed(&events);
}

/// R103, D7: `force_reconnect().await` returns once the old connection is gone, so a request
/// made right after it goes to the next connection and is answered (it was a race: the request
/// could be sent on the old connection and then fail with ConnectionReset).
#[tokio::test]
async fn r103_a_request_after_force_reconnect_goes_to_the_next_connection() {
    let server = NatsServer::start().await.unwrap();
    let client = fast().connect(server.url()).await.unwrap();
    let responder = nats_client::connect(server.url()).await.unwrap();
    let mut svc = responder.subscribe("svc").await.unwrap();
    responder.flush().await.unwrap();
    let answering = tokio::spawn(async move {
        while let Some(req) = svc.next().await {
            if let Some(reply) = req.reply {
                let _ = responder.publish(reply, req.payload).await;
            }
        }
    });
    let mut events = client.events();
    for round in 0..10u32 {
        client.force_reconnect().await.unwrap();
        assert_ne!(client.status(), Status::Closed);
        let reply = within(
            "the reply after a forced reconnect",
            client.request_with_timeout(
                "svc",
                Bytes::from(round.to_string()),
                Duration::from_secs(5),
            ),
        )
        .await
        .unwrap_or_else(|e| panic!("round {round}: {e:?}"));
        assert_eq!(reply.payload, Bytes::from(round.to_string()));
        // The forced disconnect of this round came before the reply.
        let seen = crate::util::wait_event(&mut events, |e| matches!(e, Event::Reconnected)).await;
        assert!(
            seen.iter().any(|e| matches!(
                e,
                Event::Disconnected {
                    error: ConnectionError::ForcedReconnect
                }
            )),
            "round {round}: {seen:?}"
        );
    }
    answering.abort();
}

/// Graceful stop (SIGTERM) then restart: same timeline (a) as a kill.
#[tokio::test]
async fn sigterm_stop_then_restart_reconnects() {
    let mut server = NatsServer::start().await.unwrap();
    let rec = Recorder::new();
    let client = rec.install(fast()).connect(server.url()).await.unwrap();
    let mut sub = client.subscribe("s").await.unwrap();
    client.flush().await.unwrap();
    server.stop().await;
    rec.wait_count("Disconnected", 1, is_disconnected).await;
    client
        .publish("s", Bytes::from_static(b"while-down"))
        .await
        .unwrap();
    server.restart().await.unwrap();
    wait_status(&client, Status::Connected).await;
    rec.wait_count("Reconnected", 1, is_reconnected).await;
    assert_eq!(
        next_msg(&mut sub).await.payload,
        Bytes::from_static(b"while-down")
    );
    client
        .publish("s", Bytes::from_static(b"after"))
        .await
        .unwrap();
    assert_eq!(
        next_msg(&mut sub).await.payload,
        Bytes::from_static(b"after")
    );
    assert_eq!(client.statistics().reconnects, 1);
    let events = rec.events();
    assert_eq!(rec.count(is_disconnected), 1, "{:?}", names(&events));
    assert_well_formed(&events);
}
