//! A sorted set value and its two encodings, converted where Redis 7.0 converts.
//!
//! Small sets are a listpack of `member, score` pairs sorted by score then member, the
//! score stored as Redis stores it (`d2string` text, an integer entry when integral);
//! large ones are a [`tree::ScoreTree`] (Redis's `skiplist`). A set leaves the listpack
//! when an insert would pass `zset-max-listpack-entries` or bring a member longer
//! than `zset-max-listpack-value`; it only comes back through the commands that build
//! a new set (ZRANGESTORE, ZUNIONSTORE, ...) and RDB loading, as in Redis.

mod rdb;
pub(crate) mod score;
mod tree;

use crate::encoding::listpack::{Listpack, LpEntry};
pub use score::{LexBound, LexRange, ScoreRange, parse_score, score_text};

use crate::encoding_limits::EncodingLimits;
use crate::value::Encoding;
use score::compare;
use tree::ScoreTree;

/// Largest listpack Redis lets grow by an insert (`lpSafeToAdd`).
const LISTPACK_SAFETY_SIZE: usize = 1 << 30;

/// A member and its score's text, as ZSCAN returns them.
pub type ScanPair = (Vec<u8>, Vec<u8>);

/// A sorted set value.
#[derive(Clone)]
pub struct ZSetValue(Repr);

#[derive(Clone)]
enum Repr {
    Listpack(Listpack),
    Skiplist(Box<ScoreTree>),
}

/// ZADD's conditions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddFlags {
    /// NX: only add new members.
    pub nx: bool,
    /// XX: only update existing members.
    pub xx: bool,
    /// GT: only update to a greater score.
    pub gt: bool,
    /// LT: only update to a lower score.
    pub lt: bool,
    /// INCR: add to the current score.
    pub incr: bool,
}

/// What one ZADD element did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AddResult {
    /// A new member, with this score.
    Added(f64),
    /// The score changed to this one.
    Updated(f64),
    /// The member was processed but its score stays this one.
    Unchanged(f64),
    /// A condition (NX, XX, GT, LT) skipped it.
    Skipped,
    /// The resulting score would be NaN.
    NotANumber,
}

/// The score a listpack score entry holds.
fn lp_score(entry: Option<LpEntry<'_>>) -> f64 {
    match entry {
        Some(LpEntry::Int(n)) => n as f64,
        Some(LpEntry::Str(s)) => score::lenient_score(s),
        None => 0.0,
    }
}

