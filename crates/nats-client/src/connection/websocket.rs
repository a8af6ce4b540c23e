//! [`WsStream`]: a WebSocket connection (tokio-websockets) seen by the driver as a byte pipe.
//!
//! The NATS protocol runs unchanged above it. Writing: each call takes up to
//! [`MAX_FRAME`] bytes of the queue's batch, so the many NATS frames of a batch travel as one
//! binary WebSocket frame (one copy into the frame, masked in place, the header and payload
//! written with one vectored write). Reading: every data frame's payload is appended to the
//! driver's read buffer as it comes (a frame may hold several NATS ops or a partial one; the
//! parser resumes across frames); Ping frames are answered by the library, a Close frame is
//! the end of the stream (EOF).
//!
//! TLS (`wss://`) is our own rustls stream under the WebSocket, with the options of `tls://`;
//! the library's own TLS is not used.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use futures_sink::Sink;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_websockets::{ClientBuilder, Config, Limits, Message, WebSocketStream};

use crate::error::ConnectError;
use crate::outbound::batch::{Batch, MAX_IO_SLICES};
use crate::server_addr::ServerAddr;

/// Bytes of the queue put into one WebSocket frame at most. Below malloc's mmap threshold, so
/// the frame buffer of a burst is recycled by the allocator instead of mapped and unmapped.
pub(crate) const MAX_FRAME: usize = 64 * 1024;

/// Frames queued in the library before a new one waits for them to be written: frames of a
/// burst go out together in one vectored write.
const FLUSH_THRESHOLD: usize = 64 * 1024;

/// Bytes appended to the read buffer per read call at most (then the parser runs).
const READ_GATHER: usize = 64 * 1024;

/// The largest frame accepted from a server (the library's default, nats-server's
/// `max_payload` ceiling): a bigger one is a protocol error, not an allocation.
const MAX_INCOMING_FRAME: usize = 64 * 1024 * 1024;

/// An open WebSocket, over TCP (`ws://`) or our TLS (`wss://`).
// The transport holds it boxed, so the size of the TLS variant costs nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum WsStream {
    Plain(WebSocketStream<TcpStream>),
    Tls(WebSocketStream<TlsStream<TcpStream>>),
}

impl std::fmt::Debug for WsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WsStream::Plain(_) => "WsStream::Plain",
            WsStream::Tls(_) => "WsStream::Tls",
        })
    }
}

/// Sends the HTTP upgrade request for `addr` over `stream` and waits for `101 Switching
/// Protocols`. Runs under the attempt's `connection_timeout`.
pub(crate) async fn upgrade<S>(
    addr: &ServerAddr,
    stream: S,
) -> Result<WebSocketStream<S>, ConnectError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let uri = addr.websocket_request_uri();
    let builder = ClientBuilder::new()
        .uri(&uri)
        .map_err(|e| ConnectError::WebSocket(format!("invalid request URI {uri:?}: {e}")))?
        .config(
            Config::default()
                .frame_size(MAX_FRAME)
                .flush_threshold(FLUSH_THRESHOLD),
        )
        .limits(Limits::default().max_payload_len(Some(MAX_INCOMING_FRAME)));
    match builder.connect_on(stream).await {
        Ok((ws, _response)) => Ok(ws),
        Err(tokio_websockets::Error::Io(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
            Err(ConnectError::WebSocket(format!(
                "{addr} closed the connection before answering the upgrade request"
            )))
        }
        Err(tokio_websockets::Error::Io(e)) => Err(ConnectError::from(e)),
        Err(e) => Err(ConnectError::WebSocket(format!(
            "{addr} did not accept the upgrade ({e}); is it a websocket port?"
        ))),
    }
}

impl WsStream {
    pub(crate) fn is_tls(&self) -> bool {
        matches!(self, WsStream::Tls(_))
    }

