//! The state one node shares between all its connections and tasks.

use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::time::Instant;
use tessera_keyspace::Keyspace;
use tokio_util::sync::CancellationToken;

use crate::client::ClientRegistry;
use crate::config::Config;
use crate::pause::{PauseGate, WritePause};
use crate::replication::MasterLink;
use crate::snapshots::Snapshots;
use crate::stats::{Stats, Totals};
use std::sync::Arc;
use tessera_replication::ReplicationStream;

/// Memory figures for INFO, from whatever allocator the binary uses.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemoryStats {
    /// Bytes allocated by the program.
    pub allocated: u64,
    /// Bytes the allocator holds in active pages.
    pub active: u64,
    /// Bytes the allocator holds resident.
    pub resident: u64,
}

/// How the binary reports memory; the allocator is the composition root's choice.
pub type MemoryProbe = fn() -> MemoryStats;

/// How the node came to be, for INFO's server section.
#[derive(Debug, Clone, Default)]
pub struct NodeOrigin {
    /// Path of the executable.
    pub executable: String,
    /// Memory probe, if the binary has one.
    pub memory_probe: Option<MemoryProbe>,
    /// Name and version of the allocator ("jemalloc-5.3.0").
    pub allocator: String,
}

/// Shared state of a running node.
pub struct Node {
    /// Configuration in force.
    config: Config,
    /// The data.
    keyspace: Keyspace,
    /// Connected clients.
    clients: Arc<ClientRegistry>,
    /// CLIENT TRACKING's table.
    tracking: Arc<crate::tracking::Tracking>,
    /// Counters.
    stats: Stats,
    /// DEBUG SLEEP and other pauses.
    pause: PauseGate,
    /// Writes held during a manual failover.
    write_pause: WritePause,
    /// Snapshot state.
    snapshots: Snapshots,
    /// Random 40-hex id of this process run.
    run_id: String,
    /// The replication stream: ids, offset, backlog, attached replicas.
    replication: Arc<ReplicationStream>,
    /// The link to this node's master, when it is a replica.
    master_link: parking_lot::Mutex<Option<Arc<MasterLink>>>,
    /// A full sync is loading data: clients wait a little, then get LOADING.
    loading: crate::loading::Loading,
    /// When the node started.
    started: Instant,
    /// Where the node came from.
    origin: NodeOrigin,
    /// The port actually bound (differs from the config when it said 0).
    bound_port: AtomicU16,
    /// The admin plane's port (0: not serving).
    admin_port: AtomicU16,
    /// Highest memory use seen, for INFO's used_memory_peak.
    peak_memory: std::sync::atomic::AtomicU64,
    /// The cluster bus, when cluster-enabled (set once at start).
    cluster: std::sync::OnceLock<tessera_cluster_bus_runtime::ClusterHandle>,
    /// The append-only file, when `appendonly` is on.
    aof: arc_swap::ArcSwapOption<crate::aof::Aof>,
    /// Whether the active expiry cycle runs (DEBUG SET-ACTIVE-EXPIRE).
    active_expire: AtomicBool,
    /// The runtimes of the threads that serve clients, for waiting until each has
    /// finished what it was running (see [`Node::quiesce_clients`]).
    io_runtimes: parking_lot::Mutex<Vec<tokio::runtime::Handle>>,
    /// MIGRATE's cached connections to targets.
    migrate_targets: tessera_migration::TargetPool,
    /// Held shared by commands on a slot this node is migrating, from the routing
    /// decision to the end of the command, and exclusively by MIGRATE while it moves a
    /// batch: a command that found its key here can't see it moved away before it runs.
    migration_gates: tessera_migration::SlotGates,
    shutdown: CancellationToken,
    /// Clients blocked on keys (BLPOP and friends).
    blocked: Arc<crate::commands::blocking::Waiters>,
    /// The keys clients WATCH.
    watches: Arc<crate::watch::Watches>,
    /// Set while this node replicates a master: blocked clients are not served from
    /// its master's stream (they were unblocked when it turned replica).
    is_replica: Arc<AtomicBool>,
    /// maxmemory: the used-memory estimate and eviction.
    eviction: crate::eviction::Eviction,
    /// Pub/Sub subscriptions.
    pubsub: Arc<crate::pubsub::Registry>,
    /// The EVAL engine and the running script's state.
    scripts: crate::scripts::Scripts,
    /// Keyspace notifications (notify-keyspace-events).
    notifier: Arc<crate::notify::Notifier>,
}

