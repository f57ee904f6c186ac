//! KEYS, SCAN and RANDOMKEY over a whole database.
//!
//! SCAN's cursor is `(hash threshold << 14) | slot`: slots are visited in order, and
//! inside a slot keys are returned in order of their (stable) hash. A key present for
//! the whole iteration is therefore returned at least once, however tables grow or
//! shrink in between, which is the guarantee Redis gives. A slot is usually returned
//! whole; a very large one is split so that one call stays bounded.

use crate::db::Db;
use crate::glob::{glob_match, is_literal};
use crate::hash_slot::{SLOT_COUNT, key_slot};
use crate::slot_table::{Entry, SlotTable, is_past};
use crate::value::ValueType;

/// The filters of SCAN.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScanFilter<'a> {
    /// MATCH pattern.
    pub pattern: Option<&'a [u8]>,
    /// TYPE filter.
    pub value_type: Option<ValueType>,
}

impl ScanFilter<'_> {
    fn accepts(&self, e: &Entry) -> bool {
        self.pattern
            .is_none_or(|p| glob_match(p, e.key.as_bytes(), false))
            && self.value_type.is_none_or(|t| e.value.value_type() == t)
    }
}

const SLOT_BITS: u32 = 14;

fn is_live(t: &SlotTable, e: &Entry, now: i64) -> bool {
    t.deadline(e.key.as_bytes())
        .is_none_or(|at| !is_past(at, now))
}

impl Db {
    /// One SCAN step: examines about `count` keys from `cursor` and returns the next
    /// cursor (0 when done) with the live keys that pass `filter`.
    pub fn scan(
        &self,
        cursor: u64,
        count: usize,
        filter: &ScanFilter<'_>,
        now: i64,
    ) -> (u64, Vec<Vec<u8>>) {
        let count = count.max(1);
        let mut slot = (cursor & (SLOT_COUNT as u64 - 1)) as usize;
        let mut threshold = cursor >> SLOT_BITS;
        let mut examined = 0usize;
        let mut out = Vec::new();
        loop {
            let t = self.lock(slot as u16);
            if !t.is_empty() {
                let mut candidates: Vec<(u64, &Entry)> = t
                    .entries()
                    .map(|e| (t.hash_key(e.key.as_bytes()) >> SLOT_BITS, e))
                    .filter(|(h, _)| *h >= threshold)
                    .collect();
                // Big slots are cut into sixteenths at least, so a huge slot does not
                // cost O(slot) per call for a small COUNT.
                let budget = (count - examined.min(count - 1)).max(t.len() / 16).max(1);
                // Past the budget, take the smallest hashes (with every key sharing the
                // boundary hash) and resume after the boundary next time.
                let mut resume_after = None;
                if candidates.len() > budget {
                    candidates.select_nth_unstable_by_key(budget - 1, |(h, _)| *h);
                    let boundary = candidates[budget - 1].0;
                    candidates.retain(|(h, _)| *h <= boundary);
                    let rest_left = t
                        .entries()
                        .any(|e| (t.hash_key(e.key.as_bytes()) >> SLOT_BITS) > boundary);
                    resume_after = rest_left.then_some(boundary);
                }
                examined += candidates.len();
                out.extend(
                    candidates
                        .iter()
                        .filter(|(_, e)| is_live(&t, e, now) && filter.accepts(e))
                        .map(|(_, e)| e.key.as_bytes().to_vec()),
                );
                if let Some(boundary) = resume_after {
                    return (((boundary + 1) << SLOT_BITS) | slot as u64, out);
                }
            }
            drop(t);
            threshold = 0;
            slot += 1;
            if slot == SLOT_COUNT {
                return (0, out);
            }
            if examined >= count {
                return (slot as u64, out);
            }
        }
    }

    /// KEYS: every live key matching `pattern`.
    pub fn keys(&self, pattern: &[u8], now: i64) -> Vec<Vec<u8>> {
        if is_literal(pattern) {
            let mut t = self.lock(key_slot(pattern));
            return if t.contains(pattern, now) {
                vec![pattern.to_vec()]
            } else {
                Vec::new()
            };
        }
        let match_all = pattern.iter().all(|&b| b == b'*');
        let mut out = Vec::new();
        for slot in 0..SLOT_COUNT {
            let t = self.lock(slot as u16);
            out.extend(
                t.entries()
                    .filter(|e| {
                        (match_all || glob_match(pattern, e.key.as_bytes(), false))
                            && is_live(&t, e, now)
                    })
                    .map(|e| e.key.as_bytes().to_vec()),
            );
        }
        out
    }

