//! `tessera admin events` while a master dies: the replica that takes over reports
//! the master's PFAIL, its FAIL, the election and the slots' new owner, in that order.

use std::time::Duration;
use tessera_tests::admin::{AdminStream, UpCluster, admin_json};
use tessera_tests::cluster::{id_of, synced_replica};
use tessera_tests::replication::info;

#[test]
fn events_follow_a_master_failure_and_the_election() {
    let cluster = UpCluster::start(3, 1, 2000);
    let master = cluster.ports[0];
    let replica = synced_replica(&cluster.ports, master);
    let master_id = id_of(master).unwrap();
    let replica_id = id_of(replica).unwrap();
    // Until every node knows every other, a FAIL may not reach everyone (see
    // mixed_elections): wait for the full view first.
    assert!(tessera_tests::wait_until(Duration::from_secs(20), || {
        cluster.ports.iter().all(|&p| {
            admin_json(p, &["nodes"])["nodes"]
                .as_array()
                .is_some_and(|n| n.len() == 6)
        })
    }));
    let events = AdminStream::start(replica, &["events"]);
    // The stream opens with the cluster state: from then on nothing is missed.
    let first = events
        .next(Duration::from_secs(10))
        .expect("the first event");
    assert_eq!(first["event"], "state_changed");
    assert_eq!(first["details"]["state"], "ok");
    let pid: i32 = info(master, "process_id").unwrap().parse().unwrap();
    // SAFETY: kill with a valid pid has no memory effects.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let seen = events.until(Duration::from_secs(30), |e| {
        e["event"] == "slots_owner_changed" && e["details"]["owner_id"] == replica_id.as_str()
    });
    let position = |name: &str, detail: &str, value: &str| {
        seen.iter()
            .position(|e| e["event"] == name && e["details"][detail] == value)
            .unwrap_or_else(|| panic!("no {name} with {detail}={value} in {seen:#?}"))
    };
    let pfail = position("node_pfail", "node_id", &master_id);
    let fail = position("node_fail", "node_id", &master_id);
    let started = position("election_started", "candidate_id", &replica_id);
    let won = position("election_won", "candidate_id", &replica_id);
    let owner = position("slots_owner_changed", "owner_id", &replica_id);
    assert!(
        pfail < fail && fail < started && started < won && won < owner,
        "order pfail {pfail}, fail {fail}, election {started}, won {won}, owner {owner}: {seen:#?}"
    );
    assert_eq!(
        seen[owner]["details"]["previous_owner_id"],
        master_id.as_str()
    );
    assert_eq!(seen[owner]["details"]["slots"][0][0], 0);
    assert!(seen.iter().all(|e| e["time_ms"].as_u64().unwrap() > 0));
    assert_eq!(seen[fail]["seen_by"], replica_id.as_str());
}
