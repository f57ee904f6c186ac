//! Pub/Sub: the node's registry of subscriptions and each subscribed connection's
//! mailbox. Delivering a message is a plain call ([`Registry::publish`]) that any
//! thread may make: the bus thread for a message from a peer, a connection for
//! PUBLISH, and later keyspace notifications.

mod frames;
mod mailbox;
mod registry;
mod slot;

pub use frames::{Lazy, confirmation, push};
pub use mailbox::{Mailbox, Subscriptions};
pub use registry::{Kind, Registry};
pub use slot::MailboxSlot;

use bytes::Bytes;
use std::sync::Arc;
use tokio::sync::mpsc;

/// A connection's side of its mailbox: created at its first subscription and kept
/// until it closes (pushes may still be on their way after an unsubscription).
pub struct Attached {
    /// The handle the registry holds.
    pub mailbox: Arc<Mailbox>,
    /// What the connection's task drains into its output.
    pub rx: mpsc::UnboundedReceiver<Bytes>,
}

impl Attached {
    /// Moves every push already queued into `out`. They stop counting against the
    /// output limit here: a client that does not read blocks the write of `out`, and
    /// what queues meanwhile is counted.
    pub fn drain_into(&mut self, out: &mut crate::protocol::reply::Reply) {
        let mut n = 0;
        while let Ok(frame) = self.rx.try_recv() {
            n += frame.len();
            out.append_raw(&frame);
        }
        if n > 0 {
            self.mailbox.written(n);
        }
    }

    /// [`Attached::drain_into`] starting with a frame already received.
    pub fn take_into(&mut self, first: Bytes, out: &mut crate::protocol::reply::Reply) {
        self.mailbox.written(first.len());
        out.append_raw(&first);
        self.drain_into(out);
    }

    /// Whether the connection is in subscribed mode (any subscription of any kind).
    pub fn subscribed(&self) -> bool {
        self.mailbox.subscriptions.lock().total() > 0
    }
}
