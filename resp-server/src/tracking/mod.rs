//! Client-side caching (CLIENT TRACKING): which clients may hold which keys, and the
//! invalidation pushes their changes send.
//!
//! The table is node-wide, as Redis's (key names only, whatever the database). A read
//! registers its keys before its handler runs: a change on another thread then either
//! comes first (the read sees it, the push is spurious) or after (the push is due), so
//! no change is missed. Nobody tracking costs one relaxed load per change.

mod mode;
mod send;

pub use mode::Mode;

use parking_lot::Mutex;
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::client::{ClientInfo, ClientRegistry};
use send::Payload;

thread_local! {
    /// The client whose command this thread runs (0: none): Redis's current_client,
    /// which NOLOOP and BCAST's per-key writer compare with.
    static CURRENT: Cell<u64> = const { Cell::new(0) };
}

/// Runs `f` with `id` as the current client of this thread.
pub fn with_current<R>(id: u64, f: impl FnOnce() -> R) -> R {
    let before = CURRENT.with(|c| c.replace(id));
    let out = f();
    CURRENT.with(|c| c.set(before));
    out
}

fn current() -> u64 {
    CURRENT.with(Cell::get)
}

/// One BCAST prefix: its clients and the keys changed since the last broadcast, each
/// with the client that changed it last (0: none, as for an expiry).
#[derive(Default)]
struct Prefix {
    clients: Vec<u64>,
    keys: BTreeMap<Vec<u8>, u64>,
}

#[derive(Default)]
struct Table {
    /// Key → ids of the clients that read it. Ids of clients that stopped tracking
    /// stay until the key changes, as in Redis.
    keys: HashMap<Vec<u8>, Vec<u64>>,
    /// Ids in `keys`, summed.
    items: usize,
    prefixes: BTreeMap<Vec<u8>, Prefix>,
    /// Clients with tracking on.
    trackers: HashMap<u64, Arc<ClientInfo>>,
    /// Rounds in a row the table stayed over tracking-table-max-keys.
    over_limit_rounds: usize,
}

/// The node's tracking table.
#[derive(Default)]
pub struct Tracking {
    /// Clients with tracking on: the one load the write path pays.
    clients: AtomicUsize,
    /// BCAST keys wait for the end of the command that changed them.
    pending: AtomicBool,
    table: Mutex<Table>,
}

/// What CLIENT TRACKING ON asks for.
pub struct Enable {
    /// REDIRECT id, 0 for none.
    pub redirect: u64,
    /// BCAST.
    pub bcast: bool,
    /// OPTIN.
    pub optin: bool,
    /// OPTOUT.
    pub optout: bool,
    /// NOLOOP.
    pub noloop: bool,
    /// PREFIX arguments (checked for overlaps already).
    pub prefixes: Vec<Vec<u8>>,
}

impl Tracking {
    /// True when some client tracks.
    #[inline]
    pub fn any(&self) -> bool {
        self.clients.load(Ordering::Relaxed) > 0
    }

    /// INFO's tracking_clients.
    pub fn client_count(&self) -> usize {
        self.clients.load(Ordering::Relaxed)
    }

    /// INFO's (tracking_total_keys, tracking_total_items, tracking_total_prefixes).
    pub fn totals(&self) -> (usize, usize, usize) {
        let t = self.table.lock();
        (t.keys.len(), t.items, t.prefixes.len())
    }

    /// Turns tracking on for `info` (or changes its options, when already on).
    pub fn enable(&self, info: &Arc<ClientInfo>, e: Enable) {
        let mut t = self.table.lock();
        let mut mode = info.tracking.lock();
        if !mode.on {
            self.clients.fetch_add(1, Ordering::Relaxed);
            t.trackers.insert(info.id, info.clone());
        }
        mode.on = true;
        mode.broken = false;
        mode.redirect = e.redirect;
        mode.optin = e.optin;
        mode.optout = e.optout;
        mode.noloop = e.noloop;
        mode.bcast = e.bcast;
        if e.bcast {
            let mut prefixes = e.prefixes;
            if prefixes.is_empty() {
                prefixes.push(Vec::new());
            }
            for p in prefixes {
                let entry = t.prefixes.entry(p.clone()).or_default();
                if !entry.clients.contains(&info.id) {
                    entry.clients.push(info.id);
                }
                mode.prefixes.insert(p);
            }
        }
    }

    /// Turns tracking off for `info` (OFF, RESET, the connection closing).
    pub fn disable(&self, info: &ClientInfo) {
        let mut t = self.table.lock();
        let mut mode = info.tracking.lock();
        for p in std::mem::take(&mut mode.prefixes) {
            if let Some(entry) = t.prefixes.get_mut(&p) {
                entry.clients.retain(|&id| id != info.id);
                if entry.clients.is_empty() {
                    t.prefixes.remove(&p);
                }
            }
        }
        if mode.on {
            self.clients.fetch_sub(1, Ordering::Relaxed);
            t.trackers.remove(&info.id);
        }
        *mode = Mode {
            redirect: mode.redirect,
            ..Mode::default()
        };
    }

