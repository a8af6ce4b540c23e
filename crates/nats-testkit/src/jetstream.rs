//! JetStream support: a minimal JetStream API request over a raw connection (the kit has no
//! client dependency), readiness of a server or cluster, and the stream leader of a cluster.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use nats_proto::{ConnectInfo, Parser, ServerOp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::server::POLL;
use crate::{Cluster, NatsServer, ServerConfig, TestkitError};

/// How long one JetStream API request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a JetStream server or cluster may take to become ready (a meta-leader election on
/// 2.9.10 takes several seconds).
const READY_DEADLINE: Duration = Duration::from_secs(30);
/// How long a stream may go without a leader before [`Cluster::wait_for_stream_leader`] gives up.
const LEADER_DEADLINE: Duration = Duration::from_secs(30);
/// How long a restarted node may take to catch up with a stream.
const CATCH_UP_DEADLINE: Duration = Duration::from_secs(120);
/// The reply subject of the kit's requests (one request per connection, so it need not be
/// unique).
const REPLY: &str = "_TESTKIT.reply";

/// Sends one request to `subject` on the server at `addr` over a fresh connection and returns
/// the reply's payload parsed as JSON.
///
/// Errors: [`TestkitError::Timeout`] when nothing answers within 2 s,
/// [`TestkitError::Unexpected`] for a no-responders status or a payload that is not JSON,
/// [`TestkitError::Io`] when the server cannot be reached.
///
/// ```no_run
/// # async fn demo() -> Result<(), nats_testkit::TestkitError> {
/// let server = nats_testkit::NatsServer::start_jetstream().await?;
/// let info = nats_testkit::jetstream_request(server.addr(), "$JS.API.INFO", b"").await?;
/// assert!(info.get("error").is_none());
/// # Ok(()) }
/// ```
pub async fn jetstream_request(
    addr: SocketAddr,
    subject: &str,
    body: &[u8],
) -> Result<serde_json::Value, TestkitError> {
    tokio::time::timeout(REQUEST_TIMEOUT, request(addr, subject, body))
        .await
        .map_err(|_| TestkitError::timeout(format!("a reply to {subject}"), REQUEST_TIMEOUT))?
}

async fn request(
    addr: SocketAddr,
    subject: &str,
    body: &[u8],
) -> Result<serde_json::Value, TestkitError> {
    let mut stream = TcpStream::connect(addr).await?;
    let mut parser = Parser::new();
    let mut buf = BytesMut::with_capacity(4096);
    let connect = ConnectInfo {
        headers: true,
        no_responders: true,
        protocol: 1,
        name: Some("nats-testkit".into()),
        ..ConnectInfo::default()
    };
    let mut out = BytesMut::new();
    nats_proto::encode_connect(&mut out, &connect);
    nats_proto::encode_sub(&mut out, REPLY, None, 1);
    nats_proto::encode_pub(&mut out, subject, Some(REPLY), body);
    stream.write_all(&out).await?;
    loop {
        while let Some(op) = parser.parse(&mut buf)? {
            match op {
                ServerOp::Msg(msg) => {
                    if msg.headers.as_ref().and_then(|h| h.status())
                        == Some(nats_proto::StatusCode::NO_RESPONDERS)
                    {
                        return Err(TestkitError::Unexpected(format!(
                            "no responders for {subject}"
                        )));
                    }
                    return serde_json::from_slice(&msg.payload).map_err(|e| {
                        TestkitError::Unexpected(format!("reply to {subject} is not JSON: {e}"))
                    });
                }
                ServerOp::Ping => {
                    let mut pong = BytesMut::new();
                    nats_proto::encode_pong(&mut pong);
                    stream.write_all(&pong).await?;
                }
                ServerOp::Err(e) => {
                    return Err(TestkitError::Unexpected(format!("server error: {e}")));
                }
                _ => {}
            }
        }
        if stream.read_buf(&mut buf).await? == 0 {
            return Err(TestkitError::Closed);
        }
    }
}

/// Whether a JetStream API reply is a success (no `error` member).
fn api_ok(reply: &serde_json::Value) -> bool {
    reply.get("error").is_none()
}

impl NatsServer {
    /// Waits (up to 30 s) until the server's JetStream API answers `$JS.API.INFO` without an
    /// error; in a cluster that means a meta leader is elected and known to this node.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_testkit::TestkitError> {
    /// let mut server = nats_testkit::NatsServer::start_jetstream().await?;
    /// server.restart().await?;
    /// server.wait_for_jetstream().await?;
    /// # Ok(()) }
    /// ```
    pub async fn wait_for_jetstream(&self) -> Result<(), TestkitError> {
        let start = Instant::now();
        loop {
            let last = match jetstream_request(self.addr(), "$JS.API.INFO", b"").await {
                Ok(reply) if api_ok(&reply) => return Ok(()),
                Ok(reply) => reply.to_string(),
                Err(e) => e.to_string(),
            };
            if start.elapsed() >= READY_DEADLINE {
                return Err(TestkitError::timeout(
                    format!("JetStream on {} (last answer: {last})", self.url()),
                    READY_DEADLINE,
                ));
            }
            tokio::time::sleep(POLL * 10).await;
        }
    }

