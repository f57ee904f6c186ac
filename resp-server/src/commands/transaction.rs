//! MULTI, EXEC and DISCARD.
//!
//! What Tessera runs as a transaction today is what redis-cli's cluster tools need: a
//! block of commands without keys, such as `CLUSTER DELSLOTS; CLUSTER ADDSLOTS; CLUSTER
//! BUMPEPOCH` from `--cluster fix`. The CLUSTER subcommands of a block reach the bus
//! engine together and are applied in one step, so no bus message lands between them:
//! the isolation Redis gives. Commands with keys are refused while queuing, with a
//! clear error, rather than run without isolation from other clients.

use super::Ctx;
use crate::catalog::{Command, CommandFlags, CommandId};
use crate::dispatch;
use crate::errors;
use crate::protocol::reply::Reply;
use crate::protocol::request::Args;
use crate::session::Transaction;
use tessera_cluster_bus::engine::{ClusterCommand, SetSlotAction};

/// MULTI.
pub(super) fn multi(c: &mut Ctx<'_>, _: Args<'_>) {
    if c.session.multi.is_some() {
        return c.reply.error(errors::MULTI_NESTED);
    }
    c.session.multi = Some(Transaction::default());
    c.reply.ok();
}

/// DISCARD.
pub(super) fn discard(c: &mut Ctx<'_>, _: Args<'_>) {
    match c.session.multi.take() {
        Some(_) => c.reply.ok(),
        None => c.reply.error(errors::DISCARD_WITHOUT_MULTI),
    }
}

/// The commands that act on the transaction itself rather than being queued.
pub fn controls_transaction(id: CommandId) -> bool {
    matches!(
        id,
        CommandId::Exec
            | CommandId::Discard
            | CommandId::Multi
            | CommandId::Quit
            | CommandId::Reset
    )
}

/// Why a command can't be queued, if it can't.
pub fn refuse_queuing(command: &Command) -> Option<&'static str> {
    let meta = command.meta;
    if meta.may_have_keys() {
        return Some(errors::MULTI_WITH_KEYS);
    }
    if meta.has(CommandFlags::NO_MULTI) {
        return Some(errors::NOT_IN_MULTI);
    }
    None
}

/// One queued command's reply: written already, or the next engine answer.
enum Part {
    Written(Vec<u8>),
    Engine,
}

pub(super) fn exec(ctx: &mut Ctx<'_>, _args: Args<'_>) {
    let Some(tx) = ctx.session.multi.take() else {
        return ctx.reply.error(errors::EXEC_WITHOUT_MULTI);
    };
    if tx.failed {
        return ctx.reply.error(errors::EXECABORT);
    }
    ctx.session.engine_batch = Some(Vec::new());
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
    let node = std::sync::Arc::clone(ctx.node);
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