/// 40 random lowercase hex characters.
pub fn random_hex_id() -> String {
    use rand::RngExt;
    let mut rng = rand::rng();
    (0..40)
        .map(|_| char::from_digit(rng.random_range(0..16u32), 16).expect("below 16"))
        .collect()
}

impl Node {
    /// A node with `config` and an empty keyspace.
    pub fn new(config: Config, origin: NodeOrigin) -> Node {
        let settings = config.settings();
        let seed = rand::random::<u64>();
        let replication = Arc::new(ReplicationStream::new(
            random_hex_id(),
            settings.replication.backlog_size,
        ));
        let keyspace = Keyspace::new(settings.databases, seed);
        let stream = replication.clone();
        let pubsub: Arc<crate::pubsub::Registry> = Arc::default();
        let notifier: Arc<crate::notify::Notifier> = Arc::default();
        notifier.set(settings.notify_classes);
        let (events, subscribers) = (notifier.clone(), pubsub.clone());
        let clients = Arc::new(ClientRegistry::new());
        let tracking: Arc<crate::tracking::Tracking> = Arc::default();
        let (trackers, registry) = (tracking.clone(), clients.clone());
        // Keys a master finds expired reach its replicas as DEL, recorded under the
        // slot lock like every other change (see ExpiryMode::Journal), and its
        // subscribers as `expired` events when class x is on.
        keyspace.set_expired_hook(Box::new(move |db, keys| {
            let notify = events.wants(crate::notify::EXPIRED);
            for key in keys {
                if notify {
                    let now = crate::clock::unix_ms();
                    let class = crate::notify::EXPIRED;
                    events.notify(&subscribers, db, class, "expired", key.as_bytes(), now);
                }
                stream.feed(db, &[b"DEL", key.as_bytes()]);
                trackers.invalidate(&registry, key.as_bytes());
            }
        }));
        // Keys added (class n) and read lookups that miss (class m) are seen inside
        // the keyspace, which tells them only while a subscriber could get them.
        let (events, subscribers) = (notifier.clone(), pubsub.clone());
        keyspace.set_announce_hook(Box::new(move |db, what, key| {
            let (class, event) = match what {
                tessera_keyspace::Announce::New => (crate::notify::NEW, "new"),
                tessera_keyspace::Announce::Miss => (crate::notify::KEY_MISS, "keymiss"),
            };
            let now = crate::clock::unix_ms();
            events.notify(&subscribers, db, class, event, key, now);
        }));
        let announced = keyspace.announced_setter();
        let wanted = |classes| {
            let on = |class| crate::notify::publishes(classes, class);
            (on(crate::notify::NEW), on(crate::notify::KEY_MISS))
        };
        let (new, miss) = wanted(settings.notify_classes);
        announced(new, miss);
        config.on_change(move |s| {
            let (new, miss) = wanted(s.notify_classes);
            announced(new, miss)
        });
        if notifier.wants(crate::notify::EXPIRED) {
            // Only a journal names the keys reclaimed; the keyspace is still empty.
            keyspace.set_expiry_mode(tessera_keyspace::ExpiryMode::Journal);
        }
        // Expiry and overwrites happen inside the keyspace, which keeps its own copy of
        // the two lazyfree switches that govern them (a process-wide policy).
        tessera_keyspace::lazyfree::set_policy(
            settings.lazyfree_lazy_expire,
            settings.lazyfree_lazy_server_del,
        );
        config.on_change(|s| {
            tessera_keyspace::lazyfree::set_policy(
                s.lazyfree_lazy_expire,
                s.lazyfree_lazy_server_del,
            )
        });
        // Keys' access clocks follow the eviction policy (LRU stamps or LFU counters),
        // switched at once by CONFIG SET; the cron advances their time.
        keyspace.set_access_time(crate::clock::unix_ms());
        keyspace.set_access_policy(settings.memory.access_policy());
        let clocks = keyspace.access_policy_setter();
        config.on_change(move |s| clocks(s.memory.access_policy()));
        let eviction = crate::eviction::Eviction::default();
        // A CONFIG SET of maxmemory (or its policy) is acted on at once, as Redis's
        // does, by the background thread rather than the next command.
        let pending = eviction.pending_flag();
        config.on_change(move |_| pending.store(true, Ordering::Relaxed));
        let blocked: Arc<crate::commands::blocking::Waiters> = Arc::default();
        let is_replica = Arc::new(AtomicBool::new(false));
        let watches: Arc<crate::watch::Watches> = Arc::default();
        let (waiters, stream, replica) = (blocked.clone(), replication.clone(), is_replica.clone());
        let watched = watches.clone();
        let (tracked, known) = (tracking.clone(), clients.clone());
        let (events, subscribers) = (notifier.clone(), pubsub.clone());
        keyspace.set_ready_hook(
            Box::new(move |db, slot, table| {
                if !replica.load(Ordering::Acquire) {
                    let notify = (&*events, &*subscribers);
                    let touched = (&*watched, &*tracked, &*known);
                    let served = (&*waiters, &*stream, touched, notify);
                    crate::commands::blocking::serve_ready(served, db, slot, table);
                }
            }),
            blocked.counter(),
        );
        pubsub.set_output_limit(settings.output_limits.pubsub);
        let registry = pubsub.clone();
        config.on_change(move |s| registry.set_output_limit(s.output_limits.pubsub));
        replication.set_replica_hard_limit(settings.output_limits.replica.hard);
        let feeds = replication.clone();
        config.on_change(move |s| feeds.set_replica_hard_limit(s.output_limits.replica.hard));
        let classes = notifier.clone();
        config.on_change(move |s| classes.set(s.notify_classes));
        Node {
            notifier,
            pubsub,
            eviction,
            scripts: crate::scripts::Scripts::default(),
            watches,
            blocked,
            is_replica,
            keyspace,
            config,
            clients,
            tracking,
            stats: Stats::default(),
            pause: PauseGate::new(),
            write_pause: WritePause::default(),
            snapshots: Snapshots::new(crate::clock::unix_ms() / 1000),
            run_id: random_hex_id(),
            replication,
            master_link: parking_lot::Mutex::new(None),
            loading: crate::loading::Loading::default(),
            started: Instant::now(),
            origin,
            bound_port: AtomicU16::new(settings.port),
            admin_port: AtomicU16::new(0),
            active_expire: AtomicBool::new(true),
            io_runtimes: parking_lot::Mutex::new(Vec::new()),
            migrate_targets: tessera_migration::TargetPool::new(),
            migration_gates: tessera_migration::SlotGates::new(),
            cluster: std::sync::OnceLock::new(),
            aof: arc_swap::ArcSwapOption::empty(),
            peak_memory: std::sync::atomic::AtomicU64::new(0),
            shutdown: CancellationToken::new(),
        }
    }

