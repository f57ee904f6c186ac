//! Keys' access clocks against redis-server 7.0.15: OBJECT IDLETIME and OBJECT FREQ
//! under each kind of policy (what is deterministic compared reply by reply: errors,
//! nils, a new key's LFU counter, the one access that always counts, lookups that do
//! not count, RESTORE's FREQ), and the LRU and LFU eviction policies keeping the keys
//! in use while they evict, on both servers.

use std::time::Duration;

use tessera_resp::frame::Frame;
use tessera_tests::memory::{fill, info_u64, limit_above_used};
use tessera_tests::{RawConnection, RedisServer, TesseraNode, show, text, wait_until};

use super::twins::Twins;

#[test]
fn object_idletime_and_freq_answer_as_redis() {
    let redis = RedisServer::start(&[]);
    let tessera = TesseraNode::start(&[]);
    let mut t = Twins::connect(redis.port, tessera.port);
    for proto in 0..2 {
        t.proto = proto;
        for line in [
            "FLUSHALL",
            // No decay within the test, whatever minute it crosses.
            "CONFIG SET lfu-decay-time 0",
            "CONFIG SET maxmemory-policy allkeys-lru",
            "SET k v",
            "OBJECT IDLETIME k",
            "OBJECT IDLETIME nokey",
            "OBJECT FREQ k",
            "OBJECT FREQ nokey",
            "OBJECT IDLETIME",
            "CONFIG SET maxmemory-policy allkeys-lfu",
            "OBJECT IDLETIME k",
            "OBJECT IDLETIME nokey",
            "SET fresh v",
            // A new key starts at 5; EXISTS, TYPE and TTL look without counting.
            "OBJECT FREQ fresh",
            "EXISTS fresh",
            "TYPE fresh",
            "TTL fresh",
            "OBJECT FREQ fresh",
            // At 5 an access always counts (beyond, only with some probability).
            "GET fresh",
            "OBJECT FREQ fresh",
            "SET fresh2 v",
            "TOUCH fresh2 nokey",
            "OBJECT FREQ fresh2",
            "CONFIG SET maxmemory-policy volatile-lfu",
            "CONFIG GET lfu-log-factor",
            "CONFIG SET lfu-log-factor -1",
            "CONFIG SET lfu-log-factor 20",
            "CONFIG GET lfu-log-factor",
            "CONFIG SET lfu-log-factor 10",
            "CONFIG SET maxmemory-policy noeviction",
            "CONFIG SET lfu-decay-time 1",
        ] {
            t.exact_line(line);
        }
        // RESTORE's FREQ sets the counter under an LFU policy, IDLETIME is ignored
        // there, and the reverse under the others.
        let Frame::Bulk(payload) = t.tessera_only(&[b"DUMP", b"k"]) else {
            panic!("DUMP k");
        };
        let restores: [&[&[u8]]; 4] = [
            &[b"CONFIG", b"SET", b"maxmemory-policy", b"allkeys-lfu"],
            &[b"RESTORE", b"f", b"0", &payload, b"FREQ", b"77"],
            &[b"OBJECT", b"FREQ", b"f"],
            &[b"RESTORE", b"i", b"0", &payload, b"IDLETIME", b"500"],
        ];
        for args in restores {
            t.exact(args);
        }
        for line in [
            "OBJECT FREQ i",
            "CONFIG SET maxmemory-policy allkeys-lru",
            "RESTORE j 0 x IDLETIME -1",
            "RESTORE j 0 x FREQ 256",
            "CONFIG SET maxmemory-policy noeviction",
        ] {
            t.exact_line(line);
        }
        let idle = |c: &mut Twins, server: &str| -> i64 {
            let args: [&[u8]; 3] = [b"OBJECT", b"IDLETIME", b"idle"];
            let reply = if server == "redis" {
                c.redis_only(&args)
            } else {
                c.tessera_only(&args)
            };
            match reply {
                Frame::Integer(n) => n,
                other => panic!("OBJECT IDLETIME on {server}: {}", show(&other)),
            }
        };
        let restore: [&[u8]; 6] = [b"RESTORE", b"idle", b"0", &payload, b"IDLETIME", b"500"];
        t.exact(&restore);
        for server in ["redis", "tessera"] {
            let seconds = idle(&mut t, server);
            assert!((500..=502).contains(&seconds), "{server}: {seconds}");
        }
    }
    t.assert_clean("OBJECT IDLETIME / FREQ");
}

