//! SADD, SPOP, SINTER and the other set commands.
//!
//! Replies follow Redis 7.0's shapes: member lists are RESP3 sets (`~`) except
//! SRANDMEMBER with a count, which may repeat members and so answers an array.
//! SPOP goes to replicas as the SREMs (or the DEL) that replay it, as Redis sends it.

use tessera_keyspace::sets::{self, SetOp};
use tessera_keyspace::{Value, key_slot};

use super::Ctx;
use super::cursor::{ArgCursor, Options};
use super::keys::parse_cursor;
use crate::errors;
use crate::notify::{GENERIC, SET};

/// Members in one replicated SREM when SPOP with a count is replayed: Redis 7.0 sends
/// one SREM per member (batching came in 7.2).
const SREM_BATCH: usize = 1;

fn random() -> u64 {
    rand::random::<u64>()
}

/// A list of members as a RESP3 set (an array in RESP2).
fn reply_set(ctx: &mut Ctx<'_>, members: &[Vec<u8>]) {
    ctx.reply.set(members.len());
    for m in members {
        ctx.reply.bulk(m);
    }
}

/// A list of members as an array.
fn reply_array(ctx: &mut Ctx<'_>, members: &[Vec<u8>]) {
    ctx.reply.array(members.len());
    for m in members {
        ctx.reply.bulk(m);
    }
}

pub(super) fn sadd(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let mut members = args;
    let Some(key) = ctx.read(members.next_arg()) else {
        return;
    };
    let members: Vec<&[u8]> = members.rest().collect();
    let limits = ctx.settings.encoding;
    super::count_write(ctx, args, key, SET, |t, now| {
        sets::sadd(t, key, &members, &limits, now)
    });
}

pub(super) fn srem(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let mut members = args;
    let Some(key) = ctx.read(members.next_arg()) else {
        return;
    };
    let members: Vec<&[u8]> = members.rest().collect();
    super::count_write(ctx, args, key, SET, |t, now| {
        sets::srem(t, key, &members, now)
    });
}

