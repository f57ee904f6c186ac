//! SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO and LCS: bit and
//! subsequence commands on string values, with Redis 7.0's argument order and errors.

use tessera_keyspace::bitfield::{FieldType, Overflow};
use tessera_keyspace::bitmaps::{self, BitfieldOp, FieldOp};
use tessera_keyspace::bits::{self, BitOp, RangeUnit};
use tessera_keyspace::number::parse_i64;
use tessera_keyspace::{KeyspaceError, Value, key_slot, lcs};

use super::Ctx;
use super::cursor::ArgCursor;
use crate::errors;
use crate::notify::{GENERIC, STRING};

/// Parses a bit offset as Redis does: a canonical non-negative integer (`#n` meaning
/// `n` fields of `field_bits` when given) whose byte lies within proto-max-bulk-len;
/// the master's stream is trusted past that limit.
fn bit_offset(ctx: &mut Ctx<'_>, arg: &[u8], field_bits: Option<u32>) -> Option<u64> {
    let (digits, scale) = match (arg.first(), field_bits) {
        (Some(b'#'), Some(bits)) => (&arg[1..], i64::from(bits)),
        _ => (arg, 1),
    };
    let offset = parse_i64(digits)
        .map(|n| n.wrapping_mul(scale))
        .filter(|&n| n >= 0)
        .filter(|&n| {
            ctx.session.master_link || ((n >> 3) as u64) < ctx.settings.proto_max_bulk_len as u64
        });
    if offset.is_none() {
        ctx.reply.error(errors::BIT_OFFSET);
    }
    offset.map(|n| n as u64)
}

pub(super) fn setbit(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let mut read = args;
    let Some([key, offset, value]) = ctx.read(read.next_args()) else {
        return;
    };
    let Some(offset) = bit_offset(ctx, offset, None) else {
        return;
    };
    let on = match parse_i64(value) {
        Some(0) => false,
        Some(1) => true,
        _ => return ctx.reply.error(errors::BIT_VALUE),
    };
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    match bitmaps::setbit(&mut t, key, offset, on, ctx.now_ms) {
        Ok(out) => {
            if out.changed {
                ctx.propagate_verbatim(&mut t, args);
                ctx.notify(STRING, "setbit", key);
            }
            drop(t);
            ctx.reply.int(i64::from(out.old))
        }
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

pub(super) fn getbit(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some([key, offset]) = ctx.read(args.next_args()) else {
        return;
    };
    let Some(offset) = bit_offset(ctx, offset, None) else {
        return;
    };
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    match bitmaps::getbit(&mut t, key, offset, ctx.now_ms) {
        Ok(bit) => ctx.reply.int(i64::from(bit)),
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

/// BYTE or BIT, or Redis's syntax error.
fn range_unit(arg: &[u8]) -> Result<RangeUnit, &'static str> {
    if arg.eq_ignore_ascii_case(b"bit") {
        Ok(RangeUnit::Bit)
    } else if arg.eq_ignore_ascii_case(b"byte") {
        Ok(RangeUnit::Byte)
    } else {
        Err(errors::SYNTAX)
    }
}

/// An integer argument, or Redis's error for one that is not.
fn integer(arg: &[u8]) -> Result<i64, &'static str> {
    parse_i64(arg).ok_or(errors::NOT_INTEGER)
}

/// BITCOUNT's range: none, or start end [BYTE|BIT].
fn bitcount_range(rest: &[&[u8]]) -> Result<Option<(i64, i64, RangeUnit)>, &'static str> {
    match rest {
        [] => Ok(None),
        [start, end, unit @ ..] if unit.len() <= 1 => {
            let (start, end) = (integer(start)?, integer(end)?);
            // A crossed pair of negative indexes answers 0 before the unit is read.
            if start < 0 && end < 0 && start > end {
                return Ok(Some((start, end, RangeUnit::Byte)));
            }
            let unit = unit
                .first()
                .map_or(Ok(RangeUnit::Byte), |u| range_unit(u))?;
            Ok(Some((start, end, unit)))
        }
        _ => Err(errors::SYNTAX),
    }
}

/// BITPOS's range: none, or start [end [BYTE|BIT]], read start, unit, end as Redis does.
fn bitpos_range(rest: &[&[u8]]) -> Result<(Option<i64>, Option<i64>, RangeUnit), &'static str> {
    if rest.len() > 3 {
        return Err(errors::SYNTAX);
    }
    let start = rest.first().map(|s| integer(s)).transpose()?;
    let unit = rest.get(2).map_or(Ok(RangeUnit::Byte), |u| range_unit(u))?;
    let end = rest.get(1).map(|e| integer(e)).transpose()?;
    Ok((start, end, unit))
}

