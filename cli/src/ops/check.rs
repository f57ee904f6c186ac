//! `tessera check`: what `redis-cli --cluster check` checks, from every node's own
//! view: that all nodes agree on who serves each slot, that all 16384 slots are
//! served, that no slot is left open (migrating or importing), and that no node is
//! failing. Each node is asked over its admin plane; keys are counted per master.

use serde_json::json;
use std::collections::BTreeMap;
use tessera_proto as pb;

use crate::admin::{Endpoint, connect, short};

/// What the check found.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// The node asked first, and its view.
    entry: String,
    topology: pb::Topology,
    /// Keys per master id.
    keys: BTreeMap<String, u64>,
    /// Problems: errors make the cluster unusable, warnings need an operator.
    errors: Vec<String>,
    warnings: Vec<String>,
}

/// Who serves which slots, in one node's view: (owner id, ranges) sorted.
fn slot_map(t: &pb::Topology) -> Vec<(String, Vec<(u32, u32)>)> {
    let mut map: Vec<(String, Vec<(u32, u32)>)> = t
        .nodes
        .iter()
        .filter(|n| !n.slots.is_empty())
        .map(|n| {
            (
                n.id.clone(),
                n.slots.iter().map(|r| (r.first, r.last)).collect(),
            )
        })
        .collect();
    map.sort();
    map
}

/// Checks the cluster `entry` belongs to.
pub async fn check(entry: &Endpoint) -> anyhow::Result<CheckReport> {
    let mut client = connect(entry).await?;
    let topology = client
        .get_topology(pb::GetTopologyRequest {})
        .await?
        .into_inner();
    let mut report = CheckReport {
        entry: format!("{}:{}", entry.host, entry.port),
        ..Default::default()
    };
    let expected = slot_map(&topology);
    for n in &topology.nodes {
        let at = format!("{}:{}", n.ip, n.port);
        if n.flags.iter().any(|f| f == "fail" || f == "fail?") {
            report.warnings.push(format!(
                "node {} ({at}) is failing ({})",
                short(&n.id),
                n.flags.join(",")
            ));
            continue;
        }
        if n.flags.iter().any(|f| f == "handshake" || f == "noaddr") {
            continue;
        }
        let endpoint = Endpoint {
            host: n.ip.clone(),
            port: n.port as u16,
            admin_port: None,
            password: entry.password.clone(),
        };
        let mut c = match connect(&endpoint).await {
            Ok(c) => c,
            Err(e) => {
                report
                    .errors
                    .push(format!("can't reach the admin plane of {at}: {e:#}"));
                continue;
            }
        };
        let view = c
            .get_topology(pb::GetTopologyRequest {})
            .await?
            .into_inner();
        if slot_map(&view) != expected {
            report.errors.push(format!(
                "nodes don't agree about configuration: {} ({at}) sees other slot owners than {}",
                short(&n.id),
                report.entry
            ));
        }
        if let Some(me) = view.nodes.iter().find(|m| m.id == view.myself) {
            for o in &me.migrating {
                report.warnings.push(format!(
                    "node {at} has slot {} in migrating state (to {})",
                    o.slot,
                    short(&o.node_id)
                ));
            }
            for o in &me.importing {
                report.warnings.push(format!(
                    "node {at} has slot {} in importing state (from {})",
                    o.slot,
                    short(&o.node_id)
                ));
            }
        }
        if n.role == "master" && n.slot_count > 0 {
            let counts = c
                .count_keys(pb::CountKeysRequest { ranges: Vec::new() })
                .await?
                .into_inner();
            report.keys.insert(n.id.clone(), counts.total);
        }
    }
    let covered: u32 = topology.nodes.iter().map(|n| n.slot_count).sum();
    if covered != 16384 {
        report
            .errors
            .push(format!("not all 16384 slots are covered: {covered} are"));
    }
    report.topology = topology;
    Ok(report)
}

impl CheckReport {
    /// No error and no warning.
    pub fn clean(&self) -> bool {
        self.errors.is_empty() && self.warnings.is_empty()
    }

    /// Prints the report: redis-cli's layout, or JSON.
    pub fn print(&self, json: bool) {
        let masters: Vec<&pb::ClusterNode> = self
            .topology
            .nodes
            .iter()
            .filter(|n| n.role == "master" && n.slot_count > 0)
            .collect();
        let replicas = |id: &str| {
            self.topology
                .nodes
                .iter()
                .filter(|n| n.master_id == id)
                .count()
        };
        if json {
            let out = json!({
                "clean": self.clean(),
                "errors": self.errors,
                "warnings": self.warnings,
                "masters": masters.iter().map(|m| json!({
                    "id": m.id, "address": format!("{}:{}", m.ip, m.port),
                    "slots": m.slot_count, "keys": self.keys.get(&m.id), "replicas": replicas(&m.id),
                })).collect::<Vec<_>>(),
            });
            println!("{out}");
            return;
        }
        for m in &masters {
            println!(
                "{}:{} ({}...) -> {} keys | {} slots | {} replicas.",
                m.ip,
                m.port,
                short(&m.id),
                self.keys.get(&m.id).copied().unwrap_or(0),
                m.slot_count,
                replicas(&m.id)
            );
        }
        println!(
            "[OK] {} keys in {} masters.",
            self.keys.values().sum::<u64>(),
            masters.len()
        );
        println!(">>> Performing Cluster Check (using node {})", self.entry);
        for n in &self.topology.nodes {
            let tag = if n.role == "master" { "M" } else { "S" };
            println!(
                "{tag}: {} {}:{}\n   slots:[{}] ({} slots) {}",
                n.id,
                n.ip,
                n.port,
                crate::admin::ranges_text(&n.slots),
                n.slot_count,
                n.role
            );
            if n.role == "master" && replicas(&n.id) > 0 {
                println!("   {} additional replica(s)", replicas(&n.id));
            }
        }
        for e in &self.errors {
            println!("[ERR] {e}");
        }
        for w in &self.warnings {
            println!("[WARNING] {w}");
        }
        if self
            .errors
            .iter()
            .all(|e| !e.starts_with("nodes don't agree"))
        {
            println!("[OK] All nodes agree about slots configuration.");
        }
        if self.errors.iter().all(|e| !e.starts_with("not all")) {
            println!("[OK] All 16384 slots covered.");
        }
    }
}
