//! SINTER, SUNION, SDIFF, SINTERCARD and their STORE forms: commands over several sets.
//!
//! Results are built as Redis 7.0 builds them, by adding members to an empty intset
//! (so a stored result gets the encoding Redis would give it), and SDIFF chooses
//! between Redis's two algorithms by the same cost estimate, since the choice shows in
//! the encoding of what SDIFFSTORE stores.

use super::Result;
use crate::collections::SetValue;
use crate::db::SlotLocks;
use crate::encoding_limits::EncodingLimits;
use crate::value::Value;

/// Looks up every key of a multi-set command: WRONGTYPE if any holds another type,
/// else each set's size (`None` for a missing key).
fn sizes(locks: &mut SlotLocks<'_>, keys: &[&[u8]], now: i64) -> Result<Vec<Option<usize>>> {
    keys.iter()
        .map(|k| {
            let t = locks.for_key(k);
            match t.read(k, now) {
                None => Ok(None),
                Some(v) => Value::as_set(v).map(|s| Some(s.len())),
            }
        })
        .collect()
}

/// Runs `f` on the set under `key` (looked up already).
fn with_set<R>(
    locks: &mut SlotLocks<'_>,
    key: &[u8],
    now: i64,
    f: impl FnOnce(&SetValue) -> R,
) -> Option<R> {
    match locks.for_key(key).get(key, now) {
        Some(Value::Set(s)) => Some(f(s)),
        _ => None,
    }
}

/// The members of the intersection, in the order of the smallest set, stopping at
/// `limit` members (0: no limit).
fn intersect(
    locks: &mut SlotLocks<'_>,
    keys: &[&[u8]],
    limit: usize,
    now: i64,
) -> Result<Vec<Vec<u8>>> {
    let sizes = sizes(locks, keys, now)?;
    if sizes.iter().any(Option::is_none) {
        return Ok(Vec::new());
    }
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by_key(|&i| sizes[i]);
    let smallest = keys[order[0]];
    let mut members = with_set(locks, smallest, now, SetValue::members).unwrap_or_default();
    for &i in &order[1..] {
        if keys[i] == smallest {
            continue;
        }
        with_set(locks, keys[i], now, |s| members.retain(|m| s.contains(m)));
    }
    if limit > 0 {
        members.truncate(limit);
    }
    Ok(members)
}

/// SINTER (and SMEMBERS, with one key).
pub fn sinter(locks: &mut SlotLocks<'_>, keys: &[&[u8]], now: i64) -> Result<Vec<Vec<u8>>> {
    intersect(locks, keys, 0, now)
}

/// SINTERCARD: the size of the intersection, counting at most `limit` (0: no limit).
pub fn sintercard(
    locks: &mut SlotLocks<'_>,
    keys: &[&[u8]],
    limit: usize,
    now: i64,
) -> Result<usize> {
    Ok(intersect(locks, keys, limit, now)?.len())
}

/// The SUNION of `keys`, built as Redis builds it (adding to an empty intset).
fn union(
    locks: &mut SlotLocks<'_>,
    keys: &[&[u8]],
    limits: &EncodingLimits,
    now: i64,
) -> Result<SetValue> {
    sizes(locks, keys, now)?;
    let mut out = SetValue::empty_intset();
    for key in keys {
        with_set(locks, key, now, |s| {
            s.for_each_member(|m| {
                out.add(m, limits);
            })
        });
    }
    Ok(out)
}

/// The SDIFF of `keys`, with Redis's choice between checking each member of the
/// first set against the others (algorithm 1) and adding the first then removing the
/// others (algorithm 2): the choice shows in the result's encoding.
fn difference(
    locks: &mut SlotLocks<'_>,
    keys: &[&[u8]],
    limits: &EncodingLimits,
    now: i64,
) -> Result<SetValue> {
    let sizes = sizes(locks, keys, now)?;
    let mut out = SetValue::empty_intset();
    let Some(first) = sizes[0] else {
        return Ok(out);
    };
    if keys[1..].contains(&keys[0]) {
        return Ok(out);
    }
    let present: Vec<usize> = (0..keys.len()).filter(|&i| sizes[i].is_some()).collect();
    let one = (first * present.len()) as u64 / 2;
    let two: u64 = present.iter().map(|&i| sizes[i].unwrap_or(0) as u64).sum();
    if one <= two {
        // Subtract the biggest sets first: a member is likelier to be found early.
        let mut others: Vec<usize> = present[1..].to_vec();
        others.sort_by_key(|&i| std::cmp::Reverse(sizes[i]));
        let mut members = with_set(locks, keys[0], now, SetValue::members).unwrap_or_default();
        for &i in &others {
            with_set(locks, keys[i], now, |s| members.retain(|m| !s.contains(m)));
        }
        for m in &members {
            out.add(m, limits);
        }
    } else {
        for &i in &present {
            with_set(locks, keys[i], now, |s| {
                s.for_each_member(|m| {
                    if i == 0 {
                        out.add(m, limits);
                    } else {
                        out.remove(m);
                    }
                })
            });
            if out.is_empty() {
                break;
            }
        }
    }
    Ok(out)
}

