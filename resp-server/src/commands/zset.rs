//! Sorted-set commands on one key: ZADD, ZINCRBY, ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK,
//! ZREVRANK, ZCOUNT, ZLEXCOUNT, ZPOPMIN/ZPOPMAX, ZREMRANGEBY*, ZRANDMEMBER, ZSCAN.
//! The range family is in `zset_range.rs`, the multi-key commands in `zset_multi.rs`.

use tessera_keyspace::collections::zset::{AddFlags, LexRange, ScoreRange, parse_score};
use tessera_keyspace::glob::glob_match;
use tessera_keyspace::number::{format_g17, parse_i64, parse_u64};
use tessera_keyspace::sorted_sets::{self, RangeBy, Scored};
use tessera_keyspace::{EncodingLimits, key_slot};

use super::Ctx;
use super::cursor::{ArgCursor, Options};
use crate::errors;
use crate::protocol::reply::Reply;

/// Replies with a score as Redis 7.0 does: `%.17g`, a bulk string in RESP2 and a
/// double in RESP3.
pub(super) fn reply_score(reply: &mut Reply, score: f64) {
    let text = format_g17(score);
    if reply.is_resp3() {
        reply.append_raw(b",");
        reply.append_raw(text.as_bytes());
        reply.append_raw(b"\r\n");
    } else {
        reply.bulk(text.as_bytes());
    }
}

/// Replies with members, and their scores if asked: flat in RESP2, as
/// `[member, score]` pairs in RESP3 (or when `nested` asks for pairs anyway).
pub(super) fn reply_scored(reply: &mut Reply, items: &[Scored], withscores: bool, nested: bool) {
    if !withscores {
        reply.array(items.len());
        for (m, _) in items {
            reply.bulk(m);
        }
    } else if nested {
        reply.array(items.len());
        for (m, s) in items {
            reply.array(2);
            reply.bulk(m);
            reply_score(reply, *s);
        }
    } else {
        reply.array(2 * items.len());
        for (m, s) in items {
            reply.bulk(m);
            reply_score(reply, *s);
        }
    }
}

/// The encoding thresholds in force.
pub(super) fn limits(ctx: &Ctx<'_>) -> EncodingLimits {
    ctx.settings.encoding
}

/// Parses a score range, replying with Redis's error when it is not one.
pub(super) fn score_range(ctx: &mut Ctx<'_>, min: &[u8], max: &[u8]) -> Option<ScoreRange> {
    let range = ScoreRange::parse(min, max);
    if range.is_none() {
        ctx.reply.error(errors::ZSET_MIN_MAX_NOT_FLOAT);
    }
    range
}

/// Parses a lexicographic range, replying with Redis's error when it is not one.
pub(super) fn lex_range(ctx: &mut Ctx<'_>, min: &[u8], max: &[u8]) -> Option<LexRange> {
    let range = LexRange::parse(min, max);
    if range.is_none() {
        ctx.reply.error(errors::ZSET_LEX_RANGE);
    }
    range
}

/// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...].
pub(super) fn zadd(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let mut read = args;
    let Some(key) = ctx.read(read.next_arg()) else {
        return;
    };
    let mut flags = AddFlags::default();
    let mut ch = false;
    loop {
        match read.peek().to_ascii_lowercase().as_slice() {
            b"nx" => flags.nx = true,
            b"xx" => flags.xx = true,
            b"ch" => ch = true,
            b"incr" => flags.incr = true,
            b"gt" => flags.gt = true,
            b"lt" => flags.lt = true,
            _ => break,
        }
        read.skip();
    }
    let elements = read.remaining();
    let Some(elements_in_pairs) = read.rest_in_pairs().filter(|_| elements > 0) else {
        return ctx.reply.error(errors::SYNTAX);
    };
    if flags.nx && flags.xx {
        return ctx.reply.error(errors::ZADD_NX_XX);
    }
    if ((flags.gt || flags.lt) && flags.nx) || (flags.gt && flags.lt) {
        return ctx.reply.error(errors::ZADD_GT_LT_NX);
    }
    if flags.incr && elements > 2 {
        return ctx.reply.error(errors::ZADD_INCR_PAIRS);
    }
    let mut pairs = Vec::with_capacity(elements / 2);
    for (score, member) in elements_in_pairs {
        match parse_score(score) {
            Some(score) => pairs.push((score, member)),
            None => return ctx.reply.error(errors::NOT_FLOAT),
        }
    }
    run_zadd(ctx, args, key, &pairs, flags, ch);
}