pub(super) fn scard(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some(key) = ctx.read(args.next_arg()) else {
        return;
    };
    let db = ctx.db();
    match sets::scard(&mut db.lock(key_slot(key)), key, ctx.now_ms) {
        Ok(n) => ctx.reply.int(n as i64),
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

pub(super) fn sismember(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some([key, member]) = ctx.read(args.next_args()) else {
        return;
    };
    let db = ctx.db();
    match sets::smismember(&mut db.lock(key_slot(key)), key, &[member], ctx.now_ms) {
        Ok(found) => ctx.reply.int(i64::from(found[0])),
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

pub(super) fn smismember(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some(key) = ctx.read(args.next_arg()) else {
        return;
    };
    let members: Vec<&[u8]> = args.rest().collect();
    let db = ctx.db();
    match sets::smismember(&mut db.lock(key_slot(key)), key, &members, ctx.now_ms) {
        Ok(found) => {
            ctx.reply.array(found.len());
            for f in found {
                ctx.reply.int(i64::from(f));
            }
        }
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

pub(super) fn smembers(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    combine(ctx, args, Combine::Inter)
}

pub(super) fn sinter(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    combine(ctx, args, Combine::Inter)
}

pub(super) fn sunion(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    combine(ctx, args, Combine::Union)
}

pub(super) fn sdiff(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    combine(ctx, args, Combine::Diff)
}

#[derive(Clone, Copy)]
enum Combine {
    Inter,
    Union,
    Diff,
}

/// SINTER / SUNION / SDIFF over the keys left.
fn combine(ctx: &mut Ctx<'_>, args: ArgCursor<'_>, how: Combine) {
    let keys: Vec<&[u8]> = args.rest().collect();
    let db = ctx.db();
    let mut locks = db.lock_keys(keys.iter().copied());
    let limits = ctx.settings.encoding;
    let now = ctx.now_ms;
    let result = match how {
        Combine::Inter => sets::sinter(&mut locks, &keys, now),
        Combine::Union => sets::sunion(&mut locks, &keys, &limits, now),
        Combine::Diff => sets::sdiff(&mut locks, &keys, &limits, now),
    };
    drop(locks);
    match result {
        Ok(members) => reply_set(ctx, &members),
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

fn store(ctx: &mut Ctx<'_>, args: ArgCursor<'_>, op: SetOp) {
    let mut keys = args;
    let Some(destination) = ctx.read(keys.next_arg()) else {
        return;
    };
    let keys: Vec<&[u8]> = keys.rest().collect();
    let db = ctx.db();
    let mut locks = db.lock_keys(keys.iter().copied().chain([destination]));
    let limits = ctx.settings.encoding;
    match sets::store(&mut locks, op, destination, &keys, &limits, ctx.now_ms) {
        Ok(stored) => {
            if stored.changed {
                ctx.propagate_locked_verbatim(&mut locks, args);
                // As Redis: a stored result is a set event named as the command, an
                // empty one deletes the destination.
                if stored.len > 0 {
                    let event = String::from_utf8_lossy(args.name()).to_ascii_lowercase();
                    ctx.notify(SET, &event, destination);
                } else {
                    ctx.notify(GENERIC, "del", destination);
                }
            }
            drop(locks);
            ctx.reply.int(stored.len as i64)
        }
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

pub(super) fn sinterstore(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    store(ctx, args, SetOp::Inter)
}

pub(super) fn sunionstore(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    store(ctx, args, SetOp::Union)
}

pub(super) fn sdiffstore(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    store(ctx, args, SetOp::Diff)
}

/// What SINTERCARD's one option means.
#[derive(Clone, Copy)]
struct Limit;

/// SINTERCARD numkeys key [key ...] [LIMIT limit].
const SINTERCARD_OPTIONS: Options<Limit> = &[("LIMIT", 1, Limit)];

pub(super) fn sintercard(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let numkeys = match args.next_i64() {
        Ok(n) if n >= 1 => n as usize,
        _ => return ctx.reply.error(errors::NUMKEYS_POSITIVE),
    };
    let Ok(keys) = args.next_many(numkeys) else {
        return ctx.reply.error(errors::NUMKEYS_TOO_MANY);
    };
    let keys: Vec<&[u8]> = keys.collect();
    let mut limit = 0usize;
    let mut options = args;
    for option in options.options(SINTERCARD_OPTIONS) {
        let Some((Limit, [value, _])) = ctx.read(option) else {
            return;
        };
        match tessera_keyspace::number::parse_i64(value) {
            Some(n) if n >= 0 => limit = n as usize,
            _ => return ctx.reply.error(errors::LIMIT_NEGATIVE),
        }
    }
    let db = ctx.db();
    let mut locks = db.lock_keys(keys.iter().copied());
    let result = sets::sintercard(&mut locks, &keys, limit, ctx.now_ms);
    drop(locks);
    match result {
        Ok(n) => ctx.reply.int(n as i64),
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

pub(super) fn srandmember(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    if args.remaining() > 2 {
        return ctx.reply.error(errors::SYNTAX);
    }
    let Some(key) = ctx.read(args.next_arg()) else {
        return;
    };
    let count = if args.is_done() {
        None
    } else {
        match args.next_i64() {
            Err(e) => return ctx.reply.error(e.text()),
            Ok(i64::MIN) => return ctx.reply.error(&errors::out_of_range(-i64::MAX, i64::MAX)),
            Ok(n) => Some(n),
        }
    };
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    let mut rng = random;
    match count {
        None => match sets::srandmember(&mut t, key, ctx.now_ms, &mut rng) {
            Ok(Some(m)) => ctx.reply.bulk(&m),
            Ok(None) => ctx.reply.null(),
            Err(e) => ctx.reply.error(errors::keyspace(e)),
        },
        Some(n) => match sets::srandmember_count(&mut t, key, n, ctx.now_ms, &mut rng) {
            Ok(members) => reply_array(ctx, &members),
            Err(e) => ctx.reply.error(errors::keyspace(e)),
        },
    }
}

pub(super) fn spop(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    if args.remaining() > 2 {
        return ctx.reply.error(errors::SYNTAX);
    }
    let Some(key) = ctx.read(args.next_arg()) else {
        return;
    };
    let db = ctx.db();
    let mut rng = random;
    if args.is_done() {
        let mut t = db.lock(key_slot(key));
        return match sets::spop(&mut t, key, ctx.now_ms, &mut rng) {
            Ok(Some(m)) => {
                ctx.propagate(&mut t, &[b"SREM", key, &m]);
                ctx.notify(SET, "spop", key);
                if t.peek_live(key, ctx.now_ms).is_none() {
                    ctx.notify(GENERIC, "del", key);
                }
                ctx.reply.bulk(&m)
            }
            Ok(None) => ctx.reply.null(),
            Err(e) => ctx.reply.error(errors::keyspace(e)),
        };
    }
    // Redis reads the count as a non-negative long: anything else, a non-number
    // included, gets the one error.
    let count = match args.next_i64() {
        Ok(n) if n >= 0 => n as u64,
        _ => return ctx.reply.error(errors::OUT_OF_RANGE_POSITIVE),
    };
    let mut t = db.lock(key_slot(key));
    let limits = ctx.settings.encoding;
    match sets::spop_count(&mut t, key, count, &limits, ctx.now_ms, &mut rng) {
        Ok(popped) => {
            if popped.deleted_key {
                ctx.propagate(&mut t, &[b"DEL", key]);
            } else if ctx.records_changes() {
                for batch in popped.members.chunks(SREM_BATCH) {
                    let mut srem: Vec<&[u8]> = vec![b"SREM", key];
                    srem.extend(batch.iter().map(Vec::as_slice));
                    ctx.propagate(&mut t, &srem);
                }
            }
            if !popped.members.is_empty() {
                ctx.notify(SET, "spop", key);
            }
            if popped.deleted_key {
                ctx.notify(GENERIC, "del", key);
            }
            drop(t);
            reply_set(ctx, &popped.members)
        }
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

pub(super) fn smove(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let mut read = args;
    let Some([source, destination, member]) = ctx.read(read.next_args()) else {
        return;
    };
    let db = ctx.db();
    let mut locks = db.lock_keys([source, destination]);
    let limits = ctx.settings.encoding;
    let now = ctx.now_ms;
    // Whether the member is new to the destination decides its `sadd` event.
    // A look, not a read: Redis's SMOVE looks both keys up for writing, which counts
    // no miss and raises no `keymiss`.
    let present = sets::contains(locks.for_key(destination), destination, member, now);
    match sets::smove(&mut locks, source, destination, member, &limits, now) {
        Ok(moved) => {
            if moved && source != destination {
                ctx.propagate_locked_verbatim(&mut locks, args);
                ctx.notify(SET, "srem", source);
                if locks.for_key(source).peek_live(source, now).is_none() {
                    ctx.notify(GENERIC, "del", source);
                }
                if !present {
                    ctx.notify(SET, "sadd", destination);
                }
            }
            drop(locks);
            ctx.reply.int(i64::from(moved))
        }
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

/// What HSCAN's and SSCAN's options mean.
#[derive(Clone, Copy)]
enum ScanOption {
    Match,
    Count,
}

/// HSCAN / SSCAN key cursor [MATCH pattern] [COUNT count] (no TYPE: that is SCAN's).
const SCAN_OPTIONS: Options<ScanOption> = &[
    ("MATCH", 1, ScanOption::Match),
    ("COUNT", 1, ScanOption::Count),
];

/// The options of HSCAN / SSCAN, read from `options` (past the cursor): `(count,
/// pattern)`, or `None` after replying with the error. Redis reads them only once the
/// key was found.
pub(super) fn scan_options<'a>(
    ctx: &mut Ctx<'_>,
    mut options: ArgCursor<'a>,
) -> Option<(usize, Option<&'a [u8]>)> {
    let mut count = 10usize;
    let mut pattern = None;
    for option in options.options(SCAN_OPTIONS) {
        match ctx.read(option)? {
            (ScanOption::Match, [p, _]) => {
                // A lone `*` matches everything: Redis skips the filter for it.
                pattern = (p != b"*").then_some(p);
            }
            (ScanOption::Count, [n, _]) => match ctx.int_arg(n) {
                Some(n) if n >= 1 => count = n as usize,
                Some(_) => {
                    ctx.reply.error(errors::SYNTAX);
                    return None;
                }
                None => return None,
            },
        }
    }
    Some((count, pattern))
}

/// Replies with a scan step: the cursor, then the items.
pub(super) fn reply_scan(ctx: &mut Ctx<'_>, next: u64, items: &[Vec<u8>]) {
    ctx.reply.array(2);
    ctx.reply.bulk(itoa::Buffer::new().format(next).as_bytes());
    reply_array(ctx, items);
}

pub(super) fn sscan(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some([key, cursor]) = ctx.read(args.next_args()) else {
        return;
    };
    let Some(cursor) = parse_cursor(cursor) else {
        return ctx.reply.error(errors::INVALID_CURSOR);
    };
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    match t.read(key, ctx.now_ms) {
        None => return reply_scan(ctx, 0, &[]),
        Some(Value::Set(_)) => {}
        Some(_) => return ctx.reply.error(errors::WRONGTYPE),
    }
    let Some((count, pattern)) = scan_options(ctx, args) else {
        return;
    };
    match sets::sscan(&mut t, key, cursor, count, pattern, ctx.now_ms) {
        Ok((next, members)) => reply_scan(ctx, next, &members),
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}
