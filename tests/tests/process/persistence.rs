//! Snapshots: SAVE, BGSAVE, save points, save on shutdown, load at start, and dump.rdb
//! files exchanged with redis-server 7.0.15 in both directions.

use std::time::Duration;
use tessera_resp::frame::Frame;
use tessera_tests::wire::{bulk, error, simple};
use tessera_tests::{RawConnection, RedisServer, TesseraNode, text, wait_until};

fn fill(c: &mut RawConnection) {
    for (k, v) in [
        ("int", "12345"),
        ("text", "hello"),
        ("long", &"abc".repeat(100)),
    ] {
        assert_eq!(c.command(&["SET", k, v]).unwrap(), simple("OK"));
    }
    assert_eq!(
        c.command(&["SET", "volatile", "v", "PXAT", "99999999999999"])
            .unwrap(),
        simple("OK")
    );
    assert_eq!(c.command(&["SELECT", "3"]).unwrap(), simple("OK"));
    assert_eq!(c.command(&["SET", "in3", "x"]).unwrap(), simple("OK"));
    assert_eq!(c.command(&["SELECT", "0"]).unwrap(), simple("OK"));
}

fn check(c: &mut RawConnection) {
    assert_eq!(c.command(&["GET", "int"]).unwrap(), bulk("12345"));
    assert_eq!(
        c.command(&["OBJECT", "ENCODING", "int"]).unwrap(),
        bulk("int")
    );
    assert_eq!(c.command(&["GET", "text"]).unwrap(), bulk("hello"));
    assert_eq!(
        c.command(&["GET", "long"]).unwrap(),
        bulk(&"abc".repeat(100))
    );
    assert_eq!(
        c.command(&["PEXPIRETIME", "volatile"]).unwrap(),
        Frame::Integer(99_999_999_999_999)
    );
    assert_eq!(c.command(&["SELECT", "3"]).unwrap(), simple("OK"));
    assert_eq!(c.command(&["GET", "in3"]).unwrap(), bulk("x"));
    assert_eq!(c.command(&["SELECT", "0"]).unwrap(), simple("OK"));
}

#[test]
fn shutdown_save_then_restart_keeps_the_data() {
    let mut node = TesseraNode::start(&[]);
    let mut c = node.raw();
    fill(&mut c);
    c.send(b"SHUTDOWN SAVE\r\n").unwrap();
    assert!(node.wait_exit(Duration::from_secs(10)).unwrap().success());
    let node = TesseraNode::start_in_dir(node.stop(), &[]);
    assert!(node.log().contains("DB loaded from disk"), "{}", node.log());
    check(&mut node.raw());
}

#[test]
fn sigterm_saves_when_save_points_are_set_and_nosave_does_not() {
    let node = TesseraNode::start(&[]);
    fill(&mut node.raw());
    // SIGTERM with the default save points saves first.
    let node = TesseraNode::start_in_dir(node.stop(), &[]);
    check(&mut node.raw());
    let mut c = node.raw();
    c.command(&["SET", "late", "1"]).unwrap();
    let mut node = node;
    c.send(b"SHUTDOWN NOSAVE\r\n").unwrap();
    assert!(node.wait_exit(Duration::from_secs(10)).unwrap().success());
    let node = TesseraNode::start_in_dir(node.stop(), &[]);
    assert_eq!(node.raw().command(&["GET", "late"]).unwrap(), Frame::Null);
}

