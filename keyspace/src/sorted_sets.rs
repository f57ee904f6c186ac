//! Sorted-set commands: what ZADD, ZRANGE, ZPOPMIN, ZUNIONSTORE and friends do to a
//! slot's data. Argument parsing and reply encoding belong to the RESP layer; these
//! functions take typed arguments and the current time, and answer typed results.

use crate::collections::zset::{AddFlags, AddResult, LexRange, ScoreRange};
use crate::collections::{SetValue, ZSetValue};
use crate::encoding_limits::EncodingLimits;
use crate::error::{KeyspaceError, Result};
use crate::slot_table::SlotTable;
use crate::value::{Encoding, Value};

/// A member and its score.
pub type Scored = (Vec<u8>, f64);

/// The sorted set under `key` for reading, counting a keyspace hit or miss.
pub fn get<'t>(t: &'t mut SlotTable, key: &[u8], now: i64) -> Result<Option<&'t ZSetValue>> {
    t.read(key, now).map(Value::as_zset).transpose()
}

/// The sorted set at `key` for a write (no keyspace hit or miss counted, no access
/// stamped), or WRONGTYPE.
pub fn peek<'t>(t: &'t mut SlotTable, key: &[u8], now: i64) -> Result<Option<&'t ZSetValue>> {
    t.get(key, now).map(Value::as_zset).transpose()
}

/// What ZADD did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AddOutcome {
    /// Members added.
    pub added: usize,
    /// Members whose score changed.
    pub updated: usize,
    /// The score of the last element not skipped by a condition (ZADD INCR's reply).
    pub score: Option<f64>,
    /// An increment gave NaN: Redis stops there with an error.
    pub not_a_number: bool,
}

/// ZADD / ZINCRBY: adds or updates `(score, member)` pairs. A missing key is created
/// as a listpack unless the first member alone is over the limits (what Redis 7.0
/// looks at), unless XX makes the call a no-op.
pub fn zadd(
    t: &mut SlotTable,
    key: &[u8],
    pairs: &[(f64, &[u8])],
    flags: AddFlags,
    limits: &EncodingLimits,
    now: i64,
) -> Result<AddOutcome> {
    let mut out = AddOutcome::default();
    if t.get(key, now).is_none() {
        if flags.xx {
            return Ok(out);
        }
        let first = pairs.first().map_or(0, |(_, m)| m.len());
        let z = ZSetValue::with_hint(1, first, limits);
        t.insert(key, Value::ZSet(Box::new(z)));
    }
    let z = Value::as_zset_mut(t.get_mut(key, now).expect("present or just created"))?;
    for &(score, member) in pairs {
        match z.add(member, score, flags, limits) {
            AddResult::Added(s) => {
                out.added += 1;
                out.score = Some(s);
            }
            AddResult::Updated(s) => {
                out.updated += 1;
                out.score = Some(s);
            }
            AddResult::Unchanged(s) => out.score = Some(s),
            AddResult::Skipped => {}
            AddResult::NotANumber => {
                out.not_a_number = true;
                break;
            }
        }
    }
    if z.is_empty() {
        t.remove(key);
    }
    Ok(out)
}

/// ZREM: removes members; returns how many were there. An emptied key is deleted.
pub fn zrem(t: &mut SlotTable, key: &[u8], members: &[&[u8]], now: i64) -> Result<usize> {
    let Some(v) = t.get_mut(key, now) else {
        return Ok(0);
    };
    let z = Value::as_zset_mut(v)?;
    let removed = members.iter().filter(|m| z.remove(m)).count();
    if z.is_empty() {
        t.remove(key);
    }
    Ok(removed)
}

/// Which members a range command selects.
#[derive(Debug, Clone, PartialEq)]
pub enum RangeBy {
    /// Ranks `start..=end`, negative from the end.
    Rank(i64, i64),
    /// Scores.
    Score(ScoreRange),
    /// Members, by bytes.
    Lex(LexRange),
}

/// A range with its direction and LIMIT.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSpec {
    /// What is selected.
    pub by: RangeBy,
    /// Highest first (REV, ZREV*).
    pub rev: bool,
    /// LIMIT offset (0 without LIMIT).
    pub offset: i64,
    /// LIMIT count (negative: no limit).
    pub limit: i64,
}

