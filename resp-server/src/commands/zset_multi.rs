//! Sorted-set commands over several keys: ZUNION, ZINTER, ZDIFF (and their STORE
//! forms), ZINTERCARD and ZMPOP. Sets count as inputs with every score 1.

use tessera_keyspace::collections::zset::parse_score;
use tessera_keyspace::number::parse_i64;
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
    let numkeys_at = if store { 2 } else { 1 };
    let Some(setnum) = ctx.int_arg(args.get(numkeys_at)) else {
        return;
    };
    if setnum < 1 {
        return ctx.reply.error(&errors::at_least_one_key(name));
    }
    let first_key = numkeys_at + 1;
    if setnum > (args.len() - first_key) as i64 {
        return ctx.reply.error(errors::SYNTAX);
    }
    let setnum = setnum as usize;
    let keys: Vec<&[u8]> = (first_key..first_key + setnum)
        .map(|i| args.get(i))
        .collect();
    let dst = store.then(|| args.get(1));
    let limits = limits(ctx);
    let db = ctx.db();
    let mut locks = db.lock_keys(keys.iter().copied().chain(dst));
    // Inputs are read (and type-checked) before the options, as in Redis.
    let mut inputs = Vec::with_capacity(setnum);
    for key in &keys {
        let t = locks.for_key(key);
        let value = if store {
            t.get(key, ctx.now_ms)
        } else {
            t.read(key, ctx.now_ms)
        };
        match sorted_sets::input(value) {
            Ok(items) => inputs.push(items),
            Err(e) => return ctx.reply.error(errors::keyspace(e)),
        }
    }
    let mut weights = vec![1.0; setnum];
    let mut how = Aggregate::Sum;
    let mut withscores = false;
    let mut limit = 0usize;
    let mut j = first_key + setnum;
    while j < args.len() {
        let remaining = args.len() - j;
        let opt = args.get(j);
        if op != SetOp::Diff && !card && remaining > setnum && super::is(opt, "weights") {
            for (i, w) in weights.iter_mut().enumerate() {
                match parse_score(args.get(j + 1 + i)) {
                    Some(v) => *w = v,
                    None => return ctx.reply.error(errors::WEIGHT_NOT_FLOAT),
                }
            }
            j += 1 + setnum;
        } else if op != SetOp::Diff && !card && remaining >= 2 && super::is(opt, "aggregate") {
            let value = args.get(j + 1);
            how = if super::is(value, "sum") {
                Aggregate::Sum
            } else if super::is(value, "min") {
                Aggregate::Min
            } else if super::is(value, "max") {
                Aggregate::Max
            } else {
                return ctx.reply.error(errors::SYNTAX);
            };
            j += 2;
        } else if !store && !card && super::is(opt, "withscores") {
            withscores = true;
            j += 1;
        } else if card && remaining >= 2 && super::is(opt, "limit") {
            match parse_i64(args.get(j + 1)) {
                Some(n) if n >= 0 => limit = n as usize,
                _ => return ctx.reply.error(errors::LIMIT_NEGATIVE),
            }
            j += 2;
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
            // An empty result deletes the destination: class g (z is refused).
            if stored == 0 && existed {
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
pub(super) fn zmpop(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let numkeys = match parse_i64(args.get(1)) {
        Some(n) if n >= 1 => n as usize,
        _ => return ctx.reply.error(errors::NUMKEYS_POSITIVE),
    };
    let where_at = 1 + numkeys + 1;
    if where_at >= args.len() {
        return ctx.reply.error(errors::SYNTAX);
    }
    let max = if super::is(args.get(where_at), "max") {
        true
    } else if super::is(args.get(where_at), "min") {
        false
    } else {
        return ctx.reply.error(errors::SYNTAX);
    };
    let count = match super::mpop_count(args.at_arg(where_at + 1)) {
        Ok(count) => count.unwrap_or(1),
        Err(e) => return ctx.reply.error(e),
    };
    let keys: Vec<&[u8]> = (2..2 + numkeys).map(|i| args.get(i)).collect();
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
