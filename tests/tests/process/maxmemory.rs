//! maxmemory against redis-server 7.0.15: noeviction refuses writes with Redis's OOM
//! text (in MULTI at queue time, and at EXEC) while reads and deletes go on;
//! allkeys-random keeps used memory near the limit; volatile-ttl evicts the nearest
//! deadlines first and never a key without one; a replica of an evicting master ends
//! with the master's keys. The LRU and LFU policies are in `access_clock.rs`.

use std::time::Duration;

use tessera_resp::frame::Frame;
use tessera_tests::memory::{fill, info_u64, limit_above_used};
use tessera_tests::replication::{caught_up, follow};
use tessera_tests::{RawConnection, RedisServer, TesseraNode, show, text, wait_until};

const MB: u64 = 1024 * 1024;
const VALUE: usize = 1024;

fn is_error(f: &Frame) -> bool {
    matches!(f, Frame::Error(_))
}

/// Writes 1 KB values under `prefix` until the first refusal; answers its text and
/// how many writes were accepted.
fn write_until_refused(
    c: &mut RawConnection,
    prefix: &str,
    ttl: fn(u64) -> Option<u64>,
) -> (String, u64) {
    let mut accepted = 0;
    for round in 0..200u64 {
        let range = round * 1000..(round + 1) * 1000;
        let replies = fill(c, prefix, range, VALUE, ttl);
        if let Some(at) = replies.iter().position(is_error) {
            return (show(&replies[at]), accepted + at as u64);
        }
        accepted += 1000;
    }
    panic!("no refusal after 200,000 writes");
}

/// The noeviction script, run on one server: what each step answered.
fn noeviction_answers(port: u16) -> Vec<String> {
    let mut c = RawConnection::connect(port).expect("connect");
    let mut other = RawConnection::connect(port).expect("connect");
    let answers = std::cell::RefCell::new(vec![]);
    let say = |c: &mut RawConnection, args: &[&str]| {
        answers
            .borrow_mut()
            .push(show(&c.command(args).expect("reply")));
    };
    say(&mut c, &["SET", "kept", "v"]);
    // A transaction queued before the limit is reached, to EXEC after.
    say(&mut other, &["MULTI"]);
    say(&mut other, &["SET", "late", "v"]);
    limit_above_used(&mut c, 4 * MB);
    let (refusal, accepted) = write_until_refused(&mut c, "k:", |_| None);
    assert!(accepted > 1000, "only {accepted} writes before the limit");
    answers.borrow_mut().push(refusal);
    // The pipeline's own buffers are freed once it is answered, which may bring the
    // node back under the limit: single writes until one is refused put both
    // servers at the limit with nothing more to free.
    let value = "x".repeat(VALUE);
    let settled = (0..10_000).any(|i| {
        let key = format!("f:{i}");
        is_error(&c.command(&["SET", &key, &value]).expect("SET"))
    });
    assert!(settled, "single writes were never refused");
    // Writes as big as the refused one (smaller ones may fit in what its buffers
    // gave back).
    say(&mut c, &["SET", "new", &value]);
    say(&mut c, &["APPEND", "kept", &value]);
    say(&mut c, &["GET", "kept"]);
    say(&mut c, &["EXISTS", "k:0", "k:1"]);
    say(&mut c, &["STRLEN", "k:0"]);
    // In MULTI every queued command is refused, even a read; EXEC then aborts.
    say(&mut c, &["MULTI"]);
    say(&mut c, &["GET", "kept"]);
    say(&mut c, &["SET", "x", "y"]);
    say(&mut c, &["EXEC"]);
    // EXEC of a block that queued a write while there was room is refused now.
    say(&mut other, &["EXEC"]);
    say(&mut other, &["EXISTS", "late"]);
    say(&mut c, &["DEL", "k:0", "kept"]);
    say(&mut c, &["PING"]);
    // With the limit lifted writes are accepted again.
    say(&mut c, &["CONFIG", "SET", "maxmemory", "0"]);
    say(&mut c, &["SET", "new", "v"]);
    answers.into_inner()
}

