//! One cluster of real redis-server 7.0 nodes and Tessera nodes: created by one
//! `redis-cli --cluster create`, agreeing on slots, redirecting clients across kinds,
//! and detecting a frozen node of either kind (acceptance 3 of the cluster issue).

use redis::Commands;
use std::time::{Duration, Instant};
use tessera_tests::cluster::{
    Member, assert_clean, check, create, flags_of, info_field, nodes, wait_ok,
};
use tessera_tests::{RawConnection, wait_until};

/// The hostname node `i` announces: `r<i>` for redis-server, `t<i>` for Tessera.
fn hostname(i: usize) -> String {
    format!("{}{i}", if i % 2 == 0 { "r" } else { "t" })
}

fn start(redis: bool, hostname: &str) -> Member {
    Member::start(redis, &["--cluster-announce-hostname", hostname])
}

fn slots_reply(port: u16) -> tessera_resp::frame::Frame {
    RawConnection::connect(port)
        .and_then(|mut c| c.command(&["CLUSTER", "SLOTS"]))
        .expect("CLUSTER SLOTS")
}

/// Freezes `victim`, then waits until nodes of the other kind see it PFAIL (at least
/// one of them, before FAIL reaches it) and FAIL (all of them); resumes it and waits
/// until every node clears the flag and the cluster is ok again.
fn freeze_and_recover(members: &[Member], victim: usize) {
    let ports: Vec<u16> = members.iter().map(Member::port).collect();
    let about = ports[victim];
    let other_kind: Vec<u16> = members
        .iter()
        .filter(|m| m.is_redis() != members[victim].is_redis())
        .map(Member::port)
        .collect();
    let flags = |observer: u16| flags_of(observer, about).unwrap_or_default();
    let has = |f: &str, flag: &str| f.split(',').any(|x| x == flag);

    let frozen_at = Instant::now();
    members[victim].freeze(true);
    let mut pfail_seen = false;
    let failed = wait_until(Duration::from_secs(20), || {
        let seen: Vec<String> = other_kind.iter().map(|&o| flags(o)).collect();
        pfail_seen |= seen.iter().any(|f| has(f, "fail?"));
        seen.iter().all(|f| has(f, "fail"))
    });
    let took = frozen_at.elapsed();
    members[victim].freeze(false);
    assert!(
        failed,
        "nodes of the other kind mark {about} FAIL: {:?}",
        other_kind.iter().map(|&o| flags(o)).collect::<Vec<_>>()
    );
    assert!(pfail_seen, "PFAIL (fail?) was seen before FAIL");
    eprintln!("node {about}: FAIL everywhere {took:?} after SIGSTOP");

    let cleared = wait_until(Duration::from_secs(30), || {
        ports
            .iter()
            .filter(|&&p| p != about)
            .all(|&o| !flags(o).contains("fail"))
    });
    assert!(cleared, "the FAIL flag clears after SIGCONT");
    assert!(wait_ok(&ports, Duration::from_secs(30)), "cluster ok again");
}

#[test]
fn redis_server_and_tessera_masters_share_one_cluster() {
    // Interleaved, so redis-cli gives each kind a share of the slots.
    let members: Vec<Member> = (0..6).map(|i| start(i % 2 == 0, &hostname(i))).collect();
    let ports: Vec<u16> = members.iter().map(Member::port).collect();
    create(&ports, 0);
    assert!(wait_ok(&ports, Duration::from_secs(30)), "cluster ok");

    // Both kinds list every node, connected, with its hostname, and none failing.
    let agreed = wait_until(Duration::from_secs(20), || {
        ports.iter().all(|&p| {
            let view = nodes(p);
            view.len() == 6
                && view.iter().all(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    f.len() >= 8 && f[7] == "connected" && !f[2].contains("fail")
                })
        })
    });
    assert!(
        agreed,
        "{:#?}",
        ports.iter().map(|&p| nodes(p)).collect::<Vec<_>>()
    );
    for (i, &p) in ports.iter().enumerate() {
        for (j, &q) in ports.iter().enumerate() {
            let name = hostname(j);
            let line = nodes(p)
                .into_iter()
                .find(|l| l.contains(&format!(":{q}@")))
                .unwrap();
            assert!(
                line.contains(&format!(",{name} ")),
                "node {i} shows node {j}'s hostname: {line}"
            );
        }
    }

    // CLUSTER SLOTS is identical on every node, and the check is clean from either kind.
    let reference = slots_reply(ports[0]);
    for &p in &ports[1..] {
        assert_eq!(slots_reply(p), reference, "CLUSTER SLOTS of {p}");
    }
    assert_clean(&check(ports[0]));
    assert_clean(&check(ports[1]));

    // Clients are redirected across kinds: every key lands on its owner, whoever it is.
    let urls: Vec<String> = ports
        .iter()
        .map(|p| format!("redis://127.0.0.1:{p}/"))
        .collect();
    let client = redis::cluster::ClusterClient::new(urls).unwrap();
    let mut con = client.get_connection().unwrap();
    for i in 0..600 {
        let _: () = con.set(format!("mixed:{i}"), i).unwrap();
    }
    for i in 0..600 {
        let v: i64 = con.get(format!("mixed:{i}")).unwrap();
        assert_eq!(v, i);
    }
    for &p in &ports {
        let mut c = RawConnection::connect(p).unwrap();
        let n = match c.command(&["DBSIZE"]).unwrap() {
            tessera_resp::frame::Frame::Integer(n) => n,
            other => panic!("{other:?}"),
        };
        assert!(n > 50, "node {p} serves its share of the keys ({n})");
    }
    for (from, to) in [(0, 1), (1, 0)] {
        // A key owned by `to`, asked of `from` (different kinds): redis-cli -c follows.
        let key = (0..10_000)
            .map(|i| format!("probe{i}"))
            .find(|k| {
                let mut c = RawConnection::connect(ports[to]).unwrap();
                c.command(&["GET", k]).unwrap() == tessera_resp::frame::Frame::Null
            })
            .unwrap();
        let out = tessera_tests::redis_cli(ports[from], &["-c", "SET", &key, "across"]);
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "OK");
        let out = tessera_tests::redis_cli(ports[to], &["GET", &key]);
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "across");
    }
    drop(con);

    // redis-server spreads PUBLISH over the bus; Tessera takes the messages.
    let out = tessera_tests::redis_cli(ports[0], &["PUBLISH", "news", "hello"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
    let tessera_ports: Vec<u16> = members
        .iter()
        .filter(|m| !m.is_redis())
        .map(Member::port)
        .collect();
    let delivered = wait_until(Duration::from_secs(10), || {
        tessera_ports.iter().all(|&p| {
            info_field(p, "cluster_stats_messages_publish_received").as_deref() == Some("1")
        })
    });
    assert!(delivered, "every Tessera node received the PUBLISH");

    // A frozen node of each kind goes PFAIL then FAIL in the other kind's view.
    let redis_victim = 2;
    let tessera_victim = 3;
    assert!(members[redis_victim].is_redis() && !members[tessera_victim].is_redis());
    freeze_and_recover(&members, redis_victim);
    freeze_and_recover(&members, tessera_victim);
    assert_clean(&check(ports[1]));
}
