//! WAITAOF (Redis 7.2's command): `[local, replicas]` that have this client's last
//! write fsynced. Local under `everysec` and `always`; a Tessera replica with its own
//! AOF counts (it sends `REPLCONF ACK <offset> FACK <aofoffset>`), a redis-server 7.0
//! replica, which sends no FACK, never does; errors as Redis 7.2 words them.

use tessera_resp::frame::Frame;
use tessera_tests::wire::error;
use tessera_tests::{RawConnection, RedisServer, TesseraNode};

fn pair(local: i64, replicas: i64) -> Frame {
    Frame::Array(vec![Frame::Integer(local), Frame::Integer(replicas)])
}

fn waitaof(c: &mut RawConnection, args: [&str; 3]) -> Frame {
    c.command(&["WAITAOF", args[0], args[1], args[2]])
        .expect("WAITAOF")
}

#[test]
fn waitaof_counts_the_local_fsync_and_refuses_what_redis_refuses() {
    let plain = TesseraNode::start(&[]);
    let mut c = plain.raw();
    c.command(&["SET", "k", "v"]).expect("SET");
    for (args, reply) in [
        (
            ["1", "0", "0"],
            error("ERR WAITAOF cannot be used when numlocal is set but appendonly is disabled."),
        ),
        (["0", "0", "0"], pair(0, 0)),
        (
            ["2", "0", "0"],
            error("ERR value is out of range, value must between 0 and 1"),
        ),
        (
            ["x", "0", "0"],
            error("ERR value is not an integer or out of range"),
        ),
        (
            ["0", "-1", "0"],
            error("ERR value is out of range, must be positive"),
        ),
        (["0", "0", "-1"], error("ERR timeout is negative")),
        (
            ["0", "0", "x"],
            error("ERR timeout is not an integer or out of range"),
        ),
    ] {
        assert_eq!(waitaof(&mut c, args), reply, "WAITAOF {args:?}");
    }
    drop(c);
    drop(plain);

    let node = TesseraNode::start(&["--appendonly", "yes", "--appendfsync", "everysec"]);
    let mut c = node.raw();
    c.command(&["SET", "k", "v"]).expect("SET");
    // Blocks (timeout 0) until the everysec fsync puts the write on disk.
    assert_eq!(waitaof(&mut c, ["1", "0", "0"]), pair(1, 0));
    c.command(&["CONFIG", "SET", "appendfsync", "always"])
        .expect("CONFIG SET");
    c.command(&["INCR", "n"]).expect("INCR");
    assert_eq!(waitaof(&mut c, ["1", "0", "0"]), pair(1, 0));
    // No replica: a timeout ends the wait with what was reached.
    assert_eq!(waitaof(&mut c, ["1", "1", "50"]), pair(1, 0));
    // Inside EXEC it answers at once with what is reached, never blocking.
    c.command(&["MULTI"]).expect("MULTI");
    c.command(&["WAITAOF", "1", "1", "0"]).expect("queued");
    c.command(&["WAIT", "1", "0"]).expect("queued");
    assert_eq!(
        c.command(&["EXEC"]).expect("EXEC"),
        Frame::Array(vec![pair(1, 0), Frame::Integer(0)])
    );
}

#[test]
fn waitaof_counts_replicas_that_report_their_aof_fsynced() {
    let master = TesseraNode::start(&["--appendonly", "yes"]);
    let replica = TesseraNode::start(&["--appendonly", "yes"]);
    let old = RedisServer::start(&["--appendonly", "yes"]);
    tessera_tests::replication::follow(replica.port, master.port);
    tessera_tests::replication::follow(old.port, master.port);
    let mut m = master.raw();
    m.command(&["SET", "k", "v"]).expect("SET");
    assert_eq!(
        m.command(&["WAIT", "2", "0"]).expect("WAIT"),
        Frame::Integer(2),
        "both replicas have the write"
    );
    // Only the Tessera replica reports its AOF: with timeout 0 this returns once it did.
    assert_eq!(waitaof(&mut m, ["1", "1", "0"]), pair(1, 1));
    m.command(&["RPUSH", "l", "a", "b"]).expect("RPUSH");
    assert_eq!(waitaof(&mut m, ["1", "1", "0"]), pair(1, 1));
    // Everything is fsynced where it will be: waiting for a second replica can only
    // time out.
    assert_eq!(
        waitaof(&mut m, ["1", "2", "300"]),
        pair(1, 1),
        "redis-server 7.0 sends no FACK, so it never counts"
    );
    let mut r = replica.raw();
    assert_eq!(
        waitaof(&mut r, ["0", "0", "0"]),
        error(
            "ERR WAITAOF cannot be used with replica instances. Please also note that writes \
             to replicas are just local and are not propagated."
        )
    );
}
