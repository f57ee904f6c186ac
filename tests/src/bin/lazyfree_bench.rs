//! Big values and latency, Tessera vs redis-server 7.0 side by side on this machine:
//! the worst PING round trip seen by other clients while one client
//! - deletes a collection of N members with UNLINK, then with DEL (default config),
//!   for a set, a list, a hash and a sorted set;
//! - adds N/10 new members one SADD at a time to a set of N members (hash-table
//!   growth: Redis rehashes incrementally);
//!
//! and, for each type, the memory a collection of N members takes (used_memory and
//! RSS deltas) and for 100k small hashes (10 fields each).
//!
//! Run: `cargo build --release --workspace --bins --features tessera-tests/bench &&
//! target/release/lazyfree_bench [N]` (N defaults to 1,000,000).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use tessera_resp::frame::Frame;
use tessera_tests::{RawConnection, RedisServer, TesseraNode, text};

/// Pinging clients: Tessera spreads connections over its threads, so several.
const PINGERS: usize = 4;

fn fill(c: &mut RawConnection, kind: &str, key: &str, n: usize) {
    let batch = 1000;
    for start in (0..n).step_by(batch) {
        let end = (start + batch).min(n);
        let mut args: Vec<String> = vec![];
        match kind {
            "set" => args.extend(["SADD".into(), key.into()]),
            "list" => args.extend(["RPUSH".into(), key.into()]),
            "hash" => args.extend(["HSET".into(), key.into()]),
            _ => args.extend(["ZADD".into(), key.into()]),
        }
        for i in start..end {
            match kind {
                "hash" => args.extend([format!("field:{i}"), format!("value:{i}")]),
                "zset" => args.extend([format!("{i}"), format!("member:{i}")]),
                _ => args.push(format!("member:{i}")),
            }
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        c.command(&refs).expect("fill");
    }
}

/// Runs `work` while PINGERS clients ping; answers (work's duration, worst PING).
fn under_pings(port: u16, work: impl FnOnce()) -> (Duration, Duration) {
    let stop = Arc::new(AtomicBool::new(false));
    let pingers: Vec<_> = (0..PINGERS)
        .map(|_| {
            let stop = stop.clone();
            let mut c = RawConnection::connect(port).expect("connect");
            thread::spawn(move || {
                let mut worst = Duration::ZERO;
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    c.command(&["PING"]).expect("PING");
                    worst = worst.max(t.elapsed());
                }
                worst
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(100));
    let t = Instant::now();
    work();
    let took = t.elapsed();
    thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    let worst = pingers
        .into_iter()
        .map(|p| p.join().expect("pinger"))
        .max()
        .unwrap_or_default();
    (took, worst)
}

fn info_field(c: &mut RawConnection, field: &str) -> u64 {
    let text = text(&c.command(&["INFO", "memory"]).expect("INFO"));
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// RSS of the process listening on `port`, from INFO (used_memory_rss).
fn memory(c: &mut RawConnection) -> (u64, u64) {
    (
        info_field(c, "used_memory"),
        info_field(c, "used_memory_rss"),
    )
}

fn run(name: &str, port: u16, n: usize) {
    let mut c = RawConnection::connect(port).expect("connect");
    println!("== {name}");
    // Memory first, every key kept, so freed pages are not reused between types.
    c.command(&["FLUSHALL", "SYNC"]).expect("FLUSHALL");
    for kind in ["set", "list", "hash", "zset"] {
        let (used0, rss0) = memory(&mut c);
        fill(&mut c, kind, &format!("mem:{kind}"), n);
        let (used1, rss1) = memory(&mut c);
        println!(
            "{kind:5} {n} members: used_memory +{:.1} B/member, rss +{:.1} B/member",
            (used1 as f64 - used0 as f64) / n as f64,
            (rss1 as f64 - rss0 as f64) / n as f64
        );
    }
    let (used0, rss0) = memory(&mut c);
    for k in 0..100_000 {
        let key = format!("user:{k}");
        let mut args = vec!["HSET".to_string(), key];
        for f in 0..10 {
            args.extend([format!("f{f}"), format!("value-{k}-{f}")]);
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        c.command(&refs).expect("HSET");
    }
    let (used1, rss1) = memory(&mut c);
    println!(
        "100k 10-field hashes: used_memory +{:.1} B/key, rss +{:.1} B/key",
        (used1 as f64 - used0 as f64) / 1e5,
        (rss1 as f64 - rss0 as f64) / 1e5
    );
    for kind in ["set", "list", "hash", "zset"] {
        c.command(&["FLUSHALL", "SYNC"]).expect("FLUSHALL");
        fill(&mut c, kind, "big", n);
        for op in ["UNLINK", "DEL"] {
            if op == "DEL" {
                fill(&mut c, kind, "big", n);
            }
            let mut d = RawConnection::connect(port).expect("connect");
            let (took, worst) = under_pings(port, || {
                assert_eq!(d.command(&[op, "big"]).expect(op), Frame::Integer(1));
            });
            println!(
                "{kind:5} {op:6}: command {:>8.2} ms, worst PING {:>8.2} ms",
                took.as_secs_f64() * 1e3,
                worst.as_secs_f64() * 1e3
            );
        }
    }
    c.command(&["FLUSHALL", "SYNC"]).expect("FLUSHALL");
    fill(&mut c, "set", "s", n);
    let mut d = RawConnection::connect(port).expect("connect");
    let adds = n / 10;
    let (took, worst) = under_pings(port, || {
        for i in 0..adds {
            d.command(&["SADD", "s", &format!("new:{i}")])
                .expect("SADD");
        }
    });
    println!(
        "SADD x{adds} into a {n}-member set: {:.2} s, worst PING {:.2} ms",
        took.as_secs_f64(),
        worst.as_secs_f64() * 1e3
    );
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let redis = RedisServer::start(&[]);
    run("redis-server 7.0.15", redis.port, n);
    drop(redis);
    let tessera = TesseraNode::start(&[]);
    run("tessera", tessera.port, n);
}
