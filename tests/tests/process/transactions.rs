//! MULTI/EXEC/DISCARD and WATCH against redis-server 7.0.15: queuing errors and
//! EXECABORT, errors inside EXEC, WATCH spoiled by other clients, by the watcher
//! itself and by FLUSHDB, blocking pops inside MULTI, a transaction's push waking a
//! blocked client only after the whole block, SELECT/MOVE/COPY inside a block, cluster
//! routing of a whole block (CROSSSLOT at EXEC), and a seeded mix of random
//! transactions with interleaved writes from a second client; every reply compared,
//! over RESP2 and RESP3. Then atomicity under concurrency on Tessera alone: readers
//! never see half of a transaction, and transactions locking slots in opposite orders
//! do not deadlock.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::twins::{Rng, Twins, serve_every_slot};
use tessera_resp::frame::Frame;
use tessera_tests::{RawConnection, RedisServer, TesseraNode, show, text, wait_until};

const DEBUG: [&str; 2] = ["--enable-debug-command", "yes"];

/// Sends a script of commands (whitespace-separated words) to both, comparing replies.
fn script(t: &mut Twins, lines: &[&str]) {
    for line in lines {
        let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        t.exact(&args);
    }
}

/// A client of its own on each kind, beside the twins' (the "other client").
struct Others {
    redis: RawConnection,
    tessera: RawConnection,
}

impl Others {
    fn connect(redis: u16, tessera: u16) -> Others {
        Others {
            redis: RawConnection::connect(redis).expect("connect"),
            tessera: RawConnection::connect(tessera).expect("connect"),
        }
    }

    /// Runs `line` on both, expecting the same reply.
    fn run(&mut self, t: &mut Twins, line: &str) {
        let args: Vec<&str> = line.split(' ').collect();
        let want = self.redis.command(&args).expect("redis answers");
        let have = self.tessera.command(&args).expect("tessera answers");
        if want != have {
            let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            t.note(&bytes, &want, &have);
        }
    }
}

fn fixed_cases(t: &mut Twins, o: &mut Others) {
    script(
        t,
        &[
            "FLUSHALL",
            "EXEC",
            "DISCARD",
            "MULTI",
            "MULTI",
            "SET a 1",
            "INCR a",
            "LPUSH l x y",
            "LRANGE l 0 -1",
            "HSET h f v",
            "HGETALL h",
            "EXEC",
            // A queuing error discards the whole block.
            "MULTI",
            "SET a",
            "INCR a",
            "EXEC",
            "GET a",
            "MULTI",
            "NOSUCHCOMMAND x",
            "EXEC",
            // Runtime errors answer in place; the rest runs.
            "SET s text",
            "MULTI",
            "INCR s",
            "LPUSH s x",
            "SET b 2",
            "EXEC",
            "MULTI",
            "WATCH a",
            "PING",
            "EXEC",
            "MULTI",
            "SET d 1",
            "DISCARD",
            "EXISTS d",
            // Blocking pops act as their non-blocking forms.
            "MULTI",
            "BLPOP empty 0",
            "BRPOPLPUSH empty other 0",
            "BLMOVE empty other LEFT RIGHT 0",
            "BZPOPMIN emptyz 0",
            "BLMPOP 0 1 empty LEFT",
            "BLPOP l 0",
            "EXEC",
            // Another database inside a block; the connection stays in it afterwards.
            "MULTI",
            "SELECT 1",
            "SET m one",
            "MOVE m 0",
            "SELECT 0",
            "GET m",
            "COPY m m2 DB 2",
            "DBSIZE",
            "EXEC",
            "SELECT 2",
            "GET m2",
            "SELECT 0",
            "MULTI",
            "SELECT 3",
            "SET n 1",
            "EXEC",
            "GET n",
            "SELECT 0",
            "MULTI",
            "FLUSHDB",
            "SET after 1",
            "DBSIZE",
            "EXEC",
        ],
    );
    // WATCH: another client's write spoils the transaction.
    script(t, &["WATCH a", "GET a"]);
    o.run(t, "SET a changed");
    script(t, &["MULTI", "SET a mine", "EXEC", "GET a"]);
    // The watcher's own write too; UNWATCH forgets; a missing key stays watched.
    script(
        t,
        &[
            "WATCH a",
            "SET a own",
            "MULTI",
            "GET a",
            "EXEC",
            "WATCH a",
            "UNWATCH",
            "SET a own2",
            "MULTI",
            "GET a",
            "EXEC",
            "WATCH missing",
            "MULTI",
            "SET missing now",
            "EXEC",
            "WATCH gone",
        ],
    );
    o.run(t, "SET gone here");
    script(t, &["MULTI", "GET gone", "EXEC"]);
    // A write that changes nothing, to an unrelated key, or a DISCARD.
    script(
        t,
        &[
            "WATCH a", "MULTI", "PING", "DISCARD", "MULTI", "GET a", "EXEC",
        ],
    );
    script(t, &["WATCH a"]);
    o.run(t, "SET unrelated 1");
    script(t, &["MULTI", "GET a", "EXEC"]);
    // FLUSHDB spoils watchers of keys that existed, not of missing ones.
    script(t, &["WATCH a"]);
    o.run(t, "FLUSHDB");
    script(t, &["MULTI", "PING", "EXEC", "WATCH stillmissing"]);
    o.run(t, "FLUSHALL");
    script(t, &["MULTI", "PING", "EXEC"]);
    // Every collection type inside one block.
    script(
        t,
        &[
            "MULTI",
            "SADD s1 a b c",
            "SCARD s1",
            "ZADD z 1 a 2 b",
            "ZRANGE z 0 -1 WITHSCORES",
            "ZINCRBY z 5 a",
            "RPUSH q 1 2 3",
            "LPOP q 2",
            "HINCRBY h n 3",
            "EXPIRE q 100",
            "TTL q",
            "DEL s1",
            "RENAME z z2",
            "TYPE z2",
            "EXEC",
        ],
    );
}