/// The ranks `lo..hi` (lowest first) `by` selects in `z`, before direction and LIMIT.
/// For ranks, `rev` counts them from the highest score.
pub fn rank_span(z: &ZSetValue, by: &RangeBy, rev: bool) -> (usize, usize) {
    let len = z.len() as i64;
    match by {
        RangeBy::Rank(start, end) => {
            let mut start = if *start < 0 { len + start } else { *start };
            let mut end = if *end < 0 { len + end } else { *end };
            start = start.max(0);
            if start > end || start >= len {
                return (0, 0);
            }
            end = end.min(len - 1);
            if rev {
                ((len - 1 - end) as usize, (len - start) as usize)
            } else {
                (start as usize, end as usize + 1)
            }
        }
        RangeBy::Score(r) => {
            let lo = z.count_while(&|_, s| r.below(s));
            let hi = z.count_while(&|_, s| r.within_max(s));
            (lo, hi.max(lo))
        }
        RangeBy::Lex(r) if z.encoding() == Encoding::Listpack => listpack_lex_span(z, r, rev),
        RangeBy::Lex(r) => {
            let lo = z.count_while(&|m, _| r.below(m));
            let hi = z.count_while(&|m, _| r.within_max(m));
            (lo, hi.max(lo))
        }
    }
}

/// A lexicographic range over a listpack as Redis walks it: from the first member at
/// or above min while members stay at or below max (from the last member at or below
/// max, backwards, for `rev`), after checking the first and last members. When scores
/// differ the members are not in byte order, and only this walk gives Redis's answer.
fn listpack_lex_span(z: &ZSetValue, r: &LexRange, rev: bool) -> (usize, usize) {
    let all = z.range(0, z.len());
    let (Some(first), Some(last)) = (all.first(), all.last()) else {
        return (0, 0);
    };
    if r.is_empty() || r.below(&last.0) || !r.within_max(&first.0) {
        return (0, 0);
    }
    if rev {
        let Some(end) = all.iter().rposition(|(m, _)| r.within_max(m)) else {
            return (0, 0);
        };
        if r.below(&all[end].0) {
            return (0, 0);
        }
        let start = all[..end]
            .iter()
            .rposition(|(m, _)| r.below(m))
            .map_or(0, |i| i + 1);
        (start, end + 1)
    } else {
        let Some(start) = all.iter().position(|(m, _)| !r.below(m)) else {
            return (0, 0);
        };
        let len = all[start..]
            .iter()
            .take_while(|(m, _)| r.within_max(m))
            .count();
        (start, start + len)
    }
}

/// ZRANGE and its variants: the selected members, in reply order.
pub fn select(z: &ZSetValue, spec: &RangeSpec) -> Vec<Scored> {
    let (mut lo, mut hi) = rank_span(z, &spec.by, spec.rev);
    if !matches!(spec.by, RangeBy::Rank(..)) {
        if spec.offset < 0 {
            return Vec::new();
        }
        let offset = usize::try_from(spec.offset).unwrap_or(usize::MAX);
        let limit = usize::try_from(spec.limit).unwrap_or(usize::MAX);
        if spec.rev {
            hi = hi.saturating_sub(offset).max(lo);
            lo = lo.max(hi.saturating_sub(limit));
        } else {
            lo = lo.saturating_add(offset).min(hi);
            hi = hi.min(lo.saturating_add(limit));
        }
    }
    let mut items = z.range(lo, hi);
    if spec.rev {
        items.reverse();
    }
    items
}

/// Stores `members` (distinct) under `dst` as a new sorted set, encoded as Redis
/// encodes a set built by a STORE command; an empty result deletes `dst`. Returns
/// the number stored.
pub fn store(
    t: &mut SlotTable,
    dst: &[u8],
    members: Vec<Scored>,
    limits: &EncodingLimits,
) -> usize {
    let len = members.len();
    if len == 0 {
        t.remove(dst);
    } else {
        t.insert(
            dst,
            Value::ZSet(Box::new(ZSetValue::from_members(members, limits))),
        );
    }
    len
}

