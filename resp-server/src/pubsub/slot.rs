//! Where other connections find a connection's mailbox: a tracking client's REDIRECT
//! target may be a RESP3 connection that never subscribed, so the mailbox is then made
//! for it, and it takes it at its next request (a plain read stays its hot path).

use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use super::{Attached, Mailbox};
use crate::client::ClientInfo;

#[derive(Default)]
struct Inner {
    /// The mailbox in use, if any.
    current: Weak<Mailbox>,
    /// One made for the connection and not yet taken by it.
    made: Option<Attached>,
    /// The connection is closing: nothing more is made for it.
    closed: bool,
}

/// A connection's mailbox as others see it.
#[derive(Default)]
pub struct MailboxSlot {
    inner: Mutex<Inner>,
    /// `made` holds one: what the connection checks, with one relaxed load.
    waiting: AtomicBool,
}

impl std::fmt::Debug for MailboxSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailboxSlot")
            .field("waiting", &self.waiting.load(Ordering::Relaxed))
            .finish()
    }
}

impl MailboxSlot {
    /// The connection's mailbox, if it has one.
    pub fn get(&self) -> Option<Arc<Mailbox>> {
        self.inner.lock().current.upgrade()
    }

    /// The connection's mailbox, made now if it has none (for `info`'s connection);
    /// none once it is closing.
    pub fn get_or_make(&self, info: &Arc<ClientInfo>, resp3: bool) -> Option<Arc<Mailbox>> {
        let mut inner = self.inner.lock();
        if let Some(m) = inner.current.upgrade() {
            return Some(m);
        }
        if inner.closed {
            return None;
        }
        let (mailbox, rx) = Mailbox::new(info.clone(), resp3);
        inner.current = Arc::downgrade(&mailbox);
        inner.made = Some(Attached {
            mailbox: mailbox.clone(),
            rx,
        });
        self.waiting.store(true, Ordering::Relaxed);
        Some(mailbox)
    }

    /// The connection takes its mailbox: the one made for it, or a new one.
    pub fn attach(&self, info: &Arc<ClientInfo>, resp3: bool) -> Attached {
        let mut inner = self.inner.lock();
        if let Some(made) = inner.made.take() {
            self.waiting.store(false, Ordering::Relaxed);
            made.mailbox.set_resp3(resp3);
            return made;
        }
        let (mailbox, rx) = Mailbox::new(info.clone(), resp3);
        inner.current = Arc::downgrade(&mailbox);
        Attached { mailbox, rx }
    }

    /// The connection is closing: a mailbox made for it and not taken is dropped (it
    /// refers to the connection's record), and none is made again.
    pub fn close(&self) {
        let mut inner = self.inner.lock();
        inner.closed = true;
        inner.made = None;
        self.waiting.store(false, Ordering::Relaxed);
    }

    /// A mailbox made for the connection and not yet taken.
    pub fn take_made(&self) -> Option<Attached> {
        if !self.waiting.load(Ordering::Relaxed) {
            return None;
        }
        self.waiting.store(false, Ordering::Relaxed);
        self.inner.lock().made.take()
    }
}
