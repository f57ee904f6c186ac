//! HSET, HGET, HINCRBY, HRANDFIELD and the other hash commands.
//!
//! HGETALL answers a RESP3 map; HRANDFIELD ... WITHVALUES answers pairs as nested
//! arrays in RESP3 and flat in RESP2, as Redis 7.0 does. HINCRBYFLOAT goes to replicas
//! as the HSET of its result, so float formatting cannot make copies diverge.

use tessera_keyspace::hashes::{self, is_infinite_text};
use tessera_keyspace::long_double;
use tessera_keyspace::{Value, key_slot};

use super::Ctx;
use super::cursor::ArgCursor;
use super::keys::parse_cursor;
use super::sets::{reply_scan, scan_options};
use crate::errors;
use crate::notify::HASH;

fn random() -> u64 {
    rand::random::<u64>()
}

/// HSET and HMSET: field/value pairs after the key, or Redis's arity error.
fn set_pairs(ctx: &mut Ctx<'_>, args: ArgCursor<'_>, name: &str) -> Option<usize> {
    let mut fields = args;
    let (Ok(key), Some(pairs)) = (fields.next_arg(), fields.rest_in_pairs()) else {
        ctx.reply.error(&errors::wrong_arity(name));
        return None;
    };
    let pairs: Vec<(&[u8], &[u8])> = pairs.collect();
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    match hashes::hset(&mut t, key, &pairs, &ctx.settings.encoding, ctx.now_ms) {
        Ok(created) => {
            ctx.propagate_verbatim(&mut t, args);
            ctx.notify(HASH, "hset", key);
            Some(created)
        }
        Err(e) => {
            ctx.reply.error(errors::keyspace(e));
            None
        }
    }
}

pub(super) fn hset(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    if let Some(created) = set_pairs(ctx, args, "hset") {
        ctx.reply.int(created as i64);
    }
}

pub(super) fn hmset(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    if set_pairs(ctx, args, "hmset").is_some() {
        ctx.reply.ok();
    }
}

