//! Bitmaps, BITFIELD, LCS and SUBSTR against redis-server 7.0.15, on one pair of
//! processes: a hand corpus with every option and every error, then a seeded random mix
//! of these commands with SET, APPEND, SETRANGE and GET on a few keys, every reply
//! compared (RESP2 and RESP3), the keyspace events of both servers compared in order,
//! and the values compared again after Tessera replays its AOF: what a bit command
//! propagates rebuilds the same strings.

use super::twins::Rng;
use tessera_resp::frame::Frame;
use tessera_tests::{RawConnection, RedisServer, TesseraNode, show};

/// The channel of the end marker: it matches the listeners' pattern and is published
/// last by the writer, so it arrives after every event of the commands before it.
const MARKER: &str = "__keymarker__:end";
const KEYS: [&str; 4] = ["{b}0", "{b}1", "{b}2", "{b}3"];
/// A list: bit commands on it answer WRONGTYPE (LCS its own error).
const LIST_KEY: &str = "{b}list";

/// One server: a RESP2 and a RESP3 writer, and a listener on every keyspace event.
struct Side {
    writers: [RawConnection; 2],
    listener: RawConnection,
}

impl Side {
    fn open(port: u16) -> Side {
        let conn = || RawConnection::connect(port).expect("connect");
        let mut side = Side {
            writers: [conn(), conn()],
            listener: conn(),
        };
        side.writers[1].command(&["HELLO", "3"]).expect("HELLO 3");
        side.listener
            .command(&["PSUBSCRIBE", "__key*__:*"])
            .expect("PSUBSCRIBE");
        side
    }

    fn run(&mut self, resp3: bool, args: &[String]) -> Frame {
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.writers[usize::from(resp3)]
            .command_bytes(&refs)
            .expect("a reply")
    }

    /// Every event published since the last call.
    fn events(&mut self) -> Vec<String> {
        let marker = self.writers[0]
            .command(&["PUBLISH", MARKER, "x"])
            .expect("PUBLISH");
        assert_eq!(marker, Frame::Integer(1), "the listener is subscribed");
        let mut out = Vec::new();
        loop {
            let shown = show(&self.listener.read_frame().expect("an event"));
            if shown.contains(MARKER) {
                return out;
            }
            out.push(shown);
        }
    }
}

/// Both servers and the differences found so far.
struct Pair {
    redis: Side,
    tessera: Side,
    mismatches: Vec<String>,
}

impl Pair {
    fn check(&mut self, resp3: bool, args: &[String]) {
        let want = self.redis.run(resp3, args);
        let have = self.tessera.run(resp3, args);
        if want != have {
            self.mismatches.push(format!(
                "{}{}\n    redis:   {}\n    tessera: {}",
                if resp3 { "(RESP3) " } else { "" },
                args.join(" "),
                show(&want),
                show(&have)
            ));
        }
    }

    fn check_events(&mut self, when: &str) {
        let (want, have) = (self.redis.events(), self.tessera.events());
        if want != have {
            self.mismatches.push(format!(
                "events {when}\n  redis:   {want:?}\n  tessera: {have:?}"
            ));
        }
    }

    fn assert_clean(&self, what: &str) {
        assert!(
            self.mismatches.is_empty(),
            "{what}: {} differences:\n{}",
            self.mismatches.len(),
            self.mismatches.join("\n")
        );
    }
}

fn words(line: &str) -> Vec<String> {
    line.split(' ')
        .map(|w| if w == "''" { String::new() } else { w.into() })
        .collect()
}

