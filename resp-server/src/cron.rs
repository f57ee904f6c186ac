//! Periodic work: statistics sampling, idle-client timeouts, the failed-authentication
//! summary, the used-memory estimate, the automatic AOF rewrite, active expiry and
//! background eviction.

use std::sync::Arc;
use std::time::{Duration, Instant};
use tessera_keyspace::active_expire::ActiveExpire;

use crate::node::Node;

/// Samples rates every 100 ms and closes idle clients once a second.
pub async fn run(node: Arc<Node>) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ticks = 0u64;
    loop {
        tokio::select! {
            _ = node.shutdown_requested() => return,
            _ = tick.tick() => {}
        }
        ticks += 1;
        // Redis refreshes its cached LRU clock in serverCron, also at one-second
        // resolution: a 100 ms tick keeps the keys' access stamps within a tick of it.
        node.keyspace().set_access_time(crate::clock::unix_ms());
        if node.config().settings_guard().memory.maxmemory > 0 {
            // Bounds the estimate's staleness when few commands run (see
            // Eviction::used).
            node.eviction().refresh(&node);
        }
        crate::client_eviction::evict_clients(&node);
        node.stats()
            .sample(node.traffic(), node.uptime().as_millis() as u64);
        let ping_every = node.config().settings_guard().replication.ping_period_secs * 10;
        if ticks % ping_every == 0 {
            node.replication().ping();
        }
        if ticks % 10 == 0 {
            close_idle_clients(&node);
            node.migrate_targets().close_idle(Instant::now());
            crate::snapshots::run_save_points(&node);
            node.stats().auth_failures.flush();
            node.memory_peak(node.memory().allocated);
            if let Some(aof) = &*node.aof() {
                let s = node.config().settings_guard();
                let (percentage, min_size) =
                    (s.aof.auto_rewrite_percentage, s.aof.auto_rewrite_min_size);
                drop(s);
                aof.maybe_rewrite(&node, percentage, min_size);
            }
        }
    }
}

fn close_idle_clients(node: &Node) {
    let timeout = node.config().settings_guard().timeout_secs;
    if timeout == 0 {
        return;
    }
    for client in node.clients().all() {
        if client.idle_secs() > timeout {
            tracing::debug!(client = %client.addr, "closing idle client");
            client.kill();
        }
    }
}

/// Runs the active expiry cycle on its own thread, `hz` times a second, each run
/// bounded to a quarter of its period, so it never takes a core away from clients for
/// long and never runs on the async workers. The same thread goes on with eviction
/// that a command's pass left unfinished (Redis's evictionTimeProc) or that a change
/// of `maxmemory` calls for, within the same budget.
pub fn spawn_active_expiry(node: Arc<Node>) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("active-expire".into())
        .spawn(move || {
            let mut cycle = ActiveExpire::new();
            let mut random = || rand::random::<u64>();
            while !node.shutting_down() {
                let period = Duration::from_millis(
                    1000 / u64::from(node.config().settings_guard().hz.max(1)),
                );
                let start = Instant::now();
                if node.active_expire_enabled() {
                    let budget = period / 4;
                    cycle.run(
                        node.keyspace(),
                        crate::clock::unix_ms(),
                        &mut random,
                        &mut || start.elapsed() < budget,
                    );
                }
                let budget = period / 4;
                while node.eviction().pending() && start.elapsed() < budget {
                    let memory = node.config().settings_guard().memory;
                    node.eviction().perform(&node, &memory);
                }
                std::thread::sleep(period.saturating_sub(start.elapsed()));
            }
        })
        .expect("spawning a thread")
}
