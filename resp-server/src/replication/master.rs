//! The master side: a connection that sent PSYNC (or SYNC) becomes a replica's link.
//! It gets the backlog from where it stopped, or a snapshot and the stream from the
//! snapshot's offset, and sends back REPLCONF ACKs.

use bytes::{Buf, BytesMut};
use std::sync::Arc;
use tessera_keyspace::ExpiryMode;
use tessera_keyspace::rdb::{AuxValue, write_locked};
use tessera_replication::{Attach, AttachedReplica, NewReplica};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::SyncRequest;
use crate::client::ClientInfo;
use crate::node::Node;
use crate::protocol::request::{Decoded, Limits, RequestDecoder};

/// How far a replica's stream may fall behind before its link is dropped (Redis's
/// default client-output-buffer-limit for replicas, hard limit).
const REPLICA_BUFFER_LIMIT: usize = 256 * 1024 * 1024;

/// Serves a replica on `stream` until its link closes.
pub async fn serve_replica(
    node: Arc<Node>,
    stream: TcpStream,
    info: Arc<ClientInfo>,
    request: SyncRequest,
    unread: BytesMut,
) {
    let new = || NewReplica {
        client_id: info.id,
        ip: info.addr.ip().to_string(),
        port: request.listening_port,
        limit: REPLICA_BUFFER_LIMIT,
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
    let send = async {
        writer.write_all(&head).await?;
        if let Some(rdb) = snapshot {
            writer.write_all(&rdb).await?;
        }
        replica.set_online();
        while let Some(bytes) = replica.next_bytes().await {
            writer.write_all(&bytes).await?;
        }
        tracing::warn!(replica = %info.addr, "replica too far behind; dropping its link");
        Ok::<(), std::io::Error>(())
    };
    let receive = read_acks(&node, &replica, &info, &mut reader, unread);
    tokio::select! {
        _ = send => {}
        _ = receive => {}
    }
    node.replication().detach(info.id);
    tracing::info!(replica = %info.addr, "replica link closed");
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
            if args.len() == 3
                && args.get(0).eq_ignore_ascii_case(b"REPLCONF")
                && args.get(1).eq_ignore_ascii_case(b"ACK")
                && let Some(offset) = std::str::from_utf8(args.get(2))
                    .ok()
                    .and_then(|t| t.parse().ok())
            {
                let now = crate::clock::unix_ms();
                node.replication().ack(replica, offset, now as u64);
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