    /// The server's `server_name` (set by [`ServerConfig::server_name`]; clusters name their
    /// nodes `node-<i>`).
    pub fn server_name(&self) -> Option<&str> {
        self.config().get_server_name()
    }
}

impl Cluster {
    /// Starts `n` routed JetStream nodes (`server_name` `node-<i>`, a store dir each in its
    /// temp dir) and waits until every node's JetStream API answers (the meta leader is
    /// elected).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_testkit::TestkitError> {
    /// let cluster = nats_testkit::Cluster::start_jetstream(3).await?;
    /// println!("{:?}", cluster.urls());
    /// # Ok(()) }
    /// ```
    pub async fn start_jetstream(n: usize) -> Result<Cluster, TestkitError> {
        let cluster = Cluster::start_with(n, ServerConfig::new().jetstream()).await?;
        cluster.wait_for_jetstream().await?;
        Ok(cluster)
    }

    /// Waits until the JetStream API of every running node answers (see
    /// [`NatsServer::wait_for_jetstream`]). Call it after restarting a node.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_testkit::TestkitError> {
    /// let mut cluster = nats_testkit::Cluster::start_jetstream(3).await?;
    /// cluster.node_mut(0).restart().await?;
    /// cluster.wait_for_jetstream().await?;
    /// # Ok(()) }
    /// ```
    pub async fn wait_for_jetstream(&self) -> Result<(), TestkitError> {
        let running: Vec<&NatsServer> = self.nodes().iter().filter(|n| n.pid().is_some()).collect();
        for node in &running {
            node.wait_for_jetstream().await?;
        }
        if running.len() > 1 {
            self.wait_for_placement(&running).await?;
        }
        Ok(())
    }

    /// Waits until a stream with one replica per running node can be placed: the meta leader
    /// knows every peer (right after an election it may not yet, and creating an R3 stream then
    /// fails with "no suitable peers for placement"). A probe stream is created and deleted.
    async fn wait_for_placement(&self, running: &[&NatsServer]) -> Result<(), TestkitError> {
        const PROBE: &str = "TESTKIT_PLACEMENT_PROBE";
        let config = serde_json::json!({
            "name": PROBE,
            "subjects": ["_testkit.placement.probe"],
            "storage": "memory",
            "num_replicas": running.len(),
        })
        .to_string();
        let start = Instant::now();
        let mut node = 0usize;
        loop {
            let addr = running[node % running.len()].addr();
            node += 1;
            let created = jetstream_request(
                addr,
                &format!("$JS.API.STREAM.CREATE.{PROBE}"),
                config.as_bytes(),
            )
            .await;
            let last = match created {
                Ok(reply) if api_ok(&reply) => {
                    let _ = jetstream_request(addr, &format!("$JS.API.STREAM.DELETE.{PROBE}"), b"")
                        .await;
                    return Ok(());
                }
                Ok(reply) => reply.to_string(),
                Err(e) => e.to_string(),
            };
            if start.elapsed() >= READY_DEADLINE {
                return Err(TestkitError::timeout(
                    format!(
                        "JetStream placement on {} nodes (last answer: {last})",
                        running.len()
                    ),
                    READY_DEADLINE,
                ));
            }
            tokio::time::sleep(POLL * 10).await;
        }
    }

