//! Active expiry: reclaiming keys whose deadline passed but that nobody reads.
//!
//! As in Redis, a periodic cycle samples volatile keys and deletes the expired ones,
//! staying on a slot while more than a quarter of a sample was expired. It walks slots
//! with a cursor and stops when the caller's time budget runs out, so it never stalls
//! clients for longer than that budget; the next run resumes where this one stopped.

use crate::db::Keyspace;
use crate::hash_slot::SLOT_COUNT;

/// Keys sampled per round in one slot (Redis's ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP).
const SAMPLE: usize = 20;

/// What one run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ExpireRun {
    /// Volatile keys examined.
    pub examined: usize,
    /// Expired keys reclaimed.
    pub reclaimed: usize,
    /// True if the run stopped because the budget ran out.
    pub budget_exhausted: bool,
}

/// The cursor of the active expiry cycle.
#[derive(Debug, Default)]
pub struct ActiveExpire {
    db: usize,
    slot: usize,
}

impl ActiveExpire {
    /// A cycle starting at database 0, slot 0.
    pub fn new() -> ActiveExpire {
        ActiveExpire::default()
    }

    /// Runs one cycle over at most one full sweep of the databases that exist.
    /// `has_time` is asked between slots whether the budget allows going on; `random`
    /// drives sampling.
    pub fn run(
        &mut self,
        keyspace: &Keyspace,
        now: i64,
        random: &mut dyn FnMut() -> u64,
        has_time: &mut dyn FnMut() -> bool,
    ) -> ExpireRun {
        let mut run = ExpireRun::default();
        let dbs: Vec<(usize, &crate::db::Db)> = keyspace.existing().collect();
        // Resume at the database the cursor points to, or the next one that exists.
        let mut at = dbs.iter().position(|(i, _)| *i >= self.db).unwrap_or(0);
        if dbs.get(at).is_none_or(|(i, _)| *i != self.db) {
            self.slot = 0;
        }
        for visited in 0..dbs.len() * SLOT_COUNT {
            if visited > 0 && visited % 64 == 0 && !has_time() {
                run.budget_exhausted = true;
                break;
            }
            let (index, db) = dbs[at];
            self.db = index;
            if db.may_have_volatile(self.slot as u16) {
                let mut t = db.lock(self.slot as u16);
                while t.volatile_len() > 0 {
                    let (examined, reclaimed) = t.reclaim_sample(SAMPLE, now, random);
                    run.examined += examined;
                    run.reclaimed += reclaimed;
                    if reclaimed * 4 <= examined {
                        break;
                    }
                }
            }
            self.slot += 1;
            if self.slot == SLOT_COUNT {
                self.slot = 0;
                at = (at + 1) % dbs.len();
                self.db = dbs[at].0;
            }
        }
        run
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash_slot::key_slot;
    use crate::value::{StrValue, Value};

    #[test]
    fn reclaims_expired_keys_nobody_reads() {
        let ks = Keyspace::new(16, 5);
        ks.db(3);
        let db = ks.db(0);
        for i in 0..10_000 {
            let key = format!("k{i}");
            let mut t = db.lock(key_slot(key.as_bytes()));
            t.insert(key.as_bytes(), Value::Str(StrValue::new(b"v")));
            t.set_deadline(key.as_bytes(), if i < 9_000 { 100 } else { 1_000_000 });
        }
        let mut x = 88172645463325252u64;
        let mut rng = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut cycle = ActiveExpire::new();
        for _ in 0..4 {
            cycle.run(&ks, 200, &mut rng, &mut || true);
        }
        let left = db.len();
        assert!(
            left < 1_200,
            "{left} keys left; most expired ones must be gone"
        );
        assert!(left >= 1_000, "live keys are never reclaimed");
        assert_eq!(db.stats().expired as usize, 10_000 - left);
    }

    #[test]
    fn stops_when_the_budget_runs_out() {
        let ks = Keyspace::new(1, 5);
        let mut cycle = ActiveExpire::new();
        let mut calls = 0;
        let run = cycle.run(&ks, 0, &mut || 4, &mut || {
            calls += 1;
            calls < 3
        });
        assert!(run.budget_exhausted);
        assert_eq!(cycle.slot, 64 * 3);
    }
}
