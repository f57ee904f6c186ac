//! Whether the cluster is ok (Redis's clusterUpdateState).

use tessera_failover::failure;

use super::{Engine, Event};
use crate::topology::NodeFlags;

/// A master waits this long after its first evaluation before it may say ok: after a
/// restart the cluster gets a chance to tell it it was failed over.
const WRITABLE_DELAY: u64 = 2000;
/// Bounds on how long a master back from a minority partition waits before ok.
const MIN_REJOIN_DELAY: u64 = 500;
const MAX_REJOIN_DELAY: u64 = 5000;

impl Engine {
    pub(super) fn update_state(&mut self, now: u64) {
        if self.first_state_eval == 0 {
            self.first_state_eval = now;
        }
        let i_am_master = self.topo.me().is_master();
        if i_am_master
            && !self.state_ok
            && now.saturating_sub(self.first_state_eval) < WRITABLE_DELAY
        {
            return;
        }
        let mut ok = true;
        if self.cfg.require_full_coverage {
            // Every slot is bound to exactly one node's bitmap, so full coverage by
            // healthy nodes is a sum over nodes, not a walk over slots.
            let covered: usize = self
                .topo
                .nodes()
                .values()
                .filter(|n| !n.is_failed())
                .map(|n| n.slot_count)
                .sum();
            ok = covered == crate::slot_bitmap::SLOTS;
        }
        let mut size = 0;
        let mut reachable = 0;
        for n in self.topo.nodes().values() {
            if n.is_master() && n.slot_count > 0 {
                size += 1;
                if !n.flags.any(NodeFlags::FAIL | NodeFlags::PFAIL) {
                    reachable += 1;
                }
            }
        }
        self.size = size;
        if reachable < failure::quorum(size) {
            ok = false;
            self.among_minority_time = now;
        }
        // Without a majority's backing a master serves nothing: it may be the
        // minority side of a partition, or back from one and not yet told it was
        // replaced. Other nodes need it too, so that a cluster ok everywhere has
        // replicas that could write at once if promoted.
        let mut lease_lapsed = false;
        if now >= self.backed_until(now) {
            ok = false;
            lease_lapsed = true;
        }
        // Becoming ok also waits until the contact with every node that could be
        // promoted or given slots has matured, so no later failover leaves this node
        // without backing: "ok" everywhere means the cluster can lose a master.
        if ok && !self.state_ok && !self.contacts_settled(now) {
            return;
        }
        if ok != self.state_ok {
            let rejoin_delay = self
                .cfg
                .node_timeout
                .clamp(MIN_REJOIN_DELAY, MAX_REJOIN_DELAY);
            if ok && i_am_master && now.saturating_sub(self.among_minority_time) < rejoin_delay {
                return;
            }
            tracing::warn!(
                state = if ok { "ok" } else { "fail" },
                "cluster state changed"
            );
            if lease_lapsed {
                self.log_lease(now);
            }
            self.state_ok = ok;
            self.topo.touch();
            self.out.events.push(Event::StateChanged(ok));
        }
    }

    /// Whether every live node that serves slots, or replicates one that does, has a
    /// mature contact with this node (`tessera_failover::lease::Contact::mature`).
    fn contacts_settled(&self, now: u64) -> bool {
        let serves = |id: &crate::node_id::NodeId| {
            self.topo
                .node(id)
                .is_some_and(|m| m.is_master() && m.slot_count > 0)
        };
        self.topo.nodes().values().all(|n| {
            n.is_myself()
                || n.flags.any(
                    NodeFlags::PFAIL | NodeFlags::FAIL | NodeFlags::HANDSHAKE | NodeFlags::NOADDR,
                )
                || !(serves(&n.id)
                    || n.master
                        .filter(|_| n.is_replica())
                        .is_some_and(|m| serves(&m)))
                || n.contact.mature(now, self.cfg.node_timeout)
        })
    }

    /// Says why this node is not backed by a majority: what each slot-serving
    /// master's contact looks like (an operator reading CLUSTERDOWN wants to know).
    fn log_lease(&self, now: u64) {
        let timeout = self.cfg.node_timeout;
        for n in self.topo.nodes().values() {
            if n.is_myself() || !n.is_master() || n.slot_count == 0 {
                continue;
            }
            tracing::warn!(
                node = %n.id,
                ack_age_ms = now.saturating_sub(n.contact.ack),
                contact_ms = now.saturating_sub(n.contact.since),
                mature = n.contact.mature(now, timeout),
                "not backed by a majority: contact with this master"
            );
        }
    }
}
