//! The typed view of the configuration that the server reads on its hot paths.

use super::ConfigValues;
use tessera_keyspace::EncodingLimits;
use tessera_keyspace::rdb::ReadLimits;

/// Where DEBUG (and other dangerous commands) may be used from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebugCommand {
    /// Nowhere.
    No,
    /// From any connection.
    Yes,
    /// Only from loopback connections.
    Local,
}

/// The append-only file's settings.
#[derive(Debug, Clone)]
pub struct AofSettings {
    /// appendonly.
    pub enabled: bool,
    /// appenddirname, inside `dir`.
    pub dirname: String,
    /// appendfilename: the prefix of every file in the directory.
    pub filename: String,
    /// appendfsync: always, everysec or no.
    pub fsync: String,
    /// aof-load-truncated: a torn last command is cut off at load instead of stopping.
    pub load_truncated: bool,
    /// aof-timestamp-enabled: `#TS:` annotations, one per second with changes.
    pub timestamps: bool,
    /// aof-disable-auto-gc: files a rewrite made history stay (listed as history).
    pub disable_auto_gc: bool,
    /// aof-rewrite-incremental-fsync: a rewrite's base is fsynced every 4 MB it writes.
    pub incremental_fsync: bool,
    /// no-appendfsync-on-rewrite: while a rewrite runs, writes are not fsynced (and
    /// `always` replies do not wait for a fsync), as Redis trades it.
    pub no_fsync_on_rewrite: bool,
    /// auto-aof-rewrite-percentage (0: never automatically).
    pub auto_rewrite_percentage: u64,
    /// auto-aof-rewrite-min-size.
    pub auto_rewrite_min_size: u64,
    /// aof-use-rdb-preamble: a rewrite's base is an RDB snapshot (`.base.rdb`), else
    /// the commands that rebuild the data (`.base.aof`).
    pub rdb_preamble: bool,
}

/// Typed settings derived from [`ConfigValues`].
#[derive(Debug, Clone)]
pub struct Settings {
    /// Client port (0: none).
    pub port: u16,
    /// admin-port as configured: -1 for the default, 0 for none; see
    /// [`Settings::admin_port_for`].
    pub admin_port: i64,
    /// busy-reply-threshold (alias lua-time-limit): how long, in ms, a script runs
    /// before other clients get BUSY.
    pub busy_reply_threshold_ms: i64,
    /// Addresses to listen on; a leading `-` marks one that may fail to bind.
    pub bind: Vec<String>,
    /// Working directory.
    pub dir: String,
    /// The default user's password, if any.
    pub requirepass: Option<Vec<u8>>,
    /// Maximum simultaneous clients.
    pub maxclients: usize,
    /// Idle seconds before a client is closed (0: never).
    pub timeout_secs: u64,
    /// TCP keepalive interval in seconds (0: off).
    pub tcp_keepalive_secs: u64,
    /// Log verbosity: debug, verbose, notice or warning.
    pub loglevel: String,
    /// Log file ("" for standard output).
    pub logfile: String,
    /// Whether to detach from the terminal.
    pub daemonize: bool,
    /// Where to write the process id ("" for nowhere).
    pub pidfile: String,
    /// Refuse non-loopback clients (RESP and admin plane) while there is no password.
    pub protected_mode: bool,
    /// Largest bulk string a client may send.
    pub proto_max_bulk_len: usize,
    /// Largest unparsed input a client may accumulate.
    pub client_query_buffer_limit: usize,
    /// client-output-buffer-limit, per class of client.
    pub output_limits: crate::protocol::output_limit::OutputLimits,
    /// notify-keyspace-events, as flags (see [`crate::notify`]).
    pub notify_classes: crate::notify::Class,
    /// tracking-table-max-keys: the most keys CLIENT TRACKING remembers (0: no limit).
    pub tracking_table_max_keys: usize,
    /// Number of logical databases.
    pub databases: usize,
    /// Background task frequency, per second.
    pub hz: u32,
    /// Cluster mode.
    pub cluster_enabled: bool,
    /// DEL frees big values in the background, as UNLINK.
    pub lazyfree_lazy_user_del: bool,
    /// FLUSHALL / FLUSHDB without SYNC or ASYNC free in the background.
    pub lazyfree_lazy_user_flush: bool,
    /// Expired keys' big values are freed in the background.
    pub lazyfree_lazy_expire: bool,
    /// Values replaced or deleted implicitly are freed in the background.
    pub lazyfree_lazy_server_del: bool,
    /// Listen backlog.
    pub tcp_backlog: u32,
    /// Who may run DEBUG.
    pub enable_debug_command: DebugCommand,
    /// Snapshot automatically after `changes` writes within `seconds` (`save` points).
    pub save_points: Vec<SavePoint>,
    /// Snapshot file name, relative to `dir`.
    pub dbfilename: String,
    /// LZF-compress long strings in snapshots.
    pub rdbcompression: bool,
    /// The append-only file.
    pub aof: AofSettings,
    /// stop-writes-on-bgsave-error: refuse writes (MISCONF) after a failed background
    /// save, while save points are configured.
    pub stop_writes_on_bgsave_error: bool,
    /// The cluster settings.
    pub cluster: ClusterSettings,
    /// The replication settings.
    pub replication: ReplicationSettings,
    /// When collections change encoding.
    pub encoding: EncodingLimits,
    /// maxmemory and how the node keeps under it.
    pub memory: MemorySettings,
}

