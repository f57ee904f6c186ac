//! Commands on keys of any type: existence, deadlines, renaming, introspection.

use crate::db::SlotLocks;
use crate::error::{KeyspaceError, Result};
use crate::slot_table::SlotTable;
use crate::value::{Encoding, Value, ValueType};

/// DEL of one key: true if a live key was removed.
pub fn delete(t: &mut SlotTable, key: &[u8], now: i64) -> bool {
    delete_lazily(t, key, false, now)
}

/// DEL / UNLINK of one key, freeing a big value in the background when `lazy`
/// (UNLINK, or DEL under `lazyfree-lazy-user-del`): true if a live key was removed.
pub fn delete_lazily(t: &mut SlotTable, key: &[u8], lazy: bool, now: i64) -> bool {
    if !t.contains(key, now) {
        return false;
    }
    match t.remove(key) {
        Some(value) => {
            crate::lazyfree::discard(value, lazy);
            true
        }
        None => false,
    }
}

/// EXISTS of one key: looks without counting an access, as Redis's.
pub fn exists(t: &mut SlotTable, key: &[u8], now: i64) -> bool {
    t.read_untouched(key, now).is_some()
}

/// TOUCH of one key: an access, for the LRU and LFU clocks.
pub fn touch(t: &mut SlotTable, key: &[u8], now: i64) -> bool {
    t.read(key, now).is_some()
}

/// TYPE: looks without counting an access, as Redis's.
pub fn value_type(t: &mut SlotTable, key: &[u8], now: i64) -> Option<ValueType> {
    t.read_untouched(key, now).map(|v| v.value_type())
}

/// OBJECT ENCODING.
pub fn encoding(t: &mut SlotTable, key: &[u8], now: i64) -> Option<Encoding> {
    t.get(key, now).map(|v| v.encoding())
}

/// MEMORY USAGE: the bytes `key` costs, as Tessera stores it: the slot table's slot
/// (pointer and control byte), the boxed entry, the key's and the value's heap, and
/// its deadline's index entry if it has one. Collections are estimated from `samples`
/// elements (0: all). Allocator rounding is not counted.
pub fn memory_usage(t: &mut SlotTable, key: &[u8], samples: usize, now: i64) -> Option<usize> {
    let has_deadline = t.get(key, now).is_some() && t.deadline(key).is_some();
    let value = t.get(key, now)?;
    Some(entry_cost(key, value, has_deadline, samples))
}

/// The bytes a key costs in its slot table (see [`memory_usage`]): what deleting it
/// gives back, before allocator rounding.
pub fn entry_cost(key: &[u8], value: &Value, has_deadline: bool, samples: usize) -> usize {
    let key_heap = if key.len() > crate::entry_key::INLINE_KEY {
        key.len()
    } else {
        0
    };
    let slot = std::mem::size_of::<Box<crate::Entry>>() + 1;
    let entry = std::mem::size_of::<crate::Entry>();
    // An index map entry: the key's copy, the deadline, its hash and a table slot.
    let deadline = if has_deadline {
        let copy_heap = if key.len() > crate::compact_bytes::INLINE_CAPACITY {
            key.len()
        } else {
            0
        };
        std::mem::size_of::<crate::CompactBytes>() + 8 + 8 + 9 + copy_heap
    } else {
        0
    };
    slot + entry + key_heap + value.heap_bytes(samples) + deadline
}

/// The NX / XX / GT / LT conditions of EXPIRE and friends; several may be combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExpireCondition {
    /// NX: only when the key has no deadline.
    pub no_deadline: bool,
    /// XX: only when the key has a deadline.
    pub has_deadline: bool,
    /// GT: only when the new deadline is later (no deadline counts as infinitely late).
    pub later: bool,
    /// LT: only when the new deadline is earlier (no deadline counts as infinitely late).
    pub earlier: bool,
}

