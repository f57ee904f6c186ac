//! List commands: what LPUSH, LPOP, LRANGE, LINSERT and friends do to a slot's data.
//!
//! Argument parsing and reply encoding belong to the RESP layer; these functions take
//! typed arguments and the current time, and answer typed results. A list that loses
//! its last element is deleted, as Redis deletes it. Writes look keys up without
//! counting keyspace hits or misses, reads count them, as Redis's lookupKeyWrite and
//! lookupKeyRead do.

use crate::EncodingLimits;
use crate::collections::ListValue;
pub use crate::collections::list::End;
use crate::db::SlotLocks;
use crate::encoding::listpack::LpEntry;
use crate::error::{KeyspaceError, Result};
use crate::slot_table::SlotTable;
use crate::value::Value;

/// The list under `key` for reading (counting a hit or miss), if any.
pub fn read<'t>(t: &'t mut SlotTable, key: &[u8], now: i64) -> Result<Option<&'t ListValue>> {
    t.read(key, now).map(Value::as_list).transpose()
}

/// The list under `key`, if any, without counting a hit or miss (for a write's checks).
pub fn peek<'t>(t: &'t mut SlotTable, key: &[u8], now: i64) -> Result<Option<&'t ListValue>> {
    t.get(key, now).map(Value::as_list).transpose()
}

/// The list under `key` for writing, if any.
fn write<'t>(t: &'t mut SlotTable, key: &[u8], now: i64) -> Result<Option<&'t mut ListValue>> {
    t.get_mut(key, now).map(Value::as_list_mut).transpose()
}

/// Deletes `key` if its list is empty.
fn drop_if_empty(t: &mut SlotTable, key: &[u8], now: i64) {
    if matches!(t.get(key, now), Some(Value::List(l)) if l.is_empty()) {
        t.remove(key);
    }
}

/// LPUSH / RPUSH (and with `create` false, LPUSHX / RPUSHX): pushes `values` one by
/// one at `end`; answers the new length (0 when the key is missing and not created).
pub fn push<'v>(
    t: &mut SlotTable,
    key: &[u8],
    values: impl IntoIterator<Item = &'v [u8]>,
    end: End,
    create: bool,
    limits: &EncodingLimits,
    now: i64,
) -> Result<usize> {
    if let Some(list) = write(t, key, now)? {
        values.into_iter().for_each(|v| list.push(v, end));
        return Ok(list.len());
    }
    if !create {
        return Ok(0);
    }
    let mut list = ListValue::new(limits);
    values.into_iter().for_each(|v| list.push(v, end));
    let len = list.len();
    t.insert(key, Value::List(Box::new(list)));
    Ok(len)
}

/// LPOP / RPOP: `None` when the key is missing; else up to `count` elements in the
/// order popped.
pub fn pop(
    t: &mut SlotTable,
    key: &[u8],
    end: End,
    count: usize,
    now: i64,
) -> Result<Option<Vec<Vec<u8>>>> {
    let Some(list) = write(t, key, now)? else {
        return Ok(None);
    };
    let popped: Vec<Vec<u8>> = (0..count.min(list.len()))
        .map(|_| list.pop(end).expect("counted"))
        .collect();
    drop_if_empty(t, key, now);
    Ok(Some(popped))
}

/// LLEN.
pub fn len(t: &mut SlotTable, key: &[u8], now: i64) -> Result<usize> {
    Ok(read(t, key, now)?.map_or(0, ListValue::len))
}

/// Turns a possibly negative index into one from the head, if it is in range.
pub fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let len = len as i64;
    let i = if index < 0 { len + index } else { index };
    (0..len).contains(&i).then_some(i as usize)
}

/// LRANGE's (and LTRIM's) clamping: the `(first, count)` of `start..=stop` over a list
/// of `len`, negative indexes counting from the tail; `None` when empty.
pub fn resolve_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let n = len as i64;
    let mut start = if start < 0 { n + start } else { start };
    let mut stop = if stop < 0 { n + stop } else { stop };
    start = start.max(0);
    if start > stop || start >= n {
        return None;
    }
    stop = stop.min(n - 1);
    Some((start as usize, (stop - start + 1) as usize))
}

/// LSET: `Err(NoSuchKey)` for a missing key; `Ok(false)` when the index is out of range.
pub fn set(t: &mut SlotTable, key: &[u8], index: i64, value: &[u8], now: i64) -> Result<bool> {
    let list = write(t, key, now)?.ok_or(KeyspaceError::NoSuchKey)?;
    match resolve_index(index, list.len()) {
        Some(i) => {
            list.set(i, value);
            Ok(true)
        }
        None => Ok(false),
    }
}

/// LINSERT: 0 when the key is missing, -1 when the pivot is not there, else the new
/// length.
pub fn insert(
    t: &mut SlotTable,
    key: &[u8],
    after: bool,
    pivot: &[u8],
    value: &[u8],
    now: i64,
) -> Result<i64> {
    let Some(list) = write(t, key, now)? else {
        return Ok(0);
    };
    match list.position(pivot) {
        Some(i) => {
            list.insert(i, value, after);
            Ok(list.len() as i64)
        }
        None => Ok(-1),
    }
}