fn run_zadd(
    ctx: &mut Ctx<'_>,
    args: ArgCursor<'_>,
    key: &[u8],
    pairs: &[(f64, &[u8])],
    flags: AddFlags,
    ch: bool,
) {
    let limits = limits(ctx);
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    let out = match sorted_sets::zadd(&mut t, key, pairs, flags, &limits, ctx.now_ms) {
        Ok(out) => out,
        Err(e) => return ctx.reply.error(errors::keyspace(e)),
    };
    if out.added + out.updated > 0 {
        ctx.propagate_verbatim(&mut t, args);
        // ZINCRBY is ZADD INCR to Redis: both raise `zincr`.
        let event = if flags.incr { "zincr" } else { "zadd" };
        ctx.notify(crate::notify::ZSET, event, key);
    }
    drop(t);
    if out.not_a_number {
        ctx.reply.error(errors::ZSET_NAN);
    } else if flags.incr {
        match out.score {
            Some(s) => reply_score(ctx.reply, s),
            None => ctx.reply.null(),
        }
    } else if ch {
        ctx.reply.int((out.added + out.updated) as i64);
    } else {
        ctx.reply.int(out.added as i64);
    }
}

/// ZINCRBY key increment member.
pub(super) fn zincrby(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let mut read = args;
    let Some([key, increment, member]) = ctx.read(read.next_args()) else {
        return;
    };
    let Some(incr) = parse_score(increment) else {
        return ctx.reply.error(errors::NOT_FLOAT);
    };
    let flags = AddFlags {
        incr: true,
        ..AddFlags::default()
    };
    run_zadd(ctx, args, key, &[(incr, member)], flags, false);
}

/// ZREM key member [member ...].
pub(super) fn zrem(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let mut members = args;
    let Some(key) = ctx.read(members.next_arg()) else {
        return;
    };
    let members: Vec<&[u8]> = members.rest().collect();
    super::count_write(ctx, args, key, crate::notify::ZSET, |t, now| {
        sorted_sets::zrem(t, key, &members, now)
    });
}

/// Runs `f` on the sorted set at `key` (None when missing), or replies WRONGTYPE.
fn with_zset<R>(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    f: impl FnOnce(Option<&tessera_keyspace::collections::ZSetValue>) -> R,
) -> Option<R> {
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    match sorted_sets::get(&mut t, key, ctx.now_ms) {
        Ok(z) => Some(f(z)),
        Err(e) => {
            ctx.reply.error(errors::keyspace(e));
            None
        }
    }
}

/// ZCARD key.
pub(super) fn zcard(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some(key) = ctx.read(args.next_arg()) else {
        return;
    };
    if let Some(n) = with_zset(ctx, key, |z| z.map_or(0, |z| z.len())) {
        ctx.reply.int(n as i64);
    }
}

/// ZSCORE key member.
pub(super) fn zscore(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some([key, member]) = ctx.read(args.next_args()) else {
        return;
    };
    match with_zset(ctx, key, |z| z.and_then(|z| z.score(member))) {
        Some(Some(s)) => reply_score(ctx.reply, s),
        Some(None) => ctx.reply.null(),
        None => {}
    }
}

/// ZMSCORE key member [member ...].
pub(super) fn zmscore(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some(key) = ctx.read(args.next_arg()) else {
        return;
    };
    let scores = with_zset(ctx, key, |z| {
        args.rest()
            .map(|m| z.and_then(|z| z.score(m)))
            .collect::<Vec<_>>()
    });
    if let Some(scores) = scores {
        ctx.reply.array(scores.len());
        for s in scores {
            match s {
                Some(s) => reply_score(ctx.reply, s),
                None => ctx.reply.null(),
            }
        }
    }
}

fn rank(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>, rev: bool) {
    let Some([key, member]) = ctx.read(args.next_args()) else {
        return;
    };
    let found = with_zset(ctx, key, |z| {
        z.and_then(|z| {
            z.rank(member)
                .map(|r| if rev { z.len() - 1 - r } else { r })
        })
    });
    match found {
        Some(Some(r)) => ctx.reply.int(r as i64),
        Some(None) => ctx.reply.null(),
        None => {}
    }
}

/// ZRANK key member.
pub(super) fn zrank(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    rank(ctx, args, false)
}

