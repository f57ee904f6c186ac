//! The replica side: the link to this node's master. It connects, says who it is,
//! asks to continue its history (PSYNC), loads a snapshot when the master sends one,
//! then applies the master's stream and acknowledges its offset once a second. When
//! the link breaks it tries again every second, continuing where it stopped.

use bytes::{Buf, BytesMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU8, Ordering};
use std::time::Duration;
use tessera_keyspace::ExpiryMode;
use tessera_replication::Role;
use tessera_replication::replica_link::{
    self, Handshake, HandshakeAction, HandshakeSettings, StreamCommand,
};
use tessera_replication::wire::{PsyncReply, RdbFraming, parse_rdb_header};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::commands::Ctx;
use crate::node::{Node, random_hex_id};
use crate::protocol::command::encode_command;
use crate::protocol::reply::Reply;
use crate::protocol::request::{Args, Decoded, Limits, RequestDecoder};
use crate::session::Session;

/// Where the link to the master stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Not connected; trying.
    Connecting,
    /// Connected, handshake under way.
    Handshake,
    /// Receiving or loading a snapshot.
    Transfer,
    /// Following the stream.
    Connected,
}

/// This node's link to its master.
pub struct MasterLink {
    /// Master host.
    pub host: String,
    /// Master port.
    pub port: u16,
    state: AtomicU8,
    last_io_ms: AtomicI64,
    /// Since when the link is down (Unix ms); 0 when it never came up, -1 while up.
    down_since_ms: AtomicI64,
    stop: CancellationToken,
}

impl MasterLink {
    /// Where the link stands.
    pub fn state(&self) -> LinkState {
        match self.state.load(Ordering::Relaxed) {
            1 => LinkState::Handshake,
            2 => LinkState::Transfer,
            3 => LinkState::Connected,
            _ => LinkState::Connecting,
        }
    }

    fn set_state(&self, state: LinkState) {
        let was_up = self.state.swap(state as u8, Ordering::Relaxed) == LinkState::Connected as u8;
        if state == LinkState::Connected {
            self.down_since_ms.store(-1, Ordering::Relaxed);
        } else if was_up {
            self.down_since_ms
                .store(crate::clock::unix_ms(), Ordering::Relaxed);
        }
    }

    /// Since when the link is down (Unix ms; 0 if it never came up); `None` while up.
    /// Failover uses it to judge how old the replica's data is.
    pub fn down_since(&self) -> Option<u64> {
        u64::try_from(self.down_since_ms.load(Ordering::Relaxed)).ok()
    }

    /// Seconds since the master last sent anything.
    pub fn last_io_secs(&self) -> i64 {
        (crate::clock::unix_ms() - self.last_io_ms.load(Ordering::Relaxed)).max(0) / 1000
    }

    fn touch(&self) {
        self.last_io_ms
            .store(crate::clock::unix_ms(), Ordering::Relaxed);
    }
}

/// Makes this node a replica of `host:port`: it drops any other link and its own
/// replicas (they must follow the new history), keeps expired keys for the master's
/// DELs, and starts the link on a thread of its own.
pub fn replicate(node: &Arc<Node>, host: String, port: u16) {
    let already = node
        .master_link()
        .as_ref()
        .is_some_and(|l| l.host == host && l.port == port);
    if already {
        return;
    }
    let link = Arc::new(MasterLink {
        host: host.clone(),
        port,
        state: AtomicU8::new(LinkState::Connecting as u8),
        last_io_ms: AtomicI64::new(crate::clock::unix_ms()),
        down_since_ms: AtomicI64::new(0),
        stop: CancellationToken::new(),
    });
    if let Some(old) = node.replace_master_link(Some(link.clone())) {
        old.stop.cancel();
    }
    node.replication().set_role(Role::Replica { host, port });
    node.replication().drop_replicas();
    node.keyspace().set_expiry_mode(ExpiryMode::Retain);
    let node = node.clone();
    let spawned = std::thread::Builder::new()
        .name("master-link".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the master link");
            runtime.block_on(run(node, link));
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "could not start the link to the master");
    }
}