/// The `(member, score)` pairs of a listpack, in order.
fn lp_pairs(lp: &Listpack) -> impl DoubleEndedIterator<Item = (LpEntry<'_>, f64)> {
    let entries: Vec<LpEntry<'_>> = lp.iter().collect();
    let pairs: Vec<(LpEntry<'_>, f64)> = entries
        .chunks_exact(2)
        .map(|pair| (pair[0], lp_score(Some(pair[1]))))
        .collect();
    pairs.into_iter()
}

/// Inserts a pair at its sorted place.
fn lp_insert(lp: &mut Listpack, member: &[u8], score: f64) {
    let at = lp_pairs(lp)
        .position(|(m, s)| {
            m.with_bytes(|m| compare((s, m), (score, member)) == std::cmp::Ordering::Greater)
        })
        .unwrap_or(lp.len() / 2);
    lp.insert(2 * at, member);
    lp.insert(2 * at + 1, score_text(score).as_bytes());
}

impl ZSetValue {
    /// An empty set in the encoding Redis's `zsetTypeCreate` picks for about
    /// `size_hint` members of which the longest has `max_len` bytes.
    pub fn with_hint(size_hint: usize, max_len: usize, limits: &EncodingLimits) -> ZSetValue {
        if size_hint <= limits.zset_max_listpack_entries
            && max_len <= limits.zset_max_listpack_value
        {
            ZSetValue(Repr::Listpack(Listpack::new()))
        } else {
            ZSetValue(Repr::Skiplist(Box::new(ScoreTree::with_capacity(
                size_hint,
            ))))
        }
    }

    /// A set of `members` (distinct), encoded as a set built by ZUNIONSTORE is: a
    /// listpack when it is within both limits.
    pub fn from_members(mut members: Vec<(Vec<u8>, f64)>, limits: &EncodingLimits) -> ZSetValue {
        let longest = members.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
        let mut z = ZSetValue::with_hint(members.len(), longest, limits);
        match &mut z.0 {
            Repr::Listpack(lp) => {
                members.sort_by(|a, b| compare((a.1, &a.0), (b.1, &b.0)));
                for (m, s) in &members {
                    lp.push_back(m);
                    lp.push_back(score_text(*s).as_bytes());
                }
            }
            Repr::Skiplist(t) => {
                for (m, s) in &members {
                    t.insert_new(m, *s);
                }
            }
        }
        z
    }

    /// The encoding OBJECT ENCODING reports.
    pub fn encoding(&self) -> Encoding {
        match self.0 {
            Repr::Listpack(_) => Encoding::Listpack,
            Repr::Skiplist(_) => Encoding::Skiplist,
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Listpack(lp) => lp.len() / 2,
            Repr::Skiplist(t) => t.len(),
        }
    }

    /// True when the set has no member (a stored key never is).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `f` with every member and its score, in rank order.
    pub fn for_each_scored(&self, mut f: impl FnMut(&[u8], f64)) {
        match &self.0 {
            Repr::Listpack(lp) => {
                for (m, s) in lp_pairs(lp) {
                    m.with_bytes(|m| f(m, s));
                }
            }
            Repr::Skiplist(t) => t.for_range(0, t.len(), &mut f),
        }
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.0 {
            Repr::Listpack(lp) => {
                let at = lp.find(member, 0, 2)?;
                Some(lp_score(lp.get(at + 1)))
            }
            Repr::Skiplist(t) => t.score(member),
        }
    }

    /// The rank of `member` from the lowest score.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        match &self.0 {
            Repr::Listpack(lp) => lp.find(member, 0, 2).map(|at| at / 2),
            Repr::Skiplist(t) => t.rank(member),
        }
    }

    /// How many leading members (in rank order) satisfy `pred(member, score)`, which
    /// holds for a prefix of the order.
    pub fn count_while(&self, pred: &dyn Fn(&[u8], f64) -> bool) -> usize {
        match &self.0 {
            Repr::Listpack(lp) => lp_pairs(lp)
                .take_while(|(m, s)| m.with_bytes(|m| pred(m, *s)))
                .count(),
            Repr::Skiplist(t) => t.count_while(pred),
        }
    }

    /// The members of ranks `start..end`, in rank order.
    pub fn range(&self, start: usize, end: usize) -> Vec<(Vec<u8>, f64)> {
        let end = end.min(self.len());
        let mut out = Vec::with_capacity(end.saturating_sub(start));
        match &self.0 {
            Repr::Listpack(lp) => out.extend(
                lp_pairs(lp)
                    .skip(start)
                    .take(end.saturating_sub(start))
                    .map(|(m, s)| (m.to_vec(), s)),
            ),
            Repr::Skiplist(t) => t.for_range(start, end, &mut |m, s| out.push((m.to_vec(), s))),
        }
        out
    }

    /// The member at `rank`.
    pub fn get(&self, rank: usize) -> Option<(Vec<u8>, f64)> {
        if rank >= self.len() {
            return None;
        }
        match &self.0 {
            Repr::Listpack(lp) => {
                Some((lp.get(2 * rank)?.to_vec(), lp_score(lp.get(2 * rank + 1))))
            }
            Repr::Skiplist(t) => {
                let (m, s) = t.get(rank);
                Some((m.to_vec(), s))
            }
        }
    }

    /// Allocations freeing the set costs (Redis's `lazyfreeGetFreeEffort`).
    pub fn free_effort(&self) -> usize {
        match &self.0 {
            Repr::Listpack(_) => 1,
            Repr::Skiplist(t) => t.len(),
        }
    }

    /// Bytes the set holds on the heap, sampling `samples` members (MEMORY USAGE).
    pub fn heap_bytes(&self, samples: usize) -> usize {
        match &self.0 {
            Repr::Listpack(lp) => lp.capacity(),
            Repr::Skiplist(t) => t.heap_bytes(samples),
        }
    }

    /// Converts a listpack to the skiplist encoding, as SORT does to every sorted set
    /// it reads in Redis 7.0 (OBJECT ENCODING shows it afterwards).
    pub fn make_skiplist(&mut self) {
        self.convert_to_skiplist(self.len());
    }

    fn convert_to_skiplist(&mut self, capacity: usize) {
        if let Repr::Listpack(lp) = &self.0 {
            let mut t = ScoreTree::with_capacity(capacity);
            for (m, s) in lp_pairs(lp) {
                m.with_bytes(|m| t.insert_new(m, s));
            }
            self.0 = Repr::Skiplist(Box::new(t));
        }
    }

    /// ZADD of one element (Redis's `zsetAdd`).
    pub fn add(
        &mut self,
        member: &[u8],
        score: f64,
        flags: AddFlags,
        limits: &EncodingLimits,
    ) -> AddResult {
        if score.is_nan() {
            return AddResult::NotANumber;
        }
        match self.score(member) {
            Some(current) => {
                if flags.nx {
                    return AddResult::Skipped;
                }
                let score = if flags.incr { score + current } else { score };
                if score.is_nan() {
                    return AddResult::NotANumber;
                }
                if (flags.lt && score >= current) || (flags.gt && score <= current) {
                    return AddResult::Skipped;
                }
                if score == current {
                    return AddResult::Unchanged(score);
                }
                match &mut self.0 {
                    Repr::Listpack(lp) => {
                        let at = lp.find(member, 0, 2).expect("the member was just found");
                        lp.remove_range(at, 2);
                        lp_insert(lp, member, score);
                    }
                    Repr::Skiplist(t) => t.update(member, score),
                }
                AddResult::Updated(score)
            }
            None if flags.xx => AddResult::Skipped,
            None => {
                if let Repr::Listpack(lp) = &self.0
                    && (self.len() + 1 > limits.zset_max_listpack_entries
                        || member.len() > limits.zset_max_listpack_value
                        || lp.byte_len() + member.len() > LISTPACK_SAFETY_SIZE)
                {
                    self.convert_to_skiplist(self.len() + 1);
                }
                match &mut self.0 {
                    Repr::Listpack(lp) => lp_insert(lp, member, score),
                    Repr::Skiplist(t) => t.insert_new(member, score),
                }
                AddResult::Added(score)
            }
        }
    }

    /// Removes `member`; true if it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.0 {
            Repr::Listpack(lp) => match lp.find(member, 0, 2) {
                Some(at) => {
                    lp.remove_range(at, 2);
                    true
                }
                None => false,
            },
            Repr::Skiplist(t) => t.remove(member).is_some(),
        }
    }

    /// Removes the members of ranks `start..end` and returns them in rank order.
    pub fn remove_ranks(&mut self, start: usize, end: usize) -> Vec<(Vec<u8>, f64)> {
        let removed = self.range(start, end);
        match &mut self.0 {
            Repr::Listpack(lp) => lp.remove_range(2 * start, 2 * removed.len()),
            Repr::Skiplist(t) => {
                for (m, _) in &removed {
                    t.remove(m);
                }
            }
        }
        removed
    }

    /// One ZSCAN step: the next cursor (0 at the end) and `(member, score text)`
    /// pairs, the score written as Redis writes it for this encoding.
    pub fn scan(&self, cursor: u64, count: usize) -> (u64, Vec<ScanPair>) {
        let mut out = Vec::new();
        match &self.0 {
            // A listpack is returned whole, its score entries as stored.
            Repr::Listpack(lp) => {
                let entries: Vec<LpEntry<'_>> = lp.iter().collect();
                for pair in entries.chunks_exact(2) {
                    out.push((pair[0].to_vec(), pair[1].to_vec()));
                }
                (0, out)
            }
            Repr::Skiplist(t) => {
                let next = t.scan(cursor, count, &mut |m, s| {
                    out.push((m.to_vec(), crate::number::format_g17(s).into_bytes()))
                });
                (next, out)
            }
        }
    }
}

impl PartialEq for ZSetValue {
    fn eq(&self, other: &ZSetValue) -> bool {
        if self.len() != other.len() || self.encoding() != other.encoding() {
            return false;
        }
        let (mut a, mut b) = (Vec::new(), Vec::new());
        self.for_each_scored(|m, s| a.push((m.to_vec(), s.to_bits())));
        other.for_each_scored(|m, s| b.push((m.to_vec(), s.to_bits())));
        a == b
    }
}

impl Eq for ZSetValue {}

impl std::fmt::Debug for ZSetValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZSetValue")
            .field("encoding", &self.encoding())
            .field("len", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests;

/// Compares `(score, member)` pairs in sorted-set order.
pub fn compare_scored(a: (f64, &[u8]), b: (f64, &[u8])) -> std::cmp::Ordering {
    compare(a, b)
}
