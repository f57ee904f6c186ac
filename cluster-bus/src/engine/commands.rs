//! CLUSTER subcommands that read or change the topology.
//!
//! Arguments arrive parsed (slots as numbers, IDs as text); the checks that depend on
//! the cluster view, and their error texts, are Redis 7.0's.

use super::gossip::BLACKLIST_TTL;
use super::{Engine, Event};
use crate::node_id::NodeId;
use crate::topology::{ClusterNode, NodeFlags};

/// A CLUSTER subcommand for the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterCommand {
    /// CLUSTER MEET ip port [cport].
    Meet {
        /// IP text.
        ip: String,
        /// Client port.
        port: i64,
        /// Bus port.
        cport: i64,
    },
    /// CLUSTER NODES.
    Nodes,
    /// CLUSTER MYID.
    MyId,
    /// CLUSTER INFO.
    Info,
    /// CLUSTER SLOTS.
    Slots,
    /// CLUSTER SHARDS.
    Shards,
    /// CLUSTER LINKS.
    Links,
    /// The whole view, structured (for the admin plane).
    Describe,
    /// CLUSTER ADDSLOTS / ADDSLOTSRANGE: inclusive ranges.
    AddSlots(Vec<(u16, u16)>),
    /// CLUSTER DELSLOTS / DELSLOTSRANGE.
    DelSlots(Vec<(u16, u16)>),
    /// CLUSTER FLUSHSLOTS; `db_empty` says whether this node holds no keys.
    FlushSlots {
        /// No keys stored.
        db_empty: bool,
    },
    /// CLUSTER FORGET id.
    Forget(String),
    /// CLUSTER RESET [HARD|SOFT].
    Reset {
        /// HARD: new ID, epochs to zero.
        hard: bool,
        /// No keys stored.
        db_empty: bool,
    },
    /// CLUSTER SET-CONFIG-EPOCH.
    SetConfigEpoch(i64),
    /// CLUSTER BUMPEPOCH.
    BumpEpoch,
    /// CLUSTER COUNT-FAILURE-REPORTS id.
    CountFailureReports(String),
    /// CLUSTER SAVECONFIG (the shell writes the file and reports errors).
    SaveConfig,
    /// CLUSTER REPLICATE id.
    Replicate {
        /// The master's ID.
        master: String,
        /// No keys stored.
        db_empty: bool,
    },
    /// CLUSTER REPLICAS / SLAVES id.
    Replicas(String),
    /// CLUSTER FAILOVER [FORCE|TAKEOVER].
    Failover(super::FailoverKind),
    /// Several subcommands applied in one step, with nothing in between (MULTI/EXEC).
    Batch(Vec<ClusterCommand>),
    /// CLUSTER SETSLOT slot MIGRATING|IMPORTING|STABLE|NODE [id].
    SetSlot {
        /// The slot.
        slot: u16,
        /// What to do.
        action: SetSlotAction,
        /// How many keys this node holds in the slot.
        keys_in_slot: usize,
    },
}

/// The actions of CLUSTER SETSLOT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetSlotAction {
    /// MIGRATING id: this owner is moving the slot to that node.
    Migrating(String),
    /// IMPORTING id: this node is receiving the slot from that node.
    Importing(String),
    /// STABLE: neither.
    Stable,
    /// NODE id: the slot now belongs to that node.
    Node(String),
}

/// A node as CLUSTER SLOTS lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeEndpoint {
    /// Preferred endpoint (`None`: unknown-endpoint, sent as null).
    pub endpoint: Option<String>,
    /// Client port.
    pub port: u16,
    /// Node ID.
    pub id: NodeId,
    /// Other networking facts (`ip`, `hostname`).
    pub extra: Vec<(String, String)>,
}

/// One CLUSTER SLOTS entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotRange {
    /// First slot.
    pub start: u16,
    /// Last slot.
    pub end: u16,
    /// Master first, then available replicas.
    pub nodes: Vec<NodeEndpoint>,
}