/// ZRANGESTORE's store: a new set created for `size_hint` members (the range's length
/// for a rank range, 0 otherwise, as Redis hints it), then `members` added one by one
/// in reply order, converting when an add would pass the limits. The path matters:
/// a listpack keeps -0 as 0, so a score that went through one comes out 0. An empty
/// result deletes `dst`. Returns the number stored.
pub fn store_in_order(
    t: &mut SlotTable,
    dst: &[u8],
    members: Vec<Scored>,
    size_hint: usize,
    limits: &EncodingLimits,
) -> usize {
    let len = members.len();
    if len == 0 {
        t.remove(dst);
        return 0;
    }
    let mut z = ZSetValue::with_hint(size_hint, 0, limits);
    for (m, s) in &members {
        z.add(m, *s, AddFlags::default(), limits);
    }
    t.insert(dst, Value::ZSet(Box::new(z)));
    len
}

/// ZPOPMIN / ZPOPMAX / ZMPOP: removes up to `count` members from the low (or high)
/// end; `None` when the key is missing. Members come highest first for `max`.
pub fn pop(
    t: &mut SlotTable,
    key: &[u8],
    count: usize,
    max: bool,
    now: i64,
) -> Result<Option<Vec<Scored>>> {
    let Some(v) = t.get_mut(key, now) else {
        return Ok(None);
    };
    let z = Value::as_zset_mut(v)?;
    let len = z.len();
    let n = count.min(len);
    let popped = if max {
        let mut items = z.remove_ranks(len - n, len);
        items.reverse();
        items
    } else {
        z.remove_ranks(0, n)
    };
    if z.is_empty() {
        t.remove(key);
    }
    Ok(Some(popped))
}

/// ZREMRANGEBYRANK / BYSCORE / BYLEX: removes the selected members; returns how many.
pub fn remove_range(t: &mut SlotTable, key: &[u8], by: &RangeBy, now: i64) -> Result<usize> {
    let Some(v) = t.get_mut(key, now) else {
        return Ok(0);
    };
    let z = Value::as_zset_mut(v)?;
    let (lo, hi) = rank_span(z, by, false);
    let removed = z.remove_ranks(lo, hi).len();
    if z.is_empty() {
        t.remove(key);
    }
    Ok(removed)
}

/// One input of ZUNION / ZINTER / ZDIFF: a sorted set, or a set whose members all
/// score 1. A missing key is an empty input.
pub fn input(value: Option<&Value>) -> Result<Vec<Scored>> {
    match value {
        None => Ok(Vec::new()),
        Some(Value::ZSet(z)) => Ok(z.range(0, z.len())),
        Some(Value::Set(s)) => Ok(set_members(s)),
        Some(_) => Err(KeyspaceError::WrongType),
    }
}

fn set_members(s: &SetValue) -> Vec<Scored> {
    let mut out = Vec::new();
    s.for_each_member(|m| out.push((m.to_vec(), 1.0)));
    out
}

/// How ZUNION and ZINTER combine the scores of one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Aggregate {
    /// Add them (an undefined sum, inf - inf, counts 0).
    #[default]
    Sum,
    /// Keep the lowest.
    Min,
    /// Keep the highest.
    Max,
}

fn aggregate(target: &mut f64, value: f64, how: Aggregate) {
    match how {
        Aggregate::Sum => {
            *target += value;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => *target = if value < *target { value } else { *target },
        Aggregate::Max => *target = if value > *target { value } else { *target },
    }
}

/// The set operation of ZUNION, ZINTER and ZDIFF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOp {
    /// Members of any input.
    Union,
    /// Members of every input.
    Inter,
    /// Members of the first input and of no other.
    Diff,
}

