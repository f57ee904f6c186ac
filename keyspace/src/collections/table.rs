//! The `hashtable` encoding of sets and hashes: entries in a vector, found through a
//! hash index of their positions.
//!
//! Keeping the entries dense gives what Redis's dict offers through its bucket walk:
//! a uniformly random entry in O(1) (SRANDMEMBER, SPOP, HRANDFIELD), and it costs less
//! memory than a node per entry: the index holds 4-byte positions. A removal moves the
//! last entry into the hole, so positions are not stable; scans therefore iterate by
//! each entry's (stable) hash instead, which keeps SCAN's guarantee: an entry present
//! for the whole iteration is returned at least once, however the table changes.

use foldhash::fast::FixedState;
use hashbrown::HashTable;
use std::hash::BuildHasher;

use crate::compact_bytes::CompactBytes;

/// Something stored in a [`Table`], found by its key bytes.
pub(crate) trait Keyed {
    /// The bytes that identify the entry.
    fn key(&self) -> &[u8];
}

impl Keyed for CompactBytes {
    fn key(&self) -> &[u8] {
        self.as_bytes()
    }
}

/// A field and its value, as a hash stores them.
#[derive(Clone, Debug)]
pub(crate) struct Pair {
    /// The field.
    pub field: CompactBytes,
    /// The value.
    pub value: CompactBytes,
}

impl Keyed for Pair {
    fn key(&self) -> &[u8] {
        self.field.as_bytes()
    }
}

/// The seed of the member hash: fixed, so a scan cursor means the same thing for the
/// life of the process whatever happens to the table.
const SEED: u64 = 0x7e55_e7a5_c0ff_ee00;

/// The hash of a member, on 63 bits so a resume cursor (`hash + 1`) never wraps to 0.
#[inline]
pub(crate) fn member_hash(key: &[u8]) -> u64 {
    FixedState::with_seed(SEED).hash_one(key) >> 1
}

/// Entries of a set or a hash in the `hashtable` encoding.
#[derive(Clone)]
pub(crate) struct Table<T> {
    entries: Vec<T>,
    index: HashTable<u32>,
    /// While a big index grows: the index it replaces, still holding the positions not
    /// moved yet.
    growing: Option<Box<Growth>>,
}

/// An index that grows a few entries per change, as Redis's dicts rehash
/// incrementally: rebuilding the index of a million-member set at once would stall
/// every client of its thread for a quarter of a second.
#[derive(Clone)]
struct Growth {
    /// The previous index: it holds only positions at or past `next`.
    old: HashTable<u32>,
    /// Every position below it is in the new index.
    next: usize,
}

/// Below this many index slots a table grows in one step (it takes microseconds).
const INCREMENTAL_FROM: usize = 4096;

/// Positions moved to the new index per change while it grows: with the new index
/// twice the old one's size, the move ends long before the new one fills.
const MOVES_PER_CHANGE: usize = 8;

impl<T: Keyed> Table<T> {
    /// Bytes the table holds on the heap (MEMORY USAGE): its arrays, plus what each
    /// entry owns, averaged over the first `samples` entries (0: all) and scaled.
    pub fn heap_bytes(&self, samples: usize, owned: impl Fn(&T) -> usize) -> usize {
        let slots = self.index.capacity() + self.growing.as_ref().map_or(0, |g| g.old.capacity());
        let arrays = self.entries.capacity() * std::mem::size_of::<T>()
            + slots * (std::mem::size_of::<u32>() + 1);
        arrays + sampled(self.entries.iter(), self.entries.len(), samples, owned)
    }

