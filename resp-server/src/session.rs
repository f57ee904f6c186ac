//! The private state of one connection.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::client::ClientInfo;

/// CLIENT REPLY state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    /// Replies are sent.
    On,
    /// Replies are dropped until CLIENT REPLY ON.
    Off,
    /// The next command's reply will be dropped.
    SkipNext,
    /// This command's reply is being dropped.
    Skipping,
}

/// State of one connection, owned by its task.
pub struct Session {
    /// The shared record.
    pub info: Arc<ClientInfo>,
    /// Speaking RESP3.
    pub resp3: bool,
    /// Authenticated, or no password is required.
    pub authenticated: bool,
    /// Selected database.
    pub db: usize,
    /// CLIENT REPLY state.
    pub reply_mode: ReplyMode,
    /// Close the connection once pending replies are written.
    pub close: bool,
    /// The peer connected over loopback.
    pub local: bool,
    /// Hold pending replies this long before going on (DEBUG SLEEP).
    pub sleep: Option<Duration>,
    /// Write commands run in the current batch (for the `save` points).
    pub writes: u64,
    /// READONLY: reads may be served by this replica for its master's slots.
    pub readonly: bool,
    /// ASKING: the next command may use a slot this node is importing.
    pub asking: bool,
    /// MULTI was sent: commands are queued until EXEC or DISCARD.
    pub multi: Option<Transaction>,
    /// The keys this connection WATCHes.
    pub watching: Option<crate::watch::Watching>,
    /// EXEC is running on a node that records changes: what its commands replicate,
    /// sent to replicas as one MULTI ... EXEC block when it ends.
    pub tx_stream: Option<Vec<(usize, Vec<Vec<u8>>)>>,
    /// EXEC is running: CLUSTER subcommands bound for the bus engine are collected
    /// here and applied together, in one step of the engine.
    pub engine_batch: Option<Vec<tessera_cluster_bus::engine::ClusterCommand>>,
    /// A reply that needs another task first (CLUSTER commands go through the bus).
    pub deferred: Option<Deferred>,
    /// This is the link from our master: its commands apply unconditionally and are
    /// not recorded again (the raw stream is).
    pub master_link: bool,
    /// The replication offset after this client's last write (what WAIT waits for).
    pub write_offset: u64,
    /// PSYNC/SYNC was accepted: the connection becomes a replica's link.
    pub replica_sync: Option<crate::replication::SyncRequest>,
    /// REPLCONF listening-port, kept until PSYNC.
    pub replica_port: u16,
    /// The deferred reply is a blocking pop's: the connection watches its socket while
    /// waiting, so a client that leaves ends its wait.
    pub blocked: bool,
    /// Pub/Sub: this connection's mailbox, from its first subscription on.
    pub pubsub: Option<crate::pubsub::Attached>,
    /// CLIENT TRACKING is on: reads are remembered and pushes leave after each reply.
    pub tracking: bool,
    /// While a tracking client's script runs: the keys its EVAL or FCALL declared, what
    /// Redis 7.0 remembers for each read-only command the script calls (not the keys
    /// that command reads).
    pub script_keys: Option<Vec<Vec<u8>>>,
}

/// The commands queued between MULTI and EXEC.
#[derive(Debug, Default)]
pub struct Transaction {
    /// Each queued command's arguments, the name first.
    pub queued: Vec<Vec<Vec<u8>>>,
    /// A command was refused while queuing: EXEC will discard the transaction.
    pub failed: bool,
    /// A queued command may add memory (flagged denyoom): EXEC is refused while the
    /// node is over `maxmemory` and cannot evict, as Redis's is.
    pub denyoom: bool,
}

/// A reply computed elsewhere: awaited, then written into the reply buffer.
pub type Deferred = std::pin::Pin<Box<dyn std::future::Future<Output = DeferredWrite> + Send>>;

/// What a deferred reply does once ready: writes the reply, and may update the session
/// (MIGRATE records the replication offset of the deletions it sent, for WAIT).
pub type DeferredWrite = Box<dyn FnOnce(&mut crate::protocol::reply::Reply, &mut Session) + Send>;

impl Session {
    /// A new session for a connection.
    pub fn new(info: Arc<ClientInfo>, authenticated: bool) -> Session {
        let local = crate::server::is_loopback(info.addr.ip());
        Session {
            info,
            resp3: false,
            authenticated,
            db: 0,
            reply_mode: ReplyMode::On,
            close: false,
            local,
            sleep: None,
            writes: 0,
            readonly: false,
            asking: false,
            multi: None,
            watching: None,
            tx_stream: None,
            engine_batch: None,
            deferred: None,
            master_link: false,
            write_offset: 0,
            replica_sync: None,
            replica_port: 0,
            blocked: false,
            pubsub: None,
            tracking: false,
            script_keys: None,
        }
    }

    /// Switches protocol version.
    pub fn set_resp3(&mut self, resp3: bool) {
        self.resp3 = resp3;
        self.info
            .resp
            .store(if resp3 { 3 } else { 2 }, Ordering::Relaxed);
        if let Some(p) = &self.pubsub {
            p.mailbox.set_resp3(resp3);
        }
    }

    /// The mailbox, created on first use.
    pub fn mailbox(&mut self) -> &std::sync::Arc<crate::pubsub::Mailbox> {
        let (info, resp3) = (&self.info, self.resp3);
        &self
            .pubsub
            .get_or_insert_with(|| info.mailbox.attach(info, resp3))
            .mailbox
    }

    /// In subscribed mode: RESP2 then only takes the subscription commands, PING,
    /// QUIT and RESET.
    pub fn subscribed(&self) -> bool {
        self.pubsub
            .as_ref()
            .is_some_and(crate::pubsub::Attached::subscribed)
    }

    /// Selects a database.
    pub fn select(&mut self, db: usize) {
        self.db = db;
        self.info.db.store(db, Ordering::Relaxed);
    }
}
