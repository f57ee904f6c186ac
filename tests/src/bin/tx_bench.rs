//! MULTI/EXEC throughput, Tessera vs redis-server 7.0 side by side on this machine:
//! transactions of 3 commands (`INCR k`, `EXPIRE k 100`, `GET k` on one of 100k random
//! keys), 50 clients each waiting for its EXEC's reply before the next MULTI, then a
//! transaction that also runs a script declaring no key (`EVAL`, which takes the
//! transaction's every-slot path). Prints transactions per second, the median of the
//! rounds, and Tessera's ratio to Redis.
//!
//! Run: `cargo build --release --workspace --bins --features tessera-tests/bench &&
//! target/release/tx_bench [--rounds N]` (3 rounds by default).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use tessera_tests::bench::{median, rounds_arg};
use tessera_tests::{RedisServer, TesseraNode};

const CLIENTS: usize = 50;
const RUN_FOR: Duration = Duration::from_secs(3);

/// One transaction of `body` commands on `key`, encoded as RESP.
fn transaction(key: &str, with_script: bool) -> (Vec<u8>, usize) {
    let mut commands: Vec<Vec<&str>> = vec![
        vec!["MULTI"],
        vec!["INCR", key],
        vec!["EXPIRE", key, "100"],
        vec!["GET", key],
    ];
    if with_script {
        commands.push(vec!["EVAL", "return redis.call('INCR','counter')", "0"]);
    }
    commands.push(vec!["EXEC"]);
    let mut out = Vec::new();
    for c in &commands {
        out.extend_from_slice(format!("*{}\r\n", c.len()).as_bytes());
        for a in c {
            out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
        }
    }
    (out, commands.len())
}

/// Reads until `want` whole top-level replies arrived (the EXEC array counts as one:
/// its own lines are consumed by tracking the nesting).
fn read_replies(stream: &mut TcpStream, want: usize, buf: &mut Vec<u8>) {
    let mut chunk = [0u8; 4096];
    loop {
        if count_replies(buf) >= want {
            buf.clear();
            return;
        }
        let n = stream.read(&mut chunk).expect("reply");
        assert!(n > 0, "connection closed");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Top-level replies complete in `buf` (simple lines, integers, bulks, arrays of them).
fn count_replies(buf: &[u8]) -> usize {
    let mut at = 0;
    let mut done = 0;
    let mut pending: Vec<i64> = Vec::new();
    while let Some(end) = buf[at..].windows(2).position(|w| w == b"\r\n") {
        let line = &buf[at..at + end];
        at += end + 2;
        let mut finished = true;
        match line.first() {
            Some(b'$') => {
                let len: i64 = std::str::from_utf8(&line[1..])
                    .expect("length")
                    .parse()
                    .expect("length");
                if len >= 0 {
                    if buf.len() < at + len as usize + 2 {
                        return done;
                    }
                    at += len as usize + 2;
                }
            }
            Some(b'*') => {
                let len: i64 = std::str::from_utf8(&line[1..])
                    .expect("length")
                    .parse()
                    .expect("length");
                if len > 0 {
                    pending.push(len);
                    finished = false;
                }
            }
            _ => {}
        }
        while finished {
            match pending.last_mut() {
                Some(left) => {
                    *left -= 1;
                    if *left == 0 {
                        pending.pop();
                    } else {
                        finished = false;
                    }
                }
                None => {
                    done += 1;
                    finished = false;
                }
            }
        }
    }
    done
}

/// Transactions per second against `port`.
fn run(port: u16, with_script: bool) -> f64 {
    let until = Instant::now() + RUN_FOR;
    let workers: Vec<_> = (0..CLIENTS)
        .map(|c| {
            thread::spawn(move || {
                let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
                stream.set_nodelay(true).expect("nodelay");
                let mut buf = Vec::new();
                let mut done = 0u64;
                let mut n = c as u64 * 7919;
                while Instant::now() < until {
                    n = n
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let key = format!("key:{}", (n >> 33) % 100_000);
                    let (bytes, replies) = transaction(&key, with_script);
                    stream.write_all(&bytes).expect("send");
                    read_replies(&mut stream, replies, &mut buf);
                    done += 1;
                }
                done
            })
        })
        .collect();
    let total: u64 = workers.into_iter().map(|w| w.join().expect("worker")).sum();
    total as f64 / RUN_FOR.as_secs_f64()
}

fn main() {
    let rounds = rounds_arg("tx_bench", 3);
    let redis = RedisServer::start(&[]);
    let tessera = TesseraNode::start(&[]);
    println!("MULTI/EXEC, {CLIENTS} clients, {RUN_FOR:?} per run, {rounds} rounds (median)");
    println!(
        "{:>28} {:>12} {:>12} {:>7}",
        "transaction", "redis tx/s", "tessera tx/s", "ratio"
    );
    for (name, with_script) in [("INCR EXPIRE GET", false), ("INCR EXPIRE GET EVAL", true)] {
        let mut r = Vec::new();
        let mut t = Vec::new();
        for _ in 0..rounds {
            r.push(run(redis.port, with_script));
            t.push(run(tessera.port, with_script));
        }
        let (r, t) = (median(r), median(t));
        println!("{name:>28} {r:>12.0} {t:>12.0} {:>7.2}", t / r);
    }
}
