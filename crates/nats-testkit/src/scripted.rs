//! [`ScriptedServer`]: a fake NATS server that a test drives like a transcript.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use bytes::BytesMut;
use nats_proto::{ClientOp, ClientOpParser, ServerInfo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::TestkitError;

/// How long `accept`, `expect_*` wait for the client.
const STEP_DEADLINE: Duration = Duration::from_secs(10);

/// A fake server for misbehaviour a real one never shows: garbage bytes, a missing PONG, half an
/// INFO, an `-ERR` at a chosen moment. The test accepts each client connection as a
/// [`ScriptedConn`] and plays the server's side step by step, typically joined with the client
/// side in one `tokio::join!`.
///
/// ```no_run
/// # async fn demo() -> Result<(), nats_testkit::TestkitError> {
/// use nats_proto::ClientOp;
/// use nats_testkit::ScriptedServer;
///
/// let server = ScriptedServer::start().await?;
/// let url = server.url(); // connect the client under test here, concurrently:
/// let mut conn = server.accept().await?;
/// let connect = conn.handshake().await?; // INFO, CONNECT + PING, PONG
/// assert_eq!(connect["verbose"], false);
/// match conn.expect_op().await? {
///     ClientOp::Sub { subject, sid, .. } => conn.send_msg(&subject, sid, None, b"hi").await?,
///     other => panic!("unexpected {other:?}"),
/// }
/// conn.send_raw(b"GARBAGE\r\n").await?;
/// conn.expect_closed().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ScriptedServer {
    listener: TcpListener,
    addr: SocketAddr,
}

impl ScriptedServer {
    /// Listen on a free 127.0.0.1 port.
    pub async fn start() -> Result<ScriptedServer, TestkitError> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        Ok(ScriptedServer { listener, addr })
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.addr.port())
    }

    /// The listening port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The next client connection; [`TestkitError::Timeout`] after 10 s.
    pub async fn accept(&self) -> Result<ScriptedConn, TestkitError> {
        let (stream, _) = tokio::time::timeout(STEP_DEADLINE, self.listener.accept())
            .await
            .map_err(|_| TestkitError::timeout("a client connection", STEP_DEADLINE))??;
        let _ = stream.set_nodelay(true);
        Ok(ScriptedConn {
            stream,
            port: self.addr.port(),
            buf: BytesMut::with_capacity(4096),
            parser: ClientOpParser::new(),
        })
    }
}

/// One accepted client connection of a [`ScriptedServer`]: the server's side of the transcript.
///
/// Nothing is sent unless a method sends it; in particular a client PING gets no PONG unless the
/// test sends one.
#[derive(Debug)]
pub struct ScriptedConn {
    stream: TcpStream,
    port: u16,
    buf: BytesMut,
    parser: ClientOpParser,
}

impl ScriptedConn {
    /// Send `INFO {json}\r\n`.
    pub async fn send_info(&mut self, info: &ServerInfo) -> Result<(), TestkitError> {
        let mut out = BytesMut::new();
        nats_proto::encode_info(&mut out, info);
        self.send_raw(&out).await
    }

    /// Send these bytes as they are (garbage, half an op, several ops at once).
    pub async fn send_raw(&mut self, bytes: &[u8]) -> Result<(), TestkitError> {
        self.stream.write_all(bytes).await?;
        self.stream.flush().await?;
        Ok(())
    }

    /// The next op the client sends; [`TestkitError::Timeout`] after 10 s,
    /// [`TestkitError::Closed`] when the client closed, [`TestkitError::Proto`] on bytes that
    /// are not a client op.
    pub async fn expect_op(&mut self) -> Result<ClientOp, TestkitError> {
        tokio::time::timeout(STEP_DEADLINE, self.next_op())
            .await
            .map_err(|_| TestkitError::timeout("a client op", STEP_DEADLINE))?
    }

    async fn next_op(&mut self) -> Result<ClientOp, TestkitError> {
        loop {
            if let Some(op) = self.parser.parse(&mut self.buf)? {
                return Ok(op);
            }
            if self.stream.read_buf(&mut self.buf).await? == 0 {
                return Err(TestkitError::Closed);
            }
        }
    }

    /// Read `CONNECT` and the `PING` that follows it; return the CONNECT JSON. Answers nothing.
    pub async fn expect_connect(&mut self) -> Result<serde_json::Value, TestkitError> {
        let connect = match self.expect_op().await? {
            ClientOp::Connect(json) => json,
            other => {
                return Err(TestkitError::Unexpected(format!(
                    "{other:?} instead of CONNECT"
                )))
            }
        };
        self.expect_ping().await?;
        Ok(connect)
    }

