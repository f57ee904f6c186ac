//! The cluster as one node sees it: nodes, slot owners, epochs.
//!
//! Structural operations only (add, delete, rename nodes; bind slots; attach replicas),
//! each keeping every cross-reference consistent. The protocol rules that decide when
//! to apply them live in the engine.

mod effects;
mod flags;
mod invariants;
mod load;
mod mutate;
mod node;

pub use effects::Effects;
pub use flags::NodeFlags;
pub use node::{ClusterNode, LinkId};

use std::collections::BTreeMap;

use crate::node_id::NodeId;
use crate::slot_bitmap::{SLOTS, SlotBitmap};

/// The cluster view. Nodes live in an ordered map so that iteration, and therefore a
/// seeded simulation, is deterministic.
#[derive(Debug, Clone)]
pub struct Topology {
    /// This node's ID.
    myself: NodeId,
    /// Every known node, this one included.
    nodes: BTreeMap<NodeId, ClusterNode>,
    /// The owner of each slot.
    slots: Vec<Option<NodeId>>,
    /// Slots this node is migrating, and to whom.
    migrating: BTreeMap<u16, NodeId>,
    /// Slots this node is importing, and from whom.
    importing: BTreeMap<u16, NodeId>,
    /// Slots whose owner no longer claims them (kept bound to avoid client errors,
    /// but never asserted in UPDATE messages).
    owner_not_claiming: SlotBitmap,
    /// The cluster's logical clock as seen here.
    current_epoch: u64,
    /// The epoch of this node's last vote.
    last_vote_epoch: u64,
    /// Bumped by every change that can alter routing (slot owners, roles, addresses);
    /// the engine republishes its routing snapshot when it moves. Private: only the
    /// mutation methods move it, so none can forget to.
    version: u64,
    /// What the changes so far oblige the engine to do (drained once per input).
    effects: Effects,
}

impl Topology {
    /// A topology holding only this node, a master with no slots.
    pub fn new(myself: NodeId, now: u64) -> Topology {
        let mut nodes = BTreeMap::new();
        nodes.insert(
            myself,
            ClusterNode::new(myself, NodeFlags::MYSELF | NodeFlags::MASTER, now),
        );
        Topology {
            myself,
            nodes,
            slots: vec![None; SLOTS],
            migrating: BTreeMap::new(),
            importing: BTreeMap::new(),
            owner_not_claiming: SlotBitmap::new(),
            current_epoch: 0,
            last_vote_epoch: 0,
            version: 0,
            effects: Effects::default(),
        }
    }

    /// This node's ID.
    pub fn myself(&self) -> NodeId {
        self.myself
    }

    /// Every known node, this one included, in ID order.
    pub fn nodes(&self) -> &BTreeMap<NodeId, ClusterNode> {
        &self.nodes
    }

    /// Every node's record, mutable (failure reports, ping times: facts about a
    /// node that neither routing nor nodes.conf depends on).
    pub fn nodes_mut(&mut self) -> impl Iterator<Item = &mut ClusterNode> {
        self.nodes.values_mut()
    }

    /// The owner of `slot`, if it is bound.
    pub fn slot_owner(&self, slot: u16) -> Option<NodeId> {
        self.slots[slot as usize]
    }

    /// The owner of every slot, in slot order.
    pub fn slot_owners(&self) -> &[Option<NodeId>] {
        &self.slots
    }

    /// Slots this node is migrating, and to whom.
    pub fn migrating(&self) -> &BTreeMap<u16, NodeId> {
        &self.migrating
    }

    /// Slots this node is importing, and from whom.
    pub fn importing(&self) -> &BTreeMap<u16, NodeId> {
        &self.importing
    }

    /// Slots whose owner no longer claims them.
    pub fn owner_not_claiming(&self) -> &SlotBitmap {
        &self.owner_not_claiming
    }

    /// The cluster's logical clock as seen here.
    pub fn current_epoch(&self) -> u64 {
        self.current_epoch
    }

    /// The epoch of this node's last vote.
    pub fn last_vote_epoch(&self) -> u64 {
        self.last_vote_epoch
    }

    /// This node's record.
    pub fn me(&self) -> &ClusterNode {
        &self.nodes[&self.myself]
    }

    /// This node's record, mutable.
    pub fn me_mut(&mut self) -> &mut ClusterNode {
        self.nodes
            .get_mut(&self.myself)
            .expect("myself is always known")
    }

