//! Outgoing TCP connections that leave from a chosen local address
//! (bind-source-addr), so per-address firewall rules and multi-homed hosts see the
//! node's own address rather than whichever one the OS picks.

use std::io;
use std::net::{IpAddr, SocketAddr};
use tokio::net::{TcpSocket, TcpStream};

/// Connects to `host:port`, from `source` when given (any local port). Only
/// addresses of `source`'s family are tried: a socket bound to an IPv4 address cannot
/// reach an IPv6 one.
pub async fn connect_from(host: &str, port: u16, source: Option<IpAddr>) -> io::Result<TcpStream> {
    let Some(source) = source else {
        return TcpStream::connect((host, port)).await;
    };
    let mut last = io::Error::new(
        io::ErrorKind::AddrNotAvailable,
        format!("no address of {host} matches bind-source-addr {source}"),
    );
    for target in tokio::net::lookup_host((host, port)).await? {
        if target.is_ipv4() != source.is_ipv4() {
            continue;
        }
        let socket = if source.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.bind(SocketAddr::new(source, 0))?;
        match socket.connect(target).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(last)
}
