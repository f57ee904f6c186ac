//! Tessera clusters driven by redis-cli and real clients: creation, routing, the
//! `redis` crate's cluster client, restarts, nodes.conf compatibility, `tessera up`.

use redis::Commands;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;
use tessera_resp::frame::Frame;
use tessera_tests::cluster::{
    CLUSTER_ARGS, assert_clean, check, create, info_field, nodes, tessera_nodes, wait_ok,
};
use tessera_tests::wire::{bulk, error, simple};
use tessera_tests::{
    RawConnection, RedisServer, TesseraNode, redis_cli, tessera_bin, text, wait_until,
};

/// Acceptance 1, 2 and 4 of the cluster issue on one six-node cluster.
#[test]
fn six_tessera_nodes_form_serve_and_survive_a_restart() {
    let nodes_list = tessera_nodes(6);
    let ports: Vec<u16> = nodes_list.iter().map(|n| n.port).collect();
    let report = create(&ports, 1);
    assert!(report.contains("[OK] All 16384 slots covered."), "{report}");
    assert!(
        wait_ok(&ports, Duration::from_secs(30)),
        "every node reports cluster_state:ok"
    );
    assert_clean(&check(ports[0]));
    assert_clean(&check(ports[5]));

    // redis-cli -c sets and gets across all masters.
    for i in 0..30 {
        let out = redis_cli(
            ports[i % 6],
            &["-c", "SET", &format!("k{i}"), &format!("v{i}")],
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "OK");
    }
    for i in 0..30 {
        let out = redis_cli(ports[(i + 3) % 6], &["-c", "GET", &format!("k{i}")]);
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("v{i}"));
    }
    let dbsize = |p: u16| match RawConnection::connect(p)
        .unwrap()
        .command(&["DBSIZE"])
        .unwrap()
    {
        Frame::Integer(n) => n,
        other => panic!("{other:?}"),
    };
    let is_master = |p: u16| nodes(p).iter().any(|l| l.contains("myself,master"));
    let (masters, replicas): (Vec<u16>, Vec<u16>) = ports.iter().partition(|&&p| is_master(p));
    assert_eq!(masters.len(), 3);
    assert!(
        masters.iter().all(|&p| dbsize(p) > 0),
        "keys landed on all three masters"
    );
    let copied = wait_until(Duration::from_secs(10), || {
        replicas.iter().map(|&p| dbsize(p)).sum::<i64>() == 30
    });
    assert!(copied, "the replicas hold their masters' keys");

    // A non-owner redirects with Redis's exact text.
    let owner_of_foo = ports
        .iter()
        .copied()
        .find(|&p| {
            let mut c = RawConnection::connect(p).unwrap();
            c.command(&["GET", "foo"]).unwrap() == Frame::Null
        })
        .expect("one node serves foo");
    let other = ports.iter().copied().find(|&p| {
        let mut c = RawConnection::connect(p).unwrap();
        matches!(c.command(&["GET", "foo"]).unwrap(), Frame::Error(_))
    });
    let mut c = RawConnection::connect(other.expect("a non-owner")).unwrap();
    assert_eq!(
        c.command(&["GET", "foo"]).unwrap(),
        error(&format!("MOVED 12182 127.0.0.1:{owner_of_foo}"))
    );
    assert_eq!(
        c.command(&["MSET", "a", "1", "b", "2"]).unwrap(),
        error("CROSSSLOT Keys in request don't hash to the same slot")
    );

    // The redis crate's cluster client: 10,000 keys with pipelines, hash-tagged MSET/MGET.
    let urls: Vec<String> = ports
        .iter()
        .map(|p| format!("redis://127.0.0.1:{p}/"))
        .collect();
    let client = redis::cluster::ClusterClient::new(urls).unwrap();
    let mut con = client.get_connection().unwrap();
    for chunk in (0..10_000).collect::<Vec<_>>().chunks(500) {
        let mut pipe = redis::cluster::cluster_pipe();
        for i in chunk {
            pipe.cmd("SET").arg(format!("key:{i}")).arg(i).ignore();
        }
        pipe.query::<()>(&mut con).unwrap();
    }
    for chunk in (0..10_000).collect::<Vec<_>>().chunks(500) {
        let mut pipe = redis::cluster::cluster_pipe();
        for i in chunk {
            pipe.cmd("GET").arg(format!("key:{i}"));
        }
        let values: Vec<i64> = pipe.query(&mut con).unwrap();
        assert_eq!(values, chunk.iter().map(|&i| i as i64).collect::<Vec<_>>());
    }
    let tagged: Vec<(String, String)> = (0..100)
        .map(|i| (format!("{{user:7}}:{i}"), format!("x{i}")))
        .collect();
    let _: () = con.mset(&tagged).unwrap();
    let keys: Vec<&String> = tagged.iter().map(|(k, _)| k).collect();
    let got: Vec<String> = con.mget(&keys).unwrap();
    assert_eq!(
        got,
        tagged.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>()
    );
    drop(con);

    // Acceptance 4: stop and restart every node; same ids and epochs, ok again unaided.
    let before: Vec<(String, String)> = ports
        .iter()
        .map(|&p| {
            let mut c = RawConnection::connect(p).unwrap();
            (
                text(&c.command(&["CLUSTER", "MYID"]).unwrap()),
                info_field(p, "cluster_current_epoch").unwrap(),
            )
        })
        .collect();
    let my_epochs: Vec<String> = ports
        .iter()
        .map(|&p| info_field(p, "cluster_my_epoch").unwrap())
        .collect();
    let restarted: Vec<TesseraNode> = nodes_list.into_iter().map(TesseraNode::restart).collect();
    assert!(
        wait_ok(&ports, Duration::from_secs(60)),
        "ok again after the restart, with no command"
    );
    for (i, &p) in ports.iter().enumerate() {
        let mut c = RawConnection::connect(p).unwrap();
        assert_eq!(
            text(&c.command(&["CLUSTER", "MYID"]).unwrap()),
            before[i].0,
            "same ID"
        );
        assert_eq!(
            info_field(p, "cluster_current_epoch").unwrap(),
            before[i].1,
            "same currentEpoch"
        );
        assert_eq!(
            info_field(p, "cluster_my_epoch").unwrap(),
            my_epochs[i],
            "same configEpoch"
        );
    }
    assert_clean(&check(ports[2]));
    let mut con = client.get_connection().unwrap();
    let v: i64 = con.get("key:1234").unwrap();
    assert_eq!(v, 1234, "data survived the restart (final RDB save)");
    drop(restarted);
}

