//! Starting, configuring and stopping `tessera server` as an operator would.

use std::process::Command;
use std::time::Duration;
use tessera_keyspace::key_slot;
use tessera_resp::frame::Frame;
use tessera_tests::wire::{bulk, error, simple};
use tessera_tests::{RawConnection, TesseraNode, redis_cli, tessera_bin, wait_until};

fn config_get(node: &TesseraNode, name: &str) -> String {
    let out = redis_cli(node.port, &["CONFIG", "GET", name]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines().nth(1).unwrap_or_default().to_string()
}

#[test]
fn redis_conf_file_with_include_quotes_and_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let included = dir.path().join("extra.conf");
    std::fs::write(&included, "maxclients 77\n").unwrap();
    let conf = format!(
        "# a comment\n\ntimeout 42\nrequirepass \"se cret\"\ninclude {}\nhz 20\n",
        included.display()
    );
    // The command line overrides the file's hz.
    let node = TesseraNode::start_with_file("node.conf", &conf, &["--hz", "15"]);
    let mut c = node.raw();
    assert_eq!(c.command(&["AUTH", "se cret"]).unwrap(), simple("OK"));
    for (name, want) in [("timeout", "42"), ("maxclients", "77"), ("hz", "15")] {
        assert_eq!(
            c.command(&["CONFIG", "GET", name]).unwrap(),
            Frame::Array(vec![bulk(name), bulk(want)])
        );
    }
    let info = c.command(&["INFO", "server"]).unwrap();
    assert!(
        tessera_tests::show(&info).contains("node.conf"),
        "config_file is reported"
    );
}

#[test]
fn listener_directives_cannot_change_at_runtime() {
    // Redis rebinds on CONFIG SET port/bind; Tessera refuses rather than pretend.
    let node = TesseraNode::start(&[]);
    let mut c = node.raw();
    for (name, value) in [("port", "7777"), ("bind", "127.0.0.1")] {
        assert_eq!(
            c.command(&["CONFIG", "SET", name, value]).unwrap(),
            error(&format!(
                "ERR CONFIG SET failed (possibly related to argument '{name}') - can't set immutable config"
            ))
        );
    }
    assert_eq!(config_get(&node, "port"), node.port.to_string());
}

#[test]
fn toml_config_file() {
    let node = TesseraNode::start_with_file(
        "node.toml",
        "timeout = 9\nprotected-mode = false\nmaxclients = 33\n",
        &[],
    );
    assert_eq!(config_get(&node, "timeout"), "9");
    assert_eq!(config_get(&node, "protected-mode"), "no");
    assert_eq!(config_get(&node, "maxclients"), "33");
}

/// Runs `tessera server` with arguments that must be refused at start.
fn refused(args: &[&str]) -> String {
    let mut child = Command::new(tessera_bin())
        .arg("server")
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A node that accepted the arguments would serve forever: stop it and fail.
    let mut status = None;
    let exited = tessera_tests::wait_until(std::time::Duration::from_secs(10), || {
        status = child.try_wait().expect("waiting for the node");
        status.is_some()
    });
    if !exited {
        let _ = child.kill();
        let _ = child.wait();
        panic!("tessera server {args:?} started instead of refusing");
    }
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("piped"), &mut err)
        .expect("reading stderr");
    assert_eq!(status.and_then(|s| s.code()), Some(1), "must exit 1: {err}");
    err
}

#[test]
fn bad_directives_are_refused_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("bad.conf");
    std::fs::write(&conf, "port 7777\n# c\n\nfoo bar\n").unwrap();
    let err = refused(&[conf.to_str().unwrap()]);
    assert!(err.contains("FATAL CONFIG FILE ERROR"), "{err}");
    assert!(err.contains("at line 4"), "{err}");
    assert!(err.contains(">>> 'foo bar'"), "{err}");
    assert!(
        err.contains("Bad directive or wrong number of arguments"),
        "{err}"
    );

    std::fs::write(&conf, "port abc\n").unwrap();
    let err = refused(&[conf.to_str().unwrap()]);
    assert!(
        err.contains("argument couldn't be parsed into an integer"),
        "{err}"
    );

    let toml = dir.path().join("bad.toml");
    std::fs::write(&toml, "port = 1\nnot-a-directive = 3\n").unwrap();
    let err = refused(&[toml.to_str().unwrap()]);
    assert!(
        err.contains("at line 2") && err.contains("Bad directive"),
        "{err}"
    );

    let err = refused(&["--port", "7777", "--foo", "bar"]);
    assert!(
        err.contains("--foo bar") && err.contains("Bad directive"),
        "{err}"
    );
    let err = refused(&["--appendonly", "maybe"]);
    assert!(err.contains("argument must be 'yes' or 'no'"), "{err}");
    let err = refused(&["/no/such/file.conf"]);
    assert!(err.contains("can't open config file"), "{err}");
}

