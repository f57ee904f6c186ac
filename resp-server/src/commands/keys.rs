//! DEL, EXISTS, TYPE, RENAME, COPY, MOVE, KEYS, SCAN, RANDOMKEY, OBJECT.

use tessera_keyspace::generic::{self};
use tessera_keyspace::number::{parse_i64, parse_u64};
use tessera_keyspace::{Db, ScanFilter, SlotGuard, Value, ValueType, key_slot};

use super::cursor::{ArgCursor, Options};
use super::{Ctx, help_reply};
use crate::errors;
use crate::notify::GENERIC;

/// RENAME.
pub(super) fn rename_command(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    rename(c, a, false)
}

/// RENAMENX.
pub(super) fn renamenx(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    rename(c, a, true)
}

pub(super) fn del(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    // UNLINK always frees big values in the background; DEL when configured to.
    let lazy = args.name().eq_ignore_ascii_case(b"unlink") || ctx.settings.lazyfree_lazy_user_del;
    let db = ctx.db();
    let mut locks = db.lock_keys(args.rest());
    let deleted: Vec<&[u8]> = args
        .rest()
        .filter(|k| generic::delete_lazily(locks.for_key(k), k, lazy, ctx.now_ms))
        .collect();
    if !deleted.is_empty() {
        ctx.propagate_locked_verbatim(&mut locks, args);
    }
    for key in &deleted {
        ctx.notify(GENERIC, "del", key);
    }
    let deleted = deleted.len();
    ctx.reply.int(deleted as i64);
}

pub(super) fn exists(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    count_found(ctx, args, generic::exists)
}

pub(super) fn touch(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    count_found(ctx, args, generic::touch)
}

/// Replies with how many of the keys `look` finds.
fn count_found(
    ctx: &mut Ctx<'_>,
    args: ArgCursor<'_>,
    look: fn(&mut tessera_keyspace::SlotTable, &[u8], i64) -> bool,
) {
    let db = ctx.db();
    let mut locks = db.lock_keys(args.rest());
    let found = args
        .rest()
        .filter(|k| look(locks.for_key(k), k, ctx.now_ms))
        .count();
    ctx.reply.int(found as i64);
}

pub(super) fn type_(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some(key) = ctx.read(args.next_arg()) else {
        return;
    };
    let db = ctx.db();
    let found = generic::value_type(&mut db.lock(key_slot(key)), key, ctx.now_ms);
    ctx.reply.simple(found.map_or("none", ValueType::name));
}