pub(super) fn bitcount(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some(key) = ctx.read(args.next_arg()) else {
        return;
    };
    let rest: Vec<&[u8]> = args.rest().collect();
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    // Redis 7.0 looks the key up before it reads the range.
    let answer = match t.read(key, ctx.now_ms).map(Value::as_string) {
        None => Ok(0),
        Some(Err(e)) => Err(errors::keyspace(e)),
        Some(Ok(s)) => {
            bitcount_range(&rest).map(|range| s.with_bytes(|b| bits::bitcount(b, range)) as i64)
        }
    };
    drop(t);
    match answer {
        Ok(n) => ctx.reply.int(n),
        Err(e) => ctx.reply.error(e),
    }
}

pub(super) fn bitpos(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some([key, bit]) = ctx.read(args.next_args()) else {
        return;
    };
    let bit = match parse_i64(bit) {
        None => return ctx.reply.error(errors::NOT_INTEGER),
        Some(b @ (0 | 1)) => b == 1,
        Some(_) => return ctx.reply.error(errors::BIT_ARGUMENT),
    };
    let rest: Vec<&[u8]> = args.rest().collect();
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    // A missing key is an endless run of zeros, whatever the range says.
    let answer = match t.read(key, ctx.now_ms).map(Value::as_string) {
        None => Ok(if bit { -1 } else { 0 }),
        Some(Err(e)) => Err(errors::keyspace(e)),
        Some(Ok(s)) => bitpos_range(&rest)
            .map(|(start, end, unit)| s.with_bytes(|b| bits::bitpos(b, bit, start, end, unit))),
    };
    drop(t);
    match answer {
        Ok(n) => ctx.reply.int(n),
        Err(e) => ctx.reply.error(e),
    }
}

