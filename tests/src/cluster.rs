//! Helpers for cluster tests: starting nodes, creating clusters with redis-cli, reading
//! CLUSTER output.

use std::process::Command;
use std::time::Duration;

use crate::{RawConnection, RedisServer, TesseraNode, text, wait_until};

/// Cluster-mode arguments for a test node (node timeout 2000 ms, as the issues use).
pub const CLUSTER_ARGS: [&str; 4] = ["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"];

/// A cluster node of either kind.
pub enum Member {
    /// A real redis-server.
    Redis(RedisServer),
    /// A Tessera node.
    Tessera(TesseraNode),
}

impl Member {
    /// Starts a cluster-enabled node of the given kind with [`CLUSTER_ARGS`] and
    /// `extra`.
    pub fn start(redis: bool, extra: &[&str]) -> Member {
        let args: Vec<&str> = CLUSTER_ARGS.iter().chain(extra).copied().collect();
        if redis {
            Member::Redis(RedisServer::start(&args))
        } else {
            Member::Tessera(TesseraNode::start(&args))
        }
    }

    /// Client port.
    pub fn port(&self) -> u16 {
        match self {
            Member::Redis(r) => r.port,
            Member::Tessera(t) => t.port,
        }
    }

    /// Whether this is a redis-server.
    pub fn is_redis(&self) -> bool {
        matches!(self, Member::Redis(_))
    }

    /// Freezes (SIGSTOP) or resumes (SIGCONT) the process.
    pub fn freeze(&self, frozen: bool) {
        match self {
            Member::Redis(r) => r.freeze(frozen),
            Member::Tessera(t) => t.freeze(frozen),
        }
    }

    /// Kills the process (SIGKILL): no goodbye, no final save.
    pub fn kill(&self) {
        let pid = match self {
            Member::Redis(r) => r.pid(),
            Member::Tessera(t) => t.pid(),
        };
        // SAFETY: kill with a valid pid has no memory effects.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    }

    /// Starts the node again on the same port and directory (after [`Member::kill`] or
    /// to restart it), with the cluster arguments and `extra`.
    pub fn restart(self, extra: &[&str]) -> Member {
        match self {
            Member::Redis(r) => {
                let (dir, port) = r.stop();
                let args: Vec<&str> = CLUSTER_ARGS.iter().chain(extra).copied().collect();
                Member::Redis(RedisServer::start_at(dir, port, &args))
            }
            Member::Tessera(t) => Member::Tessera(t.restart()),
        }
    }
}

/// Starts `n` cluster-enabled Tessera nodes.
pub fn tessera_nodes(n: usize) -> Vec<TesseraNode> {
    (0..n).map(|_| TesseraNode::start(&CLUSTER_ARGS)).collect()
}

/// Runs `redis-cli --cluster <args>`; returns its output, failing the test with it if
/// the tool fails.
pub fn cluster_tool(args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .arg("--cluster")
        .args(args)
        .output()
        .expect("running redis-cli --cluster");
    let report =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "redis-cli --cluster {args:?} failed:\n{report}"
    );
    report
}

/// Runs `redis-cli --cluster create` over `ports`; returns its output, failing the test
/// if it fails.
pub fn create(ports: &[u16], replicas: usize) -> String {
    let addrs: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let replicas = replicas.to_string();
    let mut args = vec!["create"];
    args.extend(addrs.iter().map(String::as_str));
    args.extend(["--cluster-replicas", &replicas, "--cluster-yes"]);
    cluster_tool(&args)
}

/// `redis-cli --cluster reshard` of `slots` slots from node `from` to node `to` (ids),
/// through the node on `entry`.
pub fn reshard(entry: u16, from: &str, to: &str, slots: usize) -> String {
    cluster_tool(&[
        "reshard",
        &format!("127.0.0.1:{entry}"),
        "--cluster-from",
        from,
        "--cluster-to",
        to,
        "--cluster-slots",
        &slots.to_string(),
        "--cluster-yes",
    ])
}

