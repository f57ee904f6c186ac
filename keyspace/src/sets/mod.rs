//! Set commands: what SADD, SPOP, SMOVE and friends do to a slot's data (the
//! commands over several sets are in `algebra`).
//!
//! Each function mirrors Redis 7.0's t_set.c where a client can see the difference:
//! which encoding a result gets (S*STORE build their result by adding to an empty
//! intset, SDIFF picks one of two algorithms by size), when a key is deleted, and
//! what is reported. Randomness is passed in so the semantics stay deterministic.

use crate::collections::SetValue;
use crate::db::SlotLocks;
use crate::encoding_limits::EncodingLimits;
use crate::error::Result;
use crate::glob::glob_match;
use crate::slot_table::SlotTable;
use crate::value::Value;

/// A source of random numbers (uniform over `u64`).
pub type Random<'a> = &'a mut dyn FnMut() -> u64;

mod algebra;

pub use algebra::{SetOp, Stored, sdiff, sinter, sintercard, store, sunion};

/// The set under `key` (a read: counts a hit or miss), `None` when missing.
fn read<'t>(t: &'t mut SlotTable, key: &[u8], now: i64) -> Result<Option<&'t SetValue>> {
    t.read(key, now).map(Value::as_set).transpose()
}

/// SADD: adds `members`, creating the key; returns how many were new.
pub fn sadd(
    t: &mut SlotTable,
    key: &[u8],
    members: &[&[u8]],
    limits: &EncodingLimits,
    now: i64,
) -> Result<usize> {
    let set = match t.get_mut(key, now) {
        Some(v) => Value::as_set_mut(v)?,
        None => {
            t.insert(key, Value::Set(Box::new(SetValue::for_member(members[0]))));
            Value::as_set_mut(t.get_mut(key, now).expect("just inserted"))?
        }
    };
    Ok(members.iter().filter(|m| set.add(m, limits)).count())
}

/// Removes `key` when its set became empty.
fn drop_if_empty(t: &mut SlotTable, key: &[u8], now: i64) {
    if let Some(Value::Set(s)) = t.get(key, now)
        && s.is_empty()
    {
        t.remove(key);
    }
}

/// SREM: removes `members`; returns how many were there. An emptied set is deleted.
pub fn srem(t: &mut SlotTable, key: &[u8], members: &[&[u8]], now: i64) -> Result<usize> {
    let Some(v) = t.get_mut(key, now) else {
        return Ok(0);
    };
    let set = Value::as_set_mut(v)?;
    let mut removed = 0;
    for m in members {
        if set.remove(m) {
            removed += 1;
            if set.is_empty() {
                break;
            }
        }
    }
    drop_if_empty(t, key, now);
    Ok(removed)
}

/// SCARD.
pub fn scard(t: &mut SlotTable, key: &[u8], now: i64) -> Result<usize> {
    Ok(read(t, key, now)?.map_or(0, SetValue::len))
}

/// Whether the set at `key` holds `member`, looked at as a write does (no hit or
/// miss counted); false for a missing key or one of another type.
pub fn contains(t: &mut SlotTable, key: &[u8], member: &[u8], now: i64) -> bool {
    matches!(t.get(key, now), Some(Value::Set(set)) if set.contains(member))
}

/// SMISMEMBER (and SISMEMBER with one member).
pub fn smismember(t: &mut SlotTable, key: &[u8], members: &[&[u8]], now: i64) -> Result<Vec<bool>> {
    let set = read(t, key, now)?;
    Ok(members
        .iter()
        .map(|m| set.is_some_and(|s| s.contains(m)))
        .collect())
}

/// SRANDMEMBER without a count.
pub fn srandmember(
    t: &mut SlotTable,
    key: &[u8],
    now: i64,
    random: Random<'_>,
) -> Result<Option<Vec<u8>>> {
    Ok(read(t, key, now)?.map(|s| s.random_member(random)))
}

