//! Crate boundaries as facts the compiler's tooling checks: the protocol crates are
//! sans-IO (ARCHITECTURE.md, principle 1), so no async runtime and no socket library may
//! reach them through their normal dependencies, not even transitively. A dependency
//! that slips in fails here, naming the crate and the path to the culprit.

use std::path::Path;
use std::process::Command;

/// The crates that decide protocol and data rules and must hold no IO.
const SANS_IO: &[&str] = &[
    "tessera-cluster-bus",
    "tessera-failover",
    "tessera-replication",
    "tessera-migration",
    "tessera-resp",
    "tessera-keyspace",
    "tessera-persistence",
];

/// True for the packages that bring a runtime or sockets with them.
fn forbidden(package: &str) -> bool {
    package == "tokio" || package.starts_with("tokio-") || package == "mio" || package == "socket2"
}

/// The normal (not dev, not build) dependency tree of `package`, one package a line,
/// read from Cargo.lock without touching the network.
fn normal_dependencies(package: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace root");
    let output = Command::new(env!("CARGO"))
        .current_dir(root)
        .args([
            "tree",
            "--offline",
            "-e",
            "normal",
            "--prefix",
            "none",
            "-p",
            package,
        ])
        .output()
        .expect("running cargo tree");
    assert!(
        output.status.success(),
        "cargo tree -p {package} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("cargo tree prints UTF-8")
}

#[test]
fn protocol_crates_have_no_runtime_and_no_sockets() {
    let mut breaches = Vec::new();
    for package in SANS_IO {
        let tree = normal_dependencies(package);
        assert!(
            tree.lines().next().is_some_and(|l| l.starts_with(package)),
            "cargo tree printed nothing for {package}: is it still a workspace member?"
        );
        for line in tree.lines() {
            let name = line.split_whitespace().next().unwrap_or_default();
            if forbidden(name) {
                breaches.push(format!("{package} depends on {line}"));
            }
        }
    }
    assert!(
        breaches.is_empty(),
        "sans-IO crates reach IO crates (see `cargo tree -e normal -i <dep> -p <crate>`):\n{}",
        breaches.join("\n")
    );
}

#[test]
fn the_check_sees_tokio_where_it_is() {
    // The shell crates do depend on tokio: if the check could not see it there, an
    // empty report above would prove nothing.
    let tree = normal_dependencies("tessera-cluster-bus-runtime");
    assert!(
        tree.lines()
            .any(|l| forbidden(l.split_whitespace().next().unwrap_or_default())),
        "tokio not found in tessera-cluster-bus-runtime's tree:\n{tree}"
    );
}
