//! One bus connection: frames in, messages out.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use tessera_cluster_bus::topology::LinkId;
use tessera_cluster_bus::wire::{FrameCheck, check_frame};

/// Largest message accepted from a peer. Nothing is allocated up front for a claimed
/// length; the buffer grows as bytes arrive, so a lying header costs nothing.
const MAX_MESSAGE: usize = 1 << 30;

/// Bytes of queued messages gathered into one write.
const WRITE_BATCH: usize = 256 * 1024;

/// What a link reports to the driver.
#[derive(Debug)]
pub enum LinkEvent {
    /// An outbound connection is established.
    Connected {
        /// The link.
        link: LinkId,
        /// Our address on it.
        local_ip: String,
    },
    /// An outbound connection could not be made.
    ConnectFailed {
        /// The link.
        link: LinkId,
    },
    /// A complete frame arrived.
    Frame {
        /// The link.
        link: LinkId,
        /// The frame.
        bytes: Vec<u8>,
    },
    /// The peer closed the link, or it broke.
    Closed {
        /// The link.
        link: LinkId,
    },
}

/// Runs an established link until the peer closes it (reported) or the driver drops its
/// sender (the engine closed it: not reported).
pub async fn run(
    link: LinkId,
    stream: TcpStream,
    mut outgoing: mpsc::UnboundedReceiver<Vec<u8>>,
    events: mpsc::UnboundedSender<LinkEvent>,
) {
    let _ = stream.set_nodelay(true);
    let (mut reader, mut writer) = stream.into_split();
    let read_loop = async {
        let mut buf: Vec<u8> = Vec::with_capacity(8192);
        // Where the unread part of `buf` starts: frames are cut from the front without
        // moving the rest each time.
        let mut start = 0;
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            match check_frame(&buf[start..]) {
                FrameCheck::CloseLink => {
                    tracing::warn!(
                        link,
                        "bad message length or signature received from the cluster bus; closing the link"
                    );
                    return;
                }
                FrameCheck::Frame(len) if len > MAX_MESSAGE => {
                    tracing::warn!(link, len, "oversized cluster bus message; closing the link");
                    return;
                }
                FrameCheck::Frame(len) if buf.len() - start >= len => {
                    let frame = buf[start..start + len].to_vec();
                    start += len;
                    if events
                        .send(LinkEvent::Frame { link, bytes: frame })
                        .is_err()
                    {
                        return;
                    }
                    continue;
                }
                _ => {}
            }
            buf.drain(..start);
            start = 0;
            match reader.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    };
    let write_loop = async {
        let mut batch: Vec<u8> = Vec::new();
        while let Some(bytes) = outgoing.recv().await {
            // What queued meanwhile leaves in the same write: a PUBLISH flood is many
            // small messages, and one syscall each would be the bottleneck.
            let first = if outgoing.is_empty() {
                bytes
            } else {
                batch.clear();
                batch.extend_from_slice(&bytes);
                while batch.len() < WRITE_BATCH {
                    match outgoing.try_recv() {
                        Ok(more) => batch.extend_from_slice(&more),
                        Err(_) => break,
                    }
                }
                std::mem::take(&mut batch)
            };
            if writer.write_all(&first).await.is_err() {
                return true;
            }
            if first.capacity() <= WRITE_BATCH * 2 {
                batch = first;
            }
        }
        // The driver dropped the sender: the engine closed this link.
        let _ = writer.shutdown().await;
        false
    };
    tokio::select! {
        _ = read_loop => {
            let _ = events.send(LinkEvent::Closed { link });
        }
        broke = write_loop => {
            if broke {
                let _ = events.send(LinkEvent::Closed { link });
            }
        }
    }
}

/// Where an outbound link goes, and the local address it leaves from.
pub struct Target {
    /// The peer's IP.
    pub ip: String,
    /// Its bus port.
    pub port: u16,
    /// bind-source-addr, if set.
    pub source: Option<std::net::IpAddr>,
}

/// Connects an outbound link and then runs it.
pub async fn connect(
    link: LinkId,
    target: Target,
    timeout: std::time::Duration,
    outgoing: mpsc::UnboundedReceiver<Vec<u8>>,
    events: mpsc::UnboundedSender<LinkEvent>,
) {
    let connect = super::net::connect_from(&target.ip, target.port, target.source);
    let attempt = tokio::time::timeout(timeout, connect).await;
    let stream = match attempt {
        Ok(Ok(s)) => s,
        _ => {
            let _ = events.send(LinkEvent::ConnectFailed { link });
            return;
        }
    };
    let local_ip = stream
        .local_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    if events
        .send(LinkEvent::Connected { link, local_ip })
        .is_err()
    {
        return;
    }
    run(link, stream, outgoing, events).await;
}
