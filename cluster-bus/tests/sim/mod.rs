//! The simulator: many engines in one process on a virtual clock, wired by a
//! simulated network.
//!
//! Deterministic: the network's latencies and the engines' randomness come from one
//! seed, so a run replays exactly. Each test file that uses it picks what it needs.
#![allow(dead_code)]

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use tessera_cluster_bus::NodeId;
use tessera_cluster_bus::engine::{
    Action, Answer, ClusterCommand, EndpointType, Engine, EngineConfig, Event, Publication,
};
use tessera_cluster_bus::topology::Topology;
use tessera_cluster_bus::wire::{FrameCheck, check_frame};

pub const NODE_TIMEOUT: u64 = 2000;
pub const BASE_PORT: u16 = 7000;

/// Something scheduled on the virtual clock.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Happening {
    Tick(usize),
    Deliver {
        to: usize,
        link: u64,
        bytes: Vec<u8>,
    },
    Connected {
        node: usize,
        link: u64,
        peer: usize,
    },
    ConnectFailed {
        node: usize,
        link: u64,
    },
    Closed {
        node: usize,
        link: u64,
    },
}

pub struct Sim {
    pub engines: Vec<Engine>,
    frozen: Vec<bool>,
    /// Inputs held for a frozen node, replayed when it thaws (what SIGSTOP does).
    held: Vec<Vec<Happening>>,
    pub now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64, Happening)>>,
    /// (node, link) -> (peer node, peer link)
    wires: HashMap<(usize, u64), (usize, u64)>,
    rng: StdRng,
    pub events: Vec<(u64, usize, Event)>,
    /// Messages published elsewhere that each node delivered: (node, publication).
    pub published: Vec<(usize, Publication)>,
    pub trace: Vec<u64>,
    pub faults: Faults,
    /// When the last message queued on each (node, link) arrives: links are FIFO.
    link_clock: HashMap<(usize, u64), u64>,
    /// Deliveries held by a cut, with their sending (node, link), released in order
    /// when the cut ends.
    partitioned: Vec<(usize, u64, Happening)>,
    /// Every vote cast: (voter, epoch). A node never votes twice in one epoch.
    votes: std::collections::BTreeSet<(usize, u64)>,
    /// Invariants are checked after every input.
    pub check_invariants: bool,
    /// Also check that no two nodes accept writes for one slot at once (off only for
    /// CLUSTER FAILOVER FORCE/TAKEOVER, which override it on purpose).
    pub check_single_writer: bool,
}

/// Faults the simulated network injects.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Probability that a message breaks its link instead of arriving (the
    /// connection drops, as TCP would): both ends see it close.
    pub break_rate: f64,
    /// Extra delay, up to this many ms, on each message (order on a link is kept).
    pub max_extra_delay: u64,
    /// Group of each node; nodes in different groups cannot talk.
    pub partition: Option<Vec<u8>>,
    /// One-way cuts: messages from the first node to the second are held (an
    /// asymmetric partition). New connections between them fail either way, as a
    /// TCP handshake needs both directions.
    pub one_way: std::collections::BTreeSet<(usize, usize)>,
}

pub fn config(i: usize) -> EngineConfig {
    EngineConfig {
        node_timeout: NODE_TIMEOUT,
        port: BASE_PORT + i as u16,
        cport: BASE_PORT + 10000 + i as u16,
        pport: 0,
        announce_ip: None,
        hostname: String::new(),
        require_full_coverage: true,
        endpoint_type: EndpointType::Ip,
        allow_replica_migration: true,
        ..EngineConfig::default()
    }
}

