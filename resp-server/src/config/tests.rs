//! Unit tests of the configuration: file and CONFIG SET semantics, the directive table
//! and the three states a directive can be in.

use super::*;

fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|s| s.to_string()).collect()
}

#[test]
fn table_is_sorted_and_consistent() {
    assert!(DIRECTIVES.windows(2).all(|w| w[0].name < w[1].name));
    for d in DIRECTIVES {
        let canonical = d.kind.parse_runtime(d.default);
        assert_eq!(canonical.as_deref(), Ok(d.default), "default of {}", d.name);
    }
}

#[test]
fn file_semantics() {
    let mut v = ConfigValues::defaults();
    v.apply("PORT", &args(&["7000"])).unwrap();
    v.apply("save", &args(&["900", "1"])).unwrap();
    v.apply("save", &args(&["300", "10"])).unwrap();
    v.apply("slaveof", &args(&["10.0.0.1", "6379"])).unwrap();
    assert_eq!(v.get(Id::Port), "7000");
    assert_eq!(v.get(Id::Save), "900 1 300 10");
    assert_eq!(v.get(Id::Replicaof), "10.0.0.1 6379");
    assert_eq!(v.apply("nope", &args(&["1"])), Err(DirectiveError::Unknown));
    assert_eq!(
        v.apply("port", &args(&["1", "2"])),
        Err(DirectiveError::Invalid("wrong number of arguments".into()))
    );
    v.apply("io-threads", &args(&["4"])).unwrap();
    v.apply("activedefrag", &args(&["no"])).unwrap();
    let inert: Vec<&str> = v.inert_changes().iter().map(|(n, _)| *n).collect();
    // Honoured directives and inert ones left at their default are not named.
    assert_eq!(inert, ["io-threads"]);
}

#[test]
fn runtime_get_and_set() {
    let c = Config::new(ConfigValues::defaults(), None);
    assert_eq!(
        c.get(&[b"CLUSTER-ENABLED"]),
        vec![("CLUSTER-ENABLED".into(), "no".into())]
    );
    let mm = c.get(&[b"maxmemory*"]);
    assert!(mm.iter().any(|(n, _)| n == "maxmemory-policy"));
    let slaves = c.get(&[b"slave-read-only"]);
    assert_eq!(slaves, vec![("slave-read-only".into(), "yes".into())]);
    c.set(&[(b"timeout", b"10"), (b"maxclients", b"50")], true)
        .unwrap();
    assert_eq!(c.settings().timeout_secs, 10);
    assert_eq!(
        c.set(&[(b"timeout", b"10"), (b"timeout", b"20")], true)
            .unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'timeout') - duplicate parameter"
    );
    assert_eq!(
        c.set(&[(b"foo", b"bar")], true).unwrap_err(),
        "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"
    );
    assert_eq!(
        c.set(&[(b"daemonize", b"yes")], true).unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config"
    );
    assert_eq!(
        c.set(&[(b"dir", b"/tmp")], true).unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config"
    );
    // All or nothing: a bad second value leaves the first unchanged.
    assert!(
        c.set(&[(b"timeout", b"30"), (b"maxclients", b"x")], true)
            .is_err()
    );
    assert_eq!(c.settings().timeout_secs, 10);
    c.set(&[(b"hz", b"0")], true).unwrap();
    assert_eq!(c.get(&[b"hz"])[0].1, "1");
}

fn state(name: &str) -> State {
    lookup(name).expect("a directive").state
}

#[test]
fn every_durability_memory_and_security_directive_is_refused() {
    for name in [
        "aof_rewrite_cpulist",
        "cluster-link-sendbuf-limit",
        "tls-port",
        "tls-cluster",
        "cluster-announce-tls-port",
        "aclfile",
        "acl-pubsub-default",
        "unixsocket",
        "unixsocketperm",
        "oom-score-adj",
        "shutdown-on-sigterm",
        "replica-announce-ip",
        "socket-mark-id",
        "supervised",
        "syslog-enabled",
        "rdb-del-sync-files",
        "rdbchecksum",
    ] {
        assert!(matches!(state(name), State::Refused(_)), "{name}");
    }
    for name in DIRECTIVES.iter().map(|d| d.name) {
        let honoured_aof = [
            "aof-disable-auto-gc",
            "aof-load-truncated",
            "aof-rewrite-incremental-fsync",
            "aof-timestamp-enabled",
            "aof-use-rdb-preamble",
        ]
        .contains(&name);
        if name.starts_with("tls-") || (name.starts_with("aof") && !honoured_aof) {
            assert!(matches!(state(name), State::Refused(_)), "{name}");
        }
    }
}

