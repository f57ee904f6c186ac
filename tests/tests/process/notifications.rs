//! Keyspace notifications against redis-server 7.0.15: `notify-keyspace-events`'s
//! canonical form and errors, then, for each class Tessera raises, a subscriber
//! (`PSUBSCRIBE __key*__:*`, RESP2 and RESP3) on each server records every message
//! while the same commands run on both; the two lists must be equal, in order (one
//! client writes, so both servers publish in the same order).

use std::time::Duration;

use tessera_resp::frame::Frame;
use tessera_tests::{RawConnection, RedisServer, TesseraNode, show, text, wait_until};

/// The channel the end marker goes to: it matches the subscribers' pattern, and it is
/// published after the corpus by the same client, so it arrives after every event.
const MARKER: &str = "__keymarker__:end";

/// A writer and a subscriber on one server.
pub(crate) struct Side {
    pub(crate) writer: RawConnection,
    listener: RawConnection,
}

impl Side {
    fn open(port: u16, resp3: bool) -> Side {
        let mut listener = RawConnection::connect(port).expect("connect");
        if resp3 {
            listener.command(&["HELLO", "3"]).expect("HELLO 3");
        }
        listener
            .command(&["PSUBSCRIBE", "__key*__:*"])
            .expect("PSUBSCRIBE");
        Side {
            writer: RawConnection::connect(port).expect("connect"),
            listener,
        }
    }

    /// Runs one command; `DUMPTO src dst [args]` restores this server's own DUMP of
    /// src as dst (payloads may differ in bytes between the servers).
    fn run(&mut self, args: &[&str]) -> Frame {
        if args[0] != "DUMPTO" {
            return self.writer.command(args).expect("a reply");
        }
        let payload = self.writer.command(&["DUMP", args[1]]).expect("DUMP");
        let Frame::Bulk(payload) = payload else {
            return payload;
        };
        let mut restore: Vec<&[u8]> = vec![b"RESTORE", args[2].as_bytes()];
        let ttl = args.get(3).copied().unwrap_or("0");
        restore.push(ttl.as_bytes());
        restore.push(&payload);
        restore.extend(args.iter().skip(4).map(|a| a.as_bytes()));
        self.writer.command_bytes(&restore).expect("RESTORE")
    }

    /// Every message published since the last call, up to the end marker.
    fn messages(&mut self) -> Vec<String> {
        let marker = self
            .writer
            .command(&["PUBLISH", MARKER, "x"])
            .expect("PUBLISH");
        assert_eq!(marker, Frame::Integer(1), "the listener is subscribed");
        let mut out = Vec::new();
        loop {
            let frame = self.listener.read_frame().expect("a message");
            let shown = show(&frame);
            if shown.contains(MARKER) {
                return out;
            }
            out.push(shown);
        }
    }
}

/// One server of each kind with the same classes on.
pub(crate) struct Pair {
    pub(crate) redis: Side,
    pub(crate) tessera: Side,
    pub(crate) mismatches: Vec<String>,
    _servers: (RedisServer, TesseraNode),
}

impl Pair {
    pub(crate) fn start(classes: &str, resp3: bool) -> Pair {
        let args = [
            "--notify-keyspace-events",
            classes,
            "--enable-debug-command",
            "yes",
        ];
        let (redis, tessera) = (RedisServer::start(&args), TesseraNode::start(&args));
        Pair {
            redis: Side::open(redis.port, resp3),
            tessera: Side::open(tessera.port, resp3),
            mismatches: Vec::new(),
            _servers: (redis, tessera),
        }
    }

    /// Runs `lines` on both servers, then compares the replies and the messages;
    /// returns how many messages Redis published.
    pub(crate) fn run(&mut self, label: &str, lines: &[String]) -> usize {
        for line in lines {
            let args: Vec<&str> = line.split(' ').collect();
            let args: Vec<&str> = args
                .iter()
                .map(|a| if *a == "''" { "" } else { a })
                .collect();
            let (want, have) = (self.redis.run(&args), self.tessera.run(&args));
            if want != have {
                self.mismatches.push(format!(
                    "[{label}] reply to {line}: redis {} tessera {}",
                    show(&want),
                    show(&have)
                ));
            }
        }
        let (want, have) = (self.redis.messages(), self.tessera.messages());
        if want != have {
            self.mismatches
                .push(format!("[{label}] messages {}", divergence(&want, &have)));
        }
        want.len()
    }
}

