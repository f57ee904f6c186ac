//! Blocking pops (BLPOP, BLMOVE, BZPOPMIN, BLMPOP, BZMPOP ...) and CLIENT UNBLOCK
//! against redis-server 7.0.15: the same script runs on both and every reply's bytes
//! (RESP2 and RESP3) are compared. Wake-ups are ordered by waiting until the server
//! counts the waiter as blocked (INFO `blocked_clients`), never by sleeping.

use std::time::Duration;

use tessera_tests::cluster::{CLUSTER_ARGS, Member};
use tessera_tests::{RawConnection, RedisServer, TesseraNode, text, wait_until};

/// What a script saw, reply by reply.
struct Transcript {
    port: u16,
    lines: Vec<String>,
}

impl Transcript {
    fn conn(&self, resp3: bool) -> RawConnection {
        let mut c = RawConnection::connect(self.port).expect("connect");
        if resp3 {
            c.command(&["HELLO", "3"]).expect("HELLO 3");
        }
        c
    }

    /// Runs `args` on `c` and records the reply's bytes.
    fn run(&mut self, c: &mut RawConnection, args: &[&str]) {
        self.run_as(c, args, &args.join(" "));
    }

    /// [`Transcript::run`] under `label` (for arguments that differ by server).
    fn run_as(&mut self, c: &mut RawConnection, args: &[&str], label: &str) {
        c.send(&tessera_resp::frame::Frame::command(
            args.iter().map(|a| a.as_bytes()),
        ))
        .expect("send");
        self.record(c, label);
    }

    /// Reads the next reply on `c` and records it under `label`.
    fn record(&mut self, c: &mut RawConnection, label: &str) {
        let port = self.port;
        let raw = c
            .read_raw()
            .unwrap_or_else(|e| panic!("port {port}, {label}: {e}"));
        self.lines
            .push(format!("{label} -> {}", String::from_utf8_lossy(&raw)));
    }

    /// Sends a blocking command on `c` without reading, and waits until the server
    /// counts `blocked` clients.
    fn block(&self, c: &mut RawConnection, args: &[&str], blocked: usize) {
        c.send(&tessera_resp::frame::Frame::command(
            args.iter().map(|a| a.as_bytes()),
        ))
        .expect("send");
        self.wait_blocked(blocked);
    }

    fn wait_blocked(&self, n: usize) {
        let want = format!("blocked_clients:{n}");
        let port = self.port;
        let ok = wait_until(Duration::from_secs(10), || {
            let mut c = RawConnection::connect(port).expect("connect");
            text(&c.command(&["INFO", "clients"]).expect("INFO")).contains(&want)
        });
        assert!(ok, "port {port}: never reached {want}");
    }
}