    /// Pub/Sub subscriptions.
    pub fn pubsub(&self) -> &crate::pubsub::Registry {
        &self.pubsub
    }

    /// Publishes a keyspace notification of `class` to this node's subscribers, if
    /// notify-keyspace-events has it on (see [`crate::notify::Notifier::notify`]).
    #[inline]
    pub fn notify(&self, db: usize, class: crate::notify::Class, event: &str, key: &[u8]) {
        if self.notifier.wants(class) {
            let now = crate::clock::unix_ms();
            self.notifier
                .notify(&self.pubsub, db, class, event, key, now);
        }
    }

    /// Switches a node that reclaims expired keys silently to journaling them when
    /// class x (expired events) is on: the journal is what names them to the hook.
    /// Never the other way: replication or the AOF may need the journal too.
    pub fn journal_expiry_for_notifications(&self) {
        if self.notifier.wants(crate::notify::EXPIRED)
            && self.keyspace.expiry_mode() == tessera_keyspace::ExpiryMode::Reclaim
        {
            self.keyspace
                .set_expiry_mode(tessera_keyspace::ExpiryMode::Journal);
        }
    }

    /// The keyspace notification flags in force.
    pub fn notifier(&self) -> &crate::notify::Notifier {
        &self.notifier
    }

    /// Delivers `message` on `channel` to this node's subscribers (channel and
    /// pattern), as PUBLISH does locally; returns how many received it. Nothing is sent
    /// to other nodes: what does (PUBLISH, the bus) calls this too.
    pub fn publish_local(&self, channel: &[u8], message: &[u8]) -> usize {
        self.pubsub
            .publish(channel, message, crate::clock::unix_ms())
    }

