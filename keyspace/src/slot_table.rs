//! The keys of one hash slot.
//!
//! Each slot owns its keys outright, so one command locks one small table, counting or
//! listing the keys of a slot costs O(keys in that slot), and dropping a slot drops one
//! table. Expiry lives beside the keys, as Redis keeps its `expires` dict: a second,
//! usually empty, map from volatile key to deadline, which active expiry samples.

use foldhash::fast::FixedState;
use hashbrown::HashTable;
use hashbrown::hash_table::Entry as TableEntry;
use indexmap::IndexMap;
use std::hash::BuildHasher;

use crate::access::AccessClock;
use crate::announce::{Announce, TableEvents};
use crate::compact_bytes::CompactBytes;
use crate::entry_key::EntryKey;
use crate::value::Value;
use std::sync::Arc;

/// A key and its value, allocated together so a lookup touches one heap block.
#[derive(Debug)]
pub struct Entry {
    /// The key, with its access clock (`crate::access`): what LRU and LFU eviction
    /// rank it by.
    pub key: EntryKey,
    /// Its value.
    pub value: Value,
}

// One allocator size class: a field more would cost 16 bytes per key.
const _: () = assert!(std::mem::size_of::<Entry>() == 48);

/// Counters a slot keeps for INFO; summed over slots on demand so the hot path never
/// touches a shared cache line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SlotStats {
    /// Reads that found their key.
    pub hits: u64,
    /// Reads that did not.
    pub misses: u64,
    /// Keys removed because their time to live ran out.
    pub expired: u64,
}

impl std::ops::AddAssign for SlotStats {
    fn add_assign(&mut self, other: SlotStats) {
        self.hits += other.hits;
        self.misses += other.misses;
        self.expired += other.expired;
    }
}

/// What happens to a key found past its deadline.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryMode {
    /// It is deleted (a node nobody replicates from).
    #[default]
    Reclaim,
    /// It is deleted and its name recorded, so the deletion can be sent to replicas in
    /// order with the commands on the same slot (a master with a replication stream).
    Journal,
    /// It is hidden from readers but kept: a replica waits for its master's DEL, since
    /// the master's stream may still write to the key.
    Retain,
}

/// The keys of one hash slot, with their expiry deadlines.
pub struct SlotTable {
    entries: HashTable<Box<Entry>>,
    /// Deadline (Unix ms) of every key that has one.
    expires: IndexMap<CompactBytes, i64, FixedState>,
    hasher: FixedState,
    mode: ExpiryMode,
    /// Keys reclaimed in [`ExpiryMode::Journal`] and not yet taken.
    reclaimed: Vec<CompactBytes>,
    /// Counters for INFO.
    pub stats: SlotStats,
    /// What accesses are stamped with; refreshed each time the table is locked.
    clock: AccessClock,
    /// State of the generator behind the LFU counter's coin flips.
    coin: u32,
    /// The hooks told of new keys and misses, and this table's database number.
    events: Option<(Arc<TableEvents>, usize)>,
}

/// The most entries [`SlotTable::random_key`] walks to reach its pick.
pub const RANDOM_WALK: usize = 64;

/// Whether a key with deadline `at` is gone at `now`. Redis keeps a key alive through
/// the millisecond of its deadline.
#[inline]
pub fn is_past(at: i64, now: i64) -> bool {
    now > at
}

/// [`SlotTable::announce`] on the fields it needs, so a caller holding an entry of
/// the table can announce too.
#[inline]
fn announce(
    events: &Option<(Arc<TableEvents>, usize)>,
    reclaimed: &mut Vec<CompactBytes>,
    what: Announce,
    key: &[u8],
) {
    if let Some((events, db)) = events
        && events.wants(what)
    {
        events.announce(*db, std::mem::take(reclaimed), what, key);
    }
}

impl SlotTable {
    /// An empty table hashing keys with `hasher`.
    pub fn new(hasher: FixedState) -> SlotTable {
        SlotTable {
            entries: HashTable::new(),
            expires: IndexMap::with_hasher(hasher.clone()),
            hasher,
            mode: ExpiryMode::default(),
            reclaimed: Vec::new(),
            stats: SlotStats::default(),
            clock: AccessClock::default(),
            coin: 0x9E37_79B9,
            events: None,
        }
    }

