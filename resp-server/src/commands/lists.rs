//! LPUSH, LPOP, LRANGE and the other list commands (the blocking ones live elsewhere).
//!
//! Each parses its arguments in the order Redis 7.0 does (so the same error wins when
//! several apply), calls `tessera_keyspace::lists`, and replicates what Redis
//! replicates: the command as sent, except LMPOP, which goes out as the LPOP/RPOP
//! with a count that it amounted to.

use tessera_keyspace::encoding::listpack::LpEntry;
use tessera_keyspace::key_slot;
use tessera_keyspace::lists::{self, End, PosOptions};
use tessera_keyspace::number::parse_i64;

use super::cursor::{ArgCursor, ArgError};
use super::{Ctx, is};
use crate::errors;
use crate::notify::LIST;
use crate::protocol::reply::Reply;

/// Replies with one element.
fn bulk_entry(reply: &mut Reply, entry: LpEntry<'_>) {
    match entry {
        LpEntry::Int(n) => reply.bulk_i64(n),
        LpEntry::Str(s) => reply.bulk(s),
    }
}

/// Replies with popped elements as an array.
fn bulk_array(reply: &mut Reply, values: &[Vec<u8>]) {
    reply.array(values.len());
    for v in values {
        reply.bulk(v);
    }
}

/// LEFT or RIGHT, or a syntax error.
fn end_arg(arg: &[u8]) -> Option<End> {
    if is(arg, "LEFT") {
        Some(End::Head)
    } else if is(arg, "RIGHT") {
        Some(End::Tail)
    } else {
        None
    }
}

fn push(ctx: &mut Ctx<'_>, args: ArgCursor<'_>, end: End, create: bool) {
    let mut elements = args;
    let Some(key) = ctx.read(elements.next_arg()) else {
        return;
    };
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    let limits = ctx.settings.encoding;
    match lists::push(
        &mut t,
        key,
        elements.rest(),
        end,
        create,
        &limits,
        ctx.now_ms,
    ) {
        Ok(len) => {
            if len > 0 {
                ctx.propagate_verbatim(&mut t, args);
                // One event per command, however many elements, X forms included.
                ctx.notify(LIST, push_event(end), key);
            }
            drop(t);
            ctx.reply.int(len as i64);
        }
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

/// LPUSH.
pub(super) fn lpush(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    push(c, a, End::Head, true)
}

/// RPUSH.
pub(super) fn rpush(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    push(c, a, End::Tail, true)
}

/// LPUSHX.
pub(super) fn lpushx(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    push(c, a, End::Head, false)
}

/// RPUSHX.
pub(super) fn rpushx(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    push(c, a, End::Tail, false)
}

/// The event of a push at `end`.
pub(super) fn push_event(end: End) -> &'static str {
    match end {
        End::Head => "lpush",
        End::Tail => "rpush",
    }
}

/// The event of a pop from `end`.
pub(super) fn pop_event(end: End) -> &'static str {
    match end {
        End::Head => "lpop",
        End::Tail => "rpop",
    }
}

/// The `del` event (class g) of a list a pop, trim or move left empty, hence gone;
/// it follows the command's own event, as in Redis.
fn emptied(ctx: &Ctx<'_>, t: &tessera_keyspace::SlotTable, key: &[u8]) {
    if t.peek_live(key, ctx.now_ms).is_none() {
        ctx.notify(crate::notify::GENERIC, "del", key);
    }
}

/// LPOP / RPOP key [count]: a bulk without a count, an array with one.
fn pop(ctx: &mut Ctx<'_>, args: ArgCursor<'_>, end: End) {
    let mut read = args;
    if read.remaining() > 2 {
        let name = String::from_utf8_lossy(args.name()).to_ascii_lowercase();
        return ctx.reply.error(&errors::wrong_arity(&name));
    }
    let Some(key) = ctx.read(read.next_arg()) else {
        return;
    };
    let count = if read.is_done() {
        None
    } else {
        match read.next_i64().ok().and_then(|n| usize::try_from(n).ok()) {
            Some(n) => Some(n),
            None => return ctx.reply.error(errors::OUT_OF_RANGE_POSITIVE),
        }
    };
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    match lists::pop(&mut t, key, end, count.unwrap_or(1), ctx.now_ms) {
        Err(e) => ctx.reply.error(errors::keyspace(e)),
        Ok(None) if count.is_some() => ctx.reply.null_array(),
        Ok(None) => ctx.reply.null(),
        Ok(Some(values)) => {
            if !values.is_empty() {
                ctx.propagate_verbatim(&mut t, args);
                ctx.notify(LIST, pop_event(end), key);
                emptied(ctx, &t, key);
            }
            drop(t);
            match count {
                Some(_) => bulk_array(ctx.reply, &values),
                None => ctx.reply.bulk(&values[0]),
            }
        }
    }
}

/// LPOP.
pub(super) fn lpop(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    pop(c, a, End::Head)
}

/// RPOP.
pub(super) fn rpop(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    pop(c, a, End::Tail)
}

