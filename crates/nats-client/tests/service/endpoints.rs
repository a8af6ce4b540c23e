//! Endpoints: stats after N requests and M errors, the service-error headers, groups and
//! queue groups across instances, typed configuration errors.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use nats_client::service::{Service, ServiceError, ERROR_CODE_HEADER, ERROR_HEADER};
use nats_client::{Bytes, HeaderMap, SubscribeError};
use nats_testkit::NatsServer;

use crate::util::{expect, service};

/// 10 requests, 3 answered with an error: the counters, the last error, the processing
/// times, on the handle and through `$SRV.STATS`; then `reset()`.
#[tokio::test]
async fn stats_count_requests_errors_and_time() {
    let server = NatsServer::start().await.unwrap();
    let client = nats_client::connect(server.url()).await.unwrap();
    let svc = service(&client, "checker").await;
    let mut endpoint = svc.endpoint("check").add().await.unwrap();
    client.flush().await.unwrap();
    let worker = tokio::spawn(async move {
        while let Some(r) = endpoint.next().await {
            let res = if r.payload().starts_with(b"bad") {
                let what = String::from_utf8_lossy(r.payload()).into_owned();
                r.error(422, &format!("rejected {what}"), "".into()).await
            } else {
                r.respond("fine".into()).await
            };
            res.unwrap();
        }
    });
    let requester = nats_client::connect(server.url()).await.unwrap();
    for i in 0..10 {
        let body = if i % 3 == 0 && i > 0 {
            format!("bad{i}")
        } else {
            format!("ok{i}")
        };
        requester.request("check", body.into()).await.unwrap();
    }

    let local = svc.stats();
    let remote = expect(&requester, 1)
        .stats(Some("checker"), Some(svc.id()))
        .await
        .unwrap();
    assert_eq!(remote.len(), 1);
    for e in [&local.endpoints[0], &remote[0].endpoints[0]] {
        assert_eq!((e.name.as_str(), e.subject.as_str()), ("check", "check"));
        assert_eq!(e.num_requests, 10);
        assert_eq!(e.num_errors, 3);
        assert_eq!(e.last_error, "422:rejected bad9");
        assert!(e.processing_time > Duration::ZERO);
        assert_eq!(e.average_processing_time, e.processing_time / 10);
    }
    // Stats are recorded before the reply goes out: the snapshot and the wire agree.
    assert_eq!(local.endpoints[0], remote[0].endpoints[0]);
    assert_eq!(local.started, remote[0].started);

    svc.reset();
    let after = svc.stats();
    assert_eq!(after.endpoints[0].num_requests, 0);
    assert_eq!(after.endpoints[0].num_errors, 0);
    assert_eq!(after.endpoints[0].last_error, "");
    assert_eq!(after.endpoints[0].processing_time, Duration::ZERO);
    assert_eq!(after.started, local.started);
    svc.stop().await;
    within_worker(worker).await;
}

async fn within_worker(worker: tokio::task::JoinHandle<()>) {
    crate::util::within("the endpoint stream to end", worker)
        .await
        .unwrap();
}

/// `error(code, description, body)`: the two headers, the body; `respond_with_headers`
/// passes headers through; an empty description is refused and counts nothing.
#[tokio::test]
async fn error_and_header_responses() {
    let server = NatsServer::start().await.unwrap();
    let client = nats_client::connect(server.url()).await.unwrap();
    let svc = service(&client, "errs").await;
    svc.endpoint("fail")
        .handler(|r| async move {
            assert!(matches!(
                r.error(500, "", "".into()).await,
                Err(ServiceError::InvalidErrorHeader(_))
            ));
            assert!(matches!(
                r.error(500, "two\r\nlines", "".into()).await,
                Err(ServiceError::InvalidErrorHeader(_))
            ));
            r.error(503, "backend down", "details".into())
                .await
                .unwrap();
        })
        .await
        .unwrap();
    svc.endpoint("tagged")
        .handler(|r| async move {
            let mut h = HeaderMap::new();
            h.insert("Echo-Subject", r.subject()).unwrap();
            r.respond_with_headers(h, "tagged".into()).await.unwrap();
        })
        .await
        .unwrap();
    client.flush().await.unwrap();

    let reply = client.request("fail", "x".into()).await.unwrap();
    let headers = reply.headers.as_ref().unwrap();
    assert_eq!(headers.get(ERROR_HEADER), Some("backend down"));
    assert_eq!(headers.get(ERROR_CODE_HEADER), Some("503"));
    assert_eq!(headers.get("Nats-Service-Error-Code"), Some("503"));
    assert_eq!(reply.payload, "details");

    let reply = client.request("tagged", "y".into()).await.unwrap();
    assert_eq!(reply.headers.unwrap().get("Echo-Subject"), Some("tagged"));
    assert_eq!(reply.payload, "tagged");

    let stats = svc.stats();
    let fail = stats.endpoints.iter().find(|e| e.name == "fail").unwrap();
    assert_eq!((fail.num_requests, fail.num_errors), (1, 1));
    assert_eq!(fail.last_error, "503:backend down");
    let tagged = stats.endpoints.iter().find(|e| e.name == "tagged").unwrap();
    assert_eq!((tagged.num_requests, tagged.num_errors), (1, 0));
}