/// A node in CLUSTER SHARDS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardNode {
    /// ID.
    pub id: NodeId,
    /// Client port.
    pub port: u16,
    /// IP.
    pub ip: String,
    /// Preferred endpoint.
    pub endpoint: String,
    /// Hostname ("" when none).
    pub hostname: String,
    /// Master (else replica).
    pub master: bool,
    /// Replication offset.
    pub replication_offset: u64,
    /// fail, loading or online.
    pub health: &'static str,
}

/// One CLUSTER SHARDS entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    /// Slot ranges.
    pub slots: Vec<(u16, u16)>,
    /// Master first, then replicas.
    pub nodes: Vec<ShardNode>,
}

/// One CLUSTER LINKS entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    /// Outbound ("to") or inbound ("from").
    pub direction_to: bool,
    /// The peer.
    pub node: NodeId,
    /// Creation time (ms).
    pub created: u64,
    /// The link id.
    pub id: u64,
    /// Its traffic so far.
    pub traffic: super::LinkTraffic,
}

/// What a CLUSTER subcommand answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `+OK`.
    Ok,
    /// A status line (`BUMPED 5`).
    Status(String),
    /// Text (NODES, INFO: verbatim in RESP3).
    Text(String),
    /// A bulk string (MYID).
    Bulk(String),
    /// An integer.
    Int(i64),
    /// Bulk strings (REPLICAS).
    Lines(Vec<String>),
    /// CLUSTER SLOTS.
    Slots(Vec<SlotRange>),
    /// CLUSTER SHARDS.
    Shards(Vec<Shard>),
    /// CLUSTER LINKS.
    Links(Vec<LinkInfo>),
    /// The whole view ([`ClusterCommand::Describe`]).
    Topology(Box<super::TopologyView>),
    /// The answers of a [`ClusterCommand::Batch`], in order.
    Batch(Vec<Result<Answer, CommandError>>),
}

/// Why a CLUSTER subcommand was refused; the text is Redis's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// Any refusal, with Redis's full error text (code included).
    #[error("{0}")]
    Refused(String),
}

fn refused<T>(text: impl Into<String>) -> Result<T, CommandError> {
    Err(CommandError::Refused(text.into()))
}

impl Engine {
    fn lookup_text(&self, id: &str) -> Option<NodeId> {
        let id = NodeId::parse(id.as_bytes())?;
        self.topo.node(&id).map(|n| n.id)
    }

    /// Runs a CLUSTER subcommand.
    pub fn command(&mut self, cmd: ClusterCommand, now: u64) -> Result<Answer, CommandError> {
        let answer = self.run_command(cmd, now);
        self.finish_input(now);
        answer
    }