/// LLEN.
pub(super) fn llen(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some(key) = ctx.read(args.next_arg()) else {
        return;
    };
    let db = ctx.db();
    let found = lists::len(&mut db.lock(key_slot(key)), key, ctx.now_ms);
    match found {
        Ok(n) => ctx.reply.int(n as i64),
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

/// LINDEX: Redis looks the key up before it reads the index.
pub(super) fn lindex(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some([key, index]) = ctx.read(args.next_args()) else {
        return;
    };
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    let list = match lists::read(&mut t, key, ctx.now_ms) {
        Err(e) => return ctx.reply.error(errors::keyspace(e)),
        Ok(None) => return ctx.reply.null(),
        Ok(Some(list)) => list,
    };
    let Some(index) = parse_i64(index) else {
        return ctx.reply.error(errors::NOT_INTEGER);
    };
    let reply = &mut *ctx.reply;
    let found = lists::resolve_index(index, list.len())
        .and_then(|i| list.with_element(i, |e| bulk_entry(reply, e)));
    if found.is_none() {
        reply.null();
    }
}

/// LRANGE: the indexes are read before the key.
pub(super) fn lrange(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some((key, start, stop)) = ctx.read(key_and_range(&mut args)) else {
        return;
    };
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    let list = match lists::read(&mut t, key, ctx.now_ms) {
        Err(e) => return ctx.reply.error(errors::keyspace(e)),
        Ok(None) => return ctx.reply.array(0),
        Ok(Some(list)) => list,
    };
    match lists::resolve_range(start, stop, list.len()) {
        None => ctx.reply.array(0),
        Some((first, count)) => {
            let reply = &mut *ctx.reply;
            reply.array(count);
            lists::for_each_in(list, first, count, |e| bulk_entry(reply, e));
        }
    }
}

/// A key, then the two indexes of a range (LRANGE, LTRIM).
fn key_and_range<'a>(args: &mut ArgCursor<'a>) -> Result<(&'a [u8], i64, i64), ArgError> {
    Ok((args.next_arg()?, args.next_i64()?, args.next_i64()?))
}

/// LSET.
pub(super) fn lset(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let mut read = args;
    let Some([key, index, element]) = ctx.read(read.next_args()) else {
        return;
    };
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    // Redis checks the key and its type before the index.
    match lists::peek(&mut t, key, ctx.now_ms) {
        Err(e) => return ctx.reply.error(errors::keyspace(e)),
        Ok(None) => {
            return ctx
                .reply
                .error(errors::keyspace(tessera_keyspace::KeyspaceError::NoSuchKey));
        }
        Ok(Some(_)) => {}
    }
    let Some(index) = parse_i64(index) else {
        return ctx.reply.error(errors::NOT_INTEGER);
    };
    match lists::set(&mut t, key, index, element, ctx.now_ms) {
        Ok(true) => {
            ctx.propagate_verbatim(&mut t, args);
            ctx.notify(LIST, "lset", key);
            drop(t);
            ctx.reply.ok();
        }
        Ok(false) => ctx.reply.error(errors::INDEX_OUT_OF_RANGE),
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

/// LINSERT key BEFORE|AFTER pivot element.
pub(super) fn linsert(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let mut read = args;
    let Some([key, place, pivot, element]) = ctx.read(read.next_args()) else {
        return;
    };
    let after = match place {
        w if is(w, "AFTER") => true,
        w if is(w, "BEFORE") => false,
        _ => return ctx.reply.error(errors::SYNTAX),
    };
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    match lists::insert(&mut t, key, after, pivot, element, ctx.now_ms) {
        Ok(n) => {
            if n > 0 {
                ctx.propagate_verbatim(&mut t, args);
                ctx.notify(LIST, "linsert", key);
            }
            drop(t);
            ctx.reply.int(n);
        }
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

/// LREM key count element.
pub(super) fn lrem(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let mut read = args;
    let Some([key, count, element]) = ctx.read(read.next_args()) else {
        return;
    };
    let Some(count) = parse_i64(count) else {
        return ctx.reply.error(errors::NOT_INTEGER);
    };
    super::count_write(ctx, args, key, LIST, |t, now| {
        lists::rem(t, key, count, element, now)
    });
}

/// LTRIM key start stop.
pub(super) fn ltrim(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let mut read = args;
    let Some((key, start, stop)) = ctx.read(key_and_range(&mut read)) else {
        return;
    };
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    match lists::trim(&mut t, key, start, stop, ctx.now_ms) {
        Ok(n) => {
            if n > 0 {
                ctx.propagate_verbatim(&mut t, args);
            }
            // Redis raises `ltrim` for any list it trims, even of nothing.
            if n > 0 || t.peek_live(key, ctx.now_ms).is_some() {
                ctx.notify(LIST, "ltrim", key);
            }
            if n > 0 {
                emptied(ctx, &t, key);
            }
            drop(t);
            ctx.reply.ok();
        }
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

/// LPOS's options from `cursor` on, or the error reply Redis gives for the first bad
/// one.
fn lpos_options(mut cursor: ArgCursor<'_>) -> Result<PosOptions, &'static str> {
    let mut options = PosOptions {
        rank: 1,
        count: None,
        max_len: 0,
    };
    while !cursor.is_done() {
        let opt = cursor.next_arg().map_err(ArgError::text)?;
        if cursor.is_done() {
            return Err(errors::SYNTAX);
        }
        let value = parse_i64(cursor.next_arg().map_err(ArgError::text)?);
        let non_negative = |msg| value.filter(|&v| v >= 0).map(|v| v as usize).ok_or(msg);
        if is(opt, "RANK") {
            options.rank = value.ok_or(errors::NOT_INTEGER)?;
            if options.rank == 0 {
                return Err(errors::LPOS_RANK_ZERO);
            }
        } else if is(opt, "COUNT") {
            options.count = Some(non_negative(errors::LPOS_COUNT_NEGATIVE)?);
        } else if is(opt, "MAXLEN") {
            options.max_len = non_negative(errors::LPOS_MAXLEN_NEGATIVE)?;
        } else {
            return Err(errors::SYNTAX);
        }
    }
    Ok(options)
}

/// LPOS key element [RANK rank] [COUNT num] [MAXLEN len].
pub(super) fn lpos(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some([key, element]) = ctx.read(args.next_args()) else {
        return;
    };
    let options = match lpos_options(args) {
        Ok(o) => o,
        Err(e) => return ctx.reply.error(e),
    };
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    let found = match lists::read(&mut t, key, ctx.now_ms) {
        Err(e) => return ctx.reply.error(errors::keyspace(e)),
        Ok(None) => Vec::new(),
        Ok(Some(list)) => lists::positions(list, element, options),
    };
    drop(t);
    if options.count.is_some() {
        ctx.reply.array(found.len());
        found.iter().for_each(|&i| ctx.reply.int(i as i64));
    } else {
        match found.first() {
            Some(&i) => ctx.reply.int(i as i64),
            None => ctx.reply.null(),
        }
    }
}

fn move_element(ctx: &mut Ctx<'_>, args: ArgCursor<'_>, from: End, to: End) {
    let mut read = args;
    let Some([source, destination]) = ctx.read(read.next_args()) else {
        return;
    };
    let db = ctx.db();
    let mut locks = db.lock_keys([source, destination]);
    let limits = ctx.settings.encoding;
    let moved = lists::lmove(
        &mut locks,
        source,
        destination,
        from,
        to,
        &limits,
        ctx.now_ms,
    );
    match moved {
        Ok(Some(value)) => {
            ctx.propagate_locked_verbatim(&mut locks, args);
            // Redis pushes (and raises the push) before it raises the pop.
            ctx.notify(LIST, push_event(to), destination);
            ctx.notify(LIST, pop_event(from), source);
            emptied(ctx, locks.for_key(source), source);
            drop(locks);
            ctx.reply.bulk(&value);
        }
        Ok(None) => ctx.reply.null(),
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

/// LMOVE source destination LEFT|RIGHT LEFT|RIGHT.
pub(super) fn lmove(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let mut read = args;
    let Some([_, _, from, to]) = ctx.read(read.next_args()) else {
        return;
    };
    match (end_arg(from), end_arg(to)) {
        (Some(from), Some(to)) => move_element(ctx, args, from, to),
        _ => ctx.reply.error(errors::SYNTAX),
    }
}

/// RPOPLPUSH source destination.
pub(super) fn rpoplpush(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    move_element(ctx, args, End::Tail, End::Head)
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count].
pub(super) fn lmpop(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let numkeys = match args.next_i64() {
        Ok(n) if n >= 1 => usize::try_from(n).unwrap_or(usize::MAX),
        _ => return ctx.reply.error(errors::NUMKEYS_POSITIVE),
    };
    // The keys, then the direction; numkeys larger than what follows is a syntax error.
    let Ok(keys) = args.next_many(numkeys) else {
        return ctx.reply.error(errors::SYNTAX);
    };
    let keys: Vec<&[u8]> = keys.collect();
    let Some(end) = args.next_arg().ok().and_then(end_arg) else {
        return ctx.reply.error(errors::SYNTAX);
    };
    let count = match super::mpop_count(args) {
        Ok(count) => count,
        Err(e) => return ctx.reply.error(e),
    };
    let db = ctx.db();
    let mut locks = db.lock_keys(keys.iter().copied());
    let popped = lists::mpop(
        &mut locks,
        keys.iter().copied(),
        end,
        count.unwrap_or(1),
        ctx.now_ms,
    );
    match popped {
        Ok(Some((i, values))) => {
            let n = itoa::Buffer::new().format(values.len()).as_bytes().to_vec();
            let name: &[u8] = if end == End::Head { b"LPOP" } else { b"RPOP" };
            ctx.propagate_locked(&mut locks, &[name, keys[i], &n]);
            ctx.notify(LIST, pop_event(end), keys[i]);
            emptied(ctx, locks.for_key(keys[i]), keys[i]);
            drop(locks);
            ctx.reply.array(2);
            ctx.reply.bulk(keys[i]);
            bulk_array(ctx.reply, &values);
        }
        Ok(None) => ctx.reply.null_array(),
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}
