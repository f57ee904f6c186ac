//! How long a failover takes: a six-node cluster (three masters, three replicas, node
//! timeout 2000 ms) of redis-server 7.0 and one of Tessera, side by side. Each round
//! SIGKILLs a master and measures the time until its replica serves the slots and every
//! surviving node reports cluster_state:ok; then the killed node restarts, rejoins as a
//! replica, and the next round kills another master.
//! Run: `cargo build --release --workspace --bins --features tessera-tests/bench && target/release/failover_timing
//! [--rounds N]` (default 10).

use std::time::{Duration, Instant};
use tessera_tests::bench::rounds_arg;
use tessera_tests::cluster::{Member, create, is_master, replica_of, wait_ok};
use tessera_tests::replication::info;
use tessera_tests::wait_until;

fn settled(ports: &[u16]) -> bool {
    wait_ok(ports, Duration::ZERO)
        && ports.iter().all(|&p| {
            info(p, "role").as_deref() == Some("master")
                || info(p, "master_link_status").as_deref() == Some("up")
        })
}

/// Seconds per failover for `rounds` rounds on a cluster of one kind.
fn measure(redis: bool, rounds: usize) -> Vec<f64> {
    let extra: &[&str] = if redis {
        &["--repl-diskless-sync-delay", "0"]
    } else {
        &[]
    };
    let mut members: Vec<Option<Member>> =
        (0..6).map(|_| Some(Member::start(redis, extra))).collect();
    let ports: Vec<u16> = members.iter().map(|m| m.as_ref().unwrap().port()).collect();
    create(&ports, 1);
    assert!(
        wait_until(Duration::from_secs(60), || settled(&ports)),
        "cluster ready"
    );
    let mut times = Vec::new();
    for round in 0..rounds {
        let masters: Vec<usize> = (0..6).filter(|&i| is_master(ports[i])).collect();
        let victim = masters[round % masters.len()];
        let heir = replica_of(&ports, ports[victim]).expect("the victim has a replica");
        let others: Vec<u16> = ports
            .iter()
            .copied()
            .filter(|&p| p != ports[victim])
            .collect();
        let start = Instant::now();
        members[victim].as_ref().unwrap().kill();
        let done = wait_until(Duration::from_secs(60), || {
            is_master(heir) && wait_ok(&others, Duration::ZERO)
        });
        assert!(done, "round {round}: no failover");
        times.push(start.elapsed().as_secs_f64());
        let back = members[victim].take().unwrap().restart(extra);
        members[victim] = Some(back);
        assert!(
            wait_until(Duration::from_secs(60), || settled(&ports)),
            "round {round}: the killed node rejoined"
        );
    }
    times
}

fn summary(times: &[f64]) -> (f64, f64) {
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    (sorted[sorted.len() / 2], sorted[sorted.len() - 1])
}

fn main() {
    let rounds = rounds_arg("failover_timing", 10);
    println!("SIGKILL of a master, 3 masters + 3 replicas, node timeout 2000 ms, {rounds} rounds");
    println!("seconds until its replica serves the slots and every survivor is ok");
    println!("{:<14} {:>8} {:>8}   all", "cluster", "median", "worst");
    for redis in [true, false] {
        let times = measure(redis, rounds);
        let (median, worst) = summary(&times);
        let all: Vec<String> = times.iter().map(|t| format!("{t:.2}")).collect();
        println!(
            "{:<14} {median:>8.2} {worst:>8.2}   {}",
            if redis { "redis-server" } else { "tessera" },
            all.join(" ")
        );
    }
}
