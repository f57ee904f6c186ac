//! INFO: the server's self-description, with Redis's sections and field names.
//!
//! Tools parse these fields (redis-cli --cluster reads cluster_enabled and the keyspace
//! lines), so names and formats follow Redis 7.0. Fields for features Tessera does not
//! have yet report what is true of it (no replicas, no saves, no forks).

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::node::Node;

/// Sections printed by a bare INFO or `INFO default`.
const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
];

/// The version Tessera reports as `redis_version`, so that tools gate features on it
/// correctly: Tessera speaks Redis 7.0.
pub const REDIS_VERSION: &str = "7.0.15";

/// Renders the requested sections (empty: the default ones).
pub fn render(node: &Arc<Node>, requested: &[String]) -> String {
    let wanted: Vec<&str> = if requested.is_empty()
        || requested
            .iter()
            .any(|s| matches!(s.as_str(), "default" | "all" | "everything"))
    {
        DEFAULT_SECTIONS.to_vec()
    } else {
        DEFAULT_SECTIONS
            .iter()
            .copied()
            .filter(|s| requested.iter().any(|r| r == s))
            .collect()
    };
    let mut out = String::new();
    for section in wanted {
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        match section {
            "server" => server(node, &mut out),
            "clients" => clients(node, &mut out),
            "memory" => memory(node, &mut out),
            "persistence" => persistence(node, &mut out),
            "stats" => stats(node, &mut out),
            "replication" => replication(node, &mut out),
            "cpu" => cpu(&mut out),
            "modules" => out.push_str("# Modules\r\n"),
            "errorstats" => out.push_str("# Errorstats\r\n"),
            "cluster" => {
                let on = node.config().settings().cluster_enabled;
                let _ = write!(out, "# Cluster\r\ncluster_enabled:{}\r\n", u8::from(on));
            }
            "keyspace" => keyspace(node, &mut out),
            _ => {}
        }
    }
    out
}

fn field(out: &mut String, name: &str, value: impl std::fmt::Display) {
    let _ = write!(out, "{name}:{value}\r\n");
}

/// Bytes as Redis's `_human` fields print them.
pub fn human_bytes(n: u64) -> String {
    let n = n as f64;
    const UNITS: [(&str, f64); 5] = [
        ("P", 1024f64 * 1024.0 * 1024.0 * 1024.0 * 1024.0),
        ("T", 1024f64 * 1024.0 * 1024.0 * 1024.0),
        ("G", 1024f64 * 1024.0 * 1024.0),
        ("M", 1024f64 * 1024.0),
        ("K", 1024f64),
    ];
    for (unit, size) in UNITS {
        if n >= size {
            return format!("{:.2}{unit}", n / size);
        }
    }
    format!("{n}B")
}

fn server(node: &Node, out: &mut String) {
    let settings = node.config().settings();
    let uptime = node.uptime().as_secs();
    out.push_str("# Server\r\n");
    field(out, "redis_version", REDIS_VERSION);
    field(out, "tessera_version", env!("CARGO_PKG_VERSION"));
    field(out, "redis_git_sha1", "00000000");
    field(out, "redis_git_dirty", 0);
    field(out, "redis_build_id", "0");
    field(
        out,
        "redis_mode",
        if settings.cluster_enabled {
            "cluster"
        } else {
            "standalone"
        },
    );
    field(out, "os", os_name());
    field(out, "arch_bits", usize::BITS);
    field(out, "monotonic_clock", "POSIX clock_gettime");
    field(out, "multiplexing_api", "epoll");
    field(out, "atomicvar_api", "c11-builtin");
    field(out, "gcc_version", "0.0.0");
    field(out, "process_id", std::process::id());
    field(out, "process_supervised", "no");
    field(out, "run_id", node.run_id());
    field(out, "tcp_port", node.port());
    field(out, "admin_port", node.admin_port());
    field(out, "server_time_usec", crate::clock::unix_us());
    field(out, "uptime_in_seconds", uptime);
    field(out, "uptime_in_days", uptime / 86400);
    field(out, "hz", settings.hz);
    field(out, "configured_hz", settings.hz);
    field(
        out,
        "lru_clock",
        (crate::clock::unix_ms() / 1000) & ((1 << 24) - 1),
    );
    field(out, "executable", &node.origin().executable);
    field(
        out,
        "config_file",
        node.config().config_file.as_deref().unwrap_or(""),
    );
    field(out, "io_threads_active", 0);
}