/// Groups prefix subjects and nest; a group's queue group applies to its endpoints unless an
/// endpoint sets its own; the service's queue group is the default.
#[tokio::test]
async fn groups_and_queue_groups_in_info() {
    let server = NatsServer::start().await.unwrap();
    let client = nats_client::connect(server.url()).await.unwrap();
    let svc = Service::builder("calc", "1.0.0")
        .queue_group("calc-q")
        .start(&client)
        .await
        .unwrap();
    let math = svc.group("math");
    let v2 = math.group("v2").queue_group("v2-q");
    let _plain = svc.endpoint("status").add().await.unwrap();
    let _add = math.endpoint("add").add().await.unwrap();
    let _mul = v2.endpoint("mul").subject("multiply").add().await.unwrap();
    let _own = v2.endpoint("div").queue_group("div-q").add().await.unwrap();
    let _deep = v2.group("x").endpoint("sub").add().await.unwrap();
    let info = svc.info();
    let got: Vec<(&str, &str, &str)> = info
        .endpoints
        .iter()
        .map(|e| (e.name.as_str(), e.subject.as_str(), e.queue_group.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("status", "status", "calc-q"),
            ("add", "math.add", "calc-q"),
            ("mul", "math.v2.multiply", "v2-q"),
            ("div", "math.v2.div", "div-q"),
            ("sub", "math.v2.x.sub", "v2-q"),
        ]
    );
    // Requests reach the grouped subjects.
    client.flush().await.unwrap();
    let mut mul = _mul;
    let asker = client.clone();
    let call = tokio::spawn(async move { asker.request("math.v2.multiply", "6".into()).await });
    let r = crate::util::within("a request", mul.next()).await.unwrap();
    assert_eq!(r.subject(), "math.v2.multiply");
    assert_eq!(r.endpoint(), "mul");
    r.respond("36".into()).await.unwrap();
    assert_eq!(call.await.unwrap().unwrap().payload, "36");
}

/// Two instances, same endpoint, same queue group: the requests are shared (each instance
/// gets some, none is answered twice). Two groups with different queue groups: every
/// request reaches both.
#[tokio::test]
async fn queue_groups_share_or_fan_out_between_instances() {
    let server = NatsServer::start().await.unwrap();
    let (c1, c2) = (
        nats_client::connect(server.url()).await.unwrap(),
        nats_client::connect(server.url()).await.unwrap(),
    );
    let counts = [Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0))];
    let mut services = Vec::new();
    for (i, c) in [&c1, &c2].into_iter().enumerate() {
        let svc = service(c, "worker").await;
        let seen = Arc::clone(&counts[i]);
        svc.group("jobs")
            .endpoint("run")
            .handler(move |r| {
                let seen = Arc::clone(&seen);
                async move {
                    seen.fetch_add(1, Ordering::SeqCst);
                    let _ = r.respond(Bytes::from(format!("{i}"))).await;
                }
            })
            .await
            .unwrap();
        // A fan-out endpoint: each instance in a queue group of its own.
        svc.group("all")
            .queue_group(format!("fan-{i}"))
            .endpoint("hello")
            .handler(|r| async move {
                let _ = r.respond("hi".into()).await;
            })
            .await
            .unwrap();
        c.flush().await.unwrap();
        services.push(svc);
    }
    let requester = nats_client::connect(server.url()).await.unwrap();
    for _ in 0..40 {
        requester.request("jobs.run", "go".into()).await.unwrap();
    }
    let (a, b) = (
        counts[0].load(Ordering::SeqCst),
        counts[1].load(Ordering::SeqCst),
    );
    assert_eq!(a + b, 40);
    assert!(a > 0 && b > 0, "not shared: {a} / {b}");
    let per_instance: Vec<u64> = services
        .iter()
        .map(|s| s.stats().endpoints[0].num_requests)
        .collect();
    assert_eq!(per_instance, [a, b]);

    // Fan-out: one request, two answers (one per queue group).
    let inbox = requester.new_inbox();
    let mut replies = requester.subscribe(&inbox).await.unwrap();
    requester
        .publish_with_reply("all.hello", &inbox, "x".into())
        .await
        .unwrap();
    for _ in 0..2 {
        let m = crate::util::next_msg(&mut replies).await;
        assert_eq!(m.payload, "hi");
    }
    assert_eq!(services[0].info().endpoints[1].queue_group, "fan-0");
}

/// Bad configuration is a typed error, before anything is subscribed.
#[tokio::test]
async fn configuration_errors_are_typed() {
    let server = NatsServer::start().await.unwrap();
    let client = nats_client::connect(server.url()).await.unwrap();
    for name in ["", "my service", "a.b", "a*", "émoji"] {
        let err = Service::builder(name, "1.0.0")
            .start(&client)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ServiceError::InvalidName { name: n } if n == name),
            "{name:?}: {err}"
        );
    }
    for version in ["", "1", "1.0", "v1.0.0", "1.0.0-", "01.0.0", "1.0.0+"] {
        let err = Service::builder("ok", version)
            .start(&client)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ServiceError::InvalidVersion { version: v } if v == version),
            "{version:?}: {err}"
        );
    }
    assert!(matches!(
        Service::builder("ok", "1.0.0")
            .queue_group("a b")
            .start(&client)
            .await,
        Err(ServiceError::InvalidQueueGroup { .. })
    ));
    let svc = service(&client, "ok").await;
    assert!(matches!(
        svc.endpoint("bad name").add().await,
        Err(ServiceError::InvalidEndpointName { .. })
    ));
    let _first = svc.endpoint("twice").add().await.unwrap();
    assert!(matches!(
        svc.endpoint("twice").subject("other").add().await,
        Err(ServiceError::DuplicateEndpoint { .. })
    ));
    assert!(matches!(
        svc.endpoint("subj").subject("a..b").add().await,
        Err(ServiceError::Subscribe {
            source: SubscribeError::InvalidSubject(_),
            ..
        })
    ));
    assert!(matches!(
        svc.endpoint("qg").queue_group("").add().await,
        Err(ServiceError::InvalidQueueGroup { .. })
    ));
    // Failed endpoints are not listed.
    let names: Vec<String> = svc.info().endpoints.into_iter().map(|e| e.name).collect();
    assert_eq!(names, ["twice"]);
}
