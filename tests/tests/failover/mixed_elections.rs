//! Elections across kinds: a Tessera replica of a redis-server master takes over when
//! that master is killed, and a redis-server replica of a Tessera master takes over when
//! the Tessera master is killed. Each side's votes count for the other.

use std::time::Duration;
use tessera_resp::frame::Frame;
use tessera_tests::cluster::{Member, create, id_of, myself, nodes, wait_ok};
use tessera_tests::replication::info;
use tessera_tests::{RawConnection, wait_until};

/// Writes `count` keys owned by the master on `port`, confirmed by WAIT 1.
fn write_to(port: u16, prefix: &str, count: usize) -> Vec<String> {
    let mut c = RawConnection::connect(port).unwrap();
    let mut written = Vec::new();
    for i in 0.. {
        if written.len() == count {
            break;
        }
        let key = format!("{prefix}{i}");
        if let Frame::Simple(_) = c.command(&["SET", &key, &key]).unwrap() {
            written.push(key);
        }
    }
    assert_eq!(
        c.command(&["WAIT", "1", "5000"]).unwrap(),
        Frame::Integer(1)
    );
    written
}

/// Kills the master `victim`, waits for `heir` to take over with the nodes still alive
/// ok, and checks the keys written to the victim are on the heir. `dead` lists the
/// nodes killed so far, the victim included after this call.
fn fail_over(
    members: &[Member],
    victim: usize,
    heir: usize,
    keys: &[String],
    dead: &mut Vec<usize>,
) {
    let ports: Vec<u16> = members.iter().map(Member::port).collect();
    members[victim].kill();
    dead.push(victim);
    let others: Vec<u16> = (0..ports.len())
        .filter(|i| !dead.contains(i))
        .map(|i| ports[i])
        .collect();
    let took_over = wait_until(Duration::from_secs(30), || {
        myself(ports[heir]).is_some_and(|l| l.contains("master"))
            && wait_ok(&others, Duration::ZERO)
    });
    if !took_over {
        let logs: Vec<String> = members
            .iter()
            .enumerate()
            .filter(|(i, _)| !dead.contains(i))
            .map(|(i, m)| {
                let log = match m {
                    Member::Tessera(t) => t.log(),
                    Member::Redis(r) => r.log(),
                };
                let tail: Vec<&str> = log.lines().rev().take(15).collect();
                format!("node {i}, newest first:\n{}", tail.join("\n"))
            })
            .collect();
        panic!(
            "node {heir} did not take over: {:?}\n{}",
            myself(ports[heir]),
            logs.join("\n")
        );
    }
    let mut c = RawConnection::connect(ports[heir]).unwrap();
    for k in keys {
        assert_eq!(
            c.command(&["GET", k]).unwrap(),
            Frame::Bulk(k.as_bytes().to_vec())
        );
    }
}

#[test]
fn replicas_of_either_kind_win_elections_for_masters_of_the_other() {
    let fast = ["--repl-diskless-sync-delay", "0"];
    // 0 redis master, 1 Tessera master, 2 redis master; 3 Tessera replica of 0,
    // 4 redis replica of 1, 5 Tessera replica of 2.
    let members: Vec<Member> = [true, false, true, false, true, false]
        .iter()
        .map(|&redis| Member::start(redis, if redis { &fast } else { &[] }))
        .collect();
    let ports: Vec<u16> = members.iter().map(Member::port).collect();
    create(&ports[..3], 0);
    for (replica, master) in [(3, 0), (4, 1), (5, 2)] {
        let mut c = RawConnection::connect(ports[replica]).unwrap();
        let first = ports[0].to_string();
        c.command(&["CLUSTER", "MEET", "127.0.0.1", &first])
            .unwrap();
        let master_id = id_of(ports[master]).unwrap();
        assert!(
            wait_until(Duration::from_secs(20), || nodes(ports[replica])
                .iter()
                .any(|l| l.starts_with(&master_id))),
            "replica {replica} learned of its master"
        );
        assert_eq!(
            c.command(&["CLUSTER", "REPLICATE", &master_id]).unwrap(),
            Frame::Simple(b"OK".to_vec())
        );
    }
    assert!(wait_ok(&ports, Duration::from_secs(30)), "cluster ok");
    assert!(
        wait_until(Duration::from_secs(30), || [3, 4, 5].iter().all(|&r| info(
            ports[r],
            "master_link_status"
        )
        .as_deref()
            == Some("up"))),
        "every replica follows its master"
    );

    // The replicas met node 0 only; everyone must know everyone before it dies, or a
    // node that never heard of a replica ignores its FAIL and its vote request.
    let ids: Vec<String> = ports.iter().map(|&p| id_of(p).unwrap()).collect();
    assert!(
        wait_until(Duration::from_secs(30), || ports.iter().all(|&p| {
            let view = nodes(p);
            ids.iter().all(|id| {
                view.iter()
                    .any(|l| l.starts_with(id.as_str()) && !l.contains("handshake"))
            })
        })),
        "every node knows every other"
    );
    let keys0 = write_to(ports[0], "r0-", 50);
    let mut dead = Vec::new();
    fail_over(&members, 0, 3, &keys0, &mut dead);
    // The killed redis-server master is gone; its Tessera heir serves its slots.
    let keys1 = write_to(ports[1], "t1-", 50);
    fail_over(&members, 1, 4, &keys1, &mut dead);
}