/// Every command, option and error, in Redis 7.0's order of checks.
const CORPUS: &[&str] = &[
    "SET s hello",
    "MSET a ohmytext b mynewtext",
    "RPUSH {b}list x",
    // BITCOUNT: the key is looked up before the range is read.
    "BITCOUNT nokey abc",
    "BITCOUNT nokey 1",
    "BITCOUNT nokey 0 1 foo",
    "BITCOUNT s 1",
    "BITCOUNT s 0 1 foo",
    "BITCOUNT s a 1",
    "BITCOUNT s 0 a",
    "BITCOUNT s 0 1 byte extra",
    "BITCOUNT s",
    "BITCOUNT s 0 -1",
    "BITCOUNT s 1 1 BYTE",
    "BITCOUNT s 5 30 bit",
    "BITCOUNT s -1 -3",
    "BITCOUNT s -9 -2 BIT",
    "BITCOUNT s -2 -9 bits",
    "BITCOUNT s -2 -9 x y",
    "BITCOUNT s -100 100",
    "BITCOUNT {b}list",
    "BITCOUNT {b}list 0 x",
    // BITPOS: the bit first, then the key, then start, unit and end.
    "BITPOS nokey 1 abc",
    "BITPOS nokey 0",
    "BITPOS nokey 2",
    "BITPOS nokey x",
    "BITPOS s 1 0 1 foo",
    "BITPOS s 1 0 a",
    "BITPOS s 1 0 a foo",
    "BITPOS s 1 0 1 bit extra",
    "BITPOS s 0",
    "BITPOS s 1",
    "BITPOS s 1 2",
    "BITPOS s 0 -1 -3",
    "BITPOS s 1 7 15 bit",
    "BITPOS s 0 3 -1 bit",
    "BITPOS s 0 1 2 byte",
    "BITPOS s 0 1 2 BIT",
    "BITPOS {b}list 1 x",
    "BITPOS {b}list 2",
    "SET ones \u{7f}",
    "BITPOS ones 1",
    "BITPOS ones 0 0",
    "BITPOS ones 0 0 -1",
    "BITPOS ones 0 1 7 bit",
    "SET empty ''",
    "BITPOS empty 0",
    "BITPOS empty 1 0 -1 bit",
    "BITCOUNT empty 0 -1 bit",
    // GETBIT and SETBIT: offsets, bit values, encodings.
    "GETBIT {b}list 0",
    "GETBIT {b}list x",
    "GETBIT s 1",
    "GETBIT s 99999",
    "GETBIT s -1",
    "GETBIT s 4294967296",
    "GETBIT s 4294967295",
    "GETBIT s 01",
    "SETBIT {b}list 0 1",
    "SETBIT {b}list 0 2",
    "SETBIT s 0 01",
    "SETBIT s 0 -1",
    "SETBIT s 4294967296 1",
    "SETBIT s x 1",
    "SETBIT n 100 1",
    "SETBIT n 100 1",
    "SETBIT n 100 0",
    "GET n",
    "OBJECT ENCODING n",
    "SET i 255",
    "GETBIT i 6",
    "OBJECT ENCODING i",
    "SETBIT i 1 0",
    "OBJECT ENCODING i",
    "SETBIT i 2 1",
    "GET i",
    "CONFIG SET proto-max-bulk-len 1048576",
    "SETBIT big 8388608 1",
    "SETBIT big 8388607 1",
    "STRLEN big",
    "BITFIELD big SET u8 8388600 1",
    "BITFIELD big GET u8 #1048576",
    "BITFIELD big GET u8 #1048575",
    "DEL big",
    "CONFIG SET proto-max-bulk-len 536870912",
    "SET e short",
    "SETBIT e 0 0",
    "OBJECT ENCODING e",
    "SET ttl x EX 1000",
    "SETBIT ttl 3 1",
    "TTL ttl",
    // BITOP.
    "BITOP foo d a",
    "BITOP not d a b",
    "BITOP and d a {b}list",
    "BITOP NOT d a",
    "GET d",
    "OBJECT ENCODING d",
    "BITOP AND d a b s",
    "GET d",
    "BITOP or d a b s nokey",
    "GET d",
    "BITOP xor d a b",
    "GET d",
    "SET dttl x EX 1000",
    "BITOP OR dttl a",
    "TTL dttl",
    "BITOP or d nokey",
    "EXISTS d",
    "BITOP or d nokey nokey2",
    "BITOP or d i",
    "OBJECT ENCODING d",
    "BITOP and a a",
    "GET a",
    // BITFIELD and BITFIELD_RO.
    "BITFIELD {b}list get u8 0",
    "BITFIELD {b}list set u8 0 1",
    "BITFIELD_RO {b}list get u8 0",
    "BITFIELD_RO s set u8 0 1",
    "BITFIELD_RO s get u8 0 incrby u8 0 1",
    "BITFIELD s get u64 0",
    "BITFIELD s get i8 x",
    "BITFIELD s overflow foo",
    "BITFIELD s overflow",
    "BITFIELD s foo",
    "BITFIELD s get u8",
    "BITFIELD s set u8 0",
    "BITFIELD s set u8 0 x",
    "BITFIELD s incrby u8 0 x",
    "BITFIELD s get u8 #1",
    "BITFIELD s get u8 #-1",
    "BITFIELD s get i65 0",
    "BITFIELD s get i0 0",
    "BITFIELD s get i08 0",
    "BITFIELD s get U8 0",
    "BITFIELD s",
    "BITFIELD_RO s",
    "BITFIELD s get u8 #",
    "BITFIELD s get u8 1#",
    "BITFIELD s get u8 4294967296",
    "BITFIELD s get u8 4294967295",
    "BITFIELD s get u8 #536870911",
    "BITFIELD s get u8 #536870912",
    "BITFIELD s GET i64 0 get u63 3 get i5 #3 get u1 #100",
    "BITFIELD bf set u8 0 255 get u8 0 incrby u8 0 1 overflow sat incrby u8 0 -5 incrby i8 8 200 overflow fail incrby u2 100 10 get i16 0",
    "GET bf",
    "BITFIELD bf overflow wrap set i64 0 -1 incrby i64 0 -9223372036854775807 get i64 0",
    "BITFIELD bf set u63 0 -1 OVERFLOW SAT set u63 64 -1 set i3 #50 9 get u63 0",
    "BITFIELD bf OVERFLOW FAIL set i8 0 128 set i8 0 -129 set u8 0 256 incrby i64 0 9223372036854775807 OVERFLOW WRAP incrby i64 0 9223372036854775807",
    "BITFIELD_RO bf get i3 #50 get u4 #0",
    "BITFIELD bf set u8 0 0 set u8 0 0",
    "BITFIELD bf get u8 0",
    "BITFIELD nb overflow fail incrby u2 0 100",
    "EXISTS nb",
    "GET nb",
    "BITFIELD nb2 get u8 0",
    "EXISTS nb2",
    // LCS: types are checked before the options.
    "MSET a ohmytext b mynewtext",
    "LCS a b",
    "LCS a b len",
    "LCS a b LEN",
    "LCS a b idx minmatchlen 4 withmatchlen",
    "LCS a b IDX",
    "LCS a b idx withmatchlen",
    "LCS a b idx minmatchlen 0",
    "LCS a b idx len",
    "LCS a {b}list",
    "LCS {b}list nokey foo",
    "LCS a b minmatchlen",
    "LCS a b minmatchlen x",
    "LCS a b foo",
    "LCS a nokey idx",
    "LCS nokey nokey2",
    "LCS a b len minmatchlen -3",
    "LCS a a idx withmatchlen",
    "SET n1 123456",
    "SET n2 1294056",
    "LCS n1 n2 idx withmatchlen",
    // SUBSTR is GETRANGE's old name.
    "SUBSTR a 1 3",
    "SUBSTR a -3 -1",
    "SUBSTR a 5 2",
    "SUBSTR nokey 0 1",
    "SUBSTR {b}list 0 1",
    "SUBSTR a x 1",
];

