//! EVALSHA throughput, Tessera vs redis-server 7.0 side by side on this machine: a
//! script that increments a key and sets its expiry
//! (`redis.call('INCR',KEYS[1]) redis.call('EXPIRE',KEYS[1],100)`), over 100k random
//! keys, 50 redis-benchmark clients, without and with pipelining; then a script that
//! declares no key (`redis.call('INCR','counter')`, 0 keys), whose locks grow as it
//! runs; the median of the rounds and Tessera's ratio to Redis.
//!
//! Run: `cargo build --release --workspace --bins --features tessera-tests/bench &&
//! target/release/script_bench [--rounds N]` (3 rounds by default).

use std::process::Command;

use tessera_resp::frame::Frame;
use tessera_tests::bench::{median, rounds_arg};
use tessera_tests::{RawConnection, RedisServer, TesseraNode};

const SCRIPT: &str = "redis.call('INCR',KEYS[1]) redis.call('EXPIRE',KEYS[1],100)";
const KEYLESS: &str = "redis.call('INCR','counter')";
const REQUESTS: u64 = 200_000;

/// Requests per second of one redis-benchmark run of EVALSHA `sha` (declaring one
/// random key, or none).
fn evalsha(port: u16, sha: &str, keyed: bool, pipeline: u32) -> f64 {
    let keys: &[&str] = if keyed {
        &["1", "key:__rand_int__"]
    } else {
        &["0"]
    };
    let out = Command::new("redis-benchmark")
        .args(["-p", &port.to_string(), "-c", "50", "-r", "100000"])
        .args([
            "-n",
            &REQUESTS.to_string(),
            "-P",
            &pipeline.to_string(),
            "--csv",
        ])
        .args(["EVALSHA", sha])
        .args(keys)
        .output()
        .expect("running redis-benchmark (scripts/test installs redis-tools)");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.starts_with("\"EVALSHA"))
        .and_then(|l| l.split("\",\"").nth(1))
        .and_then(|v| v.trim_matches('"').parse().ok())
        .unwrap_or_else(|| panic!("unexpected redis-benchmark output: {text}"))
}

fn load(port: u16, script: &str) -> String {
    let mut c = RawConnection::connect(port).expect("connect");
    match c.command(&["SCRIPT", "LOAD", script]).expect("SCRIPT LOAD") {
        Frame::Bulk(sha) => String::from_utf8(sha).expect("hex"),
        other => panic!("SCRIPT LOAD answered {other:?}"),
    }
}

fn main() {
    let rounds = rounds_arg("script_bench", 3);
    let redis = RedisServer::start(&[]);
    let tessera = TesseraNode::start(&[]);
    for (script, keyed) in [(SCRIPT, true), (KEYLESS, false)] {
        let (redis_sha, tessera_sha) = (load(redis.port, script), load(tessera.port, script));
        assert_eq!(redis_sha, tessera_sha, "one SHA1 for one body");
        println!("EVALSHA {script:?}, {REQUESTS} requests, 50 clients, {rounds} rounds (median)");
        println!(
            "{:>9} {:>14} {:>14} {:>7}",
            "pipeline", "redis req/s", "tessera req/s", "ratio"
        );
        for pipeline in [1, 16] {
            let mut r = Vec::new();
            let mut t = Vec::new();
            for _ in 0..rounds {
                r.push(evalsha(redis.port, &redis_sha, keyed, pipeline));
                t.push(evalsha(tessera.port, &tessera_sha, keyed, pipeline));
            }
            let (r, t) = (median(r), median(t));
            println!("{pipeline:>9} {r:>14.0} {t:>14.0} {:>7.2}", t / r);
        }
    }
}