impl Pair {
    /// [`Pair::run`] one line at a time, so a mismatch names the command that caused
    /// it; stops at the first. Returns how many messages Redis published.
    pub(crate) fn run_each(&mut self, label: &str, lines: &[String]) -> usize {
        let mut total = 0;
        for (i, line) in lines.iter().enumerate() {
            let before = self.mismatches.len();
            total += self.run(&format!("{label} #{i} {line}"), std::slice::from_ref(line));
            if self.mismatches.len() > before {
                break;
            }
        }
        total
    }
}

/// Where two message lists part: the first index that differs, with a few messages
/// before and after it on each side.
fn divergence(want: &[String], have: &[String]) -> String {
    let at = want
        .iter()
        .zip(have)
        .position(|(w, h)| w != h)
        .unwrap_or(want.len().min(have.len()));
    let around = |list: &[String]| -> Vec<String> {
        let from = at.saturating_sub(4);
        list.iter()
            .skip(from)
            .take(10)
            .map(|m| m.replace("\"pmessage\", \"__key*__:*\", ", ""))
            .collect()
    };
    format!(
        "part at {at} of {}/{}\n  redis:   {:#?}\n  tessera: {:#?}",
        want.len(),
        have.len(),
        around(want),
        around(have)
    )
}

/// Commands of classes g and $, each event of Redis 7.0's t_string.c, db.c, expire.c,
/// sort.c and cluster.c (RESTORE) and the cases that raise none.
pub(crate) fn generic_and_string() -> Vec<String> {
    [
        "SET a 1",
        "SET a 2 EX 100",
        "SET b x PX 100000 GET",
        "SET a 3 KEEPTTL",
        "SET a 4 NX",
        "SET nosuch 4 XX",
        "SET past v PXAT 1",
        "SETNX a z",
        "SETNX c z",
        "SETEX d 100 v",
        "PSETEX e 100000 v",
        "GETSET a 3",
        "MSET f 1 g 2",
        "MSETNX f 1 h 2",
        "MSETNX h 1 i 2",
        "APPEND a xx",
        "APPEND j yy",
        "SETRANGE a 1 zz",
        "SETRANGE k 0 ''",
        "SETRANGE a 0 ''",
        "SETRANGE k2 2 q",
        "INCR n",
        "DECR n",
        "INCRBY n 5",
        "DECRBY n 2",
        "INCRBYFLOAT n 1.5",
        "INCR a",
        "GET a",
        "STRLEN a",
        "GETDEL b",
        "GETDEL nosuch",
        "GETEX a EX 100",
        "GETEX a PERSIST",
        "GETEX a PERSIST",
        "GETEX a",
        "GETEX c PXAT 1",
        "GETEX nosuch EX 10",
        "EXPIRE d 100",
        "EXPIRE d 100 NX",
        "EXPIRE d 200 GT",
        "PEXPIRE e 100000 XX",
        "EXPIRE nosuch 10",
        "EXPIREAT f 1",
        "PEXPIREAT g 99999999999999",
        "EXPIRE i -1",
        "PERSIST d",
        "PERSIST d",
        "PERSIST nosuch",
        "RENAME g g2",
        "RENAME g2 g2",
        "RENAMENX g2 h",
        "RENAMENX g2 fresh",
        "RENAME nosuch x",
        "COPY fresh copied",
        "COPY fresh copied",
        "COPY fresh copied REPLACE",
        "COPY fresh other DB 1",
        "MOVE copied 2",
        "MOVE copied 2",
        "SELECT 2",
        "SET a in2",
        "DEL copied a",
        "SELECT 0",
        "DEL a nosuch i",
        "DEL h h",
        "UNLINK j k2",
        "DUMPTO n restored",
        "DUMPTO n restored",
        "DUMPTO n restored 0 REPLACE",
        "DUMPTO n restored 1 REPLACE ABSTTL",
        "DUMPTO n gone 1 ABSTTL",
        "RPUSH list 3 1 2",
        "SORT list STORE sorted",
        "SORT nosuch STORE sorted",
        "SORT nosuch STORE sorted",
        "FLUSHALL",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// A seeded random mix of the g and $ commands over a few keys.
pub(crate) fn random_mix(seed: u64, n: usize) -> Vec<String> {
    let templates = [
        "SET {k} {v}",
        "SET {k} {v} EX 100",
        "SET {k} {v} NX",
        "SET {k} {v} XX GET",
        "APPEND {k} {v}",
        "SETRANGE {k} 2 {v}",
        "INCR {k}",
        "INCRBYFLOAT {k} 0.5",
        "GETDEL {k}",
        "GETEX {k} PX 50000",
        "GETEX {k} PERSIST",
        "EXPIRE {k} 100",
        "EXPIRE {k} 0",
        "PERSIST {k}",
        "DEL {k} {j}",
        "UNLINK {k}",
        "RENAME {k} {j}",
        "RENAMENX {k} {j}",
        "COPY {k} {j}",
        "COPY {k} {j} REPLACE",
        "MSET {k} {v} {j} {v}",
        "MSETNX {k} {v} {j} {v}",
        "MOVE {k} 1",
    ];
    fill_templates(&templates, seed, n, 5, 20)
}

/// `n` commands drawn from `templates` with a seeded generator, `{k}` and `{j}`
/// replaced by one of `keys` keys and `{v}` by one of `values` values.
pub(crate) fn fill_templates(
    templates: &[&str],
    seed: u64,
    n: usize,
    keys: u64,
    values: u64,
) -> Vec<String> {
    let mut state = seed;
    let mut next = |bound: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % bound
    };
    (0..n)
        .map(|_| {
            let template = templates[next(templates.len() as u64) as usize];
            let k = format!("k{}", next(keys));
            let j = format!("k{}", next(keys));
            let v = next(values).to_string();
            template
                .replace("{k}", &k)
                .replace("{j}", &j)
                .replace("{v}", &v)
        })
        .collect()
}

/// The port a side's writer is connected to, as the server tells it.
pub(crate) fn port_of(side: &mut Side) -> u16 {
    let port = side
        .writer
        .command(&["CONFIG", "GET", "port"])
        .expect("port");
    let Frame::Array(items) = port else {
        panic!("CONFIG GET answers an array")
    };
    text(&items[1]).parse().expect("a port")
}

/// Commands of class h, each event of Redis 7.0's t_hash.c, and the `del` of a hash
/// HDEL emptied.
pub(crate) fn hashes() -> Vec<String> {
    lines(&[
        "HSET h a 1 b 2",
        "HSET h a 1",
        "HMSET h c 3",
        "HSETNX h a 9",
        "HSETNX h d 4",
        "HINCRBY h n 5",
        "HINCRBY h a 1",
        "HINCRBY h c x",
        "HINCRBYFLOAT h f 1.5",
        "HINCRBYFLOAT h f x",
        "HDEL h nosuch",
        "HDEL h a b",
        "HGET h c",
        "HGETALL nosuch",
        "HDEL h c d n f",
        "HDEL h x",
        "SET s v",
        "HSET s a 1",
        "HDEL s a",
    ])
}

/// Commands of class s, each event of Redis 7.0's t_set.c, and the `del` of a set a
/// pop, move or removal emptied or a store left empty.
pub(crate) fn sets() -> Vec<String> {
    lines(&[
        "SADD s a b c",
        "SADD s a",
        "SADD s d",
        "SREM s nosuch",
        "SREM s a",
        "SMOVE s t b",
        "SMOVE s t nosuch",
        "SMOVE s s c",
        "SADD t c",
        "SMOVE s t c",
        "SMOVE s t d",
        "SADD u 1 2 3",
        "SPOP u 0",
        "SPOP nosuch",
        "SPOP nosuch 2",
        "SADD v 1",
        "SPOP v",
        "SADD w 1 2",
        "SPOP w 5",
        "SADD x1 a b c",
        "SADD x2 b c d",
        "SINTERSTORE dst x1 x2",
        "SUNIONSTORE dst x1 x2",
        "SDIFFSTORE dst x1 x2",
        "SINTERSTORE dst x1 nosuch",
        "SINTERSTORE dst x1 nosuch",
        "SDIFFSTORE dst x1 x1",
        "SUNIONSTORE dst2 nosuch",
        "SINTERCARD 2 x1 x2",
        "SET str v",
        "SADD str a",
        "SINTERSTORE str x1",
    ])
}

/// Removals that empty a list or a sorted set: the `del` they cause is class g.
fn emptying_removals() -> Vec<String> {
    lines(&[
        "SADD s1 a b",
        "SREM s1 a",
        "SREM s1 b",
        "RPUSH l1 a a b",
        "LREM l1 0 a",
        "LREM l1 0 b",
        "ZADD z1 1 a",
        "ZREM z1 a",
        "ZADD z2 1 a 2 b",
        "ZREMRANGEBYSCORE z2 0 1",
        "ZREMRANGEBYRANK z2 0 -1",
        "ZADD z3 0 a 0 b",
        "ZREMRANGEBYLEX z3 - +",
    ])
}

#[test]
fn generic_string_set_and_hash_events_match_redis() {
    let mut mismatches = Vec::new();
    // (Redis's classes, Tessera's, RESP3).
    let runs = [
        ("KEg$", "KEg$", false),
        ("KEA", "KEA", true),
        ("Kg", "Kg", true),
        ("E$", "E$", false),
        ("KEgh", "KEgh", false),
        ("Eh", "Eh", true),
        ("KEgs", "KEgs", true),
        ("Ks", "Ks", false),
    ];
    for (classes, tessera_classes, resp3) in runs {
        let redis = RedisServer::start(&["--notify-keyspace-events", classes]);
        let tessera = TesseraNode::start(&["--notify-keyspace-events", tessera_classes]);
        let mut pair = Pair {
            redis: Side::open(redis.port, resp3),
            tessera: Side::open(tessera.port, resp3),
            mismatches: Vec::new(),
            _servers: (redis, tessera),
        };
        let label = format!("{classes} RESP{}", if resp3 { 3 } else { 2 });
        let mut corpus = generic_and_string();
        corpus.extend(hashes());
        corpus.extend(sets());
        corpus.extend(emptying_removals());
        assert!(pair.run(&label, &corpus) > 5, "{label}: events were raised");
        let random = pair.run(&format!("{label} random"), &random_mix(7, 400));
        assert!(
            classes.contains(['g', '$', 'A']) == (random > 20),
            "{label}: random mix"
        );
        mismatches.append(&mut pair.mismatches);
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

impl Side {
    /// Reads `n` messages, sorted: what active expiry or eviction publishes comes in
    /// the order it finds keys, which differs between the servers.
    fn next_sorted(&mut self, n: usize) -> Vec<String> {
        let mut out: Vec<String> = (0..n)
            .map(|_| show(&self.listener.read_frame().expect("a message")))
            .collect();
        out.sort();
        out
    }
}

pub(crate) fn lines(corpus: &[&str]) -> Vec<String> {
    corpus.iter().map(|s| s.to_string()).collect()
}

/// Waits until `probe` (set with a 1 ms TTL after the keys under test) has expired on
/// both servers: the keys set before it have too. Reading it expires it lazily, which
/// publishes the same event on both.
fn wait_past(pair: &mut Pair, probe: &str) {
    for side in [&mut pair.redis, &mut pair.tessera] {
        let gone = wait_until(Duration::from_secs(5), || {
            side.writer.command(&["EXISTS", probe]).expect("EXISTS") == Frame::Integer(0)
        });
        assert!(gone, "{probe} expired");
    }
}

#[test]
fn expired_events_match_redis() {
    let mut mismatches = Vec::new();
    for resp3 in [false, true] {
        let mut pair = Pair::start("KEg$x", resp3);
        // Lazy expiry: the active cycle is off, so each key is found expired by the
        // command that reads or writes it, and its event comes before the command's.
        pair.run(
            "lazy setup",
            &lines(&[
                "DEBUG SET-ACTIVE-EXPIRE 0",
                "SET l1 v PX 1",
                "SET l2 v PX 1",
                "SET l3 v PX 1",
                "SET l4 v PX 1",
                "SET l5 v PX 1",
                "SET l6 v PX 1",
                "SET probe v PX 1",
            ]),
        );
        wait_past(&mut pair, "probe");
        pair.run(
            "lazy",
            &lines(&[
                "GET l1",
                "SET l2 new",
                "DEL l3 l1",
                "EXISTS l4",
                "APPEND l5 x",
                "EXPIRE l6 100",
                "GET l1",
            ]),
        );
        // Active expiry: keys nobody reads, reclaimed by the background cycle.
        let keys: Vec<String> = (0..8).map(|i| format!("SET a{i} v PX 20")).collect();
        pair.run("active setup", &keys);
        pair.run("active on", &lines(&["DEBUG SET-ACTIVE-EXPIRE 1"]));
        let want = pair.redis.next_sorted(16);
        let have = pair.tessera.next_sorted(16);
        if want != have {
            pair.mismatches
                .push(format!("[active] redis {want:#?}\n tessera {have:#?}"));
        }
        mismatches.append(&mut pair.mismatches);
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn evicted_events_name_the_keys_eviction_removed() {
    // Which keys go is random on both servers, so each is checked against itself:
    // one `evicted` event per key that is gone, and nothing else.
    let args = [
        "--notify-keyspace-events",
        "Ee",
        "--maxmemory-policy",
        "allkeys-random",
    ];
    let (redis, tessera) = (RedisServer::start(&args), TesseraNode::start(&args));
    for (name, port) in [("redis", redis.port), ("tessera", tessera.port)] {
        let mut side = Side::open(port, name == "tessera");
        let n = 2000u64;
        tessera_tests::memory::fill(&mut side.writer, "key:", 0..n, 200, |_| None);
        let used = tessera_tests::memory::info_u64(&mut side.writer, "used_memory");
        let limit = (used - used / 4).to_string();
        let set = ["CONFIG", "SET", "maxmemory", &limit];
        assert_eq!(text(&side.writer.command(&set).expect("CONFIG SET")), "OK");
        side.writer.command(&["SET", "last", "v"]).expect("SET");
        // Eviction may go on between commands (Redis's time-boxed cycle resumes in
        // its event loop): the events are read until the key count stays put.
        let mut events = Vec::new();
        let dbsize = |side: &mut Side| match side.writer.command(&["DBSIZE"]) {
            Ok(Frame::Integer(n)) => n as u64,
            other => panic!("DBSIZE: {other:?}"),
        };
        let settled = wait_until(Duration::from_secs(5), || {
            let before = dbsize(&mut side);
            events.extend(side.messages());
            let after = dbsize(&mut side);
            before == after && events.len() as u64 == n + 1 - after
        });
        assert!(
            settled,
            "{name}: one event per key evicted ({} events)",
            events.len()
        );
        assert!(!events.is_empty(), "{name}: eviction ran");
        for event in &events {
            assert!(event.contains("__keyevent@0__:evicted"), "{name}: {event}");
            let key = event
                .rsplit(", ")
                .next()
                .expect("the key")
                .trim_end_matches(']');
            let key = key.trim_matches('"');
            let exists = side.writer.command(&["EXISTS", key]).expect("EXISTS");
            assert_eq!(exists, Frame::Integer(0), "{name}: {key} was evicted");
        }
    }
}

/// Pops, trims, moves and stores of lists and sorted sets: with class g on, the key
/// they empty raises `del`.
fn emptying_pops() -> Vec<String> {
    lines(&[
        "RPUSH p1 a",
        "LPOP p1",
        "RPUSH p2 a b",
        "RPOP p2 5",
        "RPUSH p3 a",
        "LMPOP 1 p3 LEFT",
        "RPUSH p4 a b c",
        "LTRIM p4 5 10",
        "RPUSH p5 x",
        "LMOVE p5 p6 LEFT RIGHT",
        "RPOPLPUSH p6 p7",
        "BLPOP p7 1",
        "RPUSH p8 y",
        "BLMOVE p8 p9 LEFT LEFT 1",
        "BRPOPLPUSH p9 p9 1",
        "RPUSH p10 a",
        "BLMPOP 1 1 p10 LEFT COUNT 3",
        "ZADD q1 1 a",
        "ZPOPMIN q1",
        "ZADD q2 1 a 2 b",
        "ZPOPMAX q2 5",
        "ZADD q3 1 a",
        "ZMPOP 1 q3 MIN",
        "ZADD q4 1 a",
        "BZPOPMIN q4 1",
        "ZADD q5 1 a",
        "BZMPOP 1 1 q5 MAX",
        "ZADD q6 1 a",
        "ZUNIONSTORE q6 1 nosuch",
        "ZADD q7 1 a",
        "ZRANGESTORE q7 nosuch 0 -1",
        "ZADD q8 1 a",
        "ZINTERSTORE q8 2 q8 nosuch",
        "ZUNIONSTORE q9 1 nosuch",
    ])
}

#[test]
fn pops_that_empty_a_key_raise_del() {
    let mut pair = Pair::start("KEg", true);
    assert!(pair.run("pops", &emptying_pops()) > 10);
    // A blocked client served by a push: its pop empties the list.
    let mut blocked = Vec::new();
    for side in [&mut pair.redis, &mut pair.tessera] {
        let mut waiter = RawConnection::connect(port_of(side)).expect("connect");
        waiter
            .send(&Frame::command(["BLPOP", "w", "5"].map(str::as_bytes)))
            .expect("send");
        let listed = wait_until(Duration::from_secs(5), || {
            let info = side.writer.command(&["INFO", "clients"]).expect("INFO");
            text(&info).contains("blocked_clients:1")
        });
        assert!(listed, "the waiter blocks");
        side.writer.command(&["RPUSH", "w", "a"]).expect("RPUSH");
        let served = waiter.read_frame().expect("BLPOP's reply");
        assert!(matches!(served, Frame::Array(_)), "{}", show(&served));
        blocked.push(waiter);
    }
    pair.run("served", &[]);
    assert!(pair.mismatches.is_empty(), "{}", pair.mismatches.join("\n"));
}

#[test]
fn no_classes_no_messages() {
    let mut pair = Pair::start("", false);
    assert_eq!(pair.run("off", &generic_and_string()), 0);
    let mut pair_k = Pair::start("g$", true);
    assert_eq!(pair_k.run("g$ without K or E", &generic_and_string()), 0);
    let all: Vec<String> = pair
        .mismatches
        .into_iter()
        .chain(pair_k.mismatches)
        .collect();
    assert!(all.is_empty(), "{}", all.join("\n"));
}

#[test]
fn setting_matches_redis() {
    let redis = RedisServer::start(&[]);
    let tessera = TesseraNode::start(&[]);
    let mut r = RawConnection::connect(redis.port).expect("connect");
    let mut t = tessera.raw();
    for value in [
        "Kg$E",
        "gggE",
        "$gK",
        "",
        "Etd",
        "Q",
        "KEgz!",
        "K E",
        "Kxe",
        "exK$",
        "hKg",
        "sE",
        "KEA",
        "Kl",
        "Kz",
        "AKE",
        "lzE",
        "Kg$lshzxetd",
        "Kn",
        "Km",
        "KEAnm",
        "KEAn",
        "AnmKE",
        "nE",
        "gn$E",
        "Anl",
        "mE",
    ] {
        let set = ["CONFIG", "SET", "notify-keyspace-events", value];
        let get = ["CONFIG", "GET", "notify-keyspace-events"];
        let (want, have) = (r.command(&set).unwrap(), t.command(&set).unwrap());
        if text(&want) == "OK" || value.contains('Q') || value.contains('!') {
            assert_eq!(want, have, "CONFIG SET {value}");
        }
        if want == have {
            assert_eq!(
                r.command(&get).unwrap(),
                t.command(&get).unwrap(),
                "{value}"
            );
        }
    }
}