#[test]
fn replicas_serve_reads_with_readonly_and_never_writes() {
    let nodes_list = tessera_nodes(6);
    let ports: Vec<u16> = nodes_list.iter().map(|n| n.port).collect();
    create(&ports, 1);
    assert!(wait_ok(&ports, Duration::from_secs(30)));
    let replica = ports
        .iter()
        .copied()
        .find(|&p| nodes(p).iter().any(|l| l.contains("myself,slave")))
        .expect("a replica");
    let mut c = RawConnection::connect(replica).unwrap();
    // Without READONLY a replica redirects even reads of its master's slots.
    let mut key = None;
    for i in 0..1000 {
        let k = format!("probe{i}");
        if let Frame::Error(e) = c.command(&["GET", &k]).unwrap() {
            let moved = String::from_utf8_lossy(&e).into_owned();
            // Find a key its master owns: the MOVED target is its master.
            let master_line = nodes(replica)
                .into_iter()
                .find(|l| l.contains("myself,slave"))
                .unwrap();
            let master_id = master_line.split_whitespace().nth(3).unwrap().to_string();
            let master_port = nodes(replica)
                .into_iter()
                .find(|l| l.starts_with(&master_id))
                .and_then(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|a| a.split('@').next())
                        .map(String::from)
                })
                .unwrap();
            if moved.ends_with(&master_port) {
                key = Some(k);
                break;
            }
        }
    }
    let key = key.expect("a key of the replica's master");
    assert_eq!(c.command(&["READONLY"]).unwrap(), simple("OK"));
    assert_eq!(
        c.command(&["GET", &key]).unwrap(),
        Frame::Null,
        "reads served locally"
    );
    assert!(
        matches!(c.command(&["SET", &key, "v"]).unwrap(), Frame::Error(e) if e.starts_with(b"MOVED"))
    );
    assert_eq!(c.command(&["READWRITE"]).unwrap(), simple("OK"));
    assert!(
        matches!(c.command(&["GET", &key]).unwrap(), Frame::Error(e) if e.starts_with(b"MOVED"))
    );
    drop(nodes_list);
}

