//! The sans-IO cluster engine: Redis 7.0's cluster protocol as a state machine.
//!
//! The engine owns the topology and decides everything: which messages to send, when
//! a node is PFAIL or FAIL, who owns a slot, whether the cluster is ok. It performs no
//! IO and reads no clock: every input carries `now` (Unix ms) and randomness comes from
//! a seeded generator, so a simulation with the same seed replays exactly. A shell
//! (`crate::runtime`, or a simulator) feeds it inputs and carries out its [`Output`].

mod commands;
mod cron;
mod describe;
mod failover;
mod gossip;
mod publish;
mod receive;
mod routing;
mod send;
mod setslot;
mod slots;
mod state;

pub use commands::{
    Answer, ClusterCommand, CommandError, LinkInfo, NodeEndpoint, SetSlotAction, Shard, ShardNode,
    SlotRange,
};
pub use describe::{NodeView, TopologyView};
pub use failover::FailoverKind;
pub use publish::Publication;
pub use routing::{NO_OWNER, OwnerChange, RouteNode, RoutingSnapshot, SlotMove};

use rand::SeedableRng;
use rand::rngs::StdRng;
use std::collections::BTreeMap;

use crate::node_id::NodeId;
use crate::topology::{LinkId, Topology};
use crate::wire::MESSAGE_TYPES;

/// Which endpoint clients are given in redirections and CLUSTER SLOTS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EndpointType {
    /// The IP (default).
    #[default]
    Ip,
    /// The announced hostname (`?` when a node has none).
    Hostname,
    /// Neither (`null` in CLUSTER SLOTS; clients reuse the address they used).
    Unknown,
}

/// Settings the engine reads (from the node's configuration).
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// cluster-node-timeout, ms.
    pub node_timeout: u64,
    /// Client port announced to peers.
    pub port: u16,
    /// Bus port announced to peers.
    pub cport: u16,
    /// Plain port announced in TLS clusters (0 otherwise).
    pub pport: u16,
    /// cluster-announce-ip, if set.
    pub announce_ip: Option<String>,
    /// cluster-announce-hostname ("" for none).
    pub hostname: String,
    /// cluster-require-full-coverage.
    pub require_full_coverage: bool,
    /// cluster-preferred-endpoint-type.
    pub endpoint_type: EndpointType,
    /// cluster-allow-replica-migration: a master that lost its last slot becomes a
    /// replica of the node that took them, and spare replicas move to orphaned masters.
    pub allow_replica_migration: bool,
    /// cluster-replica-no-failover: this replica never starts an automatic failover.
    pub replica_no_failover: bool,
    /// cluster-replica-validity-factor (0: any data age may fail over).
    pub replica_validity_factor: u64,
    /// repl-ping-replica-period, in ms (part of the data age limit).
    pub repl_ping_period_ms: u64,
    /// cluster-migration-barrier: replicas a master keeps before one may migrate.
    pub migration_barrier: usize,
    /// bind-source-addr: the local address outbound links leave from. The engine
    /// ignores it; the shell that opens the links reads it here, so CONFIG SET
    /// reaches it with the rest.
    pub bind_source_addr: Option<std::net::IpAddr>,
}

impl Default for EngineConfig {
    /// Redis's defaults, for a node on port 6379.
    fn default() -> EngineConfig {
        EngineConfig {
            node_timeout: 15_000,
            port: 6379,
            cport: 16379,
            pport: 0,
            announce_ip: None,
            hostname: String::new(),
            require_full_coverage: true,
            endpoint_type: EndpointType::Ip,
            allow_replica_migration: true,
            replica_no_failover: false,
            replica_validity_factor: 10,
            repl_ping_period_ms: 10_000,
            migration_barrier: 1,
            bind_source_addr: None,
        }
    }
}

/// One bus connection as the engine tracks it.
#[derive(Debug, Clone)]
pub struct Link {
    /// The node it belongs to (for an inbound link: once the peer is identified).
    pub node: Option<NodeId>,
    /// Opened by the peer.
    pub inbound: bool,
    /// When it was created (ms).
    pub created: u64,
    /// For outbound links: the TCP connection is established.
    pub connected: bool,
    /// The peer's IP.
    pub peer_ip: String,
    /// Our IP on this connection (what the peer connected to).
    pub local_ip: String,
    /// Traffic on it, for the admin plane.
    pub traffic: LinkTraffic,
}

