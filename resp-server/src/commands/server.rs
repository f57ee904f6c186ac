//! INFO, CONFIG, DBSIZE, FLUSHALL, FLUSHDB, TIME, LASTSAVE, SHUTDOWN (DEBUG has its own file).

use super::cursor::ArgCursor;
use super::{Ctx, help_reply, is};
use crate::errors;
use crate::snapshots::{self, SaveError, SaveOnExit};

/// CONFIG REWRITE.
pub(super) fn config_rewrite(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    match c.node.config().rewrite() {
        Ok(()) => c.reply.ok(),
        Err(e) => c.reply.error(&e),
    }
}

/// CONFIG HELP.
pub(super) fn help(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    help_reply(
        c.reply,
        "CONFIG",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    )
}

/// DBSIZE.
pub(super) fn dbsize(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    c.reply.int(c.db().len() as i64)
}

/// FLUSHALL.
pub(super) fn flushall(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    flush(c, a, true)
}

/// FLUSHDB.
pub(super) fn flushdb(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    flush(c, a, false)
}

/// LASTSAVE.
pub(super) fn lastsave(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    c.reply.int(c.node.snapshots().last_save())
}

pub(super) fn info(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let sections: Vec<String> = args
        .rest()
        .map(|s| String::from_utf8_lossy(s).to_ascii_lowercase())
        .collect();
    let text = crate::info::render(ctx.node, &sections);
    ctx.reply.verbatim(text.as_bytes());
}

pub(super) fn config_get(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let patterns: Vec<&[u8]> = args.rest().collect();
    let pairs = ctx.node.config().get(&patterns);
    ctx.reply.map(pairs.len());
    for (name, value) in pairs {
        ctx.reply.bulk(name.as_bytes());
        ctx.reply.bulk(value.as_bytes());
    }
}

pub(super) fn config_set(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let Some(pairs) = args.rest_in_pairs() else {
        ctx.reply.error(&errors::wrong_arity("config|set"));
        return;
    };
    let pairs: Vec<(&[u8], &[u8])> = pairs.collect();
    match ctx.node.config().set(&pairs, ctx.session.local) {
        Ok(()) => {
            ctx.node.journal_expiry_for_notifications();
            ctx.reply.ok()
        }
        Err(e) => ctx.reply.error(&e),
    }
}

pub(super) fn config_resetstat(ctx: &mut Ctx<'_>, _args: ArgCursor<'_>) {
    ctx.node.stats().reset();
    ctx.node.eviction().reset_stats();
    ctx.node.clients().reset_counters();
    for (_, db) in ctx.node.keyspace().existing() {
        db.reset_stats();
    }
    ctx.reply.ok();
}

fn flush(ctx: &mut Ctx<'_>, args: ArgCursor<'_>, all: bool) {
    let mut read = args;
    // ASYNC, or no mode and lazyfree-lazy-user-flush: free on the lazyfree thread.
    let lazy = match (read.next_arg(), read.is_done()) {
        (Err(_), _) => ctx.settings.lazyfree_lazy_user_flush,
        (Ok(mode), true) if is(mode, "ASYNC") => true,
        (Ok(mode), true) if is(mode, "SYNC") => false,
        _ => {
            ctx.reply.error(errors::SYNTAX);
            return;
        }
    };
    // Every slot stays locked until the flush is recorded, so no write can land
    // between the flush and its place in the replication stream.
    let all_args: Vec<&[u8]> = args.verbatim().collect();
    let clear = |t: &mut tessera_keyspace::SlotTable| {
        if lazy { t.clear_lazily() } else { t.clear() }
    };
    let now = ctx.now_ms;
    if all {
        let mut locks = ctx.node.keyspace().lock_all();
        ctx.node.watches().touch_flushed(None, |db, key| {
            locks
                .dbs()
                .find(|(d, _)| *d == db)
                .and_then(|(_, tables)| tables.try_for_key(key))
                .is_some_and(|t| t.contains(key, now))
        });
        for (_, tables) in locks.dbs() {
            for (_, t) in tables.tables() {
                clear(t);
            }
        }
        ctx.propagate_all(&mut locks, &all_args);
        ctx.node.tracking_flushed();
    } else {
        let mut locks = ctx.db().lock_slots(0..tessera_keyspace::SLOT_COUNT as u16);
        ctx.node
            .watches()
            .touch_flushed(Some(ctx.session.db), |_, key| {
                locks.try_for_key(key).is_some_and(|t| t.contains(key, now))
            });
        for (_, t) in locks.tables() {
            clear(t);
        }
        ctx.propagate_locked(&mut locks, &all_args);
        ctx.node.tracking_flushed();
    }
    ctx.reply.ok();
}

