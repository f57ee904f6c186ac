//! Failover in a Tessera cluster (node timeout 2000 ms) under a client that confirms
//! every write with WAIT 1: a killed master is replaced and nothing acknowledged is
//! lost; the killed node comes back as a replica of the winner; CLUSTER FAILOVER swaps
//! roles with no client error beyond a redirection.

use std::time::Duration;
use tessera_tests::cluster::{CLUSTER_ARGS, create, id_of, is_master, myself, replica_of, wait_ok};
use tessera_tests::replication::info;
use tessera_tests::writer::BackgroundWriter;
use tessera_tests::{RawConnection, TesseraNode, text, wait_until};

/// Six nodes, three masters with a replica each, created by redis-cli.
fn cluster() -> Vec<TesseraNode> {
    let nodes_list: Vec<TesseraNode> = (0..6).map(|_| TesseraNode::start(&CLUSTER_ARGS)).collect();
    let ports: Vec<u16> = nodes_list.iter().map(|n| n.port).collect();
    create(&ports, 1);
    assert!(wait_ok(&ports, Duration::from_secs(30)), "cluster ok");
    // Every replica linked to its master before the test starts.
    assert!(
        wait_until(Duration::from_secs(30), || ports.iter().all(|&p| info(
            p, "role"
        )
        .as_deref()
            == Some("master")
            || info(p, "master_link_status").as_deref() == Some("up"))),
        "replication links up"
    );
    nodes_list
}

#[test]
fn a_killed_master_is_replaced_without_losing_acknowledged_writes() {
    let mut all = cluster();
    let ports: Vec<u16> = all.iter().map(|n| n.port).collect();
    let writer = BackgroundWriter::start(&ports, "kill");
    let writer = writer.expect_more(300, Duration::from_secs(30), "before the kill");

    let victim = ports.iter().position(|&p| is_master(p)).unwrap();
    let victim_port = ports[victim];
    let heir = replica_of(&ports, victim_port).expect("a replica");
    let victim_id = id_of(victim_port).unwrap();
    all[victim].signal(libc::SIGKILL);
    let others: Vec<u16> = ports
        .iter()
        .copied()
        .filter(|&p| p != victim_port)
        .collect();
    assert!(
        wait_until(Duration::from_secs(30), || is_master(heir)
            && wait_ok(&others, Duration::ZERO)),
        "the replica took over: {:?}",
        myself(heir)
    );
    // The new master has no replica until the old one returns: WAIT acknowledges
    // the writes of the two other shards.
    let mut log = writer
        .expect_more(100, Duration::from_secs(30), "after the failover")
        .finish();
    let lost = log.lost();
    assert!(
        lost.is_empty(),
        "{} acknowledged writes lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );

    // The killed master comes back as a replica of the winner and catches up.
    let heir_id = id_of(heir).unwrap();
    let full_before = info(heir, "sync_full").unwrap();
    let back = all.remove(victim).restart();
    assert!(
        wait_until(Duration::from_secs(30), || myself(back.port)
            .is_some_and(|l| l.contains("slave") && l.contains(&heir_id))
            && info(back.port, "master_link_status").as_deref() == Some("up")),
        "{victim_id} rejoined as a replica of {heir_id}: {:?}",
        myself(back.port)
    );
    let full_after = info(heir, "sync_full").unwrap();
    eprintln!(
        "the old master resynced with a {} sync",
        if full_after != full_before {
            "full"
        } else {
            "partial"
        }
    );
    let dbsize = |p: u16| {
        text(
            &RawConnection::connect(p)
                .unwrap()
                .command(&["INFO", "keyspace"])
                .unwrap(),
        )
    };
    assert!(
        wait_until(Duration::from_secs(20), || dbsize(back.port)
            == dbsize(heir)),
        "the old master holds the winner's data"
    );
}

#[test]
fn cluster_failover_swaps_roles_under_load_with_only_redirections() {
    let all = cluster();
    let ports: Vec<u16> = all.iter().map(|n| n.port).collect();
    let writer = BackgroundWriter::start(&ports, "manual").expect_more(
        300,
        Duration::from_secs(30),
        "before",
    );
    let master = *ports.iter().find(|&&p| is_master(p)).unwrap();
    let replica = replica_of(&ports, master).expect("a replica");
    let mut c = RawConnection::connect(replica).unwrap();
    assert_eq!(
        c.command(&["CLUSTER", "FAILOVER"]).unwrap(),
        tessera_tests::wire::simple("OK")
    );
    let master_id = id_of(replica).unwrap();
    assert!(
        wait_until(Duration::from_secs(20), || is_master(replica)
            && myself(master)
                .is_some_and(|l| l.contains("slave") && l.contains(&master_id))),
        "roles swapped: {:?} / {:?}",
        myself(replica),
        myself(master)
    );
    assert!(wait_ok(&ports, Duration::from_secs(20)));
    let mut log = writer
        .expect_more(300, Duration::from_secs(30), "after the swap")
        .finish();
    let lost = log.lost();
    assert!(lost.is_empty(), "lost {lost:?}");
    let unexpected: Vec<&String> = log
        .log
        .errors
        .iter()
        .filter(|e| !e.starts_with("MOVED"))
        .collect();
    assert!(
        unexpected.is_empty(),
        "errors beyond redirections: {unexpected:?}"
    );
    // The old master continued its own history from the new one.
    assert_eq!(
        info(replica, "sync_partial_ok").as_deref(),
        Some("1"),
        "partial resync after the swap"
    );
}
