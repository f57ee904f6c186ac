//! How fast a frozen master is detected: PFAIL and FAIL times at node timeout 2000 ms,
//! in a cluster of six redis-server 7.0 masters and in a mixed cluster of three
//! redis-server and three Tessera masters, side by side.
//!
//! Each round SIGSTOPs one master (in the mixed cluster, alternately one of each kind),
//! then polls every other node's CLUSTER NODES every 10 ms: PFAIL is the first time
//! any node flags it `fail?`, FAIL the time every other node flags it `fail`. Then it
//! resumes the node and waits until the flag clears and the cluster is ok again.
//! Run: `cargo build --release --workspace --bins --features tessera-tests/bench && target/release/failure_detection
//! [--rounds N]`.

use std::time::{Duration, Instant};
use tessera_tests::bench::rounds_arg;
use tessera_tests::cluster::{Member, create, flags_of, wait_ok};
use tessera_tests::wait_until;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One detection: seconds from SIGSTOP to the first PFAIL and to FAIL everywhere.
fn detect(members: &[Member], victim: usize) -> (f64, f64) {
    let about = members[victim].port();
    let observers: Vec<u16> = members
        .iter()
        .map(Member::port)
        .filter(|&p| p != about)
        .collect();
    let flagged =
        |o: u16, flag: &str| flags_of(o, about).is_some_and(|f| f.split(',').any(|x| x == flag));
    let start = Instant::now();
    members[victim].freeze(true);
    let mut pfail = None;
    loop {
        let t = start.elapsed().as_secs_f64();
        if pfail.is_none()
            && observers
                .iter()
                .any(|&o| flagged(o, "fail?") || flagged(o, "fail"))
        {
            pfail = Some(t);
        }
        if observers.iter().all(|&o| flagged(o, "fail")) {
            members[victim].freeze(false);
            let ports: Vec<u16> = members.iter().map(Member::port).collect();
            let healed = wait_until(Duration::from_secs(60), || {
                observers
                    .iter()
                    .all(|&o| !flags_of(o, about).unwrap_or_default().contains("fail"))
            });
            assert!(
                healed && wait_ok(&ports, Duration::from_secs(60)),
                "cluster heals"
            );
            return (pfail.unwrap_or(t), t);
        }
        assert!(t < 60.0, "node {about} not detected within 60 s");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn main() {
    let rounds = rounds_arg("failure_detection", 6);
    println!("node timeout 2000 ms, 6 masters, {rounds} rounds; seconds from SIGSTOP");
    println!(
        "{:<34} {:>12} {:>12} {:>14}",
        "cluster, frozen node", "PFAIL (med)", "FAIL (med)", "FAIL (worst)"
    );
    for mixed in [false, true] {
        let members: Vec<Member> = (0..6)
            .map(|i| Member::start(!mixed || i % 2 == 0, &[]))
            .collect();
        let ports: Vec<u16> = members.iter().map(Member::port).collect();
        create(&ports, 0);
        assert!(wait_ok(&ports, Duration::from_secs(30)), "cluster ok");
        let kinds: &[bool] = if mixed { &[true, false] } else { &[true] };
        for &redis_victim in kinds {
            let victims: Vec<usize> = (0..6)
                .filter(|&i| members[i].is_redis() == redis_victim)
                .collect();
            let times: Vec<(f64, f64)> = (0..rounds)
                .map(|r| detect(&members, victims[r % victims.len()]))
                .collect();
            let label = match (mixed, redis_victim) {
                (false, _) => "6 redis-server, redis-server",
                (true, true) => "3+3 mixed, redis-server",
                (true, false) => "3+3 mixed, tessera",
            };
            let fails: Vec<f64> = times.iter().map(|t| t.1).collect();
            println!(
                "{label:<34} {:>12.2} {:>12.2} {:>14.2}",
                median(times.iter().map(|t| t.0).collect()),
                median(fails.clone()),
                fails.iter().copied().fold(0.0, f64::max)
            );
        }
    }
}