/// A bit or field offset: mostly small, sometimes past the string, sometimes invalid.
fn offset(rng: &mut Rng) -> String {
    match rng.below(12) {
        0 => rng.below(16_000).to_string(),
        1 => rng
            .pick(&["-1", "abc", "4294967296", "#3", "#0", "#-1"])
            .into(),
        2..=4 => rng.below(300).to_string(),
        _ => rng.below(64).to_string(),
    }
}

fn index(rng: &mut Rng) -> String {
    match rng.below(6) {
        0 => rng
            .pick(&[
                "abc",
                "9223372036854775807",
                "-9223372036854775808",
                "-100",
                "100",
            ])
            .into(),
        1 | 2 => format!("-{}", rng.below(40)),
        _ => rng.below(40).to_string(),
    }
}

fn unit(rng: &mut Rng) -> String {
    rng.pick(&["BIT", "BYTE", "bit", "byte", "BIT", "bits"])
        .into()
}

/// A string value: text, integers (the `int` encoding), bytes of every kind.
fn value(rng: &mut Rng) -> String {
    match rng.below(10) {
        0 => String::new(),
        1 => "x".repeat(rng.below(80)),
        2 | 3 => rng
            .pick(&["12", "-5", "255", "0", "9223372036854775807"])
            .into(),
        4 => (0..rng.below(20))
            .map(|_| char::from(rng.below(128) as u8))
            .collect(),
        _ => rng
            .pick(&["hello", "foobar", "ohmytext", "mynewtext", "abcabcab"])
            .into(),
    }
}