#[test]
fn unsupported_directives_stop_the_start() {
    for (args, name) in [
        (
            &["--cluster-link-sendbuf-limit", "10mb"][..],
            "cluster-link-sendbuf-limit",
        ),
        (&["--tls-port", "6380"][..], "tls-port"),
    ] {
        let err = refused(args);
        assert!(err.contains("FATAL CONFIG FILE ERROR"), "{err}");
        assert!(
            err.contains(&format!("Tessera does not support '{name}' yet")),
            "{err}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("node.conf");
    std::fs::write(&conf, "port 7777\ncluster-link-sendbuf-limit 10mb\n").unwrap();
    let err = refused(&[conf.to_str().unwrap()]);
    assert!(err.contains("at line 2"), "{err}");
    assert!(
        err.contains(
            "Tessera does not support 'cluster-link-sendbuf-limit' yet (cluster bus link buffer limits: planned)"
        ),
        "{err}"
    );
}

#[test]
fn refused_directives_keep_their_default_and_inert_ones_are_accepted() {
    // redis.conf restates defaults of refused directives: those lines must start.
    let node = TesseraNode::start(&[
        "--cluster-link-sendbuf-limit",
        "0",
        "--client-output-buffer-limit",
        "pubsub",
        "32mb",
        "8mb",
        "60",
        "--io-threads",
        "4",
        "--activedefrag",
        "yes",
    ]);
    let named: Vec<String> = node
        .log()
        .lines()
        .filter(|l| l.contains("no effect in Tessera"))
        .map(String::from)
        .collect();
    assert_eq!(named.len(), 1, "one line at start: {named:?}");
    assert!(
        named[0].contains("io-threads=4") && named[0].contains("activedefrag=yes"),
        "{named:?}"
    );
    let mut c = node.raw();
    assert_eq!(
        c.command(&["CONFIG", "SET", "cluster-link-sendbuf-limit", "1gb"])
            .unwrap(),
        error(
            "ERR CONFIG SET failed (possibly related to argument 'cluster-link-sendbuf-limit') - \
             Tessera does not support 'cluster-link-sendbuf-limit' yet (cluster bus link buffer limits: planned)"
        )
    );
    assert_eq!(config_get(&node, "cluster-link-sendbuf-limit"), "0");
    assert_eq!(
        c.command(&["CONFIG", "SET", "cluster-link-sendbuf-limit", "0"])
            .unwrap(),
        simple("OK")
    );
    assert_eq!(
        c.command(&["CONFIG", "SET", "lazyfree-lazy-user-del", "yes"])
            .unwrap(),
        simple("OK")
    );
    assert_eq!(config_get(&node, "lazyfree-lazy-user-del"), "yes");
    assert_eq!(config_get(&node, "io-threads"), "4");
}

#[test]
fn shutdown_command_stops_the_node() {
    let mut node = TesseraNode::start(&[]);
    let mut c = node.raw();
    assert_eq!(c.command(&["SET", "k", "v"]).unwrap(), simple("OK"));
    c.send(b"SHUTDOWN NOSAVE\r\n").unwrap();
    let status = node.wait_exit(Duration::from_secs(10)).expect("node exits");
    assert!(status.success(), "clean exit: {status:?}");
    assert!(node.log().contains("bye bye"));
}

#[test]
fn sigterm_and_sigint_stop_the_node_cleanly() {
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let mut node = TesseraNode::start(&[]);
        let mut idle_client = node.raw();
        node.signal(signal);
        let status = node.wait_exit(Duration::from_secs(10)).expect("node exits");
        assert!(status.success(), "signal {signal}: {status:?}");
        // The connected client was closed, not left hanging.
        assert!(
            idle_client
                .read_until_closed(Duration::from_secs(5))
                .is_ok()
        );
    }
}

#[test]
fn daemonize_writes_and_removes_the_pidfile() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("t.pid");
    let port = tessera_tests::process::free_port();
    let status = Command::new(tessera_bin())
        .args(["server", "--daemonize", "yes", "--port", &port.to_string()])
        .args([
            "--pidfile",
            pidfile.to_str().unwrap(),
            "--dir",
            dir.path().to_str().unwrap(),
        ])
        .args(["--logfile", dir.path().join("log").to_str().unwrap()])
        // The admin plane's port (client port + 21000) is not checked free, and a
        // node whose port is taken now refuses to start: keep it off, as other tests do.
        .args(["--admin-port", "0"])
        .status()
        .unwrap();
    assert!(status.success(), "the parent returns at once");
    assert!(wait_until(Duration::from_secs(10), || {
        RawConnection::connect(port)
            .and_then(|mut c| c.command(&["PING"]))
            .is_ok()
    }));
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_ne!(pid as u32, std::process::id());
    let mut c = RawConnection::connect(port).unwrap();
    c.send(b"SHUTDOWN\r\n").unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || !pidfile.exists()),
        "pidfile removed"
    );
    let log = std::fs::read_to_string(dir.path().join("log")).unwrap();
    assert!(log.contains("Ready to accept connections"), "{log}");
}

