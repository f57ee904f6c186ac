//! Hash commands: what HSET, HINCRBY, HRANDFIELD and friends do to a slot's data.
//!
//! Each function mirrors Redis 7.0's t_hash.c where a client can see it: when a hash
//! converts from listpack to hashtable (checked on every argument before a write),
//! when a key is created or deleted, and which error comes first.

use crate::collections::HashValue;
use crate::collections::hash::FieldValue;
use crate::encoding_limits::EncodingLimits;
use crate::error::{KeyspaceError, Result};
use crate::glob::glob_match;
use crate::long_double::{self, FloatAddError};
use crate::number::parse_i64;
use crate::sets::Random;
use crate::slot_table::SlotTable;
use crate::value::Value;

/// The hash under `key` (a read: counts a hit or miss), `None` when missing.
fn read<'t>(t: &'t mut SlotTable, key: &[u8], now: i64) -> Result<Option<&'t HashValue>> {
    t.read(key, now).map(Value::as_hash).transpose()
}

/// The hash under `key` for writing, created empty when missing (Redis's
/// hashTypeLookupWriteOrCreate).
fn write_or_create<'t>(t: &'t mut SlotTable, key: &[u8], now: i64) -> Result<&'t mut HashValue> {
    if t.get(key, now).is_none() {
        t.insert(key, Value::Hash(Box::default()));
    }
    Value::as_hash_mut(t.get_mut(key, now).expect("present or just created"))
}

/// HSET / HMSET: sets every pair, creating the key; returns how many fields were new.
pub fn hset(
    t: &mut SlotTable,
    key: &[u8],
    pairs: &[(&[u8], &[u8])],
    limits: &EncodingLimits,
    now: i64,
) -> Result<usize> {
    let h = write_or_create(t, key, now)?;
    h.convert_for_lengths(pairs.iter().flat_map(|(f, v)| [f.len(), v.len()]), limits);
    Ok(pairs.iter().filter(|(f, v)| h.set(f, v, limits)).count())
}

/// HSETNX: sets `field` only if absent; true when it was set.
pub fn hsetnx(
    t: &mut SlotTable,
    key: &[u8],
    field: &[u8],
    value: &[u8],
    limits: &EncodingLimits,
    now: i64,
) -> Result<bool> {
    let h = write_or_create(t, key, now)?;
    if h.contains(field) {
        return Ok(false);
    }
    h.convert_for_lengths([field.len(), value.len()].into_iter(), limits);
    h.set(field, value, limits);
    Ok(true)
}

/// HGET.
pub fn hget(t: &mut SlotTable, key: &[u8], field: &[u8], now: i64) -> Result<Option<Vec<u8>>> {
    Ok(read(t, key, now)?.and_then(|h| h.get(field)))
}

/// HMGET: one value (or `None`) per field; a missing key answers all `None`.
pub fn hmget(
    t: &mut SlotTable,
    key: &[u8],
    fields: &[&[u8]],
    now: i64,
) -> Result<Vec<Option<Vec<u8>>>> {
    let h = read(t, key, now)?;
    Ok(fields.iter().map(|f| h.and_then(|h| h.get(f))).collect())
}

/// HDEL: removes `fields`; returns how many were there. An emptied hash is deleted.
pub fn hdel(t: &mut SlotTable, key: &[u8], fields: &[&[u8]], now: i64) -> Result<usize> {
    let Some(v) = t.get_mut(key, now) else {
        return Ok(0);
    };
    let h = Value::as_hash_mut(v)?;
    let mut removed = 0;
    for f in fields {
        if h.remove(f) {
            removed += 1;
            if h.is_empty() {
                break;
            }
        }
    }
    if h.is_empty() {
        t.remove(key);
    }
    Ok(removed)
}

/// HLEN.
pub fn hlen(t: &mut SlotTable, key: &[u8], now: i64) -> Result<usize> {
    Ok(read(t, key, now)?.map_or(0, HashValue::len))
}

/// HSTRLEN: length of the value of `field` (0 when missing).
pub fn hstrlen(t: &mut SlotTable, key: &[u8], field: &[u8], now: i64) -> Result<usize> {
    Ok(read(t, key, now)?
        .and_then(|h| h.with_value(field, <[u8]>::len))
        .unwrap_or(0))
}

/// HEXISTS.
pub fn hexists(t: &mut SlotTable, key: &[u8], field: &[u8], now: i64) -> Result<bool> {
    Ok(read(t, key, now)?.is_some_and(|h| h.contains(field)))
}

