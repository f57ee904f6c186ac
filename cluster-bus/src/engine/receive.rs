//! Processing one received message (Redis's clusterProcessPacket).

use tessera_failover::failure;

use super::{Engine, Event};
use crate::node_id::NodeId;
use crate::topology::{ClusterNode, LinkId, NodeFlags};
use crate::wire::{self, Body, Header, Message, MessageType, PingExtension, Received};

impl Engine {
    /// The sender of a message: the link's node once known and out of handshake, else
    /// the header's ID if we know it (binding an unbound inbound link to it).
    fn resolve_sender(&mut self, link: LinkId, sender: &NodeId) -> Option<NodeId> {
        let bound = self.links.get(&link)?.node;
        if let Some(id) = bound
            && self.topo.node(&id).is_some_and(|n| !n.in_handshake())
        {
            return Some(id);
        }
        self.topo.node(sender)?;
        if bound.is_none() {
            // First message from this peer on its inbound link: remember the link.
            let previous = self.topo.node(sender).and_then(|n| n.inbound_link);
            if let Some(old) = previous.filter(|&old| old != link) {
                self.free_link(old);
            }
            if let Some(l) = self.links.get_mut(&link) {
                l.node = Some(*sender);
            }
            if let Some(n) = self.topo.node_mut(sender) {
                n.inbound_link = Some(link);
            }
        }
        Some(*sender)
    }

    /// The IP a header announces, or else the peer's socket address.
    fn announced_ip(&self, link: LinkId, header: &Header) -> String {
        if header.ip.is_empty() {
            self.links
                .get(&link)
                .map(|l| l.peer_ip.clone())
                .unwrap_or_default()
        } else {
            header.ip.clone()
        }
    }

    /// Updates a node's address from a PING received on a link other than our own
    /// link to it (saved, state re-evaluated); on change our link is dropped so it
    /// reconnects to the new address.
    fn update_address_if_needed(&mut self, id: &NodeId, link: LinkId, header: &Header) {
        let ip = self.announced_ip(link, header);
        let Some(n) = self.topo.node(id) else {
            return;
        };
        if n.link == Some(link) {
            return;
        }
        if n.port == header.port && n.cport == header.cport && n.pport == header.pport && n.ip == ip
        {
            return;
        }
        let old_link = n.link;
        tracing::warn!(node = %id, ip = %ip, port = header.port, "address updated for node");
        self.topo
            .relocate(id, ip, header.port, header.cport, header.pport);
        if let Some(l) = old_link {
            self.free_link(l);
        }
    }

    pub(super) fn process_packet(&mut self, link: LinkId, frame: &[u8], now: u64) {
        let Some(l) = self.links.get_mut(&link) else {
            return;
        };
        l.traffic.messages_received += 1;
        l.traffic.bytes_received += frame.len() as u64;
        let frame = match wire::CheckedFrame::new(frame) {
            Ok(frame) => frame,
            Err(check) => {
                // The shell frames with `check_frame`, so this is a shell bug; Redis
                // closes a link whose framing is wrong, and so do we.
                tracing::warn!(
                    link,
                    ?check,
                    "not one whole cluster bus frame; closing the link"
                );
                self.free_link(link);
                return;
            }
        };
        let msg = match wire::decode(frame) {
            Received::Message(m) => m,
            Received::Dropped { kind, reason } => {
                if (kind as usize) < wire::MESSAGE_TYPES {
                    self.stats.received[kind as usize] += 1;
                }
                tracing::warn!(link, kind, ?reason, "dropping invalid cluster bus message");
                return;
            }
        };
        let Some(kind) = msg.kind() else {
            tracing::warn!(link, kind = msg.header.kind, "received unknown packet type");
            return;
        };
        self.stats.received[kind as usize] += 1;
        let h = &msg.header;
        let sender = self.resolve_sender(link, &h.sender);
        if let Some(s) = sender.and_then(|s| self.topo.node_mut(&s)) {
            s.data_received = now;
        }
        if let Some(id) = sender
            && !self.topo.nodes()[&id].in_handshake()
        {
            self.topo.learn_current_epoch(h.current_epoch);
            self.topo.learn_config_epoch(&id, h.config_epoch);
            let s = self.topo.node_mut(&id).expect("resolved");
            s.repl_offset = h.offset;
            self.note_master_pause(&id, h);
        }
        if kind.is_ping_like() {
            self.process_ping_like(link, kind, &msg, sender, now);
            return;
        }
        let Some(sender) = sender else {
            return;
        };
        match (&kind, &msg.body) {
            (MessageType::Fail, Body::Fail(about)) => {
                let failing = self.topo.node(about).map(|n| n.flags);
                if let Some(flags) = failing
                    && !flags.any(NodeFlags::FAIL | NodeFlags::MYSELF)
                {
                    tracing::info!(node = %about, reporter = %sender, "FAIL message received");
                    self.topo.mark_failed(about, now);
                    self.out.events.push(Event::Failing(*about));
                }
            }
            (
                MessageType::Update,
                Body::Update {
                    config_epoch,
                    node,
                    slots,
                },
            ) => {
                let Some(n) = self.topo.node(node) else {
                    return;
                };
                if n.config_epoch >= *config_epoch {
                    return;
                }
                if n.is_replica() {
                    self.topo.set_node_as_master(node);
                }
                self.topo.learn_config_epoch(node, *config_epoch);
                self.update_slots_config_with(*node, *config_epoch, slots, now);
            }
            (MessageType::FailoverAuthRequest, _) => {
                let h = msg.header.clone();
                self.vote_requested(sender, &h, now);
            }
            (MessageType::FailoverAuthAck, _) => {
                let h = msg.header.clone();
                self.count_vote(sender, &h, now);
            }
            (MessageType::MfStart, _) => self.manual_failover_requested(sender, now),
            (MessageType::Publish, Body::Publish { channel, message }) => {
                self.published(false, channel, message);
            }
            (MessageType::PublishShard, Body::Publish { channel, message }) => {
                self.published(true, channel, message);
            }
            _ => {}
        }
    }

