//! Slot ownership by configEpoch (Redis's clusterUpdateSlotsConfigWith).

use super::{Engine, Event};
use crate::node_id::NodeId;
use crate::slot_bitmap::SlotBitmap;

impl Engine {
    /// Applies a slot configuration claimed by `sender` with `epoch`: each claimed slot
    /// moves to the sender when unassigned, no longer claimed by its owner, or owned
    /// with an older configEpoch. Slots being imported are left to the operator. A slot
    /// the sender stopped claiming stays bound to it (no client errors) but is marked as
    /// not claimed.
    pub(super) fn update_slots_config_with(
        &mut self,
        sender: NodeId,
        epoch: u64,
        claimed: &SlotBitmap,
        now: u64,
    ) {
        if sender == self.topo.myself() {
            tracing::warn!("discarding UPDATE message about myself");
            return;
        }
        let current_master = self.topo.my_shard_master();
        let mut dirty: Vec<u16> = Vec::new();
        let mut new_master: Option<NodeId> = None;
        let mut sender_slots = 0usize;
        let mut migrated_our_slots = 0usize;
        for slot in 0..crate::slot_bitmap::SLOTS as u16 {
            let owner = self.topo.slot_owner(slot);
            if claimed.contains(slot) {
                sender_slots += 1;
                if owner == Some(sender) {
                    self.topo.set_owner_claiming(slot, true);
                    continue;
                }
                if self.topo.importing().contains_key(&slot) {
                    continue;
                }
                let older = owner
                    .and_then(|o| self.topo.node(&o))
                    .is_some_and(|o| o.config_epoch < epoch);
                if self.topo.slot_unclaimed(slot) || older {
                    if owner == Some(self.topo.myself()) {
                        dirty.push(slot);
                    }
                    if owner == Some(current_master) {
                        new_master = Some(sender);
                        migrated_our_slots += 1;
                    }
                    self.topo.del_slot(slot);
                    self.topo.add_slot(sender, slot);
                    self.topo.set_owner_claiming(slot, true);
                    // Saved (by `add_slot`), but not fsynced (Redis fsyncs here): a
                    // claim learned from a peer is learned again from it after a power
                    // loss, and nothing this node promised depends on it. Votes, epochs
                    // this node takes and role changes are still fsynced. It halves
                    // what redis-cli's reshard pays per slot on every master.
                }
            } else if owner == Some(sender) {
                self.topo.set_owner_claiming(slot, false);
            }
        }
        let shard_empty = self
            .topo
            .node(&current_master)
            .is_some_and(|m| m.slot_count == 0);
        if let Some(master) = new_master
            && shard_empty
            && (self.cfg.allow_replica_migration || sender_slots == migrated_our_slots)
        {
            tracing::warn!(master = %master, "configuration change detected; reconfiguring myself as a replica");
            self.become_replica_of(master, now);
            self.save(true);
            self.update_state_later();
            return;
        }
        let grand_master = self
            .topo
            .me()
            .master
            .and_then(|m| self.topo.node(&m))
            .and_then(|m| m.master);
        if self.topo.me().is_replica()
            && let Some(gm) = grand_master
        {
            tracing::warn!(master = %gm, "I'm a sub-replica; reconfiguring myself as a replica of the grandmaster");
            self.become_replica_of(gm, now);
            self.save(true);
            self.update_state_later();
            return;
        }
        if !dirty.is_empty() {
            // Still a master, but some of our slots now belong to someone else: their
            // keys must go, or we would keep serving stale data.
            self.out.delete_slots.extend(dirty);
        }
    }

    /// Makes this node a replica of `master` (Redis's clusterSetMaster).
    pub(super) fn become_replica_of(&mut self, master: NodeId, _now: u64) {
        let me = self.topo.myself();
        // A master that was pausing writes for its replica's manual failover stops.
        self.reset_manual_failover();
        self.election.reset();
        if self.topo.me().is_master() {
            self.topo.demote_to_replica(&me);
            self.topo.clear_migrations();
        }
        self.topo.attach_replica(me, master);
        let (ip, port) = self
            .topo
            .node(&master)
            .map(|m| (m.ip.clone(), m.port))
            .unwrap_or_default();
        self.out
            .events
            .push(Event::BecameReplicaOf { master, ip, port });
    }
}