    /// A node by ID.
    pub fn node(&self, id: &NodeId) -> Option<&ClusterNode> {
        self.nodes.get(id)
    }

    /// A node by ID, mutable.
    pub fn node_mut(&mut self, id: &NodeId) -> Option<&mut ClusterNode> {
        self.nodes.get_mut(id)
    }

    /// This node's master if it is a replica, else itself: whose slots it reports.
    pub fn my_shard_master(&self) -> NodeId {
        self.me().master.unwrap_or(self.myself)
    }

    /// The configEpoch a node's lines and headers show: its master's for a replica.
    pub fn shown_epoch(&self, id: &NodeId) -> u64 {
        let n = &self.nodes[id];
        match (n.is_replica(), n.master.and_then(|m| self.nodes.get(&m))) {
            (true, Some(master)) => master.config_epoch,
            _ => n.config_epoch,
        }
    }

    /// The largest configEpoch known, or currentEpoch if larger.
    pub fn max_epoch(&self) -> u64 {
        self.nodes
            .values()
            .map(|n| n.config_epoch)
            .max()
            .unwrap_or(0)
            .max(self.current_epoch)
    }

    /// Adds a node (replacing any record with the same ID).
    pub fn add_node(&mut self, node: ClusterNode) {
        self.version += 1;
        self.nodes.insert(node.id, node);
    }

    /// Binds `slot` to `owner`; false if the slot already has an owner. Records a
    /// save and a state update when it binds.
    pub fn add_slot(&mut self, owner: NodeId, slot: u16) -> bool {
        if self.slots[slot as usize].is_some() {
            return false;
        }
        let Some(n) = self.nodes.get_mut(&owner) else {
            return false;
        };
        n.slots.insert(slot);
        n.slot_count += 1;
        self.slots[slot as usize] = Some(owner);
        self.version += 1;
        // A slot changing owner is saved and may change the cluster state.
        self.needs_save(false);
        self.needs_state_update();
        true
    }

    /// Unbinds `slot`; false if it had no owner. Records a save and a state update when
    /// it unbinds.
    pub fn del_slot(&mut self, slot: u16) -> bool {
        self.version += 1;
        let Some(owner) = self.slots[slot as usize].take() else {
            return false;
        };
        if let Some(n) = self.nodes.get_mut(&owner) {
            n.slots.remove(slot);
            n.slot_count -= 1;
        }
        self.owner_not_claiming.remove(slot);
        self.needs_save(false);
        self.needs_state_update();
        true
    }

    /// Unbinds every slot of `owner`; returns how many.
    pub fn del_node_slots(&mut self, owner: &NodeId) -> usize {
        let slots: Vec<u16> = match self.nodes.get(owner) {
            Some(n) => n.slots.iter().collect(),
            None => return 0,
        };
        for &s in &slots {
            self.del_slot(s);
        }
        slots.len()
    }

    /// Detaches `replica` from its current master's replica list.
    fn detach_replica(&mut self, replica: &NodeId) {
        let master = self.nodes.get(replica).and_then(|n| n.master);
        if let Some(m) = master.and_then(|m| self.nodes.get_mut(&m)) {
            m.replicas.retain(|r| r != replica);
            // A master left with no replica at all (not even a failing one) is no
            // longer a migration target, as in Redis: it was failed over or emptied.
            if m.replicas.is_empty() {
                m.flags.clear(NodeFlags::MIGRATE_TO);
            }
        }
    }

    /// Makes `replica` a replica of `master` in this view (no role flags changed).
    /// Records a save.
    pub fn attach_replica(&mut self, replica: NodeId, master: NodeId) {
        self.version += 1;
        self.needs_save(false);
        self.detach_replica(&replica);
        if let Some(m) = self.nodes.get_mut(&master)
            && !m.replicas.contains(&replica)
        {
            m.replicas.push(replica);
            // A master that ever had a replica is a target for replica migration.
            m.flags.set(NodeFlags::MIGRATE_TO);
        }
        if let Some(r) = self.nodes.get_mut(&replica) {
            r.master = Some(master);
        }
    }