    fn process_ping_like(
        &mut self,
        link: LinkId,
        kind: MessageType,
        msg: &Message,
        mut sender: Option<NodeId>,
        now: u64,
    ) {
        let h = &msg.header;
        let (inbound, link_node) = match self.links.get(&link) {
            Some(l) => (l.inbound, l.node),
            None => return,
        };
        if matches!(kind, MessageType::Ping | MessageType::Meet) {
            let my_ip_unknown = self.topo.me().ip.is_empty();
            if (kind == MessageType::Meet || my_ip_unknown) && self.cfg.announce_ip.is_none() {
                let local = self
                    .links
                    .get(&link)
                    .map(|l| l.local_ip.clone())
                    .unwrap_or_default();
                if !local.is_empty() && self.topo.me().ip != local {
                    tracing::info!(ip = %local, "IP address for this node updated");
                    self.topo.set_my_ip(local);
                }
            }
            if sender.is_none() && kind == MessageType::Meet {
                // Someone asked to meet us: add them, under a random ID until our own
                // PING to them tells us their real one.
                let id = NodeId::random(&mut self.rng);
                let mut node = ClusterNode::new(id, NodeFlags::HANDSHAKE, now);
                node.ip = self.announced_ip(link, h);
                node.port = h.port;
                node.pport = h.pport;
                node.cport = h.cport;
                self.topo.learn_node(node);
                // Trust the gossip of a MEET: it can only update nodes we know.
                if let Body::Ping { gossip, .. } = &msg.body {
                    self.process_gossip(None, gossip, now);
                }
            }
            self.send_ping(link, MessageType::Pong, now);
        }
        if !inbound {
            let Some(node_id) = link_node else { return };
            let handshake = self.topo.node(&node_id).is_some_and(|n| n.in_handshake());
            if handshake {
                if let Some(known) = sender {
                    // We already knew this node under its real ID: fix its address
                    // and drop the handshake duplicate.
                    self.update_address_if_needed(&known, link, h);
                    self.delete_node(&node_id);
                    return;
                }
                tracing::debug!(node = %h.sender, "handshake completed");
                self.topo.rename_node(&node_id, h.sender);
                if let Some(l) = self.links.get_mut(&link) {
                    l.node = Some(h.sender);
                }
                let n = self.topo.node_mut(&h.sender).expect("renamed");
                n.flags.clear(NodeFlags::HANDSHAKE);
                n.flags
                    .set(h.flags & (NodeFlags::MASTER | NodeFlags::REPLICA));
                self.out.events.push(Event::NodeAdded(h.sender));
                self.save(false);
            } else if node_id != h.sender {
                // Someone else answers at this address now: the node we knew there
                // moved. Forget its address and wait for gossip to tell us the new one.
                tracing::warn!(expected = %node_id, got = %h.sender, "PONG from an unexpected node ID");
                self.topo.forget_address(&node_id);
                self.free_link(link);
                return;
            }
        }
        if let Some(s) = sender.and_then(|s| self.topo.node_mut(&s)) {
            s.flags.clear(NodeFlags::NOFAILOVER);
            s.flags.set(h.flags & NodeFlags::NOFAILOVER);
        }
        if !inbound
            && kind == MessageType::Pong
            && let Some(id) = self.links.get(&link).and_then(|l| l.node)
        {
            self.pong_received(&id, now);
        }
        if let Some(s) = sender
            && kind == MessageType::Ping
            && !self.topo.nodes()[&s].in_handshake()
        {
            self.update_address_if_needed(&s, link, h);
        }
        // A sender resolved before a handshake rename stays unknown for the rest of this
        // packet, as in Redis: its slots and gossip count from its next message.
        let Some(s) = sender.take() else { return };
        if !self.topo.nodes().contains_key(&s) {
            return;
        }
        self.apply_role(&s, h);
        self.apply_claimed_slots(&s, h, now);
        // configEpoch collision between two masters: the smaller ID moves on.
        let me = self.topo.me();
        if me.is_master() && self.topo.nodes()[&s].is_master() && h.config_epoch == me.config_epoch
        {
            self.handle_epoch_collision(&s);
        }
        if let Body::Ping { gossip, extensions } = &msg.body {
            self.process_gossip(Some(s), gossip, now);
            let hostname = extensions.iter().find_map(|e| match e {
                PingExtension::Hostname(h) => Some(h.clone()),
                PingExtension::Unknown(_) => None,
            });
            self.topo.set_hostname(&s, hostname.unwrap_or_default());
        }
    }