    /// RANDOMKEY: a random live key, or `None` when the database is empty.
    pub fn random_key(&self, now: i64, random: &mut dyn FnMut() -> u64) -> Option<Vec<u8>> {
        // Expired keys found on the way are reclaimed, so this terminates: each retry
        // either returns or removes a key.
        for _ in 0..100 {
            let start = (random() % SLOT_COUNT as u64) as usize;
            let slot = (0..SLOT_COUNT)
                .map(|i| ((start + i) % SLOT_COUNT) as u16)
                .find(|&s| !self.lock(s).is_empty())?;
            let mut t = self.lock(slot);
            if t.is_empty() {
                continue;
            }
            let index = (random() % t.len() as u64) as usize;
            let key = t.nth_entry(index)?.key.as_bytes().to_vec();
            if t.contains(&key, now) {
                return Some(key);
            }
        }
        None
    }

    /// CLUSTER GETKEYSINSLOT: up to `count` live keys of `slot`.
    pub fn keys_in_slot(&self, slot: u16, count: usize, now: i64) -> Vec<Vec<u8>> {
        let t = self.lock(slot);
        t.entries()
            .filter(|e| is_live(&t, e, now))
            .take(count)
            .map(|e| e.key.as_bytes().to_vec())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{StrValue, Value};
    use std::collections::BTreeSet;

    fn put(db: &Db, key: &[u8]) {
        db.lock(key_slot(key))
            .insert(key, Value::Str(StrValue::new(b"v")));
    }

    fn full_scan(db: &Db, count: usize) -> (Vec<Vec<u8>>, usize) {
        let (mut cursor, mut keys, mut calls) = (0, Vec::new(), 0);
        loop {
            let (next, batch) = db.scan(cursor, count, &ScanFilter::default(), 0);
            keys.extend(batch);
            calls += 1;
            if next == 0 {
                return (keys, calls);
            }
            cursor = next;
        }
    }

    #[test]
    fn scan_returns_every_key_once_when_nothing_changes() {
        let db = Db::new(9);
        for i in 0..5000 {
            put(&db, format!("key:{i}").as_bytes());
        }
        let (keys, calls) = full_scan(&db, 10);
        assert_eq!(keys.len(), 5000);
        assert_eq!(keys.iter().collect::<BTreeSet<_>>().len(), 5000);
        assert!(calls > 100, "COUNT bounds the work per call");
    }

    #[test]
    fn scan_splits_a_huge_slot_and_survives_growth() {
        let db = Db::new(9);
        let keys: Vec<Vec<u8>> = (0..2000)
            .map(|i| format!("{{tag}}{i}").into_bytes())
            .collect();
        for k in &keys {
            put(&db, k);
        }
        let mut seen = BTreeSet::new();
        let mut cursor = 0;
        let mut calls = 0;
        loop {
            let (next, batch) = db.scan(cursor, 10, &ScanFilter::default(), 0);
            seen.extend(batch);
            calls += 1;
            // Grow the slot mid-iteration: the original keys must all still come back.
            if calls == 3 {
                for i in 0..3000 {
                    put(&db, format!("{{tag}}new{i}").as_bytes());
                }
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
        assert!(keys.iter().all(|k| seen.contains(k)));
        assert!(calls >= 16, "a huge slot takes several calls, took {calls}");
    }

    #[test]
    fn scan_filters_after_counting() {
        let db = Db::new(9);
        for k in [&b"a1"[..], b"a2", b"b1"] {
            put(&db, k);
        }
        let filter = ScanFilter {
            pattern: Some(b"a*"),
            value_type: None,
        };
        let (next, found) = db.scan(0, 100_000, &filter, 0);
        assert_eq!(next, 0);
        assert_eq!(found.len(), 2);
        let by_type = ScanFilter {
            pattern: None,
            value_type: Some(ValueType::String),
        };
        assert_eq!(db.scan(0, 100_000, &by_type, 0).1.len(), 3);
    }

    #[test]
    fn keys_and_randomkey_skip_expired() {
        let db = Db::new(9);
        put(&db, b"live");
        put(&db, b"dead");
        db.lock(key_slot(b"dead")).set_deadline(b"dead", 5);
        assert_eq!(db.keys(b"*", 10), vec![b"live".to_vec()]);
        assert_eq!(db.keys(b"dead", 10), Vec::<Vec<u8>>::new());
        let mut n = 0u64;
        let mut rng = || {
            n += 7919;
            n
        };
        for _ in 0..20 {
            assert_eq!(db.random_key(10, &mut rng), Some(b"live".to_vec()));
        }
        db.clear();
        assert_eq!(db.random_key(10, &mut rng), None);
    }
}
