//! [`FaultProxy`]: a TCP proxy that passes, black-holes, resets or delays traffic.

use std::net::{Ipv4Addr, SocketAddr};
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::TestkitError;

/// What a [`FaultProxy`] does to traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Forward both ways.
    Pass,
    /// Keep every socket open but forward nothing either way (bytes wait, unread, until the
    /// fault changes); new connections are accepted and stay silent. A client sees a half-open
    /// link that only its ping timer can detect.
    BlackHole,
    /// Close every current connection with RST (SO_LINGER 0) on both sides, and reset new ones
    /// right after accepting them.
    Reset,
    /// Forward both ways, each chunk after this delay.
    Delay(Duration),
}

/// A TCP proxy on 127.0.0.1 in front of `upstream`, for half-open, reset and slow links.
///
/// A change of [`Fault`] applies to current and new connections at once. Dropping the proxy
/// stops accepting and closes every connection.
///
/// ```no_run
/// # async fn demo() -> Result<(), nats_testkit::TestkitError> {
/// use nats_testkit::{Fault, FaultProxy, NatsServer};
///
/// let server = NatsServer::start().await?;
/// let proxy = FaultProxy::start(server.addr()).await?;
/// // point the client at proxy.url() ...
/// proxy.set_fault(Fault::BlackHole); // the client's PINGs go unanswered
/// proxy.set_fault(Fault::Reset);     // every connection gets an RST
/// proxy.set_fault(Fault::Pass);      // reconnects go through again
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    fault: watch::Sender<Fault>,
    counts: Arc<Counts>,
    task: JoinHandle<()>,
}

#[derive(Debug, Default)]
struct Counts {
    open: AtomicUsize,
    accepted: AtomicUsize,
}

/// Decrements the open-connection count when a connection task ends (or is aborted).
struct OpenGuard(Arc<Counts>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

impl FaultProxy {
    /// Listen on a free 127.0.0.1 port and forward to `upstream` (fault [`Fault::Pass`]).
    ///
    /// Must be called inside a tokio runtime; the proxy's tasks run there.
    pub async fn start(upstream: SocketAddr) -> Result<FaultProxy, TestkitError> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let (fault, _) = watch::channel(Fault::Pass);
        let counts = Arc::new(Counts::default());
        let task = tokio::spawn(accept_loop(
            listener,
            upstream,
            fault.subscribe(),
            counts.clone(),
        ));
        Ok(FaultProxy {
            addr,
            upstream,
            fault,
            counts,
            task,
        })
    }

    /// `nats://127.0.0.1:PORT` of the proxy.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.addr.port())
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The proxy's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address it forwards to.
    pub fn upstream(&self) -> SocketAddr {
        self.upstream
    }

    /// Change the fault, for current and new connections, at once.
    pub fn set_fault(&self, fault: Fault) {
        self.fault.send_replace(fault);
    }

    /// The current fault.
    pub fn fault(&self) -> Fault {
        *self.fault.borrow()
    }

    /// Client connections currently open through the proxy.
    pub fn connections(&self) -> usize {
        self.counts.open.load(Ordering::SeqCst)
    }

    /// Client connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.counts.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every connection task,
        // which drops (closes) their sockets.
        self.task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    fault: watch::Receiver<Fault>,
    counts: Arc<Counts>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((client, _)) = accepted else { continue };
                counts.accepted.fetch_add(1, Ordering::SeqCst);
                counts.open.fetch_add(1, Ordering::SeqCst);
                let guard = OpenGuard(counts.clone());
                conns.spawn(connection(client, upstream, fault.clone(), guard));
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

/// Close with RST instead of FIN.
pub(crate) fn reset(stream: TcpStream) {
    // Deprecated because a non-zero linger blocks on drop; zero does not (it is what the newer
    // `set_zero_linger` does), and this works with every tokio 1.x the workspace allows.
    #[allow(deprecated)]
    let _ = stream.set_linger(Some(Duration::ZERO));
    drop(stream);
}

enum End {
    /// Both directions saw EOF and forwarded it.
    Closed,
    /// An I/O error on one side: reset the other.
    Error,
    /// The fault became [`Fault::Reset`].
    Reset,
}

async fn connection(
    mut client: TcpStream,
    upstream: SocketAddr,
    mut fault: watch::Receiver<Fault>,
    _guard: OpenGuard,
) {
    if *fault.borrow_and_update() == Fault::Reset {
        return reset(client);
    }
    let _ = client.set_nodelay(true);
    // Connect while watching for a Reset, so a black-holed upstream cannot stall the reset.
    let connect = tokio::select! {
        c = TcpStream::connect(upstream) => c,
        () = wait_reset(fault.clone()) => return reset(client),
    };
    let Ok(mut server) = connect else {
        return reset(client);
    };
    let _ = server.set_nodelay(true);
    let end = {
        let (mut client_rd, mut client_wr) = client.split();
        let (mut server_rd, mut server_wr) = server.split();
        let mut up = pin!(pump(&mut client_rd, &mut server_wr, fault.clone()));
        let mut down = pin!(pump(&mut server_rd, &mut client_wr, fault.clone()));
        let mut reset_signal = pin!(wait_reset(fault.clone()));
        let (mut up_done, mut down_done) = (false, false);
        loop {
            tokio::select! {
                r = &mut up, if !up_done => {
                    up_done = true;
                    if r.is_err() { break End::Error }
                }
                r = &mut down, if !down_done => {
                    down_done = true;
                    if r.is_err() { break End::Error }
                }
                () = &mut reset_signal => break End::Reset,
            }
            if up_done && down_done {
                break End::Closed;
            }
        }
    };
    match end {
        End::Closed => {}
        End::Error | End::Reset => {
            reset(client);
            reset(server);
        }
    }
}

async fn wait_reset(mut fault: watch::Receiver<Fault>) {
    if fault.wait_for(|f| *f == Fault::Reset).await.is_err() {
        // The proxy is gone; this task is about to be aborted anyway.
        std::future::pending::<()>().await;
    }
}

/// Forward `from` to `to` until EOF (then shut down `to`'s write side), obeying the fault.
async fn pump<R, W>(
    from: &mut R,
    to: &mut W,
    mut fault: watch::Receiver<Fault>,
) -> std::io::Result<()>
where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        // Read nothing while black-holed, so nothing is lost when it passes again.
        // An Err means the proxy is gone.
        if fault.wait_for(|f| *f != Fault::BlackHole).await.is_err() {
            return Ok(());
        }
        let n = tokio::select! {
            n = from.read(&mut buf) => n?,
            // The fault changed to BlackHole before anything arrived: stop reading.
            r = fault.wait_for(|f| *f == Fault::BlackHole) => {
                if r.is_err() {
                    return Ok(());
                }
                continue;
            }
        };
        if n == 0 {
            to.shutdown().await?;
            return Ok(());
        }
        loop {
            let current = *fault.borrow_and_update();
            match current {
                Fault::Pass => break,
                Fault::Delay(d) => {
                    tokio::time::sleep(d).await;
                    break;
                }
                // Hold the chunk until the fault changes; Reset is handled by the caller.
                Fault::BlackHole | Fault::Reset => {
                    if fault.changed().await.is_err() {
                        return Ok(());
                    }
                }
            }
        }
        to.write_all(&buf[..n]).await?;
    }
}