/// ZREVRANK key member.
pub(super) fn zrevrank(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    rank(ctx, args, true)
}

fn count_in(ctx: &mut Ctx<'_>, key: &[u8], by: RangeBy) {
    let counted = with_zset(ctx, key, |z| {
        z.map_or(0, |z| {
            let (lo, hi) = sorted_sets::rank_span(z, &by, false);
            hi - lo
        })
    });
    if let Some(n) = counted {
        ctx.reply.int(n as i64);
    }
}

/// ZCOUNT key min max.
pub(super) fn zcount(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some([key, min, max]) = ctx.read(args.next_args()) else {
        return;
    };
    if let Some(r) = score_range(ctx, min, max) {
        count_in(ctx, key, RangeBy::Score(r));
    }
}

/// ZLEXCOUNT key min max.
pub(super) fn zlexcount(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some([key, min, max]) = ctx.read(args.next_args()) else {
        return;
    };
    if let Some(r) = lex_range(ctx, min, max) {
        count_in(ctx, key, RangeBy::Lex(r));
    }
}

fn remove_range(ctx: &mut Ctx<'_>, args: ArgCursor<'_>, key: &[u8], by: RangeBy) {
    super::count_write(ctx, args, key, crate::notify::ZSET, |t, now| {
        sorted_sets::remove_range(t, key, &by, now)
    });
}

/// ZREMRANGEBYRANK key start stop.
pub(super) fn zremrangebyrank(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let mut read = args;
    let Some([key, start, end]) = ctx.read(read.next_args()) else {
        return;
    };
    let (Some(start), Some(end)) = (parse_i64(start), parse_i64(end)) else {
        return ctx.reply.error(errors::NOT_INTEGER);
    };
    remove_range(ctx, args, key, RangeBy::Rank(start, end));
}

/// ZREMRANGEBYSCORE key min max.
pub(super) fn zremrangebyscore(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let mut read = args;
    let Some([key, min, max]) = ctx.read(read.next_args()) else {
        return;
    };
    if let Some(r) = score_range(ctx, min, max) {
        remove_range(ctx, args, key, RangeBy::Score(r));
    }
}

/// ZREMRANGEBYLEX key min max.
pub(super) fn zremrangebylex(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let mut read = args;
    let Some([key, min, max]) = ctx.read(read.next_args()) else {
        return;
    };
    if let Some(r) = lex_range(ctx, min, max) {
        remove_range(ctx, args, key, RangeBy::Lex(r));
    }
}

/// Parses a count Redis reads with `getPositiveLongFromObjectOrReply`: any failure,
/// a negative number included, is "must be positive".
fn positive_count(ctx: &mut Ctx<'_>, arg: &[u8]) -> Option<usize> {
    match parse_i64(arg) {
        Some(n) if n >= 0 => Some(n as usize),
        _ => {
            ctx.reply.error(errors::OUT_OF_RANGE_POSITIVE);
            None
        }
    }
}

fn pop(ctx: &mut Ctx<'_>, args: ArgCursor<'_>, max: bool) {
    let mut read = args;
    if read.remaining() > 2 {
        return ctx.reply.error(errors::SYNTAX);
    }
    let Some(key) = ctx.read(read.next_arg()) else {
        return;
    };
    let count = match read.next_arg() {
        Ok(count) => match positive_count(ctx, count) {
            Some(n) => Some(n),
            None => return,
        },
        Err(_) => None,
    };
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    let popped = match sorted_sets::pop(&mut t, key, count.unwrap_or(1), max, ctx.now_ms) {
        Ok(p) => p.unwrap_or_default(),
        Err(e) => return ctx.reply.error(errors::keyspace(e)),
    };
    if !popped.is_empty() {
        ctx.propagate_verbatim(&mut t, args);
        ctx.notify(crate::notify::ZSET, pop_event(max), key);
        if t.peek_live(key, ctx.now_ms).is_none() {
            ctx.notify(crate::notify::GENERIC, "del", key);
        }
    }
    drop(t);
    // A count asks for [member, score] pairs in RESP3; otherwise the array is flat.
    let nested = ctx.reply.is_resp3() && count.is_some();
    reply_scored(ctx.reply, &popped, true, nested);
}

/// The event of a pop of the lowest (`zpopmin`) or highest (`zpopmax`) members.
pub(super) fn pop_event(max: bool) -> &'static str {
    if max { "zpopmax" } else { "zpopmin" }
}

