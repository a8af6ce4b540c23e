//! The handshake of one connection attempt, as a small pure state machine (R22–R26):
//! [TLS first,] INFO, [TLS upgrade (R30),] CONNECT + PING with this attempt's credentials
//! (R27, R28), then PONG (tolerating `+OK` and answering PING, R24/R25). The driver does the
//! I/O each step asks for; the whole handshake runs under the `connection_timeout` timer.

use nats_proto::{ConnectInfo, ServerInfo, ServerOp};

use crate::auth;
use crate::callback::CallbackPanic;
use crate::error::ConnectError;
use crate::options::ConnectOptions;
use crate::server_addr::ServerAddr;

/// Where the handshake is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Waiting for the server's INFO, the first op (R23).
    AwaitInfo,
    /// The driver upgrades the transport to TLS.
    UpgradingTls,
    /// The driver builds CONNECT (credentials may read a file or call user code).
    Authenticating,
    /// CONNECT + PING sent; waiting for PONG (or `-ERR`).
    AwaitPong,
}

/// What the handshake needs next.
#[derive(Debug)]
pub(crate) enum Next {
    /// Nothing yet.
    Wait,
    /// Upgrade the transport to TLS, then report.
    UpgradeTls,
    /// Build CONNECT for this server INFO, then report.
    Authenticate,
    /// Answer the server's PING.
    SendPong,
    /// The handshake completed.
    Established,
    /// The attempt failed.
    Failed(ConnectError),
}

/// One attempt's handshake.
#[derive(Debug)]
pub(crate) struct Handshake {
    pub(crate) addr: ServerAddr,
    pub(crate) step: Step,
    /// The latest INFO (a newer one during the handshake replaces it).
    pub(crate) info: Option<ServerInfo>,
    /// TLS is active on the transport.
    pub(crate) tls: bool,
}

/// Whether the client asks for TLS with this server (R6).
pub(crate) fn wants_tls(options: &ConnectOptions, addr: &ServerAddr) -> bool {
    options.require_tls || addr.is_tls() || options.tls.first
}

impl Handshake {
    /// After the transport is open; `tls` when it was TLS from the first byte (`tls_first`).
    pub(crate) fn new(addr: ServerAddr, tls: bool) -> Handshake {
        Handshake {
            addr,
            step: Step::AwaitInfo,
            info: None,
            tls,
        }
    }

    /// An op from the server.
    pub(crate) fn on_op(&mut self, op: ServerOp, options: &ConnectOptions) -> Next {
        match (self.step, op) {
            (Step::AwaitInfo, ServerOp::Info(info)) => {
                let info = *info;
                let wants = wants_tls(options, &self.addr);
                let next = if self.tls {
                    Next::Authenticate
                } else if wants && !info.tls_required && !info.tls_available {
                    Next::Failed(ConnectError::SecureConnectionWanted)
                } else if wants || info.tls_required {
                    // R30: a server that requires TLS gets it even when the client did not ask.
                    Next::UpgradeTls
                } else {
                    Next::Authenticate
                };
                self.step = match next {
                    Next::UpgradeTls => Step::UpgradingTls,
                    _ => Step::Authenticating,
                };
                self.info = Some(info);
                next
            }
            (Step::AwaitInfo, other) => Next::Failed(ConnectError::Protocol(format!(
                "expected INFO, got {}",
                op_name(&other)
            ))),
            (Step::AwaitPong, ServerOp::Pong) => Next::Established,
            (Step::AwaitPong, ServerOp::Ok) => Next::Wait,
            (_, ServerOp::Ping) => Next::SendPong,
            (Step::AwaitPong, ServerOp::Info(newer)) => {
                self.info = Some(*newer);
                Next::Wait
            }
            (_, ServerOp::Err(e)) => Next::Failed(ConnectError::Server(e)),
            (_, other) => Next::Failed(ConnectError::Protocol(format!(
                "expected PONG, got {}",
                op_name(&other)
            ))),
        }
    }

    /// The TLS upgrade finished.
    pub(crate) fn on_tls(&mut self, result: Result<(), ConnectError>) -> Next {
        match result {
            Ok(()) => {
                self.tls = true;
                self.step = Step::Authenticating;
                Next::Authenticate
            }
            Err(e) => Next::Failed(e),
        }
    }

