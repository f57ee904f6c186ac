//! One logical database: 16384 slot tables, each behind its own lock.
//!
//! A command locks the slots of its keys and nothing else, so commands on different
//! slots run in parallel. Commands that span slots (possible outside cluster mode) lock
//! them in ascending slot order, which makes deadlock impossible.

use foldhash::fast::FixedState;
use parking_lot::{Mutex, MutexGuard};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use crate::access::{AccessClock, AccessPolicy};
use crate::announce::{AnnounceHook, ExpiredHook, TableEvents};
use crate::hash_slot::{SLOT_COUNT, key_slot};
use crate::slot_table::{ExpiryMode, SlotStats, SlotTable};

/// Told, as a slot's lock is about to be released, that clients wait on keys somewhere:
/// `(database, slot, table)`. It may serve them from the still-locked table, so a
/// push and the pops it wakes are one step for every other client (blocking pops).
/// It may look at other slots only through [`Db::try_inspect`]: it runs holding a
/// slot's lock, so waiting for another could deadlock.
pub type ReadyHook = Box<dyn Fn(&Db, u16, &mut SlotTable) + Send + Sync>;

/// What every database shares: the hooks and the mode new tables start in.
#[derive(Default)]
struct Shared {
    /// The expired-keys and announcement hooks, which every table holds too.
    events: Arc<TableEvents>,
    mode: AtomicU8,
    /// The hook, and the count of clients blocked on keys (all databases): zero keeps
    /// the hook off the path of every lock release.
    ready: OnceLock<(ReadyHook, Arc<AtomicUsize>)>,
    /// The access clock's policy, packed by [`policy_code`]; read at every lock, so
    /// a change applies to the next command on each slot without locking them all.
    policy: AtomicU64,
    /// The access clock's time, Unix seconds.
    clock_s: AtomicU32,
}

impl Shared {
    fn access_clock(&self) -> AccessClock {
        AccessClock {
            policy: policy_of(self.policy.load(Ordering::Relaxed)),
            now_s: self.clock_s.load(Ordering::Relaxed),
        }
    }
}

/// Packs a policy into one word: the LFU flag, the log factor, the decay time.
fn policy_code(policy: AccessPolicy) -> u64 {
    match policy {
        AccessPolicy::Lru => 0,
        AccessPolicy::Lfu {
            log_factor,
            decay_minutes,
        } => 1 << 63 | u64::from(log_factor.min(i32::MAX as u32)) << 32 | u64::from(decay_minutes),
    }
}

fn policy_of(code: u64) -> AccessPolicy {
    if code >> 63 == 0 {
        return AccessPolicy::Lru;
    }
    AccessPolicy::Lfu {
        log_factor: (code >> 32 & 0x7FFF_FFFF) as u32,
        decay_minutes: code as u32,
    }
}

fn mode_code(mode: ExpiryMode) -> u8 {
    match mode {
        ExpiryMode::Reclaim => 0,
        ExpiryMode::Journal => 1,
        ExpiryMode::Retain => 2,
    }
}

fn mode_of(code: u8) -> ExpiryMode {
    match code {
        1 => ExpiryMode::Journal,
        2 => ExpiryMode::Retain,
        _ => ExpiryMode::Reclaim,
    }
}

/// A slot's table, with copies of its key and volatile-key counts readable without
/// the lock.
struct SlotCell {
    table: Mutex<SlotTable>,
    volatile: AtomicU32,
    keys: AtomicU32,
}

/// A locked slot table. Releasing it publishes the slot's key and volatile-key counts,
/// so active expiry and eviction can skip empty slots without taking their locks.
pub struct SlotGuard<'a> {
    table: Held<'a>,
    cell: &'a SlotCell,
    db: &'a Db,
    slot: u16,
}

/// How a guard holds its table: by its own lock, or lent by the running transaction,
/// which holds the lock (`crate::tx_locks`).
enum Held<'a> {
    Own(MutexGuard<'a, SlotTable>),
    Lent(&'a mut SlotTable),
}

impl SlotGuard<'_> {
    /// Hands the keys reclaimed so far to the expired-keys hook, before anything else
    /// on this slot is recorded. Also done when the lock is released.
    pub fn flush_expired(&mut self) {
        if !self.has_reclaimed() {
            return;
        }
        let keys = self.take_reclaimed();
        if let Some(hook) = self.db.shared.events.expired.get() {
            hook(self.db.index, &keys);
        }
    }
}

