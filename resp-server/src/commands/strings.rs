//! GET, SET and the other string commands.

use tessera_keyspace::strings::{
    self, Deadline, GetExDeadline, SetCondition, SetOptions, substring_range,
};
use tessera_keyspace::{StrValue, key_slot};

use super::Ctx;
use super::cursor::{ArgCursor, ArgError, Options};
use crate::errors;
use crate::notify::{GENERIC, STRING};

/// INCR.
pub(super) fn incr(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    let mut read = a;
    if let Some(key) = c.read(read.next_arg()) {
        incr_by(c, a, key, 1)
    }
}

/// DECR.
pub(super) fn decr(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    let mut read = a;
    if let Some(key) = c.read(read.next_arg()) {
        incr_by(c, a, key, -1)
    }
}

/// Replies with a string value or null.
fn reply_value(ctx: &mut Ctx<'_>, value: Option<&StrValue>) {
    match value {
        Some(v) => v.with_bytes(|b| ctx.reply.bulk(b)),
        None => ctx.reply.null(),
    }
}

/// The time unit of an expiry argument.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Unit {
    Seconds,
    Millis,
}

/// Parses an expiry argument of SET, SETEX, GETEX... into an absolute Unix time in ms,
/// with Redis's checks: positive, no overflow, and a valid result.
pub(super) fn deadline_arg(
    ctx: &mut Ctx<'_>,
    arg: &[u8],
    unit: Unit,
    absolute: bool,
    command: &str,
) -> Option<i64> {
    let n = ctx.int_arg(arg)?;
    let ms = match unit {
        Unit::Seconds if n <= i64::MAX / 1000 => Some(n * 1000),
        Unit::Seconds => None,
        Unit::Millis => Some(n),
    };
    let at = ms.filter(|_| n > 0).and_then(|ms| {
        if absolute {
            Some(ms)
        } else {
            ms.checked_add(ctx.now_ms)
        }
    });
    if at.is_none() {
        ctx.reply.error(&errors::invalid_expire(command));
    }
    at
}

pub(super) fn get(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some(key) = ctx.read(args.next_arg()) else {
        return;
    };
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    match strings::get(&mut t, key, ctx.now_ms) {
        Ok(v) => reply_value(ctx, v),
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

/// Runs SET with parsed options and writes its reply. A write with a deadline goes to
/// replicas as `SET key value PXAT <ms>`, as Redis 7.0 sends it, so every copy expires
/// at the same instant; other writes go as the client sent them.
fn run_set(
    ctx: &mut Ctx<'_>,
    args: ArgCursor<'_>,
    key: &[u8],
    value: &[u8],
    options: SetOptions,
    reply_int: bool,
) {
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    let out = match strings::set(&mut t, key, value, options, ctx.now_ms) {
        Err(e) => return ctx.reply.error(errors::keyspace(e)),
        Ok(out) => out,
    };
    if out.written {
        match options.deadline {
            Deadline::At(at) if ctx.records_changes() => {
                let at = itoa::Buffer::new().format(at).as_bytes().to_vec();
                ctx.propagate(&mut t, &[b"SET", key, value, b"PXAT", &at]);
            }
            Deadline::At(_) => {
                if ctx.expired_events() {
                    t.flush_expired();
                }
            }
            _ => ctx.propagate_verbatim(&mut t, args),
        }
        ctx.notify(STRING, "set", key);
        if let Deadline::At(_) = options.deadline {
            ctx.notify(GENERIC, "expire", key);
        }
    }
    drop(t);
    match out {
        _ if options.return_previous => reply_value(ctx, out.previous.as_ref()),
        _ if reply_int => ctx.reply.int(i64::from(out.written)),
        _ if out.written => ctx.reply.ok(),
        _ => ctx.reply.null(),
    }
}

/// What SET's options mean.
#[derive(Clone, Copy)]
enum SetOption {
    Condition(SetCondition),
    Get,
    KeepTtl,
    Expire(Unit, bool),
}

/// SET key value [NX | XX] [GET] [EX s | PX ms | EXAT s | PXAT ms | KEEPTTL].
const SET_OPTIONS: Options<SetOption> = &[
    ("NX", 0, SetOption::Condition(SetCondition::IfAbsent)),
    ("XX", 0, SetOption::Condition(SetCondition::IfPresent)),
    ("GET", 0, SetOption::Get),
    ("KEEPTTL", 0, SetOption::KeepTtl),
    ("EX", 1, SetOption::Expire(Unit::Seconds, false)),
    ("PX", 1, SetOption::Expire(Unit::Millis, false)),
    ("EXAT", 1, SetOption::Expire(Unit::Seconds, true)),
    ("PXAT", 1, SetOption::Expire(Unit::Millis, true)),
];

/// An expiry argument: the value, its unit, and whether it is a Unix time.
type ExpiryArg<'a> = (&'a [u8], Unit, bool);

/// SET's options (with the expiry still unparsed, and KEEPTTL), or the syntax error
/// Redis gives for a conflicting pair.
fn set_options<'a>(
    cursor: &mut ArgCursor<'a>,
) -> Result<(SetOptions, Option<ExpiryArg<'a>>, bool), ArgError> {
    let mut options = SetOptions::default();
    let mut expiry = None;
    let mut keep_ttl = false;
    while let Some((option, [value, _])) = cursor.next_option(SET_OPTIONS)? {
        let fits = match option {
            SetOption::Condition(c) => {
                let fits = options.condition == SetCondition::Always || options.condition == c;
                options.condition = c;
                fits
            }
            SetOption::Get => {
                options.return_previous = true;
                true
            }
            SetOption::KeepTtl => {
                keep_ttl = true;
                expiry.is_none()
            }
            SetOption::Expire(unit, absolute) => {
                let fits = expiry.is_none() && !keep_ttl;
                expiry = Some((value, unit, absolute));
                fits
            }
        };
        if !fits {
            return Err(ArgError::Syntax);
        }
    }
    Ok((options, expiry, keep_ttl))
}