impl Sim {
    pub fn new(n: usize, seed: u64) -> Sim {
        let mut rng = StdRng::seed_from_u64(seed);
        let engines = (0..n)
            .map(|i| {
                let id = NodeId::random(&mut rng);
                Engine::new(Topology::new(id, 1), config(i), rng.random())
            })
            .collect();
        let mut sim = Sim {
            engines,
            frozen: vec![false; n],
            held: vec![Vec::new(); n],
            now: 1_700_000_000_000,
            seq: 0,
            queue: BinaryHeap::new(),
            wires: HashMap::new(),
            rng,
            events: Vec::new(),
            published: Vec::new(),
            trace: Vec::new(),
            faults: Faults::default(),
            link_clock: HashMap::new(),
            partitioned: Vec::new(),
            votes: std::collections::BTreeSet::new(),
            check_invariants: true,
            check_single_writer: true,
        };
        for i in 0..n {
            // Crons run every 100 ms, each node at its own phase.
            let phase = sim.rng.random_range(0..100);
            sim.schedule(phase, Happening::Tick(i));
        }
        sim
    }

    fn schedule(&mut self, delay: u64, h: Happening) {
        self.seq += 1;
        self.queue.push(Reverse((self.now + delay, self.seq, h)));
    }

    fn latency(&mut self) -> u64 {
        let extra = match self.faults.max_extra_delay {
            0 => 0,
            max => self.rng.random_range(0..=max),
        };
        self.rng.random_range(1..4) + extra
    }

    /// Messages from `a` cannot reach `b`.
    fn cut_off(&self, a: usize, b: usize) -> bool {
        self.faults.partition.as_ref().is_some_and(|g| g[a] != g[b])
            || self.faults.one_way.contains(&(a, b))
    }

    /// `a` cannot open a connection to `b`.
    fn unreachable(&self, a: usize, b: usize) -> bool {
        self.cut_off(a, b) || self.cut_off(b, a)
    }

    /// Ends every cut: held messages go out in their original order.
    pub fn heal(&mut self) {
        self.faults.partition = None;
        self.set_one_way(std::collections::BTreeSet::new());
    }

    /// Replaces the one-way cuts. Messages held by a cut that ended go out first, in
    /// order, like a TCP connection that was retransmitting; a link still cut keeps
    /// holding everything, so each link stays FIFO.
    pub fn set_one_way(&mut self, cuts: std::collections::BTreeSet<(usize, usize)>) {
        self.faults.one_way = cuts;
        for (from, from_link, h) in std::mem::take(&mut self.partitioned) {
            let Happening::Deliver { to, .. } = h else {
                unreachable!("only deliveries are held")
            };
            if self.cut_off(from, to) {
                self.partitioned.push((from, from_link, h));
                continue;
            }
            let earliest = self
                .link_clock
                .get(&(from, from_link))
                .copied()
                .unwrap_or(0);
            let at = (self.now + 1).max(earliest);
            self.link_clock.insert((from, from_link), at);
            self.schedule(at - self.now, h);
        }
    }

    /// Crashes node `i` and starts it again from its nodes.conf: its links break and
    /// it comes back knowing only what it had saved.
    pub fn restart(&mut self, i: usize) {
        let conf = tessera_persistence::nodes_conf::parse(&self.engines[i].nodes_conf())
            .expect("the engine writes a valid nodes.conf");
        let topo = Topology::from_nodes_conf(&conf, self.now).expect("loads");
        let seed = self.rng.random();
        self.engines[i] = Engine::new(topo, config(i), seed);
        let mut mine: Vec<(usize, u64)> = self
            .wires
            .keys()
            .filter(|(n, _)| *n == i)
            .copied()
            .collect();
        // A HashMap's order changes from run to run: sort, so that the latencies drawn
        // for the closes below, and so the whole run, replay exactly from the seed.
        mine.sort_unstable();
        for key in mine {
            if let Some((peer, peer_link)) = self.wires.remove(&key) {
                self.wires.remove(&(peer, peer_link));
                let d = self.latency();
                self.schedule(
                    d,
                    Happening::Closed {
                        node: peer,
                        link: peer_link,
                    },
                );
            }
        }
        self.partitioned.retain(|(from, _, h)| {
            *from != i && !matches!(h, Happening::Deliver { to, .. } if *to == i)
        });
        // Whatever was in flight to the old process dies with it; the new one starts
        // its link ids from scratch.
        let aimed_at = |h: &Happening| match h {
            Happening::Deliver { to, .. } => *to == i,
            Happening::Connected { node, peer, .. } => *node == i || *peer == i,
            Happening::ConnectFailed { node, .. } | Happening::Closed { node, .. } => *node == i,
            Happening::Tick(_) => false,
        };
        self.queue.retain(|Reverse((_, _, h))| !aimed_at(h));
        self.link_clock.retain(|(n, _), _| *n != i);
        self.frozen[i] = false;
        self.held[i].clear();
    }

