//! The textual and structured views of the cluster: CLUSTER NODES (and nodes.conf),
//! CLUSTER INFO, SLOTS, SHARDS, LINKS.

use std::fmt::Write as _;
use tessera_persistence::nodes_conf::{self, NodeLine, NodesConf};

use super::commands::{LinkInfo, NodeEndpoint, Shard, ShardNode, SlotRange};
use super::routing::endpoint;
use super::{EndpointType, Engine};
use crate::node_id::NodeId;
use crate::slot_bitmap::SLOTS;
use crate::topology::ClusterNode;
use crate::wire::{MESSAGE_TYPES, MessageType};

/// One node of a [`TopologyView`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeView {
    /// What CLUSTER NODES says of it.
    pub line: NodeLine,
    /// Masters that reported it failing, and when (Unix ms); only valid reports.
    pub failure_reports: Vec<(NodeId, u64)>,
    /// The replication offset it last announced.
    pub repl_offset: u64,
    /// Slots it serves.
    pub slot_count: usize,
}

/// The cluster as this node sees it, structured for the admin plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopologyView {
    /// This node.
    pub myself: NodeId,
    /// The cluster's currentEpoch.
    pub current_epoch: u64,
    /// cluster_state:ok.
    pub state_ok: bool,
    /// Every known node, handshakes included.
    pub nodes: Vec<NodeView>,
}

impl Engine {
    /// The structured view: CLUSTER NODES plus failure reports and offsets.
    pub(super) fn topology_view(&mut self, now: u64) -> TopologyView {
        let timeout = self.cfg.node_timeout;
        for n in self.topo.nodes_mut() {
            n.fail_reports.expire(now, timeout);
        }
        TopologyView {
            myself: self.topo.myself(),
            current_epoch: self.topo.current_epoch(),
            state_ok: self.state_ok,
            nodes: self
                .topo
                .nodes()
                .values()
                .map(|n| NodeView {
                    line: self.node_line(n),
                    failure_reports: n.fail_reports.iter().cloned().collect(),
                    repl_offset: if n.is_myself() {
                        self.repl_offset
                    } else {
                        n.repl_offset
                    },
                    slot_count: n.slot_count,
                })
                .collect(),
        }
    }

    fn node_line(&self, n: &ClusterNode) -> NodeLine {
        let me = n.is_myself();
        NodeLine {
            id: n.id.to_string(),
            ip: n.ip.clone(),
            port: n.port,
            cport: n.cport,
            hostname: n.hostname.clone(),
            flags: n.flags.describe(),
            master: n.master.map(|m| m.to_string()),
            ping_sent: n.ping_sent,
            pong_received: n.pong_received,
            config_epoch: self.topo.shown_epoch(&n.id),
            connected: n.link.is_some() || me,
            slots: n.slots.ranges(),
            migrating: if me {
                self.topo
                    .migrating()
                    .iter()
                    .map(|(s, id)| (*s, id.to_string()))
                    .collect()
            } else {
                Vec::new()
            },
            importing: if me {
                self.topo
                    .importing()
                    .iter()
                    .map(|(s, id)| (*s, id.to_string()))
                    .collect()
            } else {
                Vec::new()
            },
        }
    }

    /// CLUSTER NODES: one line per known node, handshakes included.
    pub fn nodes_description(&self) -> String {
        let mut out = String::new();
        for n in self.topo.nodes().values() {
            nodes_conf::render_line(&mut out, &self.node_line(n));
        }
        out
    }

    /// One node's CLUSTER NODES line (CLUSTER REPLICAS).
    pub fn node_description(&self, id: &NodeId) -> Option<String> {
        let mut out = String::new();
        nodes_conf::render_line(&mut out, &self.node_line(self.topo.node(id)?));
        Some(out)
    }

    /// The nodes.conf content: every node but handshakes, then the epochs.
    pub fn nodes_conf(&self) -> String {
        nodes_conf::render(&NodesConf {
            nodes: self
                .topo
                .nodes()
                .values()
                .filter(|n| !n.in_handshake())
                .map(|n| self.node_line(n))
                .collect(),
            current_epoch: self.topo.current_epoch(),
            last_vote_epoch: self.topo.last_vote_epoch(),
        })
    }