/// Replies that never block: argument errors, empty keys inside MULTI, immediate pops.
fn immediate(t: &mut Transcript, resp3: bool) {
    let mut c = t.conn(resp3);
    let p = if resp3 { "3" } else { "2" };
    let key = |k: &str| format!("{{b}}{k}{p}");
    let (l, z, s, d) = (key("l"), key("z"), key("s"), key("d"));
    for cmd in [
        vec!["BLPOP", &l, "abc"],
        vec!["BLPOP", &l, "-1"],
        vec!["BLPOP", &l, "inf"],
        vec!["BLPOP", &l, "1e17"],
        vec!["BLPOP", &l, "nan"],
        vec!["BZPOPMIN", &z, "-0.5"],
        vec!["BLMPOP", "x", "0", &l, "LEFT"],
        vec!["BLMPOP", "-1", "1", &l, "LEFT"],
        vec!["BLMPOP", "0", "1", &l, "UP"],
        vec!["BLMPOP", "0", "1", &l, "LEFT", "COUNT", "0"],
        vec!["BZMPOP", "0", "1", &z, "MIN", "COUNT"],
        vec!["BLMOVE", &l, &d, "LEFT", "UP", "0"],
        vec!["BLMOVE", &l, &d, "LEFT", "RIGHT", "x"],
        vec!["CLIENT", "UNBLOCK", "x", "foo"],
        vec!["CLIENT", "UNBLOCK", "x"],
        vec!["CLIENT", "UNBLOCK", "999999"],
        vec!["CLIENT", "UNBLOCK", "999999", "ERROR"],
        vec!["CLIENT", "UNBLOCK", "1", "TIMEOUT", "x"],
        vec!["BLPOP", &l, "0.01"],
        vec!["BZPOPMAX", &z, "0.01"],
        vec!["BLMPOP", "0.01", "1", &l, "RIGHT"],
        vec!["BZMPOP", "0.01", "1", &z, "MAX"],
        vec!["BRPOPLPUSH", &l, &d, "0.01"],
        vec!["BLMOVE", &l, &d, "LEFT", "RIGHT", "0.01"],
        vec!["SET", &s, "v"],
        vec!["BLPOP", &l, &s, "0"],
        vec!["BZPOPMIN", &s, "0"],
        vec!["BLMPOP", "0", "2", &l, &s, "LEFT"],
        vec!["RPUSH", &l, "a", "b", "c", "d"],
        vec!["BLPOP", &s, &l, "0"],
        vec!["BLPOP", "{b}none", &l, "0"],
        vec!["BRPOP", &l, "0"],
        vec!["BLMPOP", "0", "1", &l, "LEFT", "COUNT", "5"],
        vec!["RPUSH", &l, "a", "b"],
        vec!["BLMOVE", &l, &d, "RIGHT", "LEFT", "0"],
        vec!["BRPOPLPUSH", &l, &d, "0"],
        vec!["BRPOPLPUSH", &d, &s, "0"],
        vec!["LRANGE", &d, "0", "-1"],
        vec!["ZADD", &z, "1.5", "a", "2", "b", "3", "c"],
        vec!["BZPOPMIN", &z, "0"],
        vec!["BZPOPMAX", &z, "0"],
        vec!["BZMPOP", "0", "1", &z, "MIN", "COUNT", "9"],
    ] {
        t.run(&mut c, &cmd);
    }
}