    /// The safety invariants: no two masters claim one slot with the same configEpoch,
    /// and no two nodes accept writes for one slot at this instant.
    fn assert_invariants(&self) {
        if self.check_single_writer {
            self.assert_single_writer();
        }
        let claims: Vec<(usize, u64, &tessera_cluster_bus::SlotBitmap)> = self
            .engines
            .iter()
            .enumerate()
            .map(|(i, e)| (i, e.topology().me()))
            .filter(|(_, me)| me.is_master() && me.slot_count > 0)
            .map(|(i, me)| (i, me.config_epoch, &me.slots))
            .collect();
        for (a, (i, ea, sa)) in claims.iter().enumerate() {
            for (j, eb, sb) in &claims[a + 1..] {
                if ea == eb {
                    let shared = sa.iter().find(|&slot| sb.contains(slot));
                    assert!(
                        shared.is_none(),
                        "at {} ms nodes {i} and {j} both serve slot {shared:?} with configEpoch {ea}",
                        self.now
                    );
                }
            }
        }
    }

    /// Checked at every input, which is enough: a node starts accepting writes only at
    /// an input, and stops either at an input or when its lease runs out, which
    /// `accepts_writes` evaluates at the current time.
    fn assert_single_writer(&self) {
        let writers: Vec<(usize, &tessera_cluster_bus::SlotBitmap)> = self
            .engines
            .iter()
            .enumerate()
            .filter(|(i, e)| !self.frozen[*i] && e.accepts_writes(self.now))
            .map(|(i, e)| (i, &e.topology().me().slots))
            .collect();
        for (a, (i, sa)) in writers.iter().enumerate() {
            for (j, sb) in &writers[a + 1..] {
                let shared = sa.iter().find(|&slot| sb.contains(slot));
                assert!(
                    shared.is_none(),
                    "at {} ms nodes {i} and {j} both accept writes for slot {shared:?}",
                    self.now
                );
            }
        }
    }

    fn node_of_port(&self, port: u16) -> Option<usize> {
        (port as usize)
            .checked_sub(BASE_PORT as usize + 10000)
            .filter(|&i| i < self.engines.len())
    }