#[test]
fn settings_in_force_are_honoured() {
    // What Config reads or the server consults, and the directives another change
    // implements in parallel.
    for name in [
        "port",
        "bind",
        "requirepass",
        "save",
        "dir",
        "enable-protected-configs",
        "min-replicas-to-write",
        "min-replicas-max-lag",
        "replica-serve-stale-data",
        "stop-writes-on-bgsave-error",
        "bind-source-addr",
        "hash-max-listpack-entries",
        "maxmemory",
        "maxmemory-policy",
        "maxmemory-samples",
        "maxmemory-eviction-tenacity",
        "replica-ignore-maxmemory",
    ] {
        assert_eq!(state(name), State::Honoured, "{name}");
    }
    for name in ["io-threads", "activedefrag", "stream-node-max-entries"] {
        assert!(matches!(state(name), State::Inert(_)), "{name}");
    }
}

#[test]
fn refused_directives_accept_only_their_default() {
    let mut v = ConfigValues::defaults();
    assert_eq!(
        v.apply("aof_rewrite_cpulist", &args(&["0-1"])),
        Err(DirectiveError::Unsupported(
            "Tessera does not support 'aof_rewrite_cpulist' yet (append-only file: planned)".into()
        ))
    );
    // The default, in any spelling that parses to it, is accepted silently.
    v.apply("cluster-link-sendbuf-limit", &args(&["0"]))
        .unwrap();
    assert!(matches!(
        v.apply("cluster-link-sendbuf-limit", &args(&["10mb"])),
        Err(DirectiveError::Unsupported(m)) if m.contains("'cluster-link-sendbuf-limit'") && m.contains("link buffer limits")
    ));
    v.apply("maxmemory-clients", &args(&["10%"])).unwrap();
    assert_eq!(v.get(Id::MaxmemoryClients), "10%");
    v.apply("maxmemory-policy", &args(&["allkeys-lru"]))
        .unwrap();
    v.apply("maxmemory-policy", &args(&["volatile-ttl"]))
        .unwrap();
    // An invalid value is reported as invalid, before asking whether it is supported.
    assert!(matches!(
        v.apply("tls-port", &args(&["x"])),
        Err(DirectiveError::Invalid(_))
    ));
    assert_eq!(v.get(Id::Appendonly), "no");
    assert_eq!(v.get(Id::MaxmemoryPolicy), "volatile-ttl");
}

#[test]
fn redis_conf_buffer_limit_lines_keep_the_default() {
    // The lines redis.conf ships with restate the defaults, so they start.
    let mut v = ConfigValues::defaults();
    v.apply(
        "client-output-buffer-limit",
        &args(&["normal", "0", "0", "0"]),
    )
    .unwrap();
    v.apply(
        "client-output-buffer-limit",
        &args(&["replica", "256mb", "64mb", "60"]),
    )
    .unwrap();
    v.apply(
        "client-output-buffer-limit",
        &args(&["pubsub", "32mb", "8mb", "60"]),
    )
    .unwrap();
    assert_eq!(
        v.get(Id::ClientOutputBufferLimit),
        lookup("client-output-buffer-limit").unwrap().default
    );
    // Every class is honoured: any value of each is taken.
    v.apply(
        "client-output-buffer-limit",
        &args(&["normal", "1mb", "0", "0", "pubsub", "1mb", "512kb", "10"]),
    )
    .unwrap();
    assert_eq!(
        v.get(Id::ClientOutputBufferLimit),
        "normal 1048576 0 0 slave 268435456 67108864 60 pubsub 1048576 524288 10"
    );
}

