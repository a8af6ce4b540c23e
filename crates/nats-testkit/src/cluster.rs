//! [`Cluster`]: n `nats-server` nodes routed to each other.

use std::collections::BTreeSet;
use std::time::Instant;

use crate::bin::free_ports;
use crate::config::ClusterSettings;
use crate::server::{probe_info, DEADLINE, POLL};
use crate::{NatsServer, ServerConfig, TestkitError};

/// A full mesh of `nats-server` nodes on 127.0.0.1: each has a `cluster {}` block with a free
/// route port and explicit routes to every other node.
///
/// ```no_run
/// # async fn demo() -> Result<(), nats_testkit::TestkitError> {
/// use nats_testkit::Cluster;
///
/// let mut cluster = Cluster::start(3).await?;
/// let urls = cluster.urls(); // give them all to the client
/// cluster.node_mut(0).kill();
/// cluster.node_mut(0).restart().await?;
/// cluster.wait_for_routes().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Cluster {
    nodes: Vec<NatsServer>,
}

impl Cluster {
    /// Start `n` nodes with default settings and wait until the mesh is complete.
    pub async fn start(n: usize) -> Result<Cluster, TestkitError> {
        Self::start_with(n, ServerConfig::new()).await
    }

    /// Start `n` nodes that all use `config` (its port is ignored, and each node gets the
    /// `server_name` `node-<i>`), then wait until the mesh is complete.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_testkit::TestkitError> {
    /// use nats_testkit::{Cluster, ServerConfig};
    /// let cluster = Cluster::start_with(3, ServerConfig::new().token("t")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn start_with(n: usize, config: ServerConfig) -> Result<Cluster, TestkitError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match Self::try_start(n, &config).await {
                // One of the free ports was taken before its node bound it: new ports.
                Err(TestkitError::Exited { log, .. })
                    if attempt < 3 && log.contains("address already in use") => {}
                other => return other,
            }
        }
    }

    async fn try_start(n: usize, config: &ServerConfig) -> Result<Cluster, TestkitError> {
        let ports = free_ports(2 * n)?;
        let (client_ports, route_ports) = ports.split_at(n);
        let name = format!("testkit-{}", route_ports.first().copied().unwrap_or(0));
        let mut nodes = Vec::with_capacity(n);
        // One after the other: each new node dials the running ones at once, so the mesh is
        // complete without waiting for route reconnect timers.
        for i in 0..n {
            let mut node = config
                .clone()
                .port(client_ports[i])
                .server_name(&format!("node-{i}"));
            node.cluster = Some(ClusterSettings {
                name: name.clone(),
                port: route_ports[i],
                routes: route_ports
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != i)
                    .map(|(_, &p)| p)
                    .collect(),
            });
            nodes.push(node.start().await?);
        }
        let cluster = Cluster { nodes };
        cluster.wait_for_routes().await?;
        Ok(cluster)
    }

    /// The client URLs of all nodes, `nats://127.0.0.1:PORT`.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(NatsServer::url).collect()
    }

    /// The websocket URLs of all nodes (`ws://` or `wss://`), for a config with a websocket
    /// block (each node gets its own free port); empty without one.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nats_testkit::TestkitError> {
    /// use nats_testkit::{Cluster, ServerConfig};
    /// let cluster = Cluster::start_with(2, ServerConfig::new().websocket(None)).await?;
    /// let urls = cluster.ws_urls(); // ["ws://127.0.0.1:P1", "ws://127.0.0.1:P2"]
    /// # Ok(()) }
    /// ```
    pub fn ws_urls(&self) -> Vec<String> {
        self.nodes.iter().filter_map(NatsServer::ws_url).collect()
    }

    /// Node `i`.
    ///
    /// # Panics
    ///
    /// When `i >= len()`.
    pub fn node(&self, i: usize) -> &NatsServer {
        &self.nodes[i]
    }

    /// Node `i`, to kill, stop, restart, lame-duck or reload it.
    ///
    /// # Panics
    ///
    /// When `i >= len()`.
    pub fn node_mut(&mut self, i: usize) -> &mut NatsServer {
        &mut self.nodes[i]
    }

    /// All nodes.
    pub fn nodes(&self) -> &[NatsServer] {
        &self.nodes
    }

    /// Number of nodes (running or not).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the cluster has no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Wait (up to 10 s) until every running node advertises every running node's client URL
    /// in the `connect_urls` of its INFO, i.e. the routes between them are up. Call it after
    /// restarting a node.
    ///
    /// Nodes that are not running (killed, stopped) are left out.
    pub async fn wait_for_routes(&self) -> Result<(), TestkitError> {
        let start = Instant::now();
        let running: Vec<&NatsServer> = self.nodes.iter().filter(|n| n.pid().is_some()).collect();
        let want: BTreeSet<String> = running
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port()))
            .collect();
        loop {
            let mut missing = Vec::new();
            for node in &running {
                let seen = advertised(node).await;
                let lacking: Vec<&String> = want.difference(&seen).collect();
                if !lacking.is_empty() {
                    missing.push(format!("{} lacks {lacking:?}", node.port()));
                }
            }
            if missing.is_empty() {
                return Ok(());
            }
            if start.elapsed() >= DEADLINE {
                return Err(TestkitError::timeout(
                    format!("cluster routes ({})", missing.join("; ")),
                    DEADLINE,
                ));
            }
            tokio::time::sleep(POLL * 5).await;
        }
    }
}

/// The `connect_urls` a node announces to a new client (empty when it does not answer).
async fn advertised(node: &NatsServer) -> BTreeSet<String> {
    let Some(info) = probe_info(node.addr()).await else {
        return BTreeSet::new();
    };
    info.get("connect_urls")
        .and_then(|v| v.as_array())
        .map(|urls| {
            urls.iter()
                .filter_map(|u| u.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