pub(super) fn time(ctx: &mut Ctx<'_>, _args: ArgCursor<'_>) {
    let us = crate::clock::unix_us();
    ctx.reply.array(2);
    ctx.reply
        .bulk(itoa::Buffer::new().format(us / 1_000_000).as_bytes());
    ctx.reply
        .bulk(itoa::Buffer::new().format(us % 1_000_000).as_bytes());
}

pub(super) fn save(ctx: &mut Ctx<'_>, _args: ArgCursor<'_>) {
    match snapshots::save(ctx.node, false) {
        Ok(_) => ctx.reply.ok(),
        Err(SaveError::InProgress) => ctx.reply.error(errors::SAVE_IN_PROGRESS),
        Err(SaveError::Io(_)) => ctx.reply.error("ERR"),
    }
}

pub(super) fn bgsave(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let schedule = match (args.next_arg(), args.is_done()) {
        (Err(_), _) => false,
        (Ok(option), true) if is(option, "SCHEDULE") => true,
        _ => {
            ctx.reply.error(errors::SYNTAX);
            return;
        }
    };
    match snapshots::save_in_background(ctx.node) {
        Ok(()) => ctx.reply.simple("Background saving started"),
        Err(SaveError::InProgress) if schedule => {
            ctx.node.snapshots().schedule();
            ctx.reply.simple("Background saving scheduled");
        }
        Err(SaveError::InProgress) => ctx.reply.error(errors::SAVE_IN_PROGRESS),
        Err(SaveError::Io(e)) => ctx.reply.error(&errors::err(e)),
    }
}

/// BGREWRITEAOF.
pub(super) fn bgrewriteaof(ctx: &mut Ctx<'_>, _args: ArgCursor<'_>) {
    let started = match &*ctx.node.aof() {
        Some(aof) => aof.rewrite_in_background(ctx.node),
        None => crate::aof::rewrite_without_aof(ctx.node),
    };
    if started {
        ctx.reply
            .simple("Background append only file rewriting started");
    } else {
        ctx.reply.error(errors::AOF_REWRITE_IN_PROGRESS);
    }
}

pub(super) fn shutdown(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let (mut save, mut nosave, mut force) = (false, false, false);
    let flags = args.rest();
    let alone = flags.len() == 1;
    for flag in flags {
        if is(flag, "SAVE") {
            save = true;
        } else if is(flag, "NOSAVE") {
            nosave = true;
        } else if is(flag, "NOW") {
        } else if is(flag, "FORCE") {
            force = true;
        } else if is(flag, "ABORT") && alone {
            ctx.reply.error(errors::NO_SHUTDOWN);
            return;
        } else {
            ctx.reply.error(errors::SYNTAX);
            return;
        }
    }
    if save && nosave {
        ctx.reply.error(errors::SYNTAX);
        return;
    }
    // A script past busy-reply-threshold holds the data: only NOSAVE may stop the node.
    let threshold = ctx.settings.busy_reply_threshold_ms;
    if !nosave && ctx.node.scripts().busy(ctx.now_ms, threshold) {
        ctx.reply.error(errors::BUSY);
        return;
    }
    if nosave {
        ctx.node.scripts().abandon();
    }
    let mode = match (save, nosave) {
        (true, _) => SaveOnExit::Always,
        (_, true) => SaveOnExit::Never,
        _ => SaveOnExit::IfConfigured,
    };
    if snapshots::save_before_exit(ctx.node, mode).is_err() && !force {
        ctx.reply.error(errors::SHUTDOWN_FAILED);
        return;
    }
    tracing::warn!(client = %ctx.session.info.addr, "user requested shutdown");
    ctx.node.request_shutdown();
    ctx.session.close = true;
}