/// What `maxmemory-policy` lets the node evict when it is over `maxmemory`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvictionPolicy {
    /// Evict nothing: commands that may add memory are refused (OOM).
    NoEviction,
    /// Any key, picked at random.
    AllKeysRandom,
    /// A key with a deadline, picked at random.
    VolatileRandom,
    /// The key with the nearest deadline among a sample.
    VolatileTtl,
    /// The least recently used key among a sample.
    AllKeysLru,
    /// The least recently used key with a deadline among a sample.
    VolatileLru,
    /// The least frequently used key among a sample.
    AllKeysLfu,
    /// The least frequently used key with a deadline among a sample.
    VolatileLfu,
}

impl EvictionPolicy {
    /// The policy's name, as `maxmemory-policy` spells it.
    pub fn name(self) -> &'static str {
        match self {
            EvictionPolicy::NoEviction => "noeviction",
            EvictionPolicy::AllKeysRandom => "allkeys-random",
            EvictionPolicy::VolatileRandom => "volatile-random",
            EvictionPolicy::VolatileTtl => "volatile-ttl",
            EvictionPolicy::AllKeysLru => "allkeys-lru",
            EvictionPolicy::VolatileLru => "volatile-lru",
            EvictionPolicy::AllKeysLfu => "allkeys-lfu",
            EvictionPolicy::VolatileLfu => "volatile-lfu",
        }
    }

    /// The policy named `name`, as `maxmemory-policy` spells it.
    pub fn from_name(name: &str) -> Option<EvictionPolicy> {
        [
            EvictionPolicy::NoEviction,
            EvictionPolicy::AllKeysRandom,
            EvictionPolicy::VolatileRandom,
            EvictionPolicy::VolatileTtl,
            EvictionPolicy::AllKeysLru,
            EvictionPolicy::VolatileLru,
            EvictionPolicy::AllKeysLfu,
            EvictionPolicy::VolatileLfu,
        ]
        .into_iter()
        .find(|p| p.name() == name)
    }

    /// True for the policies that read keys' access clocks as LFU counters.
    pub fn is_lfu(self) -> bool {
        matches!(
            self,
            EvictionPolicy::AllKeysLfu | EvictionPolicy::VolatileLfu
        )
    }
}

/// The maxmemory directives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemorySettings {
    /// maxmemory, bytes (0: no limit).
    pub maxmemory: u64,
    /// maxmemory-policy.
    pub policy: EvictionPolicy,
    /// maxmemory-samples: keys sampled per database by the TTL, LRU and LFU policies.
    pub samples: usize,
    /// lfu-log-factor: how many accesses it takes to raise a key's LFU counter.
    pub lfu_log_factor: u32,
    /// lfu-decay-time: minutes per decrement of an unused key's LFU counter.
    pub lfu_decay_minutes: u32,
    /// maxmemory-eviction-tenacity, 0..100: how long one eviction run may last.
    pub tenacity: u32,
    /// replica-ignore-maxmemory: a replica leaves eviction to its master.
    pub replica_ignore_maxmemory: bool,
    /// maxmemory-clients.
    pub clients: ClientMemoryLimit,
}

