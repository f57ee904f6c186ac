//! Lists against redis-server 7.0.15, on one pair of processes: a seeded random mix of
//! list commands (RESP2 and RESP3, errors, wrong types, negative indexes, several
//! node sizes and compression depths) with every reply compared; DUMP payloads
//! crossing both ways (and the legacy forms Redis 7.0 still loads) with equal
//! DEBUG DIGEST-VALUE; and dump.rdb files with lists moving both ways.

use super::twins::Rng;
use tessera_keyspace::Value;
use tessera_keyspace::rdb::{ReadLimits, restore, seal_payload};
use tessera_resp::frame::Frame;
use tessera_tests::{RawConnection, RedisServer, TesseraNode, show, text};

const DEBUG: [&str; 2] = ["--enable-debug-command", "yes"];
const KEYS: [&str; 4] = ["{l}0", "{l}1", "{l}2", "{l}3"];
/// A string key: list commands on it answer WRONGTYPE.
const STRING_KEY: &str = "{l}s";

/// Both servers, each with a RESP2 and a RESP3 connection.
struct Pair {
    redis: [RawConnection; 2],
    tessera: [RawConnection; 2],
}

impl Pair {
    fn connect(redis: &RedisServer, tessera: &TesseraNode) -> Pair {
        let conn = |port| RawConnection::connect(port).expect("connect");
        let mut pair = Pair {
            redis: [conn(redis.port), conn(redis.port)],
            tessera: [conn(tessera.port), conn(tessera.port)],
        };
        for c in [&mut pair.redis[1], &mut pair.tessera[1]] {
            c.command(&["HELLO", "3"]).expect("HELLO 3");
        }
        pair
    }

    /// Sends `args` to both on connection `resp3`; both replies.
    fn both(&mut self, resp3: bool, args: &[String]) -> (Frame, Frame) {
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        let i = usize::from(resp3);
        let want = self.redis[i].command_bytes(&refs).expect("redis answers");
        let have = self.tessera[i]
            .command_bytes(&refs)
            .expect("tessera answers");
        (want, have)
    }

    /// Sends to both and records a mismatch.
    fn check(&mut self, resp3: bool, args: &[String], mismatches: &mut Vec<String>) {
        let (want, have) = self.both(resp3, args);
        if want != have {
            mismatches.push(format!(
                "{}{}\n    redis:   {}\n    tessera: {}",
                if resp3 { "(RESP3) " } else { "" },
                args.join(" "),
                show(&want),
                show(&have)
            ));
        }
    }

    fn run(&mut self, args: &[&str]) {
        let owned: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let (want, have) = self.both(false, &owned);
        assert_eq!(show(&have), show(&want), "{args:?}");
    }
}

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|s| s.to_string()).collect()
}

/// An element: mostly small strings and integers (the listpack's integer encodings),
/// sometimes long enough to take the 12- and 32-bit string encodings or fill a node.
fn element(rng: &mut Rng) -> String {
    match rng.below(20) {
        0 => "x".repeat(70),
        1 => "y".repeat(300),
        2 => "z".repeat(9000),
        3 => rng
            .pick(&[
                "9223372036854775807",
                "-9223372036854775808",
                "12345678901234567890",
            ])
            .into(),
        4 => String::new(),
        5..=9 => rng.pick(&["1", "42", "-7", "4096", "100000"]).into(),
        _ => rng.pick(&["a", "b", "c", "d"]).into(),
    }
}

/// A key: one of the lists, sometimes the string key or a missing one.
fn key(rng: &mut Rng) -> String {
    match rng.below(20) {
        0 => STRING_KEY.into(),
        1 => "{l}missing".into(),
        _ => rng.pick(&KEYS).into(),
    }
}

fn index(rng: &mut Rng) -> String {
    rng.pick(&[
        "0",
        "1",
        "2",
        "-1",
        "-2",
        "-3",
        "5",
        "50",
        "-100",
        "abc",
        "9223372036854775807",
        "-9223372036854775808",
    ])
    .into()
}

fn side(rng: &mut Rng) -> String {
    rng.pick(&["LEFT", "RIGHT", "left", "RIGHT", "LEFT", "up"])
        .into()
}

