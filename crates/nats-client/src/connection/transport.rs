//! [`Transport`]: one connection's socket, plain TCP, TLS or a WebSocket (over TCP or TLS),
//! polled by the driver alone.
//!
//! Plain TCP is split: the write half is shared with the write queue, so a publisher whose
//! frame is alone while the driver is idle can write it directly (a lone request then goes out
//! without a task hop). A TLS stream and a WebSocket ([`websocket`]) belong
//! to the driver.
//!
//! Writes count as sent what the transport accepted — for TLS, what rustls took into its
//! buffer. A flush is a separate step, so a transport dropped in the middle of one never makes
//! the caller believe accepted bytes were not sent (the TLS duplicate-delivery defect of the
//! first core: frames rustls had taken were re-sent after a forced reconnect).

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWrite};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::websocket::{self, WsStream};
use crate::error::ConnectError;
use crate::options::ConnectOptions;
use crate::outbound::batch::{Batch, MAX_IO_SLICES};
use crate::server_addr::ServerAddr;
use crate::tls;

/// An open connection to a server.
pub(crate) enum Transport {
    Plain {
        read: OwnedReadHalf,
        write: Arc<OwnedWriteHalf>,
    },
    Tls(Box<TlsStream<TcpStream>>),
    /// `ws://` or `wss://`: the NATS protocol inside binary WebSocket frames.
    WebSocket(Box<WsStream>),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Transport::Plain { .. } => "Transport::Plain",
            Transport::Tls(_) => "Transport::Tls",
            Transport::WebSocket(ws) if ws.is_tls() => "Transport::WebSocket(wss)",
            Transport::WebSocket(_) => "Transport::WebSocket(ws)",
        })
    }
}

/// Opens a TCP connection to `addr` (and with `tls_first` the TLS session, R30). A WebSocket
/// server gets its TLS session first when `wss://` (the scheme decides, not `tls_first`), then
/// the HTTP upgrade.
pub(crate) async fn dial(
    options: Arc<ConnectOptions>,
    addr: ServerAddr,
    tls_first: bool,
) -> Result<Transport, ConnectError> {
    let tcp = super::dial::connect(&options, &addr.socket_addr_string()).await?;
    tcp.set_nodelay(true)?;
    if addr.is_websocket() {
        let ws = if addr.is_tls() {
            let tls = tls::upgrade(&options.tls, &addr, tcp).await?;
            WsStream::Tls(websocket::upgrade(&addr, tls).await?)
        } else {
            WsStream::Plain(websocket::upgrade(&addr, tcp).await?)
        };
        return Ok(Transport::WebSocket(Box::new(ws)));
    }
    if tls_first {
        let stream = tls::upgrade(&options.tls, &addr, tcp).await?;
        return Ok(Transport::Tls(Box::new(stream)));
    }
    let (read, write) = tcp.into_split();
    Ok(Transport::Plain {
        read,
        write: Arc::new(write),
    })
}

/// Upgrades a plain transport to TLS (after the server's INFO, R30).
pub(crate) async fn upgrade(
    options: Arc<ConnectOptions>,
    addr: ServerAddr,
    transport: Transport,
) -> Result<Transport, ConnectError> {
    let tcp = match transport {
        Transport::Plain { read, write } => {
            let write = Arc::try_unwrap(write).map_err(|_| {
                ConnectError::Tls("the socket is still shared; cannot upgrade it".into())
            })?;
            read.reunite(write)
                .map_err(|e| ConnectError::Tls(format!("cannot upgrade the socket: {e}")))?
        }
        tls @ Transport::Tls(_) => return Ok(tls),
        Transport::WebSocket(ws) if ws.is_tls() => return Ok(Transport::WebSocket(ws)),
        Transport::WebSocket(_) => {
            return Err(ConnectError::Tls(
                "the server asks for TLS on a plain websocket; use a wss:// URL".into(),
            ))
        }
    };
    let stream = tls::upgrade(&options.tls, &addr, tcp).await?;
    Ok(Transport::Tls(Box::new(stream)))
}

impl Transport {
    pub(crate) fn is_tls(&self) -> bool {
        match self {
            Transport::Plain { .. } => false,
            Transport::Tls(_) => true,
            Transport::WebSocket(ws) => ws.is_tls(),
        }
    }

