//! Clients blocked on keys (BLPOP, BZPOPMIN, BLMOVE ...): who waits on which key, in
//! arrival order.
//!
//! A waiter is registered with its keys' slots locked, and served by whoever makes one
//! of its keys non-empty, from that slot's table while it is still locked (see
//! `tessera_keyspace::ReadyHook`). Serving, a timeout, CLIENT UNBLOCK and a slot
//! leaving the node all race to end a wait: each ends it by removing the waiter under
//! the registry's lock, so exactly one of them wins and tells the client.

use std::collections::{BTreeMap, HashMap, VecDeque};

use parking_lot::Mutex;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::oneshot;

/// How a wait ended, as the blocked connection learns it.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Served: the encoded reply, in the client's protocol.
    Reply(Vec<u8>),
    /// A BLMOVE whose destination lives in another slot: the element was popped and
    /// the waiter pushes it there itself (the server could not lock that slot), or
    /// back into the source if the destination turns out to be of another type.
    Moved(Vec<u8>),
    /// The timeout passed, or CLIENT UNBLOCK TIMEOUT.
    Timeout,
    /// An error reply (CLIENT UNBLOCK ERROR, MOVED, UNBLOCKED ...), without `-`.
    Error(String),
}

/// What a serving pass decided for one waiter.
pub enum Verdict {
    /// The waiter was served: end its wait with this.
    Serve(Outcome),
    /// The key cannot serve this waiter (empty, or of another type): try the next.
    Skip,
}

/// One blocked client.
#[derive(Debug)]
pub struct Waiter<Op> {
    /// CLIENT ID.
    pub client: u64,
    /// The database of its keys.
    pub db: usize,
    /// Its keys with their slots, in the order given.
    pub keys: Vec<(u16, Vec<u8>)>,
    /// What to do for it once a key is ready.
    pub op: Op,
}

struct Entry<Op> {
    waiter: Waiter<Op>,
    tx: oneshot::Sender<Outcome>,
}

struct Inner<Op> {
    next: u64,
    /// (db, slot) -> key -> waiter tokens in arrival order.
    slots: HashMap<(usize, u16), BTreeMap<Vec<u8>, VecDeque<u64>>>,
    waiters: HashMap<u64, Entry<Op>>,
}

/// The waiters of a node.
pub struct Registry<Op> {
    inner: Mutex<Inner<Op>>,
    /// How many wait, changed under `inner`'s lock: what the keyspace checks before
    /// calling its ready hook.
    count: Arc<AtomicUsize>,
}

impl<Op> Default for Registry<Op> {
    fn default() -> Self {
        Registry {
            inner: Mutex::new(Inner {
                next: 0,
                slots: HashMap::new(),
                waiters: HashMap::new(),
            }),
            count: Arc::default(),
        }
    }
}

impl<Op> Inner<Op> {
    /// Removes `token` from the registry and every key's queue.
    fn take(&mut self, token: u64) -> Option<Entry<Op>> {
        let entry = self.waiters.remove(&token)?;
        let db = entry.waiter.db;
        for (slot, key) in &entry.waiter.keys {
            let Some(keys) = self.slots.get_mut(&(db, *slot)) else {
                continue;
            };
            if let Some(queue) = keys.get_mut(key) {
                queue.retain(|&t| t != token);
                if queue.is_empty() {
                    keys.remove(key);
                }
            }
            if keys.is_empty() {
                self.slots.remove(&(db, *slot));
            }
        }
        Some(entry)
    }
}

impl<Op> Registry<Op> {
    /// Adds a waiter at the end of each of its keys' queues; answers its token and
    /// where its outcome will arrive.
    pub fn register(&self, waiter: Waiter<Op>) -> (u64, oneshot::Receiver<Outcome>) {
        let (tx, rx) = oneshot::channel();
        let mut inner = self.inner.lock();
        inner.next += 1;
        let token = inner.next;
        for (slot, key) in &waiter.keys {
            let queue = inner
                .slots
                .entry((waiter.db, *slot))
                .or_default()
                .entry(key.clone())
                .or_default();
            // BLPOP k k: one place in the queue is enough.
            if !queue.contains(&token) {
                queue.push_back(token);
            }
        }
        inner.waiters.insert(token, Entry { waiter, tx });
        self.count.fetch_add(1, Ordering::AcqRel);
        (token, rx)
    }

    /// Ends the wait of `token` without telling it (its own timeout, or its connection
    /// went away); true when it was still waiting (the caller won the race).
    pub fn cancel(&self, token: u64) -> bool {
        self.take(&mut self.inner.lock(), token).is_some()
    }

    /// Removes `token`, keeping the count.
    fn take(&self, inner: &mut Inner<Op>, token: u64) -> Option<Entry<Op>> {
        let entry = inner.take(token);
        if entry.is_some() {
            self.count.fetch_sub(1, Ordering::AcqRel);
        }
        entry
    }

    /// The count of waiters the keyspace's ready hook is gated on.
    pub fn counter(&self) -> Arc<AtomicUsize> {
        self.count.clone()
    }

    /// Ends the wait of `token` with `outcome`; true when it was still waiting.
    pub fn finish(&self, token: u64, outcome: Outcome) -> bool {
        let entry = self.take(&mut self.inner.lock(), token);
        entry.map(|e| e.tx.send(outcome)).is_some()
    }