impl ExpireCondition {
    fn allows(&self, current: Option<i64>, at: i64) -> bool {
        (!self.no_deadline || current.is_none())
            && (!self.has_deadline || current.is_some())
            && (!self.later || current.is_some_and(|c| at > c))
            && (!self.earlier || current.is_none_or(|c| at < c))
    }
}

/// EXPIRE / PEXPIRE / EXPIREAT / PEXPIREAT with the deadline `at` already computed.
/// True when the deadline was set, or the key deleted because `at` is not in the future.
pub fn expire(
    t: &mut SlotTable,
    key: &[u8],
    at: i64,
    condition: ExpireCondition,
    now: i64,
) -> bool {
    if !t.contains(key, now) || !condition.allows(t.deadline(key), at) {
        return false;
    }
    if at <= now {
        t.remove(key);
    } else {
        t.set_deadline(key, at);
    }
    true
}

/// What TTL and friends report about a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeToLive {
    /// The key does not exist.
    Missing,
    /// The key exists without a deadline.
    Persistent,
    /// The key expires at this Unix time in milliseconds.
    At(i64),
}

/// TTL / PTTL / EXPIRETIME / PEXPIRETIME.
pub fn time_to_live(t: &mut SlotTable, key: &[u8], now: i64) -> TimeToLive {
    // Looks without counting an access, as Redis's TTL.
    if t.read_untouched(key, now).is_none() {
        return TimeToLive::Missing;
    }
    match t.deadline(key) {
        None => TimeToLive::Persistent,
        Some(at) => TimeToLive::At(at),
    }
}

/// PERSIST: true if a deadline was removed.
pub fn persist(t: &mut SlotTable, key: &[u8], now: i64) -> bool {
    t.contains(key, now) && t.clear_deadline(key)
}

/// RENAME / RENAMENX across the locked slots of both keys, keeping the deadline.
/// Returns false when `only_if_absent` and the destination exists.
pub fn rename(
    locks: &mut SlotLocks<'_>,
    source: &[u8],
    destination: &[u8],
    only_if_absent: bool,
    now: i64,
) -> Result<bool> {
    let src = locks.for_key(source);
    if !src.contains(source, now) {
        return Err(KeyspaceError::NoSuchKey);
    }
    if source == destination {
        return Ok(!only_if_absent);
    }
    if only_if_absent && locks.for_key(destination).contains(destination, now) {
        return Ok(false);
    }
    let src = locks.for_key(source);
    let deadline = src.deadline(source);
    let value = src.remove(source).expect("checked above");
    let dst = locks.for_key(destination);
    replace_as_new(dst, destination, value);
    if let Some(at) = deadline {
        dst.set_deadline(destination, at);
    }
    Ok(true)
}

/// Stores `value` under `key` as a key added anew, as Redis's dbDelete then dbAdd: a
/// value it replaces is freed as an overwrite, and the key is announced as new.
fn replace_as_new(t: &mut SlotTable, key: &[u8], value: Value) {
    if let Some(old) = t.remove(key) {
        crate::lazyfree::discard_overwritten(old);
    }
    t.insert(key, value);
}

/// A value with its deadline, as COPY and MOVE carry it between keys.
pub type Carried = (Value, Option<i64>);

/// COPY's read: a copy of the live value under `key`, with its deadline. A read, as
/// Redis's: a miss is counted and announced.
pub fn copy_of(t: &mut SlotTable, key: &[u8], now: i64) -> Option<Carried> {
    let value = t.read(key, now)?.clone();
    Some((value, t.deadline(key)))
}

/// MOVE's read: takes the live value under `key` out, with its deadline.
pub fn take(t: &mut SlotTable, key: &[u8], now: i64) -> Option<Carried> {
    if !t.contains(key, now) {
        return None;
    }
    let deadline = t.deadline(key);
    t.remove(key).map(|value| (value, deadline))
}