/// maxmemory-clients: how much memory the connections together may hold before the
/// biggest are closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientMemoryLimit {
    /// No limit (`0`).
    Off,
    /// A number of bytes.
    Bytes(u64),
    /// A percentage of maxmemory.
    PercentOfMaxmemory(u64),
}

impl ClientMemoryLimit {
    /// Redis's floor: a smaller limit could leave no client able to talk to the node.
    pub const FLOOR: u64 = 128 * 1024;

    /// From the directive's canonical value (`0`, bytes, or `N%`).
    fn from_canonical(value: &str) -> ClientMemoryLimit {
        let number = |text: &str| text.parse::<u64>().unwrap_or(0);
        match value.strip_suffix('%') {
            Some(percent) => ClientMemoryLimit::PercentOfMaxmemory(number(percent)),
            None if number(value) == 0 => ClientMemoryLimit::Off,
            None => ClientMemoryLimit::Bytes(number(value)),
        }
    }
}

impl MemorySettings {
    /// The bytes of client memory past which clients are closed, biggest first; `None`
    /// when nothing limits them (as Redis, a percentage of an unlimited maxmemory
    /// limits nothing).
    pub fn client_eviction_limit(&self) -> Option<u64> {
        let bytes = match self.clients {
            ClientMemoryLimit::Off => return None,
            ClientMemoryLimit::Bytes(bytes) => bytes,
            ClientMemoryLimit::PercentOfMaxmemory(_) if self.maxmemory == 0 => return None,
            ClientMemoryLimit::PercentOfMaxmemory(percent) => {
                (self.maxmemory as f64 * percent as f64 / 100.0) as u64
            }
        };
        Some(bytes.max(ClientMemoryLimit::FLOOR))
    }

    /// How keys' access clocks are read and advanced under these settings.
    pub fn access_policy(&self) -> tessera_keyspace::access::AccessPolicy {
        if self.policy.is_lfu() {
            tessera_keyspace::access::AccessPolicy::Lfu {
                log_factor: self.lfu_log_factor,
                decay_minutes: self.lfu_decay_minutes,
            }
        } else {
            tessera_keyspace::access::AccessPolicy::Lru
        }
    }
}

/// The replication directives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicationSettings {
    /// replicaof: the master to follow at start.
    pub replicaof: Option<(String, u16)>,
    /// masterauth: the password to give the master.
    pub masterauth: Option<Vec<u8>>,
    /// masteruser: the user to give the master (with masterauth).
    pub masteruser: Option<Vec<u8>>,
    /// repl-backlog-size, bytes.
    pub backlog_size: usize,
    /// repl-timeout, seconds.
    pub timeout_secs: u64,
    /// repl-ping-replica-period, seconds.
    pub ping_period_secs: u64,
    /// replica-read-only.
    pub read_only: bool,
    /// replica-priority (0: never promoted).
    pub priority: i64,
    /// replica-serve-stale-data: a replica cut off from its master still answers.
    pub serve_stale_data: bool,
    /// min-replicas-to-write (0: off).
    pub min_replicas_to_write: usize,
    /// min-replicas-max-lag, seconds (0: off).
    pub min_replicas_max_lag_secs: u64,
    /// bind-source-addr: the address outgoing replication and bus connections leave
    /// from (None: the OS chooses).
    pub bind_source_addr: Option<std::net::IpAddr>,
}

/// The cluster-* directives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSettings {
    /// cluster-config-file.
    pub config_file: String,
    /// cluster-node-timeout (ms).
    pub node_timeout: u64,
    /// cluster-port (0: port + 10000).
    pub port: u16,
    /// cluster-announce-ip ("" for none).
    pub announce_ip: String,
    /// cluster-announce-port (0: the client port).
    pub announce_port: u16,
    /// cluster-announce-bus-port (0: the bus port).
    pub announce_bus_port: u16,
    /// cluster-announce-hostname.
    pub announce_hostname: String,
    /// cluster-require-full-coverage.
    pub require_full_coverage: bool,
    /// cluster-allow-reads-when-down.
    pub allow_reads_when_down: bool,
    /// cluster-allow-pubsubshard-when-down.
    pub allow_pubsubshard_when_down: bool,
    /// cluster-allow-replica-migration.
    pub allow_replica_migration: bool,
    /// cluster-preferred-endpoint-type: ip, hostname or unknown-endpoint.
    pub preferred_endpoint_type: String,
    /// cluster-replica-no-failover.
    pub replica_no_failover: bool,
    /// cluster-replica-validity-factor.
    pub replica_validity_factor: u64,
    /// cluster-migration-barrier.
    pub migration_barrier: usize,
}