    /// Sets the policy and time accesses are stamped with from now on.
    #[inline]
    pub fn set_access_clock(&mut self, clock: AccessClock) {
        self.clock = clock;
    }

    /// The policy and time accesses are stamped with.
    pub fn access_clock(&self) -> AccessClock {
        self.clock
    }

    /// The access stamp of `entry` after one more access. The LFU counter's coin is a
    /// xorshift per table: quality hardly matters, cost and no shared state do.
    #[inline]
    fn touch(clock: AccessClock, coin: &mut u32, entry: &mut Entry) {
        let mut x = *coin;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *coin = x;
        entry.key.set_stamp(clock.touched(entry.key.stamp(), x));
    }

    /// Ties the table to the hooks of database `db`, for announcements.
    pub(crate) fn set_events(&mut self, events: Arc<TableEvents>, db: usize) {
        self.events = Some((events, db));
    }

    /// Announces `what` on `key` if it is wanted: one relaxed load when it is not.
    #[inline]
    fn announce(&mut self, what: Announce, key: &[u8]) {
        announce(&self.events, &mut self.reclaimed, what, key);
    }

    /// Sets what happens to expired keys from now on.
    pub fn set_expiry_mode(&mut self, mode: ExpiryMode) {
        self.mode = mode;
    }

    /// The keys reclaimed since the last call (only in [`ExpiryMode::Journal`]).
    pub fn take_reclaimed(&mut self) -> Vec<CompactBytes> {
        std::mem::take(&mut self.reclaimed)
    }

    /// True if keys were reclaimed and not yet taken.
    pub fn has_reclaimed(&self) -> bool {
        !self.reclaimed.is_empty()
    }