/// One random list command.
fn command(rng: &mut Rng) -> Vec<String> {
    let mut c: Vec<String> = Vec::new();
    let name = rng.pick(&[
        "LPUSH",
        "RPUSH",
        "LPUSH",
        "RPUSH",
        "LPUSHX",
        "RPUSHX",
        "LPOP",
        "RPOP",
        "LLEN",
        "LINDEX",
        "LRANGE",
        "LRANGE",
        "LSET",
        "LINSERT",
        "LREM",
        "LTRIM",
        "LPOS",
        "LMOVE",
        "RPOPLPUSH",
        "LMPOP",
        "OBJECT",
        "TYPE",
        "DEL",
    ]);
    c.push(name.into());
    match name {
        "LPUSH" | "RPUSH" | "LPUSHX" | "RPUSHX" => {
            c.push(key(rng));
            for _ in 0..1 + rng.below(4) {
                c.push(element(rng));
            }
            // Sometimes a batch, so nodes fill and split.
            if rng.below(10) == 0 {
                for i in 0..rng.below(300) {
                    c.push(format!("{}", i * 7));
                }
            }
        }
        "LPOP" | "RPOP" => {
            c.push(key(rng));
            if rng.below(2) == 0 {
                c.push(rng.pick(&["0", "1", "2", "5", "100", "-1", "abc"]).into());
            }
            if rng.below(30) == 0 {
                c.push("1".into());
            }
        }
        "LLEN" | "TYPE" | "DEL" => c.push(key(rng)),
        "OBJECT" => {
            c.push("ENCODING".into());
            c.push(key(rng));
        }
        "LINDEX" => {
            c.push(key(rng));
            c.push(index(rng));
        }
        "LRANGE" | "LTRIM" => {
            c.push(key(rng));
            c.push(index(rng));
            c.push(index(rng));
        }
        "LSET" => {
            c.push(key(rng));
            c.push(index(rng));
            c.push(element(rng));
        }
        "LINSERT" => {
            c.push(key(rng));
            c.push(rng.pick(&["BEFORE", "AFTER", "after", "middle"]).into());
            c.push(element(rng));
            c.push(element(rng));
        }
        "LREM" => {
            c.push(key(rng));
            c.push(rng.pick(&["0", "1", "-1", "2", "-2", "abc"]).into());
            c.push(element(rng));
        }
        "LPOS" => {
            c.push(key(rng));
            c.push(element(rng));
            for _ in 0..rng.below(4) {
                let option = rng.pick(&["RANK", "COUNT", "MAXLEN", "rank", "BOGUS"]);
                c.push(option.into());
                if rng.below(15) != 0 {
                    c.push(
                        rng.pick(&[
                            "1",
                            "2",
                            "-1",
                            "-2",
                            "0",
                            "3",
                            "abc",
                            "-9223372036854775808",
                        ])
                        .into(),
                    );
                }
            }
        }
        "LMOVE" => {
            c.push(key(rng));
            c.push(key(rng));
            c.push(side(rng));
            c.push(side(rng));
        }
        "RPOPLPUSH" => {
            c.push(key(rng));
            c.push(key(rng));
        }
        "LMPOP" => {
            let n = 1 + rng.below(3);
            c.push(rng.pick(&[
                n.to_string(),
                n.to_string(),
                "0".into(),
                "9".into(),
                "x".into(),
            ]));
            for _ in 0..n {
                c.push(key(rng));
            }
            c.push(side(rng));
            if rng.below(2) == 0 {
                c.push("COUNT".into());
                c.push(rng.pick(&["1", "2", "10", "0", "-1", "x"]).into());
            }
        }
        _ => unreachable!("{name}"),
    }
    c
}

/// The elements per node of the list in a DUMP payload (`None` for a missing key).
fn node_lengths(payload: &Frame) -> Option<Vec<usize>> {
    let Frame::Bulk(payload) = payload else {
        return None;
    };
    match restore(payload, ReadLimits::new(u64::MAX)) {
        Ok(Value::List(l)) => Some(l.node_lengths()),
        other => panic!("not a list payload: {other:?}"),
    }
}

/// The digests of every key, on both servers, and the lists' node layouts: Tessera's
/// quicklist fills, splits and merges nodes as redis-server's does.
fn compare_digests(pair: &mut Pair, when: &str, mismatches: &mut Vec<String>) {
    for k in KEYS {
        let (want, have) = pair.both(false, &strings(&["DUMP", k]));
        let (want, have) = (node_lengths(&want), node_lengths(&have));
        if want != have {
            mismatches.push(format!("nodes of {k} {when}: {want:?} vs {have:?}"));
        }
    }
    let mut args = strings(&["DEBUG", "DIGEST-VALUE"]);
    args.extend(KEYS.iter().map(|k| k.to_string()));
    pair.check(false, &args, mismatches);
    let n = mismatches.len();
    for k in KEYS {
        pair.check(false, &strings(&["LRANGE", k, "0", "-1"]), mismatches);
    }
    if mismatches.len() > n {
        mismatches.push(format!("(contents differ {when})"));
    }
}