#[test]
fn a_node_switches_between_redis_server_and_tessera_keeping_its_identity() {
    let dir = tempfile::tempdir().unwrap();
    let redis = RedisServer::start_at(
        dir,
        tessera_tests::process::free_port(),
        &[
            "--cluster-enabled",
            "yes",
            "--cluster-announce-hostname",
            "node-r",
        ],
    );
    let mut c = RawConnection::connect(redis.port).unwrap();
    c.command(&["CLUSTER", "ADDSLOTSRANGE", "0", "99"]).unwrap();
    c.command(&["CLUSTER", "SET-CONFIG-EPOCH", "7"]).unwrap();
    let id = text(&c.command(&["CLUSTER", "MYID"]).unwrap());
    assert_eq!(c.command(&["CLUSTER", "SAVECONFIG"]).unwrap(), simple("OK"));
    let (dir, port) = redis.stop();
    assert!(
        std::fs::read_to_string(dir.path().join("nodes.conf"))
            .unwrap()
            .contains(&id)
    );
    // The same directory and port, now served by Tessera.
    let node = TesseraNode::start_at(dir, port, &["--cluster-enabled", "yes"]);
    let mut c = node.raw();
    assert_eq!(text(&c.command(&["CLUSTER", "MYID"]).unwrap()), id);
    assert_eq!(
        info_field(node.port, "cluster_my_epoch").as_deref(),
        Some("7")
    );
    assert_eq!(
        info_field(node.port, "cluster_slots_assigned").as_deref(),
        Some("100")
    );
    // And back: redis-server reads the nodes.conf Tessera wrote.
    c.command(&["CLUSTER", "ADDSLOTSRANGE", "100", "199"])
        .unwrap();
    let dir = node.stop();
    let redis = RedisServer::start_at(dir, port, &["--cluster-enabled", "yes"]);
    let mut c = RawConnection::connect(redis.port).unwrap();
    assert_eq!(text(&c.command(&["CLUSTER", "MYID"]).unwrap()), id);
    assert_eq!(info_field(port, "cluster_my_epoch").as_deref(), Some("7"));
    assert_eq!(
        info_field(port, "cluster_slots_assigned").as_deref(),
        Some("200")
    );
}

#[test]
fn a_second_node_on_the_same_nodes_conf_is_refused() {
    let node = TesseraNode::start(&CLUSTER_ARGS);
    let out = Command::new(tessera_bin())
        .args([
            "server",
            "--port",
            &tessera_tests::process::free_port().to_string(),
            "--cluster-enabled",
            "yes",
            "--dir",
            node.dir.path().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("already used by a different Redis Cluster node"),
        "{err}"
    );
    // A corrupt nodes.conf is refused with its line, and left alone.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("nodes.conf"),
        "vars currentEpoch 0 lastVoteEpoch 0\nnot a node line\n",
    )
    .unwrap();
    let out = Command::new(tessera_bin())
        .args([
            "server",
            "--port",
            &tessera_tests::process::free_port().to_string(),
            "--cluster-enabled",
            "yes",
            "--dir",
            dir.path().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("nodes.conf")).unwrap(),
        "vars currentEpoch 0 lastVoteEpoch 0\nnot a node line\n"
    );
    drop(node);
}

#[test]
fn cluster_commands_answer_like_redis() {
    let node = TesseraNode::start(&CLUSTER_ARGS);
    let mut c = node.raw();
    assert_eq!(
        c.command(&["GET", "foo"]).unwrap(),
        error("CLUSTERDOWN Hash slot not served")
    );
    assert_eq!(
        c.command(&["CLUSTER", "ADDSLOTS", "1", "1"]).unwrap(),
        error("ERR Slot 1 specified multiple times")
    );
    assert_eq!(
        c.command(&["CLUSTER", "ADDSLOTS", "16384"]).unwrap(),
        error("ERR Invalid or out of range slot")
    );
    assert_eq!(
        c.command(&["CLUSTER", "ADDSLOTSRANGE", "0", "16383"])
            .unwrap(),
        simple("OK")
    );
    assert_eq!(
        c.command(&["CLUSTER", "ADDSLOTS", "5"]).unwrap(),
        error("ERR Slot 5 is already busy")
    );
    assert_eq!(
        c.command(&["CLUSTER", "SET-CONFIG-EPOCH", "3"]).unwrap(),
        simple("OK")
    );
    assert_eq!(
        c.command(&["CLUSTER", "BUMPEPOCH"]).unwrap(),
        simple("STILL 3")
    );
    assert!(
        wait_ok(&[node.port], Duration::from_secs(10)),
        "a lone master with every slot is ok"
    );
    assert_eq!(c.command(&["SET", "foo", "bar"]).unwrap(), simple("OK"));
    assert_eq!(c.command(&["GET", "foo"]).unwrap(), bulk("bar"));
    assert_eq!(
        c.command(&["CLUSTER", "COUNTKEYSINSLOT", "12182"]).unwrap(),
        Frame::Integer(1)
    );
    assert_eq!(
        c.command(&["CLUSTER", "MEET", "nonsense", "7000"]).unwrap(),
        error("ERR Invalid node address specified: nonsense:7000")
    );
    assert_eq!(
        c.command(&["CLUSTER", "FORGET", "abc"]).unwrap(),
        error("ERR Unknown node abc")
    );
    assert_eq!(
        c.command(&["CLUSTER", "RESET"]).unwrap(),
        error("ERR CLUSTER RESET can't be called with master nodes containing keys")
    );
    let slots = c.command(&["CLUSTER", "SLOTS"]).unwrap();
    assert!(
        matches!(&slots, Frame::Array(r) if r.len() == 1),
        "{slots:?}"
    );
    assert!(matches!(c.command(&["CLUSTER", "SHARDS"]).unwrap(), Frame::Array(s) if s.len() == 1));
    assert_eq!(
        c.command(&["SELECT", "1"]).unwrap(),
        error("ERR SELECT is not allowed in cluster mode")
    );
    assert_eq!(c.command(&["FLUSHALL"]).unwrap(), simple("OK"));
    assert_eq!(
        c.command(&["CLUSTER", "RESET", "HARD"]).unwrap(),
        simple("OK")
    );
    assert_eq!(
        info_field(node.port, "cluster_slots_assigned").as_deref(),
        Some("0")
    );
    assert_eq!(
        info_field(node.port, "cluster_current_epoch").as_deref(),
        Some("0")
    );
}