/// Waiters woken by pushes from other connections, first come first served.
fn wakeups(t: &mut Transcript, resp3: bool) {
    let mut pusher = t.conn(false);
    let mut w: Vec<RawConnection> = (0..3).map(|_| t.conn(resp3)).collect();
    let p = if resp3 { "3" } else { "2" };
    let f = format!("{{w}}f{p}");
    // FIFO: three waiters, two elements, then one more.
    for (i, c) in w.iter_mut().enumerate() {
        t.block(c, &["BLPOP", &f, "0"], i + 1);
    }
    t.run(&mut pusher, &["RPUSH", &f, "x", "y"]);
    t.record(&mut w[0], "first waiter");
    t.record(&mut w[1], "second waiter");
    t.wait_blocked(1);
    t.run(&mut pusher, &["LPUSH", &f, "z"]);
    t.record(&mut w[2], "third waiter");
    t.run(&mut pusher, &["EXISTS", &f]);
    // BLMOVE and BRPOPLPUSH served into their destination.
    let (src, dst) = (format!("{{w}}src{p}"), format!("{{w}}dst{p}"));
    t.block(&mut w[0], &["BLMOVE", &src, &dst, "RIGHT", "LEFT", "0"], 1);
    t.block(&mut w[1], &["BRPOPLPUSH", &src, &dst, "0"], 2);
    t.run(&mut pusher, &["RPUSH", &src, "1", "2", "3"]);
    t.record(&mut w[0], "blmove");
    t.record(&mut w[1], "brpoplpush");
    t.run(&mut pusher, &["LRANGE", &dst, "0", "-1"]);
    t.run(&mut pusher, &["LRANGE", &src, "0", "-1"]);
    // A destination of another type: WRONGTYPE, and the element stays in the source
    // for the next waiter. In another slot (outside cluster mode) the push can't be
    // made under the source's lock; in the same slot it is.
    for (place, tag) in [("other slot", "{v}"), ("same slot", "{w}")] {
        let (from, wrong) = (format!("{{w}}from{p}"), format!("{tag}wrong{p}"));
        t.run(&mut pusher, &["SET", &wrong, "str"]);
        t.block(
            &mut w[0],
            &["BLMOVE", &from, &wrong, "LEFT", "RIGHT", "0"],
            1,
        );
        t.block(&mut w[1], &["BRPOPLPUSH", &from, &wrong, "0"], 2);
        t.block(&mut w[2], &["BLPOP", &from, "0"], 3);
        t.run(&mut pusher, &["RPUSH", &from, "x", "y", "z"]);
        t.record(&mut w[0], &format!("blmove into a string, {place}"));
        t.record(&mut w[1], &format!("brpoplpush into a string, {place}"));
        t.record(&mut w[2], &format!("blpop after both, {place}"));
        t.run(&mut pusher, &["LRANGE", &from, "0", "-1"]);
        t.run(&mut pusher, &["GET", &wrong]);
        t.run(&mut pusher, &["DEL", &from, &wrong]);
    }
    // Pushed by a command that holds the destination's slot too (LMOVE from a list in
    // that slot, outside cluster mode; "{w}" hashes below "{v}", so the source's slot
    // is released first), the destination can't be looked at before the pop: the
    // element goes back, and on to the next waiter.
    let (from, wrong, other) = (
        format!("{{w}}from{p}"),
        format!("{{v}}wrong{p}"),
        format!("{{v}}l{p}"),
    );
    t.run(&mut pusher, &["SET", &wrong, "str"]);
    t.run(&mut pusher, &["RPUSH", &other, "e"]);
    t.block(
        &mut w[0],
        &["BLMOVE", &from, &wrong, "LEFT", "RIGHT", "0"],
        1,
    );
    t.block(&mut w[1], &["BLPOP", &from, "0"], 2);
    t.run(&mut pusher, &["LMOVE", &other, &from, "LEFT", "RIGHT"]);
    t.record(&mut w[0], "blmove into a string, pushed by LMOVE");
    t.record(&mut w[1], "blpop after it");
    t.run(&mut pusher, &["EXISTS", &from, &other]);
    t.run(&mut pusher, &["DEL", &wrong]);
    // Sorted sets; a list waiter and a zset waiter on one key: only the right type.
    let z = format!("{{w}}z{p}");
    t.block(&mut w[0], &["BZPOPMIN", &z, "0"], 1);
    t.block(&mut w[1], &["BLPOP", &z, "0"], 2);
    t.block(&mut w[2], &["BZMPOP", "0", "1", &z, "MAX", "COUNT", "2"], 3);
    t.run(&mut pusher, &["ZADD", &z, "1", "a", "2.5", "b", "3", "c"]);
    t.record(&mut w[0], "bzpopmin");
    t.record(&mut w[2], "bzmpop");
    t.wait_blocked(1);
    // The key changed type under the list waiter; BLMPOP with a count.
    t.run(&mut pusher, &["DEL", &z]);
    t.run(&mut pusher, &["RPUSH", &z, "m1"]);
    t.record(&mut w[1], "blpop after type change");
    t.block(
        &mut w[1],
        &["BLMPOP", "0", "2", "{w}none", &z, "RIGHT", "COUNT", "3"],
        1,
    );
    t.run(&mut pusher, &["RPUSH", &z, "n1", "n2"]);
    t.record(&mut w[1], "blmpop");
    // RESTORE makes a key non-empty too.
    t.run(&mut pusher, &["RPUSH", &f, "r"]);
    pusher
        .send(&tessera_resp::frame::Frame::command([
            b"DUMP".as_slice(),
            f.as_bytes(),
        ]))
        .expect("send");
    let dump = match pusher.read_frame().expect("DUMP") {
        tessera_resp::frame::Frame::Bulk(b) => b,
        other => panic!("DUMP: {other:?}"),
    };
    t.run(&mut pusher, &["DEL", &f]);
    t.block(&mut w[0], &["BRPOP", &f, "0"], 1);
    pusher
        .send(&tessera_resp::frame::Frame::command([
            b"RESTORE".as_slice(),
            f.as_bytes(),
            b"0",
            &dump,
        ]))
        .expect("send");
    t.record(&mut pusher, "RESTORE");
    t.record(&mut w[0], "woken by restore");
    // Timeouts and CLIENT UNBLOCK.
    t.run(&mut w[0], &["BLPOP", &f, "0.05"]);
    let ids: Vec<String> = w
        .iter_mut()
        .map(|c| show_int(c.command(&["CLIENT", "ID"]).expect("CLIENT ID")))
        .collect();
    t.block(&mut w[0], &["BLMOVE", &f, &dst, "LEFT", "LEFT", "0"], 1);
    t.block(&mut w[1], &["BZPOPMIN", &f, "0"], 2);
    t.run_as(&mut pusher, &["CLIENT", "UNBLOCK", &ids[0]], "UNBLOCK w0");
    t.run_as(
        &mut pusher,
        &["CLIENT", "UNBLOCK", &ids[1], "ERROR"],
        "UNBLOCK w1 ERROR",
    );
    t.run_as(
        &mut pusher,
        &["CLIENT", "UNBLOCK", &ids[1], "ERROR"],
        "again",
    );
    t.record(&mut w[0], "unblocked (timeout)");
    t.record(&mut w[1], "unblocked (error)");
    // A waiter that leaves takes nothing.
    let mut gone = t.conn(resp3);
    t.block(&mut gone, &["BLPOP", &f, "0"], 1);
    drop(gone);
    t.wait_blocked(0);
    t.run(&mut pusher, &["RPUSH", &f, "kept"]);
    t.run(&mut pusher, &["LRANGE", &f, "0", "-1"]);
    // Turning replica unblocks.
    t.block(&mut w[2], &["BLPOP", "{w}never", "0"], 1);
    t.run(&mut pusher, &["REPLICAOF", "127.0.0.1", "1"]);
    t.record(&mut w[2], "node turned replica");
    t.run(&mut pusher, &["REPLICAOF", "NO", "ONE"]);
    t.run(&mut pusher, &["FLUSHALL"]);
}