#[test]
fn a_failing_save_keeps_the_node_running() {
    let mut node = TesseraNode::start(&[]);
    // A directory where the snapshot should go makes every save fail.
    std::fs::create_dir(node.dir.path().join("dump.rdb")).unwrap();
    std::fs::write(node.dir.path().join("dump.rdb").join("blocker"), b"x").unwrap();
    let mut c = node.raw();
    c.command(&["SET", "k", "v"]).unwrap();
    assert_eq!(c.command(&["SAVE"]).unwrap(), error("ERR"));
    assert_eq!(
        c.command(&["SHUTDOWN"]).unwrap(),
        error("ERR Errors trying to SHUTDOWN. Check logs.")
    );
    assert_eq!(c.command(&["GET", "k"]).unwrap(), bulk("v"));
    // As in redis-server 7.0, only a failed *background* save marks the status (and
    // so MISCONF): a failed SAVE answers its own client and writes go on.
    assert!(
        text(&c.command(&["INFO", "persistence"]).unwrap()).contains("rdb_last_bgsave_status:ok")
    );
    assert_eq!(c.command(&["SET", "k", "w"]).unwrap(), simple("OK"));
    c.send(b"SHUTDOWN NOSAVE\r\n").unwrap();
    assert!(node.wait_exit(Duration::from_secs(10)).unwrap().success());
}

#[test]
fn bgsave_and_save_points() {
    let node = TesseraNode::start(&["--save", ""]);
    let mut c = node.raw();
    c.command(&["SET", "a", "1"]).unwrap();
    let dump = node.dir.path().join("dump.rdb");
    assert!(!dump.exists());
    assert_eq!(
        c.command(&["BGSAVE"]).unwrap(),
        simple("Background saving started")
    );
    assert!(wait_until(Duration::from_secs(10), || dump.exists()));
    // A save point of one change per second triggers a save on its own.
    assert_eq!(
        c.command(&["CONFIG", "SET", "save", "1 1"]).unwrap(),
        simple("OK")
    );
    let saves = |c: &mut RawConnection| -> u64 {
        text(&c.command(&["INFO", "persistence"]).unwrap())
            .lines()
            .find_map(|l| l.strip_prefix("rdb_saves:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap()
    };
    let before = saves(&mut c);
    c.command(&["SET", "b", "2"]).unwrap();
    assert!(wait_until(Duration::from_secs(10), || saves(&mut c) > before));
    let changes = text(&c.command(&["INFO", "persistence"]).unwrap());
    assert!(
        changes.contains("rdb_changes_since_last_save:0\r"),
        "{changes}"
    );
    let Frame::Integer(last) = c.command(&["LASTSAVE"]).unwrap() else {
        panic!("LASTSAVE is an integer")
    };
    assert!(last > 1_700_000_000);
}

#[test]
fn a_corrupt_snapshot_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dump.rdb"), b"REDIS0010\xfa\x05").unwrap();
    // The snapshot is read before any port is bound: the node never listens.
    let port = tessera_tests::process::free_port().to_string();
    let out = std::process::Command::new(tessera_tests::tessera_bin())
        .args([
            "server",
            "--port",
            &port,
            "--dir",
            dir.path().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("dump.rdb"), "{err}");
    assert_eq!(
        std::fs::read(dir.path().join("dump.rdb")).unwrap(),
        b"REDIS0010\xfa\x05",
        "left untouched"
    );
}

#[test]
fn snapshots_move_between_redis_and_tessera() {
    // redis-server writes, Tessera loads.
    let redis = RedisServer::start(&[]);
    let mut c = RawConnection::connect(redis.port).unwrap();
    fill(&mut c);
    assert_eq!(c.command(&["SAVE"]).unwrap(), simple("OK"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(redis.dir().join("dump.rdb"), dir.path().join("dump.rdb")).unwrap();
    drop(redis);
    let node = TesseraNode::start_in_dir(dir, &[]);
    check(&mut node.raw());

    // Tessera writes, redis-server loads.
    let mut c = node.raw();
    c.command(&["SET", "from-tessera", "yes"]).unwrap();
    assert_eq!(c.command(&["SAVE"]).unwrap(), simple("OK"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        node.dir.path().join("dump.rdb"),
        dir.path().join("dump.rdb"),
    )
    .unwrap();
    let redis = RedisServer::start_in(dir, &[]);
    let mut c = RawConnection::connect(redis.port).unwrap();
    check(&mut c);
    assert_eq!(c.command(&["GET", "from-tessera"]).unwrap(), bulk("yes"));
}
