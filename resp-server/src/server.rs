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
        // SO_REUSEPORT lets our own accepting threads share the port, but it would also
        // let a second process (a second node started on the same port by mistake) share
        // it silently. A plain bind first proves the port is free, so that start fails
        // with Redis's text instead and a script can retry on another port.
        if port != 0
            && let Err(e) = probe(SocketAddr::new(ip, port))
        {
            if optional {
                tracing::debug!(address = %ip, error = %e, "optional bind address unavailable");
                continue;
            }
            return Err(bind_error(host, port, e));
        }
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
                Err(e) => return Err(bind_error(host, port, e)),
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

/// Redis's text for an address that cannot be listened on (the `Warning: ` prefix is
/// the logger's): `Could not create server TCP listening socket *:6379: bind: Address
/// already in use`. Tools and scripts search for it to retry on another port.
fn bind_error(host: &str, port: u16, e: io::Error) -> io::Error {
    io::Error::new(
        e.kind(),
        format!("Could not create server TCP listening socket {host}:{port}: {e}"),
    )
}

/// Binds `addr` without SO_REUSEPORT and lets it go: fails, with bind's error, when any
/// other socket holds the address.
fn probe(addr: SocketAddr) -> io::Result<()> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
        .map_err(|e| step("creating socket", e))?;
    if addr.is_ipv6() {
        socket
            .set_only_v6(true)
            .map_err(|e| step("setsockopt", e))?;
    }
    // SO_REUSEADDR as Redis sets it: connections in TIME_WAIT do not hold the port.
    socket
        .set_reuse_address(true)
        .map_err(|e| step("setsockopt", e))?;
    socket.bind(&addr.into()).map_err(|e| step("bind", e))
}

/// Prefixes an error with the system call that failed, as Redis's anet layer does.
fn step(call: &str, e: io::Error) -> io::Error {
    let text = e.to_string();
    let text = text
        .rfind(" (os error ")
        .map_or(text.as_str(), |at| &text[..at]);
    io::Error::new(e.kind(), format!("{call}: {text}"))
}

fn listen(addr: SocketAddr, backlog: u32) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into()).map_err(|e| step("bind", e))?;
    socket
        .listen(backlog.min(i32::MAX as u32) as i32)
        .map_err(|e| step("listen", e))?;
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

/// Protected mode as Redis 7.0 applies it: while it is on and the default user has no
/// password, only loopback clients are served, whatever `bind` says (an explicit bind
/// list is no proof that the addresses are private).
fn refused_by_protected_mode(node: &Node, peer: &SocketAddr) -> bool {
    let s = node.config().settings_guard();
    s.protected_mode && s.requirepass.is_none() && !is_loopback(peer.ip())
}

/// What Redis 7.0 calls a local client: exactly 127.0.0.1 or ::1 (also written as an
/// IPv4-mapped IPv6 address). Not the rest of 127.0.0.0/8: redis-server refuses a
/// client from 127.0.0.2 in protected mode, and so does Tessera.
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4 == std::net::Ipv4Addr::LOCALHOST,
        IpAddr::V6(v6) => v6 == std::net::Ipv6Addr::LOCALHOST,
    }
}

/// Redis 7.0.15's reply, byte for byte: clients and operators search for this text.
const PROTECTED_MODE_REPLY: &[u8] =
    b"-DENIED Redis is running in protected mode because protected \
mode is enabled and no password is set for the default user. In this mode connections are only \
accepted from the loopback interface. If you want to connect from external computers to Redis you \
may adopt one of the following solutions: 1) Just disable protected mode sending the command \
'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same \
host the server is running, however MAKE SURE Redis is not publicly accessible from internet if \
you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just \
disable the protected mode by editing the Redis configuration file, and setting the protected \
mode option to 'no', and then restarting the server. 3) If you started the server manually just \
for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication \
password for the default user. NOTE: You only need to do one of the above things in order for \
the server to start accepting connections from the outside.\r\n";

async fn admit(node: &Arc<Node>, mut stream: TcpStream, peer: SocketAddr) {
    node.stats()
        .connections_received
        .fetch_add(1, Ordering::Relaxed);
    let settings = node.config().settings();
    if node.clients().len() >= settings.maxclients {
        node.stats()
            .rejected_connections
            .fetch_add(1, Ordering::Relaxed);
        let _ = stream
            .write_all(format!("-{}\r\n", errors::MAX_CLIENTS).as_bytes())
            .await;
        return;
    }
    if refused_by_protected_mode(node, &peer) {
        node.stats()
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
    let info = node.clients().register(peer, local, stream.as_raw_fd());
    let node = node.clone();
    let span = tracing::debug_span!("client", id = info.id, addr = %peer);
    tokio::spawn(
        async move {
            tracing::debug!("connected");
            let id = info.id;
            crate::connection::serve(node.clone(), stream, info).await;
            if let Some(totals) = node.clients().unregister(id) {
                node.stats().departed.add(totals);
            }
        }
        .instrument(span),
    );
}
