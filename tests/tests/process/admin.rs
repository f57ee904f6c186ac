//! The admin plane (gRPC) against `tessera up` clusters: `tessera admin` agrees with
//! CLUSTER NODES (its global flags before or after the command), `move-slots` moves
//! thousands of slots under live writes without losing one, a cancelled move
//! resumes, and a Python client generated from the `.proto` files calls the API.

use std::collections::BTreeSet;
use std::time::Duration;
use tessera_tests::admin::{AdminStream, UpCluster, admin, admin_json, tessera_ok};
use tessera_tests::cluster::{CLUSTER_ARGS, id_of, nodes, slot_count, wait_clean};
use tessera_tests::load::{LiveLoad, LoadState, checkpoint, fill};
use tessera_tests::{TesseraNode, wait_until};

const DATA_KEYS: usize = 50_000;

/// (id, role, slot ranges) of every node, from CLUSTER NODES text.
fn from_cluster_nodes(lines: &[String]) -> BTreeSet<(String, String, String)> {
    lines
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let role = if f[2].contains("slave") {
                "replica"
            } else {
                "master"
            };
            let slots: Vec<&str> = f[8..].to_vec();
            (f[0].to_string(), role.to_string(), slots.join(","))
        })
        .collect()
}

/// The same, from `tessera admin nodes --json`.
fn from_admin(json: &serde_json::Value) -> BTreeSet<(String, String, String)> {
    json["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| {
            let slots: Vec<String> = n["slots"]
                .as_array()
                .expect("slots")
                .iter()
                .map(|r| {
                    let (a, b) = (r[0].as_u64().unwrap(), r[1].as_u64().unwrap());
                    if a == b {
                        a.to_string()
                    } else {
                        format!("{a}-{b}")
                    }
                })
                .collect();
            (
                n["id"].as_str().unwrap().to_string(),
                n["role"].as_str().unwrap().to_string(),
                slots.join(","),
            )
        })
        .collect()
}

/// `admin nodes --json` without what changes from one moment to the next: ping and
/// pong times, replication offsets, failure reports.
fn settled(mut json: serde_json::Value) -> serde_json::Value {
    for node in json["nodes"].as_array_mut().expect("nodes") {
        let node = node.as_object_mut().expect("a node object");
        for moving in [
            "ping_sent_ms",
            "pong_received_ms",
            "replication_offset",
            "failure_reports",
        ] {
            node.remove(moving);
        }
    }
    json
}