    fn run_command(&mut self, cmd: ClusterCommand, now: u64) -> Result<Answer, CommandError> {
        match cmd {
            ClusterCommand::Batch(commands) => Ok(Answer::Batch(
                commands
                    .into_iter()
                    .map(|c| self.run_command(c, now))
                    .collect(),
            )),
            ClusterCommand::Nodes => Ok(Answer::Text(self.nodes_description())),
            ClusterCommand::MyId => Ok(Answer::Bulk(self.topo.myself().to_string())),
            ClusterCommand::Info => Ok(Answer::Text(self.info())),
            ClusterCommand::Slots => Ok(Answer::Slots(self.slot_ranges())),
            ClusterCommand::Shards => Ok(Answer::Shards(self.shards())),
            ClusterCommand::Links => Ok(Answer::Links(self.link_infos())),
            ClusterCommand::Describe => Ok(Answer::Topology(Box::new(self.topology_view(now)))),
            ClusterCommand::Meet { ip, port, cport } => self.meet(&ip, port, cport, now),
            ClusterCommand::AddSlots(ranges) => self.change_slots(&ranges, false),
            ClusterCommand::DelSlots(ranges) => self.change_slots(&ranges, true),
            ClusterCommand::FlushSlots { db_empty } => {
                if !db_empty {
                    return refused("ERR DB must be empty to perform CLUSTER FLUSHSLOTS.");
                }
                let me = self.topo.myself();
                self.topo.del_node_slots(&me);
                // Saved even when no slot was held, as Redis does.
                self.save(false);
                self.update_state_later();
                Ok(Answer::Ok)
            }
            ClusterCommand::Forget(id) => {
                let Some(n) = self.lookup_text(&id) else {
                    return refused(format!("ERR Unknown node {id}"));
                };
                if n == self.topo.myself() {
                    return refused("ERR I tried hard but I can't forget myself...");
                }
                if self.topo.me().is_replica() && self.topo.me().master == Some(n) {
                    return refused("ERR Can't forget my master!");
                }
                self.blacklist.insert(n, now + BLACKLIST_TTL);
                self.delete_node(&n);
                self.save(false);
                self.update_state_later();
                Ok(Answer::Ok)
            }
            ClusterCommand::Reset { hard, db_empty } => {
                if self.topo.me().is_master() && !db_empty {
                    return refused(
                        "ERR CLUSTER RESET can't be called with master nodes containing keys",
                    );
                }
                self.reset(hard);
                Ok(Answer::Ok)
            }
            ClusterCommand::SetConfigEpoch(epoch) => {
                if epoch < 0 {
                    return refused(format!("ERR Invalid config epoch specified: {epoch}"));
                }
                if self.topo.nodes().len() > 1 {
                    return refused(
                        "ERR The user can assign a config epoch only when the node does not know any other node.",
                    );
                }
                if self.topo.me().config_epoch != 0 {
                    return refused("ERR Node config epoch is already non-zero");
                }
                let epoch = epoch as u64;
                self.topo.set_my_config_epoch(epoch);
                tracing::warn!(epoch, "configEpoch set via CLUSTER SET-CONFIG-EPOCH");
                Ok(Answer::Ok)
            }
            ClusterCommand::BumpEpoch => {
                let bumped = self.bump_epoch_without_consensus();
                let word = if bumped { "BUMPED" } else { "STILL" };
                Ok(Answer::Status(format!(
                    "{word} {}",
                    self.topo.me().config_epoch
                )))
            }
            ClusterCommand::CountFailureReports(id) => {
                let Some(n) = self.lookup_text(&id) else {
                    return refused(format!("ERR Unknown node {id}"));
                };
                let timeout = self.cfg.node_timeout;
                let count = self
                    .topo
                    .node_mut(&n)
                    .expect("known")
                    .fail_reports
                    .count(now, timeout);
                Ok(Answer::Int(count as i64))
            }
            ClusterCommand::SaveConfig => {
                self.save(true);
                Ok(Answer::Ok)
            }
            ClusterCommand::Replicate { master, db_empty } => {
                let Some(n) = self.lookup_text(&master) else {
                    return refused(format!("ERR Unknown node {master}"));
                };
                if n == self.topo.myself() {
                    return refused("ERR Can't replicate myself");
                }
                if self.topo.nodes()[&n].is_replica() {
                    return refused("ERR I can only replicate a master, not a replica.");
                }
                let me = self.topo.me();
                if me.is_master() && (me.slot_count != 0 || !db_empty) {
                    return refused(
                        "ERR To set a master the node must be empty and without assigned slots.",
                    );
                }
                self.become_replica_of(n, now);
                // Redis 7.0 lets the new role spread with the next pings; telling every
                // peer now spares clients and tools a second of stale topology.
                self.broadcast_pong(now);
                self.save(false);
                self.update_state_later();
                Ok(Answer::Ok)
            }
            ClusterCommand::SetSlot {
                slot,
                action,
                keys_in_slot,
            } => self.set_slot(slot, action, keys_in_slot, now),
            ClusterCommand::Failover(kind) => self
                .start_manual_failover(kind, now)
                .map(|()| Answer::Ok)
                .map_err(CommandError::Refused),
            ClusterCommand::Replicas(id) => {
                let Some(n) = self.lookup_text(&id) else {
                    return refused(format!("ERR Unknown node {id}"));
                };
                let node = &self.topo.nodes()[&n];
                if !node.is_master() {
                    return refused("ERR The specified node is not a master");
                }
                let lines = node
                    .replicas
                    .clone()
                    .iter()
                    .filter_map(|r| self.node_description(r))
                    .collect();
                Ok(Answer::Lines(lines))
            }
        }
    }

