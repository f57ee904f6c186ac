//! Replication outside cluster mode: Tessera to Tessera, both directions with
//! redis-server 7.0, partial resyncs after a broken link and after a promotion, WAIT,
//! expiry, and a replica's refusals.

use std::time::Duration;
use tessera_resp::frame::Frame;
use tessera_tests::replication::{caught_up, follow, info};
use tessera_tests::wire::{bulk, error, simple};
use tessera_tests::{RawConnection, RedisServer, TesseraNode, text, wait_until};

fn int(f: Frame) -> i64 {
    match f {
        Frame::Integer(n) => n,
        other => panic!("expected an integer, got {other:?}"),
    }
}

fn dbsize(port: u16) -> i64 {
    int(RawConnection::connect(port)
        .unwrap()
        .command(&["DBSIZE"])
        .unwrap())
}

/// The client id of the connection on `port` whose peer is `peer_port`.
fn client_from(port: u16, peer_port: u16) -> Option<String> {
    let list = text(
        &RawConnection::connect(port)
            .ok()?
            .command(&["CLIENT", "LIST"])
            .ok()?,
    );
    list.lines()
        .find(|l| {
            l.contains(&format!("laddr=127.0.0.1:{port}")) && l.contains(&format!(":{peer_port} "))
        })
        .or_else(|| {
            list.lines()
                .find(|l| l.contains(&format!("addr=127.0.0.1:{peer_port} ")))
        })
        .and_then(|l| {
            l.split(' ')
                .find_map(|f| f.strip_prefix("id="))
                .map(String::from)
        })
}

#[test]
fn tessera_replicates_tessera_and_continues_after_a_broken_link() {
    let master = TesseraNode::start(&[]);
    let replica = TesseraNode::start(&[]);
    let mut m = master.raw();
    m.command(&["SET", "a", "1"]).unwrap();
    m.command(&["SET", "b", "2", "PX", "100000"]).unwrap();
    m.command(&["SET", "soon", "x", "PX", "400"]).unwrap();
    follow(replica.port, master.port);
    let mut r = replica.raw();
    assert_eq!(r.command(&["GET", "a"]).unwrap(), bulk("1"));
    assert!(int(r.command(&["PTTL", "b"]).unwrap()) > 90_000);

    // The stream: each write arrives in the form that replays it exactly.
    for _ in 0..100 {
        m.command(&["INCR", "n"]).unwrap();
    }
    for _ in 0..10 {
        m.command(&["INCRBYFLOAT", "f", "0.1"]).unwrap();
    }
    m.command(&["DEL", "a"]).unwrap();
    m.command(&["EXPIRE", "b", "50"]).unwrap();
    m.command(&["SET", "c", "3", "EX", "60"]).unwrap();
    m.command(&["SELECT", "2"]).unwrap();
    m.command(&["SET", "in2", "yes"]).unwrap();
    assert_eq!(
        m.command(&["WAIT", "1", "5000"]).unwrap(),
        Frame::Integer(1)
    );
    let master_f = m
        .command(&["SELECT", "0"])
        .and_then(|_| m.command(&["GET", "f"]))
        .unwrap();
    assert_eq!(r.command(&["GET", "n"]).unwrap(), bulk("100"));
    assert_eq!(r.command(&["GET", "f"]).unwrap(), master_f);
    assert_eq!(r.command(&["GET", "a"]).unwrap(), Frame::Null);
    let ttl = int(r.command(&["TTL", "b"]).unwrap());
    assert!((45..=50).contains(&ttl), "TTL {ttl}");
    assert_eq!(
        r.command(&["PEXPIRETIME", "c"]).unwrap(),
        m.command(&["PEXPIRETIME", "c"]).unwrap(),
        "the same absolute deadline on both"
    );
    r.command(&["SELECT", "2"]).unwrap();
    assert_eq!(r.command(&["GET", "in2"]).unwrap(), bulk("yes"));
    r.command(&["SELECT", "0"]).unwrap();

    // A key that expires on the master goes from the replica by the master's DEL.
    assert!(
        wait_until(Duration::from_secs(10), || {
            RawConnection::connect(replica.port)
                .unwrap()
                .command(&["EXISTS", "soon"])
                .unwrap()
                == Frame::Integer(0)
                && dbsize(replica.port) == dbsize(master.port)
        }),
        "expired key removed from the replica: {} vs {}",
        dbsize(replica.port),
        dbsize(master.port)
    );

    // A replica refuses writes and says what it is.
    assert_eq!(
        r.command(&["SET", "x", "1"]).unwrap(),
        error("READONLY You can't write against a read only replica.")
    );
    let role = r.command(&["ROLE"]).unwrap();
    let Frame::Array(items) = role else {
        panic!("{role:?}")
    };
    assert_eq!(items[0], bulk("slave"));
    assert_eq!(items[3], bulk("connected"));
    assert_eq!(info(master.port, "connected_slaves").as_deref(), Some("1"));
    assert_eq!(info(master.port, "sync_full").as_deref(), Some("1"));

    // Break the link: the replica reconnects and continues from the backlog.
    let link = client_from(replica.port, master.port).expect("the master link in CLIENT LIST");
    assert_eq!(
        r.command(&["CLIENT", "KILL", "ID", &link]).unwrap(),
        Frame::Integer(1)
    );
    m.command(&["SET", "after", "break"]).unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || caught_up(
            replica.port,
            master.port
        ) && info(
            master.port,
            "sync_partial_ok"
        )
        .as_deref()
            == Some("1")),
        "partial resync: {:?}",
        info(master.port, "sync_partial_ok")
    );
    assert_eq!(
        info(master.port, "sync_full").as_deref(),
        Some("1"),
        "no second full sync"
    );
    assert_eq!(r.command(&["GET", "after"]).unwrap(), bulk("break"));
}

