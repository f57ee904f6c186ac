//! Directives that keep writes safe, side by side with redis-server 7.0: each scenario
//! runs on both kinds, and every reply is compared, error texts included.
//! - min-replicas-to-write / min-replicas-max-lag: NOREPLICAS until a replica
//!   acknowledges, and again once it is gone;
//! - replica-serve-stale-data no: MASTERDOWN on a replica cut off from its master;
//! - stop-writes-on-bgsave-error: MISCONF after a failed background save;
//! - bind-source-addr: a replica's connection to its master leaves from that address.

use std::time::Duration;
use tessera_tests::replication::info;
use tessera_tests::{RawConnection, RedisServer, TesseraNode, show, text, wait_until};

/// A server of either kind, kept alive for the scenario.
enum Server {
    Tessera(TesseraNode),
    Redis(RedisServer),
}

impl Server {
    fn start(tessera: bool, args: &[&str]) -> Server {
        if tessera {
            Server::Tessera(TesseraNode::start(args))
        } else {
            Server::Redis(RedisServer::start(args))
        }
    }

    fn port(&self) -> u16 {
        match self {
            Server::Tessera(n) => n.port,
            Server::Redis(r) => r.port,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Server::Tessera(_) => "tessera",
            Server::Redis(_) => "redis-server",
        }
    }
}

/// Sends each command and records `command -> reply` lines.
fn replies(port: u16, commands: &[&[&str]]) -> Vec<String> {
    let mut c = RawConnection::connect(port).expect("connect");
    commands
        .iter()
        .map(|cmd| {
            let reply = c.command(cmd).expect("reply");
            format!("{} -> {}", cmd.join(" "), show(&reply))
        })
        .collect()
}

fn reply(port: u16, cmd: &[&str]) -> String {
    replies(port, &[cmd]).remove(0)
}

/// Runs `scenario` on Tessera and on redis-server and asserts the transcripts agree.
fn same_on_both(scenario: impl Fn(bool) -> Vec<String>) {
    let tessera = scenario(true);
    let redis = scenario(false);
    assert_eq!(
        tessera, redis,
        "tessera (left) and redis-server (right) differ"
    );
}

#[test]
fn min_replicas_to_write_refuses_writes_without_good_replicas() {
    same_on_both(|tessera| {
        let master = Server::start(
            tessera,
            &[
                "--min-replicas-to-write",
                "1",
                "--min-replicas-max-lag",
                "2",
            ],
        );
        let port = master.port();
        let mut log = replies(
            port,
            &[
                &["SET", "a", "1"],
                &["GET", "a"],
                &["DEL", "a"],
                &["INCR", "n"],
                &["PING"],
                &["CONFIG", "GET", "min-replicas-to-write"],
            ],
        );
        let replica = Server::start(tessera, &["--replicaof", "127.0.0.1", &port.to_string()]);
        assert!(
            wait_until(Duration::from_secs(20), || reply(port, &["SET", "a", "1"])
                .ends_with("+OK")),
            "{}: writes accepted once a replica acknowledges",
            master.kind()
        );
        log.push(reply(port, &["GET", "a"]));
        drop(replica);
        assert!(
            wait_until(Duration::from_secs(20), || reply(port, &["SET", "a", "2"])
                .contains("NOREPLICAS")),
            "{}: refused again once the replica is gone for longer than the lag",
            master.kind()
        );
        log.extend(replies(
            port,
            &[
                &["SET", "a", "3"],
                &["GET", "a"],
                // Either setting at 0 turns the rule off.
                &["CONFIG", "SET", "min-replicas-max-lag", "0"],
                &["SET", "a", "4"],
                &["CONFIG", "SET", "min-replicas-to-write", "-1"],
            ],
        ));
        log
    });
}

