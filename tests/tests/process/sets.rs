//! Sets against redis-server 7.0.15: a seeded random mix of every set command (errors,
//! wrong types, conversions at set-max-intset-entries, RESP2 and RESP3) with every
//! reply compared, set-like replies sorted and random picks judged by size and
//! membership; DUMP/RESTORE both ways for each encoding with equal digests; and a
//! dump.rdb written by redis-server loaded by Tessera.

use std::collections::BTreeSet;

use tessera_resp::frame::Frame;
use tessera_tests::{RedisServer, TesseraNode};

use super::twins::{Rng, Twins, cross_dump, items, rdb_both_ways};

const DEBUG: [&str; 2] = ["--enable-debug-command", "yes"];

const KEYS: [&str; 4] = ["{s}a", "{s}b", "{s}c", "{s}d"];

const MEMBERS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "7",
    "-5",
    "100",
    "70000",
    "-70000",
    "9223372036854775807",
    "-9223372036854775808",
    "01",
    "-0",
    "a",
    "b",
    "c",
    "hello",
    "x y",
    "",
];

fn key(rng: &mut Rng) -> &'static str {
    if rng.below(12) == 0 {
        "{s}str"
    } else {
        KEYS[rng.below(KEYS.len())]
    }
}

fn members(rng: &mut Rng, max: usize) -> Vec<String> {
    let n = 1 + rng.below(max);
    (0..n)
        .map(|_| {
            if rng.below(3) == 0 {
                format!("{}", rng.below(40))
            } else {
                rng.pick(MEMBERS).to_string()
            }
        })
        .collect()
}

/// The members redis-server holds under `key`.
fn members_of(t: &mut Twins, key: &str) -> BTreeSet<Vec<u8>> {
    items(&t.redis_only(&[b"SMEMBERS", key.as_bytes()]))
        .into_iter()
        .collect()
}

/// A random pick (SRANDMEMBER / SPOP): the reply shapes must agree and Tessera's
/// picks must come from the set, distinct when Redis's are.
fn judge_pick(
    t: &mut Twins,
    args: &[&[u8]],
    want: &Frame,
    have: &Frame,
    set: &BTreeSet<Vec<u8>>,
    distinct: bool,
) {
    let same_shape = match (want, have) {
        (Frame::Bulk(_), Frame::Bulk(h)) => set.contains(h),
        (Frame::Array(w), Frame::Array(h)) | (Frame::Set(w), Frame::Set(h)) => {
            let got = items(have);
            let unique: BTreeSet<&Vec<u8>> = got.iter().collect();
            w.len() == h.len()
                && got.iter().all(|m| set.contains(m))
                && (!distinct || unique.len() == got.len())
        }
        (w, h) => w == h,
    };
    if !same_shape {
        t.note(args, want, have);
        let shown: Vec<String> = set
            .iter()
            .map(|m| String::from_utf8_lossy(m).into_owned())
            .collect();
        t.mismatches.push(format!("    (the set held {shown:?})"));
    }
}

/// Makes Tessera's set under `key` hold what redis-server's holds after both popped
/// different random members.
fn resync(t: &mut Twins, key: &str, popped_redis: &[Vec<u8>], popped_tessera: &[Vec<u8>]) {
    let r: BTreeSet<&Vec<u8>> = popped_redis.iter().collect();
    let h: BTreeSet<&Vec<u8>> = popped_tessera.iter().collect();
    for m in h.difference(&r) {
        t.tessera_only(&[b"SADD", key.as_bytes(), m]);
    }
    for m in r.difference(&h) {
        t.tessera_only(&[b"SREM", key.as_bytes(), m]);
    }
}