    /// Remembers that `id` read `keys`.
    pub fn remember<'k>(&self, id: u64, keys: impl Iterator<Item = &'k [u8]>) {
        let mut t = self.table.lock();
        for key in keys {
            let ids = t.keys.entry(key.to_vec()).or_default();
            if !ids.contains(&id) {
                ids.push(id);
                t.items += 1;
            }
        }
    }

    /// A change to `key`: its readers are told, and BCAST prefixes matching it note it.
    #[inline]
    pub fn invalidate(&self, clients: &ClientRegistry, key: &[u8]) {
        if self.any() {
            self.invalidate_slow(clients, key, true);
        }
    }

    fn invalidate_slow(&self, clients: &ClientRegistry, key: &[u8], bcast: bool) {
        let writer = current();
        let mut t = self.table.lock();
        if bcast {
            let mut noted = false;
            for (p, entry) in t.prefixes.iter_mut() {
                if key.starts_with(p) {
                    entry.keys.insert(key.to_vec(), writer);
                    noted = true;
                }
            }
            if noted {
                self.pending.store(true, Ordering::Relaxed);
            }
        }
        if let Some(ids) = t.keys.remove(key) {
            t.items -= ids.len();
            let payload = Payload::keys(&[key]);
            for id in ids {
                let Some(info) = t.trackers.get(&id) else {
                    continue;
                };
                let mut mode = info.tracking.lock();
                if !mode.on || mode.bcast || (mode.noloop && id == writer) {
                    continue;
                }
                send::send(clients, info, &mut mode, &payload);
            }
        }
        if writer == 0 {
            drop(t);
            self.broadcast(clients);
        }
    }

    /// Sends the BCAST invalidations noted since the last call (Redis sends them once
    /// per event loop; Tessera once per command).
    pub fn broadcast(&self, clients: &ClientRegistry) {
        if !self.pending.swap(false, Ordering::Relaxed) {
            return;
        }
        let mut t = self.table.lock();
        let Table {
            prefixes, trackers, ..
        } = &mut *t;
        for entry in prefixes.values_mut() {
            if entry.keys.is_empty() {
                continue;
            }
            let keys = std::mem::take(&mut entry.keys);
            let all: Vec<&[u8]> = keys.keys().map(Vec::as_slice).collect();
            let payload = Payload::keys(&all);
            for id in &entry.clients {
                let Some(info) = trackers.get(id) else {
                    continue;
                };
                let mut mode = info.tracking.lock();
                if mode.noloop {
                    let own: Vec<&[u8]> = keys
                        .iter()
                        .filter(|(_, w)| *w != id)
                        .map(|(k, _)| k.as_slice())
                        .collect();
                    if !own.is_empty() {
                        send::send(clients, info, &mut mode, &Payload::keys(&own));
                    }
                } else {
                    send::send(clients, info, &mut mode, &payload);
                }
            }
        }
    }

    /// FLUSHDB or FLUSHALL: every tracking client is told that every key changed (a
    /// null), and the table is emptied.
    pub fn flushed(&self, clients: &ClientRegistry) {
        if !self.any() {
            return;
        }
        let mut t = self.table.lock();
        let mut trackers: Vec<&Arc<ClientInfo>> = t.trackers.values().collect();
        trackers.sort_by_key(|c| c.id);
        for info in trackers {
            let mut mode = info.tracking.lock();
            if mode.on {
                let resp3 = info.resp.load(Ordering::Relaxed) >= 3;
                send::send(clients, info, &mut mode, &Payload::null(resp3));
            }
        }
        t.keys.clear();
        t.items = 0;
    }

    /// Keeps the table within tracking-table-max-keys (0: no limit) by invalidating
    /// keys, as if they changed: Redis does this once per event loop, with an effort
    /// that grows while the table stays over.
    pub fn limit(&self, clients: &ClientRegistry, max_keys: usize) {
        if max_keys == 0 || !self.any() {
            return;
        }
        let victims: Vec<Vec<u8>> = {
            let mut t = self.table.lock();
            if t.keys.len() <= max_keys {
                t.over_limit_rounds = 0;
                return;
            }
            let effort = 100 * (t.over_limit_rounds + 1);
            let over = t.keys.len() - max_keys;
            if over > effort {
                t.over_limit_rounds += 1;
            } else {
                t.over_limit_rounds = 0;
            }
            // A HashMap's order is as good as Redis's random walk.
            t.keys.keys().take(over.min(effort)).cloned().collect()
        };
        for key in victims {
            self.invalidate_slow(clients, &key, false);
        }
    }
}
