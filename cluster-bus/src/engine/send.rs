//! Building and sending messages.

use rand::RngExt;

use super::{Action, Engine};
use crate::node_id::NodeId;
use crate::topology::{LinkId, NodeFlags};
use crate::wire::{self, Body, GossipEntry, Header, Message, MessageType, PingExtension};

impl Engine {
    /// The header every message carries: this node's view of itself. A replica sends
    /// its master's slots and configEpoch.
    pub(super) fn header(&self, kind: MessageType) -> Header {
        let me = self.topo.me();
        let master = me
            .master
            .filter(|_| me.is_replica())
            .and_then(|m| self.topo.node(&m));
        let (slots, config_epoch) = match master {
            Some(m) => (m.slots.clone(), m.config_epoch),
            None => (me.slots.clone(), me.config_epoch),
        };
        Header {
            kind: kind as u16,
            port: self.cfg.port,
            current_epoch: self.topo.current_epoch(),
            config_epoch,
            offset: self.repl_offset,
            sender: self.topo.myself(),
            slots,
            replica_of: me.master.filter(|_| me.is_replica()),
            ip: self.cfg.announce_ip.clone().unwrap_or_default(),
            pport: self.cfg.pport,
            cport: self.cfg.cport,
            flags: me.flags.0,
            state: u8::from(!self.state_ok),
            // A master in a manual failover says so in everything it sends.
            mflags: if me.is_master() && self.manual.active() {
                wire::MFLAG_PAUSED
            } else {
                0
            },
        }
    }

    /// Queues an encoded message on a link and counts it.
    pub(super) fn send(&mut self, link: LinkId, msg: &Message) {
        if let Some(t) = msg.kind() {
            self.stats.sent[t as usize] += 1;
        }
        let bytes = wire::encode(msg);
        if let Some(l) = self.links.get_mut(&link) {
            l.traffic.messages_sent += 1;
            l.traffic.bytes_sent += bytes.len() as u64;
        }
        self.out.actions.push(Action::Send { link, bytes });
    }

    fn gossip_entry(&self, id: &NodeId) -> GossipEntry {
        let n = &self.topo.nodes()[id];
        GossipEntry {
            node: n.id,
            ping_sent: (n.ping_sent / 1000) as u32,
            pong_received: (n.pong_received / 1000) as u32,
            ip: n.ip.clone(),
            port: n.port,
            cport: n.cport,
            flags: n.flags.0,
            pport: n.pport,
        }
    }

    /// Chooses the gossip section: about a tenth of the known nodes (at least 3, at most
    /// all but two) picked at random, skipping ourselves, handshakes, nodes without an
    /// address and disconnected nodes without slots; then every PFAIL node, so failure
    /// reports spread fast.
    fn choose_gossip(&mut self) -> Vec<GossipEntry> {
        let ids: Vec<NodeId> = self.topo.nodes().keys().copied().collect();
        let total = ids.len();
        let mut fresh = total.saturating_sub(2);
        let wanted = (total / 10).max(3).min(fresh);
        let mut chosen: Vec<NodeId> = Vec::with_capacity(wanted);
        let mut tries = wanted * 3;
        while fresh > 0 && chosen.len() < wanted && tries > 0 {
            tries -= 1;
            let id = ids[self.rng.random_range(0..total)];
            let n = &self.topo.nodes()[&id];
            if n.is_myself() || n.is_timed_out() {
                continue;
            }
            if n.flags.any(NodeFlags::HANDSHAKE | NodeFlags::NOADDR)
                || (n.link.is_none() && n.slot_count == 0)
            {
                fresh -= 1;
                continue;
            }
            if chosen.contains(&id) {
                continue;
            }
            chosen.push(id);
            fresh -= 1;
        }
        chosen.extend(self.topo.nodes().values().filter_map(|n| {
            (n.is_timed_out() && !n.flags.any(NodeFlags::HANDSHAKE | NodeFlags::NOADDR))
                .then_some(n.id)
        }));
        chosen.iter().map(|id| self.gossip_entry(id)).collect()
    }

    /// Sends a PING, PONG or MEET with gossip on `link`.
    pub(super) fn send_ping(&mut self, link: LinkId, kind: MessageType, now: u64) {
        // A ping already pending keeps its time: failure detection counts from the
        // oldest unanswered ping (a newer one must not restart the clock), and the
        // PONG that answers it proves receipt no earlier than that time.
        if kind == MessageType::Ping
            && let Some(id) = self.links.get(&link).and_then(|l| l.node)
            && let Some(n) = self.topo.node_mut(&id)
            && n.ping_sent == 0
        {
            n.ping_sent = now;
        }
        let gossip = self.choose_gossip();
        let extensions = if self.cfg.hostname.is_empty() {
            Vec::new()
        } else {
            vec![PingExtension::Hostname(self.cfg.hostname.clone())]
        };
        let msg = Message {
            header: self.header(kind),
            body: Body::Ping { gossip, extensions },
        };
        self.send(link, &msg);
    }

    /// The outbound links of every other node that has one (not handshakes).
    pub(super) fn broadcast_links(&self) -> Vec<LinkId> {
        self.topo
            .nodes()
            .values()
            .filter(|n| !n.flags.any(NodeFlags::MYSELF | NodeFlags::HANDSHAKE))
            .filter_map(|n| n.link)
            .collect()
    }

    /// Sends the same message to every node we have a link to.
    pub(super) fn broadcast(&mut self, msg: &Message) {
        for link in self.broadcast_links() {
            self.send(link, msg);
        }
    }

    /// Sends a PONG to every node we have a link to: a change of this node's own
    /// configuration (its role, its slots) reaches everyone at once instead of at each
    /// peer's next ping.
    pub(super) fn broadcast_pong(&mut self, now: u64) {
        for link in self.broadcast_links() {
            self.send_ping(link, MessageType::Pong, now);
        }
    }

    /// Tells everyone `failing` is FAIL.
    pub(super) fn send_fail(&mut self, failing: NodeId) {
        let msg = Message {
            header: self.header(MessageType::Fail),
            body: Body::Fail(failing),
        };
        self.broadcast(&msg);
    }

    /// Tells the node on `link` the current configuration of `about`, without the
    /// slots whose owner stopped claiming them (we must not assert what we doubt).
    pub(super) fn send_update(&mut self, link: LinkId, about: &NodeId) {
        let Some(n) = self.topo.node(about) else {
            return;
        };
        let mut slots = n.slots.clone();
        for s in self.topo.owner_not_claiming().iter() {
            slots.remove(s);
        }
        let msg = Message {
            header: self.header(MessageType::Update),
            body: Body::Update {
                config_epoch: n.config_epoch,
                node: *about,
                slots,
            },
        };
        self.send(link, &msg);
    }
}