#[test]
fn noeviction_refuses_writes_with_redis_oom_text_and_serves_reads() {
    let redis = RedisServer::start(&[]);
    let tessera = TesseraNode::start(&[]);
    let expected = noeviction_answers(redis.port);
    let got = noeviction_answers(tessera.port);
    assert_eq!(got, expected);
    assert!(
        expected
            .iter()
            .any(|a| a.contains("OOM command not allowed when used memory > 'maxmemory'.")),
        "{expected:?}"
    );
    let mut c = tessera.raw();
    assert_eq!(info_u64(&mut c, "evicted_keys"), 0);
    // The period over the limit ends once the limit is lifted (the background pass
    // notices), and its length stays in the total.
    let stats = text(&c.command(&["INFO", "stats"]).expect("INFO"));
    assert!(stats.contains("total_eviction_exceeded_time:"), "{stats}");
    assert!(
        wait_until(Duration::from_secs(5), || {
            info_u64(&mut c, "current_eviction_exceeded_time") == 0
        }),
        "the period over the limit never ended"
    );
}

#[test]
fn allkeys_random_keeps_used_memory_near_the_limit() {
    let tessera = TesseraNode::start(&["--maxmemory-policy", "allkeys-random"]);
    let mut c = tessera.raw();
    let limit = limit_above_used(&mut c, 16 * MB);
    // Three times the limit's headroom, and more than the limit itself in total.
    let writes = 3 * limit / VALUE as u64;
    let replies = fill(&mut c, "k:", 0..writes, VALUE, |_| None);
    assert!(!replies.iter().any(is_error), "a write was refused");
    let used = info_u64(&mut c, "used_memory");
    // The background eviction may still be finishing a pass: the two counts agree
    // once no eviction falls between their reads.
    let (mut keys, mut evicted) = (0, 0);
    assert!(
        wait_until(Duration::from_secs(10), || {
            evicted = info_u64(&mut c, "evicted_keys");
            keys = dbsize(&mut c);
            keys + evicted == writes && evicted == info_u64(&mut c, "evicted_keys")
        }),
        "every key written is kept or evicted: {keys} kept, {evicted} evicted, {writes} written"
    );
    assert!(evicted > 0, "nothing evicted");
    assert!(
        used <= limit + limit / 20,
        "used {used} is more than 5% over the limit {limit}"
    );
    assert!(
        used >= limit - limit / 5,
        "used {used} fell far below the limit {limit}: too much evicted"
    );
    // Lowering the limit evicts without any further write.
    let lower = limit - 8 * MB;
    c.command(&["CONFIG", "SET", "maxmemory", &lower.to_string()])
        .expect("CONFIG SET");
    assert!(
        wait_until(Duration::from_secs(10), || {
            info_u64(&mut c, "used_memory") <= lower + lower / 20
        }),
        "used memory stayed above the lowered limit {lower}"
    );
}

fn dbsize(c: &mut RawConnection) -> u64 {
    match c.command(&["DBSIZE"]).expect("DBSIZE") {
        Frame::Integer(n) => n as u64,
        other => panic!("DBSIZE: {}", show(&other)),
    }
}

/// The volatile-* script on one server: persistent keys, then keys whose TTL grows
/// with their number, past the limit, then persistent keys until refused. Answers
/// (how many volatile keys of the first and of the last quarter were left when the
/// first eviction pressure had passed, the refusal, whether every persistent key
/// written survived, the keys with a TTL at the end).
fn volatile_run(port: u16, policy: &str) -> (u64, u64, String, bool, u64) {
    let mut c = RawConnection::connect(port).expect("connect");
    c.command(&["CONFIG", "SET", "maxmemory-policy", policy])
        .expect("policy");
    let limit = limit_above_used(&mut c, 8 * MB);
    let persistent = 2 * MB / VALUE as u64;
    assert!(
        !fill(&mut c, "p:", 0..persistent, VALUE, |_| None)
            .iter()
            .any(is_error)
    );
    // Twice the headroom of volatile keys: the early (nearest) deadlines must go.
    let volatile = 2 * (limit - info_u64(&mut c, "used_memory")) / VALUE as u64;
    let replies = fill(&mut c, "v:", 0..volatile, VALUE, |i| Some(10_000 + i));
    assert!(
        !replies.iter().any(is_error),
        "a volatile write was refused"
    );
    let quarter = volatile / 4;
    let alive = |c: &mut RawConnection, range: std::ops::Range<u64>| -> u64 {
        range
            .filter(|i| {
                c.command(&["EXISTS", &format!("v:{i}")]).expect("EXISTS") == Frame::Integer(1)
            })
            .count() as u64
    };
    let first = alive(&mut c, 0..quarter);
    let last = alive(&mut c, volatile - quarter..volatile);
    let (refusal, more) = write_until_refused(&mut c, "q:", |_| None);
    let mut survived = true;
    for i in 0..persistent {
        survived &= c.command(&["EXISTS", &format!("p:{i}")]).expect("EXISTS") == Frame::Integer(1);
    }
    for i in 0..more {
        survived &= c.command(&["EXISTS", &format!("q:{i}")]).expect("EXISTS") == Frame::Integer(1);
    }
    let expires = text(&c.command(&["INFO", "keyspace"]).expect("INFO"))
        .split("expires=")
        .nth(1)
        .and_then(|s| s.split(',').next()?.parse().ok())
        .unwrap_or(0);
    (first, last, refusal, survived, expires)
}

