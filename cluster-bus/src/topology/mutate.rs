//! Changes named for what the engine does (mark a node failing, take a new epoch, ...),
//! each bumping the routing version and recording the save and state update it needs
//! (see [`super::effects`]), exactly as Redis's handlers do after the same change.

use super::{NodeFlags, Topology};
use crate::node_id::NodeId;

impl Topology {
    /// Marks `id` FAIL (from PFAIL or a peer's FAIL message): state and file change.
    pub fn mark_failed(&mut self, id: &NodeId, now: u64) {
        let Some(n) = self.nodes.get_mut(id) else {
            return;
        };
        n.flags.set(NodeFlags::FAIL);
        n.flags.clear(NodeFlags::PFAIL);
        n.fail_time = now;
        self.touch();
        self.needs_state_update();
        self.needs_save(false);
    }

    /// Clears `id`'s FAIL flag (it is reachable again).
    pub fn clear_failed(&mut self, id: &NodeId) {
        let Some(n) = self.nodes.get_mut(id) else {
            return;
        };
        n.flags.clear(NodeFlags::FAIL);
        self.touch();
        self.needs_state_update();
        self.needs_save(false);
    }

    /// Marks `id` PFAIL. Not saved (PFAIL is this node's opinion of the moment), and
    /// the cron that decides it evaluates the state itself at its end.
    pub fn mark_timed_out(&mut self, id: &NodeId) {
        if let Some(n) = self.nodes.get_mut(id) {
            n.flags.set(NodeFlags::PFAIL);
            self.touch();
        }
    }

    /// Clears `id`'s PFAIL flag (it answered): the state may become ok.
    pub fn clear_timed_out(&mut self, id: &NodeId) {
        if let Some(n) = self.nodes.get_mut(id) {
            n.flags.clear(NodeFlags::PFAIL);
            self.touch();
            self.needs_state_update();
        }
    }

    /// Gives `id` a new address (it moved, or told us where it is). The caller decides
    /// whether the file changes: Redis saves only when a PING brought the address.
    pub fn set_address(&mut self, id: &NodeId, ip: String, port: u16, cport: u16, pport: u16) {
        if let Some(n) = self.nodes.get_mut(id) {
            n.ip = ip;
            n.port = port;
            n.cport = cport;
            n.pport = pport;
            n.flags.clear(NodeFlags::NOADDR);
            self.touch();
        }
    }

    /// Moves `id` to the address its own PING came from: saved, and the state is
    /// evaluated again (Redis's nodeUpdateAddressIfNeeded callers do both).
    pub fn relocate(&mut self, id: &NodeId, ip: String, port: u16, cport: u16, pport: u16) {
        self.set_address(id, ip, port, cport, pport);
        self.needs_save(false);
        self.needs_state_update();
    }

    /// Forgets `id`'s address: another node answers there now.
    pub fn forget_address(&mut self, id: &NodeId) {
        if let Some(n) = self.nodes.get_mut(id) {
            n.flags.set(NodeFlags::NOADDR);
            n.ip.clear();
            n.port = 0;
            n.pport = 0;
            n.cport = 0;
            self.touch();
            self.needs_save(false);
        }
    }

    /// Adds a node a peer told us about (gossip, or a MEET it sent): saved, unlike the
    /// handshake this node starts itself with [`Topology::add_node`] (as in Redis).
    pub fn learn_node(&mut self, node: super::ClusterNode) {
        self.add_node(node);
        self.needs_save(false);
    }

    /// Sets this node's configEpoch by operator order (CLUSTER SET-CONFIG-EPOCH, on a
    /// node that knows no other), raising currentEpoch to it.
    pub fn set_my_config_epoch(&mut self, epoch: u64) {
        self.me_mut().config_epoch = epoch;
        self.current_epoch = self.current_epoch.max(epoch);
        self.touch();
        self.needs_save(false);
        self.needs_state_update();
    }

    /// Sets this node's own IP, learned from the address a peer reached it at.
    pub fn set_my_ip(&mut self, ip: String) {
        self.me_mut().ip = ip;
        self.touch();
        self.needs_save(false);
    }

    /// Sets `id`'s announced hostname (not saved: every PING carries it again).
    pub fn set_hostname(&mut self, id: &NodeId, hostname: String) {
        if let Some(n) = self.nodes.get_mut(id)
            && n.hostname != hostname
        {
            n.hostname = hostname;
            self.touch();
        }
    }