/// A transaction's push wakes a blocked client only after the whole block ran.
fn wakes_after_the_block(t: &mut Twins, redis: u16, tessera: u16) {
    let mut waiters = [
        RawConnection::connect(redis).expect("connect"),
        RawConnection::connect(tessera).expect("connect"),
    ];
    for (w, port) in waiters.iter_mut().zip([redis, tessera]) {
        w.send(&Frame::command([&b"BLPOP"[..], b"wq", b"0"]))
            .expect("send");
        let mut probe = RawConnection::connect(port).expect("connect");
        assert!(
            wait_until(Duration::from_secs(10), || {
                text(&probe.command(&["CLIENT", "LIST"]).expect("LIST")).contains("cmd=blpop")
            }),
            "the waiter blocked"
        );
    }
    script(
        t,
        &[
            "MULTI",
            "RPUSH wq a b",
            "LLEN wq",
            "LRANGE wq 0 -1",
            "EXEC",
            "LLEN wq",
        ],
    );
    let [r, s] = &mut waiters;
    let (want, have) = (
        r.read_frame().expect("served"),
        s.read_frame().expect("served"),
    );
    assert_eq!(show(&want), show(&have), "what the blocked client got");
}

/// Random transactions over a few keys, with a second client writing between WATCH
/// and EXEC now and then.
fn random_mix(t: &mut Twins, o: &mut Others, seed: u64, rounds: usize) {
    let mut rng = Rng(seed);
    let keys = ["k1", "k2", "{k1}x", "lst", "cnt"];
    let commands = |rng: &mut Rng| -> String {
        let k = rng.pick(&keys);
        match rng.below(12) {
            0 => format!("SET {k} v{}", rng.below(5)),
            1 => format!("INCR {k}"),
            2 => format!("GET {k}"),
            3 => format!("RPUSH {k} e{}", rng.below(5)),
            4 => format!("LPOP {k}"),
            5 => format!("DEL {k}"),
            6 => format!("APPEND {k} z"),
            7 => format!("EXISTS {k}"),
            8 => format!("SADD {k} m{}", rng.below(3)),
            9 => format!("EXPIRE {k} 1000"),
            10 => "INCR".to_string(),
            _ => format!("LRANGE {k} 0 -1"),
        }
    };
    for _ in 0..rounds {
        let watched = rng.pick(&keys);
        let watch = rng.chance(40);
        if watch {
            script(t, &[&format!("WATCH {watched}")]);
        }
        if rng.chance(30) {
            let c = commands(&mut rng);
            o.run(t, &c);
        }
        script(t, &["MULTI"]);
        for _ in 0..=rng.below(4) {
            let c = commands(&mut rng);
            script(t, &[&c]);
        }
        let end = if rng.chance(10) { "DISCARD" } else { "EXEC" };
        script(t, &[end]);
        if watch && end == "DISCARD" {
            script(t, &["UNWATCH"]);
        }
    }
}