fn os_name() -> String {
    // SAFETY: uname fills the zeroed struct it is given; every field is NUL-terminated.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return "unknown".into();
        }
        let text = |f: &[libc::c_char]| {
            std::ffi::CStr::from_ptr(f.as_ptr())
                .to_string_lossy()
                .into_owned()
        };
        format!(
            "{} {} {}",
            text(&u.sysname),
            text(&u.release),
            text(&u.machine)
        )
    }
}

fn clients(node: &Node, out: &mut String) {
    let settings = node.config().settings();
    out.push_str("# Clients\r\n");
    field(out, "connected_clients", node.clients().len());
    field(out, "cluster_connections", 0);
    field(out, "maxclients", settings.maxclients);
    field(
        out,
        "client_recent_max_input_buffer",
        node.clients().biggest_query_buffer(),
    );
    field(out, "client_recent_max_output_buffer", 0);
    field(out, "blocked_clients", node.blocked().len());
    field(out, "tracking_clients", node.tracking().client_count());
    field(out, "clients_in_timeout_table", 0);
}

/// Resident set size of this process, from /proc.
pub fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        // SAFETY: sysconf has no preconditions.
        .map_or(0, |pages| {
            pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64
        })
}

fn total_system_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))?
                .split_whitespace()
                .nth(1)?
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

fn memory(node: &Node, out: &mut String) {
    let m = node.memory();
    let rss = resident_bytes();
    let used = if m.allocated > 0 { m.allocated } else { rss };
    let memory = node.config().settings_guard().memory;
    out.push_str("# Memory\r\n");
    field(out, "used_memory", used);
    field(out, "used_memory_human", human_bytes(used));
    field(out, "used_memory_rss", rss);
    field(out, "used_memory_rss_human", human_bytes(rss));
    field(out, "used_memory_peak", used.max(node.memory_peak(used)));
    field(
        out,
        "used_memory_peak_human",
        human_bytes(node.memory_peak(used)),
    );
    let total = total_system_memory();
    field(out, "total_system_memory", total);
    field(out, "total_system_memory_human", human_bytes(total));
    let scripts = node.scripts().stats();
    field(out, "used_memory_lua", scripts.lua_memory);
    field(out, "used_memory_vm_eval", scripts.lua_memory);
    field(
        out,
        "used_memory_lua_human",
        human_bytes(scripts.lua_memory as u64),
    );
    field(out, "used_memory_scripts_eval", scripts.scripts_memory);
    field(out, "number_of_cached_scripts", scripts.cached);
    let (libraries, functions) = node.scripts().function_counts();
    let (functions_vm, functions_memory) = node.scripts().function_memory();
    let vm_total = scripts.lua_memory + functions_vm;
    let scripts_total = scripts.scripts_memory + functions_memory;
    field(out, "number_of_functions", functions);
    field(out, "number_of_libraries", libraries);
    field(out, "used_memory_vm_functions", functions_vm);
    field(out, "used_memory_vm_total", vm_total);
    field(
        out,
        "used_memory_vm_total_human",
        human_bytes(vm_total as u64),
    );
    field(out, "used_memory_functions", functions_memory);
    field(out, "used_memory_scripts", scripts_total);
    field(
        out,
        "used_memory_scripts_human",
        human_bytes(scripts_total as u64),
    );
    field(out, "allocator_allocated", m.allocated);
    field(out, "allocator_active", m.active);
    field(out, "allocator_resident", m.resident);
    field(out, "maxmemory", memory.maxmemory);
    field(out, "maxmemory_human", human_bytes(memory.maxmemory));
    field(out, "maxmemory_policy", memory.policy.name());
    // Redis leaves replicas' output buffers and the AOF buffer out of the figure it
    // compares with maxmemory; Tessera compares used_memory whole.
    field(out, "mem_not_counted_for_evict", 0);
    field(
        out,
        "mem_fragmentation_ratio",
        format!(
            "{:.2}",
            if used > 0 {
                rss as f64 / used as f64
            } else {
                0.0
            }
        ),
    );
    field(out, "mem_allocator", &node.origin().allocator);
    field(
        out,
        "lazyfree_pending_objects",
        tessera_keyspace::lazyfree::pending(),
    );
}