impl Deref for SlotGuard<'_> {
    type Target = SlotTable;
    fn deref(&self) -> &SlotTable {
        match &self.table {
            Held::Own(t) => t,
            Held::Lent(t) => t,
        }
    }
}

impl DerefMut for SlotGuard<'_> {
    fn deref_mut(&mut self) -> &mut SlotTable {
        match &mut self.table {
            Held::Own(t) => t,
            Held::Lent(t) => t,
        }
    }
}

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        // Still under the lock: fields drop after this body.
        self.flush_expired();
        let count = u32::try_from(self.volatile_len()).unwrap_or(u32::MAX);
        self.cell.volatile.store(count, Ordering::Relaxed);
        let count = u32::try_from(self.len()).unwrap_or(u32::MAX);
        self.cell.keys.store(count, Ordering::Relaxed);
        match &mut self.table {
            Held::Own(table) => {
                if let Some((hook, waiters)) = self.db.shared.ready.get() {
                    if waiters.load(Ordering::Acquire) > 0 {
                        hook(self.db, self.slot, table);
                    }
                }
            }
            // The transaction's own release serves waiters, after its last command.
            Held::Lent(_) => crate::tx_locks::give_back(self.db, self.slot),
        }
    }
}

/// One logical database (SELECT index).
pub struct Db {
    slots: Box<[SlotCell]>,
    index: usize,
    shared: Arc<Shared>,
}

impl Db {
    /// An empty database whose tables hash keys with `seed`.
    pub fn new(seed: u64) -> Db {
        Db::with_shared(seed, 0, Arc::default())
    }

    fn with_shared(seed: u64, index: usize, shared: Arc<Shared>) -> Db {
        let hasher = FixedState::with_seed(seed);
        let mode = mode_of(shared.mode.load(Ordering::SeqCst));
        Db {
            slots: (0..SLOT_COUNT)
                .map(|_| {
                    let mut table = SlotTable::new(hasher.clone());
                    table.set_expiry_mode(mode);
                    table.set_events(Arc::clone(&shared.events), index);
                    SlotCell {
                        table: Mutex::new(table),
                        volatile: AtomicU32::new(0),
                        keys: AtomicU32::new(0),
                    }
                })
                .collect(),
            index,
            shared,
        }
    }

    /// Which keyspace this database belongs to: its shared state's address.
    pub(crate) fn owner(&self) -> usize {
        Arc::as_ptr(&self.shared) as usize
    }

    /// This database's number (SELECT index).
    pub fn index(&self) -> usize {
        self.index
    }