fn run_mix(t: &mut Twins, seed: u64, calls: usize) {
    let mut rng = Rng(seed);
    t.exact(&[b"FLUSHALL"]);
    t.exact(&[b"SET", b"{s}str", b"x"]);
    // Keys whose encoding a random SPOP decided (Redis rebuilds what is left).
    let mut tainted: BTreeSet<&str> = BTreeSet::new();
    for _ in 0..calls {
        t.proto = rng.below(2);
        let k = key(&mut rng);
        let kb = k.as_bytes();
        let ms = members(&mut rng, 5);
        let mut args: Vec<Vec<u8>> = Vec::new();
        let choice = rng.below(24);
        match choice {
            0..=4 => {
                args = vec![b"SADD".to_vec(), kb.to_vec()];
                args.extend(ms.iter().map(|m| m.clone().into_bytes()));
                if rng.below(8) == 0 {
                    args.extend((0..20).map(|i| format!("{}", i * 3 + rng.below(3)).into_bytes()));
                }
            }
            5 | 6 => {
                args = vec![b"SREM".to_vec(), kb.to_vec()];
                args.extend(ms.iter().map(|m| m.clone().into_bytes()));
            }
            7 => args = vec![b"SCARD".to_vec(), kb.to_vec()],
            8 => {
                args = vec![
                    b"SISMEMBER".to_vec(),
                    kb.to_vec(),
                    ms[0].clone().into_bytes(),
                ]
            }
            9 => {
                args = vec![b"SMISMEMBER".to_vec(), kb.to_vec()];
                args.extend(ms.iter().map(|m| m.clone().into_bytes()));
            }
            10 | 11 => {
                let cmd = rng.pick(&["SMEMBERS", "SINTER", "SUNION", "SDIFF"]);
                args = vec![cmd.as_bytes().to_vec(), kb.to_vec()];
                if cmd != "SMEMBERS" {
                    for _ in 0..rng.below(3) {
                        args.push(key(&mut rng).as_bytes().to_vec());
                    }
                }
            }
            12 | 13 => {
                let cmd = rng.pick(&["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]);
                args = vec![cmd.as_bytes().to_vec(), kb.to_vec()];
                for _ in 0..1 + rng.below(3) {
                    args.push(key(&mut rng).as_bytes().to_vec());
                }
                tainted.remove(k);
            }
            14 => {
                let n = 1 + rng.below(3);
                let numkeys = rng.pick(&["1", "2", "3", "0", "x", "9"]);
                args = vec![b"SINTERCARD".to_vec(), numkeys.as_bytes().to_vec()];
                for _ in 0..n {
                    args.push(key(&mut rng).as_bytes().to_vec());
                }
                match rng.below(4) {
                    0 => args.extend([
                        b"LIMIT".to_vec(),
                        rng.pick(&["0", "1", "2", "-1", "x"]).as_bytes().to_vec(),
                    ]),
                    1 => args.push(b"LIMIT".to_vec()),
                    _ => {}
                }
            }
            15 => {
                let dst = key(&mut rng);
                args = vec![
                    b"SMOVE".to_vec(),
                    kb.to_vec(),
                    dst.as_bytes().to_vec(),
                    ms[0].clone().into_bytes(),
                ];
            }
            16 | 17 => {
                let cmd = if choice == 16 { "SRANDMEMBER" } else { "SPOP" };
                let set = members_of(t, k);
                let size = set.len();
                args = vec![cmd.as_bytes().to_vec(), kb.to_vec()];
                let count = rng.pick(&[
                    "", "", "0", "1", "2", "3", "5", "30", "-1", "-4", "x", "1 2",
                ]);
                args.extend(
                    count
                        .split(' ')
                        .filter(|c| !c.is_empty())
                        .map(|c| c.as_bytes().to_vec()),
                );
                let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
                let (want, have) = t.both(&refs);
                let distinct = count.parse::<i64>().map_or(true, |n| n >= 0);
                judge_pick(t, &refs, &want, &have, &set, distinct);
                if cmd == "SPOP" && matches!(want, Frame::Bulk(_) | Frame::Array(_) | Frame::Set(_))
                {
                    let popped = |f: &Frame| match f {
                        Frame::Bulk(b) => vec![b.clone()],
                        other => items(other),
                    };
                    resync(t, k, &popped(&want), &popped(&have));
                    if let Ok(n) = count.parse::<usize>()
                        && n < size
                        && (size - n) * 5 <= n
                    {
                        tainted.insert(k);
                    }
                }
                continue;
            }
            18 | 19 => {
                let mut extra: Vec<&[u8]> = Vec::new();
                if rng.below(2) == 0 {
                    extra.extend([
                        &b"MATCH"[..],
                        rng.pick(&["*", "1*", "[a-c]", "*0"]).as_bytes(),
                    ]);
                }
                if rng.below(2) == 0 {
                    extra.extend([&b"COUNT"[..], rng.pick(&["1", "5", "100"]).as_bytes()]);
                }
                t.full_scan(b"SSCAN", kb, &extra, false);
                let bad = rng.pick(&["COUNT 0", "COUNT x", "TYPE set", "MATCH", "BOGUS 1"]);
                let mut args: Vec<&[u8]> = vec![b"SSCAN", kb, b"0"];
                args.extend(bad.split(' ').map(str::as_bytes));
                t.exact(&args);
                let mut args: Vec<&[u8]> = vec![b"SSCAN", kb, b"x"];
                args.extend(extra.iter().copied());
                t.exact(&args);
                continue;
            }
            20 => {
                if !tainted.contains(k) {
                    args = vec![b"OBJECT".to_vec(), b"ENCODING".to_vec(), kb.to_vec()];
                }
            }
            21 => {
                let limit = rng.pick(&["1", "3", "4", "8", "512"]);
                args = vec![
                    b"CONFIG".to_vec(),
                    b"SET".to_vec(),
                    b"set-max-intset-entries".to_vec(),
                    limit.as_bytes().to_vec(),
                ];
            }
            22 => args = vec![b"DEL".to_vec(), kb.to_vec()],
            _ => {
                // Arity and syntax errors.
                let bad = rng.pick(&[
                    "SADD",
                    "SREM",
                    "SCARD",
                    "SMOVE",
                    "SINTERCARD",
                    "SSCAN",
                    "SDIFFSTORE",
                ]);
                args = vec![bad.as_bytes().to_vec()];
                if rng.below(2) == 0 {
                    args.push(kb.to_vec());
                }
            }
        }
        if args.is_empty() {
            continue;
        }
        let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        match choice {
            10 | 11 => t.unordered(&refs),
            _ => {
                t.exact(&refs);
            }
        }
        for k in KEYS {
            if matches!(t.redis_only(&[b"EXISTS", k.as_bytes()]), Frame::Integer(0)) {
                tainted.remove(k);
            }
        }
    }
    // The data must have ended the same.
    t.proto = 0;
    for k in KEYS {
        t.unordered(&[b"SMEMBERS", k.as_bytes()]);
        if !tainted.contains(k) {
            t.exact(&[b"OBJECT", b"ENCODING", k.as_bytes()]);
        }
    }
}

#[test]
fn sets_match_redis() {
    let redis = RedisServer::start(&DEBUG);
    let tessera = TesseraNode::start(&DEBUG);
    let mut t = Twins::connect(redis.port, tessera.port);
    // `TESSERA_SETS_SEEDS=n` runs n seeds instead of CI's three.
    let seeds: u64 = std::env::var("TESSERA_SETS_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    for seed in 1..=seeds {
        run_mix(&mut t, seed, 700);
        t.assert_clean(&format!("seed {seed}"));
        t.exact(&[b"CONFIG", b"SET", b"set-max-intset-entries", b"512"]);
    }

    // DUMP/RESTORE both ways for every encoding and intset width.
    t.exact(&[b"FLUSHALL"]);
    let big: Vec<String> = (0..600).map(|i| format!("{i}")).collect();
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("{d}i16", vec!["1".into(), "-3".into(), "300".into()]),
        ("{d}i32", vec!["1".into(), "70000".into()]),
        ("{d}i64", vec!["1".into(), "-9223372036854775808".into()]),
        ("{d}ints", big.iter().take(100).cloned().collect()),
        ("{d}ht", vec!["a".into(), "1".into(), "hello world".into()]),
        ("{d}bight", big.clone()),
    ];
    for (key, ms) in &cases {
        let mut args: Vec<&[u8]> = vec![b"SADD", key.as_bytes()];
        args.extend(ms.iter().map(String::as_bytes));
        t.exact(&args);
        t.exact(&[b"OBJECT", b"ENCODING", key.as_bytes()]);
        cross_dump(&mut t, key.as_bytes());
    }
    // Small intsets are written byte for byte as Redis writes them.
    let dump = [&b"DUMP"[..], b"{d}i16"];
    t.exact(&dump);
    t.assert_clean("dump/restore");

    // A dump.rdb written by redis-server loads in Tessera with the same digests.
    let keys: Vec<&str> = cases.iter().map(|(k, _)| *k).collect();
    rdb_both_ways(&mut t, &redis, &keys);
}
