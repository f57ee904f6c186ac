//! `tessera rebalance`: evens out the masters' slots as `redis-cli --cluster
//! rebalance` decides it (`tessera_migration::rebalance`), and moves them with the
//! admin plane's MoveSlots: batched, pipelined, resumable.

use tessera_migration::rebalance::{ranges, rebalance as plan};
use tessera_proto as pb;

use super::RebalanceArgs;
use super::check::check;
use crate::admin::{Endpoint, connect, move_slots_with_progress, short};

/// Rebalances the cluster `entry` belongs to.
pub async fn rebalance(entry: &Endpoint, args: &RebalanceArgs) -> anyhow::Result<()> {
    let report = check(entry).await?;
    if !report.clean() {
        report.print(false);
        anyhow::bail!("the cluster must check clean before a rebalance (see above)");
    }
    let mut client = connect(entry).await?;
    let topology = client
        .get_topology(pb::GetTopologyRequest {})
        .await?
        .into_inner();
    let masters: Vec<(String, Vec<u16>)> = topology
        .nodes
        .iter()
        .filter(|n| n.role == "master")
        .map(|n| {
            let slots = n
                .slots
                .iter()
                .flat_map(|r| r.first as u16..=r.last as u16)
                .collect();
            (n.id.clone(), slots)
        })
        .collect();
    let transfers = plan(&masters, args.use_empty_masters, args.threshold);
    if transfers.is_empty() {
        println!(
            "*** No rebalancing needed! All masters are within a {:.2}% threshold.",
            args.threshold
        );
        return Ok(());
    }
    for t in &transfers {
        println!(
            "Moving {} slots from {} to {}",
            t.slots.len(),
            short(&t.from),
            short(&t.to)
        );
        if args.simulate {
            continue;
        }
        let request = pb::MoveSlotsRequest {
            ranges: ranges(&t.slots)
                .into_iter()
                .map(|(a, b)| pb::SlotRange {
                    first: u32::from(a),
                    last: u32::from(b),
                })
                .collect(),
            target_id: t.to.clone(),
            ..Default::default()
        };
        move_slots_with_progress(&mut client, request, false).await?;
    }
    Ok(())
}
