//! The node's replication stream: every change, in order, as the commands that replay
//! it. It feeds the backlog (for replicas that reconnect) and the output buffer of each
//! attached replica, and keeps the replication ids and offset.
//!
//! Ordering: callers append while they hold the slot locks of what they changed, so
//! the stream's order agrees with the order of changes to every slot. A full sync
//! therefore takes every slot lock, notes the offset and attaches the replica in one
//! step: no change can fall between the snapshot and the stream.

use parking_lot::Mutex;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use crate::backlog::Backlog;
use crate::history::{PsyncAnswer, ReplicationIds, answer_psync};
use crate::notify::{Broadcast, Signal};
use tessera_resp::command::encode_command;

/// Where a replica's sync stands, as INFO shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaState {
    /// The snapshot is being made or sent.
    SendingSnapshot,
    /// Following the stream.
    Online,
}

/// One attached replica, as the master sees it.
pub struct AttachedReplica {
    /// The client id of its connection.
    pub client_id: u64,
    /// Its IP, as the master sees the connection.
    pub ip: String,
    /// The port it listens on (REPLCONF listening-port).
    pub port: u16,
    /// The last offset it acknowledged.
    pub ack_offset: AtomicU64,
    /// The last offset it reported fsynced to its own AOF (Redis 7.2's `FACK`); 0
    /// from a replica that never reports one, which so never counts for WAITAOF.
    pub aof_ack_offset: AtomicU64,
    /// When it last acknowledged (Unix ms).
    pub ack_time: AtomicU64,
    online: AtomicBool,
    pending: Mutex<Vec<u8>>,
    ready: Signal,
    overflowed: AtomicBool,
    /// Bytes pushed and not yet written to the replica's socket (taken or not).
    queued: AtomicUsize,
}

impl AttachedReplica {
    /// Where its sync stands.
    pub fn state(&self) -> ReplicaState {
        if self.online.load(Ordering::Relaxed) {
            ReplicaState::Online
        } else {
            ReplicaState::SendingSnapshot
        }
    }

    /// Marks the snapshot as delivered.
    pub fn set_online(&self) {
        self.online.store(true, Ordering::Relaxed);
    }

    fn push(&self, bytes: &[u8], hard_limit: usize) {
        let mut pending = self.pending.lock();
        let queued = self.queued.fetch_add(bytes.len(), Ordering::Relaxed) + bytes.len();
        if hard_limit > 0 && queued >= hard_limit {
            // Redis's client-output-buffer-limit for replicas: drop the link; the
            // replica reconnects and resyncs.
            self.overflowed.store(true, Ordering::Relaxed);
            pending.clear();
        } else {
            pending.extend_from_slice(bytes);
        }
        drop(pending);
        self.ready.notify();
    }

    /// Bytes queued for the replica and not yet reported written: its output buffer,
    /// as client-output-buffer-limit measures it.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// The link wrote `n` bytes it had taken with [`AttachedReplica::next_bytes`].
    pub fn sent(&self, n: usize) {
        self.queued.fetch_sub(n, Ordering::Relaxed);
    }

    /// Completes once the link must be dropped: the stream queued for the replica
    /// broke the hard limit. It shares its wakeup with [`AttachedReplica::next_bytes`],
    /// so only the link's task may await either (it may race them).
    pub async fn until_overflowed(&self) {
        while !self.overflowed.load(Ordering::Relaxed) {
            self.ready.notified().await;
        }
    }

    /// Waits for stream bytes and takes them all; `None` when the replica fell too far
    /// behind and must be dropped. One task (the replica's link) calls this.
    pub async fn next_bytes(&self) -> Option<Vec<u8>> {
        loop {
            if self.overflowed.load(Ordering::Relaxed) {
                return None;
            }
            {
                let mut pending = self.pending.lock();
                if !pending.is_empty() {
                    return Some(std::mem::take(&mut *pending));
                }
            }
            self.ready.notified().await;
        }
    }
}

/// The node's role, as INFO and ROLE report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// A master (the default).
    Master,
    /// A replica of `host:port`.
    Replica {
        /// Master host.
        host: String,
        /// Master port.
        port: u16,
    },
}