    /// The index of the node leading stream `name`, from `$JS.API.STREAM.INFO.<name>`'s
    /// `cluster.leader` as the running nodes report it (each is asked until one names a running
    /// leader). `Ok(None)` while the stream has no running leader (an election is running).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_testkit::TestkitError> {
    /// let cluster = nats_testkit::Cluster::start_jetstream(3).await?;
    /// // ... create an R3 stream "ORDERS" ...
    /// if let Some(i) = cluster.stream_leader("ORDERS").await? {
    ///     println!("ORDERS is led by node {i}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn stream_leader(&self, name: &str) -> Result<Option<usize>, TestkitError> {
        Ok(self.led_stream_info(name).await?.map(|(leader, _)| leader))
    }

    /// `$JS.API.STREAM.INFO.<name>` as answered with a running leader, and that leader's index
    /// (see [`stream_leader`](Cluster::stream_leader)).
    async fn led_stream_info(
        &self,
        name: &str,
    ) -> Result<Option<(usize, serde_json::Value)>, TestkitError> {
        let subject = format!("$JS.API.STREAM.INFO.{name}");
        let mut last = None;
        let mut answered = false;
        // A node that has just restarted may still be catching up and name no leader while
        // the others do, so every running node is asked until one names a running leader.
        for node in self.nodes().iter().filter(|n| n.pid().is_some()) {
            match jetstream_request(node.addr(), &subject, b"").await {
                Ok(reply) if api_ok(&reply) => {
                    answered = true;
                    let leader = reply
                        .pointer("/cluster/leader")
                        .and_then(|l| l.as_str())
                        .unwrap_or_default();
                    if let Some(i) = self.running_index_of(leader) {
                        return Ok(Some((i, reply)));
                    }
                }
                Ok(reply) => last = Some(TestkitError::Unexpected(reply.to_string())),
                Err(e) => last = Some(e),
            }
        }
        if answered {
            return Ok(None);
        }
        Err(last.unwrap_or(TestkitError::NotRunning))
    }

    /// Waits (up to 30 s) until stream `name` has a leader among the running nodes and
    /// returns its index.
    ///
    /// ```no_run
    /// # async fn demo(cluster: nats_testkit::Cluster) -> Result<(), nats_testkit::TestkitError> {
    /// let leader = cluster.wait_for_stream_leader("ORDERS").await?;
    /// # Ok(()) }
    /// ```
    pub async fn wait_for_stream_leader(&self, name: &str) -> Result<usize, TestkitError> {
        let start = Instant::now();
        loop {
            let last = match self.stream_leader(name).await {
                Ok(Some(i)) if self.node(i).pid().is_some() => return Ok(i),
                Ok(_) => "no leader yet".to_owned(),
                Err(e) => e.to_string(),
            };
            if start.elapsed() >= LEADER_DEADLINE {
                return Err(TestkitError::timeout(
                    format!("a leader of stream {name} ({last})"),
                    LEADER_DEADLINE,
                ));
            }
            tokio::time::sleep(POLL * 10).await;
        }
    }

    /// Waits (up to 2 min) until every running node holds an up-to-date copy of stream `name`:
    /// a running leader whose `cluster.replicas` list every other running node as `current`
    /// with no lag. A node restarted after a kill catches up in the background; until then
    /// killing another node leaves a majority only with the lagging copy.
    ///
    /// ```no_run
    /// # async fn demo(mut cluster: nats_testkit::Cluster) -> Result<(), nats_testkit::TestkitError> {
    /// let killed = cluster.kill_leader("ORDERS").await?;
    /// cluster.node_mut(killed).restart().await?;
    /// cluster.wait_for_stream_current("ORDERS").await?;
    /// # Ok(()) }
    /// ```
    pub async fn wait_for_stream_current(&self, name: &str) -> Result<(), TestkitError> {
        let start = Instant::now();
        loop {
            let last = match self.led_stream_info(name).await? {
                Some((_, info)) => {
                    let others = self.nodes().iter().filter(|n| n.pid().is_some()).count() - 1;
                    let current = self.current_replicas(&info);
                    if current >= others {
                        return Ok(());
                    }
                    format!("{current} of {others} replicas current")
                }
                None => "no running leader".to_owned(),
            };
            if start.elapsed() >= CATCH_UP_DEADLINE {
                return Err(TestkitError::timeout(
                    format!("every copy of stream {name} up to date ({last})"),
                    CATCH_UP_DEADLINE,
                ));
            }
            tokio::time::sleep(POLL * 10).await;
        }
    }

    /// How many of the replicas a stream info lists are running nodes, current and not lagging.
    fn current_replicas(&self, info: &serde_json::Value) -> usize {
        let replicas = info.pointer("/cluster/replicas").and_then(|r| r.as_array());
        replicas.map_or(0, |replicas| {
            replicas
                .iter()
                .filter(|r| {
                    let name = r.get("name").and_then(|n| n.as_str()).unwrap_or_default();
                    self.running_index_of(name).is_some()
                        && r.get("current").and_then(|c| c.as_bool()) == Some(true)
                        && r.get("lag").and_then(|l| l.as_u64()).unwrap_or(0) == 0
                })
                .count()
        })
    }

    /// SIGKILLs the node leading stream `name` (waiting for a leader first) and returns its
    /// index; [`NatsServer::restart`] on that node brings it back with its store.
    ///
    /// ```no_run
    /// # async fn demo(mut cluster: nats_testkit::Cluster) -> Result<(), nats_testkit::TestkitError> {
    /// let killed = cluster.kill_leader("ORDERS").await?;
    /// cluster.node_mut(killed).restart().await?;
    /// # Ok(()) }
    /// ```
    pub async fn kill_leader(&mut self, name: &str) -> Result<usize, TestkitError> {
        let leader = self.wait_for_stream_leader(name).await?;
        self.node_mut(leader).kill();
        Ok(leader)
    }

    /// The index of the running node named `server_name`.
    fn running_index_of(&self, server_name: &str) -> Option<usize> {
        if server_name.is_empty() {
            return None;
        }
        self.nodes()
            .iter()
            .position(|n| n.server_name() == Some(server_name) && n.pid().is_some())
    }
}