    /// The hash this table uses for `key`. Stable for the life of the process.
    #[inline]
    pub fn hash_key(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Number of keys, expired-but-unreclaimed ones included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the slot holds no key.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of keys with a deadline.
    pub fn volatile_len(&self) -> usize {
        self.expires.len()
    }

    /// True if `key` is past its deadline, reclaiming it as the mode says.
    fn expired(&mut self, key: &[u8], now: i64) -> bool {
        if self.expires.is_empty() {
            return false;
        }
        match self.expires.get(key) {
            Some(&at) if is_past(at, now) => {
                self.reclaim(key);
                true
            }
            _ => false,
        }
    }

    /// Deletes an expired key unless the mode retains it.
    fn reclaim(&mut self, key: &[u8]) {
        if self.mode == ExpiryMode::Retain {
            return;
        }
        if let Some(value) = self.remove(key) {
            crate::lazyfree::discard_expired(value);
        }
        self.stats.expired += 1;
        if self.mode == ExpiryMode::Journal {
            self.reclaimed.push(CompactBytes::new(key));
        }
    }

    /// Reclaims `key` if it is past its deadline, as Redis's expireIfNeeded before a
    /// write that does not look the key up otherwise; true if it was. Nothing but an
    /// emptiness check when the table holds no deadline.
    #[inline]
    pub fn expire_if_needed(&mut self, key: &[u8], now: i64) -> bool {
        self.expired(key, now)
    }

    /// The live value of `key`, reclaiming it first if it has expired.
    #[inline]
    pub fn get(&mut self, key: &[u8], now: i64) -> Option<&Value> {
        if self.expired(key, now) {
            return None;
        }
        let hash = self.hash_key(key);
        self.entries
            .find(hash, |e| e.key.as_bytes() == key)
            .map(|e| &e.value)
    }

    /// The live value of `key` through a shared reference: an expired key reads as
    /// absent but stays for whoever next holds the table mutably to reclaim (and
    /// journal), since a reader that can't change the table can't do either.
    pub fn peek_live(&self, key: &[u8], now: i64) -> Option<&Value> {
        if self.deadline(key).is_some_and(|at| is_past(at, now)) {
            return None;
        }
        let hash = self.hash_key(key);
        self.entries
            .find(hash, |e| e.key.as_bytes() == key)
            .map(|e| &e.value)
    }

    /// Like [`SlotTable::get`], counting a keyspace hit or miss and the access (a
    /// read by a command, Redis's lookupKeyRead).
    #[inline]
    pub fn read(&mut self, key: &[u8], now: i64) -> Option<&Value> {
        self.counted_read(key, now, true)
    }

    /// The live value of `key` for modification in place, counting the access.
    #[inline]
    pub fn get_mut(&mut self, key: &[u8], now: i64) -> Option<&mut Value> {
        if self.expired(key, now) {
            return None;
        }
        let hash = self.hash_key(key);
        let entry = self.entries.find_mut(hash, |e| e.key.as_bytes() == key)?;
        Self::touch(self.clock, &mut self.coin, entry);
        Some(&mut entry.value)
    }

    /// Like [`SlotTable::read`] without counting the access: EXISTS, TYPE and the
    /// like look without touching, as Redis's LOOKUP_NOTOUCH.
    pub fn read_untouched(&mut self, key: &[u8], now: i64) -> Option<&Value> {
        self.counted_read(key, now, false)
    }

    /// A read counted as a keyspace hit or miss, and as an access if `touch`.
    #[inline]
    fn counted_read(&mut self, key: &[u8], now: i64, touch: bool) -> Option<&Value> {
        if self.expired(key, now) {
            self.stats.misses += 1;
            self.announce(Announce::Miss, key);
            return None;
        }
        let hash = self.hash_key(key);
        match self.entries.find_mut(hash, |e| e.key.as_bytes() == key) {
            Some(e) => {
                self.stats.hits += 1;
                if touch {
                    Self::touch(self.clock, &mut self.coin, e);
                }
                Some(&e.value)
            }
            None => {
                self.stats.misses += 1;
                announce(&self.events, &mut self.reclaimed, Announce::Miss, key);
                None
            }
        }
    }

    /// The access stamp of a live `key`, without counting an access.
    pub fn access_stamp(&self, key: &[u8], now: i64) -> Option<u32> {
        if self.deadline(key).is_some_and(|at| is_past(at, now)) {
            return None;
        }
        let hash = self.hash_key(key);
        self.entries
            .find(hash, |e| e.key.as_bytes() == key)
            .map(|e| e.key.stamp())
    }

    /// Sets the access stamp of an existing `key` (RESTORE's IDLETIME and FREQ, an RDB's
    /// idle times and frequencies).
    pub fn set_access_stamp(&mut self, key: &[u8], stamp: u32) {
        let hash = self.hash_key(key);
        if let Some(e) = self.entries.find_mut(hash, |e| e.key.as_bytes() == key) {
            e.key.set_stamp(stamp);
        }
    }

    /// True when `key` exists and is live.
    pub fn contains(&mut self, key: &[u8], now: i64) -> bool {
        self.get(key, now).is_some()
    }

    /// Stores `value` under `key`, keeping its deadline; true when it replaced a value,
    /// which is freed as `lazyfree-lazy-server-del` says.
    pub fn insert_keep_ttl(&mut self, key: &[u8], value: Value) -> bool {
        let hash = self.hash_key(key);
        let hasher = self.hasher.clone();
        match self.entries.entry(
            hash,
            |e| e.key.as_bytes() == key,
            |e| hasher.hash_one(e.key.as_bytes()),
        ) {
            TableEntry::Occupied(mut o) => {
                // An overwrite is an access of the key (Redis's lookupKeyWrite before
                // dbOverwrite, which keeps the LFU counter).
                Self::touch(self.clock, &mut self.coin, o.get_mut());
                let old = std::mem::replace(&mut o.get_mut().value, value);
                crate::lazyfree::discard_overwritten(old);
                true
            }
            TableEntry::Vacant(v) => {
                v.insert(Box::new(Entry {
                    key: EntryKey::new(key, self.clock.fresh()),
                    value,
                }));
                self.announce(Announce::New, key);
                false
            }
        }
    }

    /// Stores `value` under `key`, dropping any deadline; true when it replaced a
    /// value (freed as `lazyfree-lazy-server-del` says).
    pub fn insert(&mut self, key: &[u8], value: Value) -> bool {
        if !self.expires.is_empty() {
            self.expires.swap_remove(key);
        }
        self.insert_keep_ttl(key, value)
    }

    /// Removes `key` and its deadline, returning its value (even if already expired).
    pub fn remove(&mut self, key: &[u8]) -> Option<Value> {
        let hash = self.hash_key(key);
        let entry = match self.entries.find_entry(hash, |e| e.key.as_bytes() == key) {
            Ok(o) => o.remove().0,
            Err(_) => return None,
        };
        if !self.expires.is_empty() {
            self.expires.swap_remove(key);
        }
        Some(entry.value)
    }

    /// The deadline of `key`, if it has one (whether or not it has passed).
    pub fn deadline(&self, key: &[u8]) -> Option<i64> {
        if self.expires.is_empty() {
            return None;
        }
        self.expires.get(key).copied()
    }

    /// Sets the deadline of an existing key. The caller checks that `key` exists.
    pub fn set_deadline(&mut self, key: &[u8], at: i64) {
        debug_assert!(
            self.entries
                .find(self.hash_key(key), |e| e.key.as_bytes() == key)
                .is_some()
        );
        match self.expires.get_mut(key) {
            Some(slot) => *slot = at,
            None => {
                self.expires.insert(CompactBytes::new(key), at);
            }
        }
    }

    /// Drops the deadline of `key`; true if it had one.
    pub fn clear_deadline(&mut self, key: &[u8]) -> bool {
        !self.expires.is_empty() && self.expires.swap_remove(key).is_some()
    }

    /// Removes every key, freeing them on the lazyfree thread (FLUSHALL ASYNC).
    pub fn clear_lazily(&mut self) {
        if self.entries.is_empty() && self.expires.is_empty() {
            return;
        }
        let entries = std::mem::replace(&mut self.entries, HashTable::new());
        let expires = std::mem::replace(
            &mut self.expires,
            IndexMap::with_hasher(self.hasher.clone()),
        );
        crate::lazyfree::free_anything(Box::new((entries, expires)));
    }

    /// Removes every key.
    pub fn clear(&mut self) {
        self.entries = HashTable::new();
        self.expires = IndexMap::with_hasher(self.hasher.clone());
    }

    /// Every entry, live or expired, in table order.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().map(|b| &**b)
    }