/// Stops replicating: this node becomes a master that continues its history under a
/// new replid (its old replid stays valid for the offsets it had).
pub fn promote(node: &Node) {
    if let Some(old) = node.replace_master_link(None) {
        old.stop.cancel();
    }
    node.replication().promote(random_hex_id());
    let notify_expired = node.notifier().wants(crate::notify::EXPIRED);
    let mode = if node.replication().is_active() || notify_expired {
        ExpiryMode::Journal
    } else {
        ExpiryMode::Reclaim
    };
    node.keyspace().set_expiry_mode(mode);
    node.loading().end();
}

async fn run(node: Arc<Node>, link: Arc<MasterLink>) {
    loop {
        link.set_state(LinkState::Connecting);
        let outcome = tokio::select! {
            _ = link.stop.cancelled() => return,
            outcome = sync_and_follow(&node, &link) => outcome,
        };
        if let Err(e) = outcome {
            tracing::warn!(master = %format!("{}:{}", link.host, link.port), error = %e, "link to the master lost; retrying");
        }
        node.loading().end();
        tokio::select! {
            _ = link.stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// The connection to the master, buffered for reading lines and payloads.
struct MasterConn {
    stream: TcpStream,
    input: BytesMut,
    timeout: Duration,
}

impl MasterConn {
    async fn send(&mut self, args: &[&[u8]]) -> Result<(), String> {
        let mut out = Vec::new();
        encode_command(&mut out, args);
        self.stream
            .write_all(&out)
            .await
            .map_err(|e| format!("write failed: {e}"))
    }

    async fn fill(&mut self) -> Result<(), String> {
        self.input.reserve(64 * 1024);
        match tokio::time::timeout(self.timeout, self.stream.read_buf(&mut self.input)).await {
            Err(_) => Err("timeout reading from the master".into()),
            Ok(Err(e)) => Err(format!("read failed: {e}")),
            Ok(Ok(0)) => Err("connection closed by the master".into()),
            Ok(Ok(_)) => Ok(()),
        }
    }

    /// The next line (a master sends bare newlines as keepalives).
    async fn line(&mut self) -> Result<Vec<u8>, String> {
        loop {
            if let Some((line, used)) = replica_link::next_line(&self.input) {
                let line = self.input[line].to_vec();
                self.input.advance(used);
                return Ok(line);
            }
            self.fill().await?;
        }
    }

    async fn send_all(&mut self, args: &[Vec<u8>]) -> Result<(), String> {
        let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        self.send(&args).await
    }

    /// Reads the snapshot that follows `+FULLRESYNC`.
    async fn snapshot(&mut self, link: &MasterLink) -> Result<Vec<u8>, String> {
        let framing = parse_rdb_header(&self.line().await?).map_err(|e| e.to_string())?;
        if let RdbFraming::Length(len) = framing
            && usize::try_from(len).is_err()
        {
            return Err("snapshot too large".into());
        }
        loop {
            if let Some((len, used)) = replica_link::snapshot_end(&framing, &self.input) {
                let rdb = self.input[..len].to_vec();
                self.input.advance(used);
                return Ok(rdb);
            }
            self.fill().await?;
            link.touch();
        }
    }
}

async fn sync_and_follow(node: &Arc<Node>, link: &MasterLink) -> Result<(), String> {
    let settings = node.config().settings();
    let timeout = Duration::from_secs(settings.replication.timeout_secs);
    let connect = tessera_cluster_bus_runtime::net::connect_from(
        &link.host,
        link.port,
        settings.replication.bind_source_addr,
    );
    let stream = match tokio::time::timeout(timeout, connect).await {
        Err(_) => return Err("timeout connecting to the master".into()),
        Ok(Err(e)) => return Err(format!("connecting to the master: {e}")),
        Ok(Ok(s)) => s,
    };
    let _ = stream.set_nodelay(true);
    let mut conn = MasterConn {
        stream,
        input: BytesMut::new(),
        timeout,
    };
    link.set_state(LinkState::Handshake);
    link.touch();
    // Continue this node's own history: whatever it followed last, or its own stream
    // if it was a master (a demoted master often needs only the tail).
    let ids = node.replication().ids();
    let (mut handshake, mut command) = Handshake::start(HandshakeSettings {
        user: settings.replication.masteruser.clone(),
        password: settings.replication.masterauth.clone(),
        listening_port: node.port(),
        replid: ids.replid,
        next_offset: node.replication().offset() + 1,
    });
    let reply = loop {
        conn.send_all(&command).await?;
        let line = conn.line().await?;
        match handshake.on_reply(&line) {
            HandshakeAction::Send(next) => command = next,
            HandshakeAction::Done(reply) => break reply,
            HandshakeAction::Fail(why) => return Err(why),
        }
    };
    match reply {
        PsyncReply::Full { replid, offset } => {
            link.set_state(LinkState::Transfer);
            let rdb = conn.snapshot(link).await?;
            tracing::info!(
                bytes = rdb.len(),
                "snapshot received from the master; loading"
            );
            load(node, rdb).await?;
            node.replication().drop_replicas();
            node.replication().reset_to(replid, offset);
            // The AOF holds what this node had before the snapshot replaced it all:
            // a rewrite makes the snapshot its new base, as Redis restarts its AOF.
            if let Some(aof) = &*node.aof() {
                if !aof.rewrite_in_background(node) {
                    tracing::warn!(
                        "an AOF rewrite is running; the snapshot reaches the AOF at the next one"
                    );
                }
            }
        }
        PsyncReply::Continue { replid } => {
            tracing::info!("partial resynchronization with the master");
            if let Some(replid) = replid {
                node.replication().follow_renamed(replid);
            }
        }
        PsyncReply::Error(e) => return Err(format!("the master refused PSYNC: {e}")),
    }
    link.set_state(LinkState::Connected);
    follow(node, link, conn).await
}

/// Replaces the data with a snapshot, answering LOADING meanwhile.
async fn load(node: &Arc<Node>, rdb: Vec<u8>) -> Result<(), String> {
    node.loading().begin();
    let node2 = node.clone();
    let limits = tessera_keyspace::rdb::ReadLimits {
        max_len: 1 << 40,
        encoding: node.config().settings().encoding,
    };
    let loaded = tokio::task::spawn_blocking(move || {
        node2.keyspace().clear();
        // As Redis's emptyData: tracking clients of the replica hear that every key
        // changed.
        node2.tracking_flushed();
        // Keys past their deadline load too: the master decides when they go.
        tessera_keyspace::rdb::load_keyspace(node2.keyspace(), &rdb[..], i64::MIN, limits)
    })
    .await;
    node.loading().end();
    match loaded {
        Ok(Ok(stats)) => {
            tracing::info!(keys = stats.loaded, "snapshot loaded");
            if let Err(e) = node.scripts().load_libraries(&stats.libraries, true) {
                tracing::warn!(error = %e, "the master's function libraries did not load");
            }
            Ok(())
        }
        Ok(Err(e)) => Err(format!("the master's snapshot is corrupt: {e}")),
        Err(e) => Err(format!("loading the snapshot failed: {e}")),
    }
}

/// Applies the master's commands as a client that is always allowed, sees no key
/// expire (time is the master's business: it sends DEL) and is never recorded again
/// (the raw stream is, so sub-replicas and a later promotion share the offsets).
pub(crate) struct Applier {
    node: Arc<Node>,
    session: Session,
    reply: Reply,
    /// Registered by [`Applier::internal`], so unregistered when dropped.
    internal: bool,
}

impl Applier {
    /// An applier with no connection behind it (loading the append-only file): a
    /// client without a socket, as Redis's fake AOF client.
    pub(crate) fn internal(node: &Arc<Node>) -> Applier {
        let nowhere = std::net::SocketAddr::from(([0, 0, 0, 0], 0));
        let info = node.clients().register(nowhere, nowhere, -1);
        let mut session = Session::new(info, true);
        session.master_link = true;
        Applier {
            node: node.clone(),
            session,
            reply: Reply::new(),
            internal: true,
        }
    }

    pub(crate) fn apply(&mut self, args: Args<'_>) {
        let settings = self.node.config().settings_guard();
        let mut ctx = Ctx {
            node: &self.node,
            session: &mut self.session,
            reply: &mut self.reply,
            settings: &settings,
            now_ms: i64::MIN,
        };
        crate::dispatch::execute(&mut ctx, args);
        self.session.deferred = None;
        self.reply.clear();
    }
}

impl Drop for Applier {
    fn drop(&mut self) {
        if self.internal {
            self.node.clients().unregister(self.session.info.id);
        }
    }
}

async fn follow(node: &Arc<Node>, link: &MasterLink, mut conn: MasterConn) -> Result<(), String> {
    let peer = conn.stream.peer_addr().map_err(|e| e.to_string())?;
    let local = conn.stream.local_addr().map_err(|e| e.to_string())?;
    let fd = std::os::fd::AsRawFd::as_raw_fd(&conn.stream);
    let info = node.clients().register(peer, local, fd);
    let mut session = Session::new(info.clone(), true);
    session.master_link = true;
    let mut applier = Applier {
        node: node.clone(),
        session,
        reply: Reply::new(),
        internal: false,
    };
    let result = apply_stream(node, link, &mut conn, &mut applier).await;
    info.detach_socket();
    node.clients().unregister(info.id);
    result
}

/// This replica's acknowledgement: its offset, and with the AOF on how far the AOF
/// is fsynced.
fn ack(node: &Node) -> Vec<Vec<u8>> {
    let fsynced = node.aof().as_ref().map(|a| a.fsynced());
    replica_link::ack(node.replication().offset(), fsynced)
}

/// Completes when the AOF publishes a new durable offset (true) or is closed (false);
/// never without an AOF.
async fn fsynced(watch: &mut Option<tokio::sync::watch::Receiver<u64>>) -> bool {
    match watch {
        Some(rx) => rx.changed().await.is_ok(),
        None => std::future::pending().await,
    }
}

async fn apply_stream(
    node: &Arc<Node>,
    link: &MasterLink,
    conn: &mut MasterConn,
    applier: &mut Applier,
) -> Result<(), String> {
    let mut decoder = RequestDecoder::new();
    let limits = Limits {
        max_bulk_len: usize::MAX,
        authenticated: true,
    };
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut fsyncs = node.aof().as_ref().map(|a| a.durable_watch());
    loop {
        // Everything complete in the buffer, in order.
        loop {
            let used = match decoder.decode(&conn.input, limits) {
                Ok(Decoded::Request(used)) => used,
                Ok(Decoded::Incomplete(_)) => break,
                Err(e) => return Err(format!("protocol error from the master: {e}")),
            };
            let args = decoder.args(&conn.input[..used]);
            if !args.is_empty() {
                let first = (args.len() > 1).then(|| args.get(1));
                match replica_link::classify(args.get(0), first) {
                    StreamCommand::GetAck => conn.send_all(&ack(node)).await?,
                    // A MULTI ... EXEC block queues and runs as a transaction here
                    // too, so no client of this replica sees half of it.
                    StreamCommand::Apply => applier.apply(args),
                }
            }
            node.replication()
                .feed_raw(&conn.input[..used], Some(applier.session.db));
            conn.input.advance(used);
        }
        tokio::select! {
            read = conn.fill() => {
                read?;
                link.touch();
            }
            _ = tick.tick() => {
                if link.last_io_secs() > conn.timeout.as_secs() as i64 {
                    return Err("timeout: nothing from the master".into());
                }
                conn.send_all(&ack(node)).await?;
                // The AOF may have been turned on or off since.
                fsyncs = node.aof().as_ref().map(|a| a.durable_watch());
            }
            // A master's WAITAOF waits for this replica's fsync: say so as it happens,
            // not at the next second.
            changed = fsynced(&mut fsyncs) => {
                if changed {
                    conn.send_all(&ack(node)).await?;
                } else {
                    fsyncs = None;
                }
            }
        }
    }
}
