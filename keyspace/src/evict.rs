//! Picking keys to evict when the node is over `maxmemory`, as Redis 7.0's evict.c
//! samples them.
//!
//! Redis samples a database's dict; Tessera's databases are 16384 slot tables, so a
//! pick first finds a slot that holds candidates (from the per-slot counts published
//! without the lock), then a key inside it. Deciding *whether* to evict, and deleting
//! the pick, is the server's business: this module only chooses.

use crate::compact_bytes::CompactBytes;
use crate::db::Db;
use crate::hash_slot::SLOT_COUNT;

/// Which keys a policy may evict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Candidates {
    /// Every key (the allkeys-* policies).
    AllKeys,
    /// Keys with a deadline (the volatile-* policies).
    Volatile,
}

/// One key chosen for eviction: where it lives, and how it looked when it was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pick {
    /// Database number.
    pub db: usize,
    /// Hash slot.
    pub slot: u16,
    /// The key.
    pub key: CompactBytes,
    /// Its deadline when sampled (volatile picks only).
    pub deadline: Option<i64>,
    /// How good a candidate its access clock makes it for the LRU and LFU policies,
    /// higher first (`crate::access::AccessClock::eviction_rank`).
    pub rank: u64,
}

/// Random probes for a slot with candidates before walking the slots in order. A
/// cluster node owns contiguous slot ranges, so a walk from a random start lands on
/// the first slot after each gap far more often than on the others; probes are
/// unbiased, and with a third of the slots populated 64 of them all miss with
/// probability 3e-12. The walk is the fallback for a nearly empty keyspace, where bias
/// no longer matters.
const PROBES: usize = 64;

fn may_hold(db: &Db, which: Candidates, slot: u16) -> bool {
    match which {
        Candidates::AllKeys => db.may_have_keys(slot),
        Candidates::Volatile => db.may_have_volatile(slot),
    }
}

/// One random candidate of `db`, or `None` when it has none (Redis's
/// dictGetRandomKey on the dict or the expires of one database).
pub fn random_pick(db: &Db, which: Candidates, random: &mut dyn FnMut() -> u64) -> Option<Pick> {
    let start = (random() % SLOT_COUNT as u64) as usize;
    for i in 0..PROBES + SLOT_COUNT {
        let slot = if i < PROBES {
            (random() % SLOT_COUNT as u64) as u16
        } else {
            ((start + i - PROBES) % SLOT_COUNT) as u16
        };
        if !may_hold(db, which, slot) {
            continue;
        }
        // The published counts can lag, so the locked table has the last word.
        let table = db.lock(slot);
        let r = random();
        let clock = table.access_clock();
        let found = match which {
            Candidates::AllKeys => table
                .random_entry(r)
                .map(|e| (e.key.to_compact(), None, e.key.stamp())),
            Candidates::Volatile => table.random_volatile(r).map(|(k, at)| {
                let stamp = table.access_stamp(k.as_bytes(), i64::MIN).unwrap_or(0);
                (k.clone(), Some(at), stamp)
            }),
        };
        if let Some((key, deadline, stamp)) = found {
            return Some(Pick {
                db: db.index(),
                slot,
                key,
                deadline,
                rank: clock.eviction_rank(stamp),
            });
        }
    }
    None
}

/// Up to `count` random candidates from `db`: the sample the TTL, LRU and LFU
/// policies rank (Redis's dictGetSomeKeys on the dict or the expires of a database).
pub fn sample(
    db: &Db,
    which: Candidates,
    count: usize,
    random: &mut dyn FnMut() -> u64,
) -> Vec<Pick> {
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        match random_pick(db, which, random) {
            Some(pick) => out.push(pick),
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash_slot::key_slot;
    use crate::value::{StrValue, Value};

    fn rng() -> impl FnMut() -> u64 {
        let mut x = 88172645463325252u64;
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }

    fn put(db: &Db, key: &str, deadline: Option<i64>) {
        let mut t = db.lock(key_slot(key.as_bytes()));
        t.insert(key.as_bytes(), Value::Str(StrValue::new(b"v")));
        if let Some(at) = deadline {
            t.set_deadline(key.as_bytes(), at);
        }
    }

    #[test]
    fn an_empty_database_has_no_pick() {
        let db = Db::new(1);
        let mut random = rng();
        assert_eq!(random_pick(&db, Candidates::AllKeys, &mut random), None);
        put(&db, "plain", None);
        assert_eq!(random_pick(&db, Candidates::Volatile, &mut random), None);
        let pick = random_pick(&db, Candidates::AllKeys, &mut random).expect("one key");
        assert_eq!(pick.key.as_bytes(), b"plain");
        assert_eq!(pick.slot, key_slot(b"plain"));
    }

    #[test]
    fn volatile_samples_only_see_keys_with_a_deadline() {
        let db = Db::new(1);
        for i in 0..200 {
            put(&db, &format!("k{i}"), (i % 2 == 0).then_some(1000 + i));
        }
        let mut random = rng();
        let sample = sample(&db, Candidates::Volatile, 50, &mut random);
        assert_eq!(sample.len(), 50);
        for pick in sample {
            let mut t = db.lock(pick.slot);
            assert_eq!(t.deadline(pick.key.as_bytes()), pick.deadline);
            assert!(t.contains(pick.key.as_bytes(), 0));
        }
    }

    #[test]
    fn picks_spread_over_the_populated_slots() {
        // Keys in one contiguous third of the slots, as a cluster node holds them.
        let db = Db::new(1);
        let mut n = 0;
        let mut slots = std::collections::HashSet::new();
        while slots.len() < 500 {
            let key = format!("key:{n}");
            n += 1;
            if key_slot(key.as_bytes()) < 5461 {
                put(&db, &key, None);
                slots.insert(key_slot(key.as_bytes()));
            }
        }
        let mut random = rng();
        let picked: std::collections::HashSet<u16> = (0..200)
            .filter_map(|_| random_pick(&db, Candidates::AllKeys, &mut random))
            .map(|p| p.slot)
            .collect();
        assert!(picked.len() > 100, "only {} slots picked", picked.len());
    }
}