    /// The entry at position `index` of the table's iteration order (for random picks).
    pub fn nth_entry(&self, index: usize) -> Option<&Entry> {
        self.entries.iter().nth(index).map(|b| &**b)
    }

    /// An entry picked by `random` for eviction, expired or not. The table has no
    /// positional access, so the pick walks at most [`RANDOM_WALK`] entries from the
    /// start of the table's order: a slot with more keys than that gives its first ones
    /// (in hash order, itself unrelated to the keys' names or ages) rather than walking
    /// every key on each eviction.
    pub fn random_entry(&self, random: u64) -> Option<&Entry> {
        let span = self.entries.len().min(RANDOM_WALK);
        if span == 0 {
            return None;
        }
        self.nth_entry((random % span as u64) as usize)
    }

    /// A key with a deadline picked by `random`, with that deadline.
    pub fn random_volatile(&self, random: u64) -> Option<(&CompactBytes, i64)> {
        if self.expires.is_empty() {
            return None;
        }
        let index = (random % self.expires.len() as u64) as usize;
        self.expires.get_index(index).map(|(k, &at)| (k, at))
    }

    /// Examines up to `samples` random volatile keys (positions drawn from `random`),
    /// reclaims the expired ones and returns `(examined, reclaimed)`.
    pub fn reclaim_sample(
        &mut self,
        samples: usize,
        now: i64,
        random: &mut dyn FnMut() -> u64,
    ) -> (usize, usize) {
        let mut examined = 0;
        let mut reclaimed = 0;
        if self.mode == ExpiryMode::Retain {
            return (0, 0);
        }
        while examined < samples && !self.expires.is_empty() {
            examined += 1;
            let index = (random() % self.expires.len() as u64) as usize;
            let (key, &at) = self.expires.get_index(index).expect("index below len");
            if is_past(at, now) {
                let key = key.clone();
                self.reclaim(key.as_bytes());
                reclaimed += 1;
            }
        }
        (examined, reclaimed)
    }
}

