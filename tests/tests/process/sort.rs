//! SORT and SORT_RO against redis-server 7.0.15: every option (BY with keys and hash
//! fields, `nosort`, LIMIT, GET `#`/keys/fields, ASC/DESC, ALPHA, STORE) on lists, sets
//! and sorted sets of both encodings, numeric errors, argument errors, what STORE
//! leaves behind, and Redis 7.0's refusals in cluster mode; RESP2 and RESP3.

use tessera_resp::frame::Frame;
use tessera_tests::{RawConnection, RedisServer, TesseraNode};

use super::twins::Twins;

/// The data every case reads, written to both servers.
const SETUP: &[&[&str]] = &[
    &[
        "RPUSH", "l", "5", "3", "1", "4", "2", "10", "-1", "3.5", "3",
    ],
    &["RPUSH", "sl", "b", "a", "c", "", "B", "aa", "10", "9"],
    &["RPUSH", "bl", "3", "1", "2", "5", "10"],
    &["RPUSH", "bad", "1", "x", "2"],
    &["RPUSH", "big", "1e400", "2"],
    &["SADD", "si", "5", "3", "100", "-7", "0"],
    &["SADD", "ss", "b", "a", "c", "1", "2"],
    &["ZADD", "z", "1", "c", "2", "a", "3", "b", "4", "d"],
    &[
        "MSET", "w_1", "30", "w_2", "10", "w_3", "20", "w_4", "x", "w_5", " 5",
    ],
    &["MSET", "w_a", "3", "w_b", "1", "w_c", "2", "w_d", "0x10"],
    &[
        "MSET", "k_a", "ka", "k_b", "kb", "k_1", "k1", "k_3", "k3", "k_10", "k10",
    ],
    &["HSET", "h_a", "f", "9", "g", "ga"],
    &["HSET", "h_b", "f", "8"],
    &["HSET", "h_c", "f", "7", "g", "gc"],
    &["HSET", "h_1", "f", "1"],
    &["HSET", "h_3", "f", "-3"],
    &["SET", "str", "x"],
    &["HSET", "hash", "f", "v"],
];

/// Calls compared exactly (sets in their own order only where that order is defined).
const CASES: &[&str] = &[
    "SORT l",
    "SORT l DESC",
    "SORT l LIMIT 1 3",
    "SORT l DESC LIMIT 2 100",
    "SORT l LIMIT -5 2",
    "SORT l LIMIT 3 -1",
    "SORT l LIMIT 100 3",
    "SORT l LIMIT 0 0",
    "SORT l ALPHA",
    "SORT l ALPHA DESC",
    "SORT l ASC DESC ASC",
    "SORT l BY nosort",
    "SORT l BY nosort DESC",
    "SORT l BY nosort LIMIT 2 3",
    "SORT l BY nosort DESC LIMIT 2 3",
    "SORT l BY nosort DESC LIMIT 9 3",
    "SORT l BY w_* ",
    "SORT l BY w_* DESC LIMIT 0 3",
    "SORT l BY w_*  GET # GET k_*",
    "SORT l BY h_*->f",
    "SORT bl BY w_*",
    "SORT bl BY w_* DESC LIMIT 1 3 GET # GET k_* GET h_*->f",
    "SORT bl BY w_* ALPHA",
    "SORT bl BY h_*->f GET h_*->f",
    "SORT bl BY w_* STORE dst GET k_*",
    "LRANGE dst 0 -1",
    "SORT l BY h_*->",
    "SORT l BY nosort GET k_* GET # GET h_*->f GET nostar GET h_*->g",
    "SORT l GET str GET hash",
    "SORT sl",
    "SORT sl ALPHA",
    "SORT sl ALPHA DESC LIMIT 1 4",
    "SORT bad",
    "SORT bad ALPHA",
    "SORT bad LIMIT 0 1",
    "SORT si",
    "SORT si DESC LIMIT 1 2",
    "SORT si BY nosort",
    "SORT si GET w_*",
    "SORT ss ALPHA",
    "SORT ss",
    "SORT ss ALPHA BY w_*",
    "SORT ss BY w_* GET h_*->f",
    "SORT z",
    "SORT z ALPHA",
    "SORT z BY nosort",
    "SORT z BY nosort DESC LIMIT 1 2",
    "SORT z BY nosort LIMIT 3 10",
    "SORT z BY w_*",
    "SORT z BY w_* DESC GET # GET k_*",
    "OBJECT ENCODING z",
    "SORT missing",
    "SORT missing BY nosort GET #",
    "SORT str",
    "SORT hash",
    "SORT_RO l DESC ALPHA",
    "SORT_RO l STORE dst",
    "SORT l LIMIT x 1",
    "SORT l LIMIT 1",
    "SORT l LIMIT 1 y",
    "SORT l STORE",
    "SORT l GET",
    "SORT l BY",
    "SORT l BOGUS",
    "SORT str LIMIT 1",
    "SORT l STORE dst",
    "LRANGE dst 0 -1",
    "OBJECT ENCODING dst",
    "SORT sl ALPHA STORE dst GET k_* GET #",
    "LRANGE dst 0 -1",
    "SORT ss BY nosort STORE dst",
    "LRANGE dst 0 -1",
    "SORT si BY nosort STORE dst",
    "LRANGE dst 0 -1",
    "EXPIRE dst 100",
    "SORT z BY nosort STORE dst LIMIT 1 2",
    "TTL dst",
    "LRANGE dst 0 -1",
    "SORT bad STORE dst",
    "LRANGE dst 0 -1",
    "SORT missing STORE dst",
    "EXISTS dst",
    "SORT missing STORE dst",
    "SORT l STORE str",
    "TYPE str",
];

