//! A client connected to the testkit's scripted server, shared by the integration test binaries
//! (each includes this file with `#[path]`).

#![allow(dead_code, clippy::unwrap_used)]

use nats_client::{Client, ConnectOptions};
use nats_testkit::{ScriptedConn, ScriptedServer};

use super::wait::within;

/// Connects `opts` to the scripted server, completing the first handshake on its side.
pub(crate) async fn connect_scripted(
    scripted: &ScriptedServer,
    opts: ConnectOptions,
) -> (Client, ScriptedConn) {
    let url = scripted.url();
    let connecting = tokio::spawn(async move { opts.connect(url.as_str()).await });
    let mut conn = within("accept", scripted.accept()).await.unwrap();
    conn.handshake().await.unwrap();
    let client = within("connect", connecting).await.unwrap().unwrap();
    (client, conn)
}
