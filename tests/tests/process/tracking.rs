//! Client-side caching (CLIENT TRACKING) against redis-server 7.0.15: on each server a
//! tracking client (RESP3), a writer (RESP2) and a RESP2 subscriber of
//! `__redis__:invalidate` (the REDIRECT target) run the same script, and every reply
//! and every push each connection receives is compared. Default mode, OPTIN/OPTOUT with
//! CLIENT CACHING, NOLOOP, BCAST with prefixes, REDIRECT, FLUSHALL, expiry, the errors,
//! TRACKINGINFO, GETREDIR, CLIENT INFO's flags, INFO's counts, tracking-table-max-keys,
//! a broken redirect, then a seeded random mix.
//!
//! After each command, every connection sends `PING fence` and is read up to its
//! answer: each server writes a push before it reads the next request, so what came
//! before the fence is everything the command caused.

use std::time::Duration;

use tessera_resp::frame::Frame;
use tessera_tests::{RawConnection, RedisServer, TesseraNode, show, text, wait_until};

/// The tracking client, the writer, the redirect subscriber.
const TRACKER: usize = 0;
const WRITER: usize = 1;
const SUB: usize = 2;

/// One server's three connections.
struct Side {
    conns: Vec<RawConnection>,
    /// The subscriber's client id (what REDIRECT names; replies show it as `SUB`).
    sub_id: i64,
    alive: [bool; 3],
    /// Inside MULTI: a fence would be queued, so none is sent.
    queuing: [bool; 3],
}

impl Side {
    fn connect(port: u16) -> Side {
        let mut conns: Vec<RawConnection> = (0..3)
            .map(|_| RawConnection::connect(port).expect("connect"))
            .collect();
        conns[TRACKER].command(&["HELLO", "3"]).expect("HELLO 3");
        let sub_id = match conns[SUB].command(&["CLIENT", "ID"]).expect("CLIENT ID") {
            Frame::Integer(n) => n,
            other => panic!("CLIENT ID answered {}", show(&other)),
        };
        conns[SUB]
            .command(&["SUBSCRIBE", "__redis__:invalidate"])
            .expect("SUBSCRIBE");
        Side {
            conns,
            sub_id,
            alive: [true; 3],
            queuing: [false; 3],
        }
    }

    /// Reads `who` up to its fence's answer.
    fn fence(&mut self, who: usize) -> Vec<Frame> {
        let c = &mut self.conns[who];
        c.send(&Frame::command([b"PING".as_slice(), b"fence"]))
            .expect("send");
        let mut got = Vec::new();
        loop {
            let f = c.read_frame().expect("a frame before the fence");
            if show(&f).contains("\"fence\"") {
                return got;
            }
            got.push(f);
        }
    }

    /// Runs `line` on `who`; answers what each connection received, as text.
    fn run(&mut self, who: usize, line: &str) -> Vec<Vec<String>> {
        let sub = self.sub_id.to_string();
        let args: Vec<String> = line
            .split(' ')
            .map(|a| {
                if a == "$SUB" {
                    sub.clone()
                } else {
                    a.to_string()
                }
            })
            .collect();
        let c = &mut self.conns[who];
        c.send(&Frame::command(args.iter().map(String::as_bytes)))
            .expect("send");
        let mut mine = vec![c.read_frame().expect("a reply")];
        if line.starts_with("CLIENT KILL") {
            self.alive[SUB] = false;
        }
        match line {
            "MULTI" => self.queuing[who] = true,
            "EXEC" | "DISCARD" => self.queuing[who] = false,
            _ => {}
        }
        if !self.queuing[who] {
            mine.extend(self.fence(who));
        }
        let mut all = vec![Vec::new(); 3];
        all[who] = mine;
        let (alive, queuing) = (self.alive, self.queuing);
        for other in (0..3).filter(|&o| o != who && alive[o] && !queuing[o]) {
            all[other] = self.fence(other);
        }
        all.iter()
            .map(|frames| frames.iter().map(|f| self.normalize(f, line)).collect())
            .collect()
    }

