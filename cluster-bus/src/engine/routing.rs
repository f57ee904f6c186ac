//! The immutable routing view the client-facing side reads on every keyed command.

use super::{EndpointType, Engine};
use crate::node_id::NodeId;
use crate::slot_bitmap::SLOTS;
use crate::topology::ClusterNode;

/// `owners` value of an unassigned slot.
pub const NO_OWNER: u16 = u16::MAX;

/// Where clients reach a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteNode {
    /// Its ID.
    pub id: NodeId,
    /// The endpoint redirections name (IP, hostname, `?`, or "" for unknown-endpoint).
    pub endpoint: String,
    /// Its client port.
    pub port: u16,
}

/// Slot owners and cluster state at one instant. Cheap to read, replaced whole.
#[derive(Debug, Clone)]
pub struct RoutingSnapshot {
    /// Whether the cluster state is ok.
    pub state_ok: bool,
    /// For each slot, the index of its owner in `nodes`, or [`NO_OWNER`].
    pub owners: Box<[u16]>,
    /// The nodes that own slots, plus this node and its master.
    pub nodes: Vec<RouteNode>,
    /// Index of this node in `nodes`.
    pub myself: u16,
    /// Index of this node's master, when it is a replica.
    pub my_master: Option<u16>,
    /// Slots this node is migrating, with the index of the target in `nodes`.
    pub migrating: std::collections::BTreeMap<u16, u16>,
    /// Slots this node is importing.
    pub importing: std::collections::BTreeSet<u16>,
}

/// Whether a slot is being moved, as far as this node is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotMove<'a> {
    /// No.
    None,
    /// This node is moving it away, to this node.
    Migrating(&'a RouteNode),
    /// This node is receiving it.
    Importing,
}

/// Slots that changed owner between two snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerChange {
    /// Inclusive ranges.
    pub ranges: Vec<(u16, u16)>,
    /// The owner before (`None`: unassigned).
    pub from: Option<NodeId>,
    /// The owner now.
    pub to: Option<NodeId>,
}

impl RoutingSnapshot {
    /// The slots whose owner differs in `newer`, grouped by (old owner, new owner), in
    /// slot order of each group's first range.
    pub fn owner_changes(&self, newer: &RoutingSnapshot) -> Vec<OwnerChange> {
        let mut changes: Vec<OwnerChange> = Vec::new();
        // Most snapshots differ in something else (an open slot, a node's address):
        // with the same node list, equal indexes mean equal owners, and the whole
        // table compares as one slice.
        let same_nodes = self.nodes == newer.nodes;
        if same_nodes && self.owners == newer.owners {
            return changes;
        }
        for slot in 0..SLOTS as u16 {
            if same_nodes && self.owners[slot as usize] == newer.owners[slot as usize] {
                continue;
            }
            let from = self.owner(slot).map(|n| n.id);
            let to = newer.owner(slot).map(|n| n.id);
            if from == to {
                continue;
            }
            match changes.iter_mut().find(|c| c.from == from && c.to == to) {
                Some(c) => match c.ranges.last_mut() {
                    Some((_, last)) if *last + 1 == slot => *last = slot,
                    _ => c.ranges.push((slot, slot)),
                },
                None => changes.push(OwnerChange {
                    ranges: vec![(slot, slot)],
                    from,
                    to,
                }),
            }
        }
        changes
    }

    /// The owner of `slot`, if assigned.
    #[inline]
    pub fn owner(&self, slot: u16) -> Option<&RouteNode> {
        match self.owners[slot as usize] {
            NO_OWNER => None,
            i => self.nodes.get(i as usize),
        }
    }

    /// This node.
    pub fn me(&self) -> Option<&RouteNode> {
        self.nodes.get(self.myself as usize)
    }

    /// This node's master, when it is a replica.
    pub fn my_master_node(&self) -> Option<&RouteNode> {
        self.my_master.and_then(|m| self.nodes.get(m as usize))
    }

    /// Whether this node owns `slot`.
    #[inline]
    pub fn is_mine(&self, slot: u16) -> bool {
        self.owners[slot as usize] == self.myself
    }

