//! Stop with drain, dropping the service, and serving across a server restart on the same
//! port and a cluster fail-over (R54, R55, R58: endpoint and discovery subscriptions are
//! ordinary ones, re-sent by the client at reconnect).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use nats_client::service::{Discovery, Service, ServiceError};
use nats_client::{Event, RequestError};
use nats_testkit::{Cluster, NatsServer};
use tokio::sync::{Notify, Semaphore};

use crate::util::{echo, expect, fast, next_msg, service, wait_event, within};

/// Handler form: three requests received, the first blocked in the handler; `stop()` drains
/// the subscription, lets all three finish and only then returns; afterwards the endpoint
/// and discovery are gone and adding an endpoint fails with `Stopped`.
#[tokio::test]
async fn stop_drains_and_waits_for_in_flight_handlers() {
    let server = NatsServer::start().await.unwrap();
    let client = nats_client::connect(server.url()).await.unwrap();
    let svc = service(&client, "slow").await;
    let gate = Arc::new(Semaphore::new(0));
    let entered = Arc::new(Notify::new());
    let handled = Arc::new(AtomicU64::new(0));
    {
        let (gate, entered, handled) = (gate.clone(), entered.clone(), handled.clone());
        svc.endpoint("work")
            .handler(move |r| {
                let (gate, entered, handled) = (gate.clone(), entered.clone(), handled.clone());
                async move {
                    entered.notify_one();
                    gate.acquire().await.unwrap().forget();
                    r.respond("done".into()).await.unwrap();
                    handled.fetch_add(1, Ordering::SeqCst);
                }
            })
            .await
            .unwrap();
    }
    client.flush().await.unwrap();

    let requester = nats_client::connect(server.url()).await.unwrap();
    let inbox = requester.new_inbox();
    let mut replies = requester.subscribe(&inbox).await.unwrap();
    for i in 0..3 {
        requester
            .publish_with_reply("work", &inbox, format!("{i}").into())
            .await
            .unwrap();
    }
    // The server has routed all three to the service's connection.
    requester.flush().await.unwrap();
    within("the first request in the handler", entered.notified()).await;

    let mut stopping = {
        let svc = svc.clone();
        tokio::spawn(async move { svc.stop().await })
    };
    crate::util::eventually("the stop to begin", || svc.is_stopped()).await;
    // The drain itself takes a round trip; with the handler blocked the stop must still be
    // waiting well after that.
    assert!(
        tokio::time::timeout(Duration::from_millis(300), &mut stopping)
            .await
            .is_err(),
        "stop returned with requests in flight"
    );
    assert_eq!(handled.load(Ordering::SeqCst), 0);
    gate.add_permits(3);
    within("stop", stopping).await.unwrap();
    assert_eq!(
        handled.load(Ordering::SeqCst),
        3,
        "stop returned before the in-flight requests finished"
    );
    // Drained: nobody listens any more.
    assert!(matches!(
        requester.request("work", "late".into()).await,
        Err(RequestError::NoResponders)
    ));
    for _ in 0..3 {
        assert_eq!(next_msg(&mut replies).await.payload, "done");
    }
    assert_eq!(svc.stats().endpoints[0].num_requests, 3);
    let found = Discovery::new(&requester)
        .ping(Some("slow"), None)
        .await
        .unwrap();
    assert!(found.is_empty(), "discovery still answers: {found:?}");
    assert!(matches!(
        svc.endpoint("more").add().await,
        Err(ServiceError::Stopped)
    ));
    svc.stop().await; // idempotent
}

/// Stream form: requests received before `stop()` are still yielded, then the stream ends.
#[tokio::test]
async fn stop_ends_the_stream_after_received_requests() {
    let server = NatsServer::start().await.unwrap();
    let client = nats_client::connect(server.url()).await.unwrap();
    let svc = service(&client, "streamer").await;
    let mut endpoint = svc.endpoint("jobs").add().await.unwrap();
    client.flush().await.unwrap();
    let requester = nats_client::connect(server.url()).await.unwrap();
    let inbox = requester.new_inbox();
    let mut replies = requester.subscribe(&inbox).await.unwrap();
    for i in 0..5 {
        requester
            .publish_with_reply("jobs", &inbox, format!("{i}").into())
            .await
            .unwrap();
    }
    requester.flush().await.unwrap();
    // Nobody consumes while stopping: the stop must not wait for the consumer.
    within("stop", svc.stop()).await;
    let mut got = Vec::new();
    while let Some(r) = within("the drained stream", endpoint.next()).await {
        got.push(String::from_utf8_lossy(r.payload()).into_owned());
        r.respond("ack".into()).await.unwrap();
    }
    assert_eq!(got, ["0", "1", "2", "3", "4"]);
    for _ in 0..5 {
        assert_eq!(next_msg(&mut replies).await.payload, "ack");
    }
}

