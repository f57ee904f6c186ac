//! WATCH: the keys clients watch, and the writes that spoil their transactions.
//!
//! A write marks every watcher of its key, with the key's slot still locked; WATCH
//! registers under the same lock, so a write is either before the WATCH (not seen) or
//! after it (seen). Nobody watching costs one atomic load per write.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use parking_lot::Mutex;

/// A watcher's flag: set once any key it watches was touched.
pub type Spoiled = Arc<AtomicBool>;

/// A watched key: (database, key).
type WatchedKey = (usize, Vec<u8>);

/// Every watched key of the node, with its watchers.
#[derive(Default)]
pub struct Watches {
    /// Watchers registered (a key watched by two clients counts twice).
    count: AtomicUsize,
    keys: Mutex<HashMap<WatchedKey, Vec<Spoiled>>>,
}

impl Watches {
    /// True when some client watches some key.
    #[inline]
    pub fn any(&self) -> bool {
        self.count.load(Ordering::Acquire) > 0
    }

    /// Registers `flag` as watching `key` of `db`. Call with the key's slot locked.
    pub fn add(&self, db: usize, key: &[u8], flag: &Spoiled) {
        let mut keys = self.keys.lock();
        let watchers = keys.entry((db, key.to_vec())).or_default();
        if !watchers.iter().any(|w| Arc::ptr_eq(w, flag)) {
            watchers.push(flag.clone());
            self.count.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Removes `flag` from the watchers of `key` of `db`.
    pub fn remove(&self, db: usize, key: &[u8], flag: &Spoiled) {
        let mut keys = self.keys.lock();
        let whole = (db, key.to_vec());
        let Some(watchers) = keys.get_mut(&whole) else {
            return;
        };
        let before = watchers.len();
        watchers.retain(|w| !Arc::ptr_eq(w, flag));
        self.count
            .fetch_sub(before - watchers.len(), Ordering::AcqRel);
        if watchers.is_empty() {
            keys.remove(&whole);
        }
    }

    /// A write to `key` of `db`: spoils its watchers. Call with the key's slot locked.
    #[inline]
    pub fn touch(&self, db: usize, key: &[u8]) {
        if !self.any() {
            return;
        }
        let keys = self.keys.lock();
        if let Some(watchers) = keys.get(&(db, key.to_vec())) {
            watchers
                .iter()
                .for_each(|w| w.store(true, Ordering::Release));
        }
    }

    /// A flush of `db` (every database when `None`): spoils the watchers of the keys
    /// `exists` says are there, as Redis 7.0 does. Call with every slot locked.
    pub fn touch_flushed(&self, db: Option<usize>, mut exists: impl FnMut(usize, &[u8]) -> bool) {
        if !self.any() {
            return;
        }
        let keys = self.keys.lock();
        for ((d, key), watchers) in keys.iter() {
            if db.is_none_or(|db| db == *d) && exists(*d, key) {
                watchers
                    .iter()
                    .for_each(|w| w.store(true, Ordering::Release));
            }
        }
    }
}

/// What one connection watches; dropping it unregisters every key.
pub struct Watching {
    registry: Arc<Watches>,
    /// Set when a watched key is touched.
    pub spoiled: Spoiled,
    /// (database, key, deadline of a key alive when watched).
    keys: Vec<(usize, Vec<u8>, Option<i64>)>,
}

impl Watching {
    /// Watching nothing yet, reporting to `registry`.
    pub fn new(registry: Arc<Watches>) -> Watching {
        Watching {
            registry,
            spoiled: Arc::default(),
            keys: Vec::new(),
        }
    }

    /// Watches `key` of `db`, alive with `deadline` (or without one, or absent: `None`).
    /// Call with the key's slot locked.
    pub fn add(&mut self, db: usize, key: &[u8], deadline: Option<i64>) {
        if self.keys.iter().any(|(d, k, _)| *d == db && k == key) {
            return;
        }
        self.registry.add(db, key, &self.spoiled);
        self.keys.push((db, key.to_vec(), deadline));
    }

    /// Every watched (database, key).
    pub fn keys(&self) -> impl Iterator<Item = (usize, &[u8])> {
        self.keys.iter().map(|(d, k, _)| (*d, k.as_slice()))
    }

    /// True when EXEC must not run: a watched key was written, or it was alive with a
    /// deadline when watched and that deadline has passed (Redis 7.0 counts an expiry
    /// as a change even before the key is reclaimed).
    pub fn is_spoiled(&self, now_ms: i64) -> bool {
        self.spoiled.load(Ordering::Acquire)
            || self
                .keys
                .iter()
                .any(|(_, _, at)| at.is_some_and(|at| tessera_keyspace::is_past(at, now_ms)))
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        for (db, key, _) in &self.keys {
            self.registry.remove(*db, key, &self.spoiled);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_touch_spoils_only_its_key_and_drop_unregisters() {
        let registry = Arc::new(Watches::default());
        let mut w = Watching::new(registry.clone());
        w.add(0, b"a", None);
        w.add(0, b"a", None);
        assert!(registry.any());
        registry.touch(0, b"b");
        registry.touch(1, b"a");
        assert!(!w.is_spoiled(0));
        registry.touch(0, b"a");
        assert!(w.is_spoiled(0));
        drop(w);
        assert!(!registry.any());
    }

    #[test]
    fn a_passed_deadline_spoils() {
        let mut w = Watching::new(Arc::default());
        w.add(0, b"a", Some(100));
        assert!(!w.is_spoiled(100));
        assert!(w.is_spoiled(101));
    }
}
