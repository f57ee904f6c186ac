//! Creating a cluster out of fresh nodes, as `redis-cli --cluster create` does: slots
//! split evenly over the masters, distinct config epochs, every node introduced,
//! replicas attached, then wait for `cluster_state:ok` everywhere. Polls every 50 ms
//! where redis-cli sleeps a second at a time.

use anyhow::Context;
use std::time::{Duration, Instant};
use tessera_proto as pb;

use crate::admin::{AdminClient, Endpoint, connect};

/// The slot ranges of `masters` masters, split as redis-cli does.
pub fn slot_split(masters: usize) -> Vec<(u16, u16)> {
    let per = 16384.0 / masters as f64;
    let mut cursor = 0.0f64;
    let mut first = 0i64;
    let mut out = Vec::with_capacity(masters);
    for i in 0..masters {
        let mut last = (cursor + per - 1.0).round() as i64;
        if last > 16383 || i == masters - 1 {
            last = 16383;
        }
        if last < first {
            last = first;
        }
        out.push((first as u16, last as u16));
        first = last + 1;
        cursor += per;
    }
    out
}

/// Polls `done` every 50 ms until it holds, or fails after `timeout`.
async fn wait_for<F, Fut>(timeout: Duration, what: &str, mut done: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let deadline = Instant::now() + timeout;
    while !done().await? {
        anyhow::ensure!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

async fn clients(endpoints: &[Endpoint]) -> anyhow::Result<Vec<AdminClient>> {
    let mut clients = Vec::with_capacity(endpoints.len());
    for e in endpoints {
        clients.push(
            connect(e)
                .await
                .with_context(|| format!("node {}:{}", e.host, e.port))?,
        );
    }
    Ok(clients)
}

/// Makes a cluster of `endpoints`: the first `masters` serve the slots, the others
/// replicate them in turn. Every node must be fresh: cluster mode, no keys, no slots,
/// no other node known.
pub async fn create(endpoints: &[Endpoint], masters: usize) -> anyhow::Result<()> {
    let mut clients = clients(endpoints).await?;
    for (c, e) in clients.iter_mut().zip(endpoints) {
        let node = c.get_node(pb::GetNodeRequest {}).await?.into_inner();
        let at = format!("{}:{}", e.host, e.port);
        anyhow::ensure!(node.cluster_enabled, "{at} is not in cluster mode");
        anyhow::ensure!(
            node.keys == 0,
            "{at} is not empty: it holds {} keys",
            node.keys
        );
        let t = c
            .get_topology(pb::GetTopologyRequest {})
            .await?
            .into_inner();
        anyhow::ensure!(
            t.nodes.len() == 1 && t.nodes[0].slot_count == 0,
            "{at} already knows other nodes or serves slots"
        );
    }
    for (c, (first, last)) in clients.iter_mut().zip(slot_split(masters)) {
        let ranges = vec![pb::SlotRange {
            first: u32::from(first),
            last: u32::from(last),
        }];
        c.add_slots(pb::SlotsRequest { ranges }).await?;
    }
    for (i, c) in clients.iter_mut().enumerate() {
        c.set_config_epoch(pb::SetConfigEpochRequest {
            epoch: i as u64 + 1,
        })
        .await?;
    }
    // Every node meets every earlier one: the handshakes complete within a cron tick,
    // where meeting only the first node leaves the rest to gossip (about a second).
    for (i, c) in clients.iter_mut().enumerate() {
        for earlier in &endpoints[..i] {
            c.meet(pb::MeetRequest {
                ip: earlier.host.clone(),
                port: u32::from(earlier.port),
                bus_port: 0,
            })
            .await?;
        }
    }
    let total = endpoints.len();
    let mut ids = vec![String::new(); total];
    wait_for(
        Duration::from_secs(60),
        "every node to know every other",
        || {
            let mut clients = clients.clone();
            async move {
                for c in clients.iter_mut() {
                    let t = c
                        .get_topology(pb::GetTopologyRequest {})
                        .await?
                        .into_inner();
                    let handshaking = t
                        .nodes
                        .iter()
                        .any(|n| n.flags.iter().any(|f| f == "handshake"));
                    if t.nodes.len() != total || handshaking {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
        },
    )
    .await?;
    for (id, c) in ids.iter_mut().zip(clients.iter_mut()) {
        *id = c.get_node(pb::GetNodeRequest {}).await?.into_inner().id;
    }
    for r in masters..total {
        let master_id = ids[(r - masters) % masters].clone();
        clients[r]
            .replicate(pb::ReplicateRequest { master_id })
            .await?;
    }
    Ok(())
}

/// Waits until every node says the cluster is ok.
pub async fn wait_ok(endpoints: &[Endpoint]) -> anyhow::Result<()> {
    let clients = clients(endpoints).await?;
    wait_for(
        Duration::from_secs(60),
        "cluster_state:ok on every node",
        || {
            let mut clients = clients.clone();
            async move {
                for c in clients.iter_mut() {
                    let info = c
                        .get_cluster_info(pb::GetClusterInfoRequest {})
                        .await?
                        .into_inner();
                    if info.state != "ok" {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn slot_split_matches_redis_cli() {
        assert_eq!(
            super::slot_split(3),
            vec![(0, 5460), (5461, 10922), (10923, 16383)]
        );
        assert_eq!(super::slot_split(1), vec![(0, 16383)]);
        let six = super::slot_split(6);
        assert_eq!(six[0], (0, 2730));
        assert_eq!(six[5].1, 16383);
    }
}
