//! The locks a transaction holds from the start of EXEC to its end.
//!
//! A transaction must run as one step for every other client, yet its commands are the
//! ordinary handlers, each locking the slots of its own keys. So EXEC takes every lock
//! the transaction can need up front, in the global (database, slot) order that makes
//! deadlock impossible, and registers them with this thread: while registered, a
//! handler's `Db::lock` of one of those slots is lent the table already held instead of
//! waiting on its own mutex. Nothing new is acquired mid-transaction, so the order
//! argument still holds, and blocked clients woken by the transaction's pushes are
//! served once, when the real locks are released, after every queued command ran.

use std::cell::{Cell, RefCell};

use crate::db::{AllLocks, Db, Keyspace, SlotLocks};
use crate::slot_table::SlotTable;

/// One lendable table: whose it is, where it is, and whether it is lent right now.
struct Lendable {
    db: usize,
    slot: u16,
    table: *mut SlotTable,
    lent: bool,
}

thread_local! {
    /// A cheap gate: true only while this thread runs a transaction.
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
    /// True while this thread's transaction holds every lock, the database-creation
    /// lock included.
    static HOLDS_ALL: Cell<bool> = const { Cell::new(false) };
    /// The tables held, sorted by (database address, slot).
    static TABLES: RefCell<Vec<Lendable>> = const { RefCell::new(Vec::new()) };
    /// Slots the running transaction took as it ran. They are kept here rather than
    /// in its `TxLocks`, so code that cannot reach that value (a script inside EXEC)
    /// can add to them; `TxLocks` releases them when it drops.
    static GROWN: RefCell<Vec<SlotLocks<'static>>> = const { RefCell::new(Vec::new()) };
    /// The keyspace the running transaction locks ([`Keyspace::owner`]).
    static OWNER: Cell<usize> = const { Cell::new(0) };
    /// The last (database, slot) held, in the global lock order.
    static LAST: Cell<Option<(usize, u16)>> = const { Cell::new(None) };
}

/// Which locks a transaction takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Footprint {
    /// These (database, slot) pairs.
    Slots(Vec<(usize, u16)>),
    /// Every slot of every database: some command may touch any key.
    Everything,
}

/// The locks of a running transaction; dropping it ends the transaction.
pub struct TxLocks<'a> {
    held: Vec<SlotLocks<'a>>,
    all: Option<AllLocks<'a>>,
}

fn db_key(db: &Db) -> usize {
    std::ptr::from_ref(db) as usize
}

/// Lends the held table of `slot` in `db`, if this thread's transaction holds it.
/// The table is marked lent until [`give_back`].
pub(crate) fn lend(db: &Db, slot: u16) -> Option<*mut SlotTable> {
    if !ACTIVE.with(Cell::get) {
        return None;
    }
    let key = (db_key(db), slot);
    TABLES.with(|tables| {
        let mut tables = tables.borrow_mut();
        let at = tables.binary_search_by_key(&key, |t| (t.db, t.slot)).ok()?;
        let entry = &mut tables[at];
        // A second lock of one slot inside one command would deadlock outside a
        // transaction; inside one it would alias the table.
        assert!(!entry.lent, "slot {slot} locked twice by one command");
        entry.lent = true;
        Some(entry.table)
    })
}

/// Returns a table lent by [`lend`].
pub(crate) fn give_back(db: &Db, slot: u16) {
    let key = (db_key(db), slot);
    TABLES.with(|tables| {
        let mut tables = tables.borrow_mut();
        if let Ok(at) = tables.binary_search_by_key(&key, |t| (t.db, t.slot)) {
            tables[at].lent = false;
        }
    });
}

/// True while this thread's transaction holds the database-creation lock.
pub(crate) fn holds_all() -> bool {
    HOLDS_ALL.with(Cell::get)
}

