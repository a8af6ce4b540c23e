//! FaultProxy: pass, black hole, reset, delay, drop.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use nats_testkit::{Fault, FaultProxy, NatsServer};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::raw::{plain_connect, Raw};

/// An upstream that greets with `HELLO` and echoes every line back.
async fn echo_upstream() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                if stream.get_mut().write_all(b"HELLO\r\n").await.is_err() {
                    return;
                }
                let mut line = String::new();
                while let Ok(n) = stream.read_line(&mut line).await {
                    if n == 0 || stream.get_mut().write_all(line.as_bytes()).await.is_err() {
                        return;
                    }
                    line.clear();
                }
            });
        }
    });
    addr
}

async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn pass_forwards_both_ways_and_counts() {
    let proxy = FaultProxy::start(echo_upstream().await).await.unwrap();
    assert_eq!(proxy.fault(), Fault::Pass);
    assert_eq!(proxy.url(), format!("nats://127.0.0.1:{}", proxy.port()));
    let mut client = Raw::connect(proxy.addr()).await;
    assert_eq!(client.line().await, "HELLO");
    client.send(b"one\r\n").await;
    assert_eq!(client.line().await, "one");
    assert_eq!(proxy.accepted(), 1);
    assert_eq!(proxy.connections(), 1);

    // A clean close from the client is forwarded, and the connection goes away.
    client.stream.get_mut().shutdown().await.unwrap();
    assert_eq!(client.closed(Duration::from_secs(5)).await, None);
    wait_until("connection count 0", || proxy.connections() == 0).await;
    assert_eq!(proxy.accepted(), 1);
}

#[tokio::test]
async fn black_hole_silences_without_closing_and_pass_resumes() {
    let proxy = FaultProxy::start(echo_upstream().await).await.unwrap();
    let mut client = Raw::connect(proxy.addr()).await;
    assert_eq!(client.line().await, "HELLO");

    proxy.set_fault(Fault::BlackHole);
    assert_eq!(proxy.fault(), Fault::BlackHole);
    client.send(b"lost?\r\n").await;
    // Nothing comes back, and the connection is not closed either (a timeout, not EOF).
    assert_eq!(client.try_line(Duration::from_millis(300)).await, Err(()));

    // New connections are accepted but silent (not even the greeting).
    let mut late = Raw::connect(proxy.addr()).await;
    assert_eq!(late.try_line(Duration::from_millis(300)).await, Err(()));
    wait_until("2 accepted", || proxy.accepted() == 2).await;
    assert_eq!(proxy.connections(), 2);

    // Back to pass: what was held is delivered, nothing lost.
    proxy.set_fault(Fault::Pass);
    assert_eq!(client.line().await, "lost?");
    assert_eq!(late.line().await, "HELLO");
}

#[tokio::test]
async fn reset_closes_current_and_new_connections_with_rst() {
    let proxy = FaultProxy::start(echo_upstream().await).await.unwrap();
    let mut client = Raw::connect(proxy.addr()).await;
    assert_eq!(client.line().await, "HELLO");

    proxy.set_fault(Fault::Reset);
    assert_eq!(
        client.closed(Duration::from_secs(5)).await,
        Some(ErrorKind::ConnectionReset)
    );
    let mut late = Raw::connect(proxy.addr()).await;
    assert_eq!(
        late.closed(Duration::from_secs(5)).await,
        Some(ErrorKind::ConnectionReset)
    );
    wait_until("connection count 0", || proxy.connections() == 0).await;

    // Reset also works on a black-holed connection.
    proxy.set_fault(Fault::Pass);
    let mut held = Raw::connect(proxy.addr()).await;
    assert_eq!(held.line().await, "HELLO");
    proxy.set_fault(Fault::BlackHole);
    held.send(b"x\r\n").await;
    proxy.set_fault(Fault::Reset);
    assert_eq!(
        held.closed(Duration::from_secs(5)).await,
        Some(ErrorKind::ConnectionReset)
    );
}

#[tokio::test]
async fn delay_slows_each_chunk() {
    let proxy = FaultProxy::start(echo_upstream().await).await.unwrap();
    let mut client = Raw::connect(proxy.addr()).await;
    assert_eq!(client.line().await, "HELLO");
    proxy.set_fault(Fault::Delay(Duration::from_millis(150)));
    let started = Instant::now();
    client.send(b"slow\r\n").await;
    assert_eq!(client.line().await, "slow");
    // Delayed on the way up and again on the way down.
    assert!(
        started.elapsed() >= Duration::from_millis(290),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn drop_closes_everything() {
    let proxy = FaultProxy::start(echo_upstream().await).await.unwrap();
    let addr = proxy.addr();
    let mut client = Raw::connect(addr).await;
    assert_eq!(client.line().await, "HELLO");
    drop(proxy);
    assert!(client.closed(Duration::from_secs(5)).await.is_none());
    // Nobody listens any more (retry: the abort lands on the runtime's next turn).
    let deadline = Instant::now() + Duration::from_secs(5);
    while tokio::net::TcpStream::connect(addr).await.is_ok() {
        assert!(Instant::now() < deadline, "proxy still accepting");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn nats_through_the_proxy_and_a_black_hole() {
    let server = NatsServer::start().await.unwrap();
    let proxy = FaultProxy::start(server.addr()).await.unwrap();
    let mut client = Raw::connect(proxy.addr()).await;
    let (info, answer) = client.handshake(plain_connect()).await;
    assert_eq!(answer, "PONG");
    assert_eq!(info["port"], server.port());

    proxy.set_fault(Fault::BlackHole);
    client.send(b"PING\r\n").await;
    assert_eq!(client.try_line(Duration::from_millis(300)).await, Err(()));
    proxy.set_fault(Fault::Pass);
    assert_eq!(client.line().await, "PONG");
}
