//! The DEBUG subcommands that act on the cluster bus, run the same way on a pair of
//! redis-server 7.0 nodes and on a pair of Tessera nodes: CLUSTERLINK KILL closes a
//! link (the node opens a new one), DROP-CLUSTER-PACKET-FILTER drops one message type
//! (a MEET dropped leaves the handshake to time out).

use std::time::Duration;
use tessera_tests::cluster::{Member, id_of, nodes};
use tessera_tests::wire::{error, simple};
use tessera_tests::{RawConnection, redis_cli, wait_until};

const DEBUG: [&str; 2] = ["--enable-debug-command", "yes"];

/// The `create-time` of the link `port` has in `direction` ("to" or "from") with the
/// node `id`, from CLUSTER LINKS.
fn link_created(port: u16, direction: &str, id: &str) -> Option<String> {
    // redis-cli lays the reply out one value per line: field name, then value.
    let out = redis_cli(port, &["CLUSTER", "LINKS"]);
    let links = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = links.lines().collect();
    lines
        .split(|l| *l == "direction")
        .skip(1)
        .find(|fields| {
            fields.first() == Some(&direction) && fields.windows(2).any(|w| w == ["node", id])
        })
        .and_then(|fields| {
            fields
                .windows(2)
                .find(|w| w[0] == "create-time")
                .map(|w| w[1].to_string())
        })
}

/// Runs the scenario on a pair of nodes of one kind; returns the error replies seen, to
/// compare between the kinds.
fn scenario(redis: bool) -> Vec<String> {
    let a = Member::start(redis, &DEBUG);
    let b = Member::start(redis, &DEBUG);
    let (pa, pb) = (a.port(), b.port());
    let id_b = id_of(pb).expect("B's id");
    let mut ca = RawConnection::connect(pa).unwrap();
    let mut cb = RawConnection::connect(pb).unwrap();
    let mut errors = Vec::new();

    // A drops MEET: B's handshake with A times out, and A never hears of B.
    assert_eq!(
        ca.command(&["DEBUG", "DROP-CLUSTER-PACKET-FILTER", "2"])
            .unwrap(),
        simple("OK")
    );
    cb.command(&["CLUSTER", "MEET", "127.0.0.1", &pa.to_string()])
        .unwrap();
    let timed_out = wait_until(Duration::from_secs(20), || {
        let listed = nodes(pb);
        listed.len() == 1 && listed[0].contains("myself")
    });
    assert!(timed_out, "redis={redis}: B still lists {:?}", nodes(pb));
    assert_eq!(nodes(pa).len(), 1, "redis={redis}: A heard of B");

    // Without the filter the same MEET joins them.
    ca.command(&["DEBUG", "DROP-CLUSTER-PACKET-FILTER", "-1"])
        .unwrap();
    cb.command(&["CLUSTER", "MEET", "127.0.0.1", &pa.to_string()])
        .unwrap();
    let linked = wait_until(Duration::from_secs(20), || {
        link_created(pa, "to", &id_b).is_some() && link_created(pa, "from", &id_b).is_some()
    });
    assert!(linked, "redis={redis}: A has no links with B");

    // Killing A's link to B: A opens a new one.
    let before = link_created(pa, "to", &id_b);
    assert_eq!(
        ca.command(&["DEBUG", "CLUSTERLINK", "KILL", "to", &id_b])
            .unwrap(),
        simple("OK")
    );
    let renewed = wait_until(Duration::from_secs(20), || {
        link_created(pa, "to", &id_b).is_some_and(|t| Some(&t) != before.as_ref())
    });
    assert!(renewed, "redis={redis}: the link to B was not replaced");
    assert_eq!(
        ca.command(&["DEBUG", "CLUSTERLINK", "KILL", "all", &id_b])
            .unwrap(),
        simple("OK")
    );
    let unknown = "0123456789012345678901234567890123456789";
    for args in [
        &["DEBUG", "CLUSTERLINK", "KILL", "to", unknown][..],
        &["DEBUG", "CLUSTERLINK", "KILL", "all", "abc"],
        &["DEBUG", "CLUSTERLINK", "KILL"],
        &["DEBUG", "DROP-CLUSTER-PACKET-FILTER", "x"],
    ] {
        errors.push(tessera_tests::show(&ca.command(args).unwrap()));
    }
    errors
}

#[test]
fn bus_debug_subcommands_act_as_in_redis() {
    let redis = scenario(true);
    let tessera = scenario(false);
    assert_eq!(tessera, redis);
    assert_eq!(
        redis[0],
        tessera_tests::show(&error(
            "ERR Unknown node 0123456789012345678901234567890123456789"
        ))
    );
}

#[test]
fn clusterlink_needs_cluster_mode() {
    let redis = tessera_tests::RedisServer::start(&DEBUG);
    let node = tessera_tests::TesseraNode::start(&DEBUG);
    let args = ["DEBUG", "CLUSTERLINK", "KILL", "all", "abc"];
    let want = error("ERR Debug option only available for cluster mode enabled setup!");
    for port in [redis.port, node.port] {
        let mut c = RawConnection::connect(port).unwrap();
        assert_eq!(c.command(&args).unwrap(), want);
    }
}
