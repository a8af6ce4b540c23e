//! Opening the TCP connection of one attempt (R20): the host name is resolved afresh on every
//! attempt and every address it resolves to is tried, shuffled unless `no_randomize`, the
//! attempt's `connection_timeout` divided between them. `skip_host_lookup` hands the name to
//! the socket as it is. The order and the time each address gets are [`plan`], a pure function.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;

use crate::error::ConnectError;
use crate::options::ConnectOptions;
use crate::rng::Rng;

/// The addresses to try, in order, and how long each may take (`None`: the attempt's own
/// deadline is the only one, as for a single address).
pub(crate) fn plan(
    mut addrs: Vec<SocketAddr>,
    randomize: bool,
    timeout: Duration,
    rng: &mut Rng,
) -> (Vec<SocketAddr>, Option<Duration>) {
    if randomize {
        rng.shuffle(&mut addrs);
    }
    let each = match u32::try_from(addrs.len()) {
        Ok(0 | 1) => None,
        Ok(n) => Some(timeout / n),
        Err(_) => Some(Duration::ZERO),
    };
    (addrs, each)
}

/// Connects to `target` (`host:port`), by the rules above.
pub(crate) async fn connect(
    options: &ConnectOptions,
    target: &str,
) -> Result<TcpStream, ConnectError> {
    if options.skip_host_lookup {
        return Ok(TcpStream::connect(target).await?);
    }
    let resolved: Vec<SocketAddr> = tokio::net::lookup_host(target).await?.collect();
    if resolved.is_empty() {
        let none = io::Error::new(
            io::ErrorKind::NotFound,
            format!("{target} resolves to no address"),
        );
        return Err(none.into());
    }
    let (addrs, each) = plan(
        resolved,
        !options.no_randomize,
        options.connection_timeout,
        &mut Rng::new(),
    );
    let mut last = None;
    for addr in addrs {
        let attempt = TcpStream::connect(addr);
        let result = match each {
            None => attempt.await.map_err(ConnectError::from),
            Some(limit) => match tokio::time::timeout(limit, attempt).await {
                Ok(result) => result.map_err(ConnectError::from),
                Err(_) => Err(ConnectError::TimedOut(limit)),
            },
        };
        match result {
            Ok(tcp) => return Ok(tcp),
            Err(e) => {
                tracing::debug!(%addr, error = %e, "address failed, trying the next");
                last = Some(e);
            }
        }
    }
    Err(last.unwrap_or(ConnectError::NoServers))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(n: u16) -> Vec<SocketAddr> {
        (1..=n)
            .map(|p| SocketAddr::from(([127, 0, 0, 1], p)))
            .collect()
    }

    #[test]
    fn r20_every_address_in_order_or_shuffled_with_the_timeout_divided() {
        let mut rng = Rng::with_seed(3);
        let t = Duration::from_secs(2);
        assert_eq!(plan(addrs(1), true, t, &mut rng), (addrs(1), None));
        let (ordered, each) = plan(addrs(4), false, t, &mut rng);
        assert_eq!(
            (ordered, each),
            (addrs(4), Some(Duration::from_millis(500)))
        );
        let mut orders = std::collections::HashSet::new();
        for _ in 0..50 {
            let (mut shuffled, each) = plan(addrs(4), true, t, &mut rng);
            assert_eq!(each, Some(Duration::from_millis(500)));
            orders.insert(shuffled.clone());
            shuffled.sort();
            assert_eq!(shuffled, addrs(4), "every address, once");
        }
        assert!(orders.len() > 1, "never shuffled");
        // a timeout of Duration::MAX stays representable
        assert_eq!(
            plan(addrs(2), false, Duration::MAX, &mut rng).1,
            Some(Duration::MAX / 2)
        );
    }
}