#[test]
fn maxclients_refuses_extra_connections() {
    let node = TesseraNode::start(&[]);
    let mut first = node.sole_client();
    assert_eq!(
        first
            .command(&["CONFIG", "SET", "maxclients", "2"])
            .unwrap(),
        simple("OK")
    );
    let mut second = node.raw();
    assert_eq!(second.command(&["PING"]).unwrap(), simple("PONG"));
    let mut third = node.raw();
    assert_eq!(
        third.read_frame().unwrap(),
        error("ERR max number of clients reached")
    );
    drop(second);
    // Once a slot frees up, new clients get in again.
    assert!(wait_until(Duration::from_secs(5), || {
        RawConnection::connect(node.port)
            .and_then(|mut c| c.command(&["PING"]))
            .is_ok_and(|r| r == simple("PONG"))
    }));
    let stats = tessera_tests::text(&first.command(&["INFO", "stats"]).unwrap());
    let rejected: u64 = stats
        .lines()
        .find_map(|l| l.strip_prefix("rejected_connections:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("rejected_connections field");
    assert!(rejected >= 1, "{stats}");
}

#[test]
fn idle_clients_are_closed_after_timeout() {
    let node = TesseraNode::start(&[]);
    let mut admin = node.raw();
    assert_eq!(
        admin.command(&["CONFIG", "SET", "timeout", "1"]).unwrap(),
        simple("OK")
    );
    let mut idle = node.raw();
    assert_eq!(idle.command(&["PING"]).unwrap(), simple("PONG"));
    // Closed within a few seconds (1 s timeout, checked once a second).
    idle.read_until_closed(Duration::from_secs(6))
        .expect("idle client closed");
}

#[test]
fn info_has_redis_sections_and_fields() {
    let node = TesseraNode::start(&[]);
    let mut c = node.sole_client();
    c.command(&["SET", "a", "1"]).unwrap();
    c.command(&["SET", "b", "2", "EX", "100"]).unwrap();
    c.command(&["GET", "a"]).unwrap();
    c.command(&["GET", "missing"]).unwrap();
    let text = tessera_tests::text(&c.command(&["INFO"]).unwrap());
    for section in [
        "# Server",
        "# Clients",
        "# Memory",
        "# Persistence",
        "# Stats",
        "# Replication",
        "# CPU",
        "# Cluster",
        "# Keyspace",
    ] {
        assert!(text.contains(section), "{section} missing");
    }
    for field in [
        "redis_version:7.0.15",
        "redis_mode:standalone",
        &format!("tcp_port:{}", node.port),
        "connected_clients:1",
        "used_memory:",
        "mem_allocator:jemalloc",
        "role:master",
        "cluster_enabled:0",
        "db0:keys=2,expires=1,avg_ttl=0",
        "keyspace_hits:1",
        "keyspace_misses:1",
        "total_commands_processed:",
    ] {
        assert!(text.contains(field), "{field} missing in:\n{text}");
    }
    let only = tessera_tests::text(&c.command(&["INFO", "keyspace"]).unwrap());
    assert!(only.contains("# Keyspace") && !only.contains("# Server"));
}

#[test]
fn cluster_enabled_rules() {
    let node = TesseraNode::start(&["--cluster-enabled", "yes"]);
    let mut c = node.raw();
    // As in Redis, an unserved slot is reported before a slot mismatch.
    assert_eq!(
        c.command(&["MSET", "foo", "1", "bar", "2"]).unwrap(),
        error("CLUSTERDOWN Hash slot not served")
    );
    assert_eq!(
        c.command(&["CLUSTER", "ADDSLOTSRANGE", "0", "16383"])
            .unwrap(),
        simple("OK")
    );
    assert!(
        tessera_tests::cluster::wait_ok(&[node.port], std::time::Duration::from_secs(10)),
        "a lone master with every slot is ok"
    );
    let crossslot = error("CROSSSLOT Keys in request don't hash to the same slot");
    assert_eq!(
        c.command(&["MSET", "foo", "1", "bar", "2"]).unwrap(),
        crossslot
    );
    assert_eq!(c.command(&["MGET", "foo", "bar"]).unwrap(), crossslot);
    assert_eq!(c.command(&["DEL", "foo", "bar"]).unwrap(), crossslot);
    assert_eq!(c.command(&["RENAME", "foo", "bar"]).unwrap(), crossslot);
    assert_eq!(
        c.command(&["MSET", "{u}a", "1", "{u}b", "2"]).unwrap(),
        simple("OK")
    );
    assert_eq!(
        c.command(&["SELECT", "1"]).unwrap(),
        error("ERR SELECT is not allowed in cluster mode")
    );
    let slot = key_slot(b"{u}a");
    assert_eq!(
        c.command(&["CLUSTER", "KEYSLOT", "{u}a"]).unwrap(),
        Frame::Integer(i64::from(slot))
    );
    let slot = slot.to_string();
    assert_eq!(
        c.command(&["CLUSTER", "COUNTKEYSINSLOT", &slot]).unwrap(),
        Frame::Integer(2)
    );
    let keys = tessera_tests::show(
        &c.command(&["CLUSTER", "GETKEYSINSLOT", &slot, "10"])
            .unwrap(),
    );
    assert!(keys.contains("{u}a") && keys.contains("{u}b"), "{keys}");
    let info = tessera_tests::show(&c.command(&["INFO", "cluster"]).unwrap());
    assert!(info.contains("cluster_enabled:1"));
}