    /// Turns `id` into a master in this view (Redis's clusterSetNodeAsMaster). A
    /// promoted replica becomes a candidate for replica migration.
    pub fn set_node_as_master(&mut self, id: &NodeId) {
        self.version += 1;
        let Some(n) = self.nodes.get(id) else { return };
        if n.is_master() {
            return;
        }
        if n.master.is_some() {
            self.detach_replica(id);
            // A promoted replica starts without replicas of its own: mark it as a
            // target for replica migration (Redis marks the new master, not the old).
            if *id != self.myself
                && let Some(promoted) = self.nodes.get_mut(id)
            {
                promoted.flags.set(NodeFlags::MIGRATE_TO);
            }
        }
        let n = self.nodes.get_mut(id).expect("checked above");
        n.flags.clear(NodeFlags::REPLICA);
        n.flags.set(NodeFlags::MASTER);
        n.master = None;
    }

    /// Removes a node and every reference to it (Redis's clusterDelNode): its slots
    /// become unassigned, migrations to or from it are cancelled, its failure reports
    /// about others are forgotten and its replicas lose their master.
    pub fn del_node(&mut self, id: &NodeId) -> Option<ClusterNode> {
        self.version += 1;
        if *id == self.myself {
            return None;
        }
        self.del_node_slots(id);
        self.migrating.retain(|_, n| n != id);
        self.importing.retain(|_, n| n != id);
        for other in self.nodes.values_mut() {
            other.fail_reports.forget(id);
        }
        self.detach_replica(id);
        let removed = self.nodes.remove(id)?;
        for replica in &removed.replicas {
            if let Some(r) = self.nodes.get_mut(replica)
                && *replica != self.myself
            {
                r.master = None;
            }
        }
        Some(removed)
    }

    /// Gives a handshake node its real ID (Redis's clusterRenameNode).
    pub fn rename_node(&mut self, old: &NodeId, new: NodeId) {
        self.version += 1;
        if let Some(mut n) = self.nodes.remove(old) {
            n.id = new;
            self.nodes.insert(new, n);
        }
    }

    /// Number of masters serving at least one slot.
    pub fn slot_serving_masters(&self) -> usize {
        self.nodes
            .values()
            .filter(|n| n.is_master() && n.slot_count > 0)
            .count()
    }

    /// Whether `slot` has no owner, or an owner that stopped claiming it.
    pub fn slot_unclaimed(&self, slot: u16) -> bool {
        self.slots[slot as usize].is_none() || self.owner_not_claiming.contains(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(c: u8) -> NodeId {
        NodeId::from_bytes([c; 40])
    }

    #[test]
    fn deleting_a_node_removes_every_reference() {
        let mut t = Topology::new(id(b'a'), 0);
        t.add_node(ClusterNode::new(id(b'b'), NodeFlags::MASTER, 0));
        t.add_node(ClusterNode::new(id(b'c'), NodeFlags::REPLICA, 0));
        t.attach_replica(id(b'c'), id(b'b'));
        assert!(t.add_slot(id(b'b'), 7));
        assert!(!t.add_slot(id(b'a'), 7), "slot already owned");
        t.importing.insert(9, id(b'b'));
        t.node_mut(&id(b'a')).unwrap().fail_reports.add(id(b'b'), 0);
        t.del_node(&id(b'b'));
        assert_eq!(t.slots[7], None);
        assert!(t.importing.is_empty());
        assert_eq!(t.node(&id(b'c')).unwrap().master, None);
        assert_eq!(
            t.node_mut(&id(b'a')).unwrap().fail_reports.count(0, 1000),
            0
        );
        assert!(t.del_node(&id(b'a')).is_none(), "myself is never deleted");
    }

    #[test]
    fn promotion_detaches_and_marks_the_promoted_replica() {
        let mut t = Topology::new(id(b'a'), 0);
        t.add_node(ClusterNode::new(id(b'b'), NodeFlags::MASTER, 0));
        t.add_node(ClusterNode::new(id(b'c'), NodeFlags::REPLICA, 0));
        t.attach_replica(id(b'c'), id(b'b'));
        t.set_node_as_master(&id(b'c'));
        assert!(t.node(&id(b'c')).unwrap().is_master());
        assert!(t.node(&id(b'b')).unwrap().replicas.is_empty());
        assert!(
            !t.node(&id(b'b')).unwrap().flags.has(NodeFlags::MIGRATE_TO),
            "the old master lost its last replica"
        );
        assert!(
            t.node(&id(b'c')).unwrap().flags.has(NodeFlags::MIGRATE_TO),
            "the promoted replica needs replicas of its own"
        );
    }
}