/// HINCRBY: adds `delta` to the integer value of `field` (0 when missing).
pub fn hincrby(
    t: &mut SlotTable,
    key: &[u8],
    field: &[u8],
    delta: i64,
    limits: &EncodingLimits,
    now: i64,
) -> Result<i64> {
    let h = write_or_create(t, key, now)?;
    let current = match h.with_value(field, parse_i64) {
        None => 0,
        Some(None) => return Err(KeyspaceError::HashNotInteger),
        Some(Some(n)) => n,
    };
    let sum = current.checked_add(delta).ok_or(KeyspaceError::Overflow)?;
    h.set(field, itoa::Buffer::new().format(sum).as_bytes(), limits);
    Ok(sum)
}

/// True when `text` reads as an infinite long double (`inf`, `-Infinity`, ...): what
/// HINCRBYFLOAT refuses as an increment before looking at the key.
pub fn is_infinite_text(text: &[u8]) -> bool {
    let body = text
        .strip_prefix(b"-")
        .or_else(|| text.strip_prefix(b"+"))
        .unwrap_or(text);
    body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity")
}

/// HINCRBYFLOAT: adds `increment` (already checked to be a finite float) to the value
/// of `field` in long double arithmetic; returns the new value's text, which is also
/// what replicas get (as HSET).
pub fn hincrbyfloat(
    t: &mut SlotTable,
    key: &[u8],
    field: &[u8],
    increment: &[u8],
    limits: &EncodingLimits,
    now: i64,
) -> Result<Vec<u8>> {
    let h = write_or_create(t, key, now)?;
    let current = h.get(field).unwrap_or_else(|| b"0".to_vec());
    let sum = long_double::add(&current, increment).map_err(|e| match e {
        FloatAddError::CurrentNotFloat => KeyspaceError::HashNotFloat,
        FloatAddError::IncrementNotFloat => KeyspaceError::NotFloat,
        FloatAddError::NotFinite => KeyspaceError::NotFinite,
    })?;
    h.set(field, &sum, limits);
    Ok(sum)
}

/// HGETALL (HKEYS and HVALS take half of each pair).
pub fn hgetall(t: &mut SlotTable, key: &[u8], now: i64) -> Result<Vec<FieldValue>> {
    Ok(read(t, key, now)?.map(HashValue::pairs).unwrap_or_default())
}

/// HRANDFIELD without a count.
pub fn hrandfield(
    t: &mut SlotTable,
    key: &[u8],
    now: i64,
    random: Random<'_>,
) -> Result<Option<Vec<u8>>> {
    Ok(read(t, key, now)?.map(|h| h.pair_at((random() % h.len() as u64) as usize).0))
}

/// `count` distinct positions below `size` (`count < size`), ascending.
fn distinct_positions(size: usize, count: usize, random: Random<'_>) -> Vec<usize> {
    let mut chosen: Vec<usize> = if count * 3 > size {
        // Most positions are wanted: shuffle the first `count` into place.
        let mut all: Vec<usize> = (0..size).collect();
        for i in 0..count {
            let j = i + (random() % (size - i) as u64) as usize;
            all.swap(i, j);
        }
        all.truncate(count);
        all
    } else {
        let mut seen = std::collections::HashSet::with_capacity(count);
        while seen.len() < count {
            seen.insert((random() % size as u64) as usize);
        }
        seen.into_iter().collect()
    };
    chosen.sort_unstable();
    chosen
}

/// HRANDFIELD with a count: distinct pairs for a positive count (the whole hash, in
/// its order, when it is that small), `-count` independent picks for a negative one.
pub fn hrandfield_count(
    t: &mut SlotTable,
    key: &[u8],
    count: i64,
    now: i64,
    random: Random<'_>,
) -> Result<Vec<FieldValue>> {
    let Some(h) = read(t, key, now)? else {
        return Ok(Vec::new());
    };
    let size = h.len();
    if count < 0 || count == 1 {
        return Ok((0..count.unsigned_abs())
            .map(|_| h.pair_at((random() % size as u64) as usize))
            .collect());
    }
    if count as u64 >= size as u64 {
        return Ok(h.pairs());
    }
    Ok(distinct_positions(size, count as usize, random)
        .into_iter()
        .map(|at| h.pair_at(at))
        .collect())
}