fn persistence(node: &Node, out: &mut String) {
    let snap = &node.snapshots();
    let (loaded, expired) = *snap.last_load.lock();
    out.push_str("# Persistence\r\n");
    field(out, "loading", u8::from(node.loading().is_active()));
    field(out, "async_loading", 0);
    field(
        out,
        "rdb_changes_since_last_save",
        crate::snapshots::changes_since_save(node),
    );
    field(out, "rdb_bgsave_in_progress", u8::from(snap.in_progress()));
    field(out, "rdb_last_save_time", snap.last_save());
    field(
        out,
        "rdb_last_bgsave_status",
        if snap.last_bgsave_ok() { "ok" } else { "err" },
    );
    field(out, "rdb_last_bgsave_time_sec", snap.last_duration_secs());
    field(out, "rdb_current_bgsave_time_sec", snap.current_secs());
    field(out, "rdb_saves", snap.saves());
    field(out, "rdb_last_load_keys_expired", expired);
    field(out, "rdb_last_load_keys_loaded", loaded);
    if let Some(aof) = &*node.aof() {
        field(out, "aof_enabled", 1);
        for (name, value) in aof.info_fields() {
            field(out, name, value);
        }
        return;
    }
    field(out, "aof_enabled", 0);
    field(out, "aof_rewrite_in_progress", 0);
    field(out, "aof_rewrite_scheduled", 0);
    field(out, "aof_last_rewrite_time_sec", -1);
    field(out, "aof_current_rewrite_time_sec", -1);
    field(out, "aof_last_bgrewrite_status", "ok");
    field(out, "aof_last_write_status", "ok");
}

fn stats(node: &Node, out: &mut String) {
    use std::sync::atomic::Ordering::Relaxed;
    let t = node.traffic();
    let rates = node.stats().rates();
    let ks = node.keyspace().stats();
    out.push_str("# Stats\r\n");
    field(
        out,
        "total_connections_received",
        node.stats().connections_received.load(Relaxed),
    );
    field(out, "total_commands_processed", t.commands);
    field(
        out,
        "instantaneous_ops_per_sec",
        rates.ops_per_sec.round() as u64,
    );
    field(out, "total_net_input_bytes", t.net_input);
    field(out, "total_net_output_bytes", t.net_output);
    field(out, "total_net_repl_input_bytes", 0);
    field(out, "total_net_repl_output_bytes", 0);
    field(
        out,
        "instantaneous_input_kbps",
        format!("{:.2}", rates.input_kbps),
    );
    field(
        out,
        "instantaneous_output_kbps",
        format!("{:.2}", rates.output_kbps),
    );
    field(out, "instantaneous_input_repl_kbps", "0.00");
    field(out, "instantaneous_output_repl_kbps", "0.00");
    field(
        out,
        "rejected_connections",
        node.stats().rejected_connections.load(Relaxed),
    );
    let syncs = &node.replication().syncs;
    let count = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    field(out, "sync_full", count(&syncs.full));
    field(out, "sync_partial_ok", count(&syncs.partial_ok));
    field(out, "sync_partial_err", count(&syncs.partial_err));
    field(out, "expired_keys", ks.expired);
    field(out, "expired_stale_perc", "0.00");
    field(out, "expired_time_cap_reached_count", 0);
    field(out, "evicted_keys", node.eviction().evicted_keys());
    field(
        out,
        "evicted_clients",
        node.stats().evicted_clients.load(Ordering::Relaxed),
    );
    let (total, current) = node.eviction().exceeded_ms();
    field(out, "total_eviction_exceeded_time", total);
    field(out, "current_eviction_exceeded_time", current);
    field(out, "keyspace_hits", ks.hits);
    field(out, "keyspace_misses", ks.misses);
    let (channels, patterns, shard_channels) = node.pubsub().sizes();
    field(out, "pubsub_channels", channels);
    field(out, "pubsub_patterns", patterns);
    field(out, "pubsubshard_channels", shard_channels);
    field(out, "latest_fork_usec", 0);
    field(out, "total_forks", 0);
    field(out, "migrate_cached_sockets", 0);
    let (keys, items, prefixes) = node.tracking().totals();
    field(out, "tracking_total_keys", keys);
    field(out, "tracking_total_items", items);
    field(out, "tracking_total_prefixes", prefixes);
    field(out, "total_error_replies", t.error_replies);
    // The name later Redis versions give this counter (7.0.15 has none), so dashboards
    // and exporters find it.
    field(
        out,
        "acl_access_denied_auth",
        node.stats().auth_failures.total(),
    );
    field(out, "total_reads_processed", 0);
    field(out, "total_writes_processed", 0);
}

