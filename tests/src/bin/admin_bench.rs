//! `tessera create`, `check` and `rebalance` against `redis-cli --cluster` of the same
//! names, on the same Tessera nodes and data, in alternating rounds: seconds each, and
//! the ratio.
//! Run: `cargo build --release --workspace --bins --features tessera-tests/bench && target/release/admin_bench
//! [--rounds N]` (default 3).

use std::time::{Duration, Instant};
use tessera_tests::admin::tessera_ok;
use tessera_tests::bench::{median, rounds_arg};
use tessera_tests::cluster::{CLUSTER_ARGS, cluster_tool, id_of, wait_clean, wait_ok};
use tessera_tests::load::fill;
use tessera_tests::process::free_port;
use tessera_tests::{TesseraNode, wait_until};

const KEYS: usize = 100_000;

fn nodes(n: usize) -> Vec<TesseraNode> {
    (0..n)
        .map(|_| {
            let admin = free_port().to_string();
            TesseraNode::start(&[&CLUSTER_ARGS[..], &["--admin-port", &admin]].concat())
        })
        .collect()
}

fn addresses(nodes: &[TesseraNode]) -> Vec<String> {
    nodes
        .iter()
        .map(|n| format!("127.0.0.1:{}", n.port))
        .collect()
}

/// Seconds to create a cluster of 3 masters and 3 replicas, until the tool returns
/// (both wait for the cluster to be ok).
fn create(with_tessera: bool) -> f64 {
    let nodes = nodes(6);
    let addrs = addresses(&nodes);
    let addrs: Vec<&str> = addrs.iter().map(String::as_str).collect();
    let start = Instant::now();
    if with_tessera {
        let mut args = vec!["create"];
        args.extend(&addrs);
        args.extend(["--replicas", "1"]);
        tessera_ok(&args);
    } else {
        let mut args = vec!["create"];
        args.extend(&addrs);
        args.extend(["--cluster-replicas", "1", "--cluster-yes"]);
        cluster_tool(&args);
    }
    let took = start.elapsed().as_secs_f64();
    let ports: Vec<u16> = nodes.iter().map(|n| n.port).collect();
    assert!(wait_ok(&ports, Duration::from_secs(30)));
    took
}

/// Seconds to rebalance 3 masters holding the keys onto a fourth, empty one; and
/// seconds for one check of the result.
fn rebalance(with_tessera: bool) -> (f64, f64) {
    let nodes = nodes(4);
    let ports: Vec<u16> = nodes.iter().map(|n| n.port).collect();
    let addrs = addresses(&nodes);
    tessera_ok(&["create", &addrs[0], &addrs[1], &addrs[2]]);
    fill(&ports[..3], KEYS);
    tessera_ok(&[
        "admin",
        "-p",
        &ports[3].to_string(),
        "meet",
        "127.0.0.1",
        &ports[0].to_string(),
    ]);
    let id = id_of(ports[3]).unwrap();
    assert!(wait_until(Duration::from_secs(20), || {
        ports.iter().all(|&p| {
            tessera_tests::cluster::nodes(p)
                .iter()
                .any(|l| l.starts_with(&id))
                && tessera_tests::cluster::info_field(p, "cluster_state").as_deref() == Some("ok")
        })
    }));
    wait_clean(ports[0]);
    let start = Instant::now();
    if with_tessera {
        tessera_ok(&["rebalance", &addrs[0], "--use-empty-masters"]);
    } else {
        cluster_tool(&["rebalance", &addrs[0], "--cluster-use-empty-masters"]);
    }
    let took = start.elapsed().as_secs_f64();
    wait_clean(ports[0]);
    let start = Instant::now();
    if with_tessera {
        tessera_ok(&["check", &addrs[0]]);
    } else {
        cluster_tool(&["check", &addrs[0]]);
    }
    (took, start.elapsed().as_secs_f64())
}

fn main() {
    let rounds = rounds_arg("admin_bench", 3);
    println!(
        "seconds, {rounds} rounds; rebalance moves a quarter of {KEYS} keys onto a new master"
    );
    println!("round  create(cli/tessera)  rebalance(cli/tessera)  check(cli/tessera)");
    let mut columns: Vec<Vec<f64>> = vec![Vec::new(); 6];
    for round in 0..rounds {
        let c = (create(false), create(true));
        let (rc, cc) = rebalance(false);
        let (rt, ct) = rebalance(true);
        println!(
            "{round:<5}  {:.2} / {:.2}          {:.2} / {:.2}           {:.3} / {:.3}",
            c.0, c.1, rc, rt, cc, ct
        );
        for (col, v) in columns.iter_mut().zip([c.0, c.1, rc, rt, cc, ct]) {
            col.push(v);
        }
    }
    let m: Vec<f64> = columns.into_iter().map(median).collect();
    println!(
        "median: create {:.2}s vs {:.2}s ({:.1}x), rebalance {:.2}s vs {:.2}s ({:.1}x), check {:.3}s vs {:.3}s ({:.1}x)",
        m[0],
        m[1],
        m[0] / m[1],
        m[2],
        m[3],
        m[2] / m[3],
        m[4],
        m[5],
        m[4] / m[5]
    );
}
