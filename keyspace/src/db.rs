//! One logical database: 16384 slot tables, each behind its own lock.
//!
//! A command locks the slots of its keys and nothing else, so commands on different
//! slots run in parallel. Commands that span slots (possible outside cluster mode) lock
//! them in ascending slot order, which makes deadlock impossible.

use foldhash::fast::FixedState;
use parking_lot::{Mutex, MutexGuard};
use std::ops::{Deref, DerefMut};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::hash_slot::{SLOT_COUNT, key_slot};
use crate::slot_table::{SlotStats, SlotTable};

/// A slot's table, with a copy of its volatile-key count readable without the lock.
struct SlotCell {
    table: Mutex<SlotTable>,
    volatile: AtomicU32,
}

/// A locked slot table. Releasing it publishes the slot's volatile-key count, so active
/// expiry can skip slots without volatile keys without taking their locks.
pub struct SlotGuard<'a> {
    table: MutexGuard<'a, SlotTable>,
    volatile: &'a AtomicU32,
}

impl Deref for SlotGuard<'_> {
    type Target = SlotTable;
    fn deref(&self) -> &SlotTable {
        &self.table
    }
}

impl DerefMut for SlotGuard<'_> {
    fn deref_mut(&mut self) -> &mut SlotTable {
        &mut self.table
    }
}

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        let count = u32::try_from(self.table.volatile_len()).unwrap_or(u32::MAX);
        self.volatile.store(count, Ordering::Relaxed);
    }
}

/// One logical database (SELECT index).
pub struct Db {
    slots: Box<[SlotCell]>,
}

impl Db {
    /// An empty database whose tables hash keys with `seed`.
    pub fn new(seed: u64) -> Db {
        let hasher = FixedState::with_seed(seed);
        Db {
            slots: (0..SLOT_COUNT)
                .map(|_| SlotCell {
                    table: Mutex::new(SlotTable::new(hasher.clone())),
                    volatile: AtomicU32::new(0),
                })
                .collect(),
        }
    }

    /// Locks the table of `slot`.
    #[inline]
    pub fn lock(&self, slot: u16) -> SlotGuard<'_> {
        let cell = &self.slots[slot as usize];
        SlotGuard {
            table: cell.table.lock(),
            volatile: &cell.volatile,
        }
    }

    /// True when `slot` may hold keys with a deadline, judged without its lock (the
    /// count is published when a lock is released, so it can lag a running command).
    pub fn may_have_volatile(&self, slot: u16) -> bool {
        self.slots[slot as usize].volatile.load(Ordering::Relaxed) > 0
    }

    /// Locks the tables of every slot in `slots`, in ascending order.
    pub fn lock_slots(&self, slots: impl IntoIterator<Item = u16>) -> SlotLocks<'_> {
        let mut wanted: Vec<u16> = slots.into_iter().collect();
        wanted.sort_unstable();
        wanted.dedup();
        SlotLocks {
            guards: wanted.into_iter().map(|s| (s, self.lock(s))).collect(),
        }
    }

    /// Locks the tables holding `keys`, in ascending slot order.
    pub fn lock_keys<'k>(&self, keys: impl IntoIterator<Item = &'k [u8]>) -> SlotLocks<'_> {
        self.lock_slots(keys.into_iter().map(key_slot))
    }

    fn all_slots(&self) -> impl Iterator<Item = SlotGuard<'_>> {
        (0..SLOT_COUNT).map(|s| self.lock(s as u16))
    }

    /// Number of keys (expired-but-unreclaimed ones included, as Redis's DBSIZE).
    pub fn len(&self) -> usize {
        self.all_slots().map(|t| t.len()).sum()
    }

    /// True when no slot holds a key.
    pub fn is_empty(&self) -> bool {
        self.all_slots().all(|t| t.is_empty())
    }

    /// Number of keys with a deadline.
    pub fn volatile_len(&self) -> usize {
        self.all_slots().map(|t| t.volatile_len()).sum()
    }

    /// The counters of every slot, summed.
    pub fn stats(&self) -> SlotStats {
        let mut total = SlotStats::default();
        for t in self.all_slots() {
            total += t.stats;
        }
        total
    }

    /// Zeroes the counters of every slot.
    pub fn reset_stats(&self) {
        for mut t in self.all_slots() {
            t.stats = SlotStats::default();
        }
    }

    /// Removes every key, slot by slot.
    pub fn clear(&self) {
        for mut t in self.all_slots() {
            if !t.is_empty() {
                t.clear();
            }
        }
    }
}

