//! Connected clients: what CLIENT LIST shows and how CLIENT KILL reaches them.
//!
//! Each connection's task owns its private state ([`crate::session::Session`]); the
//! record here holds what other connections may read (name, last command, counters)
//! and the token that asks the task to close.

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicPtr, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use crate::stats::{Counters, Totals};

/// What CLIENT LIST shows before a connection's first command.
static NO_COMMAND: &str = "NULL";

/// The client library a connection declared with CLIENT SETINFO.
#[derive(Debug, Clone, Default)]
pub struct Library {
    /// LIB-NAME.
    pub name: Option<Vec<u8>>,
    /// LIB-VER.
    pub version: Option<Vec<u8>>,
}

/// The shared record of one connection.
#[derive(Debug)]
pub struct ClientInfo {
    /// CLIENT ID.
    pub id: u64,
    /// Peer address.
    pub addr: SocketAddr,
    /// Local address.
    pub laddr: SocketAddr,
    /// Socket descriptor.
    pub fd: i32,
    /// When it connected.
    pub created: Instant,
    /// CLIENT SETNAME.
    pub name: Mutex<Option<Vec<u8>>>,
    /// CLIENT SETINFO LIB-NAME and LIB-VER.
    pub library: Mutex<Library>,
    /// Selected database.
    pub db: AtomicUsize,
    /// Protocol version (2 or 3).
    pub resp: AtomicU8,
    /// Full name of the last command run (points into the static command catalog).
    last_command: AtomicPtr<&'static str>,
    /// Unix time (ms) of the last command.
    pub last_active_ms: AtomicI64,
    /// Bytes of unparsed input.
    pub query_buffer: AtomicUsize,
    /// Traffic of this connection.
    pub counters: Counters,
    /// The connection's socket while it is open, so another task can shut it down.
    /// The serving task clears it (under this lock) before closing the socket, so a
    /// kill can never reach a descriptor number the OS has reused.
    socket: Mutex<Option<RawFd>>,
    /// Blocked on keys (CLIENT LIST flag `b`).
    blocked: std::sync::atomic::AtomicBool,
    /// Subscriptions: channels, patterns, shard channels (CLIENT LIST sub/psub/ssub).
    subscriptions: [std::sync::atomic::AtomicU32; 3],
    /// Pushes queued for this subscriber and not yet written (CLIENT LIST omem).
    pub pending_pushes: AtomicUsize,
    /// Replies of the batch being written and not yet taken by the socket (omem too).
    pub pending_replies: AtomicUsize,
    /// CLIENT NO-EVICT: maxmemory-clients never closes this connection.
    pub no_evict: std::sync::atomic::AtomicBool,
    /// The connection became a replica's link (CLIENT LIST flag `S`; not a normal
    /// client for maxmemory-clients).
    pub replica: std::sync::atomic::AtomicBool,
    /// CLIENT TRACKING's state (read by the connections that invalidate keys).
    pub tracking: Mutex<crate::tracking::Mode>,
    /// The connection's mailbox as other connections find it: where invalidations
    /// redirected to it go.
    pub mailbox: crate::pubsub::MailboxSlot,
}

impl ClientInfo {
    /// Closes the connection from outside its task (CLIENT KILL, timeouts, shutdown).
    ///
    /// Shutting the socket down makes the task's next read end, so the task's loop needs
    /// no second thing to wait on: the hot path stays a plain read.
    pub fn kill(&self) {
        let socket = self.socket.lock();
        if let Some(fd) = *socket {
            // SAFETY: the descriptor is open: the serving task closes it only after
            // clearing it under this lock, which we hold. shutdown has no memory effects.
            unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
        }
    }

    /// Records the command being run (one relaxed store per command: no lock on the
    /// hot path).
    pub fn set_last_command(&self, name: &'static &'static str) {
        self.last_command
            .store(std::ptr::from_ref(name).cast_mut(), Ordering::Relaxed);
    }