/// Messages and bytes that crossed one link.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkTraffic {
    /// Messages queued to send.
    pub messages_sent: u64,
    /// Messages received (valid or not).
    pub messages_received: u64,
    /// Bytes queued to send.
    pub bytes_sent: u64,
    /// Bytes received.
    pub bytes_received: u64,
}

/// Something the shell must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Open an outbound link; report `connected` or `connect_failed`.
    Connect {
        /// The link id to use.
        link: LinkId,
        /// Address.
        ip: String,
        /// Bus port.
        port: u16,
    },
    /// Write a message on a link (queued until an outbound link is connected).
    Send {
        /// The link.
        link: LinkId,
        /// The encoded message.
        bytes: Vec<u8>,
    },
    /// Close a link; no `closed` input is expected for it.
    Close {
        /// The link.
        link: LinkId,
    },
}

/// Something worth telling operators (the admin plane streams these later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A node went PFAIL in this node's view.
    PossiblyFailing(NodeId),
    /// A master reported a node as failing (PFAIL or FAIL in its view), in gossip.
    FailureReported {
        /// The node reported.
        node: NodeId,
        /// The master that reported it.
        reporter: NodeId,
    },
    /// A node was marked FAIL.
    Failing(NodeId),
    /// A node's FAIL flag was cleared.
    Recovered(NodeId),
    /// The cluster state changed (true: ok).
    StateChanged(bool),
    /// This node became a replica of this master, reachable for clients (and so for
    /// replication) at `ip:port`.
    BecameReplicaOf {
        /// The master.
        master: NodeId,
        /// Its IP.
        ip: String,
        /// Its client port.
        port: u16,
    },
    /// This replica asked for votes in this epoch.
    ElectionStarted(u64),
    /// This replica's election in this epoch ended without a quorum; it will retry.
    ElectionLost(u64),
    /// This master voted for a replica standing for election.
    VoteGranted {
        /// The replica.
        candidate: NodeId,
        /// The master it wants to replace.
        master: NodeId,
        /// The epoch of the vote.
        epoch: u64,
    },
    /// This replica won its election (or took over) and now serves its old master's
    /// slots: its data must stop following that master.
    Promoted {
        /// The master it replaced.
        previous_master: NodeId,
        /// Its new configEpoch.
        epoch: u64,
    },
    /// A replica asked this master for a manual failover: hold client writes until
    /// this Unix time (ms), or [`Event::ResumeWrites`].
    PauseWrites {
        /// Until when.
        until: u64,
    },
    /// The manual failover ended: writes may go on.
    ResumeWrites,
    /// CLUSTER RESET turned this replica into an empty master: its data must stop
    /// following the old master and be dropped, as Redis's clusterReset does.
    ReplicaReset,
    /// A node joined this node's view.
    NodeAdded(NodeId),
    /// A node left this node's view.
    NodeRemoved(NodeId),
    /// Slots changed owner in this node's view (told by the shell, which compares
    /// the routing snapshots it publishes).
    SlotsOwnerChanged(OwnerChange),
    /// The currentEpoch or this node's configEpoch changed (told by the shell).
    EpochChanged {
        /// currentEpoch.
        current: u64,
        /// This node's configEpoch.
        mine: u64,
    },
}

/// Everything an input produced.
#[derive(Debug, Default)]
pub struct Output {
    /// IO to perform, in order.
    pub actions: Vec<Action>,
    /// nodes.conf must be written; `Some(true)` means with fsync.
    pub save: Option<bool>,
    /// Events, in order.
    pub events: Vec<Event>,
    /// Slots this node lost while (possibly) holding keys: their keys must be deleted.
    pub delete_slots: Vec<u16>,
    /// Messages published on other nodes, to deliver here, in order of arrival.
    pub published: Vec<Publication>,
}

/// Work deferred to the end of the current input (Redis's beforeSleep todo flags).
#[derive(Debug, Default, Clone, Copy)]
struct Todo {
    save: bool,
    fsync: bool,
    update_state: bool,
    /// Tell every node our config now: once per input, however many slots a batch
    /// (MULTI/EXEC of SETSLOTs) took, not once per slot.
    broadcast_pong: bool,
}

type Election = tessera_failover::election::Election;
type ManualFailover = tessera_failover::manual::ManualFailover<NodeId>;

/// Messages sent and received, by type, for CLUSTER INFO.
#[derive(Debug, Default, Clone)]
pub struct MessageStats {
    /// Sent, by type code.
    pub sent: [u64; MESSAGE_TYPES],
    /// Received, by type code.
    pub received: [u64; MESSAGE_TYPES],
}

