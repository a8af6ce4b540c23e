//! Dial and handshake (R22–R26): TCP connect, [TLS first,] read INFO, [TLS upgrade (R30),]
//! send CONNECT + PING together with this attempt's credentials (R27, R28), read PONG
//! (tolerating `+OK`, R24/R25), all within `connection_timeout`. Bytes after the PONG stay in
//! the read buffer for the reader (R24). A socket whose handshake failed is dropped at once (D4).

use std::io;
use std::sync::Arc;

use bytes::BytesMut;
use nats_proto::{ConnectInfo, Parser, ServerInfo, ServerOp};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::auth;
use crate::error::ConnectError;
use crate::options::ConnectOptions;
use crate::server_addr::ServerAddr;
use crate::tls;

/// Size of a connection's read buffer allocation.
pub(crate) const READ_BUFFER_SIZE: usize = 64 * 1024;

/// The read half of a connection's transport.
pub(crate) type ReadHalf = Box<dyn AsyncRead + Send + Unpin>;
/// The write half of a connection's transport.
///
/// Plain TCP is shared: the writer task writes bursts, and a publisher whose frame is alone in
/// an empty buffer while the writer is parked writes it directly ([`WriteBuffer`]), saving a
/// task hop on the latency-critical path (a lone request). A TLS stream belongs to the writer.
///
/// [`WriteBuffer`]: super::buffer::WriteBuffer
pub(crate) enum WriteHalf {
    Tcp(Arc<OwnedWriteHalf>),
    Stream(Box<dyn AsyncWrite + Send + Unpin>),
}

impl WriteHalf {
    /// Writes some of `buf`. Cancel-safe: a cancelled call wrote nothing.
    pub(crate) async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            WriteHalf::Tcp(sock) => loop {
                match sock.try_write(buf) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => sock.writable().await?,
                    result => return result,
                }
            },
            WriteHalf::Stream(w) => w.write(buf).await,
        }
    }

    pub(crate) async fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write(buf).await? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => buf = buf.get(n..).unwrap_or_default(),
            }
        }
        self.flush().await
    }

    /// Pushes out what a TLS layer holds back (TCP writes are never held back).
    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        match self {
            WriteHalf::Tcp(_) => Ok(()),
            WriteHalf::Stream(w) => w.flush().await,
        }
    }

    /// Ends the write side. TCP sends FIN when its last shared reference is dropped.
    pub(crate) async fn shutdown(&mut self) -> io::Result<()> {
        match self {
            WriteHalf::Tcp(_) => Ok(()),
            WriteHalf::Stream(w) => w.shutdown().await,
        }
    }

    /// The socket a publisher may write to directly (plain TCP only).
    pub(crate) fn direct(&self) -> Option<Arc<OwnedWriteHalf>> {
        match self {
            WriteHalf::Tcp(sock) => Some(Arc::clone(sock)),
            WriteHalf::Stream(_) => None,
        }
    }
}

/// A connection whose handshake completed.
pub(crate) struct Established {
    pub(crate) addr: ServerAddr,
    pub(crate) info: ServerInfo,
    pub(crate) read: ReadHalf,
    pub(crate) write: WriteHalf,
    /// Bytes received after the handshake PONG (R24).
    pub(crate) leftover: BytesMut,
    pub(crate) parser: Parser,
}

/// Dials `addr` and completes the handshake within `options.connection_timeout`.
pub(crate) async fn connect(
    options: &ConnectOptions,
    addr: &ServerAddr,
) -> Result<Established, ConnectError> {
    let timeout = options.connection_timeout;
    match tokio::time::timeout(timeout, handshake(options, addr)).await {
        Ok(result) => result,
        Err(_) => Err(ConnectError::TimedOut(timeout)),
    }
}

async fn handshake(
    options: &ConnectOptions,
    addr: &ServerAddr,
) -> Result<Established, ConnectError> {
    let mut tcp = TcpStream::connect(addr.socket_addr_string()).await?;
    tcp.set_nodelay(true)?;
    let mut buf = BytesMut::with_capacity(READ_BUFFER_SIZE);
    let mut parser = Parser::new();
    let wants_tls = options.require_tls || addr.is_tls() || options.tls.first;

    // R30: with tls_first the TLS handshake comes before INFO (`handshake_first` servers).
    let (info, mut read, mut write): (ServerInfo, ReadHalf, WriteHalf) = if options.tls.first {
        let mut stream = tls::upgrade(&options.tls, addr, tcp).await?;
        let info = read_info(&mut parser, &mut buf, &mut stream).await?;
        let (read, write) = split_tls(stream);
        (info, read, write)
    } else {
        let info = read_info(&mut parser, &mut buf, &mut tcp).await?;
        if wants_tls && !info.tls_required && !info.tls_available {
            return Err(ConnectError::SecureConnectionWanted);
        }
        // R30: a server that requires TLS gets it even when the client did not ask.
        if wants_tls || info.tls_required {
            let stream = tls::upgrade(&options.tls, addr, tcp).await?;
            let (read, write) = split_tls(stream);
            (info, read, write)
        } else {
            let (read, write) = tcp.into_split();
            (info, Box::new(read), WriteHalf::Tcp(Arc::new(write)))
        }
    };
    let tls = wants_tls || info.tls_required;

    let connect = connect_info(options, addr, &info, tls)?;
    let mut out = BytesMut::with_capacity(512);
    nats_proto::encode_connect(&mut out, &connect);
    nats_proto::encode_ping(&mut out);
    write.write_all(&out).await?;

    let mut info = info;
    loop {
        match next_op(&mut parser, &mut buf, &mut read).await? {
            ServerOp::Pong => break,
            ServerOp::Ok => {}
            ServerOp::Ping => {
                let mut pong = BytesMut::with_capacity(6);
                nats_proto::encode_pong(&mut pong);
                write.write_all(&pong).await?;
            }
            ServerOp::Info(newer) => info = *newer,
            ServerOp::Err(e) => return Err(ConnectError::Server(e)),
            other => {
                return Err(ConnectError::Protocol(format!(
                    "expected PONG, got {}",
                    op_name(&other)
                )))
            }
        }
    }
    Ok(Established {
        addr: addr.clone(),
        info,
        read,
        write,
        leftover: buf,
        parser,
    })
}