fn show_int(f: tessera_resp::frame::Frame) -> String {
    match f {
        tessera_resp::frame::Frame::Integer(n) => n.to_string(),
        other => panic!("not an integer: {other:?}"),
    }
}

fn script(port: u16) -> Vec<String> {
    let mut t = Transcript {
        port,
        lines: Vec::new(),
    };
    for resp3 in [false, true] {
        immediate(&mut t, resp3);
        wakeups(&mut t, resp3);
    }
    t.lines
}

#[test]
fn blocking_pops_match_redis() {
    let redis = RedisServer::start(&[]);
    let tessera = TesseraNode::start(&[]);
    let want = script(redis.port);
    let have = script(tessera.port);
    let diff: Vec<String> = want
        .iter()
        .zip(&have)
        .filter(|(w, h)| w != h)
        .map(|(w, h)| format!("redis:   {w:?}\ntessera: {h:?}"))
        .collect();
    assert!(diff.is_empty(), "{}", diff.join("\n"));
    assert_eq!(want.len(), have.len());
}

/// A client blocked on a slot that the node hands to another gets `-MOVED`, as from
/// redis-server; the same two-node setup runs on each kind.
fn moved_away(redis: bool) -> String {
    let a = Member::start(redis, &[]);
    let b = Member::start(redis, &[]);
    let mut ca = RawConnection::connect(a.port()).expect("connect");
    let mut cb = RawConnection::connect(b.port()).expect("connect");
    // Both serve slots before the move, so "ok" on both means each master already
    // counts the other: handing a slot to a freshly met empty master would make a
    // Tessera master wait out its write lease on the newcomer first.
    ca.command(&["CLUSTER", "ADDSLOTSRANGE", "0", "16382"])
        .expect("ADDSLOTSRANGE");
    cb.command(&["CLUSTER", "ADDSLOTS", "16383"])
        .expect("ADDSLOTS");
    let port = b.port().to_string();
    ca.command(&["CLUSTER", "MEET", "127.0.0.1", &port])
        .expect("MEET");
    let b_id = text(&cb.command(&["CLUSTER", "MYID"]).expect("MYID"));
    let known = wait_until(Duration::from_secs(10), || {
        let nodes = text(&ca.command(&["CLUSTER", "NODES"]).expect("NODES"));
        let settled = |c: &mut RawConnection| {
            let info = text(&c.command(&["CLUSTER", "INFO"]).expect("INFO"));
            info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:2")
        };
        nodes.contains(&b_id) && settled(&mut ca) && settled(&mut cb)
    });
    assert!(known, "the nodes never met");
    let mut waiter = RawConnection::connect(a.port()).expect("connect");
    let t = Transcript {
        port: a.port(),
        lines: Vec::new(),
    };
    // "kk" hashes to slot 2589.
    t.block(&mut waiter, &["BLPOP", "kk", "0"], 1);
    ca.command(&["CLUSTER", "SETSLOT", "2589", "NODE", &b_id])
        .expect("SETSLOT");
    let reply = text(&waiter.read_frame().expect("redirect"));
    let _ = CLUSTER_ARGS;
    reply.replace(&port, "<b>")
}