#[test]
fn tessera_up_starts_a_cluster_and_reuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let base = tessera_tests::process::free_ports(6);
    let admin = tessera_tests::process::free_ports(6);
    let run = |expect: &str| -> std::process::Child {
        let mut child = Command::new(tessera_bin())
            .args([
                "up",
                "--dir",
                dir.path().to_str().unwrap(),
                "--port",
                &base.to_string(),
                "--node-timeout",
                "2000",
                "--admin-port",
                &admin.to_string(),
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        assert!(
            first.contains(expect) && first.contains("cluster_state:ok"),
            "{first}"
        );
        let rest: Vec<String> = lines.by_ref().take(9).map(|l| l.unwrap()).collect();
        assert!(
            rest.iter()
                .any(|l| l.contains(&format!("redis-cli -c -p {base}"))),
            "{rest:?}"
        );
        std::thread::spawn(move || for _ in lines {});
        child
    };
    let mut up = run("created");
    let out = redis_cli(base, &["-c", "SET", "greeting", "hi"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "OK");
    // SAFETY: kill with a valid pid has no memory effects.
    unsafe { libc::kill(up.id() as i32, libc::SIGTERM) };
    assert!(
        up.wait().unwrap().success(),
        "tessera up stops cleanly on SIGTERM"
    );
    assert!(
        wait_until(Duration::from_secs(5), || RawConnection::connect(base)
            .is_err()),
        "its nodes are gone"
    );
    let mut up = run("restarted");
    let out = redis_cli(base + 3, &["-c", "GET", "greeting"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "hi");
    unsafe { libc::kill(up.id() as i32, libc::SIGINT) };
    assert!(up.wait().unwrap().success(), "and on SIGINT (Ctrl-C)");
}

/// A lone node serving half the slots: the cluster is down under full coverage, and
/// what it still serves depends on cluster-allow-reads-when-down and
/// cluster-require-full-coverage, exactly as on redis-server.
#[test]
fn partial_coverage_answers_like_redis() {
    let script: &[&[&str]] = &[
        &["CLUSTER", "ADDSLOTSRANGE", "0", "8191"],
        &["SET", "bar", "1"],
        &["GET", "bar"],
        &["GET", "foo"],
        &["CONFIG", "SET", "cluster-allow-reads-when-down", "yes"],
        &["GET", "bar"],
        &["SET", "bar", "2"],
        &["CONFIG", "SET", "cluster-allow-reads-when-down", "no"],
        &["CONFIG", "SET", "cluster-require-full-coverage", "no"],
    ];
    let after_state_change: &[&[&str]] = &[&["SET", "bar", "3"], &["GET", "bar"], &["GET", "foo"]];
    let run = |port: u16| {
        let mut c = RawConnection::connect(port).unwrap();
        let mut replies: Vec<Frame> = script.iter().map(|cmd| c.command(cmd).unwrap()).collect();
        // The state is re-evaluated on the next cron tick: poll for it.
        assert!(wait_until(Duration::from_secs(10), || {
            c.command(&["GET", "bar"]).unwrap() == Frame::Null
        }));
        replies.extend(after_state_change.iter().map(|cmd| c.command(cmd).unwrap()));
        replies
    };
    let redis = RedisServer::start(&CLUSTER_ARGS);
    let want = run(redis.port);
    assert_eq!(
        want[2],
        error("CLUSTERDOWN The cluster is down"),
        "{want:?}"
    );
    let node = TesseraNode::start(&CLUSTER_ARGS);
    assert_eq!(run(node.port), want);
}
