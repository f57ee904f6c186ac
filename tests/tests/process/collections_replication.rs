//! Collections cross replication links between Tessera and redis-server 7.0 in both
//! directions: a full sync of hashes, lists, sets and sorted sets in every encoding
//! (listpack, quicklist, intset, hashtable, skiplist; small and large), then a stream of
//! writes of every type, including the commands whose replicated form differs from what
//! the client sent (SPOP, LMPOP, ZMPOP, HINCRBYFLOAT, the *STORE commands, expirations).
//! Both sides must end with the same `DEBUG DIGEST`; on a mismatch the failure names the
//! keys whose `DEBUG DIGEST-VALUE` differs.

use std::time::Duration;
use tessera_resp::frame::Frame;
use tessera_tests::replication::{caught_up, follow};
use tessera_tests::wire::show;
use tessera_tests::{RawConnection, RedisServer, TesseraNode, text, wait_until};

const DEBUG: [&str; 2] = ["--enable-debug-command", "yes"];

/// Sends one command and fails the test on an error reply.
fn run(c: &mut RawConnection, args: &[&str]) -> Frame {
    let reply = c.command(args).expect("a reply");
    assert!(
        !matches!(reply, Frame::Error(_)),
        "{args:?} answered {}",
        show(&reply)
    );
    reply
}

/// Sends one command built from owned strings.
fn run_owned(c: &mut RawConnection, args: &[String]) -> Frame {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(c, &args)
}

/// `cmd key` followed by `items`, as one variadic command.
fn variadic(c: &mut RawConnection, cmd: &str, key: &str, items: impl Iterator<Item = String>) {
    let mut args = vec![cmd.to_string(), key.to_string()];
    args.extend(items);
    run_owned(c, &args);
}

/// Data of every type and encoding written before the replica attaches, so it arrives
/// in the full sync's RDB.
fn populate(c: &mut RawConnection) {
    run(c, &["SET", "str", "plain"]);
    // Hashes: listpack, hashtable by count, hashtable by a long value, with a TTL.
    variadic(
        c,
        "HSET",
        "h:small",
        (0..10).flat_map(|i| [format!("f{i}"), format!("v{i}")]),
    );
    variadic(
        c,
        "HSET",
        "h:big",
        (0..400).flat_map(|i| [format!("f{i}"), i.to_string()]),
    );
    run(c, &["HSET", "h:long", "f", &"x".repeat(100), "n", "1.5"]);
    variadic(
        c,
        "HSET",
        "h:ttl",
        (0..5).flat_map(|i| [format!("f{i}"), format!("v{i}")]),
    );
    run(c, &["PEXPIRE", "h:ttl", "600000"]);
    // Lists: one listpack, a quicklist of many nodes, one with long elements.
    variadic(c, "RPUSH", "l:small", (0..20).map(|i| format!("e{i}")));
    variadic(c, "RPUSH", "l:big", (0..3000).map(|i| i.to_string()));
    variadic(
        c,
        "RPUSH",
        "l:long",
        (0..50).map(|i| format!("{i}{}", "y".repeat(200))),
    );
    variadic(c, "RPUSH", "l:q", (0..40).map(|i| format!("job{i}")));
    // Sets: intset, hashtable by count of integers, hashtable of strings.
    variadic(
        c,
        "SADD",
        "s:ints",
        (0..100).map(|i| (i * 7 - 300).to_string()),
    );
    variadic(c, "SADD", "s:bigints", (0..1000).map(|i| i.to_string()));
    variadic(c, "SADD", "s:strs", (0..200).map(|i| format!("m{i}")));
    variadic(
        c,
        "SADD",
        "s:tags",
        ["red", "green", "blue", "1", "2"]
            .map(String::from)
            .into_iter(),
    );
    variadic(
        c,
        "SADD",
        "s:other",
        ["green", "blue", "black", "2", "3"]
            .map(String::from)
            .into_iter(),
    );
    // Sorted sets: listpack and skiplist, with scores that round-trip only exactly.
    variadic(
        c,
        "ZADD",
        "z:small",
        (0..30).flat_map(|i| [format!("{}", i as f64 / 3.0), format!("m{i}")]),
    );
    variadic(
        c,
        "ZADD",
        "z:big",
        (0..500).flat_map(|i| [format!("{}", (i % 97) as f64 * 1.25), format!("p{i}")]),
    );
    run(
        c,
        &[
            "ZADD", "z:inf", "-inf", "low", "+inf", "high", "0", "zero", "1e-300", "tiny",
        ],
    );
    run(
        c,
        &[
            "ZADD", "z:other", "1", "m1", "2", "m2", "3", "p3", "4", "p4",
        ],
    );
}

