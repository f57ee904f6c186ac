//! Refusals that depend on the node's state rather than on the command's arguments,
//! checked after routing in Redis 7.0's order: a failed background save (MISCONF),
//! too few good replicas (NOREPLICAS), a read-only replica (READONLY), a replica cut
//! off from its master that must not serve stale data (MASTERDOWN), then loading.
//! Clients see which one came first, so the order is part of the behaviour.

use crate::catalog::{Command, CommandFlags, CommandId};
use crate::commands::Ctx;

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

/// The first state refusal that applies to `command` now, if any.
pub fn refusal(ctx: &Ctx<'_>, command: &Command) -> Option<&'static str> {
    let settings = ctx.settings;
    let node = ctx.node;
    let meta = command.meta;
    let is_write = meta.is_write();
    // PING too: a client that only pings must learn that writes are refused.
    if (is_write || meta.id == CommandId::Ping)
        && settings.stop_writes_on_bgsave_error
        && !settings.save_points.is_empty()
        && !node.snapshots().last_bgsave_ok()
    {
        return Some(MISCONF);
    }
    if is_write && !enough_good_replicas(ctx) {
        return Some(NOREPLICAS);
    }
    let is_replica = node.replication().is_replica();
    if is_write && settings.replication.read_only && is_replica {
        return Some(READONLY);
    }
    if is_replica
        && !settings.replication.serve_stale_data
        && !meta.has(CommandFlags::STALE)
        && crate::replication::link_down_since(node).is_some()
    {
        return Some(MASTERDOWN);
    }
    // A short load is waited for, as redis-server's clients wait for its one thread.
    if node.loading().is_active()
        && !meta.has(CommandFlags::LOADING)
        && !node.loading().wait_done(crate::loading::Loading::SHORT)
    {
        return Some(LOADING);
    }
    None
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
