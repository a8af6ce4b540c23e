//! Locating `nats-server`, reading its version, and picking free ports.

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::TestkitError;

const FALLBACK: &str = "/usr/sbin/nats-server";

/// Path of `nats-server`: env `NATS_SERVER_BIN`, then `PATH`, then `/usr/sbin/nats-server`.
///
/// A `NATS_SERVER_BIN` that names no file is [`TestkitError::ServerNotFound`] rather than a
/// silent fallback.
///
/// ```no_run
/// let bin = nats_testkit::nats_server_bin()?;
/// println!("using {}", bin.display());
/// # Ok::<(), nats_testkit::TestkitError>(())
/// ```
pub fn nats_server_bin() -> Result<PathBuf, TestkitError> {
    if let Some(p) = std::env::var_os("NATS_SERVER_BIN") {
        let p = PathBuf::from(p);
        return if is_file(&p) {
            Ok(p)
        } else {
            Err(TestkitError::ServerNotFound)
        };
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join("nats-server");
            if is_file(&p) {
                return Ok(p);
            }
        }
    }
    let p = PathBuf::from(FALLBACK);
    if is_file(&p) {
        Ok(p)
    } else {
        Err(TestkitError::ServerNotFound)
    }
}

fn is_file(p: &Path) -> bool {
    p.metadata().map(|m| m.is_file()).unwrap_or(false)
}

/// `(major, minor, patch)` parsed from `nats-server --version` (`nats-server: v2.9.10`).
///
/// ```no_run
/// let (major, minor, _) = nats_testkit::nats_server_version()?;
/// assert!((major, minor) >= (2, 9));
/// # Ok::<(), nats_testkit::TestkitError>(())
/// ```
pub fn nats_server_version() -> Result<(u32, u32, u32), TestkitError> {
    let out = Command::new(nats_server_bin()?).arg("--version").output()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    parse_version(&text).ok_or(TestkitError::Version(text))
}

fn parse_version(text: &str) -> Option<(u32, u32, u32)> {
    let v = text.trim().rsplit(' ').next()?.trim_start_matches('v');
    let core = v.split(['-', '+']).next()?;
    let mut it = core.split('.').map(|n| n.parse::<u32>());
    let major = it.next()?.ok()?;
    let minor = it.next()?.ok()?;
    let patch = it.next().unwrap_or(Ok(0)).ok()?;
    Some((major, minor, patch))
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bind port 0, read it, drop the listener).
///
/// Another process may take it before you bind it; [`ServerConfig::start`](crate::ServerConfig::start)
/// retries with a new port when that happens.
///
/// # Panics
///
/// When the loopback interface cannot bind at all.
///
/// ```no_run
/// let port = nats_testkit::free_port();
/// assert_ne!(port, 0);
/// ```
pub fn free_port() -> u16 {
    match TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).and_then(|l| l.local_addr()) {
        Ok(addr) => addr.port(),
        Err(e) => panic!("cannot bind 127.0.0.1:0: {e}"),
    }
}

/// `n` distinct ports that were free a moment ago (all bound at once, then released).
pub(crate) fn free_ports(n: usize) -> Result<Vec<u16>, TestkitError> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
        .collect::<Result<Vec<_>, _>>()?;
    let ports = listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions() {
        assert_eq!(parse_version("nats-server: v2.9.10\n"), Some((2, 9, 10)));
        assert_eq!(
            parse_version("nats-server: v2.10.0-beta.1"),
            Some((2, 10, 0))
        );
        assert_eq!(parse_version("nats-server: v2.11"), Some((2, 11, 0)));
        assert_eq!(parse_version("garbage"), None);
        assert_eq!(parse_version(""), None);
    }

    #[test]
    fn free_ports_are_nonzero() {
        assert_ne!(free_port(), 0);
    }
}