/// The stream of writes after the replica attached: every type, including the
/// commands that replicate in another form than the client sent.
fn write_stream(c: &mut RawConnection) {
    for i in 0..5 {
        run(c, &["HINCRBYFLOAT", "h:small", "fl", "0.1"]);
        run(c, &["HINCRBY", "h:big", &format!("f{i}"), "7"]);
        run(c, &["SPOP", "s:strs"]);
        run(c, &["SPOP", "s:bigints", "3"]);
        run(c, &["SRANDMEMBER", "s:ints", "-5"]);
        run(c, &["LMPOP", "2", "l:none", "l:big", "LEFT", "COUNT", "4"]);
        run(c, &["ZMPOP", "2", "z:none", "z:big", "MAX", "COUNT", "2"]);
        run(c, &["RPOPLPUSH", "l:q", "l:done"]);
        run(c, &["LMOVE", "l:q", "l:done", "LEFT", "RIGHT"]);
        // Blocking forms that find their keys full pop at once and replicate as
        // their non-blocking forms (a short timeout if a key ran empty).
        run(c, &["BLMOVE", "l:q", "l:done", "RIGHT", "LEFT", "0.01"]);
        run(c, &["BRPOPLPUSH", "l:q", "l:done", "0.01"]);
        run(c, &["BLPOP", "l:none", "l:big", "0.01"]);
        run(c, &["BLMPOP", "0.01", "1", "l:big", "RIGHT", "COUNT", "2"]);
        run(c, &["BZPOPMAX", "z:none", "z:big", "0.01"]);
        run(c, &["BZMPOP", "0.01", "1", "z:big", "MIN", "COUNT", "2"]);
        run(c, &["SMOVE", "s:strs", "s:moved", &format!("m{}", 100 + i)]);
        run(c, &["ZINCRBY", "z:small", "0.5", &format!("m{i}")]);
    }
    run(c, &["HINCRBYFLOAT", "h:new", "x", "3.0e3"]);
    run(c, &["HSETNX", "h:small", "only", "once"]);
    run(c, &["HDEL", "h:big", "f10", "f11", "nope"]);
    // A listpack hash grows into a hashtable in the stream.
    variadic(
        c,
        "HSET",
        "h:small",
        (0..200).flat_map(|i| [format!("g{i}"), "v".into()]),
    );
    run(c, &["SPOP", "s:tags", "100"]); // the whole set: replicated as a deletion
    run(c, &["SADD", "s:tags", "red", "1"]);
    run(c, &["SINTERSTORE", "s:inter", "s:tags", "s:other"]);
    run(
        c,
        &["SUNIONSTORE", "s:union", "s:tags", "s:other", "s:ints"],
    );
    run(c, &["SDIFFSTORE", "s:diff", "s:other", "s:tags"]);
    run(c, &["SINTERSTORE", "s:empty", "s:tags", "s:none"]);
    run(c, &["SADD", "s:ints", "1000000000000"]); // still an intset, wider integers
    run(c, &["SADD", "s:ints", "not-a-number"]); // now a hashtable
    run(c, &["SREM", "s:ints", "-300", "-293"]);
    run(
        c,
        &[
            "ZRANGESTORE",
            "z:range",
            "z:big",
            "10",
            "(50",
            "BYSCORE",
            "LIMIT",
            "2",
            "20",
        ],
    );
    run(c, &["ZRANGESTORE", "z:rev", "z:small", "0", "5", "REV"]);
    run(
        c,
        &[
            "ZUNIONSTORE",
            "z:union",
            "2",
            "z:small",
            "z:other",
            "WEIGHTS",
            "2",
            "0.5",
            "AGGREGATE",
            "MAX",
        ],
    );
    run(c, &["ZINTERSTORE", "z:inter", "2", "z:small", "z:other"]);
    run(c, &["ZDIFFSTORE", "z:diff", "2", "z:other", "z:small"]);
    run(c, &["ZPOPMIN", "z:inf"]);
    run(c, &["ZADD", "z:small", "GT", "CH", "100", "m1", "-5", "m2"]);
    run(c, &["ZREMRANGEBYSCORE", "z:big", "-inf", "(5"]);
    run(c, &["ZREMRANGEBYRANK", "z:big", "0", "3"]);
    run(c, &["ZREMRANGEBYLEX", "z:other", "[p", "(q"]);
    run(c, &["LINSERT", "l:small", "BEFORE", "e5", "inserted"]);
    run(c, &["LSET", "l:small", "0", "first"]);
    run(c, &["LREM", "l:small", "1", "e7"]);
    run(c, &["LTRIM", "l:long", "5", "-5"]);
    run(c, &["LPUSH", "l:small", &"z".repeat(100)]); // a listpack node with a long entry
    run(c, &["LMPOP", "1", "l:q", "RIGHT", "COUNT", "1000"]); // empties and deletes it
    run(c, &["COPY", "h:big", "h:copy"]);
    run(c, &["RENAME", "s:union", "s:renamed"]);
    // Expirations: relative TTLs replicate as absolute deadlines; PERSIST; keys that
    // expire on the master leave the replica by the master's deletion.
    run(c, &["EXPIRE", "z:range", "1000"]);
    run(c, &["PEXPIRE", "l:done", "900000"]);
    run(c, &["EXPIRE", "h:copy", "5000"]);
    run(c, &["PERSIST", "h:copy"]);
    run(c, &["SET", "str2", "v", "EX", "100"]);
    for k in ["gone:h", "gone:l", "gone:s", "gone:z"] {
        run(c, &["DEL", k]);
    }
    run(c, &["HSET", "gone:h", "a", "1"]);
    run(c, &["RPUSH", "gone:l", "a"]);
    run(c, &["SADD", "gone:s", "a"]);
    run(c, &["ZADD", "gone:z", "1", "a"]);
    for k in ["gone:h", "gone:l", "gone:s", "gone:z"] {
        run(c, &["PEXPIRE", k, "200"]);
    }
}