/// Boxed halves of a TLS stream; the write half flushes what rustls keeps back.
fn split_tls(stream: TlsStream<TcpStream>) -> (ReadHalf, WriteHalf) {
    let (read, write) = tokio::io::split(stream);
    (
        Box::new(read),
        WriteHalf::Stream(Box::new(tls::FlushingWriter::new(write))),
    )
}

/// Reads the server's first op, which must be INFO (R23).
async fn read_info<R: AsyncRead + Unpin>(
    parser: &mut Parser,
    buf: &mut BytesMut,
    read: &mut R,
) -> Result<ServerInfo, ConnectError> {
    match next_op(parser, buf, read).await? {
        ServerOp::Info(info) => Ok(*info),
        other => Err(ConnectError::Protocol(format!(
            "expected INFO, got {}",
            op_name(&other)
        ))),
    }
}

/// Reads until the parser yields one op.
async fn next_op<R: AsyncRead + Unpin>(
    parser: &mut Parser,
    buf: &mut BytesMut,
    read: &mut R,
) -> Result<ServerOp, ConnectError> {
    loop {
        match parser.parse(buf) {
            Ok(Some(op)) => return Ok(op),
            Ok(None) => {}
            Err(e) => return Err(ConnectError::Protocol(e.to_string())),
        }
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(READ_BUFFER_SIZE);
        }
        if read.read_buf(buf).await? == 0 {
            return Err(ConnectError::Io(std::sync::Arc::new(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "server closed the connection during the handshake",
            ))));
        }
    }
}

fn op_name(op: &ServerOp) -> &'static str {
    match op {
        ServerOp::Info(_) => "INFO",
        ServerOp::Msg(_) => "MSG",
        ServerOp::Ping => "PING",
        ServerOp::Pong => "PONG",
        ServerOp::Ok => "+OK",
        ServerOp::Err(_) => "-ERR",
        _ => "an unknown operation",
    }
}

/// The CONNECT for `addr`, credentials evaluated for this attempt (R27): credentials in the
/// URL win over the options' (R28); a URL user without a password is a token.
pub(crate) fn connect_info(
    options: &ConnectOptions,
    addr: &ServerAddr,
    info: &ServerInfo,
    tls: bool,
) -> Result<ConnectInfo, ConnectError> {
    let mut connect = ConnectInfo {
        verbose: options.verbose,
        pedantic: options.pedantic,
        tls_required: tls,
        name: options.name.clone(),
        lang: "rust".to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        protocol: 1,
        echo: options.echo,
        headers: info.headers,
        no_responders: info.headers,
        ..ConnectInfo::default()
    };
    auth::fill(options, addr, info.nonce.as_deref(), &mut connect)?;
    Ok(connect)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn r28_url_credentials_win_and_lone_user_is_a_token() {
        let opts = ConnectOptions::new().user_and_password("optuser", "optpass");
        let info = ServerInfo {
            headers: true,
            ..ServerInfo::default()
        };
        let url = ServerAddr::parse("nats://u:p@h:1").unwrap();
        let c = connect_info(&opts, &url, &info, false).unwrap();
        assert_eq!(
            (c.user.as_deref(), c.pass.as_deref()),
            (Some("u"), Some("p"))
        );
        let tok = ServerAddr::parse("nats://tkn@h:1").unwrap();
        let c = connect_info(&opts, &tok, &info, false).unwrap();
        assert_eq!(c.auth_token.as_deref(), Some("tkn"));
        assert_eq!(c.user, None);
        let plain = ServerAddr::parse("h:1").unwrap();
        let c = connect_info(&opts, &plain, &info, false).unwrap();
        assert_eq!(c.user.as_deref(), Some("optuser"));
        assert!(c.headers && c.no_responders && c.echo && !c.verbose && !c.pedantic);
        assert_eq!(c.protocol, 1);
    }
}
