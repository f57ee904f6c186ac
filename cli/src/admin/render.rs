//! Tables for people, JSON for scripts.

use serde_json::{Value, json};
use tessera_proto as pb;

/// Prints rows as left-aligned columns under a header.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                out += cell;
            } else {
                out += &format!("{cell:<w$}  ");
            }
        }
        println!("{}", out.trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// `0-5460,5462` for people.
pub fn ranges_text(ranges: &[pb::SlotRange]) -> String {
    ranges
        .iter()
        .map(|r| {
            if r.first == r.last {
                r.first.to_string()
            } else {
                format!("{}-{}", r.first, r.last)
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn ranges_json(ranges: &[pb::SlotRange]) -> Value {
    Value::Array(ranges.iter().map(|r| json!([r.first, r.last])).collect())
}

/// A node as JSON.
pub fn node_json(n: &pb::ClusterNode) -> Value {
    json!({
        "id": n.id,
        "ip": n.ip,
        "port": n.port,
        "bus_port": n.bus_port,
        "hostname": n.hostname,
        "flags": n.flags,
        "role": n.role,
        "master_id": if n.master_id.is_empty() { Value::Null } else { json!(n.master_id) },
        "config_epoch": n.config_epoch,
        "link_connected": n.link_connected,
        "ping_sent_ms": n.ping_sent_ms,
        "pong_received_ms": n.pong_received_ms,
        "slots": ranges_json(&n.slots),
        "slot_count": n.slot_count,
        "migrating": n.migrating.iter().map(|o| json!({"slot": o.slot, "node_id": o.node_id})).collect::<Vec<_>>(),
        "importing": n.importing.iter().map(|o| json!({"slot": o.slot, "node_id": o.node_id})).collect::<Vec<_>>(),
        "failure_reports": n.failure_reports.iter().map(|f| json!({"reporter_id": f.reporter_id, "time_ms": f.time_ms})).collect::<Vec<_>>(),
        "replication_offset": n.replication_offset,
    })
}

/// `tessera admin nodes`.
pub fn nodes(t: &pb::Topology, json: bool) {
    if json {
        let out = json!({
            "myself": t.myself,
            "current_epoch": t.current_epoch,
            "state": t.state,
            "nodes": t.nodes.iter().map(node_json).collect::<Vec<_>>(),
        });
        println!("{out}");
        return;
    }
    let rows: Vec<Vec<String>> = t
        .nodes
        .iter()
        .map(|n| {
            let mut slots = ranges_text(&n.slots);
            for o in &n.migrating {
                slots += &format!(" [{}->{}]", o.slot, short(&o.node_id));
            }
            for o in &n.importing {
                slots += &format!(" [{}<-{}]", o.slot, short(&o.node_id));
            }
            vec![
                short(&n.id).to_string() + if n.id == t.myself { "*" } else { "" },
                format!("{}:{}", n.ip, n.port),
                n.role.clone(),
                short(&n.master_id).to_string(),
                n.flags
                    .iter()
                    .filter(|f| !matches!(f.as_str(), "myself" | "master" | "slave"))
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(","),
                n.config_epoch.to_string(),
                if n.link_connected { "up" } else { "down" }.to_string(),
                n.slot_count.to_string(),
                slots,
            ]
        })
        .collect();
    table(
        &[
            "ID", "ADDRESS", "ROLE", "MASTER", "FLAGS", "EPOCH", "LINK", "#SLOTS", "SLOTS",
        ],
        &rows,
    );
    println!(
        "cluster {} · epoch {} · * = the node that answered",
        t.state, t.current_epoch
    );
}

/// The first 8 characters of a node id, as tables show it.
pub fn short(id: &str) -> &str {
    &id[..id.len().min(8)]
}

/// `tessera admin slots`: each owner's ranges with its replicas.
pub fn slots(t: &pb::Topology, json: bool) {
    let mut masters: Vec<&pb::ClusterNode> = t.nodes.iter().filter(|n| n.slot_count > 0).collect();
    masters.sort_by_key(|n| n.slots.first().map_or(0, |r| r.first));
    let replicas = |id: &str| -> Vec<&pb::ClusterNode> {
        t.nodes.iter().filter(|n| n.master_id == id).collect()
    };
    if json {
        let out: Vec<Value> = masters
            .iter()
            .map(|m| {
                json!({
                    "slots": ranges_json(&m.slots),
                    "slot_count": m.slot_count,
                    "master": {"id": m.id, "ip": m.ip, "port": m.port},
                    "replicas": replicas(&m.id).iter().map(|r| json!({"id": r.id, "ip": r.ip, "port": r.port})).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!("{}", Value::Array(out));
        return;
    }
    let rows: Vec<Vec<String>> = masters
        .iter()
        .map(|m| {
            vec![
                ranges_text(&m.slots),
                m.slot_count.to_string(),
                format!("{} {}:{}", short(&m.id), m.ip, m.port),
                replicas(&m.id)
                    .iter()
                    .map(|r| format!("{} {}:{}", short(&r.id), r.ip, r.port))
                    .collect::<Vec<_>>()
                    .join(", "),
            ]
        })
        .collect();
    table(&["SLOTS", "#", "MASTER", "REPLICAS"], &rows);
    let covered: u32 = masters.iter().map(|m| m.slot_count).sum();
    println!("{covered} of 16384 slots assigned");
}

/// `tessera admin info`.
pub fn info(node: &pb::NodeInfo, cluster: Option<&pb::ClusterInfo>, json: bool) {
    if json {
        let mut out = json!({
            "node": {
                "id": node.id, "role": node.role, "ip": node.ip, "port": node.port,
                "bus_port": node.bus_port, "admin_port": node.admin_port,
                "cluster_enabled": node.cluster_enabled, "current_epoch": node.current_epoch,
                "config_epoch": node.config_epoch, "replication_id": node.replication_id,
                "replication_offset": node.replication_offset, "master_id": node.master_id,
                "master_host": node.master_host, "master_port": node.master_port,
                "master_link_up": node.master_link_up, "version": node.version,
                "keys": node.keys, "flags": node.flags,
            }
        });
        if let Some(c) = cluster {
            out["cluster"] = json!(c.fields);
        }
        println!("{out}");
        return;
    }
    let mut rows = vec![
        vec!["id".into(), node.id.clone()],
        vec!["role".into(), node.role.clone()],
        vec![
            "address".into(),
            format!(
                "{}:{} (bus {}, admin {})",
                node.ip, node.port, node.bus_port, node.admin_port
            ),
        ],
        vec![
            "epochs".into(),
            format!(
                "current {}, config {}",
                node.current_epoch, node.config_epoch
            ),
        ],
        vec![
            "replication".into(),
            format!(
                "{} at offset {}",
                node.replication_id, node.replication_offset
            ),
        ],
        vec!["keys".into(), node.keys.to_string()],
        vec!["version".into(), node.version.clone()],
    ];
    if node.role == "replica" {
        rows.push(vec![
            "master".into(),
            format!(
                "{} {}:{} link {}",
                short(&node.master_id),
                node.master_host,
                node.master_port,
                if node.master_link_up { "up" } else { "down" }
            ),
        ]);
    }
    if let Some(c) = cluster {
        rows.push(vec![
            "cluster".into(),
            format!(
                "{} · {} masters with slots · {} nodes",
                c.state, c.size, c.known_nodes
            ),
        ]);
        rows.push(vec![
            "slots".into(),
            format!(
                "{} assigned, {} ok, {} pfail, {} fail",
                c.slots_assigned, c.slots_ok, c.slots_pfail, c.slots_fail
            ),
        ]);
    }
    table(&["FIELD", "VALUE"], &rows);
}

/// `tessera admin links`.
pub fn links(l: &pb::Links, json: bool) {
    if json {
        let out: Vec<Value> = l
            .links
            .iter()
            .map(|k| {
                json!({
                    "direction": k.direction, "node_id": k.node_id, "created_ms": k.created_ms,
                    "messages_sent": k.messages_sent, "messages_received": k.messages_received,
                    "bytes_sent": k.bytes_sent, "bytes_received": k.bytes_received,
                })
            })
            .collect();
        println!("{}", Value::Array(out));
        return;
    }
    let rows: Vec<Vec<String>> = l
        .links
        .iter()
        .map(|k| {
            vec![
                k.direction.clone(),
                short(&k.node_id).to_string(),
                k.messages_sent.to_string(),
                k.messages_received.to_string(),
                k.bytes_sent.to_string(),
                k.bytes_received.to_string(),
            ]
        })
        .collect();
    table(
        &[
            "DIR",
            "PEER",
            "MSGS OUT",
            "MSGS IN",
            "BYTES OUT",
            "BYTES IN",
        ],
        &rows,
    );
}

/// `tessera admin keys`.
pub fn key_counts(c: &pb::KeyCounts, json: bool) {
    if json {
        let out = json!({
            "total": c.total,
            "counts": c.counts.iter().map(|r| {
                let range = r.range.unwrap_or_default();
                json!({"first": range.first, "last": range.last, "keys": r.keys})
            }).collect::<Vec<_>>(),
        });
        println!("{out}");
        return;
    }
    let rows: Vec<Vec<String>> = c
        .counts
        .iter()
        .map(|r| {
            let range = r.range.unwrap_or_default();
            vec![ranges_text(&[range]), r.keys.to_string()]
        })
        .collect();
    table(&["SLOTS", "KEYS"], &rows);
}

/// `tessera admin config`.
pub fn config(c: &pb::Config, json: bool) {
    let mut entries: Vec<(&String, &String)> = c.values.iter().collect();
    entries.sort();
    if json {
        println!("{}", json!(c.values));
        return;
    }
    let rows: Vec<Vec<String>> = entries
        .into_iter()
        .map(|(k, v)| vec![k.clone(), v.clone()])
        .collect();
    table(&["DIRECTIVE", "VALUE"], &rows);
}

/// An action's answer.
pub fn action(reply: &pb::ActionReply, json: bool) {
    if json {
        println!("{}", json!({"message": reply.message}));
    } else {
        println!("{}", reply.message);
    }
}