/// The keys present on `port`.
fn keys(port: u16) -> Vec<String> {
    let reply = RawConnection::connect(port)
        .expect("connect")
        .command(&["KEYS", "*"])
        .expect("KEYS");
    let Frame::Array(items) = reply else {
        panic!("KEYS answered {reply:?}")
    };
    let mut keys: Vec<String> = items.iter().map(text).collect();
    keys.sort();
    keys
}

/// `DEBUG DIGEST` on `port`.
fn digest(port: u16) -> String {
    text(
        &RawConnection::connect(port)
            .expect("connect")
            .command(&["DEBUG", "DIGEST"])
            .expect("DEBUG DIGEST"),
    )
}

/// The keys whose value digests differ between the two nodes, or that one lacks.
fn differing_keys(a: u16, b: u16) -> Vec<String> {
    let (ka, kb) = (keys(a), keys(b));
    let mut out: Vec<String> = ka
        .iter()
        .filter(|k| !kb.contains(k))
        .chain(kb.iter().filter(|k| !ka.contains(k)))
        .map(|k| format!("{k} (on one side only)"))
        .collect();
    let (mut ca, mut cb) = (
        RawConnection::connect(a).expect("connect"),
        RawConnection::connect(b).expect("connect"),
    );
    for k in ka.iter().filter(|k| kb.contains(k)) {
        let da = ca.command(&["DEBUG", "DIGEST-VALUE", k]).expect("digest");
        let db = cb.command(&["DEBUG", "DIGEST-VALUE", k]).expect("digest");
        if da != db {
            out.push(format!("{k}: {} vs {}", show(&da), show(&db)));
        }
    }
    out
}

/// What both kinds wrap in MULTI/EXEC on their streams: a client's transaction; and,
/// with `scripts` (redis-server only: Tessera has no scripting yet), a script's effects.
fn blocks(c: &mut RawConnection, scripts: bool) {
    run(c, &["MULTI"]);
    run(c, &["HSET", "tx:h", "a", "1"]);
    run(c, &["RPUSH", "tx:l", "a", "b"]);
    run(c, &["SPOP", "s:bigints", "2"]);
    run(c, &["SELECT", "3"]);
    run(c, &["SET", "tx:other-db", "1"]);
    run(c, &["SELECT", "0"]);
    run(c, &["EXEC"]);
    if !scripts {
        return;
    }
    let script = "redis.call('SADD', KEYS[1], 'a', 'b', 'c'); \
                  redis.call('SPOP', KEYS[1]); \
                  return redis.call('ZINCRBY', KEYS[2], 2, 'm')";
    run(c, &["EVAL", script, "2", "lua:s", "lua:z"]);
}

/// Full sync, then the stream, then the same dataset on both sides.
fn carries_every_type(master: u16, replica: u16, scripts: bool) {
    let mut m = RawConnection::connect(master).expect("master");
    populate(&mut m);
    follow(replica, master);
    assert_eq!(
        digest(replica),
        digest(master),
        "after the full sync: {:?}",
        differing_keys(master, replica)
    );
    write_stream(&mut m);
    blocks(&mut m, scripts);
    // The short TTLs run out on the master, whose deletions then reach the replica.
    assert!(
        wait_until(Duration::from_secs(10), || {
            let mut c = RawConnection::connect(master).expect("master");
            run(&mut c, &["EXISTS", "gone:h", "gone:l", "gone:s", "gone:z"]) == Frame::Integer(0)
        }),
        "the short-lived keys expired on the master"
    );
    assert!(
        wait_until(Duration::from_secs(10), || caught_up(replica, master)
            && digest(replica) == digest(master)),
        "after the stream: {:?}",
        differing_keys(master, replica)
    );
    assert!(keys(replica).contains(&"s:renamed".to_string()));
    assert!(!keys(replica).contains(&"gone:z".to_string()));
    let ttl = RawConnection::connect(replica)
        .expect("replica")
        .command(&["PEXPIRETIME", "l:done"])
        .expect("PEXPIRETIME");
    let master_ttl = m.command(&["PEXPIRETIME", "l:done"]).expect("PEXPIRETIME");
    assert_eq!(ttl, master_ttl, "the same absolute deadline on both");
}

#[test]
fn redis_server_replicates_collections_from_tessera() {
    let master = TesseraNode::start(&DEBUG);
    let replica = RedisServer::start(&DEBUG);
    carries_every_type(master.port, replica.port, false);
}

#[test]
fn tessera_replicates_collections_from_redis_server() {
    let master = RedisServer::start(&DEBUG);
    let replica = TesseraNode::start(&DEBUG);
    carries_every_type(master.port, replica.port, true);
}