#[test]
fn redis_server_and_tessera_replicate_each_other() {
    let fast = ["--repl-diskless-sync-delay", "0"];
    // redis-server master, Tessera replica.
    let redis = RedisServer::start(&fast);
    let tessera = TesseraNode::start(&[]);
    let mut rm = RawConnection::connect(redis.port).unwrap();
    for i in 0..200 {
        rm.command(&["SET", &format!("k{i}"), &i.to_string()])
            .unwrap();
    }
    rm.command(&["SET", "ttl", "v", "EX", "100"]).unwrap();
    follow(tessera.port, redis.port);
    rm.command(&["INCRBY", "k7", "10"]).unwrap();
    rm.command(&["EXPIRE", "k8", "77"]).unwrap();
    assert_eq!(
        rm.command(&["WAIT", "1", "5000"]).unwrap(),
        Frame::Integer(1)
    );
    let mut t = tessera.raw();
    assert_eq!(dbsize(tessera.port), 201);
    assert_eq!(t.command(&["GET", "k7"]).unwrap(), bulk("17"));
    assert_eq!(
        t.command(&["PEXPIRETIME", "k8"]).unwrap(),
        rm.command(&["PEXPIRETIME", "k8"]).unwrap()
    );
    assert!(int(t.command(&["TTL", "ttl"]).unwrap()) > 90);

    // Tessera master, redis-server replica.
    let tessera_master = TesseraNode::start(&[]);
    let redis_replica = RedisServer::start(&fast);
    let mut tm = tessera_master.raw();
    for i in 0..200 {
        tm.command(&["SET", &format!("k{i}"), &i.to_string()])
            .unwrap();
    }
    tm.command(&["SET", "ttl", "v", "PX", "100000"]).unwrap();
    follow(redis_replica.port, tessera_master.port);
    tm.command(&["INCRBYFLOAT", "k1", "0.5"]).unwrap();
    tm.command(&["GETDEL", "k2"]).unwrap();
    tm.command(&["EXPIRE", "k3", "77"]).unwrap();
    assert_eq!(
        tm.command(&["WAIT", "1", "5000"]).unwrap(),
        Frame::Integer(1)
    );
    let mut rr = RawConnection::connect(redis_replica.port).unwrap();
    assert_eq!(dbsize(redis_replica.port), 200);
    assert_eq!(rr.command(&["GET", "k1"]).unwrap(), bulk("1.5"));
    assert_eq!(rr.command(&["GET", "k2"]).unwrap(), Frame::Null);
    assert_eq!(
        rr.command(&["PEXPIRETIME", "k3"]).unwrap(),
        tm.command(&["PEXPIRETIME", "k3"]).unwrap()
    );
    assert_eq!(
        rr.command(&["PEXPIRETIME", "ttl"]).unwrap(),
        tm.command(&["PEXPIRETIME", "ttl"]).unwrap()
    );
}