    /// A frame as text, the subscriber's id shown as `SUB` where a reply names it.
    fn normalize(&self, f: &Frame, line: &str) -> String {
        let shown = show(f);
        let names_id = line.contains("GETREDIR")
            || line.contains("TRACKINGINFO")
            || shown.contains("tracking-redir-broken");
        if names_id {
            let id = format!(":{}", self.sub_id);
            return shown
                .replace(&format!("{id},"), ":SUB,")
                .replace(&format!("{id}]"), ":SUB]")
                .replace(&format!("{id}}}"), ":SUB}")
                .replace(&format!("{id}, "), ":SUB, ")
                .replacen(&id, ":SUB", usize::from(shown == id));
        }
        shown
    }

    /// The tracker's CLIENT INFO flags and redir, and INFO's tracking counts (what
    /// CLIENT LIST shows of it too).
    fn introspect(&mut self) -> Vec<String> {
        let info = text(
            &self.conns[TRACKER]
                .command(&["CLIENT", "INFO"])
                .expect("CLIENT INFO"),
        );
        let mut out: Vec<String> = info
            .lines()
            .flat_map(|l| l.split_whitespace())
            .filter(|f| f.starts_with("flags=") || f.starts_with("redir="))
            .map(|f| f.replace(&format!("redir={}", self.sub_id), "redir=SUB"))
            .collect();
        let stats = text(&self.conns[WRITER].command(&["INFO"]).expect("INFO"));
        out.extend(
            stats
                .lines()
                .filter(|l| l.starts_with("tracking_"))
                .map(str::to_string),
        );
        out
    }
}