impl std::fmt::Debug for SlotTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlotTable")
            .field("keys", &self.entries.len())
            .field("volatile", &self.expires.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::StrValue;

    fn table() -> SlotTable {
        SlotTable::new(FixedState::with_seed(7))
    }

    fn s(v: &[u8]) -> Value {
        Value::Str(StrValue::new(v))
    }

    #[test]
    fn insert_get_remove() {
        let mut t = table();
        assert!(!t.insert(b"a", s(b"1")));
        assert_eq!(t.get(b"a", 0), Some(&s(b"1")));
        assert!(t.insert(b"a", s(b"2")));
        assert_eq!(t.len(), 1);
        assert_eq!(t.remove(b"a"), Some(s(b"2")));
        assert!(t.get(b"a", 0).is_none());
        assert!(t.is_empty());
    }

    #[test]
    fn a_key_lives_through_its_deadline_millisecond() {
        let mut t = table();
        t.insert(b"k", s(b"v"));
        t.set_deadline(b"k", 1000);
        assert!(t.get(b"k", 1000).is_some());
        assert!(t.get(b"k", 1001).is_none());
        assert_eq!(t.len(), 0, "lazy access reclaims the key");
        assert_eq!(t.volatile_len(), 0);
        assert_eq!(t.stats.expired, 1);
    }

    #[test]
    fn journal_records_reclaimed_keys_and_retain_keeps_them() {
        let mut t = table();
        for k in [b"a", b"b"] {
            t.insert(k, s(b"v"));
            t.set_deadline(k, 10);
        }
        t.set_expiry_mode(ExpiryMode::Retain);
        assert!(t.get(b"a", 11).is_none(), "hidden from readers");
        assert_eq!(t.len(), 2, "but kept");
        assert_eq!(t.reclaim_sample(10, 11, &mut || 0), (0, 0));
        assert!(t.get(b"a", 10).is_some(), "alive for its master's clock");
        t.set_expiry_mode(ExpiryMode::Journal);
        assert!(t.get(b"a", 11).is_none());
        assert_eq!(t.reclaim_sample(10, 11, &mut || 0), (1, 1));
        let names: Vec<Vec<u8>> = t
            .take_reclaimed()
            .iter()
            .map(|k| k.as_bytes().to_vec())
            .collect();
        assert_eq!(names, vec![b"a".to_vec(), b"b".to_vec()]);
        assert!(!t.has_reclaimed() && t.is_empty());
    }

    #[test]
    fn insert_drops_the_deadline_and_keep_ttl_does_not() {
        let mut t = table();
        t.insert(b"k", s(b"v"));
        t.set_deadline(b"k", 10);
        t.insert_keep_ttl(b"k", s(b"w"));
        assert_eq!(t.deadline(b"k"), Some(10));
        t.insert(b"k", s(b"x"));
        assert_eq!(t.deadline(b"k"), None);
    }

    #[test]
    fn sampling_reclaims_only_expired_keys() {
        let mut t = table();
        for i in 0..100u32 {
            let k = i.to_string();
            t.insert(k.as_bytes(), s(b"v"));
            t.set_deadline(k.as_bytes(), if i % 2 == 0 { 5 } else { 500 });
        }
        let mut x = 1u64;
        let mut rng = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut total = 0;
        for _ in 0..200 {
            total += t.reclaim_sample(20, 100, &mut rng).1;
        }
        assert_eq!(total, 50);
        assert_eq!(t.len(), 50);
        assert!(
            t.entries()
                .all(|e| t.deadline(e.key.as_bytes()) == Some(500))
        );
    }
}