/// The cluster protocol state machine of one node.
pub struct Engine {
    topo: Topology,
    cfg: EngineConfig,
    links: BTreeMap<LinkId, Link>,
    next_link: LinkId,
    rng: StdRng,
    out: Output,
    todo: Todo,
    stats: MessageStats,
    iteration: u64,
    state_ok: bool,
    /// Masters serving at least one slot, as of the last state evaluation.
    size: usize,
    first_state_eval: u64,
    among_minority_time: u64,
    /// Forgotten nodes that gossip must not re-add until the deadline (ms).
    blacklist: BTreeMap<NodeId, u64>,
    /// Replication offset reported in headers.
    repl_offset: u64,
    /// When this replica's link to its master went down (`None`: it is up).
    repl_link_down_since: Option<u64>,
    election: Election,
    manual: ManualFailover,
    data_age_logged: bool,
    /// Since when each master has had no working replica.
    orphaned_since: BTreeMap<NodeId, u64>,
    published_version: u64,
    /// Vote requests held by the lease's silence rule.
    pending_votes: Vec<failover::PendingVote>,
    /// The topology version whose structure was last checked (debug builds).
    #[cfg(debug_assertions)]
    checked_version: u64,
}

impl Engine {
    /// An engine for `topology` (fresh or loaded from nodes.conf), drawing randomness
    /// from `seed`.
    pub fn new(topo: Topology, cfg: EngineConfig, seed: u64) -> Engine {
        let mut engine = Engine {
            topo,
            cfg,
            links: BTreeMap::new(),
            next_link: 1,
            rng: StdRng::seed_from_u64(seed),
            out: Output::default(),
            todo: Todo::default(),
            stats: MessageStats::default(),
            iteration: 0,
            state_ok: false,
            size: 1,
            first_state_eval: 0,
            among_minority_time: 0,
            blacklist: BTreeMap::new(),
            repl_offset: 0,
            repl_link_down_since: None,
            election: Election::default(),
            manual: ManualFailover::default(),
            data_age_logged: false,
            orphaned_since: BTreeMap::new(),
            published_version: u64::MAX,
            pending_votes: Vec::new(),
            #[cfg(debug_assertions)]
            checked_version: u64::MAX,
        };
        engine.apply_config_to_myself();
        // Loading a view is no change to it: nothing to save yet.
        engine.topo.take_effects();
        engine
    }

    /// Copies announced addresses into this node's own record.
    fn apply_config_to_myself(&mut self) {
        let (port, cport, pport, hostname, ip) = (
            self.cfg.port,
            self.cfg.cport,
            self.cfg.pport,
            self.cfg.hostname.clone(),
            self.cfg.announce_ip.clone(),
        );
        let no_failover = self.cfg.replica_no_failover;
        let me = self.topo.me_mut();
        me.flags.clear(crate::topology::NodeFlags::NOFAILOVER);
        if no_failover {
            me.flags.set(crate::topology::NodeFlags::NOFAILOVER);
        }
        me.port = port;
        me.cport = cport;
        me.pport = pport;
        me.hostname = hostname;
        if let Some(ip) = ip {
            me.ip = ip;
        }
        self.topo.touch();
    }

    /// The topology.
    pub fn topology(&self) -> &Topology {
        &self.topo
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.cfg
    }

    /// Replaces the configuration (CONFIG SET of a cluster directive). The cluster
    /// state is evaluated again at once: cluster-require-full-coverage may change it.
    pub fn set_config(&mut self, cfg: EngineConfig, now: u64) {
        self.cfg = cfg;
        self.apply_config_to_myself();
        self.update_state_later();
        self.finish_input(now);
    }

    /// Whether the cluster state is ok.
    pub fn state_ok(&self) -> bool {
        self.state_ok
    }

    /// Until when (Unix ms, exclusive) this node may accept writes for its slots, by
    /// its write lease evaluated at `now` (`tessera_failover::lease`): `u64::MAX` for
    /// a node that serves no slot (nothing to lease) or a master that is a majority
    /// alone, 0 when no lease is held. It can only grow until the next input.
    pub fn write_lease_until(&self, now: u64) -> u64 {
        let me = self.topo.me();
        if !me.is_master() || me.slot_count == 0 {
            return u64::MAX;
        }
        self.backed_until(now)
    }