impl Keyspace {
    /// Takes the locks of `footprint` for a transaction on this thread, after creating
    /// the databases in `dbs` (a database cannot be created while every lock is held).
    ///
    /// # Panics
    /// If this thread already runs a transaction.
    pub fn lock_transaction(&self, footprint: &Footprint, dbs: &[usize]) -> TxLocks<'_> {
        assert!(!ACTIVE.with(Cell::get), "transactions do not nest");
        for &d in dbs {
            self.db(d);
        }
        let mut locks = TxLocks {
            held: Vec::new(),
            all: None,
        };
        let mut last = None;
        let mut tables = Vec::new();
        match footprint {
            Footprint::Everything => {
                let mut all = self.lock_all();
                for (index, db_locks) in all.dbs() {
                    let key = db_key(self.db(index));
                    for (slot, guard) in db_locks.tables() {
                        tables.push(Lendable {
                            db: key,
                            slot,
                            table: std::ptr::from_mut::<SlotTable>(guard),
                            lent: false,
                        });
                    }
                }
                locks.all = Some(all);
                HOLDS_ALL.with(|h| h.set(true));
            }
            Footprint::Slots(pairs) => {
                let mut pairs = pairs.clone();
                pairs.sort_unstable();
                pairs.dedup();
                let mut at = 0;
                while at < pairs.len() {
                    let index = pairs[at].0;
                    let end = at + pairs[at..].iter().take_while(|p| p.0 == index).count();
                    let db = self.db(index);
                    let mut held = db.lock_slots(pairs[at..end].iter().map(|p| p.1));
                    for (slot, guard) in held.tables() {
                        tables.push(Lendable {
                            db: db_key(db),
                            slot,
                            table: std::ptr::from_mut::<SlotTable>(guard),
                            lent: false,
                        });
                    }
                    locks.held.push(held);
                    last = pairs.get(end - 1).copied();
                    at = end;
                }
            }
        }
        tables.sort_unstable_by_key(|t| (t.db, t.slot));
        TABLES.with(|t| *t.borrow_mut() = tables);
        OWNER.with(|o| o.set(self.owner()));
        LAST.with(|l| l.set(last));
        ACTIVE.with(|a| a.set(true));
        locks
    }
}

/// True when the running transaction holds `slot` of `db` (false without one).
pub fn running_holds(db: &Db, slot: u16) -> bool {
    if holds_all() {
        return true;
    }
    let key = (db_key(db), slot);
    TABLES.with(|t| {
        t.borrow()
            .binary_search_by_key(&key, |l| (l.db, l.slot))
            .is_ok()
    })
}

/// True when the running transaction holds every lock.
pub fn running_holds_everything() -> bool {
    holds_all()
}

/// True when the running transaction may take `slot` of `db` by waiting: it comes
/// after every lock held, in the global (database, slot) order. Whoever holds it then
/// waits, if at all, only for locks later still, none of them ours, so no wait can
/// close a cycle.
pub fn running_in_order(db: &Db, slot: u16) -> bool {
    LAST.with(Cell::get)
        .is_none_or(|last| (db.index(), slot) > last)
}

/// Adds `slot` of `db` to the running transaction if its lock is free at this instant.
pub fn running_try_extend(db: &Db, slot: u16) -> bool {
    match db.try_lock_slot(slot) {
        Some(held) => {
            register(db, slot, held);
            true
        }
        None => false,
    }
}

/// Adds `slot` of `db` to the running transaction, waiting for its lock.
///
/// # Panics
/// If the slot is not [`running_in_order`]: waiting out of order can deadlock.
pub fn running_extend(db: &Db, slot: u16) {
    assert!(running_in_order(db, slot), "a lock taken out of order");
    let held = db.lock_slots([slot]);
    register(db, slot, held);
}

fn register(db: &Db, slot: u16, mut held: SlotLocks<'_>) {
    assert!(ACTIVE.with(Cell::get), "no transaction runs on this thread");
    assert!(!holds_all(), "every lock is held already");
    assert_eq!(
        OWNER.with(Cell::get),
        db.owner(),
        "a slot of another keyspace than the transaction's"
    );
    let entry = held.tables().next().map(|(s, guard)| Lendable {
        db: db_key(db),
        slot: s,
        table: std::ptr::from_mut::<SlotTable>(guard),
        lent: false,
    });
    let entry = entry.expect("one slot was locked");
    TABLES.with(|t| {
        let mut tables = t.borrow_mut();
        let at = tables
            .binary_search_by_key(&(entry.db, entry.slot), |l| (l.db, l.slot))
            .expect_err("a slot is registered once");
        tables.insert(at, entry);
    });
    // SAFETY: only the lifetime changes. The guard borrows `db`, which belongs to the
    // keyspace the running `TxLocks` borrows (asserted above), and that `TxLocks`
    // drops every guard kept here before it ends (see its Drop), so none outlives
    // the keyspace.
    let held = unsafe { std::mem::transmute::<SlotLocks<'_>, SlotLocks<'static>>(held) };
    GROWN.with(|g| g.borrow_mut().push(held));
    LAST.with(|l| l.set(l.get().max(Some((db.index(), slot)))));
}

