//! Dial and handshake (R22–R26): TCP connect, read INFO, send CONNECT + PING together, read
//! PONG (tolerating `+OK`, R24/R25), all within `connection_timeout`. Bytes after the PONG stay in
//! the read buffer for the reader (R24). A socket whose handshake failed is dropped at once (D4).

use std::io;

use bytes::BytesMut;
use nats_proto::{ConnectInfo, Parser, ServerInfo, ServerOp};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::ConnectError;
use crate::options::ConnectOptions;
use crate::server_addr::ServerAddr;

/// Size of a connection's read buffer allocation.
pub(crate) const READ_BUFFER_SIZE: usize = 64 * 1024;

/// The read half of a connection's transport.
pub(crate) type ReadHalf = Box<dyn AsyncRead + Send + Unpin>;
/// The write half of a connection's transport.
pub(crate) type WriteHalf = Box<dyn AsyncWrite + Send + Unpin>;

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

async fn handshake(options: &ConnectOptions, addr: &ServerAddr) -> Result<Established, ConnectError> {
    let tcp = TcpStream::connect(addr.socket_addr_string()).await?;
    tcp.set_nodelay(true)?;
    let (mut read, mut write) = tcp.into_split();
    let mut buf = BytesMut::with_capacity(READ_BUFFER_SIZE);
    let mut parser = Parser::new();

    let info = match next_op(&mut parser, &mut buf, &mut read).await? {
        ServerOp::Info(info) => *info,
        other => {
            return Err(ConnectError::Protocol(format!(
                "expected INFO, got {}",
                op_name(&other)
            )))
        }
    };
    let tls = options.require_tls || addr.is_tls();
    if tls || info.tls_required {
        return Err(ConnectError::Tls(
            "TLS was requested but this build of nats-client speaks plain TCP only".into(),
        ));
    }

    let connect = connect_info(options, addr, &info, tls);
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
        read: Box::new(read),
        write: Box::new(write),
        leftover: buf,
        parser,
    })
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

/// The CONNECT for `addr`: credentials in the URL win over the options' (R28); a URL user
/// without a password is a token.
pub(crate) fn connect_info(
    options: &ConnectOptions,
    addr: &ServerAddr,
    info: &ServerInfo,
    tls: bool,
) -> ConnectInfo {
    let (user, pass, token) = match (addr.username(), addr.password()) {
        (Some(user), Some(pass)) => (Some(user.to_string()), Some(pass.to_string()), None),
        (Some(token), None) => (None, None, Some(token.to_string())),
        _ => (
            options.user.clone(),
            options.pass.clone(),
            options.token.clone(),
        ),
    };
    ConnectInfo {
        verbose: options.verbose,
        pedantic: options.pedantic,
        tls_required: tls,
        user,
        pass,
        auth_token: token,
        name: options.name.clone(),
        lang: "rust".to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        protocol: 1,
        echo: options.echo,
        headers: info.headers,
        no_responders: info.headers,
        ..ConnectInfo::default()
    }
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
        let c = connect_info(&opts, &url, &info, false);
        assert_eq!((c.user.as_deref(), c.pass.as_deref()), (Some("u"), Some("p")));
        let tok = ServerAddr::parse("nats://tkn@h:1").unwrap();
        let c = connect_info(&opts, &tok, &info, false);
        assert_eq!(c.auth_token.as_deref(), Some("tkn"));
        assert_eq!(c.user, None);
        let plain = ServerAddr::parse("h:1").unwrap();
        let c = connect_info(&opts, &plain, &info, false);
        assert_eq!(c.user.as_deref(), Some("optuser"));
        assert!(c.headers && c.no_responders && c.echo && !c.verbose && !c.pedantic);
        assert_eq!(c.protocol, 1);
    }
}
