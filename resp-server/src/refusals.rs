//! Refusals that depend on the node's state rather than on the command's arguments,
//! checked after routing in Redis 7.0's order: memory over `maxmemory` that eviction
//! cannot bring back (OOM), a failed background save (MISCONF),
//! too few good replicas (NOREPLICAS), a read-only replica (READONLY), a replica cut
//! off from its master that must not serve stale data (MASTERDOWN), then loading.
//! Clients see which one came first, so the order is part of the behaviour.

use crate::catalog::{Command, CommandFlags, CommandId};
use crate::commands::Ctx;
use crate::eviction::Outcome;
use crate::protocol::request::Args;

/// Redis's MISCONF reply for a failed background save.
pub const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";
/// Redis's NOREPLICAS reply.
pub const NOREPLICAS: &str = "NOREPLICAS Not enough good replicas to write.";
/// Redis's READONLY reply.
pub const READONLY: &str = "READONLY You can't write against a read only replica.";
/// Redis's MASTERDOWN reply.
pub const MASTERDOWN: &str =
    "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";
/// Redis's LOADING reply.
pub const LOADING: &str = "LOADING Redis is loading the dataset in memory";

/// The first state refusal that applies to `command` (sent as `args`) now, if any.
pub fn refusal(
    ctx: &Ctx<'_>,
    command: &Command,
    args: Args<'_>,
) -> Option<std::borrow::Cow<'static, str>> {
    let settings = ctx.settings;
    let node = ctx.node;
    let meta = command.meta;
    // A script's or function's declared flags replace the command's, as Redis's
    // scriptFlagsToCmdFlags does (no-writes implies allow-oom).
    let declared = crate::commands::declared_script_flags(ctx, meta.id, args);
    let (is_write, denyoom, stale) = match declared {
        Some(f) => (!f.no_writes, !f.allow_oom && !f.no_writes, f.allow_stale),
        None => (
            meta.is_write(),
            meta.has(CommandFlags::DENYOOM),
            meta.has(CommandFlags::STALE),
        ),
    };
    if settings.memory.maxmemory > 0 && out_of_memory(ctx, command, args, denyoom) {
        return Some(crate::eviction::OOM.into());
    }
    // PING too: a client that only pings must learn that writes are refused.
    if (is_write || meta.id == CommandId::Ping)
        && settings.stop_writes_on_bgsave_error
        && !settings.save_points.is_empty()
        && !node.snapshots().last_bgsave_ok()
    {
        return Some(MISCONF.into());
    }
    if is_write && !enough_good_replicas(ctx) {
        return Some(NOREPLICAS.into());
    }
    let is_replica = node.replication().is_replica();
    if is_write && settings.replication.read_only && is_replica {
        return Some(READONLY.into());
    }
    if !ctx.session.resp3 && !allowed_subscribed(meta.id) && ctx.session.subscribed() {
        return Some(
            format!(
                "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
                meta.name
            )
            .into(),
        );
    }
    if is_replica
        && !settings.replication.serve_stale_data
        && !stale
        && crate::replication::link_down_since(node).is_some()
    {
        return Some(MASTERDOWN.into());
    }
    // A short load is waited for, as redis-server's clients wait for its one thread.
    if node.loading().is_active()
        && !meta.has(CommandFlags::LOADING)
        && !node.loading().wait_done(crate::loading::Loading::SHORT)
    {
        return Some(LOADING.into());
    }
    None
}

/// What a RESP2 connection in subscribed mode may still run.
fn allowed_subscribed(id: CommandId) -> bool {
    use CommandId as C;
    matches!(
        id,
        C::Ping
            | C::Subscribe
            | C::Ssubscribe
            | C::Unsubscribe
            | C::Sunsubscribe
            | C::Psubscribe
            | C::Punsubscribe
            | C::Quit
            | C::Reset
    )
}

/// Redis's maxmemory step of processCommand: evicts first if the node is over the
/// limit (whatever the command), then says whether the command must be refused: one
/// flagged denyoom (EXEC when it queued one), or any command queued in MULTI, since
/// queuing takes memory too; never EXEC, DISCARD, QUIT or RESET on their own.
fn out_of_memory(ctx: &Ctx<'_>, command: &Command, args: Args<'_>, denyoom: bool) -> bool {
    let node = ctx.node;
    let meta = command.meta;
    let queuing = ctx.session.multi.as_ref();
    let denyoom = denyoom || (meta.id == CommandId::Exec && queuing.is_some_and(|tx| tx.denyoom));
    if denyoom {
        node.eviction().note_write(node, args.byte_len());
    }
    let outcome = node.eviction().perform(node, &ctx.settings.memory);
    if matches!(
        meta.id,
        CommandId::Eval | CommandId::Evalsha | CommandId::Fcall | CommandId::FcallRo
    ) {
        // Kept for the script's own calls, as Redis's script_oom (the _RO forms of
        // EVAL leave it as it was there too).
        node.scripts().set_oom_at_start(outcome == Outcome::Fail);
    }
    let in_multi = queuing.is_some()
        && !matches!(
            meta.id,
            CommandId::Exec | CommandId::Discard | CommandId::Quit | CommandId::Reset
        );
    outcome == Outcome::Fail && (denyoom || in_multi)
}

/// min-replicas-to-write: a master needs that many replicas that acknowledged within
/// min-replicas-max-lag seconds (either at 0 turns the rule off).
fn enough_good_replicas(ctx: &Ctx<'_>) -> bool {
    let r = &ctx.settings.replication;
    if r.min_replicas_to_write == 0 || r.min_replicas_max_lag_secs == 0 {
        return true;
    }
    if ctx.node.replication().is_replica() {
        return true;
    }
    let good = ctx
        .node
        .replication()
        .good_replicas(ctx.now_ms as u64, r.min_replicas_max_lag_secs);
    good >= r.min_replicas_to_write
}