    /// A PONG arrived on our link to `id`: the pending ping is answered.
    fn pong_received(&mut self, id: &NodeId, now: u64) {
        let timeout = self.cfg.node_timeout;
        let Some(n) = self.topo.node_mut(id) else {
            return;
        };
        n.pong_received = now;
        if n.ping_sent != 0 {
            n.contact.on_pong(n.ping_sent, now, timeout);
        }
        n.ping_sent = 0;
        if n.is_timed_out() {
            self.topo.clear_timed_out(id);
        } else if n.is_failed() {
            let serves = n.is_master() && n.slot_count > 0;
            if failure::fail_can_be_cleared(serves, n.fail_time, now, timeout) {
                tracing::info!(node = %id, "clearing FAIL state: it is reachable again");
                self.topo.clear_failed(id);
                self.out.events.push(Event::Recovered(*id));
            }
        }
    }

    /// Applies the role a header announces: master, or replica of its `replica_of`.
    fn apply_role(&mut self, s: &NodeId, h: &Header) {
        match h.replica_of {
            None => {
                if !self.topo.nodes()[s].is_master() {
                    self.topo.set_node_as_master(s);
                    self.save(false);
                    self.update_state_later();
                }
            }
            Some(master) => {
                if self.topo.nodes()[s].is_master() {
                    // A master turned into a replica.
                    self.topo.demote_to_replica(s);
                }
                if self.topo.node(&master).is_some() && self.topo.nodes()[s].master != Some(master)
                {
                    self.topo.attach_replica(*s, master);
                }
            }
        }
    }

    /// Compares the slots a sender's shard claims with ours: adopt a newer claim from a
    /// master; tell the sender when it claims slots a node with a greater configEpoch
    /// owns.
    fn apply_claimed_slots(&mut self, s: &NodeId, h: &Header, now: u64) {
        let node = &self.topo.nodes()[s];
        let shard_master = if node.is_master() {
            Some(*s)
        } else {
            node.master
        };
        let dirty = shard_master
            .and_then(|m| self.topo.node(&m))
            .is_some_and(|m| m.slots != h.slots);
        if !dirty {
            return;
        }
        if self.topo.nodes()[s].is_master() {
            self.update_slots_config_with(*s, h.config_epoch, &h.slots, now);
        }
        let stale: Option<NodeId> = h.slots.iter().find_map(|slot| {
            let owner = self.topo.slot_owner(slot)?;
            if owner == *s || self.topo.slot_unclaimed(slot) {
                return None;
            }
            (self.topo.nodes()[&owner].config_epoch > h.config_epoch).then_some(owner)
        });
        if let (Some(owner), Some(link)) = (stale, self.topo.nodes()[s].link) {
            tracing::debug!(node = %s, owner = %owner, "sending UPDATE about a newer slot owner");
            self.send_update(link, &owner);
        }
    }

    /// Two masters share a configEpoch: the one with the smaller ID takes a new one.
    fn handle_epoch_collision(&mut self, s: &NodeId) {
        if s.as_bytes() <= self.topo.myself().as_bytes() {
            return;
        }
        let epoch = self.topo.take_new_config_epoch();
        tracing::warn!(with = %s, epoch, "configEpoch collision; configEpoch set to a new value");
    }
}