fn replication(node: &Node, out: &mut String) {
    use crate::replication::LinkState;
    use std::sync::atomic::Ordering;
    use tessera_replication::{ReplicaState, Role};
    let stream = &node.replication();
    out.push_str("# Replication\r\n");
    let replicas = stream.replicas();
    match stream.role() {
        Role::Master => field(out, "role", "master"),
        Role::Replica { host, port } => {
            let link = node.master_link();
            let state = link.as_ref().map_or(LinkState::Connecting, |l| l.state());
            let offset = stream.offset();
            field(out, "role", "slave");
            field(out, "master_host", &host);
            field(out, "master_port", port);
            field(
                out,
                "master_link_status",
                if state == LinkState::Connected {
                    "up"
                } else {
                    "down"
                },
            );
            field(
                out,
                "master_last_io_seconds_ago",
                link.as_ref().map_or(-1, |l| l.last_io_secs()),
            );
            field(
                out,
                "master_sync_in_progress",
                i32::from(state == LinkState::Transfer),
            );
            field(out, "slave_read_repl_offset", offset);
            field(out, "slave_repl_offset", offset);
            let settings = node.config().settings_guard();
            field(out, "slave_priority", settings.replication.priority);
            field(
                out,
                "slave_read_only",
                i32::from(settings.replication.read_only),
            );
            field(out, "replica_announced", 1);
        }
    }
    field(out, "connected_slaves", replicas.len());
    let now = crate::clock::unix_ms() as u64;
    for (i, r) in replicas.iter().enumerate() {
        let state = match r.state() {
            ReplicaState::SendingSnapshot => "wait_bgsave",
            ReplicaState::Online => "online",
        };
        let acked = r.ack_time.load(Ordering::Relaxed);
        let lag = if acked == 0 {
            0
        } else {
            now.saturating_sub(acked) / 1000
        };
        field(
            out,
            &format!("slave{i}"),
            format!(
                "ip={},port={},state={state},offset={},lag={lag}",
                r.ip,
                r.port,
                r.ack_offset.load(Ordering::Relaxed)
            ),
        );
    }
    let ids = stream.ids();
    let (active, size, first, histlen) = stream.backlog_info();
    field(out, "master_failover_state", "no-failover");
    field(out, "master_replid", &ids.replid);
    field(out, "master_replid2", &ids.replid2);
    field(out, "master_repl_offset", stream.offset());
    field(out, "second_repl_offset", ids.second_offset);
    field(out, "repl_backlog_active", i32::from(active));
    field(out, "repl_backlog_size", size);
    field(out, "repl_backlog_first_byte_offset", first);
    field(out, "repl_backlog_histlen", histlen);
}

fn cpu(out: &mut String) {
    let seconds = |who: i32| {
        // SAFETY: getrusage fills the zeroed struct it is given.
        let usage = unsafe {
            let mut u: libc::rusage = std::mem::zeroed();
            libc::getrusage(who, &mut u);
            u
        };
        let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
        (t(usage.ru_stime), t(usage.ru_utime))
    };
    let (sys, user) = seconds(libc::RUSAGE_SELF);
    let (csys, cuser) = seconds(libc::RUSAGE_CHILDREN);
    out.push_str("# CPU\r\n");
    field(out, "used_cpu_sys", format!("{sys:.6}"));
    field(out, "used_cpu_user", format!("{user:.6}"));
    field(out, "used_cpu_sys_children", format!("{csys:.6}"));
    field(out, "used_cpu_user_children", format!("{cuser:.6}"));
}

fn keyspace(node: &Node, out: &mut String) {
    out.push_str("# Keyspace\r\n");
    for (index, db) in node.keyspace().existing() {
        let keys = db.len();
        if keys > 0 {
            let _ = write!(
                out,
                "db{index}:keys={keys},expires={},avg_ttl=0\r\n",
                db.volatile_len()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_bytes_like_redis() {
        assert_eq!(human_bytes(0), "0B");
        assert_eq!(human_bytes(2053856), "1.96M");
        assert_eq!(human_bytes(1024), "1.00K");
    }
}