/// LREM: removes up to |count| elements equal to `value` (all when 0), from the tail
/// when `count` is negative; answers how many went.
pub fn rem(t: &mut SlotTable, key: &[u8], count: i64, value: &[u8], now: i64) -> Result<usize> {
    let Some(list) = write(t, key, now)? else {
        return Ok(0);
    };
    let limit = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
    let removed = list.remove_matching(value, limit, count < 0);
    drop_if_empty(t, key, now);
    Ok(removed)
}

/// LTRIM: keeps `start..=stop`; answers how many elements went.
pub fn trim(t: &mut SlotTable, key: &[u8], start: i64, stop: i64, now: i64) -> Result<usize> {
    let Some(list) = write(t, key, now)? else {
        return Ok(0);
    };
    let len = list.len();
    let (first, count) = resolve_range(start, stop, len).unwrap_or((len, 0));
    list.remove_range(first + count, len);
    list.remove_range(0, first);
    let removed = len - list.len();
    drop_if_empty(t, key, now);
    Ok(removed)
}

/// LPOS's options, as parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PosOptions {
    /// RANK: which match to start from (never 0; negative: from the tail).
    pub rank: i64,
    /// COUNT: how many matches to return (0: all); `None` without COUNT.
    pub count: Option<usize>,
    /// MAXLEN: how many elements to compare at most (0: all).
    pub max_len: usize,
}

/// LPOS over `list`: the indexes (from the head) of the matches it asks for.
pub fn positions(list: &ListValue, element: &[u8], options: PosOptions) -> Vec<usize> {
    let from_tail = options.rank < 0;
    // Redis negates RANK in a C long: i64::MIN stays negative, so every match
    // qualifies and COUNT never stops the scan.
    let overflowed = options.rank == i64::MIN;
    let rank = if overflowed {
        1
    } else {
        options.rank.unsigned_abs()
    };
    let want = options
        .count
        .map_or(1, |c| if c == 0 { usize::MAX } else { c });
    let want = if overflowed && options.count.is_some() {
        usize::MAX
    } else {
        want
    };
    let len = list.len();
    let mut matches = 0u64;
    let mut found = Vec::new();
    list.scan(from_tail, |seen, entry| {
        if options.max_len != 0 && seen >= options.max_len {
            return false;
        }
        if entry.eq_bytes(element) {
            matches += 1;
            if matches >= rank {
                found.push(if from_tail { len - 1 - seen } else { seen });
                return found.len() < want;
            }
        }
        true
    });
    found
}

/// LMOVE / RPOPLPUSH: pops from `source`'s `from` end and pushes at `destination`'s
/// `to` end; `None` when the source is missing. A destination of another type is an
/// error before anything moves.
pub fn lmove(
    locks: &mut SlotLocks<'_>,
    source: &[u8],
    destination: &[u8],
    from: End,
    to: End,
    limits: &EncodingLimits,
    now: i64,
) -> Result<Option<Vec<u8>>> {
    if write(locks.for_key(source), source, now)?.is_none() {
        return Ok(None);
    }
    if source == destination {
        return rotate(locks.for_key(source), source, from, to, now);
    }
    write(locks.for_key(destination), destination, now)?;
    let t = locks.for_key(source);
    let list = write(t, source, now)?.expect("checked above");
    let value = list.pop(from).expect("a stored list is never empty");
    drop_if_empty(t, source, now);
    push(
        locks.for_key(destination),
        destination,
        [value.as_slice()],
        to,
        true,
        limits,
        now,
    )?;
    Ok(Some(value))
}

/// LMOVE of a list onto itself: the element popped at `from` is pushed at `to` in
/// place, so the list is never empty, hence never deleted and added again.
pub fn rotate(
    t: &mut SlotTable,
    key: &[u8],
    from: End,
    to: End,
    now: i64,
) -> Result<Option<Vec<u8>>> {
    let Some(list) = write(t, key, now)? else {
        return Ok(None);
    };
    let value = list.pop(from).expect("a stored list is never empty");
    list.push(&value, to);
    Ok(Some(value))
}

/// LMPOP: pops up to `count` elements from the first of `keys` that holds a non-empty
/// list; answers its position in `keys` and the elements. A key of another type met
/// before that is an error.
pub fn mpop<'k>(
    locks: &mut SlotLocks<'_>,
    keys: impl IntoIterator<Item = &'k [u8]>,
    end: End,
    count: usize,
    now: i64,
) -> Result<Option<(usize, Vec<Vec<u8>>)>> {
    for (i, key) in keys.into_iter().enumerate() {
        let t = locks.for_key(key);
        match write(t, key, now)? {
            Some(list) if !list.is_empty() => {
                let popped = pop(t, key, end, count, now)?.expect("the key exists");
                return Ok(Some((i, popped)));
            }
            _ => {}
        }
    }
    Ok(None)
}

/// Calls `f` with the elements `first..first + count` (clamped), in order.
pub fn for_each_in(list: &ListValue, first: usize, count: usize, f: impl FnMut(LpEntry<'_>)) {
    list.for_each_in_range(first, count, false, f);
}

#[cfg(test)]
#[path = "lists_tests.rs"]
mod tests;