pub(super) fn set(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let mut cursor = args;
    let parsed = (|| {
        Ok((
            cursor.next_arg()?,
            cursor.next_arg()?,
            set_options(&mut cursor)?,
        ))
    })();
    let (key, value, (mut options, expiry, keep_ttl)) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => return ctx.reply.error(ArgError::text(e)),
    };
    options.deadline = match expiry {
        Some((arg, unit, absolute)) => match deadline_arg(ctx, arg, unit, absolute, "set") {
            Some(at) => Deadline::At(at),
            None => return,
        },
        None if keep_ttl => Deadline::Keep,
        None => Deadline::Clear,
    };
    run_set(ctx, args, key, value, options, false);
}

pub(super) fn setnx(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let options = SetOptions {
        condition: SetCondition::IfAbsent,
        ..SetOptions::default()
    };
    let mut read = args;
    if let Some([key, value]) = ctx.read(read.next_args()) {
        run_set(ctx, args, key, value, options, true);
    }
}

fn setex_with(ctx: &mut Ctx<'_>, args: ArgCursor<'_>, unit: Unit, name: &str) {
    let mut read = args;
    let Some([key, seconds, value]) = ctx.read(read.next_args()) else {
        return;
    };
    if let Some(at) = deadline_arg(ctx, seconds, unit, false, name) {
        let options = SetOptions {
            deadline: Deadline::At(at),
            ..SetOptions::default()
        };
        run_set(ctx, args, key, value, options, false);
    }
}

pub(super) fn setex(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    setex_with(ctx, args, Unit::Seconds, "setex");
}

pub(super) fn psetex(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    setex_with(ctx, args, Unit::Millis, "psetex");
}

pub(super) fn getset(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let options = SetOptions {
        return_previous: true,
        ..SetOptions::default()
    };
    let mut read = args;
    if let Some([key, value]) = ctx.read(read.next_args()) {
        run_set(ctx, args, key, value, options, false);
    }
}