/// Computes a set operation over `inputs` with their `weights` (ignored by Diff):
/// the result sorted by score then member. Inputs are combined smallest first, as
/// Redis does, so sums add up in the same order.
pub fn combine(
    op: SetOp,
    inputs: Vec<Vec<Scored>>,
    weights: &[f64],
    how: Aggregate,
) -> Vec<Scored> {
    use std::collections::HashMap;
    let mut out: Vec<Scored> = match op {
        SetOp::Diff => {
            let mut inputs = inputs.into_iter();
            let first = inputs.next().unwrap_or_default();
            let others: Vec<std::collections::HashSet<Vec<u8>>> = inputs
                .map(|i| i.into_iter().map(|(m, _)| m).collect())
                .collect();
            first
                .into_iter()
                .filter(|(m, _)| !others.iter().any(|o| o.contains(m)))
                .collect()
        }
        SetOp::Union | SetOp::Inter => {
            let mut sources: Vec<(Vec<Scored>, f64)> = inputs
                .into_iter()
                .zip(weights.iter().copied().chain(std::iter::repeat(1.0)))
                .collect();
            sources.sort_by_key(|(items, _)| items.len());
            if op == SetOp::Union {
                let mut acc: HashMap<Vec<u8>, f64> = HashMap::new();
                let mut order = Vec::new();
                for (items, weight) in sources {
                    for (m, s) in items {
                        let mut score = weight * s;
                        if score.is_nan() {
                            score = 0.0;
                        }
                        match acc.get_mut(&m) {
                            Some(total) => aggregate(total, score, how),
                            None => {
                                acc.insert(m.clone(), score);
                                order.push(m);
                            }
                        }
                    }
                }
                order
                    .into_iter()
                    .map(|m| {
                        let s = acc[&m];
                        (m, s)
                    })
                    .collect()
            } else {
                let Some(((first, w0), rest)) = sources.split_first() else {
                    return Vec::new();
                };
                let maps: Vec<(HashMap<&[u8], f64>, f64)> = rest
                    .iter()
                    .map(|(items, w)| (items.iter().map(|(m, s)| (m.as_slice(), *s)).collect(), *w))
                    .collect();
                let mut out = Vec::new();
                'members: for (m, s) in first {
                    let mut score = w0 * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    for (map, w) in &maps {
                        match map.get(m.as_slice()) {
                            Some(v) => aggregate(&mut score, v * w, how),
                            None => continue 'members,
                        }
                    }
                    out.push((m.clone(), score));
                }
                out
            }
        }
    };
    out.sort_by(|a, b| crate::collections::zset::compare_scored((a.1, &a.0), (b.1, &b.0)));
    out
}

/// ZINTERCARD: the size of the intersection, counting at most `limit` (0: no limit).
pub fn intercard(mut inputs: Vec<Vec<Scored>>, limit: usize) -> usize {
    inputs.sort_by_key(Vec::len);
    let Some((first, rest)) = inputs.split_first() else {
        return 0;
    };
    let sets: Vec<std::collections::HashSet<&[u8]>> = rest
        .iter()
        .map(|i| i.iter().map(|(m, _)| m.as_slice()).collect())
        .collect();
    let mut count = 0;
    for (m, _) in first {
        if sets.iter().all(|s| s.contains(m.as_slice())) {
            count += 1;
            if count == limit {
                break;
            }
        }
    }
    count
}

/// ZRANDMEMBER with a count: `count` distinct members (all when it is at least the
/// size), or `-count` members drawn with repetition when negative. `random` gives
/// uniformly random numbers.
pub fn random_members(z: &ZSetValue, count: i64, random: &mut dyn FnMut() -> u64) -> Vec<Scored> {
    let len = z.len();
    if len == 0 || count == 0 {
        return Vec::new();
    }
    if count < 0 {
        let n = count.unsigned_abs() as usize;
        return (0..n)
            .filter_map(|_| z.get((random() % len as u64) as usize))
            .collect();
    }
    let count = count as usize;
    if count >= len {
        return z.range(0, len);
    }
    if count * 3 > len {
        // Most of the set: shuffle the ranks partly and take a prefix.
        let mut ranks: Vec<usize> = (0..len).collect();
        for i in 0..count {
            let j = i + (random() % (len - i) as u64) as usize;
            ranks.swap(i, j);
        }
        ranks.truncate(count);
        return ranks.into_iter().filter_map(|r| z.get(r)).collect();
    }
    let mut seen = std::collections::HashSet::with_capacity(count);
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let r = (random() % len as u64) as usize;
        if seen.insert(r)
            && let Some(item) = z.get(r)
        {
            out.push(item);
        }
    }
    out
}

#[cfg(test)]
mod tests;