#[test]
fn a_promoted_replica_lets_its_sibling_continue() {
    let master = TesseraNode::start(&[]);
    let (r1, r2) = (TesseraNode::start(&[]), TesseraNode::start(&[]));
    let mut m = master.raw();
    for i in 0..50 {
        m.command(&["SET", &format!("k{i}"), "v"]).unwrap();
    }
    follow(r1.port, master.port);
    follow(r2.port, master.port);
    m.command(&["SET", "last", "from-master"]).unwrap();
    assert_eq!(
        m.command(&["WAIT", "2", "5000"]).unwrap(),
        Frame::Integer(2)
    );
    let old_replid = info(master.port, "master_replid").unwrap();
    drop(master);

    let mut c1 = r1.raw();
    assert_eq!(
        c1.command(&["REPLICAOF", "NO", "ONE"]).unwrap(),
        simple("OK")
    );
    assert_eq!(info(r1.port, "role").as_deref(), Some("master"));
    assert_eq!(info(r1.port, "master_replid2"), Some(old_replid));
    assert_ne!(
        info(r1.port, "master_replid"),
        info(r1.port, "master_replid2")
    );
    assert_eq!(
        c1.command(&["SET", "new", "from-r1"]).unwrap(),
        simple("OK")
    );

    // r2 followed the same history: it continues from r1 without a full sync.
    follow(r2.port, r1.port);
    assert_eq!(info(r1.port, "sync_partial_ok").as_deref(), Some("1"));
    assert_eq!(info(r1.port, "sync_full").as_deref(), Some("0"));
    let mut c2 = r2.raw();
    assert_eq!(c2.command(&["GET", "new"]).unwrap(), bulk("from-r1"));
    assert_eq!(c2.command(&["GET", "last"]).unwrap(), bulk("from-master"));
    assert_eq!(dbsize(r2.port), 52);
}

#[test]
fn a_replica_authenticates_with_masterauth() {
    let master = TesseraNode::start(&["--requirepass", "s3cret"]);
    let replica = TesseraNode::start(&["--masterauth", "s3cret"]);
    let mut m = RawConnection::connect(master.port).unwrap();
    m.command(&["AUTH", "s3cret"]).unwrap();
    m.command(&["SET", "guarded", "yes"]).unwrap();
    let mut r = replica.raw();
    r.command(&["REPLICAOF", "127.0.0.1", &master.port.to_string()])
        .unwrap();
    assert!(wait_until(Duration::from_secs(10), || {
        RawConnection::connect(replica.port)
            .unwrap()
            .command(&["GET", "guarded"])
            .unwrap()
            == bulk("yes")
    }));
    assert_eq!(
        r.command(&["REPLICAOF", "NO", "ONE"]).unwrap(),
        simple("OK")
    );
    assert_eq!(r.command(&["SET", "mine", "now"]).unwrap(), simple("OK"));
}