/// Something besides the replicas that keeps every change the stream records, in
/// stream order (the append-only file).
pub trait ChangeSink: Send + Sync {
    /// Stream bytes that end at stream offset `end`. Called under the stream's lock.
    fn append(&self, bytes: &[u8], end: u64);
}

struct Inner {
    /// The append-only file, when on.
    sink: Option<Arc<dyn ChangeSink>>,
    ids: ReplicationIds,
    backlog: Option<Backlog>,
    backlog_size: usize,
    offset: u64,
    /// The database the stream last selected; `None` makes the next command SELECT.
    stream_db: Option<usize>,
    replicas: Vec<Arc<AttachedReplica>>,
    /// client-output-buffer-limit's hard limit for replicas (0: none).
    replica_hard_limit: usize,
    role: Role,
    scratch: Vec<u8>,
}

/// The replication stream of one node.
pub struct ReplicationStream {
    inner: Mutex<Inner>,
    /// True once a backlog exists: from then on every change is recorded.
    active: AtomicBool,
    /// True while the role is [`Role::Replica`] (read on every write command).
    replica: AtomicBool,
    /// Writes are paused for a manual failover: nothing but writes already under way
    /// may move the offset (no PING, no GETACK), so the replica can catch up exactly.
    paused: AtomicBool,
    /// Woken whenever a replica acknowledges an offset (WAIT listens).
    acked: Broadcast,
    /// Counters for INFO's stats section.
    pub syncs: SyncCounters,
}

/// How replicas synced with this node (INFO: sync_full, sync_partial_ok,
/// sync_partial_err).
#[derive(Debug, Default)]
pub struct SyncCounters {
    /// Full syncs served.
    pub full: AtomicU64,
    /// Partial resyncs accepted.
    pub partial_ok: AtomicU64,
    /// Partial resyncs refused (a full sync followed).
    pub partial_err: AtomicU64,
}

/// What `PSYNC` should do, decided under the stream lock.
pub enum Attach {
    /// Continue: the reply line, then the stream bytes already queued for the replica.
    Continue(Arc<AttachedReplica>, String),
    /// A full sync is needed.
    Full,
}

impl ReplicationStream {
    /// A master's stream with a fresh replid and no backlog yet.
    pub fn new(replid: String, backlog_size: usize) -> ReplicationStream {
        ReplicationStream {
            inner: Mutex::new(Inner {
                sink: None,
                ids: ReplicationIds::new(replid),
                backlog: None,
                backlog_size,
                offset: 0,
                stream_db: None,
                replicas: Vec::new(),
                replica_hard_limit: 256 << 20,
                role: Role::Master,
                scratch: Vec::new(),
            }),
            active: AtomicBool::new(false),
            replica: AtomicBool::new(false),
            paused: AtomicBool::new(false),
            acked: Broadcast::new(),
            syncs: SyncCounters::default(),
        }
    }

    /// True once changes are recorded (a replica attached at least once).
    #[inline]
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    /// Starts recording: creates the backlog at the current offset.
    pub fn activate(&self) {
        let mut inner = self.inner.lock();
        if inner.backlog.is_none() {
            let (size, offset) = (inner.backlog_size, inner.offset);
            inner.backlog = Some(Backlog::new(size, offset));
        }
        self.active.store(true, Ordering::Release);
    }

    /// Records a change to database `db`; returns the stream offset after it. The
    /// caller holds the slot locks of what it changed.
    pub fn feed(&self, db: usize, args: &[&[u8]]) -> u64 {
        let mut inner = self.inner.lock();
        if !self.is_active() {
            return inner.offset;
        }
        let mut bytes = std::mem::take(&mut inner.scratch);
        bytes.clear();
        if inner.stream_db != Some(db) {
            encode_command(
                &mut bytes,
                &[b"SELECT", itoa::Buffer::new().format(db).as_bytes()],
            );
            inner.stream_db = Some(db);
        }
        encode_command(&mut bytes, args);
        inner.append(&bytes);
        inner.scratch = bytes;
        inner.offset
    }