fn rename(ctx: &mut Ctx<'_>, args: ArgCursor<'_>, only_if_absent: bool) {
    let mut read = args;
    let Some([source, destination]) = ctx.read(read.next_args()) else {
        return;
    };
    let db = ctx.db();
    let mut locks = db.lock_keys([source, destination]);
    match generic::rename(&mut locks, source, destination, only_if_absent, ctx.now_ms) {
        Ok(done) => {
            if done {
                ctx.propagate_locked_verbatim(&mut locks, args);
                // RENAME of a key to itself changes nothing and says nothing.
                if source != destination {
                    ctx.notify(GENERIC, "rename_from", source);
                    ctx.notify(GENERIC, "rename_to", destination);
                }
            }
            drop(locks);
            if only_if_absent {
                ctx.reply.int(i64::from(done))
            } else {
                ctx.reply.ok()
            }
        }
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

#[derive(Clone, Copy)]
enum CopyOption {
    Db,
    Replace,
}

const COPY_OPTIONS: Options<CopyOption> = &[
    ("DB", 1, CopyOption::Db),
    ("REPLACE", 0, CopyOption::Replace),
];

/// The database an argument names, or the error Redis gives for it.
fn db_arg(ctx: &Ctx<'_>, arg: &[u8]) -> Result<usize, &'static str> {
    let index = parse_i64(arg).ok_or(errors::NOT_INTEGER)?;
    usize::try_from(index)
        .ok()
        .filter(|&i| i < ctx.node.keyspace().database_count())
        .ok_or(errors::DB_OUT_OF_RANGE)
}

/// COPY source destination [DB index] [REPLACE]: the value and its deadline.
pub(super) fn copy(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let mut options = args;
    let Some([source, destination]) = ctx.read(options.next_args()) else {
        return;
    };
    let (mut target_db, mut replace) = (ctx.session.db, false);
    for option in options.options(COPY_OPTIONS) {
        match ctx.read(option) {
            None => return,
            Some((CopyOption::Replace, _)) => replace = true,
            Some((CopyOption::Db, [index, _])) => match db_arg(ctx, index) {
                Ok(db) => target_db = db,
                Err(e) => return ctx.reply.error(e),
            },
        }
    }
    if ctx.settings.cluster_enabled && target_db != 0 {
        return ctx.reply.error(errors::COPY_DB_IN_CLUSTER);
    }
    if target_db == ctx.session.db && source == destination {
        return ctx.reply.error(errors::SAME_OBJECT);
    }
    let copied = if target_db == ctx.session.db {
        let mut locks = ctx.db().lock_keys([source, destination]);
        let copied =
            generic::copy_of(locks.for_key(source), source, ctx.now_ms).is_some_and(|carried| {
                generic::place(
                    locks.for_key(destination),
                    destination,
                    carried,
                    replace,
                    ctx.now_ms,
                )
            });
        if copied {
            ctx.propagate_locked_verbatim(&mut locks, args);
        }
        copied
    } else {
        let keyspace = ctx.node.keyspace();
        let (from, to) = (keyspace.db(ctx.session.db), keyspace.db(target_db));
        let (mut src, mut dst) = lock_across(from, source, to, destination);
        let copied = generic::copy_of(&mut src, source, ctx.now_ms).is_some_and(|carried| {
            generic::place(&mut dst, destination, carried, replace, ctx.now_ms)
        });
        if copied {
            ctx.propagate_verbatim(&mut src, args);
        }
        copied
    };
    if copied {
        ctx.node.notify(target_db, GENERIC, "copy_to", destination);
    }
    ctx.reply.int(i64::from(copied));
}

/// MOVE key db: to another database, with its deadline, unless the key is there.
pub(super) fn move_(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    if ctx.settings.cluster_enabled {
        return ctx.reply.error(errors::MOVE_IN_CLUSTER);
    }
    let mut read = args;
    let Some([key, index]) = ctx.read(read.next_args()) else {
        return;
    };
    let target_db = match db_arg(ctx, index) {
        Ok(db) => db,
        Err(e) => return ctx.reply.error(e),
    };
    if target_db == ctx.session.db {
        return ctx.reply.error(errors::SAME_OBJECT);
    }
    let keyspace = ctx.node.keyspace();
    let (from, to) = (keyspace.db(ctx.session.db), keyspace.db(target_db));
    let (mut src, mut dst) = lock_across(from, key, to, key);
    let now = ctx.now_ms;
    let moved = src.contains(key, now) && !dst.contains(key, now);
    if moved {
        let carried = generic::take(&mut src, key, now).expect("the key is live");
        generic::place(&mut dst, key, carried, false, now);
        ctx.propagate_verbatim(&mut src, args);
        ctx.notify(GENERIC, "move_from", key);
        ctx.node.notify(target_db, GENERIC, "move_to", key);
    }
    ctx.reply.int(i64::from(moved));
}

/// Locks `source`'s slot in `from` and `destination`'s in `to` (different databases)
/// in the global order, database first, so two crossing commands cannot deadlock.
fn lock_across<'d>(
    from: &'d Db,
    source: &[u8],
    to: &'d Db,
    destination: &[u8],
) -> (SlotGuard<'d>, SlotGuard<'d>) {
    assert_ne!(from.index(), to.index(), "one database needs lock_keys");
    if from.index() < to.index() {
        let src = from.lock(key_slot(source));
        (src, to.lock(key_slot(destination)))
    } else {
        let dst = to.lock(key_slot(destination));
        (from.lock(key_slot(source)), dst)
    }
}

pub(super) fn keys(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some(pattern) = ctx.read(args.next_arg()) else {
        return;
    };
    let found = ctx.db().keys(pattern, ctx.now_ms);
    ctx.reply.bulk_array(found.iter().map(Vec::as_slice));
}

/// Parses a SCAN cursor as Redis's strtoul does: decimal, and a leading `-` wraps.
pub(super) fn parse_cursor(arg: &[u8]) -> Option<u64> {
    match arg.strip_prefix(b"-") {
        Some(rest) => parse_u64(rest).map(|n| n.wrapping_neg()),
        None => parse_u64(arg),
    }
}

/// What SCAN's options mean (HSCAN, SSCAN and ZSCAN take the first two).
#[derive(Clone, Copy)]
enum ScanOption {
    Match,
    Count,
    Type,
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type].
const SCAN_OPTIONS: Options<ScanOption> = &[
    ("MATCH", 1, ScanOption::Match),
    ("COUNT", 1, ScanOption::Count),
    ("TYPE", 1, ScanOption::Type),
];

pub(super) fn scan(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let mut options = args;
    let Some(cursor) = ctx.read(options.next_arg()) else {
        return;
    };
    let Some(cursor) = parse_cursor(cursor) else {
        ctx.reply.error(errors::INVALID_CURSOR);
        return;
    };
    let mut count = 10usize;
    let mut filter = ScanFilter::default();
    let mut unknown_type = false;
    for option in options.options(SCAN_OPTIONS) {
        let Some((option, [value, _])) = ctx.read(option) else {
            return;
        };
        match option {
            ScanOption::Count => match ctx.int_arg(value) {
                Some(n) if n >= 1 => count = n as usize,
                Some(_) => return ctx.reply.error(errors::SYNTAX),
                None => return,
            },
            ScanOption::Match => filter.pattern = Some(value),
            ScanOption::Type => match ValueType::from_name(value) {
                Some(t) => filter.value_type = Some(t),
                // Redis 7.0 accepts an unknown type name and matches nothing.
                None => unknown_type = true,
            },
        }
    }
    let (next, mut found) = ctx.db().scan(cursor, count, &filter, ctx.now_ms);
    if unknown_type {
        found.clear();
    }
    ctx.reply.array(2);
    ctx.reply.bulk(itoa::Buffer::new().format(next).as_bytes());
    ctx.reply.bulk_array(found.iter().map(Vec::as_slice));
}

pub(super) fn randomkey(ctx: &mut Ctx<'_>, _args: ArgCursor<'_>) {
    let mut random = || rand::random::<u64>();
    match ctx.db().random_key(ctx.now_ms, &mut random) {
        Some(key) => ctx.reply.bulk(&key),
        None => ctx.reply.null(),
    }
}

pub(super) fn object_encoding(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some(key) = ctx.read(args.next_arg()) else {
        return;
    };
    let db = ctx.db();
    match generic::encoding(&mut db.lock(key_slot(key)), key, ctx.now_ms) {
        Some(e) => ctx.reply.bulk(e.name().as_bytes()),
        None => ctx.reply.null(),
    }
}

pub(super) fn object_help(ctx: &mut Ctx<'_>, _args: ArgCursor<'_>) {
    help_reply(
        ctx.reply,
        "OBJECT",
        &[
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
        ],
    );
}

/// OBJECT FREQ: the key's LFU counter, decayed to now; refused unless an LFU policy
/// keeps the counters.
pub(super) fn object_freq(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some(key) = ctx.read(args.next_arg()) else {
        return;
    };
    let Some((clock, stamp)) = access_stamp(ctx, key) else {
        return ctx.reply.null();
    };
    if !ctx.settings.memory.policy.is_lfu() {
        return ctx.reply.error(errors::NO_LFU);
    }
    ctx.reply.int(i64::from(clock.frequency(stamp)));
}

/// OBJECT IDLETIME: seconds since the key was last accessed; refused while an LFU
/// policy uses the clock as a counter.
pub(super) fn object_idletime(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some(key) = ctx.read(args.next_arg()) else {
        return;
    };
    let Some((clock, stamp)) = access_stamp(ctx, key) else {
        return ctx.reply.null();
    };
    if ctx.settings.memory.policy.is_lfu() {
        return ctx.reply.error(errors::NO_LRU);
    }
    ctx.reply.int(clock.idle_seconds(stamp) as i64);
}

/// The access clock and a live key's stamp, looked at without counting an access.
fn access_stamp(
    ctx: &mut Ctx<'_>,
    key: &[u8],
) -> Option<(tessera_keyspace::access::AccessClock, u32)> {
    let table = ctx.db().lock(key_slot(key));
    let stamp = table.access_stamp(key, ctx.now_ms)?;
    Some((table.access_clock(), stamp))
}

/// OBJECT REFCOUNT: INT_MAX for the small integers Redis shares, 1 otherwise.
pub(super) fn object_refcount(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some(key) = ctx.read(args.next_arg()) else {
        return;
    };
    let db = ctx.db();
    let shared = match db.lock(key_slot(key)).get(key, ctx.now_ms) {
        None => return ctx.reply.null(),
        Some(Value::Str(s)) => s.is_shared_integer(),
        Some(_) => false,
    };
    ctx.reply.int(if shared { i64::from(i32::MAX) } else { 1 });
}

/// Elements MEMORY USAGE samples per collection by default, as Redis.
const DEFAULT_SAMPLES: usize = 5;

/// MEMORY USAGE's one option.
#[derive(Clone, Copy)]
struct Samples;

/// What MEMORY USAGE accepts after the key.
const MEMORY_USAGE_OPTIONS: Options<Samples> = &[("SAMPLES", 1, Samples)];

/// MEMORY USAGE key [SAMPLES count].
pub(super) fn memory_usage(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some(key) = ctx.read(args.next_arg()) else {
        return;
    };
    let mut samples = DEFAULT_SAMPLES;
    for option in args.options(MEMORY_USAGE_OPTIONS) {
        let Some((Samples, [n, _])) = ctx.read(option) else {
            return;
        };
        let Some(n) = ctx.int_arg(n) else {
            return;
        };
        if n < 0 {
            return ctx.reply.error(errors::SYNTAX);
        }
        samples = usize::try_from(n).unwrap_or(usize::MAX);
    }
    let db = ctx.db();
    let usage = generic::memory_usage(&mut db.lock(key_slot(key)), key, samples, ctx.now_ms);
    match usage {
        Some(bytes) => ctx.reply.int(bytes as i64),
        None => ctx.reply.null(),
    }
}

pub(super) fn memory_help(ctx: &mut Ctx<'_>, _args: ArgCursor<'_>) {
    help_reply(
        ctx.reply,
        "MEMORY",
        &[
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ],
    );
}
