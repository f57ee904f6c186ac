//! The 100 ms cron (Redis's clusterCron).

use rand::RngExt;
use tessera_failover::{failure, lease};

use super::{Action, Engine, Event, Link, LinkTraffic};
use crate::node_id::NodeId;
use crate::topology::NodeFlags;
use crate::wire::MessageType;

/// A handshake that has not completed within this long (or node_timeout if larger) is
/// abandoned.
const MIN_HANDSHAKE_TIMEOUT: u64 = 1000;

impl Engine {
    pub(super) fn cron(&mut self, now: u64) {
        self.iteration += 1;
        let timeout = self.cfg.node_timeout;
        let handshake_timeout = timeout.max(MIN_HANDSHAKE_TIMEOUT);
        let ids: Vec<NodeId> = self.topo.nodes().keys().copied().collect();

        // Expire handshakes; connect to every node we have no link to.
        for id in &ids {
            let Some(n) = self.topo.node(id) else {
                continue;
            };
            if n.flags.any(NodeFlags::MYSELF | NodeFlags::NOADDR) {
                continue;
            }
            if n.in_handshake() && now.saturating_sub(n.created) > handshake_timeout {
                tracing::debug!(node = %id, "handshake timed out");
                self.delete_node(id);
                continue;
            }
            if n.link.is_none() && !n.ip.is_empty() && n.cport != 0 {
                let (ip, port) = (n.ip.clone(), n.cport);
                let link = self.new_link_id();
                self.links.insert(
                    link,
                    Link {
                        node: Some(*id),
                        inbound: false,
                        created: now,
                        connected: false,
                        peer_ip: ip.clone(),
                        local_ip: String::new(),
                        traffic: LinkTraffic::default(),
                    },
                );
                self.topo.node_mut(id).expect("exists").link = Some(link);
                self.out.actions.push(Action::Connect { link, ip, port });
            }
        }

        // About once a second, ping the node with the oldest PONG among a few random
        // ones, so every node gets pinged eventually even in large clusters.
        if self.iteration % 10 == 0 && !ids.is_empty() {
            let mut oldest: Option<(u64, NodeId)> = None;
            for _ in 0..5 {
                let id = ids[self.rng.random_range(0..ids.len())];
                let Some(n) = self.topo.node(&id) else {
                    continue;
                };
                if n.link.is_none()
                    || n.ping_sent != 0
                    || n.flags.any(NodeFlags::MYSELF | NodeFlags::HANDSHAKE)
                {
                    continue;
                }
                if oldest.is_none_or(|(t, _)| n.pong_received < t) {
                    oldest = Some((n.pong_received, id));
                }
            }
            if let Some((_, id)) = oldest
                && let Some(link) = self.topo.node(&id).and_then(|n| n.link)
            {
                self.send_ping(link, MessageType::Ping, now);
            }
        }

        let mut update_state = false;
        let mut new_reports = false;
        let refresh_after = lease::refresh_after(timeout);
        for id in &ids {
            let Some(n) = self.topo.node(id) else {
                continue;
            };
            if n.flags
                .any(NodeFlags::MYSELF | NodeFlags::NOADDR | NodeFlags::HANDSHAKE)
            {
                continue;
            }
            let ping_delay = now.saturating_sub(n.ping_sent);
            let data_delay = now.saturating_sub(n.data_received);
            // A link that carried nothing for half the timeout while our ping waits may
            // be broken even though the node is alive: reconnect it.
            if let Some(link) = n.link
                && let Some(l) = self.links.get(&link)
                && now.saturating_sub(l.created) > timeout
                && n.ping_sent != 0
                && ping_delay > timeout / 2
                && data_delay > timeout / 2
            {
                self.free_link(link);
            }
            let n = &self.topo.nodes()[id];
            // Every contact is kept continuous by our own pings (a PONG time gossiped by
            // others proves nothing about us), so any node can back a lease the moment
            // it is promoted or given slots; slot-serving masters, whose answers keep
            // write leases now, are pinged twice as often.
            let refresh = if n.is_master() && n.slot_count > 0 {
                refresh_after
            } else {
                timeout / 2
            };
            if let Some(link) = n.link
                && n.ping_sent == 0
                && (now.saturating_sub(n.pong_received) > timeout / 2
                    || now.saturating_sub(n.contact.ack) > refresh)
            {
                self.send_ping(link, MessageType::Ping, now);
                continue;
            }
            let n = &self.topo.nodes()[id];
            if failure::looks_unreachable(n.ping_sent, n.data_received, now, timeout)
                && !n.flags.any(NodeFlags::PFAIL | NodeFlags::FAIL)
            {
                tracing::debug!(node = %id, "node possibly failing");
                self.topo.mark_timed_out(id);
                self.out.events.push(Event::PossiblyFailing(*id));
                update_state = true;
                if self.topo.me().is_master() {
                    // A lone slot-serving master is its own quorum.
                    if self.size == 1 {
                        self.mark_failing_if_needed(id, now);
                    }
                    new_reports = true;
                }
            }
        }
        if new_reports {
            self.send_failure_reports(now);
        }
        if !self.pending_votes.is_empty() {
            self.retry_pending_votes(now);
        }
        self.manual_failover_cron(now);
        if self.topo.me().is_replica() {
            self.handle_replica_failover(now);
            self.replica_migration_cron(now);
        }
        let lease_lapsed = self.state_ok && now >= self.backed_until(now);
        if update_state || !self.state_ok || lease_lapsed {
            self.update_state(now);
        }
    }

    /// A master that just saw a node stop answering tells everyone at once (the PFAIL
    /// flag rides in the gossip of a PING), instead of at each peer's next ping: the
    /// FAIL quorum forms in one round trip. The quorum rule itself is unchanged.
    fn send_failure_reports(&mut self, now: u64) {
        let links: Vec<_> = self
            .topo
            .nodes()
            .values()
            .filter(|n| {
                !n.flags.any(
                    NodeFlags::MYSELF | NodeFlags::HANDSHAKE | NodeFlags::PFAIL | NodeFlags::FAIL,
                )
            })
            .filter_map(|n| n.link)
            .collect();
        for link in links {
            self.send_ping(link, MessageType::Ping, now);
        }
    }
}