    /// An empty table with room for `n` entries.
    pub fn with_capacity(n: usize) -> Table<T> {
        Table {
            entries: Vec::with_capacity(n),
            index: HashTable::with_capacity(n),
            growing: None,
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Position of the entry with `key`.
    #[inline]
    pub fn find(&self, key: &[u8]) -> Option<usize> {
        let entries = &self.entries;
        let hash = member_hash(key);
        let same = |&i: &u32| entries[i as usize].key() == key;
        self.index
            .find(hash, same)
            .or_else(|| self.growing.as_ref()?.old.find(hash, same))
            .map(|&i| i as usize)
    }

    /// The entry at `at`.
    pub fn get(&self, at: usize) -> &T {
        &self.entries[at]
    }

    /// The entry at `at`, to modify (its key must not change).
    pub fn get_mut(&mut self, at: usize) -> &mut T {
        &mut self.entries[at]
    }

    /// Adds an entry whose key is not present yet (the caller checked with `find`).
    pub fn push_new(&mut self, entry: T) {
        debug_assert!(self.find(entry.key()).is_none());
        self.grow_step();
        if self.growing.is_none()
            && self.index.len() == self.index.capacity()
            && self.index.capacity() >= INCREMENTAL_FROM
        {
            let doubled = HashTable::with_capacity(self.index.capacity() * 2);
            let old = std::mem::replace(&mut self.index, doubled);
            self.growing = Some(Box::new(Growth { old, next: 0 }));
        }
        let at = u32::try_from(self.entries.len()).expect("fewer than 2^32 entries");
        let hash = member_hash(entry.key());
        self.entries.push(entry);
        let entries = &self.entries;
        self.index
            .insert_unique(hash, at, |&i| member_hash(entries[i as usize].key()));
    }

    /// Moves a few positions from the old index to the new one while the index grows,
    /// and ends the growth once every position is in the new one.
    fn grow_step(&mut self) {
        let Some(growth) = self.growing.as_mut() else {
            return;
        };
        let entries = &self.entries;
        let end = (growth.next + MOVES_PER_CHANGE).min(entries.len());
        for at in growth.next..end {
            let hash = member_hash(entries[at].key());
            if let Ok(found) = growth.old.find_entry(hash, |&i| i as usize == at) {
                found.remove();
                self.index
                    .insert_unique(hash, at as u32, |&i| member_hash(entries[i as usize].key()));
            }
        }
        growth.next = end;
        if growth.next >= entries.len() {
            assert!(
                growth.old.is_empty(),
                "every position moved to the new index"
            );
            self.growing = None;
        }
    }

    /// Removes and returns the entry at `at`; the last entry takes its place.
    pub fn remove_at(&mut self, at: usize) -> T {
        let hash = member_hash(self.entries[at].key());
        match self.index.find_entry(hash, |&i| i as usize == at) {
            Ok(found) => {
                found.remove();
            }
            Err(_) => {
                let growth = self.growing.as_mut().expect("every entry is indexed");
                let found = growth.old.find_entry(hash, |&i| i as usize == at);
                found.expect("every entry is indexed").remove();
            }
        }
        let last = self.entries.len() - 1;
        if at != last {
            self.reposition(last, at);
        }
        let removed = self.entries.swap_remove(at);
        self.grow_step();
        // Give memory back once the table is mostly empty, as Redis resizes its dicts.
        if self.growing.is_none()
            && self.entries.len() > 64
            && self.entries.len() * 4 < self.entries.capacity()
        {
            self.entries.shrink_to(self.entries.len() * 2);
            let entries = &self.entries;
            self.index
                .shrink_to(entries.len(), |&i| member_hash(entries[i as usize].key()));
        }
        removed
    }

    /// Points the index at `to` for the entry at `from` (the last entry, about to fill
    /// the hole at `to`). An entry of the old index that lands below the growth's
    /// cursor moves to the new index, which holds every position below it.
    fn reposition(&mut self, from: usize, to: usize) {
        let hash = member_hash(self.entries[from].key());
        if let Some(slot) = self.index.find_mut(hash, |&i| i as usize == from) {
            *slot = to as u32;
            return;
        }
        let growth = self.growing.as_mut().expect("every entry is indexed");
        let found = growth.old.find_entry(hash, |&i| i as usize == from);
        let mut found = found.expect("every entry is indexed");
        if to < growth.next {
            found.remove();
            let entries = &self.entries;
            self.index
                .insert_unique(hash, to as u32, |&i| member_hash(entries[i as usize].key()));
        } else {
            *found.get_mut() = to as u32;
        }
    }

    /// Every entry, in table order.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.entries.iter()
    }

    /// One scan step from `cursor` (0 starts): about `count` entries in order of their
    /// hash (at least a sixteenth of the table, so a full scan costs O(16 n)), and the
    /// cursor to continue from, 0 when done.
    pub fn scan(&self, cursor: u64, count: usize) -> (u64, Vec<&T>) {
        let mut candidates: Vec<(u64, &T)> = self
            .entries
            .iter()
            .map(|e| (member_hash(e.key()), e))
            .filter(|(h, _)| *h >= cursor)
            .collect();
        let budget = count.max(self.entries.len() / 16).max(1);
        let mut next = 0;
        if candidates.len() > budget {
            candidates.select_nth_unstable_by_key(budget - 1, |(h, _)| *h);
            let boundary = candidates[budget - 1].0;
            candidates.retain(|(h, _)| *h <= boundary);
            // Entries sharing the boundary hash all came back, so resume after it.
            next = boundary + 1;
        }
        (next, candidates.into_iter().map(|(_, e)| e).collect())
    }
}

impl<T> std::fmt::Debug for Table<T>
where
    T: Keyed + std::fmt::Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.entries.iter()).finish()
    }
}