    /// CLIENT UNBLOCK: ends the wait of client `client`, if it waits.
    pub fn unblock_client(&self, client: u64, outcome: Outcome) -> bool {
        let mut inner = self.inner.lock();
        let token = inner
            .waiters
            .iter()
            .find(|(_, e)| e.waiter.client == client)
            .map(|(&t, _)| t);
        let entry = token.and_then(|t| self.take(&mut inner, t));
        drop(inner);
        entry.map(|e| e.tx.send(outcome)).is_some()
    }

    /// How many clients wait.
    pub fn len(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// True when nobody waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Offers every key of `(db, slot)` that has waiters to them, first come first
    /// served: `serve` sees each waiter with the key and decides. Answers how many
    /// were served. Call with the slot's table locked (and captured by `serve`).
    pub fn serve(
        &self,
        db: usize,
        slot: u16,
        mut serve: impl FnMut(&Waiter<Op>, &[u8]) -> Verdict,
    ) -> usize {
        let mut inner = self.inner.lock();
        let Some(keys) = inner.slots.get(&(db, slot)) else {
            return 0;
        };
        let pending: Vec<(Vec<u8>, Vec<u64>)> = keys
            .iter()
            .map(|(k, q)| (k.clone(), q.iter().copied().collect()))
            .collect();
        let mut served = 0;
        for (key, tokens) in pending {
            for token in tokens {
                // Served through an earlier key of this pass: gone already.
                let Some(entry) = inner.waiters.get(&token) else {
                    continue;
                };
                if let Verdict::Serve(outcome) = serve(&entry.waiter, &key) {
                    if let Some(entry) = self.take(&mut inner, token) {
                        let _ = entry.tx.send(outcome);
                        served += 1;
                    }
                }
            }
        }
        served
    }

    /// Ends every wait with `outcome` (the node turned replica); answers how many.
    pub fn finish_all(&self, outcome: impl Fn() -> Outcome) -> usize {
        let mut inner = self.inner.lock();
        let tokens: Vec<u64> = inner.waiters.keys().copied().collect();
        let mut n = 0;
        for token in tokens {
            if let Some(entry) = self.take(&mut inner, token) {
                let _ = entry.tx.send(outcome());
                n += 1;
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiter(client: u64, keys: &[&str]) -> Waiter<u64> {
        Waiter {
            client,
            db: 0,
            keys: keys.iter().map(|k| (0, k.as_bytes().to_vec())).collect(),
            op: client,
        }
    }

    /// Serves every waiter while `stock` lasts, recording who got what.
    fn serve_stock(r: &Registry<u64>, stock: &mut usize, got: &mut Vec<u64>) -> usize {
        r.serve(0, 0, |w, _| {
            if *stock == 0 {
                return Verdict::Skip;
            }
            *stock -= 1;
            got.push(w.op);
            Verdict::Serve(Outcome::Reply(vec![w.op as u8]))
        })
    }

    #[test]
    fn serves_in_arrival_order_while_elements_last() {
        let r = Registry::default();
        let mut rx: Vec<_> = (1..=3).map(|c| r.register(waiter(c, &["k"])).1).collect();
        let (mut stock, mut got) = (2, Vec::new());
        assert_eq!(serve_stock(&r, &mut stock, &mut got), 2);
        assert_eq!(got, vec![1, 2]);
        assert_eq!(rx[0].try_recv(), Ok(Outcome::Reply(vec![1])));
        assert_eq!(rx[1].try_recv(), Ok(Outcome::Reply(vec![2])));
        assert!(rx[2].try_recv().is_err());
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn a_waiter_on_two_keys_is_served_once() {
        let r = Registry::default();
        let (_, mut rx) = r.register(waiter(1, &["a", "b"]));
        let (mut stock, mut got) = (5, Vec::new());
        assert_eq!(serve_stock(&r, &mut stock, &mut got), 1);
        assert_eq!(got, vec![1]);
        assert!(rx.try_recv().is_ok());
        assert!(r.is_empty());
        assert_eq!(r.serve(0, 0, |_, _| Verdict::Skip), 0);
    }

    #[test]
    fn exactly_one_way_out_wins() {
        let r = Registry::default();
        let (token, mut rx) = r.register(waiter(7, &["k"]));
        assert!(r.cancel(token));
        assert!(!r.cancel(token));
        assert!(!r.finish(token, Outcome::Timeout));
        assert!(!r.unblock_client(7, Outcome::Timeout));
        let (mut stock, mut got) = (1, Vec::new());
        assert_eq!(serve_stock(&r, &mut stock, &mut got), 0);
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn unblock_reaches_the_named_client_only() {
        let r = Registry::default();
        let (_, mut a) = r.register(waiter(1, &["k"]));
        let (_, mut b) = r.register(waiter(2, &["k"]));
        assert!(r.unblock_client(2, Outcome::Error("UNBLOCKED x".into())));
        assert!(!r.unblock_client(3, Outcome::Timeout));
        assert_eq!(b.try_recv(), Ok(Outcome::Error("UNBLOCKED x".into())));
        assert!(a.try_recv().is_err());
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn skipped_waiters_keep_their_place() {
        let r = Registry::default();
        let _a = r.register(waiter(1, &["k"]));
        let _b = r.register(waiter(2, &["k"]));
        // The first waits for another type: the second is served, the first stays.
        let served = r.serve(0, 0, |w, _| match w.op {
            1 => Verdict::Skip,
            _ => Verdict::Serve(Outcome::Timeout),
        });
        assert_eq!(served, 1);
        assert_eq!(r.len(), 1);
        assert!(r.unblock_client(1, Outcome::Timeout));
    }
}
