//! The ZRANGE family: ZRANGE (BYSCORE, BYLEX, REV, LIMIT, WITHSCORES), ZRANGESTORE,
//! ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZRANGEBYLEX, ZREVRANGEBYLEX and ZREVRANGE, parsed
//! as Redis 7.0's one `zrangeGenericCommand` parses them all.

use tessera_keyspace::key_slot;
use tessera_keyspace::number::parse_i64;
use tessera_keyspace::sorted_sets::{self, RangeBy, RangeSpec};

use super::Ctx;
use super::cursor::ArgCursor;
use super::zset::{lex_range, limits, reply_scored, score_range};
use crate::errors;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Rank,
    Score,
    Lex,
}

/// ZRANGE key min max [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES].
pub(super) fn zrange(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    generic(c, a, false, None, None)
}

/// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count].
pub(super) fn zrangestore(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    generic(c, a, true, None, None)
}

/// ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count].
pub(super) fn zrangebyscore(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    generic(c, a, false, Some(Kind::Score), Some(false))
}

/// ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count].
pub(super) fn zrevrangebyscore(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    generic(c, a, false, Some(Kind::Score), Some(true))
}

/// ZRANGEBYLEX key min max [LIMIT offset count].
pub(super) fn zrangebylex(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    generic(c, a, false, Some(Kind::Lex), Some(false))
}

/// ZREVRANGEBYLEX key max min [LIMIT offset count].
pub(super) fn zrevrangebylex(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    generic(c, a, false, Some(Kind::Lex), Some(true))
}

/// ZREVRANGE key start stop [WITHSCORES].
pub(super) fn zrevrange(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    generic(c, a, false, Some(Kind::Rank), Some(true))
}

fn generic(
    ctx: &mut Ctx<'_>,
    args: ArgCursor<'_>,
    store: bool,
    mut kind: Option<Kind>,
    mut rev: Option<bool>,
) {
    let mut read = args;
    let dst = if store {
        let Some(dst) = ctx.read(read.next_arg()) else {
            return;
        };
        dst
    } else {
        &[]
    };
    let Some([key, mut min, mut max]) = ctx.read(read.next_args()) else {
        return;
    };
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    while let Ok(opt) = read.next_arg() {
        let left = read.remaining();
        if !store && super::is(opt, "withscores") {
            withscores = true;
        } else if super::is(opt, "limit") && left >= 2 {
            let Some([o, l]) = ctx.read(read.next_args()) else {
                return;
            };
            let (Some(o), Some(l)) = (parse_i64(o), parse_i64(l)) else {
                return ctx.reply.error(errors::NOT_INTEGER);
            };
            (offset, limit) = (o, l);
        } else if rev.is_none() && super::is(opt, "rev") {
            rev = Some(true);
        } else if kind.is_none() && super::is(opt, "bylex") {
            kind = Some(Kind::Lex);
        } else if kind.is_none() && super::is(opt, "byscore") {
            kind = Some(Kind::Score);
        } else {
            return ctx.reply.error(errors::SYNTAX);
        }
    }
    let rev = rev.unwrap_or(false);
    let kind = kind.unwrap_or(Kind::Rank);
    // Redis tells LIMIT apart by its count being other than -1.
    if limit != -1 && kind == Kind::Rank {
        return ctx.reply.error(errors::ZRANGE_LIMIT_RANK);
    }
    if withscores && kind == Kind::Lex {
        return ctx.reply.error(errors::ZRANGE_WITHSCORES_LEX);
    }
    if rev && kind != Kind::Rank {
        std::mem::swap(&mut min, &mut max);
    }
    let by = match kind {
        Kind::Rank => match (parse_i64(min), parse_i64(max)) {
            (Some(s), Some(e)) => RangeBy::Rank(s, e),
            _ => return ctx.reply.error(errors::NOT_INTEGER),
        },
        Kind::Score => match score_range(ctx, min, max) {
            Some(r) => RangeBy::Score(r),
            None => return,
        },
        Kind::Lex => match lex_range(ctx, min, max) {
            Some(r) => RangeBy::Lex(r),
            None => return,
        },
    };
    let spec = RangeSpec {
        by,
        rev,
        offset,
        limit,
    };
    if store {
        return store_range(ctx, args, dst, key, &spec);
    }
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    let items = match sorted_sets::get(&mut t, key, ctx.now_ms) {
        Ok(Some(z)) => sorted_sets::select(z, &spec),
        Ok(None) => Vec::new(),
        Err(e) => return ctx.reply.error(errors::keyspace(e)),
    };
    drop(t);
    let nested = ctx.reply.is_resp3();
    reply_scored(ctx.reply, &items, withscores, nested);
}

fn store_range(ctx: &mut Ctx<'_>, args: ArgCursor<'_>, dst: &[u8], src: &[u8], spec: &RangeSpec) {
    let limits = limits(ctx);
    let db = ctx.db();
    let mut locks = db.lock_keys([dst, src]);
    let items = match sorted_sets::get(locks.for_key(src), src, ctx.now_ms) {
        Ok(Some(z)) => sorted_sets::select(z, spec),
        Ok(None) => Vec::new(),
        Err(e) => return ctx.reply.error(errors::keyspace(e)),
    };
    let existed = locks.for_key(dst).get(dst, ctx.now_ms).is_some();
    let hint = match spec.by {
        RangeBy::Rank(..) => items.len(),
        _ => 0,
    };
    let stored = sorted_sets::store_in_order(locks.for_key(dst), dst, items, hint, &limits);
    if stored > 0 || existed {
        ctx.propagate_locked_verbatim(&mut locks, args);
    }
    // An empty result deletes the destination, an event of class g.
    if stored > 0 {
        ctx.notify(crate::notify::ZSET, "zrangestore", dst);
    } else if existed {
        ctx.notify(crate::notify::GENERIC, "del", dst);
    }
    drop(locks);
    ctx.reply.int(stored as i64);
}
