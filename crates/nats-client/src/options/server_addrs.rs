//! [`ToServerAddrs`]: anything that names one or more servers.

use crate::error::ConnectError;
use crate::server_addr::{split_url_list, ServerAddr};

/// Anything that names one or more servers: `"nats://a:4222"`, `"a:4222,b:4222"`,
/// `["a:4222", "b:4222"]`, `vec![...]`, a [`ServerAddr`].
///
/// # Examples
///
/// ```
/// use nats_client::ToServerAddrs;
/// let addrs = "a:4222, tls://b:4223".to_server_addrs()?;
/// assert_eq!(addrs.len(), 2);
/// assert!(addrs[1].is_tls());
/// assert_eq!(["a", "b"].to_server_addrs()?.len(), 2);
/// # Ok::<(), nats_client::ConnectError>(())
/// ```
pub trait ToServerAddrs {
    /// The parsed server list (R1, R2).
    ///
    /// # Errors
    ///
    /// [`ConnectError::InvalidUrl`] for the first URL that does not parse.
    ///
    /// # Examples
    ///
    /// ```
    /// use nats_client::ToServerAddrs;
    /// let addrs = vec!["nats://a:4222", "b"].to_server_addrs()?;
    /// assert_eq!(addrs[1].socket_addr_string(), "b:4222");
    /// # Ok::<(), nats_client::ConnectError>(())
    /// ```
    fn to_server_addrs(&self) -> Result<Vec<ServerAddr>, ConnectError>;
}

fn parse_list<'a>(
    urls: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<ServerAddr>, ConnectError> {
    let mut out = Vec::new();
    for url in urls {
        for one in split_url_list(url) {
            out.push(ServerAddr::parse(one)?);
        }
    }
    Ok(out)
}

impl ToServerAddrs for str {
    fn to_server_addrs(&self) -> Result<Vec<ServerAddr>, ConnectError> {
        parse_list([self])
    }
}

impl ToServerAddrs for &str {
    fn to_server_addrs(&self) -> Result<Vec<ServerAddr>, ConnectError> {
        parse_list([*self])
    }
}

impl ToServerAddrs for String {
    fn to_server_addrs(&self) -> Result<Vec<ServerAddr>, ConnectError> {
        parse_list([self.as_str()])
    }
}

impl ToServerAddrs for &String {
    fn to_server_addrs(&self) -> Result<Vec<ServerAddr>, ConnectError> {
        parse_list([self.as_str()])
    }
}

impl<T: AsRef<str>> ToServerAddrs for [T] {
    fn to_server_addrs(&self) -> Result<Vec<ServerAddr>, ConnectError> {
        parse_list(self.iter().map(AsRef::as_ref))
    }
}

impl<T: AsRef<str>, const N: usize> ToServerAddrs for [T; N] {
    fn to_server_addrs(&self) -> Result<Vec<ServerAddr>, ConnectError> {
        parse_list(self.iter().map(AsRef::as_ref))
    }
}

impl<T: AsRef<str>> ToServerAddrs for Vec<T> {
    fn to_server_addrs(&self) -> Result<Vec<ServerAddr>, ConnectError> {
        parse_list(self.iter().map(AsRef::as_ref))
    }
}

impl<T: AsRef<str>> ToServerAddrs for &[T] {
    fn to_server_addrs(&self) -> Result<Vec<ServerAddr>, ConnectError> {
        parse_list(self.iter().map(AsRef::as_ref))
    }
}

impl ToServerAddrs for ServerAddr {
    fn to_server_addrs(&self) -> Result<Vec<ServerAddr>, ConnectError> {
        Ok(vec![self.clone()])
    }
}
