//! Keyspace notifications of classes n (`new`, a key added) and m (`keymiss`, a read
//! lookup that found nothing) against redis-server 7.0.15, with the harness of
//! `notifications`: every corpus of the other classes with n and m on beside them
//! (so the order of `new` against the command's own event is checked everywhere),
//! the reads that do and do not raise `keymiss`, keys found expired before a miss or
//! an add, and a seeded random mix over every class.

use std::time::Duration;

use tessera_resp::frame::Frame;
use tessera_tests::wait_until;

use super::notifications::{Pair, fill_templates, generic_and_string, hashes, lines, sets};
use super::notifications_lz::{lists, serve_blocked, zsets};

/// Reads of missing keys: the lookups that raise `keymiss` in Redis 7.0 (EXISTS,
/// TYPE and TOUCH among them) and those that do not (OBJECT, MEMORY USAGE, writes).
fn reads() -> Vec<String> {
    lines(&[
        "EXISTS a b",
        "TYPE a",
        "TOUCH a",
        "OBJECT ENCODING a",
        "MEMORY USAGE a",
        "TTL a",
        "PTTL a",
        "GET a",
        "MGET a b",
        "STRLEN a",
        "GETRANGE a 0 1",
        "DUMP a",
        "HGET a f",
        "HGETALL a",
        "HLEN a",
        "SMEMBERS a",
        "SISMEMBER a m",
        "SINTER a b",
        "LRANGE a 0 -1",
        "LLEN a",
        "LINDEX a 0",
        "ZRANGE a 0 -1",
        "ZSCORE a m",
        "ZCARD a",
        "RPUSH l 2 1",
        "SORT l BY w_* GET v_*",
        "SORT a",
        "SET a 1",
        "GET a",
        "GETDEL b",
        "INCR b",
        "DEL b c",
        "EXPIRE c 10",
        "PERSIST c",
        "RENAME c d",
        "LPOP c",
        "HDEL c f",
        "SREM c m",
        "ZREM c m",
        "COPY c d",
        "SUNIONSTORE d c e",
        "ZUNIONSTORE d 2 c e",
        "GETEX c",
        "APPEND c x",
        "SETRANGE d 2 y",
    ])
}

/// A seeded random mix of commands of every class over a few keys, so keys change
/// type, are added and removed in every way.
fn mix_all(seed: u64, n: usize) -> Vec<String> {
    let templates = [
        "SET {k} {v}",
        "SET {k} {v} NX",
        "GET {k}",
        "APPEND {k} {v}",
        "INCR {k}",
        "GETDEL {k}",
        "DEL {k} {j}",
        "EXISTS {k}",
        "RENAME {k} {j}",
        "COPY {k} {j} REPLACE",
        "EXPIRE {k} 0",
        "HSET {k} f{v} {v}",
        "HDEL {k} f{v}",
        "HGET {k} f{v}",
        "HINCRBY {k} f{v} 2",
        "SADD {k} {v}",
        "SREM {k} {v}",
        "SPOP {k}",
        "SMOVE {k} {j} {v}",
        "SINTERSTORE {k} {j} {k}",
        "SUNIONSTORE {j} {k}",
        "RPUSH {k} {v}",
        "LPUSHX {k} {v}",
        "LPOP {k}",
        "RPOP {k} 2",
        "LMOVE {k} {j} LEFT RIGHT",
        "LRANGE {k} 0 -1",
        "LTRIM {k} 0 1",
        "LREM {k} 0 {v}",
        "LINSERT {k} BEFORE {v} x",
        "ZADD {k} {v} m{v}",
        "ZINCRBY {k} 1 m{v}",
        "ZREM {k} m{v}",
        "ZPOPMIN {k}",
        "ZRANGE {k} 0 -1",
        "ZUNIONSTORE {j} 2 {k} {j}",
        "ZRANGESTORE {j} {k} 0 0",
        "ZREMRANGEBYRANK {k} 0 0",
        "SORT {k} STORE {j}",
        "TYPE {k}",
        "MOVE {k} 1",
    ];
    fill_templates(&templates, seed, n, 4, 5)
}

#[test]
fn new_and_keymiss_events_match_redis() {
    let mut mismatches = Vec::new();
    let runs = [
        ("KEAnm", false),
        ("KEn", true),
        ("Em", false),
        ("Kmn", true),
        ("KEAn", true),
        ("Kg$lshzn", false),
    ];
    for (classes, resp3) in runs {
        let mut pair = Pair::start(classes, resp3);
        let label = format!("{classes} RESP{}", if resp3 { 3 } else { 2 });
        // Keys set in the past go when a command meets them, not at the whim of
        // either server's active cycle.
        let mut corpus = lines(&["DEBUG SET-ACTIVE-EXPIRE 0"]);
        corpus.extend(generic_and_string());
        corpus.extend(hashes());
        corpus.extend(sets());
        corpus.extend(lists());
        corpus.extend(zsets());
        corpus.push("FLUSHALL".into());
        corpus.extend(reads());
        assert!(
            pair.run(&label, &corpus) > 20,
            "{label}: events were raised"
        );
        let random = pair.run_each(&format!("{label} random"), &mix_all(11, 600));
        // A mismatch stops the mix early: it is reported below instead.
        assert!(
            random > 20 || !pair.mismatches.is_empty(),
            "{label}: random mix"
        );
        serve_blocked(&mut pair);
        mismatches.append(&mut pair.mismatches);
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// Waits until `probe` has expired on both servers, without reading it (a read
/// would raise `keymiss`).
fn wait_expired(pair: &mut Pair, probe: &str) {
    for side in [&mut pair.redis, &mut pair.tessera] {
        let gone = wait_until(Duration::from_secs(5), || {
            side.writer.command(&["PTTL", probe]).expect("PTTL") == Frame::Integer(-2)
        });
        assert!(gone, "{probe} expired");
    }
}

#[test]
fn expired_keys_come_before_the_miss_or_the_add() {
    let mut mismatches = Vec::new();
    for resp3 in [false, true] {
        let mut pair = Pair::start("KEAnm", resp3);
        let mut setup = vec!["DEBUG SET-ACTIVE-EXPIRE 0".to_string()];
        setup.extend((1..=8).map(|i| format!("SET x{i} v PX 1")));
        setup.push("SET probe v PX 1".into());
        pair.run("setup", &setup);
        wait_expired(&mut pair, "probe");
        pair.run(
            "expired, then",
            &lines(&[
                "GET x1",
                "SET x2 w",
                "RPUSH x3 a",
                "EXISTS x4",
                "HSET x5 f v",
                "ZADD x6 1 m",
                "MSET x7 a x8 b",
            ]),
        );
        mismatches.append(&mut pair.mismatches);
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
