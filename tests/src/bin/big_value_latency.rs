//! Big values and other clients' latency, Tessera vs redis-server 7.0 side by side on
//! this machine: the PING round trips other clients see (max and p99 of the pings that
//! overlap the operation) while one client
//! - MIGRATEs a sorted set of N members to a second node of the same kind (pings go
//!   to both the source, which serializes and sends, and the target, which loads);
//! - SADDs into a set of N members: N more members one SADD each (pipelined 16
//!   deep), which takes the set through its hash table's growth on both kinds, and
//!   then one SADD of N/10 new members.
//!
//! The nodes run standalone (MIGRATE needs no cluster, and a PING has no slot: what
//! is measured is whether the node keeps serving everyone else).
//!
//! Run: `cargo build --release --workspace --bins --features tessera-tests/bench &&
//! target/release/big_value_latency [N]` (N defaults to 1,000,000).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use tessera_resp::frame::Frame;
use tessera_tests::{RawConnection, RedisServer, TesseraNode, text};

/// Pinging clients per node: Tessera spreads connections over its threads, so several.
const PINGERS: usize = 4;

/// SADDs in flight on the adding connection: many clients' worth of writes.
const PIPELINE: usize = 16;

/// A standalone node of either kind, stopped when dropped.
enum Server {
    Redis(RedisServer),
    Tessera(TesseraNode),
}

impl Server {
    fn start(redis: bool) -> Server {
        if redis {
            Server::Redis(RedisServer::start(&[]))
        } else {
            Server::Tessera(TesseraNode::start(&[]))
        }
    }

    fn port(&self) -> u16 {
        match self {
            Server::Redis(r) => r.port,
            Server::Tessera(t) => t.port,
        }
    }
}

