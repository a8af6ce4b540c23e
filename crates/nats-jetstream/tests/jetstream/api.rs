//! Context and API (J1–J3): typed errors with err_code, no JetStream, name validation, domain.

use nats_jetstream::{stream, ContextBuilder, Error, ErrorCode};
use nats_testkit::NatsServer;

use crate::util::{durable_config, fast, js_server, memory_stream};

#[tokio::test]
async fn j1_api_errors_carry_the_servers_err_code() {
    let (_server, js) = js_server().await;
    let err = js.get_stream("MISSING").await.unwrap_err();
    assert!(err.is_stream_not_found(), "{err:?}");
    assert!(err.is_not_found());
    assert_eq!(err.err_code(), Some(ErrorCode::STREAM_NOT_FOUND));
    assert_eq!(err.api_error().unwrap().code, 404);

    let s = memory_stream(&js, "APIERR").await;
    let err = s.get_consumer("nobody").await.unwrap_err();
    assert!(err.is_consumer_not_found(), "{err:?}");
    assert_eq!(err.err_code(), Some(ErrorCode::CONSUMER_NOT_FOUND));

    // Same name, other config: 10058.
    let err = js
        .create_stream(stream::Config {
            name: "APIERR".into(),
            subjects: vec!["other.>".into()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.err_code(),
        Some(ErrorCode::STREAM_NAME_EXISTS),
        "{err:?}"
    );
    assert!(matches!(err, Error::Api(_)));
    assert!(js.account_info().await.unwrap().streams >= 1);
}

#[tokio::test]
async fn j2_no_jetstream_on_the_server_is_its_own_error() {
    let server = NatsServer::start().await.unwrap();
    let client = fast().connect(server.url()).await.unwrap();
    let js = nats_jetstream::new(client);
    let err = js.create_stream("NOJS".into()).await.unwrap_err();
    assert!(matches!(err, Error::JetStreamNotEnabled), "{err:?}");
    let err = js.account_info().await.unwrap_err();
    assert!(matches!(err, Error::JetStreamNotEnabled), "{err:?}");
    // A publish has no stream to go to.
    let err = js
        .publish("nojs.a", "x".into())
        .await
        .unwrap()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, nats_jetstream::PublishError::NoStream { subject } if subject == "nojs.a"),
        "{err:?}"
    );
}

#[tokio::test]
async fn j3_bad_names_are_refused_locally() {
    // No server needed: the name never leaves the client. A server is still required to
    // build a client, so use one.
    let (_server, js) = js_server().await;
    for bad in ["", "a.b", "a*", "a>", "a b", "a/b", "a\\b", "tab\t"] {
        let err = js.create_stream(bad.into()).await.unwrap_err();
        assert!(matches!(err, Error::InvalidName(_)), "{bad:?}: {err:?}");
        assert!(matches!(
            js.get_stream(bad).await,
            Err(Error::InvalidName(_))
        ));
        assert!(matches!(
            js.delete_stream(bad).await,
            Err(Error::InvalidName(_))
        ));
    }
    let s = memory_stream(&js, "NAMES").await;
    let err = s
        .create_consumer(durable_config("bad.name"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidName(_)), "{err:?}");
    assert!(matches!(
        s.get_consumer("a b").await,
        Err(Error::InvalidName(_))
    ));
}

#[tokio::test]
async fn j1_domain_and_prefix_shape_the_api_subject() {
    let server = NatsServer::start_jetstream().await.unwrap();
    let client = fast().connect(server.url()).await.unwrap();
    // The server has no domain "elsewhere": nobody answers there.
    let js = ContextBuilder::new()
        .domain("elsewhere")
        .build(client.clone());
    assert_eq!(js.api_prefix(), "$JS.elsewhere.API");
    assert!(matches!(
        js.account_info().await.unwrap_err(),
        Error::JetStreamNotEnabled
    ));
    let js = ContextBuilder::new()
        .api_prefix("$JS.API.")
        .timeout(std::time::Duration::from_secs(2))
        .build(client);
    assert_eq!(js.api_prefix(), "$JS.API");
    assert_eq!(js.timeout(), std::time::Duration::from_secs(2));
    js.account_info().await.unwrap();
}

/// J1 shorthands: `with_domain`, `with_prefix` and `Context::new` build the same contexts as
/// the builder.
#[tokio::test]
async fn j1_with_domain_with_prefix_and_context_new() {
    let server = NatsServer::start_jetstream().await.unwrap();
    let client = fast().connect(server.url()).await.unwrap();
    let js = nats_jetstream::with_domain(client.clone(), "elsewhere");
    assert_eq!(
        (js.api_prefix(), js.domain()),
        ("$JS.elsewhere.API", Some("elsewhere"))
    );
    assert!(matches!(
        js.account_info().await.unwrap_err(),
        Error::JetStreamNotEnabled
    ));
    let js = nats_jetstream::with_prefix(client.clone(), "$JS.API");
    assert_eq!((js.api_prefix(), js.domain()), ("$JS.API", None));
    js.account_info().await.unwrap();
    let js = nats_jetstream::Context::new(client);
    assert_eq!(js.api_prefix(), nats_jetstream::DEFAULT_API_PREFIX);
    js.account_info().await.unwrap();
}