    /// Whether `slot` is being moved to or from this node. Costs nothing while no slot
    /// is.
    #[inline]
    pub fn slot_move(&self, slot: u16) -> SlotMove<'_> {
        if self.migrating.is_empty() && self.importing.is_empty() {
            return SlotMove::None;
        }
        if let Some(&target) = self.migrating.get(&slot)
            && let Some(n) = self.nodes.get(target as usize)
        {
            return SlotMove::Migrating(n);
        }
        if self.importing.contains(&slot) {
            return SlotMove::Importing;
        }
        SlotMove::None
    }

    /// Whether this node's master owns `slot` (a replica may serve reads for it).
    #[inline]
    pub fn is_my_masters(&self, slot: u16) -> bool {
        self.my_master
            .is_some_and(|m| self.owners[slot as usize] == m)
    }
}

/// The endpoint clients are given for a node.
pub(super) fn endpoint(node: &ClusterNode, kind: EndpointType) -> String {
    match kind {
        EndpointType::Ip => node.ip.clone(),
        EndpointType::Hostname if !node.hostname.is_empty() => node.hostname.clone(),
        EndpointType::Hostname => "?".into(),
        EndpointType::Unknown => String::new(),
    }
}

impl Engine {
    /// Builds the routing snapshot of the current view.
    pub fn routing_snapshot(&self) -> RoutingSnapshot {
        let mut nodes: Vec<RouteNode> = Vec::new();
        let mut index = std::collections::BTreeMap::new();
        let mut add = |n: &ClusterNode, nodes: &mut Vec<RouteNode>| -> u16 {
            *index.entry(n.id).or_insert_with(|| {
                nodes.push(RouteNode {
                    id: n.id,
                    endpoint: endpoint(n, self.cfg.endpoint_type),
                    port: n.port,
                });
                (nodes.len() - 1) as u16
            })
        };
        let myself = add(self.topo.me(), &mut nodes);
        let my_master = self
            .topo
            .me()
            .master
            .filter(|_| self.topo.me().is_replica())
            .and_then(|m| self.topo.node(&m))
            .map(|m| add(m, &mut nodes));
        // Each owner's ranges straight from its bitmap: no per-slot lookups.
        let mut owners: Box<[u16]> = vec![NO_OWNER; SLOTS].into_boxed_slice();
        for n in self.topo.nodes().values().filter(|n| n.slot_count > 0) {
            let i = add(n, &mut nodes);
            for (first, last) in n.slots.ranges() {
                owners[first as usize..=last as usize].fill(i);
            }
        }
        let migrating = self
            .topo
            .migrating()
            .iter()
            .filter_map(|(&slot, target)| {
                let n = self.topo.node(target)?;
                Some((slot, add(n, &mut nodes)))
            })
            .collect();
        RoutingSnapshot {
            state_ok: self.state_ok,
            owners,
            nodes,
            myself,
            my_master,
            migrating,
            importing: self.topo.importing().keys().copied().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(nodes: &[NodeId], owners: impl Fn(u16) -> u16) -> RoutingSnapshot {
        RoutingSnapshot {
            state_ok: true,
            owners: (0..SLOTS as u16).map(owners).collect(),
            nodes: nodes
                .iter()
                .map(|id| RouteNode {
                    id: *id,
                    endpoint: "127.0.0.1".into(),
                    port: 7000,
                })
                .collect(),
            myself: 0,
            my_master: None,
            migrating: Default::default(),
            importing: Default::default(),
        }
    }

    #[test]
    fn owner_changes_group_ranges_by_old_and_new_owner() {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let (a, b) = (NodeId::random(&mut rng), NodeId::random(&mut rng));
        let before = snapshot(&[a, b], |s| if s < 8192 { 0 } else { 1 });
        assert!(before.owner_changes(&before.clone()).is_empty());
        // Slots 0-99 and 200 go from a to b; 16383 loses its owner.
        let after = snapshot(&[a, b], |s| match s {
            0..=99 | 200 => 1,
            16383 => NO_OWNER,
            s if s < 8192 => 0,
            _ => 1,
        });
        let changes = before.owner_changes(&after);
        assert_eq!(
            changes,
            vec![
                OwnerChange {
                    ranges: vec![(0, 99), (200, 200)],
                    from: Some(a),
                    to: Some(b)
                },
                OwnerChange {
                    ranges: vec![(16383, 16383)],
                    from: Some(b),
                    to: None
                },
            ]
        );
        // The same owners under a reordered node list are no change.
        let reordered = snapshot(&[b, a], |s| if s < 8192 { 1 } else { 0 });
        assert!(before.owner_changes(&reordered).is_empty());
    }
}
