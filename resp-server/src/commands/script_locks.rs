//! The slots a running script holds.
//!
//! A script outside EXEC holds the engine's lock first (`crate::scripts`), then the
//! slots of its declared keys, to its end. Where Redis lets a script reach keys it did
//! not declare (outside cluster mode, a script without keys, or one flagged
//! `allow-cross-slot-keys`), the set grows as the script reaches them, instead of
//! taking every lock up front (16384 locks per database: tens of milliseconds):
//! - a free slot is taken at once;
//! - a busy one, before the script had any effect, restarts the script: its locks are
//!   released and taken again with the busy slot, waiting, in order. Nothing the first
//!   run did was seen by anybody, so the second run is the only one there was;
//! - a busy one after an effect is waited for when that keeps the global lock order,
//!   else tried again until a deadline, past which the call is refused: a command
//!   taking several slots in order may hold it while it waits for one of ours. A
//!   function never waits: it holds the libraries' lock, which a full sync or an AOF
//!   rewrite takes while holding every slot.
//!
//! A command over every slot (DBSIZE, KEYS, FLUSHALL ...) needs every lock: a script
//! with no effect yet restarts holding them all; after an effect it is refused.

use std::time::{Duration, Instant};

use tessera_keyspace::{Db, Footprint, Keyspace, TxLocks};

/// How long a script that has effects keeps trying a slot taken out of order.
const OUT_OF_ORDER_PATIENCE: Duration = Duration::from_millis(500);

/// What reaching a slot came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reach {
    /// The script holds the slot now.
    Held,
    /// The script must stop and run again with more locks.
    Restart,
    /// The script may not reach this slot: it holds a fixed set.
    Undeclared,
    /// The slot stayed busy; the command must be refused.
    Busy,
}

/// The locks of one script run, and the ones its next run takes if it restarts.
pub(super) struct ScriptLocks<'n> {
    keyspace: &'n Keyspace,
    /// `None` inside EXEC, whose locks (every slot) are used.
    locks: Option<TxLocks<'n>>,
    growing: bool,
    /// Whether a slot may be waited for (see the module's rules).
    may_wait: bool,
    wanted: Vec<(usize, u16)>,
    everything: bool,
}

impl<'n> ScriptLocks<'n> {
    /// Locks `declared` (or, inside EXEC, nothing: the transaction holds every slot).
    /// `growing` says whether the script may reach slots beyond them, `may_wait`
    /// whether it may wait for one.
    pub(super) fn take(
        keyspace: &'n Keyspace,
        declared: Vec<(usize, u16)>,
        growing: bool,
        may_wait: bool,
        in_tx: bool,
    ) -> ScriptLocks<'n> {
        let mut locks = ScriptLocks {
            keyspace,
            locks: None,
            growing,
            may_wait,
            wanted: declared,
            everything: false,
        };
        if !in_tx {
            locks.acquire();
        }
        locks
    }

    /// Releases what is held and takes what the next run needs, waiting in order.
    /// Only the engine's lock is held meanwhile, which nobody holding a slot waits for.
    pub(super) fn acquire(&mut self) {
        self.locks = None;
        let footprint = if self.everything {
            Footprint::Everything
        } else {
            Footprint::Slots(self.wanted.clone())
        };
        let dbs: Vec<usize> = if self.everything {
            (0..self.keyspace.database_count()).collect()
        } else {
            let mut dbs: Vec<usize> = self.wanted.iter().map(|p| p.0).collect();
            dbs.sort_unstable();
            dbs.dedup();
            dbs
        };
        self.locks = Some(self.keyspace.lock_transaction(&footprint, &dbs));
    }

    /// Makes sure the script holds `slot` of database `db` (see the module's rules).
    pub(super) fn reach(&mut self, db: usize, slot: u16, effects: bool) -> Reach {
        let keyspace = self.keyspace;
        let Some(locks) = self.locks.as_mut() else {
            return Reach::Held;
        };
        let table = keyspace.existing_db(db);
        if table.is_some_and(|t| locks.holds(t, slot)) {
            return Reach::Held;
        }
        if !self.growing {
            return Reach::Undeclared;
        }
        let reached = match table {
            // Creating a database may wait for a holder of every lock: a restart
            // creates it before taking any.
            None => false,
            Some(table) => Self::grow(locks, table, slot, effects, self.may_wait),
        };
        if reached {
            self.wanted.push((db, slot));
            return Reach::Held;
        }
        if effects {
            return Reach::Busy;
        }
        self.wanted.push((db, slot));
        Reach::Restart
    }

    /// Adds a slot without restarting: at once if free; after an effect, by waiting
    /// in order or, out of order, by trying until the deadline.
    fn grow(
        locks: &mut TxLocks<'n>,
        table: &'n Db,
        slot: u16,
        effects: bool,
        may_wait: bool,
    ) -> bool {
        if locks.try_extend(table, slot) {
            return true;
        }
        if !effects {
            return false;
        }
        if may_wait && locks.in_order(table, slot) {
            locks.extend(table, slot);
            return true;
        }
        let deadline = Instant::now() + OUT_OF_ORDER_PATIENCE;
        while Instant::now() < deadline {
            std::thread::yield_now();
            if locks.try_extend(table, slot) {
                return true;
            }
        }
        false
    }

    /// Makes sure the script holds every slot, for a command over all of them.
    pub(super) fn reach_everything(&mut self, effects: bool) -> Reach {
        match self.locks.as_ref() {
            None => Reach::Held,
            Some(locks) if locks.holds_everything() => Reach::Held,
            // Taking every lock after an effect could wait out of order.
            Some(_) if !self.growing || effects => Reach::Undeclared,
            Some(_) => {
                self.everything = true;
                Reach::Restart
            }
        }
    }
}
