//! The inspection calls: this node, the topology, CLUSTER INFO, links, key counts and
//! the running config, turned from what the node knows into the API's messages.

use std::collections::HashMap;
use std::sync::Arc;
use tessera_cluster_bus::engine::{Answer, ClusterCommand, NodeView, TopologyView};
use tessera_proto as pb;
use tessera_resp_server::Node;
use tonic::Status;

use super::{AdminService, status_of};

/// `field:value` lines of an INFO or CLUSTER INFO text.
fn fields(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.trim_end().split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A proto slot range from an inclusive pair.
pub fn range((first, last): (u16, u16)) -> pb::SlotRange {
    pb::SlotRange {
        first: u32::from(first),
        last: u32::from(last),
    }
}

/// Checks and converts the API's slot ranges.
pub fn slot_ranges(ranges: &[pb::SlotRange]) -> Result<Vec<(u16, u16)>, Status> {
    ranges
        .iter()
        .map(|r| {
            if r.first > r.last || r.last > 16383 {
                Err(Status::invalid_argument(format!(
                    "invalid slot range {}-{}: slots are 0-16383, first <= last",
                    r.first, r.last
                )))
            } else {
                Ok((r.first as u16, r.last as u16))
            }
        })
        .collect()
}

fn role(flags: &str) -> &'static str {
    if flags.split(',').any(|f| f == "slave") {
        "replica"
    } else {
        "master"
    }
}

fn cluster_node(n: &NodeView) -> pb::ClusterNode {
    let l = &n.line;
    pb::ClusterNode {
        id: l.id.clone(),
        ip: l.ip.clone(),
        port: u32::from(l.port),
        bus_port: u32::from(l.cport),
        hostname: l.hostname.clone(),
        flags: l.flags.split(',').map(str::to_string).collect(),
        role: role(&l.flags).to_string(),
        master_id: l.master.clone().unwrap_or_default(),
        config_epoch: l.config_epoch,
        link_connected: l.connected,
        ping_sent_ms: l.ping_sent,
        pong_received_ms: l.pong_received,
        slots: l.slots.iter().copied().map(range).collect(),
        slot_count: n.slot_count as u32,
        migrating: l
            .migrating
            .iter()
            .map(|(slot, id)| pb::OpenSlot {
                slot: u32::from(*slot),
                node_id: id.clone(),
            })
            .collect(),
        importing: l
            .importing
            .iter()
            .map(|(slot, id)| pb::OpenSlot {
                slot: u32::from(*slot),
                node_id: id.clone(),
            })
            .collect(),
        failure_reports: n
            .failure_reports
            .iter()
            .map(|(reporter, time)| pb::FailureReport {
                reporter_id: reporter.to_string(),
                time_ms: *time,
            })
            .collect(),
        replication_offset: n.repl_offset,
    }
}

/// The node's structured view of the cluster.
pub async fn topology_view(service: &AdminService) -> Result<TopologyView, Status> {
    match service
        .cluster()?
        .command(ClusterCommand::Describe)
        .await
        .map_err(status_of)?
    {
        Answer::Topology(view) => Ok(*view),
        other => Err(Status::internal(format!(
            "unexpected engine answer {other:?}"
        ))),
    }
}

/// The API's topology message.
pub fn topology(view: &TopologyView) -> pb::Topology {
    pb::Topology {
        myself: view.myself.to_string(),
        current_epoch: view.current_epoch,
        state: if view.state_ok { "ok" } else { "fail" }.to_string(),
        nodes: view.nodes.iter().map(cluster_node).collect(),
    }
}

