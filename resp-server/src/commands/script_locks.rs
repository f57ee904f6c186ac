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
//!
//! Inside EXEC (which took the engine before its locks) a script grows the
//! transaction's locks by the same rules, as one that already had effects: the
//! commands queued before it ran, so it never restarts.

use std::time::{Duration, Instant};

use tessera_keyspace::{
    Db, Footprint, Keyspace, TxLocks, running_extend, running_holds, running_holds_everything,
    running_in_order, running_try_extend,
};

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
    /// `None` inside EXEC, whose locks are used and grown.
    locks: Option<TxLocks<'n>>,
    in_tx: bool,
    growing: bool,
    /// Whether a slot may be waited for (see the module's rules).
    may_wait: bool,
    wanted: Vec<(usize, u16)>,
    everything: bool,
}

impl<'n> ScriptLocks<'n> {
    /// Locks `declared` (or, inside EXEC, nothing: the transaction holds them).
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
            in_tx,
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
    /// Inside EXEC the script never restarts: the transaction ran commands before it.
    pub(super) fn reach(&mut self, db: usize, slot: u16, effects: bool) -> Reach {
        let effects = effects || self.in_tx;
        let table = self.keyspace.existing_db(db);
        if table.is_some_and(|t| running_holds(t, slot)) {
            return Reach::Held;
        }
        if !self.growing {
            return Reach::Undeclared;
        }
        let reached = match table {
            // Creating a database may wait for a holder of every lock: a restart
            // creates it before taking any.
            None => false,
            Some(table) => self.grow(table, slot, effects),
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
    fn grow(&self, table: &Db, slot: u16, effects: bool) -> bool {
        if running_try_extend(table, slot) {
            return true;
        }
        if !effects {
            return false;
        }
        if self.may_wait && running_in_order(table, slot) {
            running_extend(table, slot);
            return true;
        }
        let deadline = Instant::now() + OUT_OF_ORDER_PATIENCE;
        while Instant::now() < deadline {
            std::thread::yield_now();
            if running_try_extend(table, slot) {
                return true;
            }
        }
        false
    }

    /// Makes sure the script holds every slot, for a command over all of them.
    pub(super) fn reach_everything(&mut self, effects: bool) -> Reach {
        if running_holds_everything() {
            Reach::Held
        } else if !self.growing || effects || self.in_tx {
            // Taking every lock after an effect could wait out of order.
            Reach::Undeclared
        } else {
            self.everything = true;
            Reach::Restart
        }
    }
}
