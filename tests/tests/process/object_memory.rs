//! OBJECT FREQ / REFCOUNT / HELP and MEMORY USAGE against redis-server 7.0.15: what is
//! deterministic is compared exactly (nils, argument errors, the no-LFU error, shared
//! integers); MEMORY USAGE's numbers are Tessera's own footprint, so for those the
//! test checks that they grow with the value, for every type and encoding.

use tessera_resp::frame::Frame;
use tessera_tests::{RedisServer, TesseraNode};

use super::twins::Twins;

fn words(line: &str) -> Vec<Vec<u8>> {
    line.split(' ').map(|w| w.as_bytes().to_vec()).collect()
}

fn usage(t: &mut Twins, key: &str) -> i64 {
    let args = words(&format!("MEMORY USAGE {key} SAMPLES 0"));
    let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    match t.tessera_only(&refs) {
        Frame::Integer(n) => n,
        other => panic!("MEMORY USAGE {key}: {other:?}"),
    }
}

/// A key, the command that grows it, and the arguments of its i-th item.
type Growth = (&'static str, &'static str, fn(usize) -> String);

#[test]
fn object_and_memory_usage_match_redis() {
    let redis = RedisServer::start(&[]);
    let tessera = TesseraNode::start(&[]);
    let mut t = Twins::connect(redis.port, tessera.port);
    for proto in 0..2 {
        t.proto = proto;
        for line in [
            "FLUSHALL",
            "MSET zero 0 small 9999 big 10000 neg -1 text hello float 1.5",
            "RPUSH l a b",
            "OBJECT FREQ nokey",
            "OBJECT FREQ small",
            "OBJECT REFCOUNT nokey",
            "OBJECT REFCOUNT zero",
            "OBJECT REFCOUNT small",
            "OBJECT REFCOUNT big",
            "OBJECT REFCOUNT neg",
            "OBJECT REFCOUNT text",
            "OBJECT REFCOUNT float",
            "OBJECT REFCOUNT l",
            "APPEND small 1",
            "OBJECT REFCOUNT small",
            "INCR zero",
            "OBJECT REFCOUNT zero",
            "MEMORY USAGE nokey",
            "MEMORY USAGE nokey SAMPLES 0",
            "MEMORY USAGE text SAMPLES",
            "MEMORY USAGE text SAMPLES x",
            "MEMORY USAGE text SAMPLES -1",
            "MEMORY USAGE text FOO 1",
            "MEMORY USAGE text SAMPLES 1 SAMPLES",
            "MEMORY USAGE",
            "OBJECT FREQ",
            "OBJECT HELP",
        ] {
            t.exact_line(line);
        }
    }
    t.assert_clean("OBJECT and MEMORY");

    // Every type and encoding grows with its contents.
    let grow: [Growth; 8] = [
        ("str", "APPEND", |i| format!("{i:08}")),
        ("list", "RPUSH", |i| format!("element-{i}")),
        ("lpset", "SADD", |i| format!("m{i}")),
        ("intset", "SADD", |i| format!("{i}")),
        ("hash", "HSET", |i| format!("f{i} value-{i}")),
        ("zset", "ZADD", |i| format!("{i} member-{i}")),
        ("bighash", "HSET", |i| {
            format!("field-with-a-long-name-{i} v")
        }),
        ("bigzset", "ZADD", |i| {
            format!("{i} a-long-member-name-number-{i}")
        }),
    ];
    for (key, command, item) in grow {
        let mut last = 0;
        for round in 0..6 {
            // Rounds of growing size cross every encoding threshold.
            let count = [1, 10, 100, 300, 1000, 3000][round];
            for start in (0..count).step_by(100) {
                let items: Vec<String> = (start..(start + 100).min(count)).map(item).collect();
                // APPEND takes one value: the round's items as one.
                let sep = if command == "APPEND" { "" } else { " " };
                let line = format!("{command} {key} {}", items.join(sep));
                let args = words(&line);
                let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
                t.tessera_only(&refs);
            }
            let now = usage(&mut t, key);
            assert!(now > last, "{key}: {now} after {count} adds, was {last}");
            last = now;
            t.tessera_only(&[b"DEL", key.as_bytes()]);
        }
    }
}