    /// Records a transaction's changes as one MULTI ... EXEC block, so no other change
    /// lands inside it and a replica applies it as one step; returns the stream offset
    /// after it. The caller holds the slot locks of what the block changed.
    pub fn feed_block(&self, commands: &[(usize, Vec<Vec<u8>>)]) -> u64 {
        let mut inner = self.inner.lock();
        let Some(&(first_db, _)) = commands.first() else {
            return inner.offset;
        };
        if !self.is_active() {
            return inner.offset;
        }
        let mut bytes = std::mem::take(&mut inner.scratch);
        bytes.clear();
        let select = |bytes: &mut Vec<u8>, inner: &mut Inner, db: usize| {
            if inner.stream_db != Some(db) {
                let index = itoa::Buffer::new().format(db).as_bytes().to_vec();
                encode_command(bytes, &[b"SELECT", &index]);
                inner.stream_db = Some(db);
            }
        };
        select(&mut bytes, &mut inner, first_db);
        encode_command(&mut bytes, &[b"MULTI"]);
        for (db, args) in commands {
            select(&mut bytes, &mut inner, *db);
            let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
            encode_command(&mut bytes, &args);
        }
        encode_command(&mut bytes, &[b"EXEC"]);
        inner.append(&bytes);
        inner.scratch = bytes;
        inner.offset
    }

    /// Sets (or removes) the sink that keeps every change, and starts recording. `start`
    /// runs under the stream's lock with the offset the sink starts at, so the sink
    /// misses nothing and gets nothing twice.
    pub fn set_sink<R>(
        &self,
        sink: Option<Arc<dyn ChangeSink>>,
        start: impl FnOnce(u64) -> R,
    ) -> R {
        self.activate();
        let mut inner = self.inner.lock();
        inner.sink = sink;
        // The sink's first command must say which database it is for.
        inner.stream_db = None;
        start(inner.offset)
    }

    /// Runs `f` with the stream's offset while no change can be recorded: a cut of the
    /// stream (an AOF rewrite starts its new incremental file here).
    pub fn at_cut<R>(&self, f: impl FnOnce(u64) -> R) -> R {
        let mut inner = self.inner.lock();
        // The new file's first command must say which database it is for.
        inner.stream_db = None;
        f(inner.offset)
    }

    /// Records bytes that are already stream (a replica passing its master's stream
    /// on); `db` is the database the stream has selected after them.
    pub fn feed_raw(&self, bytes: &[u8], db: Option<usize>) -> u64 {
        let mut inner = self.inner.lock();
        inner.append(bytes);
        inner.stream_db = db;
        inner.offset
    }

    /// The stream offset (master_repl_offset).
    pub fn offset(&self) -> u64 {
        self.inner.lock().offset
    }

    /// The replication ids.
    pub fn ids(&self) -> ReplicationIds {
        self.inner.lock().ids.clone()
    }

    /// The role.
    pub fn role(&self) -> Role {
        self.inner.lock().role.clone()
    }

    /// Decides PSYNC and, for a partial resync, attaches the replica with the missing
    /// bytes already queued, in one step with respect to [`ReplicationStream::feed`].
    pub fn try_continue(&self, replid: &str, next: i64, replica: NewReplica) -> Attach {
        let mut inner = self.inner.lock();
        match answer_psync(&inner.ids, inner.backlog.as_ref(), replid, next) {
            PsyncAnswer::FullResync(reason) => {
                tracing::info!(?reason, replid, next, "partial resync refused");
                if reason != crate::history::FullReason::Requested {
                    self.syncs.partial_err.fetch_add(1, Ordering::Relaxed);
                }
                Attach::Full
            }
            PsyncAnswer::Continue { from } => {
                let r = replica.build(inner.offset);
                let backlog = inner.backlog.as_ref().expect("answer_psync checked it");
                let (a, b) = backlog.read_from(from).expect("answer_psync checked it");
                r.push(a, inner.replica_hard_limit);
                r.push(b, inner.replica_hard_limit);
                r.set_online();
                inner.replicas.push(r.clone());
                self.syncs.partial_ok.fetch_add(1, Ordering::Relaxed);
                let line = format!("+CONTINUE {}\r\n", inner.ids.replid);
                Attach::Continue(r, line)
            }
        }
    }