/// `count` distinct random members of `set` (fewer than its size).
fn distinct_sample(set: &SetValue, count: usize, random: Random<'_>) -> Vec<Vec<u8>> {
    // Like Redis: remove from a copy when most members are wanted, otherwise draw
    // until enough distinct ones came up.
    if count * 3 > set.len() {
        let mut copy = set.clone();
        while copy.len() > count {
            copy.pop_random(random);
        }
        return copy.members();
    }
    let mut picked = std::collections::HashSet::with_capacity(count);
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let m = set.random_member(random);
        if picked.insert(m.clone()) {
            out.push(m);
        }
    }
    out
}

/// SRANDMEMBER with a count: distinct members for a positive count (the whole set
/// when it is that small), `-count` independent picks for a negative one.
pub fn srandmember_count(
    t: &mut SlotTable,
    key: &[u8],
    count: i64,
    now: i64,
    random: Random<'_>,
) -> Result<Vec<Vec<u8>>> {
    let Some(set) = read(t, key, now)? else {
        return Ok(Vec::new());
    };
    if count < 0 {
        return Ok((0..count.unsigned_abs())
            .map(|_| set.random_member(random))
            .collect());
    }
    let count = count as u64;
    if count >= set.len() as u64 {
        return Ok(set.members());
    }
    Ok(distinct_sample(set, count as usize, random))
}

/// SPOP without a count: removes a random member. An emptied set is deleted.
pub fn spop(
    t: &mut SlotTable,
    key: &[u8],
    now: i64,
    random: Random<'_>,
) -> Result<Option<Vec<u8>>> {
    let Some(v) = t.get_mut(key, now) else {
        return Ok(None);
    };
    let member = Value::as_set_mut(v)?.pop_random(random);
    drop_if_empty(t, key, now);
    Ok(Some(member))
}

/// What SPOP with a count did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Popped {
    /// The members removed, in reply order.
    pub members: Vec<Vec<u8>>,
    /// True when the whole set went (Redis replicates that as DEL, not SREMs).
    pub deleted_key: bool,
}

/// SPOP with a count, with Redis's three strategies (they decide the encoding of
/// what is left: rebuilding the remainder makes an intset of it when it can be one).
pub fn spop_count(
    t: &mut SlotTable,
    key: &[u8],
    count: u64,
    limits: &EncodingLimits,
    now: i64,
    random: Random<'_>,
) -> Result<Popped> {
    let Some(v) = t.get_mut(key, now) else {
        return Ok(Popped::default());
    };
    let set = Value::as_set_mut(v)?;
    if count == 0 {
        return Ok(Popped::default());
    }
    let size = set.len() as u64;
    if count >= size {
        let members = set.members();
        t.remove(key);
        return Ok(Popped {
            members,
            deleted_key: true,
        });
    }
    let remaining = size - count;
    let mut members = Vec::with_capacity(count as usize);
    if remaining * 5 > count {
        for _ in 0..count {
            members.push(set.pop_random(random));
        }
    } else {
        let mut rest: Option<SetValue> = None;
        for _ in 0..remaining {
            let m = set.pop_random(random);
            rest.get_or_insert_with(|| SetValue::for_member(&m))
                .add(&m, limits);
        }
        members = set.members();
        *set = rest.expect("something remains");
    }
    Ok(Popped {
        members,
        deleted_key: false,
    })
}

/// SMOVE: true when `member` moved (or, with source and destination the same key,
/// is a member).
pub fn smove(
    locks: &mut SlotLocks<'_>,
    source: &[u8],
    destination: &[u8],
    member: &[u8],
    limits: &EncodingLimits,
    now: i64,
) -> Result<bool> {
    let Some(src) = locks.for_key(source).get(source, now) else {
        return Ok(false);
    };
    Value::as_set(src)?;
    if let Some(dst) = locks.for_key(destination).get(destination, now) {
        Value::as_set(dst)?;
    }
    if source == destination {
        return Ok(smismember(locks.for_key(source), source, &[member], now)?[0]);
    }
    let t = locks.for_key(source);
    let removed = Value::as_set_mut(t.get_mut(source, now).expect("checked above"))?.remove(member);
    if !removed {
        return Ok(false);
    }
    drop_if_empty(t, source, now);
    sadd(
        locks.for_key(destination),
        destination,
        &[member],
        limits,
        now,
    )?;
    Ok(true)
}