/// One `save <seconds> <changes>` rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SavePoint {
    /// At least this many seconds since the last save...
    pub seconds: u64,
    /// ...and at least this many changes.
    pub changes: u64,
}

impl Settings {
    /// The admin plane's port for a node whose client port is `client_port`: `None`
    /// when disabled, or when the default (port + 21000) would pass 65535.
    pub fn admin_port_for(&self, client_port: u16) -> Option<u16> {
        match self.admin_port {
            0 => None,
            -1 => client_port.checked_add(21000),
            p => u16::try_from(p).ok(),
        }
    }

    /// Derives the typed settings. The values are canonical, so parsing cannot fail.
    pub fn from_values(v: &ConfigValues) -> Settings {
        Settings {
            port: v.port() as u16,
            admin_port: v.admin_port(),
            busy_reply_threshold_ms: v.busy_reply_threshold(),
            bind: v.bind().split_whitespace().map(String::from).collect(),
            dir: v.dir().to_string(),
            requirepass: Some(v.requirepass().as_bytes().to_vec()).filter(|p| !p.is_empty()),
            maxclients: v.maxclients() as usize,
            timeout_secs: v.timeout() as u64,
            tcp_keepalive_secs: v.tcp_keepalive() as u64,
            loglevel: v.loglevel().to_string(),
            logfile: v.logfile().to_string(),
            daemonize: v.daemonize(),
            pidfile: v.pidfile().to_string(),
            protected_mode: v.protected_mode(),
            proto_max_bulk_len: v.proto_max_bulk_len() as usize,
            client_query_buffer_limit: v.client_query_buffer_limit() as usize,
            // The stored text was checked when it was set.
            output_limits: crate::protocol::output_limit::OutputLimits::parse(
                v.client_output_buffer_limit(),
            )
            .unwrap_or_default(),
            // The stored text was checked when it was set.
            notify_classes: crate::notify::parse_classes(v.notify_keyspace_events())
                .unwrap_or_default(),
            tracking_table_max_keys: v.tracking_table_max_keys() as usize,
            databases: v.databases() as usize,
            hz: v.hz() as u32,
            cluster_enabled: v.cluster_enabled(),
            lazyfree_lazy_user_del: v.lazyfree_lazy_user_del(),
            lazyfree_lazy_user_flush: v.lazyfree_lazy_user_flush(),
            lazyfree_lazy_expire: v.lazyfree_lazy_expire(),
            lazyfree_lazy_server_del: v.lazyfree_lazy_server_del(),
            tcp_backlog: v.tcp_backlog() as u32,
            enable_debug_command: match v.enable_debug_command() {
                "yes" => DebugCommand::Yes,
                "local" => DebugCommand::Local,
                _ => DebugCommand::No,
            },
            save_points: v
                .save()
                .split_whitespace()
                .map(|n| n.parse().expect("save is canonical"))
                .collect::<Vec<u64>>()
                .chunks(2)
                .map(|p| SavePoint {
                    seconds: p[0],
                    changes: p[1],
                })
                .collect(),
            dbfilename: v.dbfilename().to_string(),
            rdbcompression: v.rdbcompression(),
            aof: AofSettings {
                enabled: v.appendonly(),
                dirname: v.appenddirname().to_string(),
                filename: v.appendfilename().to_string(),
                fsync: v.appendfsync().to_string(),
                load_truncated: v.aof_load_truncated(),
                timestamps: v.aof_timestamp_enabled(),
                disable_auto_gc: v.aof_disable_auto_gc(),
                incremental_fsync: v.aof_rewrite_incremental_fsync(),
                no_fsync_on_rewrite: v.no_appendfsync_on_rewrite(),
                auto_rewrite_percentage: v.auto_aof_rewrite_percentage().max(0) as u64,
                auto_rewrite_min_size: v.auto_aof_rewrite_min_size().max(0) as u64,
                rdb_preamble: v.aof_use_rdb_preamble(),
            },
            stop_writes_on_bgsave_error: v.stop_writes_on_bgsave_error(),
            cluster: ClusterSettings {
                config_file: v.cluster_config_file().to_string(),
                node_timeout: v.cluster_node_timeout() as u64,
                port: v.cluster_port() as u16,
                announce_ip: v.cluster_announce_ip().to_string(),
                announce_port: v.cluster_announce_port() as u16,
                announce_bus_port: v.cluster_announce_bus_port() as u16,
                announce_hostname: v.cluster_announce_hostname().to_string(),
                require_full_coverage: v.cluster_require_full_coverage(),
                allow_reads_when_down: v.cluster_allow_reads_when_down(),
                allow_pubsubshard_when_down: v.cluster_allow_pubsubshard_when_down(),
                allow_replica_migration: v.cluster_allow_replica_migration(),
                preferred_endpoint_type: v.cluster_preferred_endpoint_type().to_string(),
                replica_no_failover: v.cluster_replica_no_failover(),
                replica_validity_factor: v.cluster_replica_validity_factor().max(0) as u64,
                migration_barrier: v.cluster_migration_barrier().max(0) as usize,
            },
            replication: ReplicationSettings {
                replicaof: {
                    let parts: Vec<&str> = v.replicaof().split_whitespace().collect();
                    match parts.as_slice() {
                        [host, port] => port.parse().ok().map(|p| (host.to_string(), p)),
                        _ => None,
                    }
                },
                masterauth: Some(v.masterauth().as_bytes().to_vec()).filter(|p| !p.is_empty()),
                masteruser: Some(v.masteruser().as_bytes().to_vec()).filter(|p| !p.is_empty()),
                backlog_size: v.repl_backlog_size() as usize,
                timeout_secs: v.repl_timeout().max(1) as u64,
                ping_period_secs: v.repl_ping_replica_period().max(1) as u64,
                read_only: v.replica_read_only(),
                priority: v.replica_priority(),
                serve_stale_data: v.replica_serve_stale_data(),
                min_replicas_to_write: v.min_replicas_to_write().max(0) as usize,
                min_replicas_max_lag_secs: v.min_replicas_max_lag().max(0) as u64,
                // Validated when set (an address or empty).
                bind_source_addr: v.bind_source_addr().parse().ok(),
            },
            encoding: EncodingLimits {
                hash_max_listpack_entries: v.hash_max_listpack_entries().max(0) as usize,
                hash_max_listpack_value: v.hash_max_listpack_value().max(0) as usize,
                set_max_intset_entries: v.set_max_intset_entries().max(0) as usize,
                zset_max_listpack_entries: v.zset_max_listpack_entries().max(0) as usize,
                zset_max_listpack_value: v.zset_max_listpack_value().max(0) as usize,
                list_max_listpack_size: v.list_max_listpack_size(),
                list_compress_depth: v.list_compress_depth().max(0) as usize,
            },
            memory: MemorySettings {
                maxmemory: v.maxmemory().max(0) as u64,
                policy: EvictionPolicy::from_name(v.maxmemory_policy())
                    .expect("the directive's enum lists exactly the policies"),
                samples: v.maxmemory_samples().max(1) as usize,
                lfu_log_factor: v.lfu_log_factor().clamp(0, i64::from(i32::MAX)) as u32,
                lfu_decay_minutes: v.lfu_decay_time().clamp(0, i64::from(i32::MAX)) as u32,
                tenacity: v.maxmemory_eviction_tenacity().clamp(0, 100) as u32,
                replica_ignore_maxmemory: v.replica_ignore_maxmemory(),
                clients: ClientMemoryLimit::from_canonical(v.maxmemory_clients()),
            },
        }
    }

    /// What a snapshot or DUMP payload may hold, and how its collections are encoded.
    pub fn read_limits(&self) -> ReadLimits {
        ReadLimits {
            max_len: self.proto_max_bulk_len as u64,
            encoding: self.encoding,
        }
    }
}
