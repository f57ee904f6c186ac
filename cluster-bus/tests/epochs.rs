//! Configuration rules on the simulator: configEpoch collisions, slot ownership decided
//! by epoch with UPDATE correcting a stale master, and the FORGET blacklist.

mod sim;

use sim::{Sim, converged};
use std::collections::BTreeSet;
use tessera_cluster_bus::engine::{Answer, ClusterCommand};
use tessera_cluster_bus::wire::MessageType;

#[test]
fn equal_config_epochs_are_resolved_into_distinct_ones() {
    let mut sim = Sim::new(6, 11);
    sim.create_with(6, false);
    let distinct = |s: &Sim| {
        (0..6).all(|viewer| {
            let t = s.engines[viewer].topology();
            let epochs: BTreeSet<u64> = t.nodes().values().map(|n| n.config_epoch).collect();
            epochs.len() == 6
        }) && converged(s)
    };
    // The node with the greatest ID never yields, so it may keep epoch 0, as in Redis.
    sim.run_until(30_000, distinct)
        .expect("every master ends up with its own configEpoch, seen alike by all");
    let current: BTreeSet<u64> = (0..6)
        .map(|i| sim.engines[i].topology().current_epoch())
        .collect();
    let highest = (0..6)
        .map(|i| sim.engines[i].topology().me().config_epoch)
        .max();
    assert_eq!(
        current.into_iter().collect::<Vec<_>>(),
        vec![highest.unwrap()]
    );
}

#[test]
fn a_stale_master_gives_up_the_slots_a_newer_epoch_took() {
    let mut sim = Sim::new(3, 5);
    // An operator reassigning a live master's slots overrides the single-writer rule,
    // as TAKEOVER does: that is what this test exercises.
    sim.check_single_writer = false;
    sim.create(3);
    sim.run_until(30_000, converged).expect("converged");
    let (stale, taker) = (0, 1);
    let stale_id = sim.id(stale);
    let taker_id = sim.id(taker);
    let range = sim.engines[stale].topology().me().slots.ranges()[0];
    // While the owner is away, another master takes its slots and bumps its epoch:
    // what `redis-cli --cluster fix` does for uncovered slots.
    sim.freeze(stale);
    sim.command(taker, ClusterCommand::DelSlots(vec![range]));
    sim.command(taker, ClusterCommand::AddSlots(vec![range]));
    assert!(matches!(
        sim.command(taker, ClusterCommand::BumpEpoch),
        Answer::Status(s) if s.starts_with("BUMPED")
    ));
    let taken_by_all_awake = |s: &Sim| {
        [1, 2].iter().all(|&i| {
            s.owners(i)[usize::from(range.0)] == Some(taker_id)
                && s.owners(i)[usize::from(range.1)] == Some(taker_id)
        })
    };
    sim.run_until(10_000, taken_by_all_awake)
        .expect("the others follow the higher epoch");

    sim.thaw(stale);
    let corrected = |s: &Sim| {
        let me = s.engines[stale].topology().me();
        me.slot_count == 0 && me.master == Some(taker_id) && converged(s)
    };
    sim.run_until(20_000, corrected).expect(
        "the stale master drops the slots and, having none left, replicates their new owner",
    );
    let updates = sim.engines[stale].stats().received[MessageType::Update as usize];
    assert!(updates > 0, "it was told by UPDATE messages");
    assert!(
        sim.engines[1]
            .topology()
            .node(&stale_id)
            .is_some_and(|n| n.is_replica())
    );
}

#[test]
fn a_forgotten_node_is_not_relearned_from_gossip_for_a_minute() {
    let mut sim = Sim::new(5, 23);
    sim.create(4);
    sim.run_until(30_000, converged).expect("converged");
    let forgotten = sim.id(4);
    let forget = ClusterCommand::Forget(forgotten.to_string());
    assert_eq!(sim.command(0, forget), Answer::Ok);
    let knows = |s: &Sim| s.engines[0].topology().node(&forgotten).is_some();
    assert!(!knows(&sim));
    // Its peers keep gossiping about it; the blacklist keeps it out...
    sim.run_for(50_000);
    assert!(!knows(&sim), "relearned within the blacklist's 60 s");
    // ...until the entry expires, and then gossip brings it back.
    sim.run_until(30_000, knows)
        .expect("relearned from gossip once the blacklist expired");
}