    /// Attaches a replica for a full sync at the current offset; returns it with the
    /// replid and offset its snapshot stands for. Call with every slot locked, and take
    /// the snapshot before releasing them.
    pub fn attach_for_full_sync(&self, replica: NewReplica) -> (Arc<AttachedReplica>, String, u64) {
        self.activate();
        self.syncs.full.fetch_add(1, Ordering::Relaxed);
        let mut inner = self.inner.lock();
        let r = replica.build(inner.offset);
        inner.replicas.push(r.clone());
        // The replica loads the snapshot with no database selected.
        inner.stream_db = None;
        (r, inner.ids.replid.clone(), inner.offset)
    }

    /// Detaches a replica (its link closed).
    pub fn detach(&self, client_id: u64) {
        self.inner
            .lock()
            .replicas
            .retain(|r| r.client_id != client_id);
    }

    /// The attached replicas.
    pub fn replicas(&self) -> Vec<Arc<AttachedReplica>> {
        self.inner.lock().replicas.clone()
    }

    /// Records an acknowledgement from a replica, with the offset its AOF has on disk
    /// when it reports one.
    pub fn ack(&self, replica: &AttachedReplica, offset: u64, fack: Option<u64>, now_ms: u64) {
        replica.ack_offset.fetch_max(offset, Ordering::Relaxed);
        if let Some(fack) = fack {
            replica.aof_ack_offset.fetch_max(fack, Ordering::Relaxed);
        }
        replica.ack_time.store(now_ms, Ordering::Relaxed);
        self.acked.notify_waiters();
    }

    /// How many online replicas acknowledged within `max_lag_secs` of `now_ms`, in
    /// whole seconds as Redis counts them (min-replicas-to-write's good replicas).
    pub fn good_replicas(&self, now_ms: u64, max_lag_secs: u64) -> usize {
        let now = now_ms / 1000;
        self.inner
            .lock()
            .replicas
            .iter()
            .filter(|r| r.state() == ReplicaState::Online)
            .filter(|r| {
                now.saturating_sub(r.ack_time.load(Ordering::Relaxed) / 1000) <= max_lag_secs
            })
            .count()
    }

    /// How many online replicas acknowledged at least `offset`.
    pub fn acked_by(&self, offset: u64) -> usize {
        self.inner
            .lock()
            .replicas
            .iter()
            .filter(|r| {
                r.state() == ReplicaState::Online && r.ack_offset.load(Ordering::Relaxed) >= offset
            })
            .count()
    }

    /// How many online replicas reported their AOF fsynced at least to `offset`.
    pub fn aof_acked_by(&self, offset: u64) -> usize {
        self.inner
            .lock()
            .replicas
            .iter()
            .filter(|r| {
                r.state() == ReplicaState::Online
                    && r.aof_ack_offset.load(Ordering::Relaxed) >= offset
            })
            .count()
    }

    /// Completes at the next acknowledgement from any replica.
    pub async fn next_ack(&self) {
        self.acked.notified().await
    }

    /// Becomes a replica of `host:port`: the old replicas are dropped (they must sync
    /// with the new history) and nothing is recorded from this node's own commands.
    pub fn set_role(&self, role: Role) {
        let mut inner = self.inner.lock();
        self.replica
            .store(matches!(role, Role::Replica { .. }), Ordering::Release);
        inner.role = role;
    }