fn key(rng: &mut Rng) -> String {
    match rng.below(20) {
        0 => LIST_KEY.into(),
        1 => "{b}missing".into(),
        _ => rng.pick(&KEYS).into(),
    }
}

/// A field type: valid widths mostly, the refused ones sometimes.
fn field_type(rng: &mut Rng) -> String {
    match rng.below(15) {
        0 => rng.pick(&["u64", "i65", "i0", "x8", "u"]).into(),
        _ => format!(
            "{}{}",
            rng.pick(&["i", "u"]),
            rng.pick(&[1, 2, 3, 5, 8, 8, 16, 31, 32, 63])
        ),
    }
}

fn field_number(rng: &mut Rng) -> String {
    match rng.below(6) {
        0 => rng
            .pick(&[
                "9223372036854775807",
                "-9223372036854775808",
                "x",
                "4294967296",
            ])
            .into(),
        1 => format!("-{}", rng.below(300)),
        _ => rng.below(300).to_string(),
    }
}

fn bitfield_ops(rng: &mut Rng, c: &mut Vec<String>, writes: bool) {
    for _ in 0..rng.below(5) {
        let op = if writes {
            rng.pick(&["GET", "SET", "INCRBY", "OVERFLOW", "get", "incrby"])
        } else {
            rng.pick(&["GET", "GET", "get", "SET"])
        };
        c.push(op.into());
        if op.eq_ignore_ascii_case("OVERFLOW") {
            c.push(
                rng.pick(&["WRAP", "SAT", "FAIL", "fail", "sat", "nope"])
                    .into(),
            );
            continue;
        }
        c.push(field_type(rng));
        c.push(offset(rng));
        if !op.eq_ignore_ascii_case("GET") {
            c.push(field_number(rng));
        }
    }
}

/// One random command.
fn command(rng: &mut Rng) -> Vec<String> {
    let name = rng.pick(&[
        "SETBIT",
        "SETBIT",
        "SETBIT",
        "GETBIT",
        "BITCOUNT",
        "BITCOUNT",
        "BITPOS",
        "BITPOS",
        "BITOP",
        "BITFIELD",
        "BITFIELD",
        "BITFIELD_RO",
        "LCS",
        "SUBSTR",
        "SET",
        "APPEND",
        "SETRANGE",
        "GET",
        "OBJECT",
        "STRLEN",
    ]);
    let mut c: Vec<String> = vec![name.into()];
    match name {
        "SETBIT" => {
            c.push(key(rng));
            c.push(offset(rng));
            c.push(rng.pick(&["0", "1", "1", "2", "x"]).into());
        }
        "GETBIT" => {
            c.push(key(rng));
            c.push(offset(rng));
        }
        "BITCOUNT" => {
            c.push(key(rng));
            if rng.below(3) > 0 {
                c.push(index(rng));
                c.push(index(rng));
                if rng.below(2) == 0 {
                    c.push(unit(rng));
                }
            }
        }
        "BITPOS" => {
            c.push(key(rng));
            c.push(rng.pick(&["0", "1", "1", "0", "2"]).into());
            let n = rng.below(4);
            for i in 0..n {
                c.push(if i == 2 { unit(rng) } else { index(rng) });
            }
        }
        "BITOP" => {
            let op = rng.pick(&["AND", "OR", "XOR", "NOT", "not", "and", "nand"]);
            c.push(op.into());
            c.push(key(rng));
            let n = if op.eq_ignore_ascii_case("NOT") && rng.below(5) > 0 {
                1
            } else {
                1 + rng.below(3)
            };
            for _ in 0..n {
                c.push(key(rng));
            }
        }
        "BITFIELD" => {
            c.push(key(rng));
            bitfield_ops(rng, &mut c, true);
        }
        "BITFIELD_RO" => {
            c.push(key(rng));
            bitfield_ops(rng, &mut c, false);
        }
        "LCS" => {
            c.push(key(rng));
            c.push(key(rng));
            for _ in 0..rng.below(4) {
                let option = rng.pick(&["IDX", "LEN", "WITHMATCHLEN", "MINMATCHLEN", "idx"]);
                c.push(option.into());
                if option == "MINMATCHLEN" {
                    c.push(rng.pick(&["0", "1", "2", "4", "-1", "x"]).into());
                }
            }
        }
        "SUBSTR" => {
            c.push(key(rng));
            c.push(index(rng));
            c.push(index(rng));
        }
        "SET" | "APPEND" => {
            c.push(key(rng));
            c.push(value(rng));
        }
        "SETRANGE" => {
            c.push(key(rng));
            c.push(rng.below(300).to_string());
            c.push(value(rng));
        }
        "GET" | "STRLEN" => c.push(key(rng)),
        "OBJECT" => {
            c.push("ENCODING".into());
            c.push(key(rng));
        }
        _ => unreachable!("{name}"),
    }
    c
}