#[test]
fn config_set_refuses_unsupported_values_and_accepts_inert_ones() {
    let c = Config::new(ConfigValues::defaults(), None);
    assert_eq!(
        c.set(&[(b"cluster-link-sendbuf-limit", b"1gb")], true)
            .unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'cluster-link-sendbuf-limit') - \
         Tessera does not support 'cluster-link-sendbuf-limit' yet (cluster bus link buffer limits: planned)"
    );
    c.set(&[(b"aof-use-rdb-preamble", b"no")], true).unwrap();
    assert!(!c.settings().aof.rdb_preamble);
    // All or nothing: a refused pair leaves the others unchanged.
    assert!(
        c.set(
            &[(b"timeout", b"30"), (b"cluster-link-sendbuf-limit", b"1gb")],
            true
        )
        .is_err()
    );
    assert_eq!(c.settings().timeout_secs, 0);
    assert_eq!(c.get(&[b"cluster-link-sendbuf-limit"])[0].1, "0");
    c.set(
        &[
            (b"maxmemory", b"1gb"),
            (b"maxmemory-policy", b"allkeys-random"),
        ],
        true,
    )
    .unwrap();
    assert_eq!(c.settings().memory.maxmemory, 1 << 30);
    assert_eq!(
        c.settings().memory.policy,
        crate::config::EvictionPolicy::AllKeysRandom
    );
    c.set(
        &[(b"activedefrag", b"yes"), (b"slowlog-max-len", b"5")],
        true,
    )
    .unwrap();
    assert_eq!(c.get(&[b"activedefrag"])[0].1, "yes");
}

#[test]
fn readme_lists_every_inert_and_refused_directive() {
    let readme = include_str!("../../../README.md");
    let start = readme.find("## Directives").expect("a Directives section");
    let refused_start = start
        + readme[start..]
            .find("Refused directives")
            .expect("a table of refused directives");
    let end = refused_start
        + readme[refused_start..]
            .find("\n## ")
            .expect("a next section");
    let (inert_part, refused_part) = (&readme[start..refused_start], &readme[refused_start..end]);
    for d in DIRECTIVES {
        let quoted = format!("`{}`", d.name);
        match d.state {
            State::Inert(_) => assert!(
                inert_part.contains(&quoted),
                "{} in the inert table",
                d.name
            ),
            State::Refused(_) => {
                assert!(
                    refused_part.contains(&quoted),
                    "{} in the refused table",
                    d.name
                )
            }
            State::Honoured => assert!(!refused_part.contains(&quoted), "{} is honoured", d.name),
        }
    }
}

#[test]
fn hidden_directives_answer_only_to_their_exact_name() {
    let c = Config::new(ConfigValues::defaults(), None);
    assert_eq!(
        c.get(&[b"key-load-delay"]),
        vec![("key-load-delay".into(), "0".into())]
    );
    assert!(c.get(&[b"key-load*"]).is_empty());
    assert!(c.get(&[b"*"]).iter().all(|(n, _)| n != "watchdog-period"));
    c.set(&[(b"key-load-delay", b"-5")], true).unwrap();
    assert_eq!(
        c.set(&[(b"lua-enable-deprecated-api", b"yes")], true)
            .unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'lua-enable-deprecated-api') - can't set immutable config"
    );
}

#[test]
fn typed_accessors_read_the_values_in_force() {
    let mut v = ConfigValues::defaults();
    v.apply("port", &args(&["7001"])).unwrap();
    v.apply("appendonly", &args(&["no"])).unwrap();
    assert_eq!(v.port(), 7001);
    assert!(!v.appendonly());
    assert_eq!(v.maxmemory_policy(), "noeviction");
    assert_eq!(Id::ClusterNodeTimeout.name(), "cluster-node-timeout");
}

#[test]
fn a_runtime_change_is_applied_at_runtime() {
    // CONFIG SET must never claim an effect that waits for a restart: a directive that
    // CONFIG SET accepts is applied by something other than the start alone.
    for d in DIRECTIVES {
        if d.access != Access::Immutable && d.state == State::Honoured {
            assert!(
                d.applies.iter().any(|a| *a != Applier::Start),
                "{} can change at runtime but is only read at start",
                d.name
            );
        }
    }
}