    /// [`Node::publish_local`] for a shard channel (SPUBLISH).
    pub fn spublish_local(&self, channel: &[u8], message: &[u8]) -> usize {
        self.pubsub
            .spublish(channel, message, crate::clock::unix_ms())
    }

    /// The configuration in force (CONFIG GET/SET, the settings snapshot).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The data.
    pub fn keyspace(&self) -> &Keyspace {
        &self.keyspace
    }

    /// The connected clients.
    pub fn clients(&self) -> &ClientRegistry {
        &self.clients
    }

    /// The node's counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The gate every client waits at while DEBUG SLEEP or CLIENT PAUSE holds the node.
    pub fn pause(&self) -> &PauseGate {
        &self.pause
    }

    /// Writes held while a manual failover hands over.
    pub fn write_pause(&self) -> &WritePause {
        &self.write_pause
    }

    /// Snapshot state (SAVE, BGSAVE, LASTSAVE).
    pub fn snapshots(&self) -> &Snapshots {
        &self.snapshots
    }

    /// The random id of this process run.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The replication stream: ids, offset, backlog, attached replicas.
    pub fn replication(&self) -> &Arc<ReplicationStream> {
        &self.replication
    }

    /// The link to this node's master, when it is a replica.
    pub fn master_link(&self) -> Option<Arc<MasterLink>> {
        self.master_link.lock().clone()
    }

    /// Puts `link` in place of the current link to a master, returning the old one so
    /// the caller can stop it.
    pub fn replace_master_link(&self, link: Option<Arc<MasterLink>>) -> Option<Arc<MasterLink>> {
        let replica = link.is_some();
        self.is_replica.store(replica, Ordering::Release);
        if replica {
            // As Redis's replicationSetMaster: nothing stays blocked on a replica.
            self.blocked.finish_all(|| {
                crate::blocking::Outcome::Error(crate::errors::UNBLOCKED_TURNED_REPLICA.into())
            });
        }
        std::mem::replace(&mut *self.master_link.lock(), link)
    }

    /// The EVAL engine and the running script's state.
    pub fn scripts(&self) -> &crate::scripts::Scripts {
        &self.scripts
    }

    /// CLIENT TRACKING's table.
    pub fn tracking(&self) -> &crate::tracking::Tracking {
        &self.tracking
    }

    /// Makes expired keys reach the expired hook (which invalidates them): called when
    /// a client turns tracking on. Never the other way, as for notifications.
    pub fn journal_expiry_for_tracking(&self) {
        if self.keyspace.expiry_mode() == tessera_keyspace::ExpiryMode::Reclaim {
            self.keyspace
                .set_expiry_mode(tessera_keyspace::ExpiryMode::Journal);
        }
    }