fn words(line: &str) -> Vec<Vec<u8>> {
    line.split(' ')
        .filter(|w| !w.is_empty())
        .map(|w| w.as_bytes().to_vec())
        .collect()
}

fn run_cases(t: &mut Twins) {
    t.exact(&[b"FLUSHALL"]);
    for setup in SETUP {
        let args: Vec<&[u8]> = setup.iter().map(|w| w.as_bytes()).collect();
        t.exact(&args);
    }
    for line in CASES {
        let args = words(line);
        let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        // A hash-table set without STORE keeps its own (per-process) order.
        let set_order = (line.contains(" ss ") || line.ends_with(" ss"))
            && line.contains("nosort")
            && !line.contains("STORE");
        if set_order {
            t.unordered(&refs);
        } else {
            t.exact(&refs);
        }
    }
}

/// A sorted set past zset-max-listpack-entries, sorted every way.
fn skiplist_cases(t: &mut Twins) {
    let mut args: Vec<Vec<u8>> = vec![b"ZADD".to_vec(), b"bigz".to_vec()];
    for i in 0..200 {
        args.push(format!("{}", (i * 37) % 101).into_bytes());
        args.push(format!("m{i}").into_bytes());
    }
    let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    t.exact(&refs);
    for line in [
        "SORT bigz ALPHA LIMIT 10 5",
        "SORT bigz BY nosort LIMIT 10 5",
        "SORT bigz BY nosort DESC LIMIT 190 50",
        "SORT bigz ALPHA DESC STORE dst",
        "LRANGE dst 0 4",
    ] {
        let args = words(line);
        let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        t.exact(&refs);
    }
}

#[test]
fn sort_matches_redis() {
    let redis = RedisServer::start(&[]);
    let tessera = TesseraNode::start(&[]);
    let mut t = Twins::connect(redis.port, tessera.port);
    for proto in 0..2 {
        t.proto = proto;
        run_cases(&mut t);
        skiplist_cases(&mut t);
    }
    // Last: redis-server 7.0 reads strtod's errno without clearing it first, so after
    // an overflowing weight its next numeric sorts may fail too until errno changes.
    t.exact(&[b"SORT", b"big"]);
    t.assert_clean("sort");
}

/// Waits until `port`'s cluster is ok after taking every slot.
fn own_every_slot(port: u16) {
    let mut c = RawConnection::connect(port).expect("connect");
    c.command(&["CLUSTER", "ADDSLOTSRANGE", "0", "16383"])
        .expect("ADDSLOTSRANGE");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let info = c.command(&["CLUSTER", "INFO"]).expect("CLUSTER INFO");
        if tessera_tests::show(&info).contains("cluster_state:ok") {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "cluster never ok");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn sort_patterns_are_refused_in_cluster_mode() {
    let redis = RedisServer::start(&["--cluster-enabled", "yes"]);
    let tessera = TesseraNode::start(&["--cluster-enabled", "yes"]);
    own_every_slot(redis.port);
    own_every_slot(tessera.port);
    let mut t = Twins::connect(redis.port, tessera.port);
    for line in [
        "RPUSH l 3 1 2",
        "SORT l",
        "SORT l BY w_*",
        "SORT l BY nosort",
        "SORT l BY nosort DESC",
        "SORT l GET #",
        "SORT l GET x_*",
        "SORT l BY l{l}*",
        "SORT_RO l GET #",
        "SORT l LIMIT x 1 GET #",
        "SORT l GET # LIMIT x 1",
        "SORT {l}x STORE {l}y BY w",
        "SORT l STORE x",
    ] {
        let args = words(line);
        let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        t.exact(&refs);
    }
    t.assert_clean("sort in cluster mode");
}

#[test]
fn sort_store_reaches_a_redis_replica() {
    let debug = ["--enable-debug-command", "yes"];
    let master = TesseraNode::start(&debug);
    let replica = RedisServer::start(&[
        "--enable-debug-command",
        "yes",
        "--repl-diskless-sync-delay",
        "0",
    ]);
    let mut m = master.raw();
    tessera_tests::replication::follow(replica.port, master.port);
    let writes: &[&[&str]] = &[
        &["RPUSH", "l", "3", "1", "2"],
        &["SADD", "s", "b", "c", "a", "1"],
        &["MSET", "w_1", "3", "w_2", "2", "w_3", "1", "k_1", "x"],
        &["SORT", "l", "STORE", "d1"],
        &[
            "SORT", "l", "BY", "w_*", "GET", "#", "GET", "k_*", "STORE", "d2",
        ],
        // A set's own order is not a replica's: STORE sorts it.
        &["SORT", "s", "BY", "nosort", "STORE", "d3"],
        &["SORT", "missing", "STORE", "d1"],
    ];
    for w in writes {
        m.command(w).expect("write");
    }
    assert_eq!(
        m.command(&["WAIT", "1", "5000"]).expect("WAIT"),
        Frame::Integer(1)
    );
    let mut r = RawConnection::connect(replica.port).expect("connect");
    assert_eq!(
        r.command(&["DEBUG", "DIGEST"]).expect("digest"),
        m.command(&["DEBUG", "DIGEST"]).expect("digest")
    );
    assert_eq!(
        r.command(&["EXISTS", "d1"]).expect("EXISTS"),
        Frame::Integer(0)
    );
}
