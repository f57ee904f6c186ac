//! Replication speed, Tessera vs redis-server 7.0 side by side on this machine:
//! - full sync: a master holding 1,000,000 keys (16-byte values, DEBUG POPULATE) and a
//!   new replica; seconds from REPLICAOF until the replica's link is up with every key
//!   loaded (redis-server with repl-diskless-sync-delay 0, so its default 5 s wait
//!   does not count);
//! - steady stream: `redis-benchmark -t set -P 16 -c 50 -r 1000000` against a master
//!   with one replica; the master's throughput, and how long after the run the
//!   replica's offset catches up with the master's.
//!
//! Run: `cargo build --release --workspace --bins --features tessera-tests/bench && target/release/replication_bench`.

use std::time::{Duration, Instant};
use tessera_tests::bench::{benchmark, median};
use tessera_tests::replication::info;
use tessera_tests::{RawConnection, RedisServer, TesseraNode, wait_until};

/// A standalone server of either kind.
enum Server {
    Redis(RedisServer),
    Tessera(TesseraNode),
}

impl Server {
    fn start(redis: bool) -> Server {
        let args = ["--enable-debug-command", "yes"];
        if redis {
            let mut all = args.to_vec();
            all.extend(["--repl-diskless-sync-delay", "0"]);
            Server::Redis(RedisServer::start(&all))
        } else {
            Server::Tessera(TesseraNode::start(&args))
        }
    }

    fn port(&self) -> u16 {
        match self {
            Server::Redis(r) => r.port,
            Server::Tessera(t) => t.port,
        }
    }
}

fn command(port: u16, args: &[&str]) {
    let mut c = RawConnection::connect(port).expect("connect");
    c.command(args).expect("command");
}

fn replica_has(port: u16, keys: i64) -> bool {
    let count = RawConnection::connect(port)
        .and_then(|mut c| c.command(&["DBSIZE"]))
        .is_ok_and(|f| f == tessera_resp::frame::Frame::Integer(keys));
    count && info(port, "master_link_status").as_deref() == Some("up")
}

fn full_sync_seconds(redis: bool, keys: i64) -> f64 {
    let master = Server::start(redis);
    command(
        master.port(),
        &["DEBUG", "POPULATE", &keys.to_string(), "key", "16"],
    );
    let replica = Server::start(redis);
    let start = Instant::now();
    command(
        replica.port(),
        &["REPLICAOF", "127.0.0.1", &master.port().to_string()],
    );
    assert!(
        wait_until(Duration::from_secs(300), || replica_has(
            replica.port(),
            keys
        )),
        "full sync finished"
    );
    start.elapsed().as_secs_f64()
}

/// (master requests/s with a replica attached, seconds the replica needed to catch up
/// after the benchmark ended).
fn stream(redis: bool, requests: u64) -> (f64, f64) {
    let master = Server::start(redis);
    let replica = Server::start(redis);
    command(
        replica.port(),
        &["REPLICAOF", "127.0.0.1", &master.port().to_string()],
    );
    assert!(wait_until(Duration::from_secs(60), || replica_has(
        replica.port(),
        0
    )));
    let rps = benchmark(master.port(), "set", 16, requests);
    let ended = Instant::now();
    let caught_up = wait_until(Duration::from_secs(300), || {
        info(replica.port(), "slave_repl_offset") == info(master.port(), "master_repl_offset")
    });
    assert!(caught_up, "the replica caught up");
    (rps, ended.elapsed().as_secs_f64())
}

fn main() {
    let keys = 1_000_000;
    println!("full sync of {keys} keys (16-byte values), seconds, median of 3 alternating rounds");
    let (mut redis_sync, mut tessera_sync) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        redis_sync.push(full_sync_seconds(true, keys));
        tessera_sync.push(full_sync_seconds(false, keys));
    }
    let (r, t) = (median(redis_sync), median(tessera_sync));
    println!("redis-server {r:.2}  tessera {t:.2}  speedup {:.2}x", r / t);

    let requests = 2_000_000;
    println!("\nSET -P 16, 50 clients, {requests} requests, master with one replica, median of 3");
    let (mut redis_rps, mut tessera_rps, mut redis_lag, mut tessera_lag) =
        (vec![], vec![], vec![], vec![]);
    for _ in 0..3 {
        let (rps, lag) = stream(true, requests);
        redis_rps.push(rps);
        redis_lag.push(lag);
        let (rps, lag) = stream(false, requests);
        tessera_rps.push(rps);
        tessera_lag.push(lag);
    }
    let (rr, tr) = (median(redis_rps), median(tessera_rps));
    println!(
        "redis-server {rr:.0} rps (replica caught up {:.2} s later)  tessera {tr:.0} rps (caught up {:.2} s later)  ratio {:.2}",
        median(redis_lag),
        median(tessera_lag),
        tr / rr
    );
}