/// Stores a carried value under `key`, unless the key exists and `replace` is off;
/// returns whether it was stored.
pub fn place(t: &mut SlotTable, key: &[u8], carried: Carried, replace: bool, now: i64) -> bool {
    if !replace && t.contains(key, now) {
        return false;
    }
    let (value, deadline) = carried;
    replace_as_new(t, key, value);
    if let Some(at) = deadline {
        t.set_deadline(key, at);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;
    use crate::value::{StrValue, Value};
    use foldhash::fast::FixedState;

    fn table_with(key: &[u8]) -> SlotTable {
        let mut t = SlotTable::new(FixedState::with_seed(3));
        t.insert(key, Value::Str(StrValue::new(b"v")));
        t
    }

    #[test]
    fn expire_conditions_follow_redis() {
        // The sequence run against redis-server 7.0.15: GT on a persistent key fails, LT
        // on it succeeds, GT needs a strictly later deadline.
        let gt = ExpireCondition {
            later: true,
            ..Default::default()
        };
        let lt = ExpireCondition {
            earlier: true,
            ..Default::default()
        };
        let xx = ExpireCondition {
            has_deadline: true,
            ..Default::default()
        };
        let nx = ExpireCondition {
            no_deadline: true,
            ..Default::default()
        };
        let xx_lt = ExpireCondition {
            has_deadline: true,
            earlier: true,
            ..Default::default()
        };
        let mut t = table_with(b"k");
        assert!(!expire(&mut t, b"k", 10_000, gt, 0));
        assert!(!expire(&mut t, b"k", 10_000, xx, 0));
        assert!(
            !expire(&mut t, b"k", 10_000, xx_lt, 0),
            "XX LT needs a deadline"
        );
        assert!(expire(&mut t, b"k", 100_000, lt, 0));
        assert!(!expire(&mut t, b"k", 100_000, gt, 0));
        assert!(expire(&mut t, b"k", 100_001, gt, 0));
        assert!(expire(&mut t, b"k", 50_000, xx_lt, 0));
        assert!(!expire(&mut t, b"k", 5, nx, 0));
        assert_eq!(time_to_live(&mut t, b"k", 0), TimeToLive::At(50_000));
        assert!(!expire(
            &mut t,
            b"missing",
            5,
            ExpireCondition::default(),
            0
        ));
    }

    #[test]
    fn a_deadline_not_in_the_future_deletes() {
        let mut t = table_with(b"k");
        assert!(expire(&mut t, b"k", 50, ExpireCondition::default(), 50));
        assert_eq!(time_to_live(&mut t, b"k", 50), TimeToLive::Missing);
    }

    #[test]
    fn persist_and_delete() {
        let mut t = table_with(b"k");
        assert!(!persist(&mut t, b"k", 0));
        t.set_deadline(b"k", 10);
        assert!(persist(&mut t, b"k", 0));
        assert_eq!(time_to_live(&mut t, b"k", 0), TimeToLive::Persistent);
        t.set_deadline(b"k", 10);
        assert!(
            !delete(&mut t, b"k", 11),
            "an expired key is not deleted twice"
        );
    }

    #[test]
    fn rename_moves_value_and_deadline_across_slots() {
        let db = Db::new(0);
        {
            let mut t = db.lock(crate::key_slot(b"foo"));
            t.insert(b"foo", Value::Str(StrValue::new(b"v")));
            t.set_deadline(b"foo", 99);
        }
        let mut locks = db.lock_keys([&b"foo"[..], b"bar"]);
        assert!(rename(&mut locks, b"foo", b"bar", false, 0).unwrap());
        assert_eq!(locks.for_key(b"bar").deadline(b"bar"), Some(99));
        assert!(!locks.for_key(b"foo").contains(b"foo", 0));
        assert_eq!(
            rename(&mut locks, b"foo", b"bar", false, 0),
            Err(KeyspaceError::NoSuchKey)
        );
        assert!(!rename(&mut locks, b"bar", b"bar", true, 0).unwrap());
        assert!(rename(&mut locks, b"bar", b"bar", false, 0).unwrap());
    }
}