/// Keys written before the ones in use and never read again.
const OLD: u64 = 5000;
/// Keys read again and again while new keys push the node over its limit.
const HOT: u64 = 300;
/// New keys written in rounds, each round reading every hot key first.
const ROUNDS: u64 = 8;
const PER_ROUND: u64 = 500;
const VALUE: usize = 1024;

fn read_all(c: &mut RawConnection, prefix: &str, count: u64) -> Vec<Frame> {
    let mut bytes = Vec::new();
    for i in 0..count {
        let key = format!("{prefix}{i}");
        bytes.extend(Frame::command([b"GET".as_slice(), key.as_bytes()]));
    }
    c.send(&bytes).expect("send");
    (0..count).map(|_| c.read_frame().expect("reply")).collect()
}

fn existing(c: &mut RawConnection, prefix: &str, count: u64) -> u64 {
    read_all(c, prefix, count)
        .iter()
        .filter(|f| matches!(f, Frame::Bulk(_)))
        .count() as u64
}

/// Runs the scenario under `policy` on the server at `port`: old keys, then (once
/// they are measurably older, for LRU's one-second clock) hot keys read before each
/// round of new writes past the limit. Answers (hot keys left, old keys evicted,
/// keys evicted).
fn keeps_the_keys_in_use(port: u16, policy: &str) -> (u64, u64, u64) {
    let mut c = RawConnection::connect(port).expect("connect");
    let ok = c
        .command(&["CONFIG", "SET", "maxmemory-policy", policy])
        .expect("CONFIG SET");
    assert_eq!(text(&ok), "OK");
    let reject = |replies: Vec<Frame>| {
        assert!(
            !replies.iter().any(|f| matches!(f, Frame::Error(_))),
            "{policy}: a write was refused"
        );
    };
    reject(fill(&mut c, "old:", 0..OLD, VALUE, |_| Some(3600)));
    if policy.ends_with("lru") {
        assert!(
            wait_until(Duration::from_secs(10), || {
                matches!(c.command(&["OBJECT", "IDLETIME", "old:0"]), Ok(Frame::Integer(n)) if n >= 2)
            }),
            "the old keys never aged"
        );
    }
    reject(fill(&mut c, "hot:", 0..HOT, VALUE, |_| Some(3600)));
    // Room for the hot keys and half the new ones: the rest must come out of the
    // old keys.
    let per_key = VALUE as u64 + 200;
    limit_above_used(&mut c, ROUNDS * PER_ROUND * per_key / 2);
    for round in 0..ROUNDS {
        for _ in 0..if policy.ends_with("lfu") { 3 } else { 1 } {
            read_all(&mut c, "hot:", HOT);
        }
        let range = round * PER_ROUND..(round + 1) * PER_ROUND;
        reject(fill(&mut c, "new:", range, VALUE, |_| Some(3600)));
    }
    let evicted = info_u64(&mut c, "evicted_keys");
    let hot = existing(&mut c, "hot:", HOT);
    let old = OLD - existing(&mut c, "old:", OLD);
    c.command(&["FLUSHALL"]).expect("FLUSHALL");
    c.command(&["CONFIG", "SET", "maxmemory", "0"])
        .expect("CONFIG SET");
    c.command(&["CONFIG", "RESETSTAT"]).expect("RESETSTAT");
    (hot, old, evicted)
}

#[test]
fn lru_and_lfu_policies_evict_the_keys_not_in_use() {
    let redis = RedisServer::start(&[]);
    let tessera = TesseraNode::start(&[]);
    for policy in ["allkeys-lru", "volatile-lru", "allkeys-lfu", "volatile-lfu"] {
        for (server, port) in [("redis", redis.port), ("tessera", tessera.port)] {
            let (hot, old, evicted) = keeps_the_keys_in_use(port, policy);
            let what =
                format!("{policy} on {server}: hot {hot}, old evicted {old}, evicted {evicted}");
            assert!(evicted > 500, "{what}");
            assert!(hot >= HOT * 98 / 100, "{what}");
            if policy.ends_with("lru") {
                assert!(old >= evicted * 9 / 10, "{what}");
            }
        }
    }
}