    /// The socket publishers may write to directly (plain TCP only).
    pub(crate) fn direct(&self) -> Option<Arc<OwnedWriteHalf>> {
        match self {
            Transport::Plain { write, .. } => Some(Arc::clone(write)),
            Transport::Tls(_) | Transport::WebSocket(_) => None,
        }
    }

    /// Reads into `buf`; `Ok(0)` is EOF. Cancel-safe.
    pub(crate) fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        match self {
            Transport::Plain { read, .. } => pin!(read.read_buf(buf)).poll(cx),
            Transport::Tls(stream) => pin!(stream.read_buf(buf)).poll(cx),
            Transport::WebSocket(ws) => ws.poll_read(cx, buf),
        }
    }

    /// Writes some bytes of `batch` from logical offset `from`; returns how many the transport
    /// accepted.
    pub(crate) fn poll_write_batch(
        &mut self,
        cx: &mut Context<'_>,
        batch: &Batch,
        from: usize,
    ) -> Poll<io::Result<usize>> {
        if let Transport::WebSocket(ws) = self {
            return ws.poll_write_batch(cx, batch, from);
        }
        if !batch.has_shared() {
            return self.poll_write(cx, batch.chunk(from));
        }
        let mut slices = [IoSlice::new(&[]); MAX_IO_SLICES];
        let n = batch.io_slices(from, &mut slices);
        let slices = slices.get(..n).unwrap_or_default();
        match self {
            Transport::Plain { write, .. } => loop {
                match write.try_write_vectored(slices) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        ready!(write.as_ref().as_ref().poll_write_ready(cx))?;
                    }
                    result => return Poll::Ready(result),
                }
            },
            Transport::Tls(stream) => Pin::new(stream.as_mut()).poll_write_vectored(cx, slices),
            Transport::WebSocket(ws) => ws.poll_write_batch(cx, batch, from),
        }
    }

    /// Writes some of `bytes`; returns how many the transport accepted.
    pub(crate) fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self {
            Transport::Plain { write, .. } => loop {
                match write.try_write(bytes) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        ready!(write.as_ref().as_ref().poll_write_ready(cx))?;
                    }
                    result => return Poll::Ready(result),
                }
            },
            Transport::Tls(stream) => Pin::new(stream.as_mut()).poll_write(cx, bytes),
            Transport::WebSocket(ws) => ws.poll_write(cx, bytes),
        }
    }

    /// Pushes out what a TLS or WebSocket layer holds back (TCP writes are never held back).
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Transport::Plain { .. } => Poll::Ready(Ok(())),
            Transport::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(cx),
            Transport::WebSocket(ws) => ws.poll_flush(cx),
        }
    }

    /// Closes a connection left on purpose without losing what it holds (`force_reconnect`,
    /// a lame-duck move): ends the write side (TCP: FIN once the write half goes; TLS: what
    /// rustls holds, then close_notify; a WebSocket: a Close frame), then reads and discards
    /// until the server closes, at most `within`. Dropping the socket at once would let a
    /// server write that arrives after the close (a PONG, a message for a subscription) make
    /// the kernel reset the connection and discard the bytes still queued in it. A socket
    /// that does not finish in time is dropped then, as before.
    pub(crate) async fn retire(self, within: std::time::Duration) {
        let linger = async move {
            let mut buf = BytesMut::with_capacity(8 * 1024);
            match self {
                Transport::Plain { mut read, write } => {
                    // the queue let go of its clone at the disconnect: this is the last one
                    drop(write);
                    while matches!(read.read_buf(&mut buf).await, Ok(n) if n > 0) {
                        buf.clear();
                    }
                }
                mut other => {
                    if std::future::poll_fn(|cx| other.poll_shutdown(cx))
                        .await
                        .is_err()
                    {
                        return;
                    }
                    while matches!(
                        std::future::poll_fn(|cx| other.poll_read(cx, &mut buf)).await,
                        Ok(n) if n > 0
                    ) {
                        buf.clear();
                    }
                }
            }
        };
        let _ = tokio::time::timeout(within, linger).await;
    }

    /// Ends the write side: TLS sends close_notify; a WebSocket sends a Close frame first;
    /// TCP sends FIN when its write half is dropped (the queue lets go of it when the
    /// connection closes).
    pub(crate) fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Transport::Plain { .. } => Poll::Ready(Ok(())),
            Transport::Tls(stream) => Pin::new(stream.as_mut()).poll_shutdown(cx),
            Transport::WebSocket(ws) => ws.poll_shutdown(cx),
        }
    }
}