#[test]
fn admin_nodes_lists_what_cluster_nodes_lists() {
    let cluster = UpCluster::start(3, 1, 5000);
    for &port in &cluster.ports {
        let json = admin_json(port, &["nodes"]);
        assert_eq!(json["myself"].as_str(), id_of(port).as_deref());
        assert_eq!(json["state"], "ok");
        let expected = from_cluster_nodes(&nodes(port));
        assert_eq!(expected.len(), 6);
        assert_eq!(from_admin(&json), expected, "node on {port}");
    }
    // The table form names the same nodes.
    let table = String::from_utf8(admin(cluster.ports[0], &["nodes"]).stdout).unwrap();
    for (id, _, _) in from_cluster_nodes(&nodes(cluster.ports[0])) {
        assert!(table.contains(&id[..8]), "{id} in\n{table}");
    }
    // The global flags may follow the command, as people type them: same answer.
    let entry = cluster.ports[0].to_string();
    let after = tessera_ok(&["admin", "nodes", "--json", "-p", &entry]);
    let after: serde_json::Value = serde_json::from_str(&after).expect("JSON after the command");
    assert_eq!(
        settled(after),
        settled(admin_json(cluster.ports[0], &["nodes"]))
    );
    // `-h` is the host, as in redis-cli; `--help` works on every command.
    let (ok, usage) = tessera(&["admin", "move-slots", "--help"]);
    assert!(ok, "{usage}");
    assert!(
        usage.contains("Usage: tessera admin move-slots") && usage.contains("--slots"),
        "{usage}"
    );
    let info = admin_json(cluster.ports[3], &["info"]);
    assert_eq!(info["node"]["role"], "replica");
    assert_eq!(
        info["node"]["admin_port"].as_u64(),
        Some(u64::from(cluster.admin_ports[3]))
    );
    assert_eq!(info["cluster"]["cluster_state"], "ok");
    // A manual failover through the admin plane: the replica takes over its master.
    let replica = cluster.ports[3];
    let master_id = info["node"]["master_id"].as_str().unwrap().to_string();
    let out = admin(replica, &["failover"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        wait_until(Duration::from_secs(20), || {
            let me = admin_json(replica, &["nodes"]);
            me["nodes"].as_array().unwrap().iter().any(|n| {
                n["id"] == me["myself"]
                    && n["role"] == "master"
                    && n["slot_count"].as_u64() > Some(0)
            })
        }),
        "the replica became a master"
    );
    assert!(
        wait_until(Duration::from_secs(20), || {
            admin_json(replica, &["nodes"])["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["id"] == master_id.as_str() && n["role"] == "replica")
        }),
        "the old master follows it"
    );
    // A node without an admin plane says so.
    let plain = TesseraNode::start(&[]);
    let out = admin(plain.port, &["nodes"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("admin plane disabled"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `move-slots --json` to the end; its progress lines.
fn move_slots(entry: u16, slots: &str, to: &str, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["move-slots", "--slots", slots, "--to", to];
    args.extend_from_slice(extra);
    let out = admin(entry, &[&["--json"], &args[..]].concat());
    assert!(
        out.status.success(),
        "move-slots failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON progress"))
        .collect()
}

#[test]
fn move_slots_under_live_writes_then_cancel_and_resume() {
    let cluster = UpCluster::start(3, 0, 5000);
    let ports = cluster.masters(3).to_vec();
    fill(&ports, DATA_KEYS);
    let ids: Vec<String> = ports.iter().map(|&p| id_of(p).unwrap()).collect();

    // 4,000 slots from the first master to the second, through the third's admin plane.
    let load = LiveLoad::start(&ports, LoadState::default());
    let progress = move_slots(ports[2], "0-3999", &ids[1], &[]);
    let last = progress.last().expect("progress");
    assert_eq!(last["finished"], true);
    assert_eq!(last["slots_total"], 4000);
    assert_eq!(last["slots_done"], 4000);
    assert!(last["keys_moved"].as_u64().unwrap() > 10_000, "{last}");
    assert_eq!(slot_count(ports[0], &ids[1]), 5462 + 4000);
    let load = checkpoint("move-slots of 4000 slots", &ports, DATA_KEYS, load);

    // The same move again has nothing left to do.
    let again = move_slots(ports[0], "0-3999", &ids[1], &[]);
    assert_eq!(again.last().unwrap()["slots_skipped"], 4000);

    // Cancel a move part-way (the operator's tool dies), then resume it.
    let stream = AdminStream::start(
        ports[0],
        &[
            "move-slots",
            "--slots",
            "5461-10922",
            "--to",
            &ids[2],
            "--batch",
            "16",
        ],
    );
    let seen = stream.until(Duration::from_secs(60), |p| {
        p["slots_done"].as_u64().unwrap_or(0) >= 1000 || p["finished"] == true
    });
    assert!(
        seen.last().is_some_and(|p| p["finished"] == false),
        "the move was still running when cancelled: {:?}",
        seen.last()
    );
    stream.kill();
    // The node finishes the batch in hand and stops: every slot has one owner.
    wait_clean(ports[0]);
    let moved = slot_count(ports[0], &ids[2]) - 5461;
    assert!(
        (1000..5462).contains(&moved),
        "{moved} slots moved before the cancel took effect"
    );
    let load = checkpoint("cancelled move-slots", &ports, DATA_KEYS, load);

    let mut resumed: Vec<serde_json::Value> = Vec::new();
    let accepted = wait_until(Duration::from_secs(30), || {
        let out = admin(
            ports[0],
            &[
                "--json",
                "move-slots",
                "--slots",
                "5461-10922",
                "--to",
                &ids[2],
            ],
        );
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("already running"), "{err}");
            return false;
        }
        resumed = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        true
    });
    assert!(accepted, "the resumed move was accepted");
    let last = resumed.last().unwrap();
    assert_eq!(last["finished"], true);
    assert_eq!(last["slots_skipped"].as_u64(), Some(moved as u64));
    assert_eq!(last["slots_done"], 5462);
    assert_eq!(slot_count(ports[1], &ids[1]), 4000);
    assert_eq!(slot_count(ports[2], &ids[2]), 5461 + 5462);
    let state = checkpoint("resumed move-slots", &ports, DATA_KEYS, load).stop();
    assert!(
        state.writes > 1000,
        "the load kept writing: {}",
        state.writes
    );
}

#[test]
fn a_python_client_generated_from_the_protos_calls_the_api() {
    let admin_port = tessera_tests::process::free_port();
    let node = TesseraNode::start(
        &[
            &CLUSTER_ARGS[..],
            &[
                "--requirepass",
                "s3cret",
                "--admin-port",
                &admin_port.to_string(),
            ],
        ]
        .concat(),
    );
    let proto_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../proto/proto");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/admin_client.py");
    let out = std::process::Command::new("python3")
        .args([script, proto_dir, &admin_port.to_string(), "s3cret"])
        .arg(node.port.to_string())
        .output()
        .expect("running python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok ")).count(),
        14,
        "{stdout}"
    );
}