/// SSCAN: one step from `cursor`, members filtered by `pattern`.
pub fn sscan(
    t: &mut SlotTable,
    key: &[u8],
    cursor: u64,
    count: usize,
    pattern: Option<&[u8]>,
    now: i64,
) -> Result<(u64, Vec<Vec<u8>>)> {
    let Some(set) = read(t, key, now)? else {
        return Ok((0, Vec::new()));
    };
    let (next, mut members) = set.scan(cursor, count);
    if let Some(p) = pattern {
        members.retain(|m| glob_match(p, m, false));
    }
    Ok((next, members))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;
    use crate::error::KeyspaceError;
    use crate::value::Encoding;

    fn counter() -> impl FnMut() -> u64 {
        let mut n = 0u64;
        move || {
            n = n
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            n >> 11
        }
    }

    fn encoding_of(db: &Db, key: &[u8]) -> Option<Encoding> {
        db.lock(crate::key_slot(key))
            .get(key, 0)
            .map(Value::encoding)
    }

    #[test]
    fn sadd_srem_and_deletion_of_empty_sets() {
        let db = Db::new(1);
        let l = EncodingLimits::default();
        let mut t = db.lock(crate::key_slot(b"s"));
        assert_eq!(sadd(&mut t, b"s", &[b"1", b"2", b"2"], &l, 0), Ok(2));
        assert_eq!(scard(&mut t, b"s", 0), Ok(2));
        assert_eq!(
            smismember(&mut t, b"s", &[b"1", b"x"], 0),
            Ok(vec![true, false])
        );
        assert_eq!(srem(&mut t, b"s", &[b"1", b"2", b"3"], 0), Ok(2));
        assert!(!t.contains(b"s", 0));
        t.insert(b"str", Value::Str(crate::StrValue::new(b"x")));
        assert_eq!(
            sadd(&mut t, b"str", &[b"a"], &l, 0),
            Err(KeyspaceError::WrongType)
        );
    }

    #[test]
    fn spop_strategies_and_encodings() {
        let db = Db::new(1);
        let l = EncodingLimits::default();
        let mut rng = counter();
        let mut t = db.lock(crate::key_slot(b"s"));
        let members: Vec<Vec<u8>> = (0..600).map(|i| format!("{i}").into_bytes()).collect();
        let refs: Vec<&[u8]> = members.iter().map(Vec::as_slice).collect();
        sadd(&mut t, b"s", &refs, &l, 0).unwrap();
        // 590 of 600: the remainder is rebuilt, and 10 integers make an intset again.
        let popped = spop_count(&mut t, b"s", 590, &l, 0, &mut rng).unwrap();
        assert_eq!(popped.members.len(), 590);
        assert_eq!(scard(&mut t, b"s", 0), Ok(10));
        drop(t);
        assert_eq!(encoding_of(&db, b"s"), Some(Encoding::Intset));
        let mut t = db.lock(crate::key_slot(b"s"));
        let popped = spop_count(&mut t, b"s", 2, &l, 0, &mut rng).unwrap();
        assert!(!popped.deleted_key && popped.members.len() == 2);
        let popped = spop_count(&mut t, b"s", 100, &l, 0, &mut rng).unwrap();
        assert!(popped.deleted_key && popped.members.len() == 8);
        assert!(!t.contains(b"s", 0));
    }

    #[test]
    fn srandmember_counts() {
        let db = Db::new(1);
        let l = EncodingLimits::default();
        let mut rng = counter();
        let mut t = db.lock(crate::key_slot(b"s"));
        sadd(&mut t, b"s", &[b"a", b"b", b"c", b"d", b"e"], &l, 0).unwrap();
        for count in [1, 2, 4, 5, 9] {
            let got = srandmember_count(&mut t, b"s", count, 0, &mut rng).unwrap();
            let distinct: std::collections::HashSet<_> = got.iter().collect();
            assert_eq!(got.len(), distinct.len());
            assert_eq!(got.len(), (count as usize).min(5));
        }
        assert_eq!(
            srandmember_count(&mut t, b"s", -7, 0, &mut rng)
                .unwrap()
                .len(),
            7
        );
    }
}
