//! maxmemory-clients: when the connections together hold more memory than allowed, the
//! biggest are closed until they hold less, as Redis's client eviction does.
//!
//! Redis counts the memory of every normal and pubsub connection against the limit, and
//! evicts only those that may be evicted (not CLIENT NO-EVICT ones, not replicas),
//! largest first. The choice is a pure function of the connections' sizes; the cron
//! applies it.

use std::sync::atomic::Ordering;

use crate::node::Node;

/// One connection as the rule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientMemory {
    /// Its client id.
    pub id: u64,
    /// Bytes it holds.
    pub bytes: usize,
    /// Whether it may be closed (not NO-EVICT).
    pub evictable: bool,
}

/// The ids to close, biggest first, so the connections that stay hold less than
/// `limit` bytes; when even closing every evictable one is not enough, all of them.
pub fn clients_to_evict(limit: u64, clients: &[ClientMemory]) -> Vec<u64> {
    let mut total: u64 = clients.iter().map(|c| c.bytes as u64).sum();
    if total < limit {
        return Vec::new();
    }
    let mut candidates: Vec<&ClientMemory> = clients.iter().filter(|c| c.evictable).collect();
    candidates.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.id.cmp(&b.id)));
    let mut evict = Vec::new();
    for c in candidates {
        if total < limit {
            break;
        }
        total -= c.bytes as u64;
        evict.push(c.id);
    }
    evict
}

/// Closes the connections maxmemory-clients calls for (the cron calls this).
pub fn evict_clients(node: &Node) {
    let Some(limit) = node
        .config()
        .settings_guard()
        .memory
        .client_eviction_limit()
    else {
        return;
    };
    // Replicas' links are another class: neither counted nor evicted.
    let clients: Vec<_> = node
        .clients()
        .all()
        .into_iter()
        .filter(|c| !c.replica.load(Ordering::Relaxed))
        .collect();
    let sizes: Vec<ClientMemory> = clients
        .iter()
        .map(|c| ClientMemory {
            id: c.id,
            bytes: c.memory(),
            evictable: !c.no_evict.load(Ordering::Relaxed),
        })
        .collect();
    let evict = clients_to_evict(limit, &sizes);
    for client in clients.iter().filter(|c| evict.contains(&c.id)) {
        tracing::info!(client = %client.describe(), "Evicting client");
        client.kill();
        node.stats().evicted_clients.fetch_add(1, Ordering::Relaxed);
    }
    let left: u64 = sizes
        .iter()
        .filter(|c| !evict.contains(&c.id))
        .map(|c| c.bytes as u64)
        .sum();
    if left >= limit {
        tracing::warn!(
            left,
            limit,
            "Over client maxmemory after evicting all evictable clients"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(id: u64, bytes: usize, evictable: bool) -> ClientMemory {
        ClientMemory {
            id,
            bytes,
            evictable,
        }
    }

    #[test]
    fn the_biggest_go_first_until_the_rest_fit() {
        let clients = [
            client(1, 100, true),
            client(2, 500, true),
            client(3, 300, true),
            client(4, 50, true),
        ];
        assert_eq!(clients_to_evict(1000, &clients), Vec::<u64>::new());
        assert_eq!(clients_to_evict(900, &clients), [2]);
        assert_eq!(clients_to_evict(400, &clients), [2, 3]);
    }

    #[test]
    fn no_evict_clients_count_but_stay() {
        let clients = [client(1, 800, false), client(2, 100, true)];
        // Even closing every evictable one leaves too much: they all go.
        assert_eq!(clients_to_evict(500, &clients), [2]);
        assert_eq!(clients_to_evict(1000, &clients), Vec::<u64>::new());
    }
}