/// Part 1: the random mix, under several node sizes and compression depths.
fn random_mix(pair: &mut Pair) {
    let configs = [("-2", "0"), ("3", "1"), ("-1", "2"), ("1", "0")];
    let mut mismatches = Vec::new();
    for (round, (fill, depth)) in configs.iter().enumerate() {
        pair.run(&["FLUSHALL"]);
        pair.run(&["CONFIG", "SET", "list-max-listpack-size", fill]);
        pair.run(&["CONFIG", "SET", "list-compress-depth", depth]);
        pair.run(&["SET", STRING_KEY, "text"]);
        let mut rng = Rng(0x11575 + round as u64);
        for step in 0..700 {
            let args = command(&mut rng);
            let resp3 = rng.below(4) == 0;
            pair.check(resp3, &args, &mut mismatches);
            if step % 100 == 99 {
                compare_digests(pair, &format!("after step {step}"), &mut mismatches);
            }
            if mismatches.len() > 20 {
                break;
            }
        }
        compare_digests(pair, "at the end", &mut mismatches);
        assert!(
            mismatches.is_empty(),
            "fill {fill} depth {depth}: {} replies differ:\n{}",
            mismatches.len(),
            mismatches.join("\n")
        );
    }
}

fn bulk(frame: Frame) -> Vec<u8> {
    match frame {
        Frame::Bulk(b) => b,
        other => panic!("expected a bulk string, got {}", show(&other)),
    }
}

/// Builds the same lists on both: small, integers, long strings, many small strings.
fn build_lists(pair: &mut Pair) -> Vec<String> {
    let mut names = Vec::new();
    let mut push = |pair: &mut Pair, name: &str, values: Vec<String>| {
        for chunk in values.chunks(500) {
            let mut args = vec!["RPUSH".to_string(), name.to_string()];
            args.extend(chunk.iter().cloned());
            let (want, have) = pair.both(false, &args);
            assert_eq!(have, want, "RPUSH {name}");
        }
        names.push(name.to_string());
    };
    push(pair, "{d}small", strings(&["a", "1", "", "-5"]));
    push(
        pair,
        "{d}ints",
        (0..700).map(|i| (i * 7919 - 300_000).to_string()).collect(),
    );
    push(
        pair,
        "{d}long",
        (0..30).map(|i| format!("{i}").repeat(2000)).collect(),
    );
    push(
        pair,
        "{d}many",
        (0..3000).map(|i| format!("elem{i:06}")).collect(),
    );
    names
}

/// DEBUG DIGEST-VALUE of `key` on a connection.
fn digest(c: &mut RawConnection, key: &str) -> Frame {
    c.command(&["DEBUG", "DIGEST-VALUE", key]).expect("digest")
}

/// Part 2: DUMP from each kind RESTOREs on the other with the same digest, under each
/// node configuration; the legacy forms load the same on both; corrupt payloads are
/// refused.
fn dump_restore(pair: &mut Pair) {
    for (fill, depth) in [("-2", "0"), ("5", "1"), ("-1", "2")] {
        pair.run(&["FLUSHALL"]);
        pair.run(&["CONFIG", "SET", "list-max-listpack-size", fill]);
        pair.run(&["CONFIG", "SET", "list-compress-depth", depth]);
        for key in build_lists(pair) {
            let from_redis = bulk(pair.redis[0].command(&["DUMP", &key]).expect("DUMP"));
            let from_tessera = bulk(pair.tessera[0].command(&["DUMP", &key]).expect("DUMP"));
            let copy = format!("{key}copy");
            let restore = |c: &mut RawConnection, payload: &[u8]| {
                let args: [&[u8]; 4] = [b"RESTORE", copy.as_bytes(), b"0", payload];
                text(&c.command_bytes(&args).expect("RESTORE"))
            };
            assert_eq!(restore(&mut pair.tessera[0], &from_redis), "OK", "{key}");
            assert_eq!(restore(&mut pair.redis[0], &from_tessera), "OK", "{key}");
            let want = digest(&mut pair.redis[0], &key);
            for (side, c) in [
                ("redis", &mut pair.redis[0]),
                ("tessera", &mut pair.tessera[0]),
            ] {
                assert_eq!(digest(c, &key), want, "{key} on {side}");
                assert_eq!(digest(c, &copy), want, "{key} restored on {side}");
            }
            pair.run(&["LRANGE", &copy, "0", "-1"]);
            pair.run(&["OBJECT", "ENCODING", &copy]);
        }
    }
    legacy_payloads(pair);
    corrupt_payloads(pair);
}

