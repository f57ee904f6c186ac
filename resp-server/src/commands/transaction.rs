//! MULTI, EXEC, DISCARD, WATCH and UNWATCH.
//!
//! EXEC runs the queued commands as one step for every other client: it works out what
//! they touch (`transaction_plan`), routes them together in cluster mode (one slot, as
//! Redis's getNodeByQuery for EXEC), takes every lock they need up front
//! (`Keyspace::lock_transaction`), checks the WATCHed keys under those locks, runs
//! the ordinary handlers, and sends replicas what they changed as one MULTI ... EXEC
//! block before any lock is released. CLUSTER subcommands of a block reach the bus
//! engine together and are applied in one step, so no bus message lands between them.

use super::Ctx;
use super::cursor::ArgCursor;
use super::transaction_plan::plan;
use crate::catalog::{Command, CommandFlags, CommandId};
use crate::dispatch::{self, Request, Routed};
use crate::errors;
use crate::protocol::reply::Reply;
use crate::protocol::request::Args;
use crate::session::{Session, Transaction};
use crate::watch::Watching;
use tessera_cluster_bus::engine::{ClusterCommand, SetSlotAction};
use tessera_keyspace::key_slot;

/// MULTI.
pub(super) fn multi(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    if c.session.multi.is_some() {
        return c.reply.error(errors::MULTI_NESTED);
    }
    c.session.multi = Some(Transaction::default());
    c.reply.ok();
}

/// DISCARD.
pub(super) fn discard(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    match c.session.multi.take() {
        Some(_) => {
            c.session.watching = None;
            c.reply.ok();
        }
        None => c.reply.error(errors::DISCARD_WITHOUT_MULTI),
    }
}

/// WATCH key [key ...].
pub(super) fn watch(c: &mut Ctx<'_>, args: ArgCursor<'_>) {
    if c.session.multi.is_some() {
        return c.reply.error(errors::WATCH_IN_MULTI);
    }
    let db = c.db();
    let index = c.session.db;
    let now = c.now_ms;
    let registry = c.node.watches().clone();
    let watching = c
        .session
        .watching
        .get_or_insert_with(|| Watching::new(registry));
    for key in args.rest() {
        // Registered under the slot's lock: a write is either before (unseen) or after.
        let mut t = db.lock(key_slot(key));
        let deadline = if t.contains(key, now) {
            t.deadline(key)
        } else {
            None
        };
        watching.add(index, key, deadline);
    }
    c.reply.ok();
}

/// UNWATCH.
pub(super) fn unwatch(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    c.session.watching = None;
    c.reply.ok();
}

/// The commands that act on the transaction itself rather than being queued.
pub fn controls_transaction(id: CommandId) -> bool {
    matches!(
        id,
        CommandId::Exec
            | CommandId::Discard
            | CommandId::Multi
            | CommandId::Watch
            | CommandId::Quit
            | CommandId::Reset
    )
}

/// Why a command can't be queued, if it can't.
pub fn refuse_queuing(command: &Command) -> Option<&'static str> {
    command
        .meta
        .has(CommandFlags::NO_MULTI)
        .then_some(errors::NOT_IN_MULTI)
}

/// True while EXEC runs this connection's queued commands.
pub fn running(session: &Session) -> bool {
    session.engine_batch.is_some()
}

/// One queued command's reply: written already, or the next engine answer.
enum Part {
    Written(Vec<u8>),
    Engine,
}