    /// Invalidates `key` for the clients tracking it (a change made outside a command:
    /// expiry, eviction, a slot leaving the node).
    #[inline]
    pub fn invalidate_tracked(&self, key: &[u8]) {
        self.tracking.invalidate(&self.clients, key);
    }

    /// Tells everyone who watches `key` of database `db` that it changed: the WATCHes
    /// on it are spoiled and the clients tracking it invalidated.
    #[inline]
    pub fn key_changed(&self, db: usize, key: &[u8]) {
        self.watches.touch(db, key);
        self.invalidate_tracked(key);
    }

    /// Keeps the tracking table within `max_keys` (tracking-table-max-keys).
    pub fn tracking_limit(&self, max_keys: usize) {
        self.tracking.limit(&self.clients, max_keys);
    }

    /// Sends the BCAST invalidations the last command noted.
    pub fn tracking_broadcast(&self) {
        self.tracking.broadcast(&self.clients);
    }

    /// A flush: every tracking client is told every key changed.
    pub fn tracking_flushed(&self) {
        self.tracking.flushed(&self.clients);
    }

    /// The keys clients WATCH, and who watches them.
    pub fn watches(&self) -> &Arc<crate::watch::Watches> {
        &self.watches
    }

    /// The clients blocked on keys.
    pub fn blocked(&self) -> &crate::commands::blocking::Waiters {
        &self.blocked
    }

    /// Whether a full sync is loading data (clients wait a little, then get LOADING).
    pub fn loading(&self) -> &crate::loading::Loading {
        &self.loading
    }

    /// How long the node has been up.
    pub fn uptime(&self) -> std::time::Duration {
        self.started.elapsed()
    }

    /// Where the node came from (executable, allocator).
    pub fn origin(&self) -> &NodeOrigin {
        &self.origin
    }

    /// Records the port actually bound, once the listener has it.
    pub fn set_bound_port(&self, port: u16) {
        self.bound_port.store(port, Ordering::Relaxed);
    }

    /// The admin plane's port (0: not serving).
    pub fn admin_port(&self) -> u16 {
        self.admin_port.load(Ordering::Relaxed)
    }

    /// Records the admin plane's port once it listens.
    pub fn set_admin_port(&self, port: u16) {
        self.admin_port.store(port, Ordering::Relaxed);
    }

    /// The cluster bus, when cluster mode is on and the bus has started.
    pub fn cluster(&self) -> Option<&tessera_cluster_bus_runtime::ClusterHandle> {
        self.cluster.get()
    }

    /// Attaches the cluster bus; false if one was attached already (it is set once).
    pub fn attach_cluster(&self, handle: tessera_cluster_bus_runtime::ClusterHandle) -> bool {
        self.cluster.set(handle).is_ok()
    }

    /// The append-only file, when on (read once per reply batch, without a lock).
    pub fn aof(&self) -> arc_swap::Guard<Option<Arc<crate::aof::Aof>>> {
        self.aof.load()
    }

