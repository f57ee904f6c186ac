//! DEL, EXISTS, TYPE, RENAME, KEYS, SCAN, RANDOMKEY, OBJECT.

use tessera_keyspace::generic::{self};
use tessera_keyspace::number::parse_u64;
use tessera_keyspace::{ScanFilter, ValueType, key_slot};

use super::cursor::{ArgCursor, Options};
use super::{Ctx, help_reply};
use crate::errors;
use crate::protocol::request::Args;

/// RENAME.
pub(super) fn rename_command(c: &mut Ctx<'_>, a: Args<'_>) {
    rename(c, a, false)
}

/// RENAMENX.
pub(super) fn renamenx(c: &mut Ctx<'_>, a: Args<'_>) {
    rename(c, a, true)
}

pub(super) fn del(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let db = ctx.db();
    let mut locks = db.lock_keys(args.iter_from(1));
    let deleted = args
        .iter_from(1)
        .filter(|k| generic::delete(locks.for_key(k), k, ctx.now_ms))
        .count();
    if deleted > 0 {
        ctx.propagate_locked_verbatim(&mut locks, args);
    }
    ctx.reply.int(deleted as i64);
}

pub(super) fn exists(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let db = ctx.db();
    let mut locks = db.lock_keys(args.iter_from(1));
    let found = args
        .iter_from(1)
        .filter(|k| generic::exists(locks.for_key(k), k, ctx.now_ms))
        .count();
    ctx.reply.int(found as i64);
}

pub(super) fn type_(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(1);
    let db = ctx.db();
    let found = generic::value_type(&mut db.lock(key_slot(key)), key, ctx.now_ms);
    ctx.reply.simple(found.map_or("none", ValueType::name));
}

fn rename(ctx: &mut Ctx<'_>, args: Args<'_>, only_if_absent: bool) {
    let (source, destination) = (args.get(1), args.get(2));
    let db = ctx.db();
    let mut locks = db.lock_keys([source, destination]);
    match generic::rename(&mut locks, source, destination, only_if_absent, ctx.now_ms) {
        Ok(done) => {
            if done {
                ctx.propagate_locked_verbatim(&mut locks, args);
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

pub(super) fn keys(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let found = ctx.db().keys(args.get(1), ctx.now_ms);
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

pub(super) fn scan(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let Some(cursor) = parse_cursor(args.get(1)) else {
        ctx.reply.error(errors::INVALID_CURSOR);
        return;
    };
    let mut count = 10usize;
    let mut filter = ScanFilter::default();
    let mut unknown_type = false;
    let mut options = ArgCursor::new(args, 2);
    loop {
        let (option, [value, _]) = match options.next_option(SCAN_OPTIONS) {
            Ok(Some(option)) => option,
            Ok(None) => break,
            Err(e) => return ctx.reply.error(e.text()),
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

pub(super) fn randomkey(ctx: &mut Ctx<'_>, _args: Args<'_>) {
    let mut random = || rand::random::<u64>();
    match ctx.db().random_key(ctx.now_ms, &mut random) {
        Some(key) => ctx.reply.bulk(&key),
        None => ctx.reply.null(),
    }
}

pub(super) fn object_encoding(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(2);
    let db = ctx.db();
    match generic::encoding(&mut db.lock(key_slot(key)), key, ctx.now_ms) {
        Some(e) => ctx.reply.bulk(e.name().as_bytes()),
        None => ctx.reply.null(),
    }
}

pub(super) fn object_help(ctx: &mut Ctx<'_>, _args: Args<'_>) {
    help_reply(
        ctx.reply,
        "OBJECT",
        &[
            "ENCODING <key>",
            "    Return the internal representation of the value at <key>.",
        ],
    );
}