/// Adds members `from..to` to `key` (a set or, with scores, a sorted set), 1000 per
/// command.
fn fill(c: &mut RawConnection, zset: bool, key: &str, from: usize, to: usize) {
    for start in (from..to).step_by(1000) {
        let end = (start + 1000).min(to);
        let mut args: Vec<String> = vec![if zset { "ZADD" } else { "SADD" }.into(), key.into()];
        for i in start..end {
            if zset {
                args.push(i.to_string());
            }
            args.push(format!("member:{i}"));
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        c.command(&refs).expect("fill");
    }
}

/// What other clients saw during one operation.
struct Seen {
    /// How long the operation took.
    took: Duration,
    /// PING round trips that overlapped it.
    samples: Vec<Duration>,
    /// Each pinging client's worst round trip: a node that stalls only the clients
    /// sharing a thread with the operation shows a few large values among small ones.
    per_client: Vec<Duration>,
}

impl Seen {
    fn max(&self) -> Duration {
        self.samples.iter().copied().max().unwrap_or_default()
    }

    fn p99(&self) -> Duration {
        let mut s = self.samples.clone();
        s.sort_unstable();
        s.get((s.len() * 99 / 100).min(s.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    }
}

/// A pinging thread: when each of its pings began, and its round trip.
type Pinger = thread::JoinHandle<Vec<(Instant, Duration)>>;

/// Runs `work` while [`PINGERS`] clients ping each of `ports`; answers, per port, the
/// round trips of the pings that overlapped `work`.
fn under_pings(ports: &[u16], work: impl FnOnce()) -> Vec<Seen> {
    let stop = Arc::new(AtomicBool::new(false));
    let pingers: Vec<(usize, Pinger)> = ports
        .iter()
        .enumerate()
        .flat_map(|(i, &port)| (0..PINGERS).map(move |_| (i, port)))
        .map(|(i, port)| {
            let stop = stop.clone();
            let mut c = RawConnection::connect(port).expect("connect");
            let handle = thread::spawn(move || {
                let mut seen = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    c.command(&["PING"]).expect("PING");
                    seen.push((t, t.elapsed()));
                }
                seen
            });
            (i, handle)
        })
        .collect();
    // Every pinger connected and pinging before the work starts.
    thread::sleep(Duration::from_millis(100));
    let start = Instant::now();
    work();
    let end = Instant::now();
    stop.store(true, Ordering::Relaxed);
    let mut seen: Vec<Seen> = ports
        .iter()
        .map(|_| Seen {
            took: end - start,
            samples: Vec::new(),
            per_client: Vec::new(),
        })
        .collect();
    for (i, handle) in pingers {
        let pings = handle.join().expect("pinger");
        // Pings in flight at the start count: on a node that stops serving, those
        // are the ones that wait it out.
        let during: Vec<Duration> = pings
            .into_iter()
            .filter(|&(t, d)| t < end && t + d > start)
            .map(|(_, d)| d)
            .collect();
        let worst = during.iter().copied().max().unwrap_or_default();
        seen[i].per_client.push(worst);
        seen[i].samples.extend(during);
    }
    seen
}

/// One row of the report: an operation and what the pingers saw, on one kind.
struct Row {
    what: String,
    seen: Seen,
}

/// MIGRATE of an N-member sorted set from one node to another of the same kind.
fn migrate(redis: bool, n: usize) -> Vec<Row> {
    let (src, dst) = (Server::start(redis), Server::start(redis));
    let mut c = RawConnection::connect(src.port()).expect("connect");
    fill(&mut c, true, "big", 0, n);
    let target = dst.port().to_string();
    let mut seen = under_pings(&[src.port(), dst.port()], || {
        let reply = c
            .command(&["MIGRATE", "127.0.0.1", &target, "big", "0", "600000"])
            .expect("MIGRATE");
        assert_eq!(text(&reply), "OK", "MIGRATE: {reply:?}");
    });
    let mut d = RawConnection::connect(dst.port()).expect("connect");
    let card = d.command(&["ZCARD", "big"]).expect("ZCARD");
    assert_eq!(card, Frame::Integer(n as i64), "the target has the set");
    let on_dst = seen.pop().expect("the target's pings");
    let on_src = seen.pop().expect("the source's pings");
    vec![
        Row {
            what: format!("MIGRATE {n}-member zset, pings to source"),
            seen: on_src,
        },
        Row {
            what: format!("MIGRATE {n}-member zset, pings to target"),
            seen: on_dst,
        },
    ]
}

/// SADDs into an N-member set: N single-member SADDs, then one of N/10 members.
fn sadd(redis: bool, n: usize) -> Vec<Row> {
    let server = Server::start(redis);
    let port = server.port();
    let mut c = RawConnection::connect(port).expect("connect");
    fill(&mut c, false, "s", 0, n);
    let mut rows = Vec::new();
    let mut slowest = Duration::ZERO;
    let mut seen = under_pings(&[port], || {
        let args: Vec<String> = (n..2 * n).map(|i| format!("member:{i}")).collect();
        for chunk in args.chunks(PIPELINE) {
            let sent = Instant::now();
            for m in chunk {
                c.send(&Frame::command([b"SADD".as_slice(), b"s", m.as_bytes()]))
                    .expect("send SADD");
            }
            for _ in chunk {
                assert_eq!(c.read_frame().expect("SADD"), Frame::Integer(1));
            }
            slowest = slowest.max(sent.elapsed());
        }
    });
    println!(
        "{}: slowest batch of {PIPELINE} single-member SADDs {:.2} ms",
        if redis { "redis-server" } else { "tessera" },
        ms(slowest)
    );
    rows.push(Row {
        what: format!("SADD x{n} (1 member each) into a {n}-member set"),
        seen: seen.pop().expect("pings"),
    });
    let big = n / 10;
    let mut args: Vec<String> = vec!["SADD".into(), "s".into()];
    args.extend((2 * n..2 * n + big).map(|i| format!("member:{i}")));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut seen = under_pings(&[port], || {
        let reply = c.command(&refs).expect("SADD");
        assert_eq!(reply, Frame::Integer(big as i64));
    });
    rows.push(Row {
        what: format!("one SADD of {big} members into a {}-member set", 2 * n),
        seen: seen.pop().expect("pings"),
    });
    rows
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let mut both = Vec::new();
    for redis in [true, false] {
        let mut rows = migrate(redis, n);
        rows.extend(sadd(redis, n));
        both.push(rows);
    }
    let tessera = both.pop().expect("tessera rows");
    let redis = both.pop().expect("redis rows");
    println!(
        "PING round trips (ms) from {PINGERS} other clients per node while the operation runs; \
         x = tessera / redis (below 1 is better)"
    );
    println!(
        "{:<52} | {:>8} {:>8} {:>8} {:>6} | {:>8} {:>8} {:>8} {:>6} | {:>6} {:>6}",
        "operation",
        "redis op",
        "max",
        "p99",
        "pings",
        "tess. op",
        "max",
        "p99",
        "pings",
        "max x",
        "p99 x"
    );
    for (r, t) in redis.iter().zip(&tessera) {
        let (rs, ts) = (&r.seen, &t.seen);
        println!(
            "{:<52} | {:>8.1} {:>8.2} {:>8.2} {:>6} | {:>8.1} {:>8.2} {:>8.2} {:>6} | {:>6.2} {:>6.2}",
            r.what,
            ms(rs.took),
            ms(rs.max()),
            ms(rs.p99()),
            rs.samples.len(),
            ms(ts.took),
            ms(ts.max()),
            ms(ts.p99()),
            ts.samples.len(),
            ms(ts.max()) / ms(rs.max()),
            ms(ts.p99()) / ms(rs.p99()),
        );
        let each = |s: &Seen| {
            let v: Vec<String> = s
                .per_client
                .iter()
                .map(|d| format!("{:.1}", ms(*d)))
                .collect();
            v.join(" ")
        };
        println!(
            "{:<52} | redis [{}]  tessera [{}]",
            "  each pinging client's max",
            each(rs),
            each(ts)
        );
    }
}