#[test]
fn blocked_client_follows_its_slot() {
    let want = "MOVED 2589 127.0.0.1:<b>";
    assert_eq!(moved_away(true), want);
    assert_eq!(moved_away(false), want);
}

/// A client blocked on a master whose replica takes over (CLUSTER FAILOVER) gets what
/// the same setup of the given kind sends it as its node turns replica.
fn failed_over(redis: bool) -> String {
    let a = Member::start(redis, &[]);
    let b = Member::start(redis, &[]);
    let mut ca = RawConnection::connect(a.port()).expect("connect");
    let mut cb = RawConnection::connect(b.port()).expect("connect");
    ca.command(&["CLUSTER", "ADDSLOTSRANGE", "0", "16383"])
        .expect("ADDSLOTSRANGE");
    let port = b.port().to_string();
    ca.command(&["CLUSTER", "MEET", "127.0.0.1", &port])
        .expect("MEET");
    let a_id = text(&ca.command(&["CLUSTER", "MYID"]).expect("MYID"));
    let met = wait_until(Duration::from_secs(10), || {
        let nodes = text(&cb.command(&["CLUSTER", "NODES"]).expect("NODES"));
        nodes.contains(&a_id)
    });
    assert!(met, "the nodes never met");
    let reply = text(
        &cb.command(&["CLUSTER", "REPLICATE", &a_id])
            .expect("REPLICATE"),
    );
    assert_eq!(reply, "OK");
    // The master must count its replica (a manual failover needs the master's
    // offset from it) and the replica be in sync before the handover can start.
    let ready = wait_until(Duration::from_secs(20), || {
        let nodes = text(&ca.command(&["CLUSTER", "NODES"]).expect("NODES"));
        let replica_known = nodes
            .lines()
            .any(|l| l.contains(&format!(":{port}@")) && l.contains("slave"));
        replica_known
            && tessera_tests::replication::caught_up(b.port(), a.port())
            && tessera_tests::cluster::wait_ok(&[a.port(), b.port()], Duration::ZERO)
    });
    assert!(ready, "the replica never got in sync");
    let mut waiter = RawConnection::connect(a.port()).expect("connect");
    let t = Transcript {
        port: a.port(),
        lines: Vec::new(),
    };
    t.block(&mut waiter, &["BLPOP", "kk", "0"], 1);
    let reply = text(&cb.command(&["CLUSTER", "FAILOVER"]).expect("FAILOVER"));
    assert_eq!(reply, "OK");
    let unblocked = text(&waiter.read_frame().expect("the waiter's reply"));
    // Once the handover is done, the old master follows the new one.
    let swapped = wait_until(Duration::from_secs(10), || {
        tessera_tests::cluster::is_master(b.port()) && !tessera_tests::cluster::is_master(a.port())
    });
    assert!(swapped, "the replica never took over");
    unblocked
}

#[test]
fn blocked_client_on_a_master_turned_replica() {
    let want = "UNBLOCKED force unblock from blocking operation, instance state changed \
                (master -> replica?)";
    assert_eq!(failed_over(true), want);
    assert_eq!(failed_over(false), want);
}
