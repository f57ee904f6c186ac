//! A real application on collections: redis-py's `RedisCluster` over a `tessera up`
//! cluster keeps sessions in hashes, a job queue in lists, a leaderboard in a sorted
//! set and tags in sets (`tests/python/cluster_app.py`), while `tessera admin
//! move-slots` moves the slots holding its queue and leaderboard to another master
//! and `redis-cli --cluster reshard` moves them back. The script mirrors every acknowledged write and, at the end, asserts that
//! the cluster holds exactly that.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use tessera_tests::admin::{UpCluster, tessera_ok};
use tessera_tests::cluster::{id_of, reshard, wait_clean};

/// The moved range's end (exclusive); the script tags its queue and leaderboard into it.
const LIMIT: u16 = 1000;

#[test]
fn a_redis_py_application_runs_through_a_reshard() {
    let cluster = UpCluster::start(3, 0, 2000);
    let masters = cluster.masters(3).to_vec();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/cluster_app.py");
    let mut app = Command::new("python3")
        .args([script, &masters[0].to_string(), &LIMIT.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 (the test command installs redis-py)");
    let mut lines = BufReader::new(app.stdout.take().expect("stdout")).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    assert_eq!(first, "ready", "the application started: {first}");

    let range = format!("0-{}", LIMIT - 1);
    let ids: Vec<String> = masters.iter().map(|&p| id_of(p).expect("id")).collect();
    let admin = cluster.admin_ports[1].to_string();
    tessera_ok(&[
        "admin",
        "--admin-port",
        &admin,
        "move-slots",
        "--slots",
        &range,
        "--to",
        &ids[1],
    ]);
    // Back with redis-cli, which takes the source's lowest slots: the same ones.
    reshard(masters[1], &ids[1], &ids[0], LIMIT as usize);
    wait_clean(masters[0]);

    let mut stdin = app.stdin.take().expect("stdin");
    writeln!(stdin, "stop").expect("telling the application to stop");
    drop(stdin);
    let last = lines.next().and_then(Result::ok).unwrap_or_default();
    let out = app.wait_with_output().expect("the application ends");
    assert!(
        out.status.success() && last.starts_with("ok "),
        "the application's final check: {last}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ops: usize = last[3..].parse().expect("the operation count");
    assert!(
        ops > 2000,
        "the application kept working during the moves: {ops}"
    );
    eprintln!("application operations: {ops}");
}
