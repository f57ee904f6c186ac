//! What SETBIT, BITFIELD and BITOP do to a slot's data: strings stay strings, grown
//! with zeros as far as the highest bit written, and left `raw` as Redis leaves them.

use crate::bitfield::{self, FieldType, Overflow};
use crate::bits::{self, BitOp};
use crate::db::SlotLocks;
use crate::error::Result;
use crate::slot_table::SlotTable;
use crate::value::{StrValue, Value};

/// The string under `key` as a buffer covering bit `max_bit`, created or zero-padded
/// as needed, and whether it had to grow (a grown or new string counts as changed).
fn bits_for_write<'t>(
    t: &'t mut SlotTable,
    key: &[u8],
    max_bit: u64,
    now: i64,
) -> Result<(&'t mut Vec<u8>, bool)> {
    let len = (max_bit >> 3) as usize + 1;
    if t.get(key, now).is_none() {
        t.insert(key, Value::Str(StrValue::raw(vec![0; len])));
        let buf = t
            .get_mut(key, now)
            .expect("just inserted")
            .as_string_mut()?
            .make_mut();
        return Ok((buf, true));
    }
    let buf = Value::as_string_mut(t.get_mut(key, now).expect("present above"))?.make_mut();
    let grown = buf.len() < len;
    if grown {
        buf.resize(len, 0);
    }
    Ok((buf, grown))
}

/// What SETBIT did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetBitOutcome {
    /// The bit's previous value.
    pub old: bool,
    /// Whether the string changed (grew, was created, or the bit flipped): only then
    /// does Redis raise the event and propagate.
    pub changed: bool,
}

/// SETBIT: sets bit `offset` of the string under `key` to `on`.
pub fn setbit(
    t: &mut SlotTable,
    key: &[u8],
    offset: u64,
    on: bool,
    now: i64,
) -> Result<SetBitOutcome> {
    let (buf, grown) = bits_for_write(t, key, offset, now)?;
    let old = bits::set_bit(buf, offset, on);
    Ok(SetBitOutcome {
        old,
        changed: grown || old != on,
    })
}

/// GETBIT: bit `offset` of the string under `key` (0 when missing).
pub fn getbit(t: &mut SlotTable, key: &[u8], offset: u64, now: i64) -> Result<bool> {
    match t.read(key, now) {
        None => Ok(false),
        Some(v) => Ok(v.as_string()?.with_bytes(|b| bits::get_bit(b, offset))),
    }
}

/// One BITFIELD operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldOp {
    /// GET: the field's value.
    Get,
    /// SET: writes the value, answers the previous one.
    Set(i64),
    /// INCRBY: adds, answers the new value.
    IncrBy(i64),
}

/// A BITFIELD operation with its field and the OVERFLOW mode in force for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BitfieldOp {
    /// What to do.
    pub op: FieldOp,
    /// The field's type.
    pub ty: FieldType,
    /// The field's first bit.
    pub offset: u64,
    /// What an overflow does.
    pub overflow: Overflow,
}

/// What BITFIELD did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BitfieldOutcome {
    /// One reply per operation: `None` for a write refused by OVERFLOW FAIL.
    pub replies: Vec<Option<i64>>,
    /// How many writes changed the string (or found it grown): Redis raises the event
    /// and propagates only when there is one.
    pub changes: usize,
}

/// BITFIELD / BITFIELD_RO: runs `ops` in order on the string under `key`. Only GETs
/// read the key without creating it; any write creates or grows it first, as far as
/// the highest bit any write reaches.
pub fn bitfield(
    t: &mut SlotTable,
    key: &[u8],
    ops: &[BitfieldOp],
    now: i64,
) -> Result<BitfieldOutcome> {
    let highest = ops
        .iter()
        .filter(|o| o.op != FieldOp::Get)
        .map(|o| o.offset + u64::from(o.ty.bits) - 1)
        .max();
    let Some(highest) = highest else {
        let replies = match t.read(key, now) {
            None => ops.iter().map(|_| Some(0)).collect(),
            Some(v) => v.as_string()?.with_bytes(|b| {
                ops.iter()
                    .map(|o| Some(bitfield::get(b, o.offset, o.ty)))
                    .collect()
            }),
        };
        return Ok(BitfieldOutcome {
            replies,
            changes: 0,
        });
    };
    let (buf, grown) = bits_for_write(t, key, highest, now)?;
    let mut changes = 0;
    let replies = ops
        .iter()
        .map(|o| {
            let old = bitfield::get(buf, o.offset, o.ty);
            let (new, reply) = match o.op {
                FieldOp::Get => return Some(old),
                FieldOp::Set(v) => (bitfield::add(v, 0, o.ty, o.overflow)?, old),
                FieldOp::IncrBy(by) => {
                    let new = bitfield::add(old, by, o.ty, o.overflow)?;
                    (new, new)
                }
            };
            bitfield::set(buf, o.offset, o.ty.bits, new as u64);
            if grown || new != old {
                changes += 1;
            }
            Some(reply)
        })
        .collect();
    Ok(BitfieldOutcome { replies, changes })
}