#[test]
fn transactions_match_redis() {
    let redis = RedisServer::start(&DEBUG);
    let tessera = TesseraNode::start(&DEBUG);
    let mut t = Twins::connect(redis.port, tessera.port);
    let mut o = Others::connect(redis.port, tessera.port);
    for proto in [0, 1] {
        t.proto = proto;
        fixed_cases(&mut t, &mut o);
        t.assert_clean(&format!("fixed cases, RESP{}", proto + 2));
    }
    t.proto = 0;
    wakes_after_the_block(&mut t, redis.port, tessera.port);
    t.assert_clean("a transaction waking a blocked client");
    for seed in 1..=3 {
        t.proto = (seed % 2) as usize;
        random_mix(&mut t, &mut o, seed, 150);
        t.assert_clean(&format!("random mix, seed {seed}"));
    }
}

/// In cluster mode a whole block must hash to one slot: redis-server checks it at
/// EXEC, answering CROSSSLOT and discarding the block.
#[test]
fn a_cluster_block_must_use_one_slot() {
    let args = ["--cluster-enabled", "yes"];
    let redis = RedisServer::start(&args);
    let tessera = TesseraNode::start(&args);
    for port in [redis.port, tessera.port] {
        serve_every_slot(port);
    }
    let mut t = Twins::connect(redis.port, tessera.port);
    script(
        &mut t,
        &[
            "MULTI",
            "SET {u}a 1",
            "INCR {u}b",
            "MGET {u}a {u}b",
            "EXEC",
            "MULTI",
            "SET a 1",
            "MGET a b",
            "SET b 2",
            "EXEC",
            "GET a",
            "GET b",
            "MULTI",
            "PING",
            "EXEC",
            "WATCH a b",
            "WATCH {u}a",
            "MULTI",
            "GET {u}a",
            "EXEC",
        ],
    );
    t.assert_clean("cluster blocks");
}

/// Readers never see half of a transaction, and transactions taking the same slots in
/// opposite orders finish (no deadlock), on a Tessera node with several threads.
#[test]
fn transactions_are_atomic_under_concurrency() {
    let tessera = TesseraNode::start(&[]);
    let port = tessera.port;
    // "a" and "b" live in different slots, so each block locks two slots.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = |first: &'static str, second: &'static str| {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut c = RawConnection::connect(port).expect("connect");
            let mut done = 0u64;
            while !stop.load(Ordering::Relaxed) && done < 3000 {
                c.send(
                    &[
                        Frame::command([&b"MULTI"[..]]),
                        Frame::command([&b"INCR"[..], first.as_bytes()]),
                        Frame::command([&b"INCR"[..], second.as_bytes()]),
                        Frame::command([&b"EXEC"[..]]),
                    ]
                    .concat(),
                )
                .expect("send");
                for _ in 0..4 {
                    c.read_frame().expect("reply");
                }
                done += 1;
            }
            done
        })
    };
    let writers = [writer("a", "b"), writer("b", "a")];
    let mut reader = RawConnection::connect(port).expect("connect");
    let mut torn = Vec::new();
    let mut reads = 0;
    while !writers.iter().all(|w| w.is_finished()) {
        reader
            .send(
                &[
                    Frame::command([&b"MULTI"[..]]),
                    Frame::command([&b"GET"[..], b"a"]),
                    Frame::command([&b"GET"[..], b"b"]),
                    Frame::command([&b"EXEC"[..]]),
                ]
                .concat(),
            )
            .expect("send");
        for _ in 0..3 {
            reader.read_frame().expect("reply");
        }
        let exec = reader.read_frame().expect("EXEC");
        reads += 1;
        if let Frame::Array(v) = &exec {
            if v[0] != v[1] {
                torn.push(show(&exec));
            }
        }
        let mget = reader.command(&["MGET", "a", "b"]).expect("MGET");
        if let Frame::Array(v) = &mget {
            if v[0] != v[1] {
                torn.push(format!("MGET {}", show(&mget)));
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let total: u64 = writers.into_iter().map(|w| w.join().expect("writer")).sum();
    assert!(
        torn.is_empty(),
        "{} of {reads} reads saw half a block: {:?}",
        torn.len(),
        &torn[..torn.len().min(5)]
    );
    let a = reader.command(&["GET", "a"]).expect("GET");
    assert_eq!(
        text(&a),
        total.to_string(),
        "every INCR of every block applied"
    );
}