#[test]
fn volatile_ttl_evicts_nearest_deadlines_first_and_never_persistent_keys() {
    let redis = RedisServer::start(&[]);
    let tessera = TesseraNode::start(&[]);
    let (r_first, r_last, r_refusal, r_survived, r_expires) =
        volatile_run(redis.port, "volatile-ttl");
    let (first, last, refusal, survived, expires) = volatile_run(tessera.port, "volatile-ttl");
    eprintln!(
        "volatile keys left in the first / last quarter of deadlines: \
         redis-server {r_first} / {r_last}, tessera {first} / {last}"
    );
    assert!(
        r_first < r_last && r_survived,
        "redis-server: {r_first} / {r_last}"
    );
    assert!(
        first * 2 < last,
        "nearest deadlines were not evicted first: {first} of the first quarter left, {last} of the last"
    );
    assert!(survived, "a key without a TTL was evicted");
    assert_eq!(refusal, r_refusal);
    assert_eq!(
        (expires, r_expires),
        (0, 0),
        "every volatile key went before the OOM"
    );
}

#[test]
fn volatile_random_evicts_only_keys_with_a_deadline() {
    let redis = RedisServer::start(&[]);
    let tessera = TesseraNode::start(&[]);
    let (_, _, r_refusal, r_survived, r_expires) = volatile_run(redis.port, "volatile-random");
    let (first, last, refusal, survived, expires) = volatile_run(tessera.port, "volatile-random");
    assert!(r_survived);
    assert!(survived, "a key without a TTL was evicted");
    assert!(
        first > 0 && last > 0,
        "random, not by deadline: {first} / {last}"
    );
    assert_eq!(refusal, r_refusal);
    assert_eq!(
        (expires, r_expires),
        (0, 0),
        "every volatile key went before the OOM"
    );
}

#[test]
fn a_replica_of_an_evicting_master_ends_with_the_masters_keys() {
    let master = TesseraNode::start(&["--maxmemory-policy", "allkeys-random"]);
    let replica = TesseraNode::start(&[]);
    follow(replica.port, master.port);
    let mut m = master.raw();
    let limit = limit_above_used(&mut m, 8 * MB);
    let writes = 3 * (limit - info_u64(&mut m, "used_memory")) / VALUE as u64;
    assert!(
        !fill(&mut m, "k:", 0..writes, VALUE, |_| None)
            .iter()
            .any(is_error)
    );
    assert!(
        info_u64(&mut m, "evicted_keys") > 0,
        "the master evicted nothing"
    );
    let mut r = replica.raw();
    // Polled as a whole: the master may finish an eviction pass in the background.
    assert!(
        wait_until(Duration::from_secs(10), || {
            caught_up(replica.port, master.port) && keys(&mut r) == keys(&mut m)
        }),
        "the replica did not end with the master's keys: {} / {}",
        dbsize(&mut r),
        dbsize(&mut m)
    );
    assert_eq!(
        info_u64(&mut r, "evicted_keys"),
        0,
        "the replica evicted by itself"
    );
}

fn keys(c: &mut RawConnection) -> Vec<String> {
    let mut all: Vec<String> = match c.command(&["KEYS", "*"]).expect("KEYS") {
        Frame::Array(items) => items.iter().map(show).collect(),
        other => panic!("KEYS: {}", show(&other)),
    };
    all.sort();
    all
}

#[test]
fn info_memory_shows_the_limit_and_policy() {
    let tessera = TesseraNode::start(&[]);
    let mut c = tessera.raw();
    c.command(&[
        "CONFIG",
        "SET",
        "maxmemory",
        "100mb",
        "maxmemory-policy",
        "volatile-ttl",
    ])
    .expect("CONFIG SET");
    let memory = text(&c.command(&["INFO", "memory"]).expect("INFO"));
    for line in [
        "maxmemory:104857600",
        "maxmemory_human:100.00M",
        "maxmemory_policy:volatile-ttl",
    ] {
        assert!(memory.contains(line), "{line} in {memory}");
    }
}