    /// Until when this node is backed by a majority of slot-serving masters (the
    /// write lease's rule, for any role): a master needs it to write, and every node
    /// needs it to call the cluster ok, so that "ok" everywhere also means a replica
    /// promoted now could write at once. A replica counts as holding its master's
    /// seat, backed by the other masters: those are who would back it once promoted.
    pub(super) fn backed_until(&self, now: u64) -> u64 {
        let me = self.topo.me();
        let serves = |n: &crate::topology::ClusterNode| n.is_master() && n.slot_count > 0;
        let my_master = me
            .master
            .filter(|_| me.is_replica())
            .and_then(|m| self.topo.node(&m))
            .filter(|m| serves(m))
            .map(|m| m.id);
        let others = self
            .topo
            .nodes()
            .values()
            .filter(|n| !n.is_myself() && serves(n) && Some(n.id) != my_master);
        let size = others.clone().count() + usize::from(serves(me) || my_master.is_some());
        let contacts = others.map(|n| n.contact);
        tessera_failover::lease::lease_until(contacts, size, now, self.cfg.node_timeout)
    }

    /// Whether this node accepts writes for its slots at `now`: a master serving
    /// slots, cluster state ok, within its write lease, and not paused by a manual
    /// failover. The simulator checks that no two nodes do for one slot at once.
    pub fn accepts_writes(&self, now: u64) -> bool {
        let me = self.topo.me();
        me.is_master()
            && me.slot_count > 0
            && self.state_ok
            && now < self.write_lease_until(now)
            && !self.manual.active()
    }

    /// The links.
    pub fn links(&self) -> &BTreeMap<LinkId, Link> {
        &self.links
    }

    /// Message counters.
    pub fn stats(&self) -> &MessageStats {
        &self.stats
    }

    /// Sets the replication offset announced in headers.
    pub fn set_repl_offset(&mut self, offset: u64) {
        self.repl_offset = offset;
    }

    /// Tells the engine how this node's replication stands: its offset, and since
    /// when its link to its master is down (`None` when up, or when it is a master).
    pub fn set_replication(&mut self, offset: u64, link_down_since: Option<u64>) {
        self.repl_offset = offset;
        if link_down_since.is_none() {
            self.data_age_logged = false;
        }
        self.repl_link_down_since = link_down_since;
    }

    /// Takes what the inputs so far produced.
    pub fn take_output(&mut self) -> Output {
        std::mem::take(&mut self.out)
    }

    /// True once when the routing-relevant view changed since the last call.
    pub fn routing_changed(&mut self) -> bool {
        let changed = self.topo.version() != self.published_version;
        self.published_version = self.topo.version();
        changed
    }

    fn new_link_id(&mut self) -> LinkId {
        let id = self.next_link;
        self.next_link += 1;
        id
    }

    /// Asks for nodes.conf to be written at the end of this input.
    fn save(&mut self, fsync: bool) {
        self.todo.save = true;
        self.todo.fsync |= fsync;
    }

    /// Asks for the cluster state to be evaluated at the end of this input.
    fn update_state_later(&mut self) {
        self.todo.update_state = true;
    }

    /// Runs the deferred work of an input (Redis's clusterBeforeSleep).
    fn finish_input(&mut self, now: u64) {
        // What the topology's own changes call for, merged with the engine's requests.
        let effects = self.topo.take_effects();
        if effects.save {
            self.save(effects.fsync);
        }
        self.todo.update_state |= effects.update_state;
        if self.todo.update_state {
            self.update_state(now);
        }
        if self.todo.broadcast_pong {
            self.broadcast_pong(now);
        }
        if self.todo.save {
            let fsync = self.todo.fsync || self.out.save == Some(true);
            self.out.save = Some(fsync);
        }
        self.todo = Todo::default();
        debug_assert_eq!(
            self.topo.take_effects(),
            crate::topology::Effects::default(),
            "evaluating the state and broadcasting change nothing that must be saved"
        );
        #[cfg(debug_assertions)]
        self.check_invariants();
    }

    /// The topology's invariants, and the links' agreement with the nodes that hold
    /// them: checked after every input in debug builds (tests and the simulator).
    #[cfg(debug_assertions)]
    fn check_invariants(&mut self) {
        self.topo.check_nodes_and_epochs();
        // The O(slots) part only when a structural change bumped the version: it
        // would otherwise cost more than the input itself, for every ping.
        if self.topo.version() != self.checked_version {
            self.topo.check_structure();
            self.checked_version = self.topo.version();
        }
        for n in self.topo.nodes().values() {
            for link in n.link.iter().chain(&n.inbound_link) {
                let l = self
                    .links
                    .get(link)
                    .unwrap_or_else(|| panic!("node {} holds closed link {link}", n.id));
                assert_eq!(l.node, Some(n.id), "link {link} belongs to another node");
            }
        }
    }

