//! Replica migration after failovers, on Tessera and on redis-server side by side:
//! masters die one after another, each promoted replica starts without a replica of
//! its own, and a spare replica of the master that has several moves to it. Redis
//! marks the *promoted* node as the migration target; both kinds must end the same.

use std::time::Duration;
use tessera_tests::cluster::{Member, create, id_of, myself, wait_ok};
use tessera_tests::replication::info;
use tessera_tests::{RawConnection, text, wait_until};

/// The master each node follows (its id), for the node on `port`.
fn master_of(port: u16) -> Option<String> {
    myself(port)
        .filter(|l| l.contains("slave"))
        .and_then(|l| l.split_whitespace().nth(3).map(String::from))
}

/// Masters A, B, C with one replica each, plus two more replicas of A; B and then C
/// are killed. Returns, after each failover, how many replicas the promoted node has,
/// then how many A has left.
fn run(redis: bool) -> Vec<usize> {
    let members: Vec<Member> = (0..8).map(|_| Member::start(redis, &[])).collect();
    let ports: Vec<u16> = members.iter().map(Member::port).collect();
    create(&ports[..6], 1);
    let masters: Vec<usize> = (0..6)
        .filter(|&i| myself(ports[i]).is_some_and(|l| l.contains("master")))
        .collect();
    let (a, b, c) = (masters[0], masters[1], masters[2]);
    let a_id = id_of(ports[a]).expect("id");
    for &spare in &ports[6..] {
        let mut conn = RawConnection::connect(spare).expect("spare");
        let met = conn
            .command(&["CLUSTER", "MEET", "127.0.0.1", &ports[a].to_string()])
            .expect("MEET");
        assert_eq!(text(&met), "OK");
        assert!(
            wait_until(Duration::from_secs(20), || conn
                .command(&["CLUSTER", "REPLICATE", &a_id])
                .is_ok_and(|r| text(&r) == "OK")),
            "the spare replicates A"
        );
    }
    assert!(wait_ok(&ports, Duration::from_secs(30)), "cluster ok");
    let replicas_of = |id: &str, alive: &[usize]| {
        alive
            .iter()
            .filter(|&&i| master_of(ports[i]).as_deref() == Some(id))
            .count()
    };
    assert!(
        wait_until(Duration::from_secs(20), || replicas_of(
            &a_id,
            &(0..8).collect::<Vec<_>>()
        ) == 3),
        "A has three replicas"
    );
    // Every replica synced first (redis-server waits repl-diskless-sync-delay before
    // a first sync, and a replica that never synced may not fail over).
    assert!(
        wait_until(Duration::from_secs(30), || (0..8).all(|i| master_of(
            ports[i]
        )
        .is_none()
            || info(ports[i], "master_link_status").as_deref() == Some("up"))),
        "replicas in sync"
    );
    let mut dead = Vec::new();
    let mut outcome = Vec::new();
    for victim in [b, c] {
        let victim_id = id_of(ports[victim]).expect("id");
        let heir = (0..8)
            .find(|&i| master_of(ports[i]).as_deref() == Some(victim_id.as_str()))
            .expect("a replica of the victim");
        members[victim].kill();
        dead.push(victim);
        let alive: Vec<usize> = (0..8).filter(|i| !dead.contains(i)).collect();
        let heir_id = id_of(ports[heir]).expect("id");
        let adopted = wait_until(Duration::from_secs(45), || {
            myself(ports[heir]).is_some_and(|l| l.contains("master"))
                && replicas_of(&heir_id, &alive) > 0
        });
        assert!(
            adopted,
            "{}: the replica promoted for a dead master got a replica; heir {}, view:\n{}\nheir log:\n{}",
            if redis { "redis-server" } else { "tessera" },
            ports[heir],
            tessera_tests::cluster::nodes(ports[a]).join("\n"),
            match &members[heir] {
                Member::Redis(r) => r.log(),
                Member::Tessera(t) => t.log(),
            }
        );
        outcome.push(replicas_of(&heir_id, &alive));
    }
    let alive: Vec<usize> = (0..8).filter(|i| !dead.contains(i)).collect();
    outcome.push(replicas_of(&a_id, &alive));
    outcome
}

#[test]
fn spare_replicas_move_to_promoted_masters_as_on_redis_server() {
    let redis = std::thread::spawn(|| run(true));
    let tessera = run(false);
    let redis = redis.join().expect("the redis-server run");
    assert_eq!(tessera, vec![1, 1, 1], "tessera");
    assert_eq!(tessera, redis, "tessera (left) and redis-server (right)");
}