/// ZPOPMIN key [count].
pub(super) fn zpopmin(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    pop(ctx, args, false)
}

/// ZPOPMAX key [count].
pub(super) fn zpopmax(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    pop(ctx, args, true)
}

/// ZRANDMEMBER key [count [WITHSCORES]].
pub(super) fn zrandmember(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let mut random = || rand::random::<u64>();
    let Some(key) = ctx.read(args.next_arg()) else {
        return;
    };
    if args.is_done() {
        let picked = with_zset(ctx, key, |z| {
            z.and_then(|z| sorted_sets::random_members(z, -1, &mut random).pop())
        });
        match picked {
            Some(Some((m, _))) => ctx.reply.bulk(&m),
            Some(None) => ctx.reply.null(),
            None => {}
        }
        return;
    }
    let Some(count) = ctx.read(args.next_i64()) else {
        return;
    };
    if count == i64::MIN {
        return ctx
            .reply
            .error(&errors::out_of_range_between(-i64::MAX, i64::MAX));
    }
    let withscores = !args.is_done();
    if args.remaining() > 1 || (withscores && !super::is(args.peek(), "withscores")) {
        return ctx.reply.error(errors::SYNTAX);
    }
    if withscores && !(-i64::MAX / 2..=i64::MAX / 2).contains(&count) {
        return ctx.reply.error(errors::OUT_OF_RANGE);
    }
    let picked = with_zset(ctx, key, |z| {
        z.map(|z| sorted_sets::random_members(z, count, &mut random))
            .unwrap_or_default()
    });
    if let Some(items) = picked {
        let nested = ctx.reply.is_resp3();
        reply_scored(ctx.reply, &items, withscores, nested);
    }
}

/// Parses a SCAN cursor as Redis's strtoul does: decimal, and a leading `-` wraps.
fn parse_cursor(arg: &[u8]) -> Option<u64> {
    match arg.strip_prefix(b"-") {
        Some(rest) => parse_u64(rest).map(|n| n.wrapping_neg()),
        None => parse_u64(arg),
    }
}

/// What ZSCAN's options mean.
#[derive(Clone, Copy)]
enum ScanOption {
    Match,
    Count,
}

/// ZSCAN key cursor [MATCH pattern] [COUNT count].
const ZSCAN_OPTIONS: Options<ScanOption> = &[
    ("MATCH", 1, ScanOption::Match),
    ("COUNT", 1, ScanOption::Count),
];

/// ZSCAN key cursor [MATCH pattern] [COUNT count].
pub(super) fn zscan(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some([key, cursor]) = ctx.read(args.next_args()) else {
        return;
    };
    let Some(cursor) = parse_cursor(cursor) else {
        return ctx.reply.error(errors::INVALID_CURSOR);
    };
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    let z = match sorted_sets::get(&mut t, key, ctx.now_ms) {
        Err(e) => return ctx.reply.error(errors::keyspace(e)),
        Ok(None) => {
            drop(t);
            ctx.reply.array(2);
            ctx.reply.bulk(b"0");
            ctx.reply.array(0);
            return;
        }
        Ok(Some(z)) => z,
    };
    // Options are read once the key is known, as Redis reads them.
    let mut count = 10usize;
    let mut pattern: Option<&[u8]> = None;
    for option in args.options(ZSCAN_OPTIONS) {
        match ctx.read(option) {
            None => return,
            Some((ScanOption::Count, [n, _])) => match parse_i64(n) {
                Some(n) if n >= 1 => count = n as usize,
                Some(_) => return ctx.reply.error(errors::SYNTAX),
                None => return ctx.reply.error(errors::NOT_INTEGER),
            },
            Some((ScanOption::Match, [p, _])) => pattern = Some(p),
        }
    }
    let (next, items) = z.scan(cursor, count);
    drop(t);
    let kept: Vec<&(Vec<u8>, Vec<u8>)> = items
        .iter()
        .filter(|(m, _)| pattern.is_none_or(|p| glob_match(p, m, false)))
        .collect();
    ctx.reply.array(2);
    ctx.reply.bulk(itoa::Buffer::new().format(next).as_bytes());
    ctx.reply.array(2 * kept.len());
    for (m, s) in kept {
        ctx.reply.bulk(m);
        ctx.reply.bulk(s);
    }
}
