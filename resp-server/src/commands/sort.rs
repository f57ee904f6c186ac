//! SORT and SORT_RO: argument reading, locking and replies (semantics in
//! `tessera_keyspace::sort`).
//!
//! Options are read as Redis 7.0's loop reads them: ASC/DESC/ALPHA anywhere, the last
//! BY wins, GETs accumulate, an option short of its values is a syntax error. BY with a
//! `*` and any GET are refused in cluster mode, so there a call only touches its key
//! and its STORE destination. Outside cluster mode a pattern may name a key in any
//! slot, and such a call locks every slot of the database for its duration.

use tessera_keyspace::sort::{self, SortError, SortOptions};
use tessera_keyspace::{SLOT_COUNT, key_slot};

use super::cursor::ArgCursor;
use super::{Ctx, is};
use crate::errors;

pub(super) fn sort_command(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    run(ctx, args, false)
}

pub(super) fn sort_ro(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    run(ctx, args, true)
}

/// Reads the options (after the key); `None` when an error was replied.
fn parse<'a>(
    ctx: &mut Ctx<'_>,
    mut args: ArgCursor<'a>,
    readonly: bool,
) -> Option<(SortOptions<'a>, Option<&'a [u8]>)> {
    let mut options = SortOptions {
        count: -1,
        ..SortOptions::default()
    };
    let mut destination = None;
    let cluster = ctx.settings.cluster_enabled;
    while let Ok(word) = args.next_arg() {
        let left = args.remaining();
        if is(word, "asc") {
            options.desc = false;
        } else if is(word, "desc") {
            options.desc = true;
        } else if is(word, "alpha") {
            options.alpha = true;
        } else if is(word, "limit") && left >= 2 {
            let [offset, count] = ctx.read(args.next_args())?;
            options.offset = ctx.int_arg(offset)?;
            options.count = ctx.int_arg(count)?;
        } else if !readonly && is(word, "store") && left >= 1 {
            destination = Some(ctx.read(args.next_arg())?);
        } else if is(word, "by") && left >= 1 {
            let pattern = ctx.read(args.next_arg())?;
            options.by = Some(pattern);
            if !sort::is_pattern(pattern) {
                options.dont_sort = true;
            } else if cluster {
                ctx.reply.error(errors::SORT_BY_CLUSTER);
                return None;
            }
        } else if is(word, "get") && left >= 1 {
            if cluster {
                ctx.reply.error(errors::SORT_GET_CLUSTER);
                return None;
            }
            options.gets.push(ctx.read(args.next_arg())?);
        } else {
            ctx.reply.error(errors::SYNTAX);
            return None;
        }
    }
    options.store = destination.is_some();
    Some((options, destination))
}

fn run(ctx: &mut Ctx<'_>, args: ArgCursor<'_>, readonly: bool) {
    let mut read = args;
    let Some(key) = ctx.read(read.next_arg()) else {
        return;
    };
    let Some((options, destination)) = parse(ctx, read, readonly) else {
        return;
    };
    let db = ctx.db();
    let mut locks = if sort::reads_other_keys(&options) {
        db.lock_slots(0..SLOT_COUNT as u16)
    } else {
        db.lock_slots([key].into_iter().chain(destination).map(key_slot))
    };
    let rows = match sort::sort(&mut locks, key, &options, ctx.now_ms) {
        Ok(rows) => rows,
        Err(SortError::WrongType) => return ctx.reply.error(errors::WRONGTYPE),
        Err(SortError::NotDouble) => return ctx.reply.error(errors::SORT_NOT_DOUBLE),
    };
    let Some(destination) = destination else {
        drop(locks);
        ctx.reply.array(rows.len());
        for row in &rows {
            match row {
                Some(bytes) => ctx.reply.bulk(bytes),
                None => ctx.reply.null(),
            }
        }
        return;
    };
    let limits = ctx.settings.encoding;
    if sort::store(&mut locks, destination, &rows, &limits, ctx.now_ms) {
        ctx.propagate_locked_verbatim(&mut locks, args);
        // As Redis: a stored list is a list event; an empty result deletes.
        if rows.is_empty() {
            ctx.notify(crate::notify::GENERIC, "del", destination);
        } else {
            ctx.notify(crate::notify::LIST, "sortstore", destination);
        }
    }
    drop(locks);
    ctx.reply.int(rows.len() as i64);
}