    /// CONNECT was built (or could not be); on success the caller sends CONNECT + PING.
    pub(crate) fn on_credentials(&mut self, result: &Result<ConnectInfo, ConnectError>) -> Next {
        match result {
            Ok(_) => {
                self.step = Step::AwaitPong;
                Next::Wait
            }
            Err(e) => Next::Failed(e.clone()),
        }
    }

    /// Whether the parser should read ops now (not while the driver upgrades or authenticates).
    pub(crate) fn reads_ops(&self) -> bool {
        matches!(self.step, Step::AwaitInfo | Step::AwaitPong)
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
/// URL win over the options' (R28); a URL user without a password is a token. May read a
/// credentials file or call the auth callback: the driver runs it off the async workers then.
pub(crate) fn connect_info(
    options: &ConnectOptions,
    addr: &ServerAddr,
    info: &ServerInfo,
    tls: bool,
    panicked: &mut Option<CallbackPanic>,
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
    auth::fill(
        &options.auth,
        addr,
        info.nonce.as_deref(),
        &mut connect,
        panicked,
    )?;
    Ok(connect)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn info(tls_required: bool, tls_available: bool) -> ServerOp {
        ServerOp::Info(Box::new(ServerInfo {
            tls_required,
            tls_available,
            ..ServerInfo::default()
        }))
    }

    #[test]
    fn r28_url_credentials_win_and_lone_user_is_a_token() {
        let opts = ConnectOptions::new().user_and_password("optuser", "optpass");
        let info = ServerInfo {
            headers: true,
            ..ServerInfo::default()
        };
        let mut p = None;
        let url = ServerAddr::parse("nats://u:p@h:1").unwrap();
        let c = connect_info(&opts, &url, &info, false, &mut p).unwrap();
        assert_eq!(
            (c.user.as_deref(), c.pass.as_deref()),
            (Some("u"), Some("p"))
        );
        let tok = ServerAddr::parse("nats://tkn@h:1").unwrap();
        let c = connect_info(&opts, &tok, &info, false, &mut p).unwrap();
        assert_eq!(c.auth_token.as_deref(), Some("tkn"));
        assert_eq!(c.user, None);
        let plain = ServerAddr::parse("h:1").unwrap();
        let c = connect_info(&opts, &plain, &info, false, &mut p).unwrap();
        assert_eq!(c.user.as_deref(), Some("optuser"));
        assert!(c.headers && c.no_responders && c.echo && !c.verbose && !c.pedantic);
        assert_eq!(c.protocol, 1);
    }

    #[test]
    fn r23_r30_steps() {
        let plain = ConnectOptions::new();
        let addr = ServerAddr::parse("h:1").unwrap();
        let mut h = Handshake::new(addr.clone(), false);
        assert!(matches!(
            h.on_op(ServerOp::Pong, &plain),
            Next::Failed(ConnectError::Protocol(_))
        ));
        let mut h = Handshake::new(addr.clone(), false);
        assert!(matches!(
            h.on_op(info(false, false), &plain),
            Next::Authenticate
        ));
        assert!(matches!(
            h.on_credentials(&Ok(ConnectInfo::default())),
            Next::Wait
        ));
        assert!(matches!(h.on_op(ServerOp::Ok, &plain), Next::Wait));
        assert!(matches!(h.on_op(ServerOp::Ping, &plain), Next::SendPong));
        assert!(matches!(h.on_op(ServerOp::Pong, &plain), Next::Established));
        // R30: the server requires TLS
        let mut h = Handshake::new(addr.clone(), false);
        assert!(matches!(
            h.on_op(info(true, false), &plain),
            Next::UpgradeTls
        ));
        assert!(matches!(h.on_tls(Ok(())), Next::Authenticate));
        assert!(h.tls);
        // the client requires TLS, the server offers none
        let secure = ConnectOptions::new().require_tls(true);
        let mut h = Handshake::new(addr, false);
        assert!(matches!(
            h.on_op(info(false, false), &secure),
            Next::Failed(ConnectError::SecureConnectionWanted)
        ));
    }
}