pub(super) fn bitop(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let mut read = args;
    let Some([op, destination]) = ctx.read(read.next_args()) else {
        return;
    };
    let op = match op.to_ascii_uppercase().as_slice() {
        b"AND" => BitOp::And,
        b"OR" => BitOp::Or,
        b"XOR" => BitOp::Xor,
        b"NOT" => BitOp::Not,
        _ => return ctx.reply.error(errors::SYNTAX),
    };
    let sources: Vec<&[u8]> = read.rest().collect();
    if op == BitOp::Not && sources.len() != 1 {
        return ctx.reply.error(errors::BITOP_NOT_SINGLE);
    }
    let db = ctx.db();
    let mut locks = db.lock_keys(sources.iter().copied().chain([destination]));
    match bitmaps::bitop(&mut locks, op, destination, &sources, ctx.now_ms) {
        Ok(out) => {
            if out.changed {
                ctx.propagate_locked_verbatim(&mut locks, args);
                if out.len > 0 {
                    ctx.notify(STRING, "set", destination);
                } else {
                    ctx.notify(GENERIC, "del", destination);
                }
            }
            drop(locks);
            ctx.reply.int(out.len as i64)
        }
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

/// BITFIELD's operations, parsed in order with the OVERFLOW in force for each; the
/// error reply of the first bad one.
fn bitfield_ops(ctx: &mut Ctx<'_>, args: &[&[u8]]) -> Option<Vec<BitfieldOp>> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 0;
    while j < args.len() {
        let remaining = args.len() - j - 1;
        let name = args[j].to_ascii_lowercase();
        let (op_name, needs) = match name.as_slice() {
            b"get" => (FieldOp::Get, 2),
            b"set" => (FieldOp::Set(0), 3),
            b"incrby" => (FieldOp::IncrBy(0), 3),
            b"overflow" if remaining >= 1 => {
                overflow = match args[j + 1].to_ascii_lowercase().as_slice() {
                    b"wrap" => Overflow::Wrap,
                    b"sat" => Overflow::Sat,
                    b"fail" => Overflow::Fail,
                    _ => {
                        ctx.reply.error(errors::BITFIELD_OVERFLOW);
                        return None;
                    }
                };
                j += 2;
                continue;
            }
            _ => (FieldOp::Get, usize::MAX),
        };
        if remaining < needs {
            ctx.reply.error(errors::SYNTAX);
            return None;
        }
        let Some(ty) = FieldType::parse(args[j + 1]) else {
            ctx.reply.error(errors::BITFIELD_TYPE);
            return None;
        };
        let offset = bit_offset(ctx, args[j + 2], Some(ty.bits))?;
        let op = match op_name {
            FieldOp::Get => FieldOp::Get,
            FieldOp::Set(_) => FieldOp::Set(ctx.int_arg(args[j + 3])?),
            FieldOp::IncrBy(_) => FieldOp::IncrBy(ctx.int_arg(args[j + 3])?),
        };
        ops.push(BitfieldOp {
            op,
            ty,
            offset,
            overflow,
        });
        j += 1 + needs;
    }
    Some(ops)
}

fn bitfield_with(ctx: &mut Ctx<'_>, args: ArgCursor<'_>, read_only: bool) {
    let mut read = args;
    let Some(key) = ctx.read(read.next_arg()) else {
        return;
    };
    let rest: Vec<&[u8]> = read.rest().collect();
    let Some(ops) = bitfield_ops(ctx, &rest) else {
        return;
    };
    if read_only && ops.iter().any(|o| o.op != FieldOp::Get) {
        return ctx.reply.error(errors::BITFIELD_RO_GET_ONLY);
    }
    let db = ctx.db();
    let mut t = db.lock(key_slot(key));
    match bitmaps::bitfield(&mut t, key, &ops, ctx.now_ms) {
        Ok(out) => {
            if out.changes > 0 {
                ctx.propagate_verbatim(&mut t, args);
                ctx.notify(STRING, "setbit", key);
            }
            drop(t);
            ctx.reply.array(out.replies.len());
            for reply in out.replies {
                match reply {
                    Some(n) => ctx.reply.int(n),
                    None => ctx.reply.null(),
                }
            }
        }
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

pub(super) fn bitfield(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    bitfield_with(ctx, args, false);
}

pub(super) fn bitfield_ro(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    bitfield_with(ctx, args, true);
}

/// LCS's options.
#[derive(Default)]
struct LcsOptions {
    idx: bool,
    len: bool,
    with_match_len: bool,
    min_match_len: i64,
}

fn lcs_options(rest: &[&[u8]]) -> Result<LcsOptions, &'static str> {
    let mut o = LcsOptions::default();
    let mut j = 0;
    while j < rest.len() {
        let opt = rest[j];
        if opt.eq_ignore_ascii_case(b"IDX") {
            o.idx = true;
        } else if opt.eq_ignore_ascii_case(b"LEN") {
            o.len = true;
        } else if opt.eq_ignore_ascii_case(b"WITHMATCHLEN") {
            o.with_match_len = true;
        } else if opt.eq_ignore_ascii_case(b"MINMATCHLEN") && j + 1 < rest.len() {
            o.min_match_len = integer(rest[j + 1])?.max(0);
            j += 1;
        } else {
            return Err(errors::SYNTAX);
        }
        j += 1;
    }
    if o.idx && o.len {
        return Err(errors::LCS_IDX_AND_LEN);
    }
    Ok(o)
}

/// The string under `key` for LCS: empty when missing.
fn lcs_input(
    t: &mut tessera_keyspace::SlotTable,
    key: &[u8],
    now: i64,
) -> Result<Vec<u8>, KeyspaceError> {
    match t.read(key, now) {
        None => Ok(Vec::new()),
        Some(v) => Ok(v.as_string()?.to_vec()),
    }
}

pub(super) fn lcs(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some([k1, k2]) = ctx.read(args.next_args()) else {
        return;
    };
    let rest: Vec<&[u8]> = args.rest().collect();
    let db = ctx.db();
    let mut locks = db.lock_keys([k1, k2]);
    let now = ctx.now_ms;
    let a = lcs_input(locks.for_key(k1), k1, now);
    let b = lcs_input(locks.for_key(k2), k2, now);
    drop(locks);
    let (Ok(a), Ok(b)) = (a, b) else {
        return ctx.reply.error(errors::LCS_NOT_STRINGS);
    };
    let o = match lcs_options(&rest) {
        Ok(o) => o,
        Err(e) => return ctx.reply.error(e),
    };
    if o.len && !o.idx {
        return match lcs::lcs_len(&a, &b) {
            Some(n) => ctx.reply.int(i64::from(n)),
            None => ctx.reply.error(errors::LCS_NO_MEMORY),
        };
    }
    let Some(out) = lcs::lcs(&a, &b) else {
        return ctx.reply.error(errors::LCS_NO_MEMORY);
    };
    if !o.idx {
        return ctx.reply.bulk(&out.text);
    }
    let shown: Vec<_> = out
        .matches
        .iter()
        .filter(|m| i64::from(m.len()) >= o.min_match_len)
        .collect();
    ctx.reply.map(2);
    ctx.reply.bulk(b"matches");
    ctx.reply.array(shown.len());
    for m in shown {
        ctx.reply.array(2 + usize::from(o.with_match_len));
        for (start, end) in [m.a, m.b] {
            ctx.reply.array(2);
            ctx.reply.int(i64::from(start));
            ctx.reply.int(i64::from(end));
        }
        if o.with_match_len {
            ctx.reply.int(i64::from(m.len()));
        }
    }
    ctx.reply.bulk(b"len");
    ctx.reply.int(out.text.len() as i64);
}