    /// Holds (or lets go) the stream's own traffic during a manual failover.
    pub fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::Relaxed);
    }

    /// Asks every replica for its offset (WAIT), unless paused.
    pub fn request_acks(&self) {
        if !self.paused.load(Ordering::Relaxed) {
            let db = self.inner.lock().stream_db.unwrap_or(0);
            self.feed(db, &[b"REPLCONF", b"GETACK", b"*"]);
        }
    }

    /// True while this node replicates another.
    #[inline]
    pub fn is_replica(&self) -> bool {
        self.replica.load(Ordering::Acquire)
    }

    /// Drops every attached replica (they reconnect and resync).
    pub fn drop_replicas(&self) {
        let replicas = std::mem::take(&mut self.inner.lock().replicas);
        for r in replicas {
            r.overflowed.store(true, Ordering::Relaxed);
            r.ready.notify();
        }
    }

    /// The master's periodic PING to its replicas: keeps their links alive and moves
    /// the offset, without selecting a database.
    pub fn ping(&self) {
        let mut inner = self.inner.lock();
        if self.paused.load(Ordering::Relaxed) {
            return;
        }
        if self.is_active() && !inner.replicas.is_empty() {
            let mut bytes = Vec::new();
            encode_command(&mut bytes, &[b"PING"]);
            inner.append_for_replicas(&bytes);
        }
    }

    /// Records a command for replicas only, as Redis propagates PUBLISH: the
    /// append-only file does not keep it. It selects no database (it needs none), so
    /// the database the stream and the file are on stays as it was.
    pub fn feed_replicas_only(&self, args: &[&[u8]]) {
        let mut inner = self.inner.lock();
        if !self.is_active() {
            return;
        }
        let mut bytes = std::mem::take(&mut inner.scratch);
        bytes.clear();
        encode_command(&mut bytes, args);
        inner.append_for_replicas(&bytes);
        inner.scratch = bytes;
    }

    /// The stream of a new master (a full sync): adopt its replid and offset, with a
    /// fresh backlog there; the old history is gone.
    pub fn reset_to(&self, replid: String, offset: u64) {
        let mut inner = self.inner.lock();
        inner.ids.reset_to(replid);
        inner.offset = offset;
        let size = inner.backlog_size;
        inner.backlog = Some(Backlog::new(size, offset));
        inner.stream_db = None;
        self.active.store(true, Ordering::Release);
    }

    /// The master renamed its stream (`+CONTINUE <new replid>`).
    pub fn follow_renamed(&self, replid: String) {
        let mut inner = self.inner.lock();
        let offset = inner.offset;
        inner.ids.follow_renamed(replid, offset);
    }

    /// DEBUG CHANGE-REPL-ID: the stream gets a new name and forgets its old one, so no
    /// replica can continue it (every replica syncs in full); offset and backlog stay.
    pub fn change_replid(&self, new_replid: String) {
        self.inner.lock().ids = ReplicationIds::new(new_replid);
    }

    /// A promotion: this node starts its own stream, keeping the old one as replid2.
    pub fn promote(&self, new_replid: String) {
        let mut inner = self.inner.lock();
        let offset = inner.offset;
        inner.ids.promote(new_replid, offset);
        inner.role = Role::Master;
        self.replica.store(false, Ordering::Release);
        inner.stream_db = None;
    }

    /// Backlog figures for INFO: (active, size, first byte offset, bytes held).
    pub fn backlog_info(&self) -> (bool, usize, u64, usize) {
        let inner = self.inner.lock();
        match &inner.backlog {
            Some(b) => (true, b.capacity(), b.first_byte_offset(), b.len()),
            None => (false, inner.backlog_size, 0, 0),
        }
    }

    /// Sets the replica class's hard output limit (client-output-buffer-limit): a
    /// replica whose unsent stream reaches it is dropped, and resyncs.
    pub fn set_replica_hard_limit(&self, bytes: usize) {
        self.inner.lock().replica_hard_limit = bytes;
    }

    /// Resizes the backlog (CONFIG SET repl-backlog-size).
    pub fn set_backlog_size(&self, size: usize) {
        let mut inner = self.inner.lock();
        inner.backlog_size = size;
        if let Some(b) = &mut inner.backlog {
            b.resize(size);
        }
    }
}

impl Inner {
    fn append(&mut self, bytes: &[u8]) {
        if let Some(sink) = &self.sink {
            sink.append(bytes, self.offset + bytes.len() as u64);
        }
        self.append_for_replicas(bytes);
    }