    /// Appends the payload of the data frames that arrived to `buf`; `Ok(0)` is the end (a
    /// Close frame or EOF). Cancel-safe.
    pub(crate) fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        match self {
            WsStream::Plain(ws) => read(ws, cx, buf),
            WsStream::Tls(ws) => read(ws, cx, buf),
        }
    }

    /// Frames up to [`MAX_FRAME`] bytes of `batch` from `from`; returns how many it took.
    pub(crate) fn poll_write_batch(
        &mut self,
        cx: &mut Context<'_>,
        batch: &Batch,
        from: usize,
    ) -> Poll<io::Result<usize>> {
        let mut slices = [IoSlice::new(&[]); MAX_IO_SLICES];
        let n = batch.io_slices(from, &mut slices);
        let slices = slices.get(..n).unwrap_or_default();
        self.poll_write_slices(cx, slices)
    }

    /// Frames up to [`MAX_FRAME`] bytes of `bytes`; returns how many it took.
    pub(crate) fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_slices(cx, &[IoSlice::new(bytes)])
    }

    fn poll_write_slices(
        &mut self,
        cx: &mut Context<'_>,
        slices: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self {
            WsStream::Plain(ws) => write(ws, cx, slices),
            WsStream::Tls(ws) => write(ws, cx, slices),
        }
    }

    /// Writes the queued frames and flushes the stream under them.
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            WsStream::Plain(ws) => Pin::new(ws).poll_flush(cx).map_err(into_io),
            WsStream::Tls(ws) => Pin::new(ws).poll_flush(cx).map_err(into_io),
        }
    }

    /// Sends a Close frame, waits for the server's (bounded by the close timer of the state
    /// machine), then shuts the stream under it down.
    pub(crate) fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            WsStream::Plain(ws) => Pin::new(ws).poll_close(cx).map_err(into_io),
            WsStream::Tls(ws) => Pin::new(ws).poll_close(cx).map_err(into_io),
        }
    }
}

fn read<S>(
    ws: &mut WebSocketStream<S>,
    cx: &mut Context<'_>,
    buf: &mut BytesMut,
) -> Poll<io::Result<usize>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut total = 0;
    loop {
        let message = match Pin::new(&mut *ws).poll_next(cx) {
            Poll::Ready(Some(Ok(message))) => message,
            // The server closed (Close frame answered, or EOF).
            Poll::Ready(None) => return Poll::Ready(Ok(total)),
            Poll::Ready(Some(Err(e))) if total == 0 => return Poll::Ready(Err(into_io(e))),
            // What arrived first is handled first; the error comes back on the next read.
            Poll::Ready(Some(Err(_))) => return Poll::Ready(Ok(total)),
            Poll::Pending if total == 0 => return Poll::Pending,
            Poll::Pending => return Poll::Ready(Ok(total)),
        };
        if message.is_binary() || message.is_text() {
            let payload = message.as_payload();
            buf.extend_from_slice(payload);
            total += payload.len();
            if total >= READ_GATHER {
                return Poll::Ready(Ok(total));
            }
        } else if message.is_close() {
            // The library queued the answer; the next read sees the end.
            if total > 0 {
                return Poll::Ready(Ok(total));
            }
        }
        // Ping (answered by the library) and Pong: nothing for the parser.
    }
}

fn write<S>(
    ws: &mut WebSocketStream<S>,
    cx: &mut Context<'_>,
    slices: &[IoSlice<'_>],
) -> Poll<io::Result<usize>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    ready!(Pin::new(&mut *ws).poll_ready(cx)).map_err(into_io)?;
    let available: usize = slices.iter().map(|s| s.len()).sum();
    let take = available.min(MAX_FRAME);
    if take == 0 {
        return Poll::Ready(Ok(0));
    }
    let mut frame = BytesMut::with_capacity(take);
    for slice in slices {
        let room = take - frame.len();
        if room == 0 {
            break;
        }
        frame.extend_from_slice(slice.get(..room.min(slice.len())).unwrap_or_default());
    }
    let payload: Bytes = frame.freeze();
    Pin::new(&mut *ws)
        .start_send(Message::binary(payload))
        .map_err(into_io)?;
    Poll::Ready(Ok(take))
}