pub(super) fn exec(ctx: &mut Ctx<'_>, _args: ArgCursor<'_>) {
    let Some(tx) = ctx.session.multi.take() else {
        return ctx.reply.error(errors::EXEC_WITHOUT_MULTI);
    };
    let asking = std::mem::take(&mut ctx.session.asking);
    // EXEC ends every WATCH, whatever it answers.
    let watching = ctx.session.watching.take();
    if tx.failed {
        return ctx.reply.error(errors::EXECABORT);
    }
    let databases = ctx.node.keyspace().database_count();
    let plan = plan(&tx.queued, ctx.session.db, watching.as_ref(), databases);
    let mut _gate = None;
    if ctx.settings.cluster_enabled && !ctx.session.master_link {
        let request = Request {
            is_write: plan.writes,
            asking,
            is_migrate: false,
            shard_pubsub: false,
        };
        match dispatch::route_keys(ctx, request, plan.keys.iter().copied()) {
            Routed::Here(gate) => _gate = gate,
            Routed::Answered => return,
        }
    }
    let node = std::sync::Arc::clone(ctx.node);
    // A queued scripting command takes the script engine: take it before the slots,
    // in the order every script takes them (see `crate::scripts`).
    let engine = plan.scripting.then(|| node.scripts().engine());
    let locks = node.keyspace().lock_transaction(&plan.footprint, &plan.dbs);
    if watching.is_some_and(|w| w.is_spoiled(ctx.now_ms)) {
        return ctx.reply.null_array();
    }
    ctx.session.engine_batch = Some(Vec::new());
    if ctx.records_changes() {
        ctx.session.tx_stream = Some(Vec::new());
    }
    let mut parts = Vec::with_capacity(tx.queued.len());
    for args in &tx.queued {
        let collected = ctx.session.engine_batch.as_ref().map_or(0, Vec::len);
        let mark = ctx.reply.len();
        dispatch::execute(ctx, Args::Owned(args));
        if ctx.session.deferred.take().is_some() {
            ctx.reply.truncate(mark);
            ctx.reply.error(errors::NOT_IN_MULTI);
        }
        if ctx.session.engine_batch.as_ref().map_or(0, Vec::len) > collected {
            parts.push(Part::Engine);
        } else {
            parts.push(Part::Written(ctx.reply.as_bytes()[mark..].to_vec()));
        }
        ctx.reply.truncate(mark);
    }
    if let Some(block) = ctx.session.tx_stream.take() {
        if !block.is_empty() {
            ctx.session.write_offset = node.replication().feed_block(&block);
        }
    }
    // Released here: blocked clients woken by the block are served after all of it.
    drop(locks);
    drop(engine);
    let batch = ctx.session.engine_batch.take().unwrap_or_default();
    let cluster = ctx.node.cluster().cloned();
    // A SETSLOT MIGRATING in the batch waits for the client threads, as it does alone
    // (see `cluster::setslot`), before EXEC's reply lets a MIGRATE follow.
    let migrating = batch.iter().any(|c| {
        matches!(
            c,
            ClusterCommand::SetSlot {
                action: SetSlotAction::Migrating(_),
                ..
            }
        )
    });
    match cluster {
        Some(cluster) if !batch.is_empty() => ctx.defer(async move {
            let answer = cluster.command(ClusterCommand::Batch(batch)).await;
            if migrating {
                node.quiesce_clients().await;
            }
            move |reply: &mut Reply| write_exec(reply, parts, answer)
        }),
        _ => write_exec(
            ctx.reply,
            parts,
            Ok(tessera_cluster_bus::engine::Answer::Batch(Vec::new())),
        ),
    }
}

fn write_exec(
    reply: &mut Reply,
    parts: Vec<Part>,
    answer: Result<tessera_cluster_bus::engine::Answer, tessera_cluster_bus::engine::CommandError>,
) {
    use tessera_cluster_bus::engine::Answer;
    let mut answers = match answer {
        Ok(Answer::Batch(answers)) => answers.into_iter(),
        Ok(_) => Vec::new().into_iter(),
        Err(e) => vec![Err(e)].into_iter(),
    };
    reply.array(parts.len());
    for part in parts {
        match part {
            Part::Written(bytes) => reply.append_raw(&bytes),
            Part::Engine => match answers.next() {
                Some(a) => super::cluster::write_answer(reply, a),
                None => reply.error(errors::NO_BUS_ANSWER),
            },
        }
    }
}