    /// The next op must be `PING` (not answered).
    pub async fn expect_ping(&mut self) -> Result<(), TestkitError> {
        match self.expect_op().await? {
            ClientOp::Ping => Ok(()),
            other => Err(TestkitError::Unexpected(format!(
                "{other:?} instead of PING"
            ))),
        }
    }

    /// The next op must be `PONG`.
    pub async fn expect_pong(&mut self) -> Result<(), TestkitError> {
        match self.expect_op().await? {
            ClientOp::Pong => Ok(()),
            other => Err(TestkitError::Unexpected(format!(
                "{other:?} instead of PONG"
            ))),
        }
    }

    /// The whole handshake: send [`default_info`], [`expect_connect`](Self::expect_connect),
    /// send `PONG`. Returns the CONNECT JSON.
    pub async fn handshake(&mut self) -> Result<serde_json::Value, TestkitError> {
        self.send_info(&default_info(self.port)).await?;
        let connect = self.expect_connect().await?;
        self.send_pong().await?;
        Ok(connect)
    }

    /// Send `PONG\r\n`.
    pub async fn send_pong(&mut self) -> Result<(), TestkitError> {
        self.send_raw(b"PONG\r\n").await
    }

    /// Send `PING\r\n`.
    pub async fn send_ping(&mut self) -> Result<(), TestkitError> {
        self.send_raw(b"PING\r\n").await
    }

    /// Send `+OK\r\n`.
    pub async fn send_ok(&mut self) -> Result<(), TestkitError> {
        self.send_raw(b"+OK\r\n").await
    }

    /// Send `MSG subject sid [reply] len\r\npayload\r\n`.
    pub async fn send_msg(
        &mut self,
        subject: &str,
        sid: u64,
        reply: Option<&str>,
        payload: &[u8],
    ) -> Result<(), TestkitError> {
        let mut out = BytesMut::new();
        nats_proto::encode_msg(&mut out, subject, sid, reply, payload);
        self.send_raw(&out).await
    }

    /// Send `-ERR 'text'\r\n`.
    pub async fn send_err(&mut self, text: &str) -> Result<(), TestkitError> {
        let mut out = BytesMut::new();
        nats_proto::encode_err(&mut out, text);
        self.send_raw(&out).await
    }

    /// Play dead for `d`: read and discard whatever the client sends, answer nothing.
    /// Returns early (without error) when the client closes.
    pub async fn hang(&mut self, d: Duration) {
        let discard = async {
            let mut scratch = [0u8; 4096];
            loop {
                match self.stream.read(&mut scratch).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        };
        let _ = tokio::time::timeout(d, discard).await;
        self.buf.clear();
        self.parser = ClientOpParser::new();
    }

    /// Close cleanly (FIN).
    pub async fn close(mut self) {
        let _ = self.stream.shutdown().await;
    }

    /// Close with RST (SO_LINGER 0).
    pub fn reset(self) {
        crate::proxy::reset(self.stream);
    }

    /// Wait (up to 10 s) until the client closes its side; what it sends meanwhile is discarded.
    /// A reset counts as closed.
    pub async fn expect_closed(&mut self) -> Result<(), TestkitError> {
        let wait = async {
            let mut scratch = [0u8; 4096];
            loop {
                match self.stream.read(&mut scratch).await {
                    Ok(0) => return,
                    Err(_) => return,
                    Ok(_) => {}
                }
            }
        };
        tokio::time::timeout(STEP_DEADLINE, wait)
            .await
            .map_err(|_| TestkitError::timeout("the client to close", STEP_DEADLINE))
    }

    /// The underlying socket, for anything the script methods do not cover.
    pub fn stream(&mut self) -> &mut TcpStream {
        &mut self.stream
    }
}

/// A plausible INFO for a fake server on `port`: `server_id` "SCRIPTED", version "2.9.10",
/// headers, max_payload 1 MiB, proto 1, host 127.0.0.1.
// Field by field: a struct literal would break if ServerInfo becomes #[non_exhaustive].
#[allow(clippy::field_reassign_with_default)]
pub fn default_info(port: u16) -> ServerInfo {
    let mut info = ServerInfo::default();
    info.server_id = "NSCRIPTEDSERVER".to_owned();
    info.server_name = "scripted".to_owned();
    info.version = "2.9.10".to_owned();
    info.go = "go1.19".to_owned();
    info.host = "127.0.0.1".to_owned();
    info.port = port;
    info.headers = true;
    info.max_payload = 1024 * 1024;
    info.proto = 1;
    info
}