    /// Carries out what node `i` asked for.
    fn perform(&mut self, i: usize) {
        let out = self.engines[i].take_output();
        for ev in out.events {
            self.events.push((self.now, i, ev));
        }
        for p in out.published {
            self.published.push((i, p));
        }
        for action in out.actions {
            match action {
                Action::Connect { link, port, .. } => match self.node_of_port(port) {
                    Some(peer) if self.unreachable(i, peer) => {
                        // No route: the connect times out.
                        self.schedule(1000, Happening::ConnectFailed { node: i, link });
                    }
                    Some(peer) => {
                        let d = self.latency();
                        self.schedule(
                            d,
                            Happening::Connected {
                                node: i,
                                link,
                                peer,
                            },
                        );
                    }
                    None => {
                        let d = self.latency();
                        self.schedule(d, Happening::ConnectFailed { node: i, link });
                    }
                },
                Action::Send { link, bytes } => {
                    assert_eq!(
                        check_frame(&bytes),
                        FrameCheck::Frame(bytes.len()),
                        "engines send whole frames"
                    );
                    if let tessera_cluster_bus::wire::Received::Message(m) =
                        tessera_cluster_bus::wire::decode(
                            tessera_cluster_bus::wire::CheckedFrame::new(&bytes)
                                .expect("checked above"),
                        )
                        && m.header.kind
                            == tessera_cluster_bus::wire::MessageType::FailoverAuthAck as u16
                    {
                        let fresh = self.votes.insert((i, m.header.current_epoch));
                        assert!(
                            fresh,
                            "node {i} voted twice in epoch {}",
                            m.header.current_epoch
                        );
                    }
                    if let Some(&(peer, peer_link)) = self.wires.get(&(i, link)) {
                        if self.faults.break_rate > 0.0
                            && self.rng.random_bool(self.faults.break_rate)
                        {
                            self.wires.remove(&(i, link));
                            self.wires.remove(&(peer, peer_link));
                            let d = self.latency();
                            self.schedule(d, Happening::Closed { node: i, link });
                            self.schedule(
                                d,
                                Happening::Closed {
                                    node: peer,
                                    link: peer_link,
                                },
                            );
                            continue;
                        }
                        // FIFO per link, as TCP delivers.
                        let earliest = self.link_clock.get(&(i, link)).copied().unwrap_or(0);
                        let at = (self.now + self.latency()).max(earliest);
                        self.link_clock.insert((i, link), at);
                        let delivery = Happening::Deliver {
                            to: peer,
                            link: peer_link,
                            bytes,
                        };
                        if self.cut_off(i, peer) {
                            self.partitioned.push((i, link, delivery));
                        } else {
                            self.schedule(at - self.now, delivery);
                        }
                    }
                }
                Action::Close { link } => {
                    if let Some((peer, peer_link)) = self.wires.remove(&(i, link)) {
                        self.wires.remove(&(peer, peer_link));
                        let d = self.latency();
                        self.schedule(
                            d,
                            Happening::Closed {
                                node: peer,
                                link: peer_link,
                            },
                        );
                    }
                }
            }
        }
    }

    fn apply(&mut self, h: Happening) {
        let target = match &h {
            Happening::Tick(i)
            | Happening::Deliver { to: i, .. }
            | Happening::Closed { node: i, .. } => *i,
            // The connecting side runs the connect; the listening side only has to be
            // reachable, and a frozen process's kernel still accepts.
            Happening::Connected { node, .. } | Happening::ConnectFailed { node, .. } => *node,
        };
        if self.frozen[target] {
            if let Happening::Tick(i) = h {
                self.schedule(100, Happening::Tick(i));
            } else {
                self.held[target].push(h);
            }
            return;
        }
        self.trace.push(self.now ^ (target as u64) << 48);
        let now = self.now;
        match h {
            Happening::Tick(i) => {
                self.engines[i].tick(now);
                self.schedule(100, Happening::Tick(i));
            }
            Happening::Deliver { to, link, bytes } => {
                self.trace.push(
                    bytes
                        .iter()
                        .fold(0u64, |a, &b| a.wrapping_mul(31).wrapping_add(u64::from(b))),
                );
                self.engines[to].received(link, &bytes, now);
            }
            Happening::Connected { node, link, peer } => {
                let peer_link =
                    self.engines[peer].accepted("127.0.0.1".into(), "127.0.0.1".into(), now);
                self.wires.insert((node, link), (peer, peer_link));
                self.wires.insert((peer, peer_link), (node, link));
                self.engines[node].connected(link, "127.0.0.1".into(), now);
            }
            Happening::ConnectFailed { node, link } => self.engines[node].connect_failed(link, now),
            Happening::Closed { node, link } => self.engines[node].closed(link, now),
        }
        self.perform(target);
        if self.check_invariants {
            self.assert_invariants();
        }
    }

    pub fn run_for(&mut self, ms: u64) {
        let until = self.now + ms;
        while let Some(Reverse((at, _, _))) = self.queue.peek() {
            if *at > until {
                break;
            }
            let Reverse((at, _, h)) = self.queue.pop().expect("peeked");
            self.now = at;
            self.apply(h);
        }
        self.now = until;
    }

