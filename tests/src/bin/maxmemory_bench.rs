//! maxmemory under allkeys-random, Tessera vs redis-server 7.0 side by side on this
//! machine: 200 MB of 1 KB values (204,800 SETs, pipelined 256 at a time) into a
//! `maxmemory 50mb` node; reports used_memory at the end, evicted_keys, the keys left
//! and the time taken, and each as a Tessera / redis-server ratio.
//!
//! Run: `cargo build --release --workspace --bins --features tessera-tests/bench &&
//! target/release/maxmemory_bench [MB written] [maxmemory MB]` (200 and 50 by default).

use std::time::Instant;

use tessera_tests::memory::{fill, info_u64};
use tessera_tests::{RawConnection, RedisServer, TesseraNode, show, text};

struct Run {
    used: u64,
    evicted: u64,
    keys: u64,
    refused: usize,
    secs: f64,
}

fn run(port: u16, written_mb: u64, limit_mb: u64) -> Run {
    let mut c = RawConnection::connect(port).expect("connect");
    for (name, value) in [
        ("maxmemory", format!("{limit_mb}mb")),
        ("maxmemory-policy", "allkeys-random".to_string()),
    ] {
        let reply = c
            .command(&["CONFIG", "SET", name, &value])
            .expect("CONFIG SET");
        assert_eq!(text(&reply), "OK", "{name}");
    }
    let writes = written_mb * 1024;
    let started = Instant::now();
    let replies = fill(&mut c, "key:", 0..writes, 1024, |_| None);
    let secs = started.elapsed().as_secs_f64();
    let keys = match c.command(&["DBSIZE"]).expect("DBSIZE") {
        tessera_resp::frame::Frame::Integer(n) => n as u64,
        other => panic!("DBSIZE: {}", show(&other)),
    };
    Run {
        used: info_u64(&mut c, "used_memory"),
        evicted: info_u64(&mut c, "evicted_keys"),
        keys,
        refused: replies
            .iter()
            .filter(|r| matches!(r, tessera_resp::frame::Frame::Error(_)))
            .count(),
        secs,
    }
}

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("a number of MB"))
        .collect();
    let written = args.first().copied().unwrap_or(200);
    let limit = args.get(1).copied().unwrap_or(50);
    let redis = {
        let server = RedisServer::start(&[]);
        let r = run(server.port, written, limit);
        drop(server);
        r
    };
    let tessera = {
        let node = TesseraNode::start(&[]);
        let r = run(node.port, written, limit);
        drop(node);
        r
    };
    println!(
        "{written} MB of 1 KB values into maxmemory {limit}mb, allkeys-random \
         (limit {} bytes)",
        limit * 1024 * 1024
    );
    println!(
        "{:<16} {:>14} {:>14} {:>10}",
        "", "redis-server", "tessera", "ratio"
    );
    let row = |name: &str, r: f64, t: f64| {
        println!("{name:<16} {r:>14.0} {t:>14.0} {:>10.3}", t / r.max(1e-9));
    };
    row("used_memory", redis.used as f64, tessera.used as f64);
    row("evicted_keys", redis.evicted as f64, tessera.evicted as f64);
    row("keys left", redis.keys as f64, tessera.keys as f64);
    row(
        "refused writes",
        redis.refused as f64,
        tessera.refused as f64,
    );
    println!(
        "{:<16} {:>14.2} {:>14.2} {:>10.3}",
        "seconds",
        redis.secs,
        tessera.secs,
        tessera.secs / redis.secs
    );
}
