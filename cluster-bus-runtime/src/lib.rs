//! The shell around the cluster bus engine (`tessera-cluster-bus`): sockets, timers,
//! nodes.conf, and the handle the rest of the node uses. It is a crate of its own so
//! that the engine's crate has no tokio among its dependencies.
//!
//! The engine runs on its own thread with its own single-threaded runtime, so client
//! load never delays failure detection. One driver task owns the engine; every input
//! (tick, accepted connection, link event, command) goes through it in order.

mod link;
pub mod net;

use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tessera_persistence::cluster_file::ClusterFile;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

use link::LinkEvent;
use tessera_cluster_bus::engine::{
    Action, Answer, ClusterCommand, CommandError, Engine, EngineConfig, Event, Publication,
    RoutingSnapshot,
};
use tessera_cluster_bus::node_id::NodeId;
use tessera_cluster_bus::topology::LinkId;

/// Wall-clock milliseconds: the engine compares times across nodes (gossiped PONG
/// times), so it needs Unix time, as Redis uses.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Deletes every key in the given slots.
pub type SlotDeleter = Box<dyn Fn(&[u16]) + Send + Sync>;

/// Receives every engine event as it happens.
pub type EventSink = Box<dyn Fn(&Event) + Send + Sync>;

/// Reads how the node's replication stands: its offset (announced in every message
/// header; elections rank replicas by it) and, for a replica, since when (Unix ms) its
/// link to its master is down.
pub type ReplicationSource = Box<dyn Fn() -> (u64, Option<u64>) + Send + Sync>;

/// Delivers a message published on another node to this node's subscribers.
pub type PublishSink = Box<dyn Fn(&Publication) + Send + Sync>;

/// What the bus asks of the rest of the node.
pub struct Hooks {
    /// Deliver a message published elsewhere (PUBLISH or PUBLISHSHARD from a peer).
    pub on_publish: PublishSink,
    /// Delete every key in these slots (this node lost them while holding keys).
    pub delete_slots: SlotDeleter,
    /// Told of every engine event.
    pub on_event: EventSink,
    /// The replication state.
    pub replication: ReplicationSource,
}

/// What the rest of the node asks of the bus thread.
enum Request {
    /// A CLUSTER subcommand, answered once applied.
    Command {
        command: ClusterCommand,
        reply: oneshot::Sender<Result<Answer, CommandError>>,
    },
    /// New settings (CONFIG SET of a cluster directive).
    Reconfigure(EngineConfig),
    /// A message published here, for the peers that must deliver it too.
    Publish {
        channel: Vec<u8>,
        message: Vec<u8>,
        shard: bool,
    },
    /// DEBUG CLUSTERLINK KILL, answered with whether the node is known.
    KillLinks {
        node: NodeId,
        to: bool,
        from: bool,
        reply: oneshot::Sender<bool>,
    },
}

/// The rest of the node's way into the cluster bus.
#[derive(Clone)]
pub struct ClusterHandle {
    requests: mpsc::UnboundedSender<Request>,
    routing: Arc<ArcSwap<RoutingSnapshot>>,
    write_lease: Arc<AtomicU64>,
    stop: Arc<tokio::sync::Notify>,
    drop_filter: Arc<AtomicI64>,
}

impl ClusterHandle {
    /// DEBUG DROP-CLUSTER-PACKET-FILTER: messages of this type received from now on
    /// are dropped unread (-1, or any negative type: none), so a test can cut one kind
    /// of gossip and watch the cluster cope, as with Redis.
    pub fn set_drop_filter(&self, message_type: i64) {
        self.drop_filter.store(message_type, Ordering::Relaxed);
    }

    /// The current routing view (lock-free).
    #[inline]
    pub fn routing(&self) -> arc_swap::Guard<Arc<RoutingSnapshot>> {
        self.routing.load()
    }

    /// Whether this node's write lease holds at `now_ms` (Unix ms): a master serving
    /// slots without it answers CLUSTERDOWN, because it may be on the minority side
    /// of a partition (`tessera_failover::lease`). Always true for other nodes.
    #[inline]
    pub fn lease_holds(&self, now_ms: u64) -> bool {
        now_ms < self.write_lease.load(Ordering::Acquire)
    }

    /// Runs a CLUSTER subcommand in the engine.
    pub async fn command(&self, command: ClusterCommand) -> Result<Answer, CommandError> {
        let (reply, answer) = oneshot::channel();
        if self
            .requests
            .send(Request::Command { command, reply })
            .is_err()
        {
            return Err(CommandError::Refused(
                "ERR the cluster bus is not running".into(),
            ));
        }
        answer.await.unwrap_or_else(|_| {
            Err(CommandError::Refused(
                "ERR the cluster bus is not running".into(),
            ))
        })
    }

    /// Sends a message published on this node to the peers that deliver it too: every
    /// node with a link (PUBLISH), or the others of this shard (`shard`: SPUBLISH).
    /// Messages leave in the order of these calls.
    pub fn publish(&self, channel: &[u8], message: &[u8], shard: bool) {
        // A stopped bus has no peers to tell.
        let _ = self.requests.send(Request::Publish {
            channel: channel.to_vec(),
            message: message.to_vec(),
            shard,
        });
    }

