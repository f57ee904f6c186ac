//! Sets against redis-server 7.0.15: a seeded random mix of every set command (errors,
//! wrong types, conversions at set-max-intset-entries, RESP2 and RESP3) with every
//! reply compared, set-like replies sorted and random picks judged by size and
//! membership; DUMP/RESTORE both ways for each encoding with equal digests; and a
//! dump.rdb written by redis-server loaded by Tessera.

use std::collections::BTreeSet;

use tessera_resp::frame::Frame;
use tessera_tests::{RawConnection, RedisServer, TesseraNode, show};

/// A small seeded generator (splitmix64): the same seed gives the same commands.
pub(crate) struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Orders the elements of an array, set or map reply (for replies in hash order).
pub(crate) fn sorted(frame: Frame) -> Frame {
    let key = |f: &Frame| format!("{f:?}");
    match frame {
        Frame::Array(mut items) => {
            items.sort_by_key(key);
            Frame::Array(items)
        }
        Frame::Set(mut items) => {
            items.sort_by_key(key);
            Frame::Set(items)
        }
        Frame::Map(mut pairs) => {
            pairs.sort_by_key(|p| format!("{p:?}"));
            Frame::Map(pairs)
        }
        other => other,
    }
}

/// The bulk strings of an array or set reply.
pub(crate) fn items(frame: &Frame) -> Vec<Vec<u8>> {
    match frame {
        Frame::Array(v) | Frame::Set(v) => v
            .iter()
            .map(|f| match f {
                Frame::Bulk(b) => b.clone(),
                other => format!("{other:?}").into_bytes(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// One redis-server and one Tessera node, each with a RESP2 and a RESP3 connection;
/// commands go to both and differences are collected.
pub(crate) struct Twins {
    pub redis: [RawConnection; 2],
    pub tessera: [RawConnection; 2],
    pub mismatches: Vec<String>,
    /// Which protocol the next commands use (0: RESP2, 1: RESP3).
    pub proto: usize,
}

impl Twins {
    pub fn connect(redis: u16, tessera: u16) -> Twins {
        let open = |port: u16| {
            let two = RawConnection::connect(port).expect("connect");
            let mut three = RawConnection::connect(port).expect("connect");
            three.command(&["HELLO", "3"]).expect("HELLO 3");
            [two, three]
        };
        Twins {
            redis: open(redis),
            tessera: open(tessera),
            mismatches: Vec::new(),
            proto: 0,
        }
    }

    /// Sends `args` to both; returns (redis, tessera) replies.
    pub fn both(&mut self, args: &[&[u8]]) -> (Frame, Frame) {
        let p = self.proto;
        let want = self.redis[p].command_bytes(args).expect("redis answers");
        let have = self.tessera[p]
            .command_bytes(args)
            .expect("tessera answers");
        if std::env::var_os("TESSERA_COLLECTIONS_TRACE").is_some() {
            let line: Vec<String> = args
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            eprintln!("{} -> {}", line.join(" "), show(&want));
        }
        (want, have)
    }

    /// Sends `args` to redis-server only (to read the state both should share).
    pub fn redis_only(&mut self, args: &[&[u8]]) -> Frame {
        self.redis[0].command_bytes(args).expect("redis answers")
    }

    /// Sends `args` to Tessera only.
    pub fn tessera_only(&mut self, args: &[&[u8]]) -> Frame {
        self.tessera[0]
            .command_bytes(args)
            .expect("tessera answers")
    }

    pub fn note(&mut self, args: &[&[u8]], want: &Frame, have: &Frame) {
        let line: Vec<String> = args
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        self.mismatches.push(format!(
            "[RESP{}] {}\n    redis:   {}\n    tessera: {}",
            self.proto + 2,
            line.join(" "),
            show(want),
            show(have)
        ));
    }

    /// Both replies must be equal.
    pub fn exact(&mut self, args: &[&[u8]]) -> Frame {
        let (want, have) = self.both(args);
        if want != have {
            self.note(args, &want, &have);
        }
        want
    }

    /// Both replies must be equal once their elements are sorted.
    pub fn unordered(&mut self, args: &[&[u8]]) {
        let (want, have) = self.both(args);
        let (want, have) = (sorted(want), sorted(have));
        if want != have {
            self.note(args, &want, &have);
        }
    }

    /// A full SCAN-like iteration (`cmd key cursor extra...`) on each side: the union
    /// of what came back must be equal (`pairs`: items are field/value pairs).
    pub fn full_scan(&mut self, cmd: &[u8], key: &[u8], extra: &[&[u8]], pairs: bool) {
        let p = self.proto;
        let collect = |conn: &mut RawConnection| -> Result<BTreeSet<Vec<Vec<u8>>>, Frame> {
            let mut cursor = b"0".to_vec();
            let mut seen = BTreeSet::new();
            for _ in 0..10_000 {
                let mut args: Vec<&[u8]> = vec![cmd, key, &cursor];
                args.extend_from_slice(extra);
                let reply = conn.command_bytes(&args).expect("scan answers");
                let Frame::Array(parts) = &reply else {
                    return Err(reply);
                };
                let (Frame::Bulk(next), list) = (&parts[0], &parts[1]) else {
                    return Err(reply);
                };
                let found = items(list);
                if pairs {
                    seen.extend(found.chunks(2).map(<[Vec<u8>]>::to_vec));
                } else {
                    seen.extend(found.into_iter().map(|m| vec![m]));
                }
                if next == b"0" {
                    return Ok(seen);
                }
                cursor = next.clone();
            }
            panic!("a scan did not end");
        };
        let want = collect(&mut self.redis[p]);
        let have = collect(&mut self.tessera[p]);
        if want != have {
            let shown = |r: &Result<BTreeSet<Vec<Vec<u8>>>, Frame>| match r {
                Ok(s) => format!(
                    "{} items {:?}",
                    s.len(),
                    s.iter().take(5).collect::<Vec<_>>()
                ),
                Err(f) => show(f),
            };
            let line = format!(
                "full {} {} {:?}\n    redis:   {}\n    tessera: {}",
                String::from_utf8_lossy(cmd),
                String::from_utf8_lossy(key),
                extra
                    .iter()
                    .map(|e| String::from_utf8_lossy(e).into_owned())
                    .collect::<Vec<_>>(),
                shown(&want),
                shown(&have)
            );
            self.mismatches.push(line);
        }
    }

    pub fn assert_clean(&self, what: &str) {
        assert!(
            self.mismatches.is_empty(),
            "{what}: {} replies differ:\n{}",
            self.mismatches.len(),
            self.mismatches
                .iter()
                .take(30)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

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

/// DUMP on one kind, RESTORE on the other, both ways: the same digest for `key`.
pub(crate) fn cross_dump(t: &mut Twins, key: &[u8]) {
    let bulk = |f: Frame| match f {
        Frame::Bulk(b) => b,
        other => panic!("DUMP gave {}", show(&other)),
    };
    let from_redis = bulk(t.redis_only(&[b"DUMP", key]));
    let from_tessera = bulk(t.tessera_only(&[b"DUMP", key]));
    let copy = [key, b"copy"].concat();
    for (payload, name) in [
        (&from_redis, "redis→tessera"),
        (&from_tessera, "tessera→redis"),
    ] {
        let target_is_tessera = name.ends_with("tessera");
        let restore: [&[u8]; 5] = [b"RESTORE", &copy, b"0", payload, b"REPLACE"];
        let reply = if target_is_tessera {
            t.tessera_only(&restore)
        } else {
            t.redis_only(&restore)
        };
        assert_eq!(
            show(&reply),
            "+OK",
            "RESTORE {name} of {}",
            String::from_utf8_lossy(key)
        );
    }
    let digest = [&b"DEBUG"[..], b"DIGEST-VALUE", key, &copy];
    let want = t.redis_only(&digest);
    let have = t.tessera_only(&digest);
    assert_eq!(
        show(&have),
        show(&want),
        "digests of {}",
        String::from_utf8_lossy(key)
    );
    let encoding = [&b"OBJECT"[..], b"ENCODING", &copy];
    assert_eq!(
        show(&t.tessera_only(&encoding)),
        show(&t.redis_only(&encoding))
    );
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
    t.redis_only(&[b"SAVE"]);
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(redis.dir().join("dump.rdb"), dir.path().join("dump.rdb")).expect("copy");
    let loaded = TesseraNode::start_in_dir(dir, &DEBUG);
    let mut c = RawConnection::connect(loaded.port).expect("connect");
    for (key, _) in &cases {
        let args = [&b"DEBUG"[..], b"DIGEST-VALUE", key.as_bytes()];
        let want = t.redis_only(&args);
        assert_eq!(show(&c.command_bytes(&args).unwrap()), show(&want), "{key}");
        let args = [&b"OBJECT"[..], b"ENCODING", key.as_bytes()];
        assert_eq!(
            show(&c.command_bytes(&args).unwrap()),
            show(&t.redis_only(&args))
        );
    }
}