/// An RDB length.
fn rdb_len(out: &mut Vec<u8>, n: usize) {
    if n < 64 {
        out.push(n as u8);
    } else if n < 16384 {
        out.extend_from_slice(&[0x40 | (n >> 8) as u8, n as u8]);
    } else {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

fn rdb_string(out: &mut Vec<u8>, s: &[u8]) {
    rdb_len(out, s.len());
    out.extend_from_slice(s);
}

/// A ziplist of `values` as Redis 6 wrote them: integers in the smallest integer
/// encoding, other values as strings.
fn ziplist(values: &[&str]) -> Vec<u8> {
    let mut body = Vec::new();
    let (mut prev, mut tail) = (0usize, 10usize);
    for v in values {
        tail = 10 + body.len();
        let start = body.len();
        if prev < 254 {
            body.push(prev as u8);
        } else {
            body.push(0xFE);
            body.extend_from_slice(&(prev as u32).to_le_bytes());
        }
        match v.parse::<i64>() {
            Ok(n) if (0..=12).contains(&n) && n.to_string() == *v => body.push(0xF1 + n as u8),
            Ok(n) if i8::try_from(n).is_ok() && n.to_string() == *v => {
                body.extend_from_slice(&[0xFE, n as i8 as u8])
            }
            Ok(n) if i16::try_from(n).is_ok() && n.to_string() == *v => {
                body.push(0xC0);
                body.extend_from_slice(&(n as i16).to_le_bytes());
            }
            Ok(n) if n.to_string() == *v => {
                body.push(0xE0);
                body.extend_from_slice(&n.to_le_bytes());
            }
            _ if v.len() < 64 => {
                body.push(v.len() as u8);
                body.extend_from_slice(v.as_bytes());
            }
            _ => {
                body.extend_from_slice(&[0x40 | (v.len() >> 8) as u8, v.len() as u8]);
                body.extend_from_slice(v.as_bytes());
            }
        }
        prev = body.len() - start;
    }
    let mut out = Vec::new();
    out.extend_from_slice(&((11 + body.len()) as u32).to_le_bytes());
    out.extend_from_slice(&(tail as u32).to_le_bytes());
    out.extend_from_slice(&(values.len() as u16).to_le_bytes());
    out.extend_from_slice(&body);
    out.push(0xFF);
    out
}

/// Payloads of the list forms Redis 7.0 reads but no longer writes (types 1, 10, 14)
/// restore on both kinds with the same content.
fn legacy_payloads(pair: &mut Pair) {
    let values = [
        "a",
        "7",
        "-100",
        "300",
        "9223372036854775807",
        "",
        &"q".repeat(100),
    ];
    let mut linked = vec![1u8];
    rdb_len(&mut linked, values.len());
    for v in values {
        rdb_string(&mut linked, v.as_bytes());
    }
    let mut zipped = vec![10u8];
    rdb_string(&mut zipped, &ziplist(&values));
    let mut quick = vec![14u8];
    rdb_len(&mut quick, 3);
    for part in [&values[..2], &values[2..5], &values[5..]] {
        rdb_string(&mut quick, &ziplist(part));
    }
    for (name, body) in [
        ("linked", linked),
        ("ziplist", zipped),
        ("quicklist", quick),
    ] {
        let payload = seal_payload(body);
        let key = format!("{{d}}legacy-{name}");
        for c in [&mut pair.redis[0], &mut pair.tessera[0]] {
            let args: [&[u8]; 4] = [b"RESTORE", key.as_bytes(), b"0", &payload];
            assert_eq!(
                text(&c.command_bytes(&args).expect("RESTORE")),
                "OK",
                "{name}"
            );
        }
        pair.run(&["LRANGE", &key, "0", "-1"]);
        let want = digest(&mut pair.redis[0], &key);
        assert_eq!(digest(&mut pair.tessera[0], &key), want, "{name}");
    }
}

/// Damaged list payloads (with a valid checksum) are refused or read, never a crash.
fn corrupt_payloads(pair: &mut Pair) {
    let t = &mut pair.tessera[0];
    let good = bulk(t.command(&["DUMP", "{d}ints"]).expect("DUMP"));
    let body = &good[..good.len() - 10];
    let mut rng = Rng(7);
    for i in 0..300 {
        let mut bad = body.to_vec();
        match i % 3 {
            0 => {
                let at = 1 + rng.below(bad.len() - 1);
                bad[at] ^= 1 << rng.below(8);
            }
            1 => bad.truncate(1 + rng.below(bad.len() - 1)),
            _ => {
                let at = 1 + rng.below(bad.len() - 1);
                bad[at] = rng.pick(&[0x00, 0x7F, 0x80, 0xFF, 0xF5, 0x40]);
            }
        }
        let payload = seal_payload(bad);
        let args: [&[u8]; 5] = [b"RESTORE", b"{d}bad", b"0", &payload, b"REPLACE"];
        let reply = t
            .command_bytes(&args)
            .expect("Tessera answers a corrupt payload");
        assert!(
            matches!(reply, Frame::Error(_) | Frame::Simple(_)),
            "{}",
            show(&reply)
        );
    }
    assert_eq!(text(&t.command(&["PING"]).expect("PING")), "PONG");
}

/// Part 3: a dump.rdb that redis-server wrote with lists (compressed nodes included)
/// loads in Tessera with the same digest, and the reverse.
fn rdb_files(pair: &mut Pair, redis: &RedisServer, tessera: &TesseraNode) {
    pair.run(&["FLUSHALL"]);
    pair.run(&["CONFIG", "SET", "list-max-listpack-size", "-2"]);
    pair.run(&["CONFIG", "SET", "list-compress-depth", "1"]);
    let r = &mut pair.redis[0];
    let t = &mut pair.tessera[0];
    // Only redis-server holds the lists now; its file carries them to Tessera.
    build_lists_on(r);
    assert_eq!(text(&r.command(&["SAVE"]).expect("SAVE")), "OK");
    let want = r.command(&["DEBUG", "DIGEST"]).expect("DIGEST");
    std::fs::copy(
        redis.dir().join("dump.rdb"),
        tessera.dir.path().join("dump.rdb"),
    )
    .expect("copy dump.rdb");
    assert_eq!(
        text(&t.command(&["DEBUG", "RELOAD", "NOSAVE"]).expect("RELOAD")),
        "OK"
    );
    assert_eq!(
        show(&t.command(&["DEBUG", "DIGEST"]).expect("DIGEST")),
        show(&want)
    );
    // Tessera writes, redis-server loads.
    t.command(&["RPUSH", "{d}from-tessera", "x", "1", "yy"])
        .expect("RPUSH");
    assert_eq!(text(&t.command(&["SAVE"]).expect("SAVE")), "OK");
    let want = t.command(&["DEBUG", "DIGEST"]).expect("DIGEST");
    std::fs::copy(
        tessera.dir.path().join("dump.rdb"),
        redis.dir().join("dump.rdb"),
    )
    .expect("copy dump.rdb");
    assert_eq!(
        text(&r.command(&["DEBUG", "RELOAD", "NOSAVE"]).expect("RELOAD")),
        "OK"
    );
    assert_eq!(
        show(&r.command(&["DEBUG", "DIGEST"]).expect("DIGEST")),
        show(&want)
    );
}

/// The lists of [`build_lists`] on one server.
fn build_lists_on(c: &mut RawConnection) {
    let lists: [(&str, Vec<String>); 3] = [
        ("{d}small", strings(&["a", "1", "", "-5"])),
        (
            "{d}many",
            (0..5000).map(|i| format!("elem{i:06}")).collect(),
        ),
        (
            "{d}long",
            (0..30).map(|i| format!("{i}").repeat(2000)).collect(),
        ),
    ];
    for (name, values) in lists {
        for chunk in values.chunks(500) {
            let mut args = vec!["RPUSH", name];
            args.extend(chunk.iter().map(String::as_str));
            c.command(&args).expect("RPUSH");
        }
    }
}

#[test]
fn lists_match_redis() {
    let redis = RedisServer::start(&DEBUG);
    let tessera = TesseraNode::start(&DEBUG);
    let mut pair = Pair::connect(&redis, &tessera);
    random_mix(&mut pair);
    dump_restore(&mut pair);
    rdb_files(&mut pair, &redis, &tessera);
}