    /// Runs until `done` holds (checked every 10 virtual ms) or `limit` ms pass.
    pub fn run_until(&mut self, limit: u64, mut done: impl FnMut(&Sim) -> bool) -> Option<u64> {
        let start = self.now;
        while self.now - start < limit {
            if done(self) {
                return Some(self.now - start);
            }
            self.run_for(10);
        }
        None
    }

    /// PUBLISH (or SPUBLISH, `shard`) on node `i`.
    pub fn publish(&mut self, i: usize, channel: &[u8], message: &[u8], shard: bool) {
        self.engines[i].publish(channel, message, shard);
        self.perform(i);
    }

    pub fn command(&mut self, i: usize, cmd: ClusterCommand) -> Answer {
        let answer = self.engines[i]
            .command(cmd, self.now)
            .expect("command accepted");
        self.perform(i);
        answer
    }

    pub fn freeze(&mut self, i: usize) {
        self.frozen[i] = true;
    }

    pub fn thaw(&mut self, i: usize) {
        self.frozen[i] = false;
        for h in std::mem::take(&mut self.held[i]) {
            self.apply(h);
        }
    }

    pub fn id(&self, i: usize) -> NodeId {
        self.engines[i].topology().myself()
    }

    /// The slot owners as node i sees them.
    pub fn owners(&self, i: usize) -> Vec<Option<NodeId>> {
        self.engines[i].topology().slot_owners().to_vec()
    }

    /// Forms a cluster the way `redis-cli --cluster create` does: slots to the masters,
    /// distinct config epochs, everyone meets node 0, then replicas attach.
    pub fn create(&mut self, masters: usize) {
        self.create_with(masters, true);
    }

    /// Like [`Sim::create`]; without `distinct_epochs` every node keeps configEpoch 0,
    /// and the collision rule must sort them out.
    pub fn create_with(&mut self, masters: usize, distinct_epochs: bool) {
        let n = self.engines.len();
        let per = 16384 / masters;
        for m in 0..masters {
            let start = m * per;
            let end = if m + 1 == masters {
                16383
            } else {
                start + per - 1
            };
            self.command(
                m,
                ClusterCommand::AddSlots(vec![(start as u16, end as u16)]),
            );
        }
        for i in (0..n).filter(|_| distinct_epochs) {
            self.command(i, ClusterCommand::SetConfigEpoch(i as i64 + 1));
        }
        for i in 1..n {
            self.command(
                i,
                ClusterCommand::Meet {
                    ip: "127.0.0.1".into(),
                    port: BASE_PORT as i64,
                    cport: BASE_PORT as i64 + 10000,
                },
            );
        }
        let everyone_knows_everyone = |s: &Sim| {
            (0..n).all(|i| {
                let t = s.engines[i].topology();
                t.nodes().len() == n && t.nodes().values().all(|x| !x.in_handshake())
            })
        };
        assert!(
            self.run_until(20_000, everyone_knows_everyone).is_some(),
            "the cluster formed"
        );
        for r in masters..n {
            let master = self.id(r % masters).to_string();
            self.command(
                r,
                ClusterCommand::Replicate {
                    master,
                    db_empty: true,
                },
            );
        }
    }
}

/// Every node has the same slot owners, knows every node in the role it has, and says
/// the cluster is ok.
pub fn converged(s: &Sim) -> bool {
    let reference = s.owners(0);
    let n = s.engines.len();
    (0..n).all(|i| {
        let e = &s.engines[i];
        s.owners(i) == reference
            && e.state_ok()
            && e.topology().nodes().len() == n
            && (0..n).all(|j| {
                let seen = e.topology().node(&s.id(j));
                let actual = s.engines[j].topology().me();
                seen.is_some_and(|x| {
                    x.master == actual.master && x.is_replica() == actual.is_replica()
                })
            })
    })
}
