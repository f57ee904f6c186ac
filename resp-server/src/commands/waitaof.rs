//! WAITAOF numlocal numreplicas timeout (Redis 7.2): waits until this client's last
//! write is fsynced to this node's AOF (numlocal, 0 or 1) and reported fsynced by at
//! least numreplicas replicas (their `REPLCONF ACK ... FACK <offset>`), or the timeout
//! passes; answers `[local, replicas]` as counted then.

use std::sync::Arc;
use std::time::Duration;

use tessera_replication::ReplicationStream;

use super::Ctx;
use super::cursor::ArgCursor;
use crate::aof::Aof;
use crate::errors;
use crate::node::Node;
use crate::protocol::reply::Reply;

/// How often a waiter looks again without being woken: an acknowledgement that lands
/// between a count and the wait that follows it is seen at the latest then, and so is
/// the AOF being turned off.
const RECHECK: Duration = Duration::from_millis(100);

/// How many of (this node, its replicas) have `offset` fsynced.
fn counts(aof: Option<&Aof>, stream: &ReplicationStream, offset: u64) -> (i64, i64) {
    let local = aof.is_some_and(|a| a.fsynced() >= offset);
    (i64::from(local), stream.aof_acked_by(offset) as i64)
}

/// What the wait ended with.
enum Outcome {
    Counted(i64, i64),
    AofTurnedOff,
}

impl Outcome {
    fn write(self, r: &mut Reply) {
        match self {
            Outcome::Counted(local, replicas) => {
                r.array(2);
                r.int(local);
                r.int(replicas);
            }
            Outcome::AofTurnedOff => r.error(errors::WAITAOF_WITHOUT_AOF),
        }
    }
}

/// WAITAOF: checks in Redis 7.2's order (numlocal, numreplicas, timeout, role, AOF).
pub(super) fn waitaof(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some([numlocal, numreplicas, timeout]) = ctx.read(args.next_args()) else {
        return;
    };
    let Some(numlocal) = ctx.int_arg(numlocal) else {
        return;
    };
    if !(0..=1).contains(&numlocal) {
        ctx.reply.error(&errors::out_of_range(0, 1));
        return;
    }
    let Some(numreplicas) = ctx.int_arg(numreplicas) else {
        return;
    };
    if numreplicas < 0 {
        ctx.reply.error(errors::OUT_OF_RANGE_POSITIVE);
        return;
    }
    let Some(timeout_ms) = super::replication::wait_timeout(ctx, timeout) else {
        return;
    };
    if ctx.node.replication().is_replica() {
        ctx.reply.error(errors::WAITAOF_ON_REPLICA);
        return;
    }
    let aof: Option<Arc<Aof>> = ctx.node.aof().as_ref().cloned();
    if numlocal > 0 && aof.is_none() {
        ctx.reply.error(errors::WAITAOF_WITHOUT_AOF);
        return;
    }
    let stream = ctx.node.replication().clone();
    let offset = ctx.session.write_offset;
    let (local, replicas) = counts(aof.as_deref(), &stream, offset);
    // Inside EXEC nothing blocks: the counts as they are, as Redis answers there.
    let done = local >= numlocal && replicas >= numreplicas;
    if done || super::transaction::running(ctx.session) {
        Outcome::Counted(local, replicas).write(ctx.reply);
        return;
    }
    // Ask the replicas for their offsets now instead of at their next second.
    stream.request_acks();
    let node = ctx.node.clone();
    let deadline = (timeout_ms > 0)
        .then(|| tokio::time::Instant::now() + Duration::from_millis(timeout_ms as u64));
    ctx.defer(async move {
        let outcome = wait(&node, &stream, offset, (numlocal, numreplicas), deadline).await;
        move |r: &mut Reply| outcome.write(r)
    });
}

/// Waits until `wanted` (local, replicas) is reached or `deadline` passes.
async fn wait(
    node: &Node,
    stream: &ReplicationStream,
    offset: u64,
    wanted: (i64, i64),
    deadline: Option<tokio::time::Instant>,
) -> Outcome {
    loop {
        let aof: Option<Arc<Aof>> = node.aof().as_ref().cloned();
        if wanted.0 > 0 && aof.is_none() {
            // CONFIG SET appendonly no releases the waiter with the error, as in Redis.
            return Outcome::AofTurnedOff;
        }
        // Marked seen before counting, so a fsync after the count wakes the wait.
        let mut fsyncs = aof.as_ref().map(|a| a.durable_watch());
        if let Some(rx) = fsyncs.as_mut() {
            rx.borrow_and_update();
        }
        let (local, replicas) = counts(aof.as_deref(), stream, offset);
        if local >= wanted.0 && replicas >= wanted.1 {
            return Outcome::Counted(local, replicas);
        }
        let woken = async {
            tokio::select! {
                _ = stream.next_ack() => {}
                _ = async {
                    match fsyncs.as_mut() {
                        Some(rx) => { let _ = rx.changed().await; }
                        None => std::future::pending::<()>().await,
                    }
                } => {}
                _ = tokio::time::sleep(RECHECK) => {}
            }
        };
        match deadline {
            Some(at) => {
                if tokio::time::timeout_at(at, woken).await.is_err() {
                    let (local, replicas) = counts(aof.as_deref(), stream, offset);
                    return Outcome::Counted(local, replicas);
                }
            }
            None => woken.await,
        }
    }
}
