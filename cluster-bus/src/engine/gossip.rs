//! What gossip entries teach us, and marking nodes FAIL.

use tessera_failover::failure;

use super::{Engine, Event};
use crate::node_id::NodeId;
use crate::topology::{ClusterNode, NodeFlags};
use crate::wire::GossipEntry;

/// How far in the future a gossiped PONG time may be and still be trusted (ms).
const PONG_TIME_TOLERANCE: u64 = 500;
/// How long a forgotten node stays out of reach of gossip (ms).
pub(super) const BLACKLIST_TTL: u64 = 60_000;

impl Engine {
    /// Processes a gossip section. `sender` is `None` for a MEET from an unknown node,
    /// which may only update nodes we already know.
    pub(super) fn process_gossip(
        &mut self,
        sender: Option<NodeId>,
        entries: &[GossipEntry],
        now: u64,
    ) {
        let sender_is_master = sender
            .and_then(|s| self.topo.node(&s))
            .is_some_and(|n| n.is_master());
        for g in entries {
            let gossip_flags = NodeFlags(g.flags);
            let reports_failure = gossip_flags.any(NodeFlags::FAIL | NodeFlags::PFAIL);
            if self.topo.node(&g.node).is_none() {
                // A node we never heard of: add it under its real ID, but only on the
                // word of a node we know, and never a node we were told to forget.
                if let Some(s) = sender
                    && !gossip_flags.has(NodeFlags::NOADDR)
                    && !self.blacklisted(&g.node, now)
                {
                    let mut node = ClusterNode::new(g.node, g.flags, now);
                    node.ip = g.ip.clone();
                    node.port = g.port;
                    node.pport = g.pport;
                    node.cport = g.cport;
                    self.topo.learn_node(node);
                    self.out.events.push(Event::NodeAdded(g.node));
                    tracing::debug!(node = %g.node, from = %s, "learned of a node through gossip");
                }
                continue;
            }
            // Failure reports count only when a master makes them.
            if let Some(s) = sender
                && sender_is_master
                && g.node != self.topo.myself()
            {
                let timeout = self.cfg.node_timeout;
                let n = self.topo.node_mut(&g.node).expect("known");
                if reports_failure {
                    if n.fail_reports.add(s, now) {
                        tracing::debug!(reporter = %s, node = %g.node, "node reported as not reachable");
                        self.out.events.push(Event::FailureReported {
                            node: g.node,
                            reporter: s,
                        });
                    }
                    self.mark_failing_if_needed(&g.node, now);
                } else if n.fail_reports.remove(&s, now, timeout) {
                    tracing::debug!(reporter = %s, node = %g.node, "node reported back online");
                }
            }
            let timeout = self.cfg.node_timeout;
            let n = self.topo.node_mut(&g.node).expect("known");
            // A healthy node we are not pinging ourselves: adopt a newer PONG time seen
            // by others, so we do not ping it needlessly. Never from the future.
            if !reports_failure && n.ping_sent == 0 && n.fail_reports.count(now, timeout) == 0 {
                let pong = u64::from(g.pong_received) * 1000;
                if pong <= now + PONG_TIME_TOLERANCE && pong > n.pong_received {
                    n.pong_received = pong;
                }
            }
            // We cannot reach it but someone can, at another address: try that one.
            if n.flags.any(NodeFlags::FAIL | NodeFlags::PFAIL)
                && !gossip_flags.has(NodeFlags::NOADDR)
                && !reports_failure
                && (!n.ip.eq_ignore_ascii_case(&g.ip) || n.port != g.port || n.cport != g.cport)
            {
                let old = n.link;
                self.topo
                    .set_address(&g.node, g.ip.clone(), g.port, g.cport, g.pport);
                if let Some(link) = old {
                    self.free_link(link);
                }
            }
        }
    }

    /// Marks a PFAIL node FAIL once a majority of slot-serving masters agree, and tells
    /// everyone (a replica helps spread the news too).
    pub(super) fn mark_failing_if_needed(&mut self, id: &NodeId, now: u64) {
        let timeout = self.cfg.node_timeout;
        let i_am_master = self.topo.me().is_master();
        let size = self.size;
        let Some(n) = self.topo.node_mut(id) else {
            return;
        };
        if !n.is_timed_out() || n.is_failed() {
            return;
        }
        let reports = n.fail_reports.count(now, timeout);
        if !failure::fail_quorum_reached(reports, i_am_master, size) {
            return;
        }
        tracing::info!(node = %id, reports, "marking node as failing (quorum reached)");
        self.topo.mark_failed(id, now);
        self.out.events.push(Event::Failing(*id));
        self.send_fail(*id);
    }

    /// Whether gossip must ignore `id` (recently forgotten).
    fn blacklisted(&mut self, id: &NodeId, now: u64) -> bool {
        self.blacklist.retain(|_, until| *until > now);
        self.blacklist.contains_key(id)
    }
}
