//! Listening sockets and the accept loop.

use socket2::{Domain, Protocol, SockRef, Socket, TcpKeepalive, Type};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tracing::Instrument;

use crate::errors;
use crate::node::Node;

/// Opens `copies` sets of client listeners on every address named by `bind`, all on
/// the same port (SO_REUSEPORT), one set per accepting thread: the kernel spreads new
/// connections over the sets, and each connection then stays on one thread. Addresses
/// prefixed with `-` are optional (Redis's default `* -::*` binds IPv6 only where the
/// host has it).
pub fn bind(
    bind: &[String],
    port: u16,
    backlog: u32,
    copies: usize,
) -> io::Result<Vec<Vec<std::net::TcpListener>>> {
    let mut port = port;
    let mut sets: Vec<Vec<std::net::TcpListener>> =
        (0..copies.max(1)).map(|_| Vec::new()).collect();
    for spec in bind {
        let (optional, host) = match spec.strip_prefix('-') {
            Some(h) => (true, h),
            None => (false, spec.as_str()),
        };
        let ip: IpAddr = match host {
            "*" => Ipv4Addr::UNSPECIFIED.into(),
            "::*" => Ipv6Addr::UNSPECIFIED.into(),
            other => other.parse().map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("invalid bind address '{other}'"),
                )
            })?,
        };
        for (i, set) in sets.iter_mut().enumerate() {
            match listen(SocketAddr::new(ip, port), backlog) {
                Ok(l) => {
                    // With port 0 the first listener picks a port; the others share it.
                    port = l.local_addr()?.port();
                    set.push(l);
                }
                Err(e) if optional && i == 0 => {
                    tracing::debug!(address = %ip, error = %e, "optional bind address unavailable");
                    break;
                }
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("could not bind {ip}:{port}: {e}"),
                    ));
                }
            }
        }
    }
    if sets[0].is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            "no address to listen on",
        ));
    }
    Ok(sets)
}

fn listen(addr: SocketAddr, backlog: u32) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog.min(i32::MAX as u32) as i32)?;
    Ok(socket.into())
}

/// Accepts clients on every listener until the node shuts down.
pub async fn accept_loop(node: Arc<Node>, listeners: Vec<std::net::TcpListener>) {
    let mut tasks = tokio::task::JoinSet::new();
    for listener in listeners {
        let listener = match TcpListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "listener unusable");
                continue;
            }
        };
        let node = node.clone();
        tasks.spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = node.shutdown_requested() => return,
                    a = listener.accept() => a,
                };
                match accepted {
                    Ok((stream, peer)) => admit(&node, stream, peer).await,
                    Err(e) => {
                        // Out of descriptors and similar: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

/// Protected mode: with no password and no explicit bind, only loopback may connect.
fn refused_by_protected_mode(node: &Node, peer: &SocketAddr) -> bool {
    let s = node.config.settings_guard();
    s.protected_mode && s.bind_is_default && s.requirepass.is_none() && !peer.ip().is_loopback()
}

const PROTECTED_MODE_REPLY: &[u8] = b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. Only loopback clients are accepted. To accept others, set a password (requirepass), bind to explicit addresses, or turn protected mode off (CONFIG SET protected-mode no from a loopback client, or --protected-mode no at start).\r\n";

async fn admit(node: &Arc<Node>, mut stream: TcpStream, peer: SocketAddr) {
    node.stats
        .connections_received
        .fetch_add(1, Ordering::Relaxed);
    let settings = node.config.settings();
    if node.clients.len() >= settings.maxclients {
        node.stats
            .rejected_connections
            .fetch_add(1, Ordering::Relaxed);
        let _ = stream
            .write_all(format!("-{}\r\n", errors::MAX_CLIENTS).as_bytes())
            .await;
        return;
    }
    if refused_by_protected_mode(node, &peer) {
        node.stats
            .rejected_connections
            .fetch_add(1, Ordering::Relaxed);
        let _ = stream.write_all(PROTECTED_MODE_REPLY).await;
        return;
    }
    let _ = stream.set_nodelay(true);
    if settings.tcp_keepalive_secs > 0 {
        let secs = Duration::from_secs(settings.tcp_keepalive_secs);
        let keepalive = TcpKeepalive::new()
            .with_time(secs)
            .with_interval((secs / 3).max(Duration::from_secs(1)));
        let _ = SockRef::from(&stream).set_tcp_keepalive(&keepalive);
    }
    let Ok(local) = stream.local_addr() else {
        return;
    };
    let info = node.clients.register(peer, local, stream.as_raw_fd());
    let node = node.clone();
    let span = tracing::debug_span!("client", id = info.id, addr = %peer);
    tokio::spawn(
        async move {
            tracing::debug!("connected");
            let id = info.id;
            crate::connection::serve(node.clone(), stream, info).await;
            if let Some(totals) = node.clients.unregister(id) {
                node.stats.departed.add(totals);
            }
        }
        .instrument(span),
    );
}