/// A library error as the I/O error the driver reports: I/O stays I/O, a protocol violation
/// by the server is `InvalidData`.
fn into_io(e: tokio_websockets::Error) -> io::Error {
    match e {
        tokio_websockets::Error::Io(e) => e,
        tokio_websockets::Error::AlreadyClosed => {
            io::Error::new(io::ErrorKind::BrokenPipe, "the websocket is already closed")
        }
        other => io::Error::new(io::ErrorKind::InvalidData, format!("websocket: {other}")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::future::poll_fn;

    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

    use super::*;

    /// A server-to-client frame (unmasked): FIN, `opcode`, `payload` (< 126 bytes).
    fn server_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0x80 | opcode, payload.len() as u8];
        f.extend_from_slice(payload);
        f
    }

    /// Reads one client frame (masked, as RFC 6455 requires): its opcode and unmasked payload.
    async fn client_frame(server: &mut DuplexStream) -> (u8, Vec<u8>) {
        let mut head = [0u8; 2];
        server.read_exact(&mut head).await.unwrap();
        assert_eq!(head[0] & 0x80, 0x80, "FIN set");
        assert_eq!(head[1] & 0x80, 0x80, "a client frame is masked");
        let len = match head[1] & 0x7f {
            126 => {
                let mut l = [0u8; 2];
                server.read_exact(&mut l).await.unwrap();
                usize::from(u16::from_be_bytes(l))
            }
            127 => {
                let mut l = [0u8; 8];
                server.read_exact(&mut l).await.unwrap();
                usize::try_from(u64::from_be_bytes(l)).unwrap()
            }
            n => usize::from(n),
        };
        let mut mask = [0u8; 4];
        server.read_exact(&mut mask).await.unwrap();
        let mut payload = vec![0u8; len];
        server.read_exact(&mut payload).await.unwrap();
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= mask[i % 4];
        }
        (head[0] & 0x0f, payload)
    }

    fn pair() -> (WebSocketStream<DuplexStream>, DuplexStream) {
        let (client, server) = tokio::io::duplex(1 << 20);
        (ClientBuilder::new().take_over(client), server)
    }

    /// A NATS op split across two binary frames with a Ping between them: the bytes reach the
    /// read buffer in order, the Ping is answered with a masked Pong of the same payload, and
    /// the server's Close is answered and reads as the end of the stream.
    #[tokio::test]
    async fn control_frames_between_data_frames() {
        let (mut ws, mut server) = pair();
        let mut wire = server_frame(0x2, b"MSG a 1 2\r\nh");
        wire.extend(server_frame(0x9, b"png"));
        wire.extend(server_frame(0x2, b"i\r\nPING\r\n"));
        server.write_all(&wire).await.unwrap();
        let mut buf = BytesMut::new();
        while buf.len() < 21 {
            let n = poll_fn(|cx| read(&mut ws, cx, &mut buf)).await.unwrap();
            assert!(n > 0);
        }
        assert_eq!(&buf[..], b"MSG a 1 2\r\nhi\r\nPING\r\n");
        poll_fn(|cx| Pin::new(&mut ws).poll_flush(cx))
            .await
            .unwrap();
        assert_eq!(client_frame(&mut server).await, (0xA, b"png".to_vec()));

        server
            .write_all(&server_frame(0x8, &1000u16.to_be_bytes()))
            .await
            .unwrap();
        let n = poll_fn(|cx| read(&mut ws, cx, &mut buf)).await.unwrap();
        assert_eq!(n, 0, "a Close frame is the end of the stream");
        let (opcode, payload) = client_frame(&mut server).await;
        assert_eq!((opcode, payload), (0x8, 1000u16.to_be_bytes().to_vec()));
    }

    /// Writing: the slices of a batch go out as one masked binary frame, at most MAX_FRAME
    /// bytes taken per call; the receiver unmasks exactly the bytes given.
    #[tokio::test]
    async fn slices_become_one_masked_binary_frame() {
        let (mut ws, mut server) = pair();
        let a = b"PUB a 2\r\nhi\r\n".to_vec();
        let b = b"PUB b 2\r\nho\r\n".to_vec();
        let slices = [IoSlice::new(&a), IoSlice::new(&b)];
        let n = poll_fn(|cx| write(&mut ws, cx, &slices)).await.unwrap();
        assert_eq!(n, a.len() + b.len());
        let big = vec![7u8; MAX_FRAME + 10];
        let n = poll_fn(|cx| write(&mut ws, cx, &[IoSlice::new(&big)]))
            .await
            .unwrap();
        assert_eq!(n, MAX_FRAME, "one frame takes MAX_FRAME bytes at most");
        poll_fn(|cx| Pin::new(&mut ws).poll_flush(cx))
            .await
            .unwrap();
        let (opcode, payload) = client_frame(&mut server).await;
        assert_eq!(opcode, 0x2);
        assert_eq!(payload, [a, b].concat());
        let (opcode, payload) = client_frame(&mut server).await;
        assert_eq!((opcode, payload.len()), (0x2, MAX_FRAME));
        assert!(payload.iter().all(|&b| b == 7));
    }

    /// The server violating the protocol (a masked frame to a client) is an InvalidData error.
    #[tokio::test]
    async fn a_protocol_violation_is_invalid_data() {
        let (mut ws, mut server) = pair();
        server
            .write_all(&[0x82, 0x81, 1, 2, 3, 4, b'x' ^ 1])
            .await
            .unwrap();
        let mut buf = BytesMut::new();
        let err = poll_fn(|cx| read(&mut ws, cx, &mut buf)).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
    }
}