    /// CLUSTER INFO.
    pub fn info(&self) -> String {
        let mut assigned = 0;
        let (mut ok, mut pfail, mut fail) = (0, 0, 0);
        for n in self.topo.nodes().values().filter(|n| n.slot_count > 0) {
            assigned += n.slot_count;
            match n {
                n if n.is_failed() => fail += n.slot_count,
                n if n.is_timed_out() => pfail += n.slot_count,
                _ => ok += n.slot_count,
            }
        }
        let mut out = String::new();
        let mut field = |name: &str, value: &dyn std::fmt::Display| {
            let _ = write!(out, "{name}:{value}\r\n");
        };
        field("cluster_state", &if self.state_ok { "ok" } else { "fail" });
        field("cluster_slots_assigned", &assigned);
        field("cluster_slots_ok", &ok);
        field("cluster_slots_pfail", &pfail);
        field("cluster_slots_fail", &fail);
        field("cluster_known_nodes", &self.topo.nodes().len());
        field("cluster_size", &self.size);
        field("cluster_current_epoch", &self.topo.current_epoch());
        field(
            "cluster_my_epoch",
            &self.topo.shown_epoch(&self.topo.myself()),
        );
        for (direction, counts) in [
            ("sent", &self.stats.sent),
            ("received", &self.stats.received),
        ] {
            for (code, count) in counts.iter().enumerate().take(MESSAGE_TYPES) {
                if *count > 0 {
                    let name = MessageType::from_code(code as u16)
                        .expect("known code")
                        .stats_name();
                    field(&format!("cluster_stats_messages_{name}_{direction}"), count);
                }
            }
            field(
                &format!("cluster_stats_messages_{direction}"),
                &counts.iter().sum::<u64>(),
            );
        }
        field("total_cluster_links_buffer_limit_exceeded", &0);
        out
    }

    fn endpoint_of(&self, n: &ClusterNode) -> NodeEndpoint {
        let kind = self.cfg.endpoint_type;
        let mut extra = Vec::new();
        if kind != EndpointType::Ip {
            extra.push(("ip".to_string(), n.ip.clone()));
        }
        if kind != EndpointType::Hostname && !n.hostname.is_empty() {
            extra.push(("hostname".to_string(), n.hostname.clone()));
        }
        NodeEndpoint {
            endpoint: (kind != EndpointType::Unknown).then(|| endpoint(n, kind)),
            port: n.port,
            id: n.id,
            extra,
        }
    }

    /// Whether a replica is listed in CLUSTER SLOTS: not failing, and it has data.
    fn replica_available(&self, n: &ClusterNode) -> bool {
        let offset = if n.is_myself() {
            self.repl_offset
        } else {
            n.repl_offset
        };
        !n.is_failed() && offset != 0
    }

    /// CLUSTER SLOTS: contiguous ranges with one owner, in slot order.
    pub fn slot_ranges(&self) -> Vec<SlotRange> {
        let mut ranges: Vec<SlotRange> = Vec::new();
        let mut start = 0usize;
        while start < SLOTS {
            let Some(owner) = self.topo.slot_owner(start as u16) else {
                start += 1;
                continue;
            };
            let mut end = start;
            while end + 1 < SLOTS && self.topo.slot_owner(end as u16 + 1) == Some(owner) {
                end += 1;
            }
            let master = &self.topo.nodes()[&owner];
            let mut nodes = vec![self.endpoint_of(master)];
            nodes.extend(
                master
                    .replicas
                    .iter()
                    .filter_map(|r| self.topo.node(r))
                    .filter(|r| self.replica_available(r))
                    .map(|r| self.endpoint_of(r)),
            );
            ranges.push(SlotRange {
                start: start as u16,
                end: end as u16,
                nodes,
            });
            start = end + 1;
        }
        ranges
    }

    fn shard_node(&self, n: &ClusterNode) -> ShardNode {
        let offset = if n.is_myself() {
            self.repl_offset
        } else {
            n.repl_offset
        };
        ShardNode {
            id: n.id,
            port: n.port,
            ip: n.ip.clone(),
            endpoint: endpoint(n, self.cfg.endpoint_type),
            hostname: n.hostname.clone(),
            master: n.is_master(),
            replication_offset: offset,
            health: if n.is_failed() {
                "fail"
            } else if n.is_replica() && offset == 0 {
                "loading"
            } else {
                "online"
            },
        }
    }

    /// CLUSTER SHARDS: one entry per master, with its replicas.
    pub fn shards(&self) -> Vec<Shard> {
        self.topo
            .nodes()
            .values()
            .filter(|n| n.is_master() && !n.in_handshake())
            .map(|m| {
                let mut nodes = vec![self.shard_node(m)];
                nodes.extend(
                    m.replicas
                        .iter()
                        .filter_map(|r| self.topo.node(r))
                        .map(|r| self.shard_node(r)),
                );
                Shard {
                    slots: m.slots.ranges(),
                    nodes,
                }
            })
            .collect()
    }

    /// CLUSTER LINKS.
    pub fn link_infos(&self) -> Vec<LinkInfo> {
        self.links
            .iter()
            .filter_map(|(id, l)| {
                Some(LinkInfo {
                    direction_to: !l.inbound,
                    node: l.node?,
                    created: l.created,
                    id: *id,
                    traffic: l.traffic,
                })
            })
            .collect()
    }
}