    /// CLUSTER MEET: starts a handshake with a node at `ip:port`, bus port `cport`.
    fn meet(&mut self, ip: &str, port: i64, cport: i64, now: u64) -> Result<Answer, CommandError> {
        let Ok(addr) = ip.parse::<std::net::IpAddr>() else {
            return refused(format!("ERR Invalid node address specified: {ip}:{port}"));
        };
        if !(1..=65535).contains(&port) || !(1..=65535).contains(&cport) {
            return refused(format!("ERR Invalid node address specified: {ip}:{port}"));
        }
        let ip = addr.to_string();
        let (port, cport) = (port as u16, cport as u16);
        let in_progress = self.topo.nodes().values().any(|n| {
            n.in_handshake() && n.ip.eq_ignore_ascii_case(&ip) && n.port == port && n.cport == cport
        });
        if !in_progress {
            let id = NodeId::random(&mut self.rng);
            let mut node = ClusterNode::new(id, NodeFlags::HANDSHAKE | NodeFlags::MEET, now);
            node.ip = ip;
            node.port = port;
            node.cport = cport;
            self.topo.add_node(node);
        }
        Ok(Answer::Ok)
    }

    /// ADDSLOTS/DELSLOTS and their RANGE forms: all checks first, then all changes.
    fn change_slots(
        &mut self,
        ranges: &[(u16, u16)],
        delete: bool,
    ) -> Result<Answer, CommandError> {
        let mut seen = vec![false; crate::slot_bitmap::SLOTS];
        for &(start, end) in ranges {
            for slot in start..=end {
                let owned = self.topo.slot_owner(slot).is_some();
                if delete && !owned {
                    return refused(format!("ERR Slot {slot} is already unassigned"));
                }
                if !delete && owned {
                    return refused(format!("ERR Slot {slot} is already busy"));
                }
                if std::mem::replace(&mut seen[slot as usize], true) {
                    return refused(format!("ERR Slot {slot} specified multiple times"));
                }
            }
        }
        let me = self.topo.myself();
        for &(start, end) in ranges {
            for slot in start..=end {
                if delete {
                    self.topo.del_slot(slot);
                } else {
                    self.topo.stop_importing(slot);
                    self.topo.add_slot(me, slot);
                }
            }
        }
        // Each slot bound or unbound above recorded the save and state update.
        Ok(Answer::Ok)
    }

    /// Takes a new configEpoch unilaterally when ours is 0 or not the largest known
    /// (CLUSTER BUMPEPOCH; later also TAKEOVER and SETSLOT NODE).
    pub(super) fn bump_epoch_without_consensus(&mut self) -> bool {
        let max = self.topo.max_epoch();
        let mine = self.topo.me().config_epoch;
        if mine != 0 && mine == max {
            return false;
        }
        let epoch = self.topo.take_new_config_epoch();
        tracing::warn!(epoch, "new configEpoch set without consensus");
        true
    }

    /// CLUSTER RESET: forget every other node and every slot; HARD also takes a new ID
    /// and zeroes the epochs.
    fn reset(&mut self, hard: bool) {
        let me = self.topo.myself();
        if self.topo.me().is_replica() {
            self.topo.set_node_as_master(&me);
            self.out.events.push(Event::ReplicaReset);
        }
        self.topo.clear_migrations();
        for slot in 0..crate::slot_bitmap::SLOTS as u16 {
            self.topo.del_slot(slot);
        }
        let others: Vec<NodeId> = self
            .topo
            .nodes()
            .keys()
            .filter(|id| **id != me)
            .copied()
            .collect();
        for id in others {
            self.delete_node(&id);
        }
        if hard {
            let new_id = NodeId::random(&mut self.rng);
            self.topo.reset_identity(new_id);
            tracing::info!(id = %new_id, "node hard reset");
        }
        self.out.events.push(Event::StateChanged(false));
        self.topo.touch();
        self.save(true);
        self.update_state_later();
    }
}