/// HSCAN: one step from `cursor`, pairs whose field matches `pattern`.
pub fn hscan(
    t: &mut SlotTable,
    key: &[u8],
    cursor: u64,
    count: usize,
    pattern: Option<&[u8]>,
    now: i64,
) -> Result<(u64, Vec<FieldValue>)> {
    let Some(h) = read(t, key, now)? else {
        return Ok((0, Vec::new()));
    };
    let (next, mut pairs) = h.scan(cursor, count);
    if let Some(p) = pattern {
        pairs.retain(|(f, _)| glob_match(p, f, false));
    }
    Ok((next, pairs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;
    use crate::value::Encoding;

    #[test]
    fn writes_convert_and_delete_like_redis() {
        let db = Db::new(1);
        let l = EncodingLimits::default();
        let mut t = db.lock(crate::key_slot(b"h"));
        assert_eq!(
            hset(
                &mut t,
                b"h",
                &[(b"a", b"1"), (b"b", b"2"), (b"a", b"3")],
                &l,
                0
            ),
            Ok(2)
        );
        assert_eq!(hget(&mut t, b"h", b"a", 0), Ok(Some(b"3".to_vec())));
        assert_eq!(hsetnx(&mut t, b"h", b"a", &[b'x'; 70], &l, 0), Ok(false));
        assert_eq!(
            t.get(b"h", 0).map(Value::encoding),
            Some(Encoding::Listpack)
        );
        assert_eq!(hincrby(&mut t, b"h", b"a", 5, &l, 0), Ok(8));
        assert_eq!(
            hincrby(&mut t, b"h", b"a", i64::MAX, &l, 0),
            Err(KeyspaceError::Overflow)
        );
        assert_eq!(
            hincrbyfloat(&mut t, b"h", b"c", b"1.5", &l, 0),
            Ok(b"1.5".to_vec())
        );
        hset(&mut t, b"h", &[(b"s", b"x")], &l, 0).unwrap();
        assert_eq!(
            hincrby(&mut t, b"h", b"s", 1, &l, 0),
            Err(KeyspaceError::HashNotInteger)
        );
        assert_eq!(
            hincrbyfloat(&mut t, b"h", b"s", b"1", &l, 0),
            Err(KeyspaceError::HashNotFloat)
        );
        // A long field written by HINCRBY converts, as hashTypeSet checks it.
        hincrby(&mut t, b"h", &[b'f'; 65], 1, &l, 0).unwrap();
        assert_eq!(
            t.get(b"h", 0).map(Value::encoding),
            Some(Encoding::Hashtable)
        );
        assert_eq!(hlen(&mut t, b"h", 0), Ok(5));
        assert_eq!(
            hdel(
                &mut t,
                b"h",
                &[b"a", b"b", b"c", b"s", &[b'f'; 65], b"z"],
                0
            ),
            Ok(5)
        );
        assert!(!t.contains(b"h", 0));
        assert!(
            is_infinite_text(b"-inf")
                && is_infinite_text(b"Infinity")
                && !is_infinite_text(b"1e400")
        );
    }

    #[test]
    fn hrandfield_counts() {
        let db = Db::new(1);
        let l = EncodingLimits::default();
        let mut n = 0u64;
        let mut rng = move || {
            n = n
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            n >> 11
        };
        let mut t = db.lock(crate::key_slot(b"h"));
        let pairs: Vec<(Vec<u8>, Vec<u8>)> = (0..20)
            .map(|i| (format!("f{i}").into_bytes(), b"v".to_vec()))
            .collect();
        let refs: Vec<(&[u8], &[u8])> = pairs
            .iter()
            .map(|(f, v)| (f.as_slice(), v.as_slice()))
            .collect();
        hset(&mut t, b"h", &refs, &l, 0).unwrap();
        for count in [2, 7, 19, 20, 30] {
            let got = hrandfield_count(&mut t, b"h", count, 0, &mut rng).unwrap();
            let distinct: std::collections::HashSet<_> = got.iter().collect();
            assert_eq!(got.len(), distinct.len());
            assert_eq!(got.len(), (count as usize).min(20));
        }
        assert_eq!(
            hrandfield_count(&mut t, b"h", -50, 0, &mut rng)
                .unwrap()
                .len(),
            50
        );
        assert_eq!(
            hrandfield_count(&mut t, b"h", 20, 0, &mut rng).unwrap(),
            pairs
        );
    }
}