#[test]
fn a_cut_off_replica_refuses_stale_reads_when_told_to() {
    same_on_both(|tessera| {
        // A master that does not exist: the link never comes up.
        let dead = tessera_tests::process::free_port().to_string();
        // Started serving stale data (a start is detected by PING, which MASTERDOWN
        // refuses), then told not to.
        let replica = Server::start(tessera, &["--replicaof", "127.0.0.1", &dead]);
        let port = replica.port();
        let mut log = replies(
            port,
            &[
                &["CONFIG", "SET", "replica-serve-stale-data", "no"],
                &["GET", "a"],
                &["SET", "a", "1"],
                &["PING"],
                &["DBSIZE"],
                &["EXISTS", "a"],
                &["ECHO", "x"],
                &["CONFIG", "GET", "replica-serve-stale-data"],
                &["CONFIG", "SET", "replica-serve-stale-data", "yes"],
                &["GET", "a"],
                &["PING"],
            ],
        );
        // INFO and REPLICAOF are allowed on a cut-off replica.
        let mut c = RawConnection::connect(port).expect("connect");
        c.command(&["CONFIG", "SET", "replica-serve-stale-data", "no"])
            .expect("reply");
        let info = text(&c.command(&["INFO", "replication"]).expect("reply"));
        log.push(format!(
            "INFO replication has role:slave: {}",
            info.contains("role:slave")
        ));
        log.extend(replies(port, &[&["REPLICAOF", "NO", "ONE"], &["GET", "a"]]));
        log
    });
}

#[test]
fn a_failed_background_save_stops_writes_until_told_otherwise() {
    same_on_both(|tessera| {
        let base = tempfile::tempdir().expect("temp dir");
        let dir = base.path().join("data");
        std::fs::create_dir(&dir).expect("data dir");
        let dir_arg = dir.to_str().expect("utf-8").to_string();
        let server = Server::start(tessera, &["--save", "3600 1", "--dir", &dir_arg]);
        let port = server.port();
        let mut log = replies(port, &[&["SET", "a", "1"]]);
        // Nowhere to write the snapshot: the background save fails.
        std::fs::remove_dir_all(&dir).expect("removing the data dir");
        let started = reply(port, &["BGSAVE"]);
        log.push(started);
        assert!(
            wait_until(Duration::from_secs(10), || info(
                port,
                "rdb_last_bgsave_status"
            )
            .as_deref()
                == Some("err")),
            "{}: the background save failed",
            server.kind()
        );
        log.extend(replies(
            port,
            &[
                &["SET", "a", "2"],
                &["PING"],
                &["GET", "a"],
                &["DEL", "a"],
                &["CONFIG", "SET", "stop-writes-on-bgsave-error", "no"],
                &["SET", "a", "3"],
                &["PING"],
                &["CONFIG", "SET", "stop-writes-on-bgsave-error", "yes"],
                &["SET", "a", "4"],
                // Without save points the failed save no longer matters.
                &["CONFIG", "SET", "save", ""],
                &["SET", "a", "5"],
            ],
        ));
        log
    });
}

#[test]
fn replication_leaves_from_bind_source_addr() {
    // Both kinds of master see the Tessera replica's connection come from the address.
    // Protected mode serves 127.0.0.1 only, on both kinds.
    for master_is_tessera in [true, false] {
        let master = Server::start(master_is_tessera, &["--protected-mode", "no"]);
        let _replica = TesseraNode::start(&[
            "--replicaof",
            "127.0.0.1",
            &master.port().to_string(),
            "--bind-source-addr",
            "127.0.0.2",
        ]);
        assert!(
            wait_until(Duration::from_secs(20), || info(master.port(), "slave0")
                .is_some_and(|s| s.contains("ip=127.0.0.2"))),
            "{} master sees the replica at 127.0.0.2: {:?}",
            master.kind(),
            info(master.port(), "slave0")
        );
    }
    let node = TesseraNode::start(&[]);
    assert_eq!(
        reply(node.port, &["CONFIG", "SET", "bind-source-addr", "nowhere"]),
        "CONFIG SET bind-source-addr nowhere -> -ERR CONFIG SET failed (possibly related to \
         argument 'bind-source-addr') - argument must be an IP address",
        "Tessera refuses what it could not honour"
    );
}