/// Locks held on several slot tables at once.
pub struct SlotLocks<'a> {
    guards: Vec<(u16, SlotGuard<'a>)>,
}

impl SlotLocks<'_> {
    /// The locked table of `slot`.
    ///
    /// # Panics
    /// If `slot` was not locked: a caller bug, since the set of slots is fixed up front.
    pub fn table(&mut self, slot: u16) -> &mut SlotTable {
        let at = self
            .guards
            .binary_search_by_key(&slot, |(s, _)| *s)
            .expect("slot was locked");
        &mut self.guards[at].1
    }

    /// The locked table holding `key`.
    pub fn for_key(&mut self, key: &[u8]) -> &mut SlotTable {
        self.table(key_slot(key))
    }

    /// Number of distinct slots locked.
    pub fn slot_count(&self) -> usize {
        self.guards.len()
    }
}

/// Every logical database of a node. Databases other than 0 are created on first use,
/// since a cluster node only ever uses database 0.
pub struct Keyspace {
    dbs: Box<[OnceLock<Db>]>,
    seed: u64,
}

impl Keyspace {
    /// A keyspace of `databases` empty databases hashing keys with `seed`.
    pub fn new(databases: usize, seed: u64) -> Keyspace {
        let dbs: Box<[OnceLock<Db>]> = (0..databases.max(1)).map(|_| OnceLock::new()).collect();
        let keyspace = Keyspace { dbs, seed };
        keyspace.db(0);
        keyspace
    }

    /// Number of databases.
    pub fn database_count(&self) -> usize {
        self.dbs.len()
    }

    /// Database `index`, created if needed.
    ///
    /// # Panics
    /// If `index` is out of range; callers validate SELECT arguments first.
    pub fn db(&self, index: usize) -> &Db {
        self.dbs[index].get_or_init(|| Db::new(self.seed))
    }

    /// The databases that exist, with their indexes.
    pub fn existing(&self) -> impl Iterator<Item = (usize, &Db)> {
        self.dbs
            .iter()
            .enumerate()
            .filter_map(|(i, d)| d.get().map(|d| (i, d)))
    }

    /// Removes every key of every database.
    pub fn clear(&self) {
        for (_, db) in self.existing() {
            db.clear();
        }
    }

    /// The counters of every database, summed.
    pub fn stats(&self) -> SlotStats {
        let mut total = SlotStats::default();
        for (_, db) in self.existing() {
            total += db.stats();
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{StrValue, Value};

    #[test]
    fn multi_slot_locks_find_each_key() {
        let db = Db::new(1);
        let keys: [&[u8]; 3] = [b"foo", b"bar", b"{foo}x"];
        let mut locks = db.lock_keys(keys);
        assert_eq!(locks.slot_count(), 2);
        for k in keys {
            locks.for_key(k).insert(k, Value::Str(StrValue::new(b"v")));
        }
        drop(locks);
        assert_eq!(db.len(), 3);
        assert_eq!(db.lock(key_slot(b"foo")).len(), 2);
        db.clear();
        assert!(db.is_empty());
    }

    #[test]
    fn other_databases_appear_on_first_use() {
        let ks = Keyspace::new(16, 0);
        assert_eq!(ks.existing().count(), 1);
        ks.db(5);
        assert_eq!(
            ks.existing().map(|(i, _)| i).collect::<Vec<_>>(),
            vec![0, 5]
        );
    }
}