/// Dropping the last handle stops the service without draining: the stream ends, nobody
/// answers discovery or the endpoint.
#[tokio::test]
async fn dropping_the_service_unsubscribes_everything() {
    let server = NatsServer::start().await.unwrap();
    let client = nats_client::connect(server.url()).await.unwrap();
    let svc = service(&client, "ephemeral").await;
    let mut endpoint = svc.endpoint("e").add().await.unwrap();
    client.flush().await.unwrap();
    assert_eq!(
        expect(&client, 1)
            .ping(Some("ephemeral"), None)
            .await
            .unwrap()
            .len(),
        1
    );
    drop(svc);
    assert!(within("the stream to end", endpoint.next()).await.is_none());
    client.flush().await.unwrap();
    assert!(Discovery::new(&client)
        .ping(Some("ephemeral"), None)
        .await
        .unwrap()
        .is_empty());
    assert!(matches!(
        client.request("e", "x".into()).await,
        Err(RequestError::NoResponders)
    ));
}

/// R54/R55: kill -9 and restart on the same port; once the client has resubscribed, the
/// endpoint and all three discovery subjects answer again, with the same id and the stats
/// kept.
#[tokio::test]
async fn serves_again_after_a_server_restart() {
    let mut server = NatsServer::start().await.unwrap();
    let client = fast().connect(server.url()).await.unwrap();
    let mut events = client.events();
    let svc = service(&client, "survivor").await;
    echo(&svc, "echo").await;
    let before = nats_client::connect(server.url()).await.unwrap();
    assert_eq!(
        before.request("echo", "1".into()).await.unwrap().payload,
        "1"
    );
    drop(before);

    server.kill();
    wait_event(&mut events, |e| matches!(e, Event::Disconnected { .. })).await;
    server.restart().await.unwrap();
    wait_event(&mut events, |e| matches!(e, Event::Resubscribed)).await;
    within("flush after reconnect", client.flush())
        .await
        .unwrap();

    let asker = nats_client::connect(server.url()).await.unwrap();
    assert_eq!(
        asker.request("echo", "2".into()).await.unwrap().payload,
        "2"
    );
    let d = expect(&asker, 1);
    assert_eq!(d.ping(None, None).await.unwrap()[0].id, svc.id());
    assert_eq!(
        d.info(Some("survivor"), None).await.unwrap()[0]
            .endpoints
            .len(),
        1
    );
    let stats = d.stats(Some("survivor"), Some(svc.id())).await.unwrap();
    assert_eq!(stats[0].endpoints[0].num_requests, 2);
    svc.stop().await;
}

/// A 2-node cluster: the service's node is killed, its client fails over to the other node
/// and resubscribes; requests and discovery from a client on the surviving node work again.
#[tokio::test]
async fn serves_again_after_a_cluster_fail_over() {
    let mut cluster = Cluster::start(2).await.unwrap();
    let client = fast()
        .no_randomize(true)
        .connect(cluster.urls())
        .await
        .unwrap();
    let mut events = client.events();
    let svc = service(&client, "roamer").await;
    let mut endpoint = svc.group("roam").endpoint("echo").add().await.unwrap();
    client.flush().await.unwrap();
    let worker = tokio::spawn(async move {
        while let Some(r) = endpoint.next().await {
            let _ = r.respond(r.payload().clone()).await;
        }
    });
    let asker = nats_client::connect(cluster.node(1).url()).await.unwrap();
    // Interest crosses the route shortly after the SUB: until then, no responders.
    let ask = |body: &'static str| {
        let asker = asker.clone();
        async move {
            within("an answer across the cluster", async {
                loop {
                    match asker.request("roam.echo", body.into()).await {
                        Ok(m) => return m,
                        Err(RequestError::NoResponders) => {
                            tokio::time::sleep(Duration::from_millis(20)).await
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
            })
            .await
        }
    };
    assert_eq!(ask("before").await.payload, "before");

    cluster.node_mut(0).kill();
    wait_event(&mut events, |e| matches!(e, Event::Resubscribed)).await;
    assert_eq!(
        client.connected_url().unwrap().rsplit(':').next().unwrap(),
        cluster.node(1).port().to_string()
    );
    assert_eq!(ask("after").await.payload, "after");
    let found = expect(&asker, 1).ping(Some("roamer"), None).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, svc.id());
    svc.stop().await;
    within("the stream to end", worker).await.unwrap();
}

/// Dropping an `Endpoint` stream removes only that endpoint; its name is free again.
#[tokio::test]
async fn dropping_an_endpoint_removes_it() {
    let server = NatsServer::start().await.unwrap();
    let client = nats_client::connect(server.url()).await.unwrap();
    let svc = Service::builder("partial", "1.0.0")
        .start(&client)
        .await
        .unwrap();
    let keep = svc.endpoint("keep").add().await.unwrap();
    let gone = svc.endpoint("gone").add().await.unwrap();
    assert_eq!(svc.info().endpoints.len(), 2);
    drop(gone);
    crate::util::eventually("the dropped endpoint removed", || {
        svc.info().endpoints.len() == 1
    })
    .await;
    assert_eq!(svc.info().endpoints[0].name, keep.name());
    // Its name is free again.
    let _again = svc.endpoint("gone").add().await.unwrap();
}