    /// Hands the engine new settings; they apply before the next input.
    pub fn reconfigure(&self, config: EngineConfig) {
        // A stopped bus has nothing left to configure.
        let _ = self.requests.send(Request::Reconfigure(config));
    }

    /// DEBUG CLUSTERLINK KILL: closes the link to `node` (`to`), the link from it
    /// (`from`), or both; false when the node is unknown.
    pub async fn kill_links(&self, node: NodeId, to: bool, from: bool) -> bool {
        let (reply, answer) = oneshot::channel();
        let request = Request::KillLinks {
            node,
            to,
            from,
            reply,
        };
        self.requests.send(request).is_ok() && answer.await.unwrap_or(false)
    }

    /// Stops the bus (its thread saves nodes.conf and exits).
    pub fn stop(&self) {
        self.stop.notify_one();
    }
}

/// Starts the bus on its own thread with already-bound listeners on the bus port.
pub fn start(
    engine: Engine,
    listeners: Vec<std::net::TcpListener>,
    file: ClusterFile,
    hooks: Hooks,
) -> std::io::Result<(ClusterHandle, std::thread::JoinHandle<()>)> {
    let (requests, rx) = mpsc::unbounded_channel();
    let routing = Arc::new(ArcSwap::from_pointee(engine.routing_snapshot()));
    let write_lease = Arc::new(AtomicU64::new(engine.write_lease_until(now_ms())));
    let stop = Arc::new(tokio::sync::Notify::new());
    let drop_filter = Arc::new(AtomicI64::new(-1));
    let handle = ClusterHandle {
        requests,
        routing: routing.clone(),
        write_lease: write_lease.clone(),
        stop: stop.clone(),
        drop_filter: drop_filter.clone(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let thread = std::thread::Builder::new()
        .name("cluster-bus".into())
        .spawn(move || {
            runtime.block_on(async move {
                let listeners: Vec<TcpListener> = listeners
                    .into_iter()
                    .filter_map(|l| TcpListener::from_std(l).ok())
                    .collect();
                let mut driver = Driver {
                    engine,
                    file,
                    hooks,
                    routing,
                    write_lease,
                    writers: HashMap::new(),
                    events: mpsc::unbounded_channel(),
                    epochs: (0, 0),
                    drop_filter,
                };
                driver.run(listeners, rx, stop).await;
            });
        })?;
    Ok((handle, thread))
}

struct Driver {
    engine: Engine,
    file: ClusterFile,
    hooks: Hooks,
    routing: Arc<ArcSwap<RoutingSnapshot>>,
    write_lease: Arc<AtomicU64>,
    writers: HashMap<LinkId, mpsc::UnboundedSender<Vec<u8>>>,
    events: (
        mpsc::UnboundedSender<LinkEvent>,
        mpsc::UnboundedReceiver<LinkEvent>,
    ),
    /// (currentEpoch, my configEpoch) as last told, to report changes.
    epochs: (u64, u64),
    /// The message type DEBUG DROP-CLUSTER-PACKET-FILTER drops (negative: none).
    drop_filter: Arc<AtomicI64>,
}

impl Driver {
    async fn run(
        &mut self,
        listeners: Vec<TcpListener>,
        mut requests: mpsc::UnboundedReceiver<Request>,
        stop: Arc<tokio::sync::Notify>,
    ) {
        let (accepted_tx, mut accepted) = mpsc::unbounded_channel();
        for listener in listeners {
            let tx = accepted_tx.clone();
            tokio::spawn(async move {
                loop {
                    match listener.accept().await {
                        Ok(conn) => {
                            if tx.send(conn).is_err() {
                                return;
                            }
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "cluster bus accept failed");
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                    }
                }
            });
        }
        // Persist the starting view (a new node writes its identity at once).
        self.save(true);
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.notified() => break,
                _ = tick.tick() => {
                    self.refresh_replication();
                    self.engine.tick(now_ms());
                }
                Some((stream, peer)) = accepted.recv() => {
                    let local = stream.local_addr().map(|a| a.ip().to_string()).unwrap_or_default();
                    let link = self.engine.accepted(peer.ip().to_string(), local, now_ms());
                    let (tx, rx) = mpsc::unbounded_channel();
                    self.writers.insert(link, tx);
                    tokio::spawn(link::run(link, stream, rx, self.events.0.clone()));
                }
                Some(event) = self.events.1.recv() => {
                    // Headers built for this input carry the offset of this moment.
                    self.refresh_replication();
                    self.link_event(event);
                }
                Some(request) = requests.recv() => self.request(request),
            }
            self.take_and_perform();
        }
        self.save(true);
    }

    fn refresh_replication(&mut self) {
        let (offset, down_since) = (self.hooks.replication)();
        self.engine.set_replication(offset, down_since);
    }

    fn request(&mut self, request: Request) {
        self.refresh_replication();
        let (command, reply) = match request {
            Request::Command { command, reply } => (command, reply),
            Request::Publish {
                channel,
                message,
                shard,
            } => {
                self.engine.publish(&channel, &message, shard);
                return;
            }
            Request::Reconfigure(config) => {
                self.engine.set_config(config, now_ms());
                return;
            }
            Request::KillLinks {
                node,
                to,
                from,
                reply,
            } => {
                let _ = reply.send(self.engine.kill_links(&node, to, from));
                return;
            }
        };
        let is_save = command == ClusterCommand::SaveConfig;
        let mut answer = self.engine.command(command, now_ms());
        // The client hears OK only once the new routing is published: its next command
        // must already see the slots it just added.
        self.take_and_perform();
        if is_save && answer.is_ok() {
            if let Err(e) = self.file.save(&self.engine.nodes_conf(), true) {
                answer = Err(CommandError::Refused(format!(
                    "ERR error saving the cluster node config: {e}"
                )));
            }
        }
        let _ = reply.send(answer);
    }

    fn link_event(&mut self, event: LinkEvent) {
        let now = now_ms();
        match event {
            LinkEvent::Connected { link, local_ip } => self.engine.connected(link, local_ip, now),
            LinkEvent::ConnectFailed { link } => {
                self.writers.remove(&link);
                self.engine.connect_failed(link, now);
            }
            LinkEvent::Frame { link, bytes } if self.dropped(&bytes) => {
                tracing::debug!(link, "message dropped by DEBUG DROP-CLUSTER-PACKET-FILTER");
            }
            LinkEvent::Frame { link, bytes } => self.engine.received(link, &bytes, now),
            LinkEvent::Closed { link } => {
                self.writers.remove(&link);
                self.engine.closed(link, now);
            }
        }
    }

    /// Whether DEBUG DROP-CLUSTER-PACKET-FILTER drops this frame: its header's type
    /// (the u16 after signature, length, version and port) is the filtered one.
    fn dropped(&self, frame: &[u8]) -> bool {
        let filter = self.drop_filter.load(Ordering::Relaxed);
        filter >= 0
            && frame
                .get(12..14)
                .is_some_and(|t| i64::from(u16::from_be_bytes([t[0], t[1]])) == filter)
    }

    fn save(&mut self, fsync: bool) {
        if let Err(e) = self.file.save(&self.engine.nodes_conf(), fsync) {
            tracing::error!(error = %e, "can't update the cluster config file");
        }
    }

    /// Carries out what the engine asked for, in the order that keeps clients safe:
    /// the config on disk first (a vote or an epoch is durable before any message that
    /// depends on it leaves), then events (a master's write pause is in force before
    /// its replica hears of it; a promoted replica stops following its old master
    /// before clients are sent to it), then the new routing, then messages; writes
    /// resume last, once clients are routed by the new view.
    fn take_and_perform(&mut self) {
        let out = self.engine.take_output();
        for publication in &out.published {
            (self.hooks.on_publish)(publication);
        }
        if let Some(fsync) = out.save {
            self.save(fsync);
        }
        let (late, early): (Vec<&Event>, Vec<&Event>) = out
            .events
            .iter()
            .partition(|e| matches!(e, Event::ResumeWrites));
        for event in early {
            (self.hooks.on_event)(event);
        }
        // The lease only grows between inputs, so the value of this instant stays
        // safe until the next one.
        self.write_lease
            .store(self.engine.write_lease_until(now_ms()), Ordering::Release);
        if self.engine.routing_changed() {
            let newer = Arc::new(self.engine.routing_snapshot());
            let older = self.routing.swap(newer.clone());
            for change in older.owner_changes(&newer) {
                (self.hooks.on_event)(&Event::SlotsOwnerChanged(change));
            }
        }
        let topo = self.engine.topology();
        let epochs = (topo.current_epoch(), topo.me().config_epoch);
        if epochs != self.epochs {
            self.epochs = epochs;
            (self.hooks.on_event)(&Event::EpochChanged {
                current: epochs.0,
                mine: epochs.1,
            });
        }
        self.perform_io(out.actions, &out.delete_slots);
        for event in late {
            (self.hooks.on_event)(event);
        }
    }

    fn perform_io(&mut self, actions: Vec<Action>, delete_slots: &[u16]) {
        let timeout = Duration::from_millis(self.engine.config().node_timeout.clamp(100, 5000));
        for action in actions {
            match action {
                Action::Connect { link, ip, port } => {
                    let (tx, rx) = mpsc::unbounded_channel();
                    self.writers.insert(link, tx);
                    let target = link::Target {
                        ip,
                        port,
                        source: self.engine.config().bind_source_addr,
                    };
                    tokio::spawn(link::connect(
                        link,
                        target,
                        timeout,
                        rx,
                        self.events.0.clone(),
                    ));
                }
                Action::Send { link, bytes } => {
                    if let Some(w) = self.writers.get(&link) {
                        let _ = w.send(bytes);
                    }
                }
                Action::Close { link } => {
                    self.writers.remove(&link);
                }
            }
        }
        if !delete_slots.is_empty() {
            (self.hooks.delete_slots)(delete_slots);
        }
    }
}
