//! EXPIRE, TTL, PERSIST and their variants.

use tessera_keyspace::generic::{self, ExpireCondition, TimeToLive};
use tessera_keyspace::key_slot;

use super::Ctx;
use super::cursor::{ArgCursor, Options};
use crate::errors;
use crate::notify::GENERIC;

/// EXPIRE.
pub(super) fn expire_command(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    expire(c, a, 1000, false, "expire")
}

/// PEXPIRE.
pub(super) fn pexpire(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    expire(c, a, 1, false, "pexpire")
}

/// EXPIREAT.
pub(super) fn expireat(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    expire(c, a, 1000, true, "expireat")
}

/// PEXPIREAT.
pub(super) fn pexpireat(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    expire(c, a, 1, true, "pexpireat")
}

/// TTL.
pub(super) fn ttl_command(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    ttl(c, a, |at, now| (at.saturating_sub(now).max(0) + 500) / 1000)
}

/// PTTL.
pub(super) fn pttl(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    ttl(c, a, |at, now| at.saturating_sub(now).max(0))
}

/// EXPIRETIME.
pub(super) fn expiretime(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    ttl(c, a, |at, _| at / 1000)
}

/// PEXPIRETIME.
pub(super) fn pexpiretime(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    ttl(c, a, |at, _| at)
}

/// What EXPIRE's conditions mean.
#[derive(Clone, Copy)]
enum Condition {
    Nx,
    Xx,
    Gt,
    Lt,
}

/// EXPIRE key seconds [NX | XX | GT | LT] (and its variants).
const CONDITIONS: Options<Condition> = &[
    ("NX", 0, Condition::Nx),
    ("XX", 0, Condition::Xx),
    ("GT", 0, Condition::Gt),
    ("LT", 0, Condition::Lt),
];

/// Parses NX / XX / GT / LT from `options` on, with Redis's error texts.
fn condition(ctx: &mut Ctx<'_>, mut options: ArgCursor<'_>) -> Option<ExpireCondition> {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    loop {
        match options.next_option(CONDITIONS) {
            Ok(Some((Condition::Nx, _))) => nx = true,
            Ok(Some((Condition::Xx, _))) => xx = true,
            Ok(Some((Condition::Gt, _))) => gt = true,
            Ok(Some((Condition::Lt, _))) => lt = true,
            Ok(None) => break,
            Err(_) => {
                ctx.reply.error(&errors::unsupported_option(options.peek()));
                return None;
            }
        }
    }
    if nx && (xx || gt || lt) {
        ctx.reply.error(errors::EXPIRE_NX_WITH_OTHERS);
        return None;
    }
    if gt && lt {
        ctx.reply.error(errors::EXPIRE_GT_WITH_LT);
        return None;
    }
    Some(ExpireCondition {
        no_deadline: nx,
        has_deadline: xx,
        later: gt,
        earlier: lt,
    })
}

fn expire(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>, unit_ms: i64, absolute: bool, name: &str) {
    let Some([key, amount]) = ctx.read(args.next_args()) else {
        return;
    };
    // Redis judges the conditions before the number.
    let Some(cond) = condition(ctx, args) else {
        return;
    };
    let Some(n) = ctx.int_arg(amount) else {
        return;
    };
    let base = if absolute { 0 } else { ctx.now_ms };
    let Some(at) = n.checked_mul(unit_ms).and_then(|ms| ms.checked_add(base)) else {
        ctx.reply.error(&errors::invalid_expire(name));
        return;
    };
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    let done = generic::expire(&mut t, key, at, cond, ctx.now_ms);
    if done {
        // Replicas get the absolute form (Redis 7.0 sends PEXPIREAT), or DEL when the
        // deadline had already passed and the key is gone.
        if at <= ctx.now_ms {
            ctx.propagate(&mut t, &[b"DEL", key]);
            ctx.notify(GENERIC, "del", key);
        } else {
            let at = itoa::Buffer::new().format(at).as_bytes().to_vec();
            ctx.propagate(&mut t, &[b"PEXPIREAT", key, &at]);
            ctx.notify(GENERIC, "expire", key);
        }
    }
    drop(t);
    ctx.reply.int(i64::from(done));
}

fn ttl(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>, show: fn(i64, i64) -> i64) {
    let Some(key) = ctx.read(args.next_arg()) else {
        return;
    };
    let db = ctx.db();
    let state = generic::time_to_live(&mut db.lock(key_slot(key)), key, ctx.now_ms);
    ctx.reply.int(match state {
        TimeToLive::Missing => -2,
        TimeToLive::Persistent => -1,
        TimeToLive::At(at) => show(at, ctx.now_ms),
    });
}

pub(super) fn persist(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some(key) = ctx.read(args.next_arg()) else {
        return;
    };
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    let done = generic::persist(&mut t, key, ctx.now_ms);
    if done {
        ctx.propagate_verbatim(&mut t, args);
        ctx.notify(GENERIC, "persist", key);
    }
    drop(t);
    ctx.reply.int(i64::from(done));
}