/// Runs `redis-cli --cluster check` against `port`; returns its output.
pub fn check(port: u16) -> String {
    let out = Command::new("redis-cli")
        .args(["--cluster", "check", &format!("127.0.0.1:{port}")])
        .output()
        .expect("running redis-cli --cluster check");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// Asserts a `--cluster check` report is clean: full coverage, agreement, no errors or
/// warnings.
pub fn assert_clean(report: &str) {
    assert!(
        report.contains("[OK] All nodes agree about slots configuration."),
        "{report}"
    );
    assert!(report.contains("[OK] All 16384 slots covered."), "{report}");
    assert!(
        !report.contains("[ERR]") && !report.contains("[WARNING]"),
        "{report}"
    );
}

/// Waits until `--cluster check` from `port` is clean, failing with the last report.
pub fn wait_clean(port: u16) {
    let mut report = String::new();
    let clean = wait_until(Duration::from_secs(30), || {
        report = check(port);
        report.contains("[OK] All nodes agree about slots configuration.")
            && report.contains("[OK] All 16384 slots covered.")
            && !report.contains("[ERR]")
            && !report.contains("[WARNING]")
    });
    if !clean {
        assert_clean(&report);
    }
}

/// How many slots the node `id` serves, in the view of the node on `port`.
pub fn slot_count(port: u16, id: &str) -> usize {
    let line = nodes(port)
        .into_iter()
        .find(|l| l.starts_with(id))
        .expect("the node");
    line.split(' ')
        .skip(8)
        .filter(|t| !t.starts_with('['))
        .map(|t| match t.split_once('-') {
            Some((a, b)) => b.parse::<usize>().unwrap() - a.parse::<usize>().unwrap() + 1,
            None => 1,
        })
        .sum()
}

/// The value of a CLUSTER INFO field.
pub fn info_field(port: u16, name: &str) -> Option<String> {
    let mut c = RawConnection::connect(port).ok()?;
    let info = text(&c.command(&["CLUSTER", "INFO"]).ok()?);
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(|v| v.trim().to_string())
}

/// Waits until every port reports `cluster_state:ok`.
pub fn wait_ok(ports: &[u16], timeout: Duration) -> bool {
    wait_until(timeout, || {
        ports
            .iter()
            .all(|&p| info_field(p, "cluster_state").as_deref() == Some("ok"))
    })
}

/// CLUSTER NODES of a node, one line per node.
pub fn nodes(port: u16) -> Vec<String> {
    RawConnection::connect(port)
        .and_then(|mut c| c.command(&["CLUSTER", "NODES"]))
        .map(|f| text(&f).lines().map(String::from).collect())
        .unwrap_or_default()
}

/// The flags a node shows for the node on `about_port`.
pub fn flags_of(port: u16, about_port: u16) -> Option<String> {
    let marker = format!(":{about_port}@");
    nodes(port)
        .into_iter()
        .find(|l| l.contains(&marker))
        .and_then(|l| l.split_whitespace().nth(2).map(String::from))
}

/// The CLUSTER NODES line a node has about itself.
pub fn myself(port: u16) -> Option<String> {
    nodes(port).into_iter().find(|l| l.contains("myself"))
}

/// True when the node on `port` says it is a master.
pub fn is_master(port: u16) -> bool {
    myself(port).is_some_and(|l| l.contains("master"))
}

/// The node ID of the node on `port`.
pub fn id_of(port: u16) -> Option<String> {
    let mut c = RawConnection::connect(port).ok()?;
    Some(text(&c.command(&["CLUSTER", "MYID"]).ok()?))
}

/// The port of a replica of the master on `master` whose link to it is up, waiting for
/// one for up to 20 s.
pub fn synced_replica(ports: &[u16], master: u16) -> u16 {
    let mut found = None;
    let synced = wait_until(Duration::from_secs(20), || {
        found = replica_of(ports, master);
        found.is_some_and(|r| {
            crate::replication::info(r, "master_link_status").as_deref() == Some("up")
        })
    });
    assert!(synced, "the master on {master} has a replica in sync");
    found.expect("a replica")
}

/// The port, among `ports`, of a replica of the master on `master`.
pub fn replica_of(ports: &[u16], master: u16) -> Option<u16> {
    let id = id_of(master)?;
    ports
        .iter()
        .copied()
        .find(|&p| myself(p).is_some_and(|l| l.split_whitespace().nth(3) == Some(id.as_str())))
}
