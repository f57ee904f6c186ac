//! PUBLISH throughput across a 3-master cluster, Tessera vs redis-server 7.0 on this
//! machine: 100 subscribers of one channel spread over the three nodes, one pipelining
//! publisher per node; the clock runs from the first PUBLISH until every subscriber
//! has every message. Prints messages published per second (each reaches all 100
//! subscribers, two thirds of them through the cluster bus) and the ratio.
//!
//! Run: `cargo build --release --workspace --bins --features tessera-tests/bench &&
//! target/release/pubsub_bench [MESSAGES_PER_PUBLISHER]` (default 10,000).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use tessera_resp::frame::Frame;
use tessera_tests::cluster::{Member, create, nodes, wait_ok};
use tessera_tests::wait_until;

const SUBSCRIBERS: usize = 100;
const NODES: usize = 3;
const PAYLOAD: usize = 64;
/// PUBLISHes in flight per publisher.
const WINDOW: usize = 100;
/// A run that takes longer than this is reported as failed rather than awaited.
const DEADLINE: Duration = Duration::from_secs(60);

/// The bytes of one `message` push to a RESP2 subscriber of "bench".
fn message_len() -> usize {
    format!("*3\r\n$7\r\nmessage\r\n$5\r\nbench\r\n${PAYLOAD}\r\n").len() + PAYLOAD + 2
}

/// Reads exactly `n` bytes or fails at the deadline.
fn drain(stream: &mut TcpStream, mut n: usize, until: Instant) -> Result<(), String> {
    let mut buf = vec![0u8; 1 << 16];
    while n > 0 {
        if Instant::now() > until {
            return Err(format!("{n} bytes still missing at the deadline"));
        }
        let want = n.min(buf.len());
        match stream.read(&mut buf[..want]) {
            Ok(0) => return Err("connection closed".into()),
            Ok(got) => n -= got,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(())
}

/// Starts the cluster, subscribes, publishes; answers messages published per second.
fn run(redis: bool, per_publisher: usize) -> Result<f64, String> {
    let limit = ["--client-output-buffer-limit", "pubsub 0 0 0"];
    let members: Vec<Member> = (0..NODES).map(|_| Member::start(redis, &limit)).collect();
    let ports: Vec<u16> = members.iter().map(Member::port).collect();
    create(&ports, 0);
    if !wait_ok(&ports, Duration::from_secs(30)) {
        return Err("cluster not ok".into());
    }
    let linked = wait_until(Duration::from_secs(20), || {
        ports
            .iter()
            .all(|&p| nodes(p).iter().filter(|l| l.contains(" connected")).count() == NODES)
    });
    if !linked {
        return Err("nodes not linked".into());
    }
    let confirmation = "*3\r\n$9\r\nsubscribe\r\n$5\r\nbench\r\n:1\r\n".len();
    let mut subscribers = Vec::new();
    for i in 0..SUBSCRIBERS {
        let mut s =
            TcpStream::connect(("127.0.0.1", ports[i % NODES])).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(Duration::from_millis(500)))
            .map_err(|e| e.to_string())?;
        s.write_all(b"SUBSCRIBE bench\r\n")
            .map_err(|e| e.to_string())?;
        drain(
            &mut s,
            confirmation,
            Instant::now() + Duration::from_secs(10),
        )?;
        subscribers.push(s);
    }
    let total = per_publisher * NODES;
    let until = Instant::now() + DEADLINE;
    let started = Instant::now();
    let readers: Vec<_> = subscribers
        .into_iter()
        .map(|mut s| {
            thread::spawn(move || {
                drain(&mut s, total * message_len(), until).map(|()| started.elapsed())
            })
        })
        .collect();
    let payload = "p".repeat(PAYLOAD);
    let command = Frame::command([&b"PUBLISH"[..], b"bench", payload.as_bytes()]);
    let publishers: Vec<_> = ports
        .iter()
        .map(|&port| {
            let command = command.clone();
            thread::spawn(move || -> Result<(), String> {
                let mut c = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
                c.set_read_timeout(Some(Duration::from_millis(500)))
                    .map_err(|e| e.to_string())?;
                c.set_write_timeout(Some(DEADLINE))
                    .map_err(|e| e.to_string())?;
                let batch: Vec<u8> = command.repeat(WINDOW);
                let mut sent = 0;
                while sent < per_publisher {
                    let n = WINDOW.min(per_publisher - sent);
                    c.write_all(&batch[..n * command.len()])
                        .map_err(|e| e.to_string())?;
                    // Each reply is `:33` or `:34`: five bytes.
                    drain(&mut c, n * 5, until)?;
                    sent += n;
                }
                Ok(())
            })
        })
        .collect();
    for p in publishers {
        p.join().map_err(|_| "publisher panicked")??;
    }
    let mut slowest = Duration::ZERO;
    for r in readers {
        slowest = slowest.max(r.join().map_err(|_| "subscriber panicked")??);
    }
    drop(members);
    Ok(total as f64 / slowest.as_secs_f64())
}

fn main() {
    let per_publisher: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    // A second argument, `tessera` or `redis`, runs that kind alone (for profiling).
    let only = std::env::args().nth(2);
    let mut rates = Vec::new();
    for (redis, name) in [(true, "redis-server 7.0.15"), (false, "tessera")] {
        if only
            .as_deref()
            .is_some_and(|o| o != if redis { "redis" } else { "tessera" })
        {
            continue;
        }
        match run(redis, per_publisher) {
            Ok(rate) => {
                println!(
                    "{name}: {rate:.0} PUBLISH/s ({:.0} deliveries/s to {SUBSCRIBERS} subscribers on {NODES} masters)",
                    rate * SUBSCRIBERS as f64
                );
                rates.push(rate);
            }
            Err(e) => {
                println!("{name}: failed: {e}");
                return;
            }
        }
    }
    if let [redis, tessera] = rates[..] {
        println!("tessera / redis-server: {:.2}", tessera / redis);
    }
}