/// Acceptance 5 of the replication issue: a replica in cluster mode full-syncs a
/// million keys and serves them after READONLY (and redirects without it).
#[test]
fn a_million_keys_full_sync_and_serve_readonly_reads_in_a_cluster() {
    let args = [
        "--cluster-enabled",
        "yes",
        "--cluster-node-timeout",
        "2000",
        "--enable-debug-command",
        "yes",
    ];
    let master = TesseraNode::start(&args);
    let replica = TesseraNode::start(&args);
    let mut m = master.raw();
    m.command(&["CLUSTER", "ADDSLOTSRANGE", "0", "16383"])
        .unwrap();
    assert_eq!(
        m.command(&["DEBUG", "POPULATE", "1000000", "key", "16"])
            .unwrap(),
        simple("OK")
    );
    let mut r = replica.raw();
    r.command(&["CLUSTER", "MEET", "127.0.0.1", &master.port.to_string()])
        .unwrap();
    let master_id = text(&m.command(&["CLUSTER", "MYID"]).unwrap());
    assert!(wait_until(Duration::from_secs(20), || {
        tessera_tests::cluster::nodes(replica.port)
            .iter()
            .any(|l| l.starts_with(&master_id) && !l.contains("handshake"))
    }));
    assert_eq!(
        r.command(&["CLUSTER", "REPLICATE", &master_id]).unwrap(),
        simple("OK")
    );
    // While it loads, the replica answers LOADING: poll until it answers the count.
    let loaded = || {
        RawConnection::connect(replica.port)
            .and_then(|mut c| c.command(&["DBSIZE"]))
            .is_ok_and(|f| f == Frame::Integer(1_000_000))
    };
    assert!(
        wait_until(Duration::from_secs(120), || loaded()
            && info(replica.port, "master_link_status").as_deref()
                == Some("up")),
        "the replica loaded every key"
    );
    assert!(tessera_tests::cluster::wait_ok(
        &[master.port, replica.port],
        Duration::from_secs(20)
    ));
    let moved = r.command(&["GET", "key:0"]).unwrap();
    assert!(
        matches!(&moved, Frame::Error(e) if e.starts_with(b"MOVED")),
        "{moved:?}"
    );
    assert_eq!(r.command(&["READONLY"]).unwrap(), simple("OK"));
    for i in [0, 123_456, 999_999] {
        let key = format!("key:{i}");
        assert_eq!(
            r.command(&["GET", &key]).unwrap(),
            m.command(&["GET", &key]).unwrap(),
            "{key}"
        );
    }
}

#[test]
fn clients_of_a_replica_wait_out_a_short_snapshot_load_instead_of_seeing_loading() {
    // redis-server loads a small snapshot on its one thread: clients just wait. A
    // Tessera replica loads on another thread and must look the same.
    let master = TesseraNode::start(&["--save", "", "--enable-debug-command", "yes"]);
    let replica = TesseraNode::start(&["--save", ""]);
    let mut m = master.raw();
    assert_eq!(
        m.command(&["DEBUG", "POPULATE", "200000", "k", "32"])
            .unwrap(),
        simple("OK")
    );
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    let port = replica.port;
    let reader = std::thread::spawn(move || {
        let mut c = RawConnection::connect(port).unwrap();
        let (mut replies, mut loading) = (0u64, Vec::new());
        while !flag.load(std::sync::atomic::Ordering::Relaxed) {
            for cmd in [&["GET", "k:1"][..], &["DBSIZE"], &["EXISTS", "k:2"]] {
                let reply = c.command(cmd).unwrap();
                replies += 1;
                if text(&reply).starts_with("LOADING") {
                    loading.push(cmd.join(" "));
                }
            }
        }
        (replies, loading)
    });
    follow(replica.port, master.port);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (replies, loading) = reader.join().unwrap();
    assert_eq!(info(master.port, "sync_full").as_deref(), Some("1"));
    assert!(replies > 100, "the client kept asking during the sync");
    assert!(
        loading.is_empty(),
        "LOADING answered {} times, first to {:?}",
        loading.len(),
        &loading[..loading.len().min(3)]
    );
    assert_eq!(dbsize(replica.port), 200_000);
}
