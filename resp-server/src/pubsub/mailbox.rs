//! A subscriber's handle: how another connection's thread pushes a message into this
//! connection's output, and what this connection is subscribed to.

use bytes::Bytes;
use parking_lot::Mutex;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::mpsc;

use crate::client::ClientInfo;
use crate::protocol::output_limit::{OutputLimit, SoftLimitClock};

/// What one connection is subscribed to, each list in subscription order (Redis
/// answers a mass unsubscribe in its own dict order; clients only rely on the set).
#[derive(Debug, Default, Clone)]
pub struct Subscriptions {
    /// SUBSCRIBE channels.
    pub channels: Vec<Vec<u8>>,
    /// PSUBSCRIBE patterns.
    pub patterns: Vec<Vec<u8>>,
    /// SSUBSCRIBE shard channels.
    pub shard: Vec<Vec<u8>>,
}

impl Subscriptions {
    /// Channels plus patterns: the count SUBSCRIBE and PSUBSCRIBE confirmations carry.
    pub fn count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    /// Every subscription of any kind.
    pub fn total(&self) -> usize {
        self.count() + self.shard.len()
    }
}

/// One subscribed connection, as the registry and publishers see it.
#[derive(Debug)]
pub struct Mailbox {
    /// The connection's record (its id; kill when over the output limit).
    pub info: Arc<ClientInfo>,
    /// The connection speaks RESP3: pushes are `>` frames.
    resp3: AtomicBool,
    /// Where pushes go; the connection's task drains it.
    tx: mpsc::UnboundedSender<Bytes>,
    /// How long the queued pushes have been over the soft limit.
    soft_limit: SoftLimitClock,
    /// Closed for going over the output limit: nothing more is queued.
    closed: AtomicBool,
    /// What this connection is subscribed to (the registry changes it too, when a slot
    /// leaves the node and its shard channels go).
    pub subscriptions: Mutex<Subscriptions>,
}

impl Mailbox {
    /// A mailbox for a connection, and the receiving end its task selects on.
    pub fn new(
        info: Arc<ClientInfo>,
        resp3: bool,
    ) -> (Arc<Mailbox>, mpsc::UnboundedReceiver<Bytes>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let mailbox = Mailbox {
            info,
            resp3: AtomicBool::new(resp3),
            tx,
            soft_limit: SoftLimitClock::default(),
            closed: AtomicBool::new(false),
            subscriptions: Mutex::new(Subscriptions::default()),
        };
        (Arc::new(mailbox), rx)
    }

    /// The connection's client id.
    pub fn id(&self) -> u64 {
        self.info.id
    }

    /// Whether pushes must be RESP3.
    pub fn resp3(&self) -> bool {
        self.resp3.load(Ordering::Relaxed)
    }

    /// Follows HELLO and RESET.
    pub fn set_resp3(&self, resp3: bool) {
        self.resp3.store(resp3, Ordering::Relaxed);
    }

    /// Queues a frame for the connection; past the output limit, the connection is
    /// closed instead (Redis's client-output-buffer-limit for the pubsub class).
    pub fn deliver(&self, frame: Bytes, limit: OutputLimit, now_ms: i64) {
        if self.closed.load(Ordering::Relaxed) {
            return;
        }
        let queued = self
            .info
            .pending_pushes
            .fetch_add(frame.len(), Ordering::Relaxed)
            + frame.len();
        if self.soft_limit.must_close(limit, queued, now_ms) {
            self.closed.store(true, Ordering::Relaxed);
            tracing::warn!(client = %self.info.addr, queued, "closing pubsub client over its output buffer limit");
            self.info.kill();
            return;
        }
        // A closed receiver means the connection is going: the frame has no reader.
        let _ = self.tx.send(frame);
    }

    /// The connection wrote `n` queued bytes to its socket.
    pub fn written(&self, n: usize) {
        self.info.pending_pushes.fetch_sub(n, Ordering::Relaxed);
    }

    /// Bytes queued and not yet written (CLIENT LIST's omem of a subscriber).
    pub fn queued(&self) -> usize {
        self.info.pending_pushes.load(Ordering::Relaxed)
    }
}
