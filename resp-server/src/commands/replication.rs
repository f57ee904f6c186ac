//! REPLICAOF / SLAVEOF, ROLE, WAIT, and the commands replicas send their master
//! (PSYNC, SYNC, REPLCONF).

use std::time::Duration;
use tessera_replication::{ReplicaState, Role};

use super::cursor::ArgCursor;
use super::{Ctx, is};
use crate::errors;
use crate::replication::{LinkState, SyncRequest};

/// PSYNC.
pub(super) fn psync(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    sync(c, a, false)
}

/// SYNC.
pub(super) fn sync_command(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    sync(c, a, true)
}

pub(super) fn replicaof(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    if ctx.settings.cluster_enabled {
        ctx.reply.error(errors::REPLICAOF_IN_CLUSTER);
        return;
    }
    let Some([host, port]) = ctx.read(args.next_args()) else {
        return;
    };
    if is(host, "NO") && is(port, "ONE") {
        if ctx.node.replication().is_replica() {
            crate::replication::promote(ctx.node);
            tracing::info!("MASTER MODE enabled (REPLICAOF NO ONE)");
        }
        ctx.reply.ok();
        return;
    }
    let Some(port) = ctx.int_arg(port) else {
        return;
    };
    let Ok(port) = u16::try_from(port) else {
        ctx.reply.error(errors::INVALID_MASTER_PORT);
        return;
    };
    let host = String::from_utf8_lossy(host).into_owned();
    let same = ctx
        .node
        .master_link()
        .as_ref()
        .is_some_and(|l| l.host.eq_ignore_ascii_case(&host) && l.port == port);
    if same {
        ctx.reply.simple("OK Already connected to specified master");
        return;
    }
    tracing::info!(%host, port, "REPLICAOF: following a new master");
    crate::replication::replicate(ctx.node, host, port);
    ctx.reply.ok();
}

pub(super) fn role(ctx: &mut Ctx<'_>, _args: ArgCursor<'_>) {
    let stream = &ctx.node.replication();
    match stream.role() {
        Role::Master => {
            let replicas: Vec<_> = stream
                .replicas()
                .into_iter()
                .filter(|r| r.state() == ReplicaState::Online)
                .collect();
            ctx.reply.array(3);
            ctx.reply.bulk(b"master");
            ctx.reply.int(stream.offset() as i64);
            ctx.reply.array(replicas.len());
            for r in replicas {
                ctx.reply.array(3);
                ctx.reply.bulk(r.ip.as_bytes());
                ctx.reply.bulk(r.port.to_string().as_bytes());
                let acked = r.ack_offset.load(std::sync::atomic::Ordering::Relaxed);
                ctx.reply.bulk(acked.to_string().as_bytes());
            }
        }
        Role::Replica { host, port } => {
            let state = ctx
                .node
                .master_link()
                .as_ref()
                .map_or(LinkState::Connecting, |l| l.state());
            ctx.reply.array(5);
            ctx.reply.bulk(b"slave");
            ctx.reply.bulk(host.as_bytes());
            ctx.reply.int(i64::from(port));
            ctx.reply.bulk(match state {
                LinkState::Connecting => b"connecting".as_slice(),
                LinkState::Handshake => b"handshake",
                LinkState::Transfer => b"sync",
                LinkState::Connected => b"connected",
            });
            let offset = if state == LinkState::Connected {
                stream.offset() as i64
            } else {
                -1
            };
            ctx.reply.int(offset);
        }
    }
}

/// The milliseconds WAIT and WAITAOF wait at most (0: no limit), or Redis's error for
/// a timeout that is not a non-negative integer.
pub(super) fn wait_timeout(ctx: &mut Ctx<'_>, text: &[u8]) -> Option<i64> {
    let Some(ms) = super::parse_i64(text) else {
        ctx.reply.error(errors::TIMEOUT_NOT_INTEGER);
        return None;
    };
    if ms < 0 {
        ctx.reply.error(errors::TIMEOUT_NEGATIVE);
        return None;
    }
    Some(ms)
}

/// WAIT numreplicas timeout: answers how many replicas acknowledged this client's
/// last write, once enough did or the timeout passed.
pub(super) fn wait(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    if ctx.node.replication().is_replica() {
        ctx.reply.error(errors::WAIT_ON_REPLICA);
        return;
    }
    let Some([wanted, timeout]) = ctx.read(args.next_args()) else {
        return;
    };
    let Some(wanted) = ctx.int_arg(wanted) else {
        return;
    };
    let Some(timeout_ms) = wait_timeout(ctx, timeout) else {
        return;
    };
    let stream = ctx.node.replication().clone();
    let offset = ctx.session.write_offset;
    let acked = stream.acked_by(offset);
    // Inside EXEC nothing blocks: the count as it is, as Redis answers there.
    if acked as i64 >= wanted || super::transaction::running(ctx.session) {
        ctx.reply.int(acked as i64);
        return;
    }
    // Ask the replicas for their offsets now instead of at their next second.
    stream.request_acks();
    ctx.defer(async move {
        let deadline = (timeout_ms > 0)
            .then(|| tokio::time::Instant::now() + Duration::from_millis(timeout_ms as u64));
        loop {
            let acked = stream.acked_by(offset);
            if acked as i64 >= wanted {
                break;
            }
            let next = stream.next_ack();
            match deadline {
                Some(at) => {
                    if tokio::time::timeout_at(at, next).await.is_err() {
                        break;
                    }
                }
                None => next.await,
            }
        }
        let acked = stream.acked_by(offset) as i64;
        move |r: &mut crate::protocol::reply::Reply| r.int(acked)
    });
}

/// PSYNC replid offset / SYNC: the connection becomes a replica's link once the
/// replies before it are written.
fn sync(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>, legacy: bool) {
    let node = ctx.node;
    if node.replication().is_replica() {
        let connected = node
            .master_link()
            .as_ref()
            .is_some_and(|l| l.state() == LinkState::Connected);
        if !connected {
            ctx.reply.error(errors::NOMASTERLINK);
            return;
        }
    }
    let (replid, next) = if legacy {
        ("?".to_string(), -1)
    } else {
        let Some([replid, next]) = ctx.read(args.next_args()) else {
            return;
        };
        let Some(next) = ctx.int_arg(next) else {
            return;
        };
        (String::from_utf8_lossy(replid).into_owned(), next)
    };
    ctx.session.replica_sync = Some(SyncRequest {
        replid,
        next,
        legacy,
        listening_port: ctx.session.replica_port,
    });
}

pub(super) fn replconf(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let Some(options) = args.rest_in_pairs() else {
        ctx.reply.error(errors::SYNTAX);
        return;
    };
    for (option, value) in options {
        if is(option, "listening-port") {
            let Some(port) = ctx.int_arg(value) else {
                return;
            };
            ctx.session.replica_port = u16::try_from(port).unwrap_or(0);
        } else if is(option, "ack") || is(option, "getack") {
            // Only meaningful on a replication link, which handles them itself; Redis
            // does not answer them on an ordinary connection either.
            return;
        } else if !(is(option, "ip-address") || is(option, "capa") || is(option, "rdb-only")) {
            ctx.reply.error(&errors::replconf_option(option));
            return;
        }
    }
    ctx.reply.ok();
}