pub(super) fn hsetnx(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some([key, field, value]) = ctx.read(args.next_args()) else {
        return;
    };
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    let limits = ctx.settings.encoding;
    match hashes::hsetnx(&mut t, key, field, value, &limits, ctx.now_ms) {
        Ok(set) => {
            if set {
                ctx.propagate_verbatim(&mut t, args);
                ctx.notify(HASH, "hset", key);
            }
            ctx.reply.int(i64::from(set))
        }
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

/// Replies with a value or null.
fn reply_value(ctx: &mut Ctx<'_>, value: Option<&[u8]>) {
    match value {
        Some(v) => ctx.reply.bulk(v),
        None => ctx.reply.null(),
    }
}

pub(super) fn hget(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some([key, field]) = ctx.read(args.next_args()) else {
        return;
    };
    let db = ctx.db();
    match hashes::hget(&mut db.lock(key_slot(key)), key, field, ctx.now_ms) {
        Ok(v) => reply_value(ctx, v.as_deref()),
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

pub(super) fn hmget(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some(key) = ctx.read(args.next_arg()) else {
        return;
    };
    let fields: Vec<&[u8]> = args.rest().collect();
    let db = ctx.db();
    match hashes::hmget(&mut db.lock(key_slot(key)), key, &fields, ctx.now_ms) {
        Ok(values) => {
            ctx.reply.array(values.len());
            for v in values {
                reply_value(ctx, v.as_deref());
            }
        }
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

pub(super) fn hdel(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let mut fields = args;
    let Some(key) = ctx.read(fields.next_arg()) else {
        return;
    };
    let fields: Vec<&[u8]> = fields.rest().collect();
    super::count_write(ctx, args, key, HASH, |t, now| {
        hashes::hdel(t, key, &fields, now)
    });
}

pub(super) fn hlen(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some(key) = ctx.read(args.next_arg()) else {
        return;
    };
    let db = ctx.db();
    match hashes::hlen(&mut db.lock(key_slot(key)), key, ctx.now_ms) {
        Ok(n) => ctx.reply.int(n as i64),
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

pub(super) fn hstrlen(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some([key, field]) = ctx.read(args.next_args()) else {
        return;
    };
    let db = ctx.db();
    match hashes::hstrlen(&mut db.lock(key_slot(key)), key, field, ctx.now_ms) {
        Ok(n) => ctx.reply.int(n as i64),
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

pub(super) fn hexists(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some([key, field]) = ctx.read(args.next_args()) else {
        return;
    };
    let db = ctx.db();
    match hashes::hexists(&mut db.lock(key_slot(key)), key, field, ctx.now_ms) {
        Ok(found) => ctx.reply.int(i64::from(found)),
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

pub(super) fn hincrby(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let mut read = args;
    let Some([key, field]) = ctx.read(read.next_args()) else {
        return;
    };
    let Some(delta) = ctx.read(read.next_i64()) else {
        return;
    };
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    let limits = ctx.settings.encoding;
    match hashes::hincrby(&mut t, key, field, delta, &limits, ctx.now_ms) {
        Ok(n) => {
            ctx.propagate_verbatim(&mut t, args);
            ctx.notify(HASH, "hincrby", key);
            ctx.reply.int(n)
        }
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

pub(super) fn hincrbyfloat(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some([key, field, increment]) = ctx.read(args.next_args()) else {
        return;
    };
    if !long_double::is_valid(increment) {
        return ctx.reply.error(errors::NOT_FLOAT);
    }
    if is_infinite_text(increment) {
        return ctx.reply.error(errors::NAN_OR_INFINITY);
    }
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    let limits = ctx.settings.encoding;
    match hashes::hincrbyfloat(&mut t, key, field, increment, &limits, ctx.now_ms) {
        Ok(text) => {
            ctx.propagate(&mut t, &[b"HSET", key, field, &text]);
            ctx.notify(HASH, "hincrbyfloat", key);
            ctx.reply.bulk(&text)
        }
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

/// Which part of each pair HKEYS / HVALS / HGETALL return.
#[derive(Clone, Copy)]
enum Part {
    Fields,
    Values,
    Both,
}

fn get_all(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>, part: Part) {
    let Some(key) = ctx.read(args.next_arg()) else {
        return;
    };
    let db = ctx.db();
    let pairs = match hashes::hgetall(&mut db.lock(key_slot(key)), key, ctx.now_ms) {
        Ok(pairs) => pairs,
        Err(e) => return ctx.reply.error(errors::keyspace(e)),
    };
    match part {
        Part::Both => ctx.reply.map(pairs.len()),
        _ => ctx.reply.array(pairs.len()),
    }
    for (f, v) in &pairs {
        match part {
            Part::Fields => ctx.reply.bulk(f),
            Part::Values => ctx.reply.bulk(v),
            Part::Both => {
                ctx.reply.bulk(f);
                ctx.reply.bulk(v);
            }
        }
    }
}

pub(super) fn hkeys(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    get_all(ctx, args, Part::Fields)
}

pub(super) fn hvals(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    get_all(ctx, args, Part::Values)
}

pub(super) fn hgetall(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    get_all(ctx, args, Part::Both)
}

pub(super) fn hrandfield(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some(key) = ctx.read(args.next_arg()) else {
        return;
    };
    let db = ctx.db();
    let mut rng = random;
    if args.is_done() {
        return match hashes::hrandfield(&mut db.lock(key_slot(key)), key, ctx.now_ms, &mut rng) {
            Ok(v) => reply_value(ctx, v.as_deref()),
            Err(e) => ctx.reply.error(errors::keyspace(e)),
        };
    }
    let count = match args.next_i64() {
        Err(e) => return ctx.reply.error(e.text()),
        Ok(i64::MIN) => return ctx.reply.error(&errors::out_of_range(-i64::MAX, i64::MAX)),
        Ok(n) => n,
    };
    let with_values = match (args.next_arg(), args.is_done()) {
        (Err(_), _) => false,
        (Ok(option), true) if option.eq_ignore_ascii_case(b"WITHVALUES") => true,
        _ => return ctx.reply.error(errors::SYNTAX),
    };
    if with_values && !(-i64::MAX / 2..=i64::MAX / 2).contains(&count) {
        return ctx.reply.error(errors::OUT_OF_RANGE);
    }
    let pairs = match hashes::hrandfield_count(
        &mut db.lock(key_slot(key)),
        key,
        count,
        ctx.now_ms,
        &mut rng,
    ) {
        Ok(pairs) => pairs,
        Err(e) => return ctx.reply.error(errors::keyspace(e)),
    };
    let resp3 = ctx.reply.is_resp3();
    match (with_values, resp3) {
        (true, false) => ctx.reply.array(pairs.len() * 2),
        _ => ctx.reply.array(pairs.len()),
    }
    for (f, v) in &pairs {
        if with_values && resp3 {
            ctx.reply.array(2);
        }
        ctx.reply.bulk(f);
        if with_values {
            ctx.reply.bulk(v);
        }
    }
}

pub(super) fn hscan(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
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
        Some(Value::Hash(_)) => {}
        Some(_) => return ctx.reply.error(errors::WRONGTYPE),
    }
    let Some((count, pattern)) = scan_options(ctx, args) else {
        return;
    };
    match hashes::hscan(&mut t, key, cursor, count, pattern, ctx.now_ms) {
        Ok((next, pairs)) => {
            let flat: Vec<Vec<u8>> = pairs.into_iter().flat_map(|(f, v)| [f, v]).collect();
            reply_scan(ctx, next, &flat)
        }
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}
