//! Pub/Sub over the bus: Redis 7.0's PUBLISH goes to every node with a link, a
//! sharded one (PUBLISHSHARD) to the other nodes of this node's shard; a received one
//! is handed to the shell for local delivery, never sent on.

use super::Engine;
use crate::topology::NodeFlags;
use crate::wire::{Body, Message, MessageType};

/// A message published on another node, to deliver to this node's subscribers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    /// PUBLISHSHARD (SPUBLISH) rather than PUBLISH.
    pub shard: bool,
    /// The channel.
    pub channel: Vec<u8>,
    /// The message.
    pub message: Vec<u8>,
}

impl Engine {
    /// Sends a message published on this node to the nodes that must deliver it too
    /// (Redis's clusterPropagatePublish).
    pub fn publish(&mut self, channel: &[u8], message: &[u8], shard: bool) {
        let kind = if shard {
            MessageType::PublishShard
        } else {
            MessageType::Publish
        };
        let msg = Message {
            header: self.header(kind),
            body: Body::Publish {
                channel: channel.to_vec(),
                message: message.to_vec(),
            },
        };
        let links = if shard {
            self.shard_links()
        } else {
            self.broadcast_links()
        };
        // Encoded once for every link: a PUBLISH flood is mostly these bytes.
        let bytes = crate::wire::encode(&msg);
        self.stats.sent[kind as usize] += links.len() as u64;
        for link in links {
            if let Some(l) = self.links.get_mut(&link) {
                l.traffic.messages_sent += 1;
                l.traffic.bytes_sent += bytes.len() as u64;
            }
            self.out.actions.push(super::Action::Send {
                link,
                bytes: bytes.clone(),
            });
        }
    }

    /// The links to the other nodes of this node's shard: its master and that
    /// master's replicas, or its own replicas.
    fn shard_links(&self) -> Vec<crate::topology::LinkId> {
        let me = self.topo.me();
        let master = match me.master.filter(|_| me.is_replica()) {
            Some(m) => m,
            None => me.id,
        };
        self.topo
            .nodes()
            .values()
            .filter(|n| !n.flags.any(NodeFlags::MYSELF | NodeFlags::HANDSHAKE))
            .filter(|n| n.id == master || (n.is_replica() && n.master == Some(master)))
            .filter_map(|n| n.link)
            .collect()
    }

    /// A PUBLISH or PUBLISHSHARD arrived from a known node: its subscribers here get it.
    pub(super) fn published(&mut self, shard: bool, channel: &[u8], message: &[u8]) {
        self.out.published.push(Publication {
            shard,
            channel: channel.to_vec(),
            message: message.to_vec(),
        });
    }
}