/// GetNode.
pub async fn node_info(service: &AdminService) -> Result<pb::NodeInfo, Status> {
    let node = &service.node;
    let replication = fields(&tessera_resp_server::info::render(
        node,
        &["replication".to_string()],
    ));
    let text = |k: &str| replication.get(k).cloned().unwrap_or_default();
    let mut info = pb::NodeInfo {
        role: if text("role") == "slave" {
            "replica"
        } else {
            "master"
        }
        .to_string(),
        port: u32::from(node.port()),
        admin_port: u32::from(node.admin_port()),
        cluster_enabled: node.cluster().is_some(),
        replication_id: text("master_replid"),
        replication_offset: text("master_repl_offset").parse().unwrap_or(0),
        master_host: text("master_host"),
        master_port: text("master_port").parse().unwrap_or(0),
        master_link_up: text("master_link_status") == "up",
        version: env!("CARGO_PKG_VERSION").to_string(),
        keys: node.keyspace().db(0).len() as u64,
        ..Default::default()
    };
    if node.cluster().is_some() {
        let view = topology_view(service).await?;
        info.current_epoch = view.current_epoch;
        if let Some(me) = view
            .nodes
            .iter()
            .find(|n| n.line.id == view.myself.as_str())
        {
            info.id = me.line.id.clone();
            info.ip = me.line.ip.clone();
            info.bus_port = u32::from(me.line.cport);
            info.config_epoch = me.line.config_epoch;
            info.master_id = me.line.master.clone().unwrap_or_default();
            info.flags = me.line.flags.split(',').map(str::to_string).collect();
        }
    }
    Ok(info)
}

/// GetClusterInfo.
pub async fn cluster_info(service: &AdminService) -> Result<pb::ClusterInfo, Status> {
    let text = match service
        .cluster()?
        .command(ClusterCommand::Info)
        .await
        .map_err(status_of)?
    {
        Answer::Text(t) => t,
        other => return Err(Status::internal(format!("unexpected answer {other:?}"))),
    };
    let f = fields(&text);
    let n = |k: &str| f.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    Ok(pb::ClusterInfo {
        state: f.get("cluster_state").cloned().unwrap_or_default(),
        slots_assigned: n("cluster_slots_assigned") as u32,
        slots_ok: n("cluster_slots_ok") as u32,
        slots_pfail: n("cluster_slots_pfail") as u32,
        slots_fail: n("cluster_slots_fail") as u32,
        known_nodes: n("cluster_known_nodes") as u32,
        size: n("cluster_size") as u32,
        current_epoch: n("cluster_current_epoch"),
        my_epoch: n("cluster_my_epoch"),
        fields: f,
    })
}

/// GetLinks.
pub async fn links(service: &AdminService) -> Result<pb::Links, Status> {
    let links = match service
        .cluster()?
        .command(ClusterCommand::Links)
        .await
        .map_err(status_of)?
    {
        Answer::Links(l) => l,
        other => return Err(Status::internal(format!("unexpected answer {other:?}"))),
    };
    Ok(pb::Links {
        links: links
            .into_iter()
            .map(|l| pb::Link {
                direction: if l.direction_to { "to" } else { "from" }.to_string(),
                node_id: l.node.to_string(),
                created_ms: l.created,
                messages_sent: l.traffic.messages_sent,
                messages_received: l.traffic.messages_received,
                bytes_sent: l.traffic.bytes_sent,
                bytes_received: l.traffic.bytes_received,
            })
            .collect(),
    })
}

/// CountKeys: one count per requested range (all slots when none).
pub fn count_keys(
    node: &Arc<Node>,
    request: &pb::CountKeysRequest,
) -> Result<pb::KeyCounts, Status> {
    let mut ranges = slot_ranges(&request.ranges)?;
    if ranges.is_empty() {
        ranges.push((0, 16383));
    }
    let db = node.keyspace().db(0);
    let counts: Vec<pb::RangeCount> = ranges
        .into_iter()
        .map(|(first, last)| pb::RangeCount {
            range: Some(range((first, last))),
            keys: (first..=last).map(|s| db.lock(s).len() as u64).sum(),
        })
        .collect();
    Ok(pb::KeyCounts {
        total: counts.iter().map(|c| c.keys).sum(),
        counts,
    })
}

/// GetConfig.
pub fn config(node: &Node, pattern: &str) -> pb::Config {
    let pattern = if pattern.is_empty() { "*" } else { pattern };
    pb::Config {
        values: node
            .config()
            .get(&[pattern.as_bytes()])
            .into_iter()
            .collect(),
    }
}
