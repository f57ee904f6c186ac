//! Tessera vs redis-server, side by side on this machine.
//!
//! Starts a release `tessera server` and a `redis-server` with the same settings on free
//! ports, runs `redis-benchmark` against each in alternation (SET and GET, 50 clients,
//! random keys, with and without `-P 16`), and prints the median throughput of each and
//! their ratio per row. Then loads 1,000,000 keys of 16-byte values into each and
//! prints their resident memory, each measured on a freshly started process. Run it with `scripts/bench` (it builds first).

use std::io::Write;
use std::process::{Command, Stdio};
use tessera_tests::bench::{benchmark, median};
use tessera_tests::process::resident_bytes;
use tessera_tests::{RedisServer, TesseraNode};

/// Command-line options.
struct Options {
    requests: u64,
    rounds: usize,
    keys: u64,
}

fn options() -> Options {
    let mut o = Options {
        requests: 1_000_000,
        rounds: 3,
        keys: 1_000_000,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).and_then(|v| v.parse().ok());
        match (pair[0].as_str(), value) {
            ("--requests", Some(v)) => o.requests = v,
            ("--rounds", Some(v)) => o.rounds = v as usize,
            ("--keys", Some(v)) => o.keys = v,
            _ => {
                eprintln!("usage: bench [--requests N] [--rounds N] [--keys N]");
                std::process::exit(2);
            }
        }
    }
    o
}

/// Loads `keys` keys of 16-byte values through redis-cli --pipe.
fn load(port: u16, keys: u64) {
    let mut stream = Vec::with_capacity(keys as usize * 60);
    for i in 0..keys {
        let key = format!("key:{i:012}");
        tessera_resp::encode_command(&mut stream, &[b"SET", key.as_bytes(), b"0123456789abcdef"]);
    }
    let mut child = Command::new("redis-cli")
        .args(["-p", &port.to_string(), "--pipe"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("running redis-cli");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&stream)
        .expect("feeding redis-cli");
    assert!(child.wait().expect("redis-cli").success());
}

fn main() {
    let o = options();
    let tessera = TesseraNode::start(&["--save", "", "--appendonly", "no"]);
    let redis = RedisServer::start(&[]);
    println!(
        "redis-benchmark, 50 clients, random keys (-r 1000000), {} requests, median of {} alternating rounds",
        o.requests, o.rounds
    );
    println!(
        "{:<6} {:>9} {:>14} {:>14} {:>8}",
        "test", "pipeline", "tessera rps", "redis rps", "ratio"
    );
    for pipeline in [1u32, 16] {
        for test in ["set", "get"] {
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            for _ in 0..o.rounds {
                ours.push(benchmark(tessera.port, test, pipeline, o.requests));
                theirs.push(benchmark(redis.port, test, pipeline, o.requests));
            }
            let (ours, theirs) = (median(ours), median(theirs));
            println!(
                "{:<6} {:>9} {:>14.0} {:>14.0} {:>8.2}",
                test.to_uppercase(),
                pipeline,
                ours,
                theirs,
                ours / theirs
            );
        }
    }
    // Memory is measured on fresh processes: after the throughput rows, pages the
    // allocators have not yet returned to the OS would blur the comparison.
    drop(tessera);
    drop(redis);
    let tessera = TesseraNode::start(&["--save", "", "--appendonly", "no"]);
    let redis = RedisServer::start(&[]);
    load(tessera.port, o.keys);
    load(redis.port, o.keys);
    let ours = resident_bytes(tessera.pid());
    let theirs = resident_bytes(redis.pid());
    println!(
        "\nresident memory after loading {} keys of 16-byte values",
        o.keys
    );
    println!(
        "tessera {:.1} MB, redis {:.1} MB, ratio {:.2}",
        ours as f64 / 1e6,
        theirs as f64 / 1e6,
        ours as f64 / theirs as f64
    );
}