    /// At start, before clients are served: loads the append-only file (or starts
    /// one) when `appendonly` is on, and from then on follows CONFIG SET of
    /// `appendonly` (on: a rewrite starts the file from the data as it is; off: the
    /// file is synced and closed) and of `appendfsync`.
    pub fn start_aof(self: &Arc<Self>) -> Result<(), String> {
        if self.config().settings().aof.enabled {
            self.aof.store(Some(crate::aof::Aof::start(self)?));
        }
        let weak = Arc::downgrade(self);
        let enabling = Arc::new(AtomicBool::new(false));
        self.config().on_change(move |s| {
            let Some(node) = weak.upgrade() else { return };
            match (&*node.aof(), s.aof.enabled) {
                (Some(aof), true) => aof.configure(&s.aof),
                (Some(_), false) => {
                    if let Some(aof) = node.aof.swap(None) {
                        aof.close(&node);
                    }
                }
                (None, true) if !enabling.swap(true, Ordering::AcqRel) => {
                    // Off the CONFIG SET caller: the first rewrite writes the data.
                    let enabling = enabling.clone();
                    std::thread::spawn(move || {
                        match crate::aof::Aof::enable(&node) {
                            // Turned off again meanwhile: closed at once.
                            Ok(aof) if !node.config().settings().aof.enabled => aof.close(&node),
                            Ok(aof) => node.aof.store(Some(aof)),
                            Err(e) => {
                                tracing::warn!(error = %e, "could not turn the append-only file on");
                            }
                        }
                        enabling.store(false, Ordering::Release);
                    });
                }
                (None, true) => {}
                (None, false) => {}
            }
        });
        Ok(())
    }

    /// Whether the active expiry cycle runs.
    pub fn active_expire_enabled(&self) -> bool {
        self.active_expire.load(Ordering::Relaxed)
    }

    /// Turns the active expiry cycle on or off (DEBUG SET-ACTIVE-EXPIRE).
    pub fn set_active_expire(&self, on: bool) {
        self.active_expire.store(on, Ordering::Relaxed);
    }

    /// Registers a runtime that serves clients, so [`Node::quiesce_clients`] waits for it.
    pub fn add_io_runtime(&self, runtime: tokio::runtime::Handle) {
        self.io_runtimes.lock().push(runtime);
    }

    /// MIGRATE's cached connections to targets.
    pub fn migrate_targets(&self) -> &tessera_migration::TargetPool {
        &self.migrate_targets
    }

    /// The per-slot gates that keep a command's keys from moving away mid-command.
    pub fn migration_gates(&self) -> &tessera_migration::SlotGates {
        &self.migration_gates
    }

    /// Asks the node to stop (SHUTDOWN, signals).
    pub fn request_shutdown(&self) {
        self.shutdown.cancel();
    }

    /// True once a shutdown was requested.
    pub fn shutting_down(&self) -> bool {
        self.shutdown.is_cancelled()
    }

    /// Completes when a shutdown is requested.
    pub async fn shutdown_requested(&self) {
        self.shutdown.cancelled().await
    }

    /// Traffic counters of every client, past and present.
    pub fn traffic(&self) -> Totals {
        let mut t = self.stats.departed.snapshot();
        t += self.clients.live_totals();
        t
    }

    /// Returns once every client-serving thread has finished the work it had in hand
    /// when this was called. Commands run without yielding from routing to reply, so
    /// afterwards no command routed by an older routing snapshot is still running.
    pub async fn quiesce_clients(&self) {
        let runtimes = self.io_runtimes.lock().clone();
        for runtime in runtimes {
            let _ = runtime.spawn(async {}).await;
        }
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.bound_port.load(Ordering::Relaxed)
    }

    /// Records `used` as a memory sample and returns the peak so far.
    pub fn memory_peak(&self, used: u64) -> u64 {
        self.peak_memory
            .fetch_max(used, Ordering::Relaxed)
            .max(used)
    }

    /// maxmemory: the used-memory estimate, eviction and its counters.
    pub fn eviction(&self) -> &crate::eviction::Eviction {
        &self.eviction
    }

    /// Used memory as INFO's used_memory reports it: the allocator's allocated bytes,
    /// or the resident set when the binary has no allocator probe.
    pub fn used_memory(&self) -> u64 {
        match self.memory().allocated {
            0 => crate::info::resident_bytes(),
            allocated => allocated,
        }
    }

    /// Memory figures, or zeros when the binary has no probe.
    pub fn memory(&self) -> MemoryStats {
        self.origin.memory_probe.map(|p| p()).unwrap_or_default()
    }
}
