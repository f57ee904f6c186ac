//! How fast `redis-cli --cluster reshard` moves keys: three masters of redis-server 7.0
//! and three of Tessera, the same data (100,000 keys of 16 to 56 bytes) and the same
//! 4,000 slots moved from the first master to the second, in alternating rounds.
//! Run: `cargo build --release --workspace --bins && target/release/reshard_bench
//! [--rounds N]` (default 3).

use std::time::{Duration, Instant};
use tessera_tests::RawConnection;
use tessera_tests::bench::median;
use tessera_tests::cluster::{Member, create, id_of, reshard, wait_ok};
use tessera_tests::load::fill;

const KEYS: usize = 100_000;
const SLOTS: u16 = 4000;

/// Keys per second for one reshard on a fresh cluster of one kind.
fn measure(redis: bool) -> (usize, f64) {
    let members: Vec<Member> = (0..3).map(|_| Member::start(redis, &[])).collect();
    let ports: Vec<u16> = members.iter().map(Member::port).collect();
    create(&ports, 0);
    assert!(wait_ok(&ports, Duration::from_secs(30)), "cluster ready");
    fill(&ports, KEYS);
    let mut source = RawConnection::connect(ports[0]).unwrap();
    let moving: usize = (0..SLOTS)
        .map(
            |s| match source.command(&["CLUSTER", "COUNTKEYSINSLOT", &s.to_string()]) {
                Ok(tessera_resp_server::protocol::frame::Frame::Integer(n)) => n as usize,
                other => panic!("COUNTKEYSINSLOT: {other:?}"),
            },
        )
        .sum();
    let (from, to) = (id_of(ports[0]).unwrap(), id_of(ports[1]).unwrap());
    let start = Instant::now();
    reshard(ports[0], &from, &to, SLOTS.into());
    let took = start.elapsed().as_secs_f64();
    (moving, moving as f64 / took)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rounds: usize = match args.get(1..) {
        Some([flag, n]) if flag == "--rounds" => n.parse().expect("--rounds N"),
        Some([]) => 3,
        _ => {
            eprintln!("usage: reshard_bench [--rounds N]");
            std::process::exit(2);
        }
    };
    println!(
        "redis-cli --cluster reshard of {SLOTS} slots, {KEYS} keys in the cluster, {rounds} rounds"
    );
    let (mut redis, mut tessera) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let (keys, r) = measure(true);
        let (_, t) = measure(false);
        println!(
            "round {round}: {keys} keys moved; redis-server {r:.0} keys/s, tessera {t:.0} keys/s"
        );
        redis.push(r);
        tessera.push(t);
    }
    let (r, t) = (median(redis), median(tessera));
    println!(
        "median: redis-server {r:.0} keys/s, tessera {t:.0} keys/s, ratio {:.2}",
        t / r
    );
}