pub(super) fn getdel(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some(key) = ctx.read(args.next_arg()) else {
        return;
    };
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    match strings::getdel(&mut t, key, ctx.now_ms) {
        Ok(v) => {
            if v.is_some() {
                ctx.propagate(&mut t, &[b"DEL", key]);
                ctx.notify(GENERIC, "del", key);
            }
            reply_value(ctx, v.as_ref())
        }
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

/// What GETEX's one option means.
#[derive(Clone, Copy)]
enum GetExOption {
    Persist,
    Expire(Unit, bool),
}

/// GETEX key [EX s | PX ms | EXAT s | PXAT ms | PERSIST].
const GETEX_OPTIONS: Options<GetExOption> = &[
    ("PERSIST", 0, GetExOption::Persist),
    ("EX", 1, GetExOption::Expire(Unit::Seconds, false)),
    ("PX", 1, GetExOption::Expire(Unit::Millis, false)),
    ("EXAT", 1, GetExOption::Expire(Unit::Seconds, true)),
    ("PXAT", 1, GetExOption::Expire(Unit::Millis, true)),
];

pub(super) fn getex(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let mut cursor = args;
    let Some(key) = ctx.read(cursor.next_arg()) else {
        return;
    };
    // Redis reads every option: PERSIST may repeat, but an expiry may neither
    // repeat nor meet PERSIST.
    let mut chosen = None;
    let parsed = loop {
        match cursor.next_option(GETEX_OPTIONS) {
            Ok(None) => break Ok(chosen),
            Ok(Some((GetExOption::Persist, _)))
                if matches!(chosen, None | Some((GetExOption::Persist, _))) =>
            {
                chosen = Some((GetExOption::Persist, &[][..]));
            }
            Ok(Some((GetExOption::Expire(unit, absolute), [arg, _]))) if chosen.is_none() => {
                chosen = Some((GetExOption::Expire(unit, absolute), arg));
            }
            Ok(Some(_)) => break Err(ArgError::Syntax),
            Err(e) => break Err(e),
        }
    };
    let chosen = match parsed {
        Err(e) => return ctx.reply.error(e.text()),
        Ok(chosen) => chosen,
    };
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    // As in Redis, a missing key or one of another type answers before the expiry
    // is judged.
    match strings::get(&mut t, key, ctx.now_ms) {
        Ok(Some(_)) => {}
        Ok(None) => return ctx.reply.null(),
        Err(e) => return ctx.reply.error(errors::keyspace(e)),
    }
    let deadline = match chosen {
        None => GetExDeadline::Keep,
        Some((GetExOption::Persist, _)) => GetExDeadline::Persist,
        Some((GetExOption::Expire(unit, absolute), arg)) => {
            match deadline_arg(ctx, arg, unit, absolute, "getex") {
                Some(at) => GetExDeadline::At(at),
                None => return,
            }
        }
    };
    let had_deadline = t.deadline(key).is_some();
    match strings::getex(&mut t, key, deadline, ctx.now_ms) {
        Ok(v) => {
            if v.is_some() {
                match deadline {
                    GetExDeadline::Keep => {}
                    GetExDeadline::Persist => {
                        ctx.propagate(&mut t, &[b"PERSIST", key]);
                        if had_deadline {
                            ctx.notify(GENERIC, "persist", key);
                        }
                    }
                    GetExDeadline::At(at) => {
                        let past = at <= ctx.now_ms;
                        let at = itoa::Buffer::new().format(at).as_bytes().to_vec();
                        ctx.propagate(&mut t, &[b"PEXPIREAT", key, &at]);
                        ctx.notify(GENERIC, if past { "del" } else { "expire" }, key);
                    }
                }
            }
            reply_value(ctx, v.as_ref())
        }
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

pub(super) fn mget(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let db = ctx.db();
    let keys = args.rest();
    let mut locks = db.lock_keys(keys.clone());
    ctx.reply.array(keys.len());
    for key in keys {
        // MGET answers null for a key of another type instead of failing.
        match strings::get(locks.for_key(key), key, ctx.now_ms) {
            Ok(v) => reply_value(ctx, v),
            Err(_) => ctx.reply.null(),
        }
    }
}

/// Checks MSET's pairing; Redis reports an odd count as an arity error.
fn pairs_ok(ctx: &mut Ctx<'_>, args: ArgCursor<'_>, name: &str) -> bool {
    if args.rest_in_pairs().is_none() {
        ctx.reply.error(&errors::wrong_arity(name));
        return false;
    }
    true
}

fn mset_all(ctx: &mut Ctx<'_>, args: ArgCursor<'_>, only_if_none_exist: bool) -> bool {
    let db = ctx.db();
    let pairs = args.rest_in_pairs().expect("pairs_ok checked the pairing");
    let keys = pairs.clone().map(|(key, _)| key);
    let mut locks = db.lock_keys(keys.clone());
    if only_if_none_exist {
        let now = ctx.now_ms;
        if keys.clone().any(|k| locks.for_key(k).contains(k, now)) {
            return false;
        }
    }
    // Each key's `set` right after it is stored, so a `new` (raised as a key is
    // added) comes just before its own key's `set`, as in Redis.
    let now = ctx.now_ms;
    for (key, value) in pairs {
        let value = tessera_keyspace::Value::Str(StrValue::new(value));
        let t = locks.for_key(key);
        // A key found expired goes first (its `expired` event, then `new`), as Redis's
        // lookup before it sets.
        t.expire_if_needed(key, now);
        t.insert(key, value);
        ctx.notify(STRING, "set", key);
    }
    ctx.propagate_locked_verbatim(&mut locks, args);
    true
}

pub(super) fn mset(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    if pairs_ok(ctx, args, "mset") {
        mset_all(ctx, args, false);
        ctx.reply.ok();
    }
}

pub(super) fn msetnx(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    if pairs_ok(ctx, args, "msetnx") {
        let written = mset_all(ctx, args, true);
        ctx.reply.int(i64::from(written));
    }
}

pub(super) fn append(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some([key, value]) = ctx.read(args.next_args()) else {
        return;
    };
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    let max = ctx.settings.proto_max_bulk_len;
    match strings::append(&mut t, key, value, max, ctx.now_ms) {
        Ok(len) => {
            ctx.propagate_verbatim(&mut t, args);
            ctx.notify(STRING, "append", key);
            ctx.reply.int(len as i64)
        }
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

pub(super) fn strlen(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some(key) = ctx.read(args.next_arg()) else {
        return;
    };
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    match strings::strlen(&mut t, key, ctx.now_ms) {
        Ok(len) => ctx.reply.int(len as i64),
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

pub(super) fn getrange(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some(key) = ctx.read(args.next_arg()) else {
        return;
    };
    let Some(start) = ctx.read(args.next_i64()) else {
        return;
    };
    let Some(end) = ctx.read(args.next_i64()) else {
        return;
    };
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    match strings::get(&mut t, key, ctx.now_ms) {
        Ok(Some(v)) => v.with_bytes(|b| match substring_range(b.len(), start, end) {
            Some(r) => ctx.reply.bulk(&b[r]),
            None => ctx.reply.bulk(b""),
        }),
        Ok(None) => ctx.reply.bulk(b""),
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

pub(super) fn setrange(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let mut read = args;
    let Some(key) = ctx.read(read.next_arg()) else {
        return;
    };
    let Some(offset) = ctx.read(read.next_i64()) else {
        return;
    };
    if offset < 0 {
        ctx.reply.error(errors::OFFSET_OUT_OF_RANGE);
        return;
    }
    let Some(value) = ctx.read(read.next_arg()) else {
        return;
    };
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    let max = ctx.settings.proto_max_bulk_len;
    match strings::setrange(&mut t, key, offset as usize, value, max, ctx.now_ms) {
        Ok(len) => {
            ctx.propagate_verbatim(&mut t, args);
            // As Redis: an empty value changes nothing and raises no event.
            if !value.is_empty() {
                ctx.notify(STRING, "setrange", key);
            }
            ctx.reply.int(len as i64)
        }
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

fn incr_by(ctx: &mut Ctx<'_>, args: ArgCursor<'_>, key: &[u8], delta: i64) {
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    match strings::incr_by(&mut t, key, delta, ctx.now_ms) {
        Ok(n) => {
            ctx.propagate_verbatim(&mut t, args);
            ctx.notify(STRING, "incrby", key);
            ctx.reply.int(n)
        }
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

/// The key and the integer after it (INCRBY, DECRBY), or `None` after the error.
fn key_and_delta<'a>(ctx: &mut Ctx<'_>, args: ArgCursor<'a>) -> Option<(&'a [u8], i64)> {
    let mut read = args;
    let key = ctx.read(read.next_arg())?;
    Some((key, ctx.read(read.next_i64())?))
}

pub(super) fn incrby(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    if let Some((key, delta)) = key_and_delta(ctx, args) {
        incr_by(ctx, args, key, delta);
    }
}

pub(super) fn decrby(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    match key_and_delta(ctx, args) {
        Some((_, i64::MIN)) => ctx.reply.error(errors::DECREMENT_OVERFLOW),
        Some((key, delta)) => incr_by(ctx, args, key, -delta),
        None => {}
    }
}

pub(super) fn incrbyfloat(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some([key, increment]) = ctx.read(args.next_args()) else {
        return;
    };
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    match strings::incr_by_float(&mut t, key, increment, ctx.now_ms) {
        // Replicas get the result, not the increment: float arithmetic could round
        // differently elsewhere.
        Ok(text) => {
            ctx.propagate(&mut t, &[b"SET", key, &text, b"KEEPTTL"]);
            ctx.notify(STRING, "incrbyfloat", key);
            ctx.reply.bulk(&text)
        }
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}
