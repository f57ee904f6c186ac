//! What must hold of a topology between any two engine inputs, checked in debug builds
//! after every input (and so by the simulator, thousands of times per seed) so that a
//! mutation that breaks a cross-reference fails where it happens, not later as a
//! wrong MOVED or a lost slot.

use super::{NodeFlags, Topology};
use crate::slot_bitmap::SLOTS;

impl Topology {
    /// Panics, naming the broken rule, unless the view is consistent:
    ///
    /// - every node is filed under its own ID, and this node is known and flagged
    ///   `myself` (and no other node is);
    /// - each slot has at most one owner, the owner is a known node whose bitmap holds
    ///   the slot, and every node's bitmap and slot count agree with the owner table
    ///   (so one owner per slot holds from either side);
    /// - slots marked "owner not claiming" have an owner;
    /// - a replica's master is a known node listing it among its replicas, or, for this
    ///   node only, a master that was forgotten but is still followed (as Redis keeps
    ///   `myself->slaveof` until a new master is set); each replica a master lists is
    ///   known, listed once, and names that master;
    /// - migrating and importing slots are real slots;
    /// - this node never voted in an epoch the cluster has not reached, so a vote
    ///   recorded for an epoch cannot be given again in it.
    pub fn check_invariants(&self) {
        self.check_nodes_and_epochs();
        self.check_structure();
    }

    /// The rules that cost O(nodes): node records, myself, the vote epoch.
    pub(crate) fn check_nodes_and_epochs(&self) {
        for (id, n) in &self.nodes {
            assert_eq!(*id, n.id, "node {id} filed under another ID");
            assert_eq!(
                n.flags.has(NodeFlags::MYSELF),
                *id == self.myself,
                "node {id}: the myself flag marks this node and only it"
            );
        }
        assert!(self.nodes.contains_key(&self.myself), "myself is known");
        assert!(
            self.last_vote_epoch <= self.current_epoch,
            "voted in epoch {} beyond currentEpoch {}",
            self.last_vote_epoch,
            self.current_epoch
        );
    }

    /// The rules over slots and replica lists, O(slots). Only the structural methods
    /// change these, and each bumps `version`: the engine runs this when it moved.
    pub(crate) fn check_structure(&self) {
        assert_eq!(self.slots.len(), SLOTS, "one owner entry per slot");
        // Every bit a node holds names it in the owner table, and there are as many
        // bits as owned slots: so the bits and the table are one bijection (a slot
        // cannot be counted by two nodes, and an owner is always a known node).
        let owned = self.slots.iter().filter(|o| o.is_some()).count();
        let mut bits = 0;
        for (id, n) in &self.nodes {
            let count = n.slots.count();
            assert_eq!(n.slot_count, count, "node {id}: slot_count is stale");
            bits += count;
            for slot in n.slots.iter() {
                assert_eq!(
                    self.slots[slot as usize],
                    Some(*id),
                    "slot {slot} is in node {id}'s bitmap but not owned by it"
                );
            }
        }
        assert_eq!(bits, owned, "owned slots missing from their owner's bitmap");
        for slot in self.owner_not_claiming.iter() {
            assert!(
                self.slots[slot as usize].is_some(),
                "slot {slot} marked not claimed but has no owner"
            );
        }
        for (id, n) in &self.nodes {
            if let Some(master) = n.master {
                match self.nodes.get(&master) {
                    Some(m) => assert!(
                        m.replicas.contains(id),
                        "node {id} follows {master}, which does not list it"
                    ),
                    None => assert_eq!(*id, self.myself, "node {id} follows unknown node {master}"),
                }
            }
            for (i, r) in n.replicas.iter().enumerate() {
                assert!(
                    !n.replicas[..i].contains(r),
                    "node {id} lists replica {r} twice"
                );
                let replica = self
                    .nodes
                    .get(r)
                    .unwrap_or_else(|| panic!("node {id} lists unknown replica {r}"));
                assert_eq!(
                    replica.master,
                    Some(*id),
                    "node {id} lists replica {r}, which follows another"
                );
            }
        }
        for slot in self.migrating.keys().chain(self.importing.keys()) {
            assert!((*slot as usize) < SLOTS, "open slot {slot} out of range");
        }
    }
}