/// GET of every key on both servers.
fn compare_values(pair: &mut Pair) {
    for k in KEYS {
        pair.check(false, &words(&format!("GET {k}")));
    }
}

#[test]
fn bitmaps_match_redis() {
    let classes = ["--notify-keyspace-events", "KEg$"];
    let redis = RedisServer::start(&classes);
    let mut tessera = TesseraNode::start(&[classes[0], classes[1], "--appendonly", "yes"]);
    let mut pair = Pair {
        redis: Side::open(redis.port),
        tessera: Side::open(tessera.port),
        mismatches: Vec::new(),
    };

    for line in CORPUS {
        let args = words(line);
        pair.check(false, &args);
        if line.starts_with("LCS") || line.starts_with("BITFIELD") {
            pair.check(true, &args);
        }
    }
    pair.check_events("after the corpus");
    pair.assert_clean("hand corpus");

    pair.check(false, &words("FLUSHALL"));
    pair.check(false, &words("RPUSH {b}list x"));
    let mut rng = Rng(0xb17_5eed);
    for step in 0..5000 {
        let args = command(&mut rng);
        let resp3 = rng.below(4) == 0;
        pair.check(resp3, &args);
        if step % 250 == 249 {
            pair.check_events(&format!("up to step {step}"));
            compare_values(&mut pair);
        }
        if pair.mismatches.len() > 20 {
            break;
        }
    }
    pair.check_events("at the end");
    compare_values(&mut pair);
    pair.assert_clean("random mix");

    // What was propagated rebuilds the same strings.
    drop(pair.tessera);
    tessera = tessera.restart();
    pair.tessera = Side::open(tessera.port);
    compare_values(&mut pair);
    pair.assert_clean("after Tessera replays its AOF");
}

/// In a cluster, BITOP and LCS hold every slot they name: keys of several slots answer
/// CROSSSLOT, as in redis-server, and keys of one slot run, in MULTI too.
#[test]
fn bit_commands_follow_cluster_slots() {
    use tessera_tests::cluster::{CLUSTER_ARGS, wait_ok};
    let redis = RedisServer::start(&CLUSTER_ARGS);
    let tessera = TesseraNode::start(&CLUSTER_ARGS);
    let mut conns = [redis.port, tessera.port].map(|p| RawConnection::connect(p).expect("connect"));
    for c in &mut conns {
        c.command(&["CLUSTER", "ADDSLOTSRANGE", "0", "16383"])
            .expect("ADDSLOTSRANGE");
    }
    assert!(
        wait_ok(
            &[redis.port, tessera.port],
            std::time::Duration::from_secs(10)
        ),
        "lone masters with every slot are ok"
    );
    let [redis_conn, tessera_conn] = &mut conns;
    let mut mismatches = Vec::new();
    for line in [
        "MSET {u}a foobar {u}b fooxyz",
        "BITOP AND d {u}a {u}b",
        "BITOP NOT {u}d {u}a",
        "BITOP OR {u}d {u}a {u}b other",
        "BITOP XOR {u}d {u}a {u}b",
        "GET {u}d",
        "LCS {u}a other",
        "LCS {u}a {u}b IDX",
        "SETBIT {u}c 7 1",
        "BITFIELD {u}c INCRBY u8 0 5",
        "MULTI",
        "SETBIT {u}c 0 1",
        "BITOP AND {u}d {u}a {u}c",
        "BITOP AND {u}d {u}a other",
        "EXEC",
        "MULTI",
        "BITOP AND {u}d {u}a {u}c",
        "LCS {u}d {u}a LEN",
        "BITFIELD_RO {u}d GET i8 0",
        "EXEC",
    ] {
        let args = words(line);
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        let want = redis_conn.command_bytes(&refs).expect("redis answers");
        let have = tessera_conn.command_bytes(&refs).expect("tessera answers");
        if want != have {
            mismatches.push(format!(
                "{line}\n    redis:   {}\n    tessera: {}",
                show(&want),
                show(&have)
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