    /// DEBUG CLUSTERLINK KILL: closes the link this node opened to `id` (`to`), the
    /// one `id` opened to this node (`from`), or both, as a network fault would; the
    /// cron opens a new outbound link, as after any loss. False for an unknown node.
    pub fn kill_links(&mut self, id: &NodeId, to: bool, from: bool) -> bool {
        let Some(n) = self.topo.node(id) else {
            return false;
        };
        let (outbound, inbound) = (n.link, n.inbound_link);
        for link in [outbound.filter(|_| to), inbound.filter(|_| from)]
            .into_iter()
            .flatten()
        {
            self.free_link(link);
        }
        true
    }

    /// Closes a link from our side: forgets it and tells the shell.
    fn free_link(&mut self, link: LinkId) {
        let Some(l) = self.links.remove(&link) else {
            return;
        };
        if let Some(n) = l.node.and_then(|id| self.topo.node_mut(&id)) {
            if n.link == Some(link) {
                n.link = None;
            }
            if n.inbound_link == Some(link) {
                n.inbound_link = None;
            }
        }
        self.out.actions.push(Action::Close { link });
    }

    /// Deletes a node and closes its links.
    fn delete_node(&mut self, id: &NodeId) {
        let Some(n) = self.topo.node(id) else { return };
        let links: Vec<LinkId> = n.link.into_iter().chain(n.inbound_link).collect();
        for l in links {
            self.free_link(l);
        }
        if self.topo.del_node(id).is_some() {
            self.out.events.push(Event::NodeRemoved(*id));
        }
    }

    // ---- Inputs from the shell ----

    /// The 100 ms cron.
    pub fn tick(&mut self, now: u64) {
        self.cron(now);
        self.finish_input(now);
    }

    /// A peer connected to our bus port; returns the new link's id.
    pub fn accepted(&mut self, peer_ip: String, local_ip: String, now: u64) -> LinkId {
        let link = self.new_link_id();
        self.links.insert(
            link,
            Link {
                node: None,
                inbound: true,
                created: now,
                connected: true,
                peer_ip,
                local_ip,
                traffic: LinkTraffic::default(),
            },
        );
        link
    }

    /// An outbound link asked for by [`Action::Connect`] is established.
    pub fn connected(&mut self, link: LinkId, local_ip: String, now: u64) {
        let Some(l) = self.links.get_mut(&link) else {
            return;
        };
        l.connected = true;
        l.local_ip = local_ip;
        let Some(id) = l.node else { return };
        let Some(node) = self.topo.node(&id) else {
            return;
        };
        // Send the first PING (or MEET) at once; a ping that was pending before the
        // link dropped keeps its time (see `send_ping`), so failure detection is not
        // reset.
        let meet = node.flags.has(crate::topology::NodeFlags::MEET);
        let kind = if meet {
            crate::wire::MessageType::Meet
        } else {
            crate::wire::MessageType::Ping
        };
        self.send_ping(link, kind, now);
        let node = self.topo.node_mut(&id).expect("checked above");
        node.flags.clear(crate::topology::NodeFlags::MEET);
        self.finish_input(now);
    }

    /// An outbound connection attempt failed.
    pub fn connect_failed(&mut self, link: LinkId, now: u64) {
        if let Some(id) = self.links.get(&link).and_then(|l| l.node)
            && let Some(n) = self.topo.node_mut(&id)
            && n.ping_sent == 0
        {
            // Failure detection needs a pending ping: count the attempt as one.
            n.ping_sent = now;
        }
        self.closed(link, now);
    }

    /// A link closed (by the peer, or an IO error).
    pub fn closed(&mut self, link: LinkId, now: u64) {
        if let Some(l) = self.links.remove(&link)
            && let Some(n) = l.node.and_then(|id| self.topo.node_mut(&id))
        {
            if n.link == Some(link) {
                n.link = None;
            }
            if n.inbound_link == Some(link) {
                n.inbound_link = None;
            }
        }
        self.finish_input(now);
    }

    /// A complete frame arrived on `link` (framed with [`crate::wire::check_frame`]; a
    /// slice that is not exactly one frame closes the link).
    pub fn received(&mut self, link: LinkId, frame: &[u8], now: u64) {
        self.process_packet(link, frame, now);
        self.finish_input(now);
    }
}