/// What `owned` says `items` own, from the first `samples` of them (0: all), scaled
/// to all `len`: how Redis's MEMORY USAGE estimates a collection's elements.
pub(crate) fn sampled<'a, T: 'a>(
    items: impl Iterator<Item = &'a T>,
    len: usize,
    samples: usize,
    owned: impl Fn(&T) -> usize,
) -> usize {
    let wanted = if samples == 0 { len } else { samples.min(len) };
    if wanted == 0 {
        return 0;
    }
    let total: usize = items.take(wanted).map(owned).sum();
    ((total as u128 * len as u128) / wanted as u128) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn table(n: usize) -> Table<CompactBytes> {
        let mut t = Table::with_capacity(0);
        for i in 0..n {
            t.push_new(CompactBytes::new(format!("m{i}").as_bytes()));
        }
        t
    }

    #[test]
    fn find_and_remove_keep_the_index_right() {
        let mut t = table(1000);
        for i in (0..1000).step_by(3) {
            let at = t.find(format!("m{i}").as_bytes()).unwrap();
            t.remove_at(at);
        }
        for i in 0..1000 {
            assert_eq!(
                t.find(format!("m{i}").as_bytes()).is_some(),
                i % 3 != 0,
                "{i}"
            );
        }
        assert_eq!(t.len(), 666);
    }

    #[test]
    fn a_big_index_grows_a_few_entries_per_change() {
        let mut t = table(0);
        let mut present = BTreeSet::new();
        let mut grew = false;
        // Adds and removes interleaved across several growths, checked as they go.
        for i in 0..40_000u32 {
            t.push_new(CompactBytes::new(format!("m{i}").as_bytes()));
            present.insert(i);
            grew |= t.growing.is_some();
            if i % 3 == 0 {
                let gone = i / 2;
                if present.remove(&gone) {
                    let at = t.find(format!("m{gone}").as_bytes()).expect("present");
                    t.remove_at(at);
                }
            }
            if i % 997 == 0 {
                for &j in present.iter().step_by(37) {
                    let at = t.find(format!("m{j}").as_bytes()).expect("indexed");
                    assert_eq!(t.get(at).as_bytes(), format!("m{j}").as_bytes());
                }
                assert!(t.find(b"absent").is_none());
            }
        }
        assert!(grew, "the index grew incrementally at least once");
        assert_eq!(t.len(), present.len());
        for &j in &present {
            assert!(t.find(format!("m{j}").as_bytes()).is_some(), "{j}");
        }
    }

    #[test]
    fn scan_survives_growth() {
        let mut t = table(500);
        let mut seen = BTreeSet::new();
        let (mut cursor, mut calls) = (0, 0);
        loop {
            let (next, batch) = t.scan(cursor, 10);
            seen.extend(batch.iter().map(|e| e.as_bytes().to_vec()));
            calls += 1;
            if calls == 2 {
                for i in 0..2000 {
                    t.push_new(CompactBytes::new(format!("new{i}").as_bytes()));
                }
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
        for i in 0..500 {
            assert!(seen.contains(format!("m{i}").as_bytes()));
        }
        assert!(calls > 2);
    }
}