    /// Locks the table of `slot`.
    #[inline]
    pub fn lock(&self, slot: u16) -> SlotGuard<'_> {
        let cell = &self.slots[slot as usize];
        let table = match crate::tx_locks::lend(self, slot) {
            // SAFETY: the pointer is to the table inside a mutex whose guard the
            // running transaction (`TxLocks`) holds on this thread. `lend` marked it
            // lent, so no other reference to it exists until this guard gives it back
            // on drop; the guard is not Send, so that happens on this thread; and
            // `TxLocks` asserts every table was given back before it releases a lock.
            Some(ptr) => Held::Lent(unsafe { &mut *ptr }),
            None => Held::Own(cell.table.lock()),
        };
        let mut guard = SlotGuard {
            table,
            cell,
            db: self,
            slot,
        };
        guard.set_access_clock(self.shared.access_clock());
        guard
    }

    /// Locks the table of `slot` if its lock is free at this instant; `None` when it
    /// is held. A growing set of locks takes slots out of order this way, never by
    /// waiting (see `crate::tx_locks`).
    pub fn try_lock_slot(&self, slot: u16) -> Option<SlotLocks<'_>> {
        let cell = &self.slots[slot as usize];
        let table = cell.table.try_lock()?;
        let mut guard = SlotGuard {
            table: Held::Own(table),
            cell,
            db: self,
            slot,
        };
        guard.set_access_clock(self.shared.access_clock());
        Some(SlotLocks {
            guards: vec![(slot, guard)],
        })
    }

    /// Runs `look` on the table of `slot` if its lock is free at this instant; `None`
    /// when it is held (possibly by this very thread). Nothing changes, so none of a
    /// [`SlotGuard`]'s release duties apply (no ready hook, no count to publish): this
    /// is how the ready hook, which holds a slot's lock and must never wait for
    /// another, reads a second slot.
    pub fn try_inspect<R>(&self, slot: u16, look: impl FnOnce(&SlotTable) -> R) -> Option<R> {
        let table = self.slots[slot as usize].table.try_lock()?;
        Some(look(&table))
    }

    /// True when `slot` may hold keys with a deadline, judged without its lock (the
    /// count is published when a lock is released, so it can lag a running command).
    pub fn may_have_volatile(&self, slot: u16) -> bool {
        self.slots[slot as usize].volatile.load(Ordering::Relaxed) > 0
    }

    /// True when `slot` may hold keys, judged without its lock (the count is published
    /// when a lock is released, so it can lag a running command).
    pub fn may_have_keys(&self, slot: u16) -> bool {
        self.slots[slot as usize].keys.load(Ordering::Relaxed) > 0
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

impl<'a> SlotLocks<'a> {
    /// Every locked table, in slot order.
    pub fn tables(&mut self) -> impl Iterator<Item = (u16, &mut SlotGuard<'a>)> {
        self.guards.iter_mut().map(|(s, g)| (*s, g))
    }

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

    /// The locked table holding `key`, or `None` when its slot is not locked (a
    /// lookup whose key the caller could not know up front, as SORT's BY and GET).
    pub fn try_for_key(&mut self, key: &[u8]) -> Option<&mut SlotTable> {
        let at = self
            .guards
            .binary_search_by_key(&key_slot(key), |(s, _)| *s)
            .ok()?;
        Some(&mut self.guards[at].1)
    }

    /// Number of distinct slots locked.
    pub fn slot_count(&self) -> usize {
        self.guards.len()
    }

    /// [`SlotGuard::flush_expired`] on every locked slot.
    pub fn flush_expired(&mut self) {
        for (_, g) in &mut self.guards {
            g.flush_expired();
        }
    }
}

/// Every logical database of a node. Databases other than 0 are created on first use,
/// since a cluster node only ever uses database 0.
pub struct Keyspace {
    dbs: Box<[OnceLock<Db>]>,
    seed: u64,
    shared: Arc<Shared>,
    /// Held while a database is created, and by [`Keyspace::lock_all`], so no database
    /// appears while every lock is held.
    creating: Mutex<()>,
}

/// Every slot of every database, locked: no command can read or change data while this
/// is held.
pub struct AllLocks<'a> {
    dbs: Vec<(usize, SlotLocks<'a>)>,
    /// `None` inside a transaction that already holds it.
    _creating: Option<MutexGuard<'a, ()>>,
}

impl<'a> AllLocks<'a> {
    /// The locked databases that exist, with their numbers.
    pub fn dbs(&mut self) -> impl Iterator<Item = (usize, &mut SlotLocks<'a>)> {
        self.dbs.iter_mut().map(|(i, l)| (*i, l))
    }
}

impl Keyspace {
    /// A keyspace of `databases` empty databases hashing keys with `seed`.
    pub fn new(databases: usize, seed: u64) -> Keyspace {
        let dbs: Box<[OnceLock<Db>]> = (0..databases.max(1)).map(|_| OnceLock::new()).collect();
        let keyspace = Keyspace {
            dbs,
            seed,
            shared: Arc::default(),
            creating: Mutex::new(()),
        };
        keyspace.db(0);
        keyspace
    }

    /// Sets the hook told of keys reclaimed in [`ExpiryMode::Journal`]; only the first
    /// call takes effect.
    pub fn set_expired_hook(&self, hook: ExpiredHook) {
        let _ = self.shared.events.expired.set(hook);
    }

    /// Sets the hook told of keys added and of read lookups that miss; only the first
    /// call takes effect.
    pub fn set_announce_hook(&self, hook: AnnounceHook) {
        self.shared.events.set_hook(hook);
    }

    /// What turns the announcement of new keys and of read misses on or off, `(new,
    /// miss)`, for a configuration hook to keep.
    pub fn announced_setter(&self) -> impl Fn(bool, bool) + Send + Sync + 'static {
        let events = Arc::clone(&self.shared.events);
        move |new, miss| events.set_wanted(new, miss)
    }

    /// Sets the hook that serves blocked clients as slot locks are released, and the
    /// count of blocked clients that gates it (its owner changes it with the slots of
    /// the waiter's keys locked, so the next lock of those slots sees it); only the
    /// first call takes effect.
    pub fn set_ready_hook(&self, hook: ReadyHook, waiters: Arc<AtomicUsize>) {
        let _ = self.shared.ready.set((hook, waiters));
    }

    /// Switches every table, present and future, to `mode`. Each table changes under
    /// its own lock, so no command sees a slot half-switched.
    pub fn set_expiry_mode(&self, mode: ExpiryMode) {
        self.shared.mode.store(mode_code(mode), Ordering::SeqCst);
        for (_, db) in self.existing() {
            for slot in 0..SLOT_COUNT {
                db.lock(slot as u16).set_expiry_mode(mode);
            }
        }
    }

    /// [`Keyspace::set_expiry_mode`] while the caller holds every lock.
    pub fn set_expiry_mode_locked(&self, locks: &mut AllLocks<'_>, mode: ExpiryMode) {
        self.shared.mode.store(mode_code(mode), Ordering::SeqCst);
        for (_, tables) in locks.dbs() {
            for (_, t) in tables.tables() {
                t.set_expiry_mode(mode);
            }
        }
    }

    /// Sets how key accesses are stamped (the eviction policy's LRU or LFU reading).
    pub fn set_access_policy(&self, policy: AccessPolicy) {
        (self.access_policy_setter())(policy);
    }

    /// [`Keyspace::set_access_policy`] as a function that outlives this borrow, for a
    /// configuration hook.
    pub fn access_policy_setter(&self) -> impl Fn(AccessPolicy) + Send + Sync + 'static {
        let shared = self.shared.clone();
        move |policy| shared.policy.store(policy_code(policy), Ordering::Relaxed)
    }

    /// Advances the access clock to `now_ms` (the server's cron calls it, as Redis's
    /// serverCron refreshes its cached LRU clock).
    pub fn set_access_time(&self, now_ms: i64) {
        let seconds = u32::try_from(now_ms.max(0) / 1000).unwrap_or(u32::MAX);
        self.shared.clock_s.store(seconds, Ordering::Relaxed);
    }

    /// The access clock as tables see it now.
    pub fn access_clock(&self) -> AccessClock {
        self.shared.access_clock()
    }

    /// The mode expired keys are handled in.
    pub fn expiry_mode(&self) -> ExpiryMode {
        mode_of(self.shared.mode.load(Ordering::SeqCst))
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
        self.dbs[index].get_or_init(|| {
            // A transaction holding every lock made sure its databases exist; one it
            // did not foresee is created without waiting on itself.
            let _creating = (!crate::tx_locks::holds_all()).then(|| self.creating.lock());
            Db::with_shared(self.seed, index, self.shared.clone())
        })
    }

    /// The databases that exist, with their indexes.
    pub fn existing(&self) -> impl Iterator<Item = (usize, &Db)> {
        self.dbs
            .iter()
            .enumerate()
            .filter_map(|(i, d)| d.get().map(|d| (i, d)))
    }

    /// Which keyspace this is: its shared state's address, as [`Db`]'s.
    pub(crate) fn owner(&self) -> usize {
        Arc::as_ptr(&self.shared) as usize
    }

    /// Database `index` if it was created, without creating it (creation may wait).
    pub fn existing_db(&self, index: usize) -> Option<&Db> {
        self.dbs.get(index)?.get()
    }

    /// Locks every slot of every existing database, in a fixed order (database, then
    /// slot), and keeps new databases from appearing until released.
    pub fn lock_all(&self) -> AllLocks<'_> {
        let creating = (!crate::tx_locks::holds_all()).then(|| self.creating.lock());
        AllLocks {
            dbs: self
                .existing()
                .map(|(i, db)| (i, db.lock_slots(0..SLOT_COUNT as u16)))
                .collect(),
            _creating: creating,
        }
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
    fn inspecting_never_waits_and_sees_live_keys_only() {
        let db = Db::new(1);
        let slot = key_slot(b"k");
        let mut t = db.lock(slot);
        t.insert(b"k", Value::Str(StrValue::new(b"v")));
        t.insert(b"{k}gone", Value::Str(StrValue::new(b"v")));
        t.set_deadline(b"{k}gone", 10);
        // Held, by this thread even: no answer rather than a deadlock.
        assert_eq!(db.try_inspect(slot, |t| t.len()), None);
        drop(t);
        let look =
            |key: &[u8], now| db.try_inspect(key_slot(key), |t| t.peek_live(key, now).is_some());
        assert_eq!(look(b"k", 100), Some(true));
        assert_eq!(look(b"{k}gone", 10), Some(true));
        assert_eq!(look(b"{k}gone", 11), Some(false));
        // Left for a writer to reclaim.
        assert_eq!(db.lock(key_slot(b"{k}gone")).deadline(b"{k}gone"), Some(10));
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
