//! Sorted-set commands over several keys: ZUNION, ZINTER, ZDIFF (and their STORE
//! forms), ZINTERCARD and ZMPOP. Sets count as inputs with every score 1.

use tessera_keyspace::collections::zset::parse_score;
use tessera_keyspace::sorted_sets::{self, Aggregate, SetOp};

use super::Ctx;
use super::cursor::ArgCursor;
use super::zset::{limits, reply_scored};
use crate::errors;

/// ZUNION numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES].
pub(super) fn zunion(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    generic(c, a, SetOp::Union, false, false, "zunion")
}

/// ZUNIONSTORE dst numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX].
pub(super) fn zunionstore(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    generic(c, a, SetOp::Union, true, false, "zunionstore")
}

/// ZINTER numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES].
pub(super) fn zinter(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    generic(c, a, SetOp::Inter, false, false, "zinter")
}

/// ZINTERSTORE dst numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX].
pub(super) fn zinterstore(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    generic(c, a, SetOp::Inter, true, false, "zinterstore")
}

/// ZDIFF numkeys key [key ...] [WITHSCORES].
pub(super) fn zdiff(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    generic(c, a, SetOp::Diff, false, false, "zdiff")
}

/// ZDIFFSTORE dst numkeys key [key ...].
pub(super) fn zdiffstore(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    generic(c, a, SetOp::Diff, true, false, "zdiffstore")
}

/// ZINTERCARD numkeys key [key ...] [LIMIT limit].
pub(super) fn zintercard(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    generic(c, a, SetOp::Inter, false, true, "zintercard")
}

fn generic(ctx: &mut Ctx<'_>, args: ArgCursor<'_>, op: SetOp, store: bool, card: bool, name: &str) {
    let mut read = args;
    let dst = if store {
        let Some(dst) = ctx.read(read.next_arg()) else {
            return;
        };
        Some(dst)
    } else {
        None
    };
    let Some(setnum) = ctx.read(read.next_i64()) else {
        return;
    };
    if setnum < 1 {
        return ctx.reply.error(&errors::at_least_one_key(name));
    }
    let Ok(keys) = read.next_many(usize::try_from(setnum).unwrap_or(usize::MAX)) else {
        return ctx.reply.error(errors::SYNTAX);
    };
    let keys: Vec<&[u8]> = keys.collect();
    let setnum = keys.len();
    let limits = limits(ctx);
    let db = ctx.db();
    let mut locks = db.lock_keys(keys.iter().copied().chain(dst));
    // Inputs are read (and type-checked) before the options, as in Redis.
    let mut inputs = Vec::with_capacity(setnum);
    for key in &keys {
        let t = locks.for_key(key);
        // A read for the STORE forms too: Redis 7.0 counts their misses and raises
        // `keymiss` for them.
        let value = t.read(key, ctx.now_ms);
        match sorted_sets::input(value) {
            Ok(items) => inputs.push(items),
            Err(e) => return ctx.reply.error(errors::keyspace(e)),
        }
    }
    let mut weights = vec![1.0; setnum];
    let mut how = Aggregate::Sum;
    let mut withscores = false;
    let mut limit = 0usize;
    // Each option is judged by the token and how many arguments follow it.
    while let Ok(opt) = read.next_arg() {
        let left = read.remaining();
        if op != SetOp::Diff && !card && left >= setnum && super::is(opt, "weights") {
            let Some(values) = ctx.read(read.next_many(setnum)) else {
                return;
            };
            for (w, value) in weights.iter_mut().zip(values) {
                match parse_score(value) {
                    Some(v) => *w = v,
                    None => return ctx.reply.error(errors::WEIGHT_NOT_FLOAT),
                }
            }
        } else if op != SetOp::Diff && !card && left >= 1 && super::is(opt, "aggregate") {
            let Some(value) = ctx.read(read.next_arg()) else {
                return;
            };
            how = if super::is(value, "sum") {
                Aggregate::Sum
            } else if super::is(value, "min") {
                Aggregate::Min
            } else if super::is(value, "max") {
                Aggregate::Max
            } else {
                return ctx.reply.error(errors::SYNTAX);
            };
        } else if !store && !card && super::is(opt, "withscores") {
            withscores = true;
        } else if card && left >= 1 && super::is(opt, "limit") {
            match read.next_i64() {
                Ok(n) if n >= 0 => limit = n as usize,
                _ => return ctx.reply.error(errors::LIMIT_NEGATIVE),
            }
        } else {
            return ctx.reply.error(errors::SYNTAX);
        }
    }
    if card {
        drop(locks);
        return ctx.reply.int(sorted_sets::intercard(inputs, limit) as i64);
    }
    let result = sorted_sets::combine(op, inputs, &weights, how);
    match dst {
        Some(dst) => {
            let existed = locks.for_key(dst).get(dst, ctx.now_ms).is_some();
            let stored = sorted_sets::store(locks.for_key(dst), dst, result, &limits);
            if stored > 0 || existed {
                ctx.propagate_locked_verbatim(&mut locks, args);
            }
            // An empty result deletes the destination, an event of class g.
            if stored > 0 {
                let event = String::from_utf8_lossy(args.name()).to_ascii_lowercase();
                ctx.notify(crate::notify::ZSET, &event, dst);
            } else if existed {
                ctx.notify(crate::notify::GENERIC, "del", dst);
            }
            drop(locks);
            ctx.reply.int(stored as i64);
        }
        None => {
            drop(locks);
            let nested = ctx.reply.is_resp3();
            reply_scored(ctx.reply, &result, withscores, nested);
        }
    }
}

/// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]: pops from the first non-empty
/// sorted set; replicated as ZPOPMIN/ZPOPMAX of that key with the number popped.
pub(super) fn zmpop(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let numkeys = match args.next_i64() {
        Ok(n) if n >= 1 => usize::try_from(n).unwrap_or(usize::MAX),
        _ => return ctx.reply.error(errors::NUMKEYS_POSITIVE),
    };
    let (Ok(keys), Ok(which)) = (args.next_many(numkeys), args.next_arg()) else {
        return ctx.reply.error(errors::SYNTAX);
    };
    let keys: Vec<&[u8]> = keys.collect();
    let max = if super::is(which, "max") {
        true
    } else if super::is(which, "min") {
        false
    } else {
        return ctx.reply.error(errors::SYNTAX);
    };
    let count = match super::mpop_count(args) {
        Ok(count) => count.unwrap_or(1),
        Err(e) => return ctx.reply.error(e),
    };
    let db = ctx.db();
    let mut locks = db.lock_keys(keys.iter().copied());
    for key in keys {
        let popped = match sorted_sets::pop(locks.for_key(key), key, count, max, ctx.now_ms) {
            Ok(None) => continue,
            Ok(Some(p)) => p,
            Err(e) => return ctx.reply.error(errors::keyspace(e)),
        };
        let n = itoa::Buffer::new().format(popped.len()).as_bytes().to_vec();
        let name: &[u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
        ctx.propagate_locked(&mut locks, &[name, key, &n]);
        ctx.notify(crate::notify::ZSET, super::zset::pop_event(max), key);
        if locks.for_key(key).peek_live(key, ctx.now_ms).is_none() {
            ctx.notify(crate::notify::GENERIC, "del", key);
        }
        drop(locks);
        ctx.reply.array(2);
        ctx.reply.bulk(key);
        reply_scored(ctx.reply, &popped, true, true);
        return;
    }
    drop(locks);
    ctx.reply.null_array();
}