/// The script: who runs what. `EVICT` steps read keys past tracking-table-max-keys.
fn script() -> Vec<(usize, &'static str)> {
    let t = TRACKER;
    let w = WRITER;
    vec![
        // Errors, before and without tracking.
        (t, "CLIENT TRACKINGINFO"),
        (t, "CLIENT GETREDIR"),
        (t, "CLIENT CACHING YES"),
        (t, "CLIENT CACHING maybe"),
        (t, "CLIENT TRACKING maybe"),
        (t, "CLIENT TRACKING ON OPTIN OPTOUT"),
        (t, "CLIENT TRACKING ON PREFIX a"),
        (t, "CLIENT TRACKING ON BCAST OPTIN"),
        (t, "CLIENT TRACKING ON BCAST PREFIX a PREFIX ab"),
        (t, "CLIENT TRACKING ON REDIRECT 999999"),
        (t, "CLIENT TRACKING ON REDIRECT 0"),
        (t, "CLIENT TRACKING ON REDIRECT x"),
        (t, "CLIENT TRACKING ON REDIRECT $SUB REDIRECT $SUB"),
        (t, "CLIENT TRACKING OFF REDIRECT 999999"),
        (t, "CLIENT TRACKING ON NOSUCH"),
        (t, "CLIENT TRACKING ON PREFIX"),
        (t, "CLIENT TRACKING"),
        (t, "CLIENT TRACKINGINFO extra"),
        // Default mode: reads are remembered, any change invalidates once.
        (w, "SET a 1"),
        (t, "CLIENT TRACKING ON"),
        (t, "CLIENT TRACKINGINFO"),
        (t, "CLIENT GETREDIR"),
        (t, "GET a"),
        (t, "MGET b c"),
        (t, "EXISTS d"),
        (w, "SET a 2"),
        (w, "SET a 3"),
        (w, "MSET b 1 c 2"),
        (w, "DEL d"),
        (w, "SET d 1"),
        (t, "STRLEN d"),
        (w, "INCR d"),
        (t, "GET a"),
        (t, "SET a mine"),
        (t, "GET a"),
        (w, "APPEND a x"),
        (t, "HGET h f"),
        (w, "HSET h f v"),
        (t, "LRANGE l 0 -1"),
        (w, "RPUSH l x"),
        (t, "SMEMBERS s"),
        (t, "ZRANGE z 0 -1"),
        (w, "SADD s m"),
        (w, "ZADD z 1 m"),
        (t, "GET a"),
        (w, "EXPIRE a 100"),
        (t, "GET a"),
        (w, "PERSIST a"),
        (t, "GET a"),
        (w, "RENAME a a2"),
        (t, "GET a2"),
        (t, "INTROSPECT"),
        // In a transaction: the reads of EXEC are remembered.
        (t, "MULTI"),
        (t, "GET m1"),
        (t, "GET m2"),
        (t, "EXEC"),
        (w, "MSET m1 1 m2 2"),
        // Scripts: each read-only command a script calls remembers the script's
        // declared keys (Redis 7.0), not the keys that command read.
        (t, "EVAL return(redis.call('get','sk')) 0"),
        (t, "EVAL return(redis.call('get',KEYS[1])) 1 sk2"),
        (t, "EVAL_RO return(redis.call('get',KEYS[1])) 1 sk3"),
        (t, "EVAL return(redis.call('set',KEYS[1],'v')) 1 sk4"),
        (w, "MSET sk 1 sk2 2 sk3 3 sk4 4"),
        (t, "GET sk5"),
        (t, "EVAL return(redis.call('set',KEYS[1],'v')) 1 sk5"),
        (t, "INTROSPECT"),
        // FLUSHALL and DEBUG RELOAD: a null to every tracking client, and the table is
        // emptied.
        (t, "GET f"),
        (w, "FLUSHALL"),
        (w, "SET f 1"),
        (t, "GET f"),
        (w, "DEBUG RELOAD"),
        (t, "INTROSPECT"),
        // NOLOOP: no invalidation of the tracker's own changes.
        (t, "CLIENT TRACKING ON NOLOOP"),
        (t, "CLIENT TRACKINGINFO"),
        (t, "GET n"),
        (t, "SET n 1"),
        (t, "GET n"),
        (w, "SET n 2"),
        (t, "FLUSHALL"),
        // OPTIN: only after CLIENT CACHING YES, for one command.
        (t, "CLIENT TRACKING ON OPTIN"),
        (t, "CLIENT TRACKING OFF"),
        (t, "CLIENT TRACKINGINFO"),
        (t, "CLIENT GETREDIR"),
        (t, "CLIENT TRACKING ON OPTIN"),
        (t, "CLIENT TRACKING ON OPTOUT"),
        (t, "CLIENT CACHING NO"),
        (t, "GET o1"),
        (t, "CLIENT CACHING YES"),
        (t, "CLIENT TRACKINGINFO"),
        (t, "CLIENT GETNAME"),
        (t, "GET o2"),
        (t, "GET o3"),
        (w, "MSET o1 1 o2 1 o3 1"),
        (t, "CLIENT CACHING YES"),
        (t, "MULTI"),
        (t, "GET o4"),
        (t, "GET o5"),
        (t, "EXEC"),
        (t, "CLIENT TRACKINGINFO"),
        (w, "MSET o4 1 o5 1"),
        (t, "CLIENT CACHING YES"),
        (t, "EVAL return(redis.call('get',KEYS[1])) 1 o6"),
        (t, "EVAL return(redis.call('get',KEYS[1])) 1 o7"),
        (w, "MSET o6 1 o7 1"),
        // OPTOUT: everything but the command after CLIENT CACHING NO.
        (t, "CLIENT TRACKING OFF"),
        (t, "CLIENT TRACKING ON OPTOUT"),
        (t, "CLIENT CACHING YES"),
        (t, "CLIENT CACHING NO"),
        (t, "CLIENT TRACKINGINFO"),
        (t, "GET p1"),
        (t, "GET p2"),
        (w, "MSET p1 1 p2 1"),
        (t, "INTROSPECT"),
        (t, "CLIENT TRACKING OFF"),
        // BCAST with prefixes (and the overlap rules).
        (t, "CLIENT TRACKING ON BCAST PREFIX user: PREFIX item:"),
        (t, "CLIENT TRACKING ON OPTIN"),
        (t, "CLIENT TRACKING ON BCAST PREFIX us"),
        (t, "CLIENT TRACKING ON BCAST PREFIX x PREFIX a PREFIX ab"),
        (t, "CLIENT TRACKINGINFO"),
        (t, "INTROSPECT"),
        (w, "SET user:1 a"),
        (w, "MSET user:2 b item:9 c other 1"),
        (w, "SET other 2"),
        (w, "SET ab1 1"),
        (t, "SET user:3 mine"),
        (t, "CLIENT TRACKING ON BCAST NOLOOP PREFIX q"),
        (t, "SET user:4 mine"),
        (t, "MSET user:5 mine qq 1"),
        (w, "DEL user:1 user:2 nosuch"),
        (w, "FLUSHDB"),
        (t, "CLIENT TRACKING OFF"),
        (t, "INTROSPECT"),
        // BCAST with no prefix: every key.
        (t, "CLIENT TRACKING ON BCAST"),
        (t, "CLIENT TRACKINGINFO"),
        (w, "SET anything 1"),
        (t, "CLIENT TRACKING OFF"),
        // REDIRECT to a RESP2 subscriber of __redis__:invalidate.
        (t, "CLIENT TRACKING ON REDIRECT $SUB"),
        (t, "CLIENT TRACKINGINFO"),
        (t, "CLIENT GETREDIR"),
        (t, "INTROSPECT"),
        (t, "GET r1"),
        (t, "GET r2"),
        (w, "SET r1 1"),
        (w, "DEL r2"),
        (w, "SET r2 1"),
        (t, "FLUSHALL"),
        (t, "CLIENT TRACKING ON REDIRECT $SUB BCAST PREFIX rb"),
        (t, "CLIENT TRACKING OFF"),
        (t, "CLIENT TRACKING ON REDIRECT $SUB BCAST PREFIX rb"),
        (w, "MSET rb1 1 rb2 2 zz 3"),
        (t, "CLIENT TRACKING OFF"),
        // tracking-table-max-keys: the table drops keys (a random one) with their
        // invalidations, before the next command.
        (w, "CONFIG SET tracking-table-max-keys 2"),
        (t, "CLIENT TRACKING ON"),
        (t, "GET e1"),
        (t, "GET e2"),
        (t, "EVICT GET e3"),
        (t, "EVICT GET e4"),
        (t, "EVICT PING"),
        (t, "INTROSPECT"),
        (w, "CONFIG SET tracking-table-max-keys 0"),
        (t, "CLIENT TRACKING OFF"),
        // A redirect client that goes: the tracker is told, once per invalidation.
        (t, "CLIENT TRACKING ON REDIRECT $SUB"),
        (t, "GET g1"),
        (t, "GET g2"),
        (w, "CLIENT KILL ID $SUB"),
        (w, "SET g1 1"),
        (t, "CLIENT TRACKINGINFO"),
        (t, "INTROSPECT"),
        (w, "SET g2 1"),
        (t, "CLIENT TRACKING OFF"),
        (t, "INTROSPECT"),
    ]
}