/// SUNION.
pub fn sunion(
    locks: &mut SlotLocks<'_>,
    keys: &[&[u8]],
    limits: &EncodingLimits,
    now: i64,
) -> Result<Vec<Vec<u8>>> {
    Ok(union(locks, keys, limits, now)?.members())
}

/// SDIFF.
pub fn sdiff(
    locks: &mut SlotLocks<'_>,
    keys: &[&[u8]],
    limits: &EncodingLimits,
    now: i64,
) -> Result<Vec<Vec<u8>>> {
    Ok(difference(locks, keys, limits, now)?.members())
}

/// Which set operation a *STORE command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOp {
    /// SINTERSTORE.
    Inter,
    /// SUNIONSTORE.
    Union,
    /// SDIFFSTORE.
    Diff,
}

/// What a *STORE command did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    /// Size of the stored result (0: the destination was deleted instead).
    pub len: usize,
    /// True when the dataset changed (a result stored, or a destination deleted).
    pub changed: bool,
}

/// SINTERSTORE / SUNIONSTORE / SDIFFSTORE: stores the result in `destination`
/// (dropping its deadline), or deletes `destination` when the result is empty.
pub fn store(
    locks: &mut SlotLocks<'_>,
    op: SetOp,
    destination: &[u8],
    keys: &[&[u8]],
    limits: &EncodingLimits,
    now: i64,
) -> Result<Stored> {
    let result = match op {
        SetOp::Inter => {
            let mut out = SetValue::empty_intset();
            for m in intersect(locks, keys, 0, now)? {
                out.add(&m, limits);
            }
            out
        }
        SetOp::Union => union(locks, keys, limits, now)?,
        SetOp::Diff => difference(locks, keys, limits, now)?,
    };
    let t = locks.for_key(destination);
    if result.is_empty() {
        let changed = t.contains(destination, now) && t.remove(destination).is_some();
        return Ok(Stored { len: 0, changed });
    }
    let len = result.len();
    t.insert(destination, Value::Set(Box::new(result)));
    Ok(Stored { len, changed: true })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;
    use crate::sets::sadd;
    use crate::value::Encoding;

    #[test]
    fn stores_pick_redis_encodings() {
        // Read off redis-server 7.0.15: SDIFFSTORE's algorithm shows in the encoding.
        let db = Db::new(1);
        let l = EncodingLimits::default();
        let keys: [&[u8]; 7] = [
            b"{t}x1", b"{t}x2", b"{t}y1", b"{t}y2", b"{t}y3", b"{t}y4", b"{t}y5",
        ];
        let mut locks = db.lock_keys(keys.iter().copied().chain([&b"{t}d"[..]]));
        let add = |locks: &mut SlotLocks<'_>, k: &[u8], m: &[&[u8]]| {
            sadd(locks.for_key(k), k, m, &l, 0).unwrap();
        };
        add(&mut locks, b"{t}x1", &[b"a", b"1", b"2"]);
        add(&mut locks, b"{t}x2", &[b"a"]);
        let y1: Vec<&[u8]> = vec![b"a", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9"];
        add(&mut locks, b"{t}y1", &y1);
        for k in &keys[3..] {
            add(&mut locks, k, &[b"a"]);
        }
        let enc =
            |locks: &mut SlotLocks<'_>| locks.for_key(b"{t}d").get(b"{t}d", 0).map(Value::encoding);
        let out = store(&mut locks, SetOp::Diff, b"{t}d", &keys[..2], &l, 0).unwrap();
        assert_eq!(out.len, 2);
        assert_eq!(enc(&mut locks), Some(Encoding::Intset));
        let out = store(&mut locks, SetOp::Diff, b"{t}d", &keys[2..], &l, 0).unwrap();
        assert_eq!(out.len, 9);
        assert_eq!(enc(&mut locks), Some(Encoding::Hashtable));
        let out = store(&mut locks, SetOp::Inter, b"{t}d", &keys[..2], &l, 0).unwrap();
        assert_eq!(out.len, 1);
        let out = store(
            &mut locks,
            SetOp::Inter,
            b"{t}d",
            &[b"{t}x1", b"{t}none"],
            &l,
            0,
        )
        .unwrap();
        assert_eq!(
            out,
            Stored {
                len: 0,
                changed: true
            }
        );
        assert_eq!(sintercard(&mut locks, &[b"{t}x1", b"{t}y1"], 2, 0), Ok(2));
        let mut u = sunion(&mut locks, &keys[..2], &l, 0).unwrap();
        u.sort();
        assert_eq!(u, [b"1".to_vec(), b"2".to_vec(), b"a".to_vec()]);
        assert_eq!(
            sdiff(&mut locks, &[b"{t}x1", b"{t}x1"], &l, 0)
                .unwrap()
                .len(),
            0
        );
    }
}