/// A cluster node with its admin plane on a free port.
fn admin_node() -> TesseraNode {
    let admin_port = tessera_tests::process::free_port().to_string();
    TesseraNode::start(&[&CLUSTER_ARGS[..], &["--admin-port", &admin_port]].concat())
}

/// `tessera <args>`: exit success and output.
fn tessera(args: &[&str]) -> (bool, String) {
    let out = tessera_tests::admin::tessera(args);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn create_check_and_rebalance_over_grpc() {
    let nodes: Vec<TesseraNode> = (0..4).map(|_| admin_node()).collect();
    let ports: Vec<u16> = nodes.iter().map(|n| n.port).collect();
    let addr = |p: u16| format!("127.0.0.1:{p}");
    let (ok, out) = tessera(&["create", &addr(ports[0]), &addr(ports[1]), &addr(ports[2])]);
    assert!(ok, "{out}");
    assert!(out.contains("[OK] cluster of 3 masters"), "{out}");
    // redis-cli agrees the result is a sound cluster.
    wait_clean(ports[0]);
    let (ok, out) = tessera(&["check", &addr(ports[1])]);
    assert!(ok, "{out}");
    assert!(
        out.contains("[OK] All nodes agree about slots configuration."),
        "{out}"
    );
    assert!(out.contains("[OK] All 16384 slots covered."), "{out}");
    // A node that is not fresh is refused.
    let (ok, out) = tessera(&["create", &addr(ports[0]), &addr(ports[3])]);
    assert!(!ok && out.contains("already knows other nodes"), "{out}");

    fill(&ports[..3], 20_000);
    // An open slot makes the check fail, and names it.
    let id1 = id_of(ports[1]).unwrap();
    let mut c = tessera_tests::RawConnection::connect(ports[0]).unwrap();
    c.command(&["CLUSTER", "SETSLOT", "7", "MIGRATING", &id1])
        .unwrap();
    let (ok, out) = tessera(&["check", &addr(ports[2])]);
    assert!(!ok, "{out}");
    assert!(out.contains("slot 7 in migrating state"), "{out}");
    let (ok, out) = tessera(&["rebalance", &addr(ports[2]), "--use-empty-masters"]);
    assert!(!ok && out.contains("must check clean"), "{out}");
    c.command(&["CLUSTER", "SETSLOT", "7", "STABLE"]).unwrap();

    // A fourth master joins empty, and a rebalance gives it its share.
    let out = admin(ports[3], &["meet", "127.0.0.1", &ports[0].to_string()]);
    assert!(out.status.success());
    let id3 = id_of(ports[3]).unwrap();
    assert!(wait_until(Duration::from_secs(20), || {
        ports.iter().all(|&p| nodes_of(p).contains(&id3))
            && nodes_of(ports[3]).lines().count() == 4
            && tessera_tests::cluster::info_field(ports[3], "cluster_state").as_deref()
                == Some("ok")
    }));
    let (ok, out) = tessera(&["rebalance", &addr(ports[0])]);
    assert!(ok && out.contains("No rebalancing needed"), "{out}");
    let (ok, out) = tessera(&["rebalance", &addr(ports[0]), "--use-empty-masters"]);
    assert!(ok, "{out}");
    assert_eq!(slot_count(ports[3], &id3), 4096);
    wait_clean(ports[0]);
    let (ok, out) = tessera(&["check", &addr(ports[3])]);
    assert!(ok, "{out}");
    let wrong = tessera_tests::load::verify(&ports, 20_000, &LoadState::default());
    assert!(wrong.is_empty(), "{:?}", &wrong[..wrong.len().min(5)]);
}

fn nodes_of(port: u16) -> String {
    nodes(port).join("\n")
}