impl Drop for TxLocks<'_> {
    fn drop(&mut self) {
        let tables = TABLES.with(|t| std::mem::take(&mut *t.borrow_mut()));
        ACTIVE.with(|a| a.set(false));
        HOLDS_ALL.with(|h| h.set(false));
        LAST.with(|l| l.set(None));
        // A lent table still in use would outlive its mutex guard, released below.
        assert!(
            tables.iter().all(|t| !t.lent),
            "a slot table lent to a transaction's command was not given back"
        );
        // Taken out first: releasing a guard may serve blocked clients, who lock.
        let grown = GROWN.with(|g| std::mem::take(&mut *g.borrow_mut()));
        drop(grown);
        // The guards drop after this body: each release serves blocked clients.
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash_slot::key_slot;
    use crate::value::{StrValue, Value};

    #[test]
    fn commands_inside_a_transaction_reuse_its_locks() {
        let ks = Keyspace::new(2, 7);
        let slot = key_slot(b"k");
        let tx = ks.lock_transaction(&Footprint::Slots(vec![(0, slot), (1, slot)]), &[1]);
        // Would deadlock without lending: the mutexes are held by `tx`.
        ks.db(0)
            .lock(slot)
            .insert(b"k", Value::Str(StrValue::new(b"v")));
        ks.db(1)
            .lock(slot)
            .insert(b"k", Value::Str(StrValue::new(b"w")));
        assert_eq!(ks.db(0).lock(slot).len(), 1);
        drop(tx);
        assert_eq!(ks.db(1).lock(slot).len(), 1);
    }

    #[test]
    fn a_growing_set_lends_what_it_took_and_keeps_the_order() {
        let ks = Keyspace::new(1, 7);
        let tx = ks.lock_transaction(&Footprint::Slots(vec![(0, 100)]), &[0]);
        let db = ks.db(0);
        assert!(running_holds(db, 100) && !running_holds(db, 50));
        assert!(!running_in_order(db, 50) && running_in_order(db, 200));
        assert!(running_try_extend(db, 50), "a free slot is taken at once");
        running_extend(db, 200);
        assert!(running_holds(db, 50) && running_holds(db, 200));
        // Lent, not locked again (that would wait on itself).
        db.lock(50).insert(b"k", Value::Str(StrValue::new(b"v")));
        let other = std::thread::scope(|s| s.spawn(|| db.try_lock_slot(50).is_some()).join());
        assert!(!other.expect("thread"), "held for the transaction");
        drop(tx);
        assert_eq!(db.lock(50).len(), 1);
        assert!(
            db.try_lock_slot(50).is_some(),
            "released with the transaction"
        );
    }

    #[test]
    fn everything_lends_every_slot_and_lock_all_nests() {
        let ks = Keyspace::new(1, 7);
        let tx = ks.lock_transaction(&Footprint::Everything, &[]);
        ks.db(0)
            .lock(5)
            .insert(b"x", Value::Str(StrValue::new(b"v")));
        assert_eq!(ks.db(0).len(), 1);
        drop(ks.lock_all());
        drop(tx);
        assert_eq!(ks.db(0).len(), 1);
    }

    #[test]
    #[should_panic(expected = "locked twice")]
    fn one_slot_lent_twice_is_refused() {
        let ks = Keyspace::new(1, 7);
        let _tx = ks.lock_transaction(&Footprint::Slots(vec![(0, 3)]), &[]);
        let _a = ks.db(0).lock(3);
        let _b = ks.db(0).lock(3);
    }
}
