//! Whole-cluster scenarios on the simulator: nodes converge on one view, a frozen
//! master goes PFAIL then FAIL everywhere and is cleared when it comes back, and a seed
//! replays exactly.

mod sim;

use sim::{NODE_TIMEOUT, Sim, converged};
use tessera_cluster_bus::engine::Event;
use tessera_cluster_bus::topology::NodeFlags;

#[test]
fn ten_nodes_converge_on_one_view() {
    let mut sim = Sim::new(10, 42);
    sim.create(5);
    let took = sim
        .run_until(30_000, converged)
        .expect("all ten nodes agree on slots and roles, and say ok");
    assert!(took < 10_000, "converged in {took} virtual ms");
    let replicas = (0..10)
        .filter(|&i| {
            sim.engines[0]
                .topology()
                .node(&sim.id(i))
                .is_some_and(|n| n.flags.has(NodeFlags::REPLICA))
        })
        .count();
    assert_eq!(replicas, 5);
}

#[test]
fn a_frozen_master_goes_pfail_then_fail_everywhere_and_is_cleared_on_return() {
    let mut sim = Sim::new(10, 7);
    sim.create(5);
    sim.run_until(30_000, converged).expect("converged");
    let victim = 2;
    let victim_id = sim.id(victim);
    let frozen_at = sim.now;
    sim.freeze(victim);
    let others: Vec<usize> = (0..10).filter(|&i| i != victim).collect();
    let failed_everywhere = |s: &Sim| {
        others.iter().all(|&i| {
            s.engines[i]
                .topology()
                .node(&victim_id)
                .is_some_and(|n| n.is_failed())
        })
    };
    let took = sim
        .run_until(30_000, failed_everywhere)
        .expect("FAIL reached every node");
    assert!(
        took > NODE_TIMEOUT,
        "nobody fails a node before node_timeout ({took} ms)"
    );
    // The node that first noticed saw PFAIL before FAIL; no node ever saw FAIL before
    // the quorum could exist.
    let first_pfail = sim
        .events
        .iter()
        .find(|(t, _, e)| *t >= frozen_at && *e == Event::PossiblyFailing(victim_id))
        .map(|(t, _, _)| *t)
        .expect("someone saw PFAIL");
    let first_fail = sim
        .events
        .iter()
        .find(|(_, _, e)| *e == Event::Failing(victim_id))
        .map(|(t, _, _)| *t)
        .expect("someone saw FAIL");
    assert!(first_pfail < first_fail);
    assert!(
        others.iter().all(|&i| !sim.engines[i].state_ok()),
        "a failed master's slots make the cluster fail"
    );

    sim.thaw(victim);
    let cleared = |s: &Sim| {
        others.iter().all(|&i| {
            s.engines[i]
                .topology()
                .node(&victim_id)
                .is_some_and(|n| !n.is_failed() && !n.is_timed_out())
        }) && converged(s)
    };
    sim.run_until(30_000, cleared)
        .expect("FAIL cleared everywhere and the cluster ok again");
}

#[test]
fn same_seed_same_run() {
    let run = |seed| {
        let mut sim = Sim::new(10, seed);
        sim.create(5);
        sim.run_for(5_000);
        sim.freeze(1);
        sim.run_for(8_000);
        sim.thaw(1);
        sim.run_for(8_000);
        (
            sim.trace.clone(),
            sim.events
                .iter()
                .map(|(t, i, e)| format!("{t}:{i}:{e:?}"))
                .collect::<Vec<_>>(),
        )
    };
    let a = run(99);
    assert_eq!(a, run(99), "a seed replays exactly");
    assert_ne!(a.0, run(100).0, "another seed runs differently");
}

#[test]
fn nodes_conf_reflects_the_view() {
    let mut sim = Sim::new(4, 3);
    sim.create(3);
    sim.run_until(30_000, converged).expect("converged");
    let text = sim.engines[3].nodes_conf();
    assert_eq!(text.lines().count(), 5, "{text}");
    assert!(text.lines().any(|l| l.contains("myself,slave")));
    assert!(text.ends_with("lastVoteEpoch 0\n"));
}

#[test]
fn publish_reaches_every_other_node_once_and_spublish_only_the_shard() {
    let mut sim = Sim::new(6, 11);
    sim.create(3);
    sim.run_until(30_000, converged).expect("converged");
    sim.published.clear();
    sim.publish(0, b"news", b"hello", false);
    sim.run_for(1_000);
    let mut got: Vec<usize> = sim.published.iter().map(|(i, _)| *i).collect();
    got.sort_unstable();
    // Every other node once; none sends it on, and the publisher is not told.
    assert_eq!(got, vec![1, 2, 3, 4, 5]);
    assert!(
        sim.published
            .iter()
            .all(|(_, p)| !p.shard && p.channel == b"news" && p.message == b"hello")
    );

    // SPUBLISH on a master reaches its replicas only.
    let master = 0;
    let me = sim.id(master);
    let shard: Vec<usize> = (0..6)
        .filter(|&i| {
            sim.engines[i].topology().me().master == Some(me)
                && sim.engines[i].topology().me().flags.has(NodeFlags::REPLICA)
        })
        .collect();
    assert!(!shard.is_empty(), "the master has a replica");
    sim.published.clear();
    sim.publish(master, b"{s}chan", b"sharded", true);
    sim.run_for(1_000);
    let got: Vec<usize> = sim.published.iter().map(|(i, _)| *i).collect();
    assert_eq!(got, shard);
    assert!(sim.published.iter().all(|(_, p)| p.shard));
}