    /// The full name of the last command run.
    pub fn last_command(&self) -> &'static str {
        // SAFETY: only pointers to `'static` data are ever stored: the catalog's names
        // and NO_COMMAND.
        unsafe { *self.last_command.load(Ordering::Relaxed) }
    }

    /// CLIENT LIST's flags, in Redis's order: `S` for a replica's link, `P` for a
    /// subscriber, `b` for a blocked client, `t`, `R`, `B` for tracking, `e` for
    /// no-evict; `N` for none.
    fn flags(&self, subs: [u32; 3]) -> String {
        let mut flags = String::new();
        if self.replica.load(Ordering::Relaxed) {
            flags.push('S');
        }
        if subs.iter().any(|&n| n > 0) {
            flags.push('P');
        }
        if self.blocked.load(Ordering::Relaxed) {
            flags.push('b');
        }
        flags.push_str(self.tracking.lock().list_flags());
        if self.no_evict.load(Ordering::Relaxed) {
            flags.push('e');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        flags
    }

    /// Marks the connection blocked on keys, or not.
    pub fn set_blocked(&self, blocked: bool) {
        self.blocked.store(blocked, Ordering::Relaxed);
    }

    /// Records what the connection is subscribed to, for CLIENT LIST and INFO.
    pub fn set_subscriptions(&self, subs: &crate::pubsub::Subscriptions) {
        let counts = [subs.channels.len(), subs.patterns.len(), subs.shard.len()];
        for (slot, n) in self.subscriptions.iter().zip(counts) {
            slot.store(n as u32, Ordering::Relaxed);
        }
    }

    /// (channels, patterns, shard channels) this connection is subscribed to.
    pub fn subscription_counts(&self) -> [u32; 3] {
        [0, 1, 2].map(|i| self.subscriptions[i].load(Ordering::Relaxed))
    }

    /// Called by the serving task just before it closes the socket.
    pub fn detach_socket(&self) {
        *self.socket.lock() = None;
    }

    /// Seconds since the last command.
    pub fn idle_secs(&self) -> u64 {
        let now = crate::clock::unix_ms();
        (now - self.last_active_ms.load(Ordering::Relaxed)).max(0) as u64 / 1000
    }

    /// Records activity at `now_ms` (Unix ms).
    pub fn touch(&self, now_ms: i64) {
        self.last_active_ms.store(now_ms, Ordering::Relaxed);
    }

    /// Bytes of output queued and not yet written (CLIENT LIST omem).
    pub fn output_memory(&self) -> usize {
        self.pending_pushes.load(Ordering::Relaxed) + self.pending_replies.load(Ordering::Relaxed)
    }

    /// What the connection holds, as CLIENT LIST's tot-mem and maxmemory-clients count
    /// it: its query buffer, its reply buffer and its queued output.
    pub fn memory(&self) -> usize {
        self.query_buffer.load(Ordering::Relaxed) + REPLY_BUFFER + self.output_memory()
    }

    /// One CLIENT LIST line, without the trailing newline.
    pub fn describe(&self) -> String {
        let name = self.name.lock().clone().unwrap_or_default();
        let library = self.library.lock().clone();
        let qbuf = self.query_buffer.load(Ordering::Relaxed);
        let subs = self.subscription_counts();
        let omem = self.output_memory();
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi=-1 \
             qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl=0 oll=0 omem={} tot-mem={} \
             events=r cmd={} user=default redir={} resp={} lib-name={} lib-ver={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            String::from_utf8_lossy(&name),
            self.created.elapsed().as_secs(),
            self.idle_secs(),
            self.flags(subs),
            self.db.load(Ordering::Relaxed),
            subs[0],
            subs[1],
            subs[2],
            qbuf,
            16384usize.saturating_sub(qbuf),
            omem,
            qbuf + REPLY_BUFFER + omem,
            self.last_command(),
            self.tracking.lock().redir(),
            self.resp.load(Ordering::Relaxed),
            String::from_utf8_lossy(library.name.as_deref().unwrap_or_default()),
            String::from_utf8_lossy(library.version.as_deref().unwrap_or_default()),
        )
    }
}

/// The reply buffer every connection is counted with (Redis's 16 kB static buffer).
const REPLY_BUFFER: usize = 16384;

/// Every connected client.
#[derive(Debug, Default)]
pub struct ClientRegistry {
    clients: Mutex<BTreeMap<u64, Arc<ClientInfo>>>,
    next_id: AtomicU64,
}

impl ClientRegistry {
    /// An empty registry; ids start at 1.
    pub fn new() -> ClientRegistry {
        ClientRegistry {
            clients: Mutex::new(BTreeMap::new()),
            next_id: AtomicU64::new(1),
        }
    }

    /// Registers a new connection on socket `fd`.
    pub fn register(&self, addr: SocketAddr, laddr: SocketAddr, fd: RawFd) -> Arc<ClientInfo> {
        let info = Arc::new(ClientInfo {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            addr,
            laddr,
            fd,
            created: Instant::now(),
            name: Mutex::new(None),
            library: Mutex::new(Library::default()),
            db: AtomicUsize::new(0),
            resp: AtomicU8::new(2),
            last_command: AtomicPtr::new(std::ptr::from_ref(&NO_COMMAND).cast_mut()),
            last_active_ms: AtomicI64::new(crate::clock::unix_ms()),
            query_buffer: AtomicUsize::new(0),
            counters: Counters::default(),
            socket: Mutex::new(Some(fd)),
            blocked: Default::default(),
            subscriptions: Default::default(),
            pending_pushes: AtomicUsize::new(0),
            pending_replies: AtomicUsize::new(0),
            no_evict: Default::default(),
            replica: Default::default(),
            tracking: Mutex::default(),
            mailbox: Default::default(),
        });
        self.clients.lock().insert(info.id, info.clone());
        info
    }

    /// Removes a connection that has closed, returning its final counters.
    pub fn unregister(&self, id: u64) -> Option<Totals> {
        self.clients
            .lock()
            .remove(&id)
            .map(|c| c.counters.snapshot())
    }

    /// The client with `id`, if connected.
    pub fn get(&self, id: u64) -> Option<Arc<ClientInfo>> {
        self.clients.lock().get(&id).cloned()
    }

    /// Number of connected clients.
    pub fn len(&self) -> usize {
        self.clients.lock().len()
    }

    /// True when nobody is connected.
    pub fn is_empty(&self) -> bool {
        self.clients.lock().is_empty()
    }

    /// A snapshot of every client, in id order.
    pub fn all(&self) -> Vec<Arc<ClientInfo>> {
        self.clients.lock().values().cloned().collect()
    }

    /// The counters of every connected client, summed.
    pub fn live_totals(&self) -> Totals {
        let mut t = Totals::default();
        for c in self.clients.lock().values() {
            t += c.counters.snapshot();
        }
        t
    }

    /// Zeroes the counters of every connected client (CONFIG RESETSTAT).
    pub fn reset_counters(&self) {
        for c in self.clients.lock().values() {
            c.counters.reset();
        }
    }

    /// The largest unparsed input of any client.
    pub fn biggest_query_buffer(&self) -> usize {
        self.clients
            .lock()
            .values()
            .map(|c| c.query_buffer.load(Ordering::Relaxed))
            .max()
            .unwrap_or(0)
    }
}
