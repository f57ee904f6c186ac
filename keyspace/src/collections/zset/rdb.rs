//! Sorted sets in RDB files and DUMP payloads, as Redis 7.0 writes and loads them.
//!
//! Written: a listpack as `ZSET_LISTPACK` (17), its bytes as one string; a skiplist as
//! `ZSET_2` (5): the length, then from the greatest member down each member and its
//! score as a little-endian binary double (Redis saves in that order so loading
//! inserts at the head). Read too: `ZSET` (3, scores as text) and `ZSET_ZIPLIST` (12).
//! Every input is validated: a corrupt payload is an error, never a panic.

use super::score::compare;
use super::tree::ScoreTree;
use super::{Repr, ZSetValue, lp_score};
use crate::encoding::listpack::Listpack;
use crate::encoding::ziplist::ziplist_entries;
use crate::encoding_limits::EncodingLimits;
use crate::rdb::encoding::{Source, put_length, put_string, read_plain_length, read_string};
use crate::rdb::op;
use crate::rdb::{RdbError, ReadLimits};

/// Members reserved up front at most, whatever length a payload claims.
const MAX_PREALLOCATION: usize = 1 << 16;

impl ZSetValue {
    /// The RDB object type this value is written as.
    pub(crate) fn rdb_type(&self) -> u8 {
        match self.0 {
            Repr::Listpack(_) => op::TYPE_ZSET_LISTPACK,
            Repr::Skiplist(_) => op::TYPE_ZSET_2,
        }
    }

    /// Appends the value's RDB encoding, without its type byte.
    pub(crate) fn write_rdb(&self, out: &mut Vec<u8>, compress: bool) {
        match &self.0 {
            Repr::Listpack(lp) => put_string(out, lp.as_bytes(), compress),
            Repr::Skiplist(t) => {
                put_length(out, t.len() as u64);
                let mut all = Vec::with_capacity(t.len());
                t.for_range(0, t.len(), &mut |m, s| all.push((m.to_vec(), s)));
                for (member, score) in all.iter().rev() {
                    put_string(out, member, compress);
                    out.extend_from_slice(&score.to_le_bytes());
                }
            }
        }
    }

    /// Reads a value of RDB object type `kind`.
    pub(crate) fn read_rdb(
        src: &mut impl Source,
        kind: u8,
        limits: ReadLimits,
    ) -> Result<Self, RdbError> {
        match kind {
            op::TYPE_ZSET | op::TYPE_ZSET_2 => read_pairs(src, kind == op::TYPE_ZSET_2, limits),
            op::TYPE_ZSET_LISTPACK => {
                let bytes = read_string(src, limits.max_len)?;
                let lp = Listpack::from_bytes(&bytes)
                    .map_err(|_| RdbError::Corrupt("invalid sorted set listpack"))?;
                from_listpack(lp, &limits.encoding)
            }
            op::TYPE_ZSET_ZIPLIST => {
                let bytes = read_string(src, limits.max_len)?;
                let entries = ziplist_entries(&bytes)
                    .map_err(|_| RdbError::Corrupt("invalid sorted set ziplist"))?;
                let mut lp = Listpack::new();
                for e in &entries {
                    e.as_entry().with_bytes(|b| lp.push_back(b));
                }
                from_listpack(lp, &limits.encoding)
            }
            _ => Err(RdbError::UnsupportedType(kind)),
        }
    }
}

/// Reads a score written as text (`ZSET`): a length byte (253 NaN, 254 +inf, 255
/// -inf) then that many characters.
fn read_text_score(src: &mut impl Source) -> Result<f64, RdbError> {
    match src.byte()? {
        255 => Ok(f64::NEG_INFINITY),
        254 => Ok(f64::INFINITY),
        253 => Ok(f64::NAN),
        len => {
            let text = src.take(usize::from(len))?;
            let text = String::from_utf8(text).map_err(|_| RdbError::Corrupt("bad score"))?;
            text.trim()
                .parse::<f64>()
                .map_err(|_| RdbError::Corrupt("bad score"))
        }
    }
}

fn read_pairs(
    src: &mut impl Source,
    binary: bool,
    limits: ReadLimits,
) -> Result<ZSetValue, RdbError> {
    let len = read_plain_length(src)?;
    if len == 0 {
        return Err(RdbError::Corrupt("empty sorted set"));
    }
    let len = usize::try_from(len).map_err(|_| RdbError::Corrupt("sorted set too long"))?;
    let mut tree = ScoreTree::with_capacity(len.min(MAX_PREALLOCATION));
    let mut longest = 0;
    for _ in 0..len {
        let member = read_string(src, limits.max_len)?;
        let score = if binary {
            f64::from_le_bytes(src.take(8)?.try_into().expect("8 bytes"))
        } else {
            read_text_score(src)?
        };
        if score.is_nan() {
            return Err(RdbError::Corrupt("sorted set score is NaN"));
        }
        if tree.score(&member).is_some() {
            return Err(RdbError::Corrupt("duplicate sorted set member"));
        }
        longest = longest.max(member.len());
        tree.insert_new(&member, score);
    }
    // Redis builds a skiplist and converts it after loading when it is small.
    let enc = &limits.encoding;
    if tree.len() <= enc.zset_max_listpack_entries && longest <= enc.zset_max_listpack_value {
        let mut lp = Listpack::new();
        tree.for_range(0, tree.len(), &mut |m, s| {
            lp.push_back(m);
            lp.push_back(super::score_text(s).as_bytes());
        });
        return Ok(ZSetValue(Repr::Listpack(lp)));
    }
    Ok(ZSetValue(Repr::Skiplist(Box::new(tree))))
}

/// Checks a loaded listpack (pairs, distinct members, in order) and converts it when it
/// has more members than a listpack may hold.
fn from_listpack(lp: Listpack, limits: &EncodingLimits) -> Result<ZSetValue, RdbError> {
    if lp.is_empty() {
        return Err(RdbError::Corrupt("empty sorted set"));
    }
    if lp.len() % 2 != 0 {
        return Err(RdbError::Corrupt("sorted set listpack with an odd count"));
    }
    let mut seen = std::collections::HashSet::with_capacity(lp.len() / 2);
    let mut previous: Option<(Vec<u8>, f64)> = None;
    let entries: Vec<_> = lp.iter().collect();
    for pair in entries.chunks_exact(2) {
        let member = pair[0].to_vec();
        let score = lp_score(Some(pair[1]));
        if score.is_nan() {
            return Err(RdbError::Corrupt("sorted set score is NaN"));
        }
        if let Some((m, s)) = &previous
            && compare((*s, m), (score, &member)) != std::cmp::Ordering::Less
        {
            return Err(RdbError::Corrupt("sorted set listpack out of order"));
        }
        if !seen.insert(member.clone()) {
            return Err(RdbError::Corrupt("duplicate sorted set member"));
        }
        previous = Some((member, score));
    }
    drop(entries);
    let mut z = ZSetValue(Repr::Listpack(lp));
    if z.len() > limits.zset_max_listpack_entries {
        z.convert_to_skiplist(z.len());
    }
    Ok(z)
}
