//! The master side: a connection that sent PSYNC (or SYNC) becomes a replica's link.
//! It gets the backlog from where it stopped, or a snapshot and the stream from the
//! snapshot's offset, and sends back REPLCONF ACKs.

use bytes::{Buf, BytesMut};
use std::sync::Arc;
use tessera_keyspace::ExpiryMode;
use tessera_keyspace::rdb::{AuxValue, write_locked};
use tessera_replication::{Attach, AttachedReplica, NewReplica};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use super::SyncRequest;
use crate::client::ClientInfo;
use crate::node::Node;
use crate::output::{Watch, WriteEnd, write_watched};
use crate::protocol::output_limit::SoftLimitClock;
use crate::protocol::request::{Decoded, Limits, RequestDecoder};

/// Serves a replica on `stream` until its link closes.
pub async fn serve_replica(
    node: Arc<Node>,
    stream: TcpStream,
    info: Arc<ClientInfo>,
    request: SyncRequest,
    unread: BytesMut,
) {
    info.replica
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let new = || NewReplica {
        client_id: info.id,
        ip: info.addr.ip().to_string(),
        port: request.listening_port,
    };
    let attach = if request.legacy {
        Attach::Full
    } else {
        node.replication()
            .try_continue(&request.replid, request.next, new())
    };
    let (replica, head, snapshot) = match attach {
        Attach::Continue(r, line) => {
            tracing::info!(replica = %info.addr, "partial resynchronization accepted");
            (r, line.into_bytes(), None)
        }
        Attach::Full => {
            let started = std::time::Instant::now();
            let node2 = node.clone();
            let new = new();
            let taken = tokio::task::spawn_blocking(move || full_sync_snapshot(&node2, new)).await;
            let Ok((r, replid, offset, rdb, keys)) = taken else {
                return;
            };
            tracing::info!(
                replica = %info.addr,
                keys,
                bytes = rdb.len(),
                ms = started.elapsed().as_millis() as u64,
                "full resynchronization: snapshot taken"
            );
            let mut head = Vec::new();
            if !request.legacy {
                head.extend_from_slice(format!("+FULLRESYNC {replid} {offset}\r\n").as_bytes());
            }
            crate::protocol::command::bulk_header(&mut head, rdb.len());
            (r, head, Some(rdb))
        }
    };
    let (mut reader, mut writer) = stream.into_split();
    let send = send_stream(&node, &mut writer, &replica, &head, snapshot.as_deref());
    let receive = read_acks(&node, &replica, &info, &mut reader, unread);
    tokio::select! {
        ended = send => if let Err(WriteEnd::OverLimit { queued }) = ended {
            tracing::warn!(
                replica = %info.describe(),
                queued,
                "Client scheduled to be closed ASAP for overcoming of output buffer limits."
            );
        },
        _ = receive => {}
    }
    node.replication().detach(info.id);
    tracing::info!(replica = %info.addr, "replica link closed");
}

/// Sends the sync's head and snapshot, then the stream as it is fed, until the link
/// fails or the replica's queued stream breaks client-output-buffer-limit's replica
/// class (the hard limit as it is fed, the soft one while a write waits).
async fn send_stream(
    node: &Node,
    writer: &mut tokio::net::tcp::OwnedWriteHalf,
    replica: &AttachedReplica,
    head: &[u8],
    snapshot: Option<&[u8]>,
) -> Result<(), WriteEnd> {
    let limit = || node.config().settings_guard().output_limits.replica;
    let clock = SoftLimitClock::default();
    let over = || WriteEnd::OverLimit {
        queued: replica.queued(),
    };
    for part in std::iter::once(head).chain(snapshot) {
        let watch = Watch {
            limit,
            clock: &clock,
            queued: |_| replica.queued(),
            sent: |_| {},
        };
        tokio::select! {
            written = write_watched(writer, part, watch) => written?,
            () = replica.until_overflowed() => return Err(over()),
        }
    }
    replica.set_online();
    while let Some(bytes) = replica.next_bytes().await {
        let watch = Watch {
            limit,
            clock: &clock,
            queued: |_| replica.queued(),
            sent: |n| replica.sent(n),
        };
        tokio::select! {
            written = write_watched(writer, &bytes, watch) => written?,
            () = replica.until_overflowed() => break,
        }
    }
    Err(over())
}

/// Locks everything, attaches the replica at the current offset and encodes the data
/// as of that offset. Runs off the async threads: it holds every slot lock while it
/// encodes, so clients wait for it (a known cost: Redis forks instead).
fn full_sync_snapshot(
    node: &Node,
    new: NewReplica,
) -> (Arc<AttachedReplica>, String, u64, Vec<u8>, u64) {
    let settings = node.config().settings();
    let now = crate::clock::unix_ms();
    let mut locks = node.keyspace().lock_all();
    // From now on expired keys reach replicas as DEL, in order.
    node.keyspace()
        .set_expiry_mode_locked(&mut locks, ExpiryMode::Journal);
    // Libraries change under their own lock, not the slots', and a change reaches the
    // stream before that lock is released: holding it while attaching puts every
    // change either in the snapshot or in the stream after it, never both.
    let functions = node.scripts().functions_if_built();
    let libraries: Vec<Arc<[u8]>> = functions
        .as_ref()
        .map(|f| f.libraries().map(|l| Arc::clone(&l.code)).collect())
        .unwrap_or_default();
    let (replica, replid, offset) = node.replication().attach_for_full_sync(new);
    drop(functions);
    let mut aux = vec![
        ("redis-ver", AuxValue::Text(b"7.0.15")),
        ("redis-bits", AuxValue::Int(64)),
        ("ctime", AuxValue::Int(now / 1000)),
        ("repl-id", AuxValue::Text(replid.as_bytes())),
        ("repl-offset", AuxValue::Int(offset as i64)),
    ];
    aux.extend(libraries.iter().map(|c| ("", AuxValue::Library(c))));
    let (rdb, keys) = write_locked(&mut locks, &aux, now, settings.rdbcompression);
    (replica, replid, offset, rdb, keys)
}

/// Reads what the replica sends: REPLCONF ACK <offset> once a second.
async fn read_acks(
    node: &Node,
    replica: &AttachedReplica,
    info: &ClientInfo,
    reader: &mut tokio::net::tcp::OwnedReadHalf,
    mut input: BytesMut,
) {
    let mut decoder = RequestDecoder::new();
    let limits = Limits {
        max_bulk_len: 1 << 20,
        authenticated: true,
    };
    loop {
        loop {
            let used = match decoder.decode(&input, limits) {
                Ok(Decoded::Request(used)) => used,
                Ok(Decoded::Incomplete(_)) => break,
                Err(_) => return,
            };
            let args = decoder.args(&input[..used]);
            let is_ack = args.len() >= 3
                && args.get(0).eq_ignore_ascii_case(b"REPLCONF")
                && args.get(1).eq_ignore_ascii_case(b"ACK");
            let words: Vec<&[u8]> = if is_ack {
                (0..args.len()).map(|i| args.get(i)).collect()
            } else {
                Vec::new()
            };
            if let Some((offset, fack)) = tessera_replication::replica_link::parse_ack(&words) {
                let now = crate::clock::unix_ms();
                node.replication().ack(replica, offset, fack, now as u64);
                info.touch(now);
            }
            input.advance(used);
        }
        input.reserve(4096);
        match reader.read_buf(&mut input).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}