    /// Appends what replicas get and the append-only file does not keep: the offset
    /// moves past it all the same, as Redis's replication offset does.
    fn append_for_replicas(&mut self, bytes: &[u8]) {
        self.offset += bytes.len() as u64;
        if let Some(b) = &mut self.backlog {
            b.append(bytes);
        }
        for r in &self.replicas {
            r.push(bytes, self.replica_hard_limit);
        }
    }
}

/// What the master knows of a replica when it attaches.
pub struct NewReplica {
    /// Client id of the connection.
    pub client_id: u64,
    /// IP of the connection.
    pub ip: String,
    /// REPLCONF listening-port.
    pub port: u16,
}

impl NewReplica {
    fn build(self, offset: u64) -> Arc<AttachedReplica> {
        Arc::new(AttachedReplica {
            client_id: self.client_id,
            ip: self.ip,
            port: self.port,
            ack_offset: AtomicU64::new(offset),
            aof_ack_offset: AtomicU64::new(0),
            ack_time: AtomicU64::new(0),
            online: AtomicBool::new(false),
            pending: Mutex::new(Vec::new()),
            ready: Signal::new(),
            overflowed: AtomicBool::new(false),
            queued: AtomicUsize::new(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replica(id: u64) -> NewReplica {
        NewReplica {
            client_id: id,
            ip: "127.0.0.1".into(),
            port: 1,
        }
    }

    #[tokio::test]
    async fn full_sync_then_stream_then_continue() {
        let s = ReplicationStream::new("a".repeat(40), 1 << 16);
        assert_eq!(
            s.feed(0, &[b"SET", b"k", b"v"]),
            0,
            "inactive: nothing recorded"
        );
        let (r, replid, offset) = s.attach_for_full_sync(replica(1));
        assert_eq!((replid.as_str(), offset), ("a".repeat(40).as_str(), 0));
        let after = s.feed(0, &[b"SET", b"k", b"v"]);
        let mut expected = Vec::new();
        encode_command(&mut expected, &[b"SELECT", b"0"]);
        encode_command(&mut expected, &[b"SET", b"k", b"v"]);
        assert_eq!(after, expected.len() as u64);
        assert_eq!(r.next_bytes().await.unwrap(), expected);
        s.detach(1);
        s.feed(0, &[b"DEL", b"k"]);
        // The replica had 0..after; it asks for after+1 and gets just the DEL.
        let Attach::Continue(r2, line) =
            s.try_continue(&"a".repeat(40), after as i64 + 1, replica(2))
        else {
            panic!("partial resync refused");
        };
        assert_eq!(line, format!("+CONTINUE {}\r\n", "a".repeat(40)));
        let mut del = Vec::new();
        encode_command(&mut del, &[b"DEL", b"k"]);
        assert_eq!(r2.next_bytes().await.unwrap(), del);
        assert!(matches!(
            s.try_continue(&"b".repeat(40), 1, replica(3)),
            Attach::Full
        ));
    }

    #[tokio::test]
    async fn a_replica_too_far_behind_is_dropped() {
        let s = ReplicationStream::new("a".repeat(40), 1 << 16);
        s.set_replica_hard_limit(100);
        let (r, _, _) = s.attach_for_full_sync(replica(1));
        for _ in 0..10 {
            s.feed(0, &[b"SET", b"key", b"value"]);
        }
        assert!(r.next_bytes().await.is_none());
    }

    #[test]
    fn acks_count_online_replicas() {
        let s = ReplicationStream::new("a".repeat(40), 1 << 16);
        let (r, _, _) = s.attach_for_full_sync(replica(1));
        s.ack(&r, 10, None, 1);
        assert_eq!(
            s.acked_by(10),
            0,
            "not online until the snapshot is delivered"
        );
        r.set_online();
        assert_eq!(s.acked_by(10), 1);
        assert_eq!(s.acked_by(11), 0);
        assert_eq!(s.aof_acked_by(1), 0, "no FACK, no AOF acknowledgement");
        s.ack(&r, 12, Some(8), 2);
        assert_eq!((s.aof_acked_by(8), s.aof_acked_by(9)), (1, 0));
        s.ack(&r, 12, None, 3);
        assert_eq!(s.aof_acked_by(8), 1, "an ACK alone keeps the last FACK");
    }
}
