//! Keys added and read lookups that miss, told to the node as they happen (Redis's
//! `new` and `keymiss` keyspace events, raised in dbAdd and lookupKey). Off, they
//! cost one relaxed load on the path that adds a key or misses one.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::compact_bytes::CompactBytes;

/// What is announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Announce {
    /// A key was added to the database.
    New,
    /// A read lookup found no live key.
    Miss,
}

impl Announce {
    fn bit(self) -> u8 {
        match self {
            Announce::New => 1,
            Announce::Miss => 2,
        }
    }
}

/// Told of an announcement: `(database, what, key)`. It runs with the key's slot
/// locked, so it is ordered with every other change to that slot.
pub type AnnounceHook = Box<dyn Fn(usize, Announce, &[u8]) + Send + Sync>;

/// Told of keys reclaimed in `ExpiryMode::Journal`: `(database, keys)`. It runs while
/// their slot is still locked, so whatever it records is ordered with every other
/// change to that slot.
pub type ExpiredHook = Box<dyn Fn(usize, &[CompactBytes]) + Send + Sync>;

/// The hooks every table of a keyspace tells.
#[derive(Default)]
pub(crate) struct TableEvents {
    /// Keys reclaimed in journal mode.
    pub(crate) expired: OnceLock<ExpiredHook>,
    announce: OnceLock<AnnounceHook>,
    /// The [`Announce`] bits that are wanted.
    wanted: AtomicU8,
}

impl TableEvents {
    /// Sets the announcement hook; only the first call takes effect.
    pub(crate) fn set_hook(&self, hook: AnnounceHook) {
        let _ = self.announce.set(hook);
    }

    /// Turns the announcement of new keys and of misses on or off.
    pub(crate) fn set_wanted(&self, new: bool, miss: bool) {
        let bits = if new { Announce::New.bit() } else { 0 } | if miss { 2 } else { 0 };
        self.wanted.store(bits, Ordering::Relaxed);
    }

    /// Whether `what` is announced: the one load the hot paths pay.
    #[inline]
    pub(crate) fn wants(&self, what: Announce) -> bool {
        self.wanted.load(Ordering::Relaxed) & what.bit() != 0
    }

    /// Tells the hook of `what` on `key`, after handing it the keys reclaimed so far,
    /// so an expired key's event comes before the `new` or `keymiss` that follows it,
    /// as in Redis.
    #[cold]
    pub(crate) fn announce(
        &self,
        db: usize,
        reclaimed: Vec<CompactBytes>,
        what: Announce,
        key: &[u8],
    ) {
        if !reclaimed.is_empty() {
            if let Some(hook) = self.expired.get() {
                hook(db, &reclaimed);
            }
        }
        if let Some(hook) = self.announce.get() {
            hook(db, what, key);
        }
    }
}