/// Runs a step on both sides, noting a difference.
fn step(sides: &mut [Side; 2], who: usize, line: &str, mismatches: &mut Vec<String>) {
    let (want, have) = if line == "INTROSPECT" {
        (vec![sides[0].introspect()], vec![sides[1].introspect()])
    } else {
        let command = line.strip_prefix("EVICT ").unwrap_or(line);
        let run = |s: &mut Side| {
            let mut got = s.run(who, command);
            if line.starts_with("EVICT") {
                got = got
                    .into_iter()
                    .map(|frames| frames.iter().map(|f| s.normalize_evict(f)).collect())
                    .collect();
            }
            got
        };
        (run(&mut sides[0]), run(&mut sides[1]))
    };
    if want != have {
        mismatches.push(format!(
            "[{who}] {line}\n    redis:   {want:?}\n    tessera: {have:?}"
        ));
    }
}

impl Side {
    /// An invalidation of a key the table dropped, without the key.
    fn normalize_evict(&self, shown: &str) -> String {
        match shown.find("\"invalidate\"") {
            Some(at) => shown[..at].to_string() + "\"invalidate\", <key>]",
            None => shown.to_string(),
        }
    }
}

#[test]
fn tracking_matches_redis() {
    let debug = ["--enable-debug-command", "yes"];
    let redis = RedisServer::start(&debug);
    let tessera = TesseraNode::start(&debug);
    let mut sides = [Side::connect(redis.port), Side::connect(tessera.port)];
    let mut mismatches = Vec::new();
    for (who, line) in script() {
        step(&mut sides, who, line, &mut mismatches);
    }
    assert!(
        mismatches.is_empty(),
        "{} steps differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn expiry_invalidates() {
    let redis = RedisServer::start(&[]);
    let tessera = TesseraNode::start(&[]);
    let mut sides = [Side::connect(redis.port), Side::connect(tessera.port)];
    let mut mismatches = Vec::new();
    for (who, line) in [
        (TRACKER, "CLIENT TRACKING ON"),
        (WRITER, "SET x 1 PX 30"),
        (TRACKER, "GET x"),
    ] {
        step(&mut sides, who, line, &mut mismatches);
    }
    // The key goes, lazily (EXISTS) or actively: either way the tracker is told once.
    let mut seen = Vec::new();
    for side in &mut sides {
        let writer = &mut side.conns[WRITER];
        assert!(
            wait_until(Duration::from_secs(5), || {
                writer.command(&["EXISTS", "x"]).expect("EXISTS") == Frame::Integer(0)
            }),
            "x never expired"
        );
        seen.push(side.fence(TRACKER).iter().map(show).collect::<Vec<_>>());
    }
    assert_eq!(seen[0], seen[1], "pushes after expiry: redis, then tessera");
    assert_eq!(seen[1].len(), 1, "one invalidation: {:?}", seen[1]);
    assert!(
        mismatches.is_empty(),
        "{} steps differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

/// A small deterministic generator, so a failing mix replays.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn random_mix_matches_redis() {
    let redis = RedisServer::start(&[]);
    let tessera = TesseraNode::start(&[]);
    let mut sides = [Side::connect(redis.port), Side::connect(tessera.port)];
    let mut mismatches = Vec::new();
    let seed = 0x7e55e7a_u64;
    let mut rng = Rng(seed);
    let modes = [
        "CLIENT TRACKING ON",
        "CLIENT TRACKING ON NOLOOP",
        "CLIENT TRACKING ON REDIRECT $SUB",
        "CLIENT TRACKING ON BCAST PREFIX k1 PREFIX k2",
        "CLIENT TRACKING ON BCAST NOLOOP",
    ];
    let mut lines: Vec<(usize, String)> = Vec::new();
    for mode in modes {
        lines.push((TRACKER, "CLIENT TRACKING OFF".into()));
        lines.push((TRACKER, mode.into()));
        for _ in 0..60 {
            let key = |rng: &mut Rng| format!("k{}", rng.below(4));
            let who = if rng.below(4) == 0 { TRACKER } else { WRITER };
            let line = match rng.below(9) {
                0 | 1 => format!("GET {}", key(&mut rng)),
                2 => format!("MGET {} {}", key(&mut rng), key(&mut rng)),
                3 => format!("EXISTS {}", key(&mut rng)),
                4 | 5 => format!("SET {} {}", key(&mut rng), rng.below(100)),
                6 => format!("DEL {}", key(&mut rng)),
                7 => format!("INCR {}", key(&mut rng)),
                _ => format!("MSET {} 1 {} 2", key(&mut rng), key(&mut rng)),
            };
            lines.push((who, line));
        }
        lines.push((TRACKER, "INTROSPECT".into()));
    }
    for (who, line) in &lines {
        step(&mut sides, *who, line, &mut mismatches);
    }
    assert!(
        mismatches.is_empty(),
        "seed {seed:#x}: {} steps differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn redirect_to_a_resp3_connection_that_never_subscribed() {
    let redis = RedisServer::start(&[]);
    let tessera = TesseraNode::start(&[]);
    let mut seen = Vec::new();
    for port in [redis.port, tessera.port] {
        let mut side = Side::connect(port);
        let mut target = RawConnection::connect(port).expect("connect");
        target.command(&["HELLO", "3"]).expect("HELLO 3");
        let id = match target.command(&["CLIENT", "ID"]).expect("CLIENT ID") {
            Frame::Integer(n) => n.to_string(),
            other => panic!("CLIENT ID answered {}", show(&other)),
        };
        let tracker = &mut side.conns[TRACKER];
        tracker
            .command(&["CLIENT", "TRACKING", "ON", "REDIRECT", &id])
            .expect("TRACKING");
        tracker.command(&["GET", "k"]).expect("GET");
        side.conns[WRITER].command(&["SET", "k", "1"]).expect("SET");
        target
            .send(&Frame::command([b"PING".as_slice(), b"fence"]))
            .expect("send");
        let mut got = Vec::new();
        loop {
            let f = target.read_frame().expect("a frame");
            got.push(show(&f));
            if got.last().is_some_and(|s| s.contains("fence")) {
                break;
            }
        }
        seen.push(got);
    }
    assert_eq!(seen[0], seen[1], "the target's frames: redis, then tessera");
}