/// What BITOP did to its destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BitOpOutcome {
    /// The length of the result (0 deletes the destination).
    pub len: usize,
    /// Whether the destination changed: written, or an existing key deleted.
    pub changed: bool,
}

/// BITOP: combines the strings under `sources` (missing ones are empty) into
/// `destination`, a `raw` string without deadline; an empty result deletes it.
pub fn bitop(
    locks: &mut SlotLocks<'_>,
    op: BitOp,
    destination: &[u8],
    sources: &[&[u8]],
    now: i64,
) -> Result<BitOpOutcome> {
    let mut values = Vec::with_capacity(sources.len());
    for key in sources {
        values.push(match locks.for_key(key).read(key, now) {
            None => Vec::new(),
            Some(v) => v.as_string()?.to_vec(),
        });
    }
    let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
    let result = bits::bitop(op, &refs);
    let len = result.len();
    let t = locks.for_key(destination);
    let changed = if len > 0 {
        t.insert(destination, Value::Str(StrValue::raw(result)));
        true
    } else {
        t.get(destination, now).is_some() && t.remove(destination).is_some()
    };
    Ok(BitOpOutcome { len, changed })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Encoding;
    use foldhash::fast::FixedState;

    fn table() -> SlotTable {
        SlotTable::new(FixedState::with_seed(1))
    }

    fn op(op: FieldOp, ty: &str, offset: u64, overflow: Overflow) -> BitfieldOp {
        let ty = FieldType::parse(ty.as_bytes()).expect("a valid type");
        BitfieldOp {
            op,
            ty,
            offset,
            overflow,
        }
    }

    #[test]
    fn setbit_grows_and_makes_raw() {
        let mut t = table();
        t.insert(b"n", Value::Str(StrValue::new(b"12")));
        let out = setbit(&mut t, b"n", 0, false, 0).unwrap();
        assert_eq!(
            out,
            SetBitOutcome {
                old: false,
                changed: false
            }
        );
        let encoding = t.get(b"n", 0).unwrap().as_string().unwrap().encoding();
        assert_eq!(encoding, Encoding::Raw);
        assert!(setbit(&mut t, b"k", 9, true, 0).unwrap().changed);
        assert_eq!(
            t.get(b"k", 0).unwrap().as_string().unwrap().to_vec(),
            [0, 0x40]
        );
        assert!(getbit(&mut t, b"k", 9, 0).unwrap());
    }

    #[test]
    fn bitfield_counts_changes_and_fails_quietly() {
        let mut t = table();
        let ops = [op(FieldOp::IncrBy(100), "u2", 0, Overflow::Fail)];
        let out = bitfield(&mut t, b"k", &ops, 0).unwrap();
        assert_eq!(out.replies, [None]);
        assert_eq!(out.changes, 0);
        assert!(t.get(b"k", 0).is_some(), "the key is created all the same");
        let ops = [
            op(FieldOp::Set(-1), "i8", 0, Overflow::Wrap),
            op(FieldOp::IncrBy(1), "u8", 0, Overflow::Sat),
            op(FieldOp::Get, "i4", 4, Overflow::Wrap),
        ];
        let out = bitfield(&mut t, b"k", &ops, 0).unwrap();
        assert_eq!(out.replies, [Some(0), Some(255), Some(-1)]);
        assert_eq!(out.changes, 1);
    }
}
