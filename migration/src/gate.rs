//! The migration gates: what keeps a command that found its key here from running
//! after MIGRATE moved the key away.
//!
//! A command on a slot this node is migrating holds its slot's gate shared, from the
//! routing decision (is the key here?) to its end; MIGRATE holds the gates of its
//! keys' slots exclusively while it copies and deletes. The gates are striped by slot,
//! so MIGRATEs of different slots run side by side (the admin plane's slot mover sends
//! them on several connections) and a command on one moving slot never waits for the
//! move of another.

use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Stripes: slots map to `slot % STRIPES`; enough that concurrent moves rarely share
/// one, few enough to be nothing in memory.
const STRIPES: usize = 256;

/// The gates of one node.
pub struct SlotGates {
    stripes: Box<[RwLock<()>]>,
}

impl Default for SlotGates {
    fn default() -> Self {
        SlotGates {
            stripes: (0..STRIPES).map(|_| RwLock::new(())).collect(),
        }
    }
}

impl SlotGates {
    /// Gates for a node.
    pub fn new() -> SlotGates {
        SlotGates::default()
    }

    /// Held by a command on `slot` while the slot is migrating.
    pub fn enter(&self, slot: u16) -> RwLockReadGuard<'_, ()> {
        self.stripes[slot as usize % STRIPES].read()
    }

    /// Held by MIGRATE over the slots of its keys. Taken in stripe order, so two
    /// MIGRATEs over overlapping slots never deadlock; a command holds one stripe only.
    pub fn close(&self, slots: impl IntoIterator<Item = u16>) -> Vec<RwLockWriteGuard<'_, ()>> {
        let mut stripes: Vec<usize> = slots.into_iter().map(|s| s as usize % STRIPES).collect();
        stripes.sort_unstable();
        stripes.dedup();
        stripes
            .into_iter()
            .map(|i| self.stripes[i].write())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_of_different_slots_do_not_block_each_other() {
        let gates = SlotGates::new();
        let a = gates.close([1]);
        // Another slot's gate is free, for a MIGRATE or a command.
        let b = gates.close([2, 3]);
        drop(gates.enter(4));
        assert!(gates.stripes[1].try_read().is_none());
        drop((a, b));
        assert!(gates.stripes[1].try_read().is_some());
    }

    #[test]
    fn a_command_on_the_moving_slot_waits() {
        let gates = SlotGates::new();
        let closed = gates.close([7, 7 + STRIPES as u16]);
        assert_eq!(closed.len(), 1);
        assert!(gates.stripes[7].try_read().is_none());
    }
}