    /// Turns the master `id` into a replica in this view: it loses its slots (it no
    /// longer serves them) and its master-only flags. Attach it with
    /// [`Topology::attach_replica`].
    pub fn demote_to_replica(&mut self, id: &NodeId) {
        self.del_node_slots(id);
        if let Some(n) = self.nodes.get_mut(id) {
            n.flags.clear(NodeFlags::MASTER | NodeFlags::MIGRATE_TO);
            n.flags.set(NodeFlags::REPLICA);
            self.touch();
            self.needs_save(false);
            self.needs_state_update();
        }
    }

    /// Takes `currentEpoch + 1` as this node's configEpoch without asking anyone
    /// (BUMPEPOCH, a collision, SETSLOT NODE of an imported slot); returns it. Fsynced:
    /// a restart must never reuse it.
    pub fn take_new_config_epoch(&mut self) -> u64 {
        self.current_epoch += 1;
        let epoch = self.current_epoch;
        self.me_mut().config_epoch = epoch;
        self.touch();
        self.needs_save(true);
        epoch
    }

    /// Raises `id`'s configEpoch to what it announced; fsynced, as Redis does.
    pub fn learn_config_epoch(&mut self, id: &NodeId, epoch: u64) {
        if let Some(n) = self.nodes.get_mut(id)
            && epoch > n.config_epoch
        {
            n.config_epoch = epoch;
            self.needs_save(true);
        }
    }

    /// Raises currentEpoch to one seen in a header (saved with whatever else changes).
    pub fn learn_current_epoch(&mut self, epoch: u64) {
        self.current_epoch = self.current_epoch.max(epoch);
    }

    /// Records this master's vote, in the current epoch, for a replica of `master`.
    /// The vote is on disk (fsynced) before the ack leaves: the shell saves before it
    /// sends. A node never votes twice in an epoch.
    pub fn record_vote(&mut self, master: &NodeId, now: u64) {
        assert!(
            self.last_vote_epoch < self.current_epoch,
            "a second vote in epoch {}",
            self.current_epoch
        );
        self.last_vote_epoch = self.current_epoch;
        if let Some(m) = self.nodes.get_mut(master) {
            m.voted_time = now;
        }
        self.needs_save(true);
    }

    /// Marks `slot` as migrating to `target` (CLUSTER SETSLOT MIGRATING).
    pub fn set_migrating(&mut self, slot: u16, target: NodeId) {
        self.migrating.insert(slot, target);
        self.migration_changed();
    }

    /// Marks `slot` as importing from `source` (CLUSTER SETSLOT IMPORTING).
    pub fn set_importing(&mut self, slot: u16, source: NodeId) {
        self.importing.insert(slot, source);
        self.migration_changed();
    }

    /// Ends `slot`'s migration, returning the target it had.
    pub fn stop_migrating(&mut self, slot: u16) -> Option<NodeId> {
        let was = self.migrating.remove(&slot);
        if was.is_some() {
            self.migration_changed();
        }
        was
    }

    /// Ends `slot`'s import, returning the source it had.
    pub fn stop_importing(&mut self, slot: u16) -> Option<NodeId> {
        let was = self.importing.remove(&slot);
        if was.is_some() {
            self.migration_changed();
        }
        was
    }

    /// Ends every migration and import (a master turning replica, CLUSTER RESET).
    pub fn clear_migrations(&mut self) {
        if !self.migrating.is_empty() || !self.importing.is_empty() {
            self.migrating.clear();
            self.importing.clear();
            self.migration_changed();
        }
    }

    // Migration marks change routing (ASK), are saved in nodes.conf, and are
    // not durable promises, so no fsync.
    fn migration_changed(&mut self) {
        self.touch();
        self.needs_save(false);
    }

    /// Records whether `slot`'s owner still claims it in its messages.
    pub fn set_owner_claiming(&mut self, slot: u16, claiming: bool) {
        if claiming {
            self.owner_not_claiming.remove(slot);
        } else {
            self.owner_not_claiming.insert(slot);
        }
    }

    /// Starts an election: currentEpoch moves on, durably, before any vote is asked
    /// for in it. Returns the new epoch.
    pub fn start_election_epoch(&mut self) -> u64 {
        self.current_epoch += 1;
        self.needs_save(true);
        self.current_epoch
    }

    /// CLUSTER RESET HARD: this node takes `new_id` and every epoch starts again at 0.
    pub fn reset_identity(&mut self, new_id: NodeId) {
        self.current_epoch = 0;
        self.last_vote_epoch = 0;
        self.me_mut().config_epoch = 0;
        let me = self.myself;
        self.rename_node(&me, new_id);
        self.myself = new_id;
        self.touch();
        self.needs_save(true);
    }
}
