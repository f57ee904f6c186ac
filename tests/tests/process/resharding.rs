//! Live resharding with the standard tools (acceptance 1 and 2 of the resharding
//! issue): `redis-cli --cluster reshard`, `rebalance`, `add-node`, `del-node` and `fix`
//! on Tessera masters while a cluster client writes and reads the whole time.

use std::time::Duration;
use tessera_tests::cluster::{
    CLUSTER_ARGS, check, cluster_tool, create, id_of, is_master, reshard, slot_count,
    synced_replica, tessera_nodes, wait_clean, wait_ok,
};
use tessera_tests::load::{LiveLoad, LoadState, fill, verify};
use tessera_tests::replication::info;
use tessera_tests::{RawConnection, TesseraNode, text, wait_until};

const DATA_KEYS: usize = 50_000;

/// A hash tag whose keys all hash to `slot`.
fn tag_in_slot(slot: u16) -> String {
    (0..)
        .map(|i| format!("t{i}"))
        .find(|t| tessera_keyspace::key_slot(t.as_bytes()) == slot)
        .expect("some tag hashes to every slot")
}

/// [`checkpoint`] for this file's data set.
fn checkpoint(step: &str, ports: &[u16], load: LiveLoad) -> LiveLoad {
    tessera_tests::load::checkpoint(step, ports, DATA_KEYS, load)
}

#[test]
fn reshard_rebalance_add_and_delete_masters_under_load() {
    let nodes = tessera_nodes(3);
    let mut ports: Vec<u16> = nodes.iter().map(|n| n.port).collect();
    create(&ports, 0);
    assert!(
        wait_ok(&ports, Duration::from_secs(20)),
        "the cluster is ok"
    );
    wait_clean(ports[0]);
    fill(&ports, DATA_KEYS);
    let entry = format!("127.0.0.1:{}", ports[0]);
    let ids: Vec<String> = ports.iter().map(|&p| id_of(p).unwrap()).collect();

    let load = LiveLoad::start(&ports, LoadState::default());
    reshard(ports[0], &ids[0], &ids[1], 4000);
    assert_eq!(slot_count(ports[1], &ids[1]), 5462 + 4000);
    let load = checkpoint("reshard of 4000 slots", &ports, load);

    cluster_tool(&["rebalance", &entry]);
    let load = checkpoint("rebalance", &ports, load);
    for (p, id) in ports.iter().zip(&ids) {
        let n = slot_count(*p, id);
        assert!(
            (5300..=5500).contains(&n),
            "{id} holds {n} slots after rebalance"
        );
    }

    let newcomer = TesseraNode::start(&CLUSTER_ARGS);
    cluster_tool(&["add-node", &format!("127.0.0.1:{}", newcomer.port), &entry]);
    ports.push(newcomer.port);
    let new_id = id_of(newcomer.port).unwrap();
    wait_until(Duration::from_secs(20), || {
        ports.iter().all(|&p| {
            RawConnection::connect(p)
                .and_then(|mut c| c.command(&["CLUSTER", "NODES"]))
                .is_ok_and(|n| text(&n).contains(&new_id))
        })
    });
    let load = checkpoint("add-node", &ports, load);
    cluster_tool(&["rebalance", &entry, "--cluster-use-empty-masters"]);
    let load = checkpoint("rebalance onto the new master", &ports, load);
    let n = slot_count(ports[0], &new_id);
    assert!((4000..=4200).contains(&n), "the new master holds {n} slots");

    // Empty the third master into the second, then delete it.
    let leaving = ids[2].clone();
    reshard(ports[0], &leaving, &ids[1], slot_count(ports[0], &leaving));
    assert_eq!(slot_count(ports[0], &leaving), 0);
    // Emptied, it became a replica of the receiver (cluster-allow-replica-migration),
    // as a redis-server would. Its full sync answers LOADING for a moment; redis-server
    // delays that sync by repl-diskless-sync-delay (5 s), so a tool rarely meets it
    // there. Wait it out, as a person typing the next command would.
    let synced = wait_until(Duration::from_secs(20), || {
        info(ports[2], "master_link_status").as_deref() == Some("up")
    });
    assert!(synced, "the emptied master follows the receiver");
    cluster_tool(&["del-node", &entry, &leaving]);
    // The operator stops the node it removed: a client whose map still names it then
    // asks the others instead of a node that knows no slots.
    nodes[2].signal(libc::SIGKILL);
    ports.remove(2);
    let load = checkpoint("del-node", &ports, load);
    let state = load.stop();
    let mut c = RawConnection::connect(ports[0]).unwrap();
    let view = text(&c.command(&["CLUSTER", "NODES"]).unwrap());
    assert!(!view.contains(&leaving), "{view}");
    assert!(
        state.writes > 1000,
        "the load kept writing: {}",
        state.writes
    );
    drop(nodes);
}

#[test]
fn fix_repairs_a_half_migrated_slot() {
    let nodes = tessera_nodes(3);
    let ports: Vec<u16> = nodes.iter().map(|n| n.port).collect();
    create(&ports, 0);
    assert!(
        wait_ok(&ports, Duration::from_secs(20)),
        "the cluster is ok"
    );
    wait_clean(ports[0]);
    let ids: Vec<String> = ports.iter().map(|&p| id_of(p).unwrap()).collect();
    // Slot 100 belongs to the first master. Leave it half moved to the second: keys
    // on both sides, IMPORTING there, MIGRATING here.
    let tag = tag_in_slot(100);
    let mut source = RawConnection::connect(ports[0]).unwrap();
    let mut target = RawConnection::connect(ports[1]).unwrap();
    for i in 0..20 {
        source
            .command(&["SET", &format!("{{{tag}}}:{i}"), &i.to_string()])
            .unwrap();
    }
    let ok = |f: tessera_resp::frame::Frame| assert_eq!(text(&f), "OK");
    ok(target
        .command(&["CLUSTER", "SETSLOT", "100", "IMPORTING", &ids[0]])
        .unwrap());
    ok(source
        .command(&["CLUSTER", "SETSLOT", "100", "MIGRATING", &ids[1]])
        .unwrap());
    let port = ports[1].to_string();
    let moved = source
        .command(&[
            "MIGRATE",
            "127.0.0.1",
            &port,
            "",
            "0",
            "5000",
            "KEYS",
            &format!("{{{tag}}}:0"),
            &format!("{{{tag}}}:1"),
        ])
        .unwrap();
    assert_eq!(text(&moved), "OK");
    // While the slot is open: the source sends clients of moved keys on with ASK,
    // refuses a multi-key command split between the nodes, and the target serves a
    // key only to a client that said ASKING, for one command.
    let (k0, k5) = (format!("{{{tag}}}:0"), format!("{{{tag}}}:5"));
    let ask = format!("ASK 100 127.0.0.1:{}", ports[1]);
    let error = |f: tessera_resp::frame::Frame| match f {
        tessera_resp::frame::Frame::Error(e) => String::from_utf8(e).unwrap(),
        other => panic!("expected an error, got {other:?}"),
    };
    assert_eq!(error(source.command(&["GET", &k0]).unwrap()), ask);
    assert_eq!(text(&source.command(&["GET", &k5]).unwrap()), "5");
    assert_eq!(
        error(source.command(&["MGET", &k0, &k5]).unwrap()),
        "TRYAGAIN Multiple keys request during rehashing of slot"
    );
    let moved_error = format!("MOVED 100 127.0.0.1:{}", ports[0]);
    assert_eq!(error(target.command(&["GET", &k0]).unwrap()), moved_error);
    ok(target.command(&["ASKING"]).unwrap());
    assert_eq!(text(&target.command(&["GET", &k0]).unwrap()), "0");
    assert_eq!(error(target.command(&["GET", &k0]).unwrap()), moved_error);
    ok(target.command(&["ASKING"]).unwrap());
    assert_eq!(
        error(target.command(&["MGET", &k0, &k5]).unwrap()),
        "TRYAGAIN Multiple keys request during rehashing of slot"
    );
    let report = check(ports[0]);
    assert!(
        report.contains("[WARNING]"),
        "check sees the open slot:\n{report}"
    );

    cluster_tool(&["fix", &format!("127.0.0.1:{}", ports[0])]);
    wait_clean(ports[0]);
    let mut con = tessera_tests::load::cluster_connection(&ports);
    for i in 0..20 {
        let v: Option<String> = redis::cmd("GET")
            .arg(format!("{{{tag}}}:{i}"))
            .query(&mut con)
            .unwrap();
        assert_eq!(v, Some(i.to_string()));
    }
    drop(nodes);
}

#[test]
fn replicas_follow_a_reshard() {
    let nodes = tessera_nodes(6);
    let ports: Vec<u16> = nodes.iter().map(|n| n.port).collect();
    create(&ports, 1);
    assert!(
        wait_ok(&ports, Duration::from_secs(20)),
        "the cluster is ok"
    );
    let masters: Vec<u16> = ports.iter().copied().filter(|&p| is_master(p)).collect();
    let (source, target) = (masters[0], masters[1]);
    let (source_replica, target_replica) = (
        synced_replica(&ports, source),
        synced_replica(&ports, target),
    );
    fill(&ports, 5000);
    let slots_of = |port: u16| slot_count(port, &id_of(port).unwrap());
    let (source_id, target_id) = (id_of(source).unwrap(), id_of(target).unwrap());
    reshard(source, &source_id, &target_id, slots_of(source) / 2);
    let dbsize = |port: u16| {
        RawConnection::connect(port)
            .and_then(|mut c| c.command(&["DBSIZE"]))
            .map(|f| tessera_tests::show(&f))
            .unwrap_or_default()
    };
    // Each replica holds what its master holds, and sees the new owners.
    for (master, replica) in [(source, source_replica), (target, target_replica)] {
        let same = wait_until(Duration::from_secs(20), || {
            dbsize(master) == dbsize(replica)
        });
        assert!(
            same,
            "replica {replica} holds {} keys, its master {}",
            dbsize(replica),
            dbsize(master)
        );
        let view = wait_until(Duration::from_secs(20), || {
            slot_count(replica, &id_of(target).unwrap()) == slots_of(target)
        });
        assert!(view, "replica {replica} sees the target's new slots");
    }
    wait_clean(ports[0]);
    let wrong = verify(&ports, 5000, &LoadState::default());
    assert!(wrong.is_empty(), "{wrong:?}");
    drop(nodes);
}

/// The checks and texts of CLUSTER SETSLOT that redis-cli relies on, compared with a
/// redis-server 7.0 in the same position: a one-node cluster owning every slot.
#[test]
fn setslot_checks_answer_like_redis() {
    use tessera_tests::cluster::Member;
    let answers: Vec<Vec<String>> = [true, false]
        .into_iter()
        .map(|redis| {
            let node = Member::start(redis, &[]);
            let mut c = RawConnection::connect(node.port()).unwrap();
            c.command(&["CLUSTER", "ADDSLOTSRANGE", "0", "16383"])
                .unwrap();
            c.command(&["CLUSTER", "DELSLOTS", "200"]).unwrap();
            let me = id_of(node.port()).unwrap();
            let stranger = "0123456789012345678901234567890123456789";
            let script: Vec<Vec<&str>> = vec![
                vec!["100", "MIGRATING", stranger],
                vec!["100", "IMPORTING", &me],
                vec!["200", "MIGRATING", &me],
                vec!["200", "IMPORTING", stranger],
                vec!["99999", "STABLE"],
                vec!["-1", "STABLE"],
                vec!["100", "BOGUS"],
                vec!["100", "STABLE", "extra"],
                vec!["100", "NODE"],
                vec!["100", "NODE", stranger],
                vec!["200", "IMPORTING", &me],
                vec!["100", "MIGRATING", &me],
                vec!["100", "STABLE"],
                vec!["200", "NODE", &me],
            ];
            let replies = script
                .iter()
                .map(|args| {
                    let mut full = vec!["CLUSTER", "SETSLOT"];
                    full.extend(args);
                    let reply = tessera_tests::show(&c.command(&full).unwrap());
                    reply.replace(&me, "<myself>")
                })
                .collect();
            drop(node);
            replies
        })
        .collect();
    assert_eq!(answers[1], answers[0]);
}

/// A master that loses a slot it still held keys for (here, taken by force with
/// SETSLOT NODE on another master) deletes them, spoiling their WATCHes, and its
/// replica deletes them too. CLUSTER RESET then makes that replica an empty master.
#[test]
fn keys_of_a_lost_slot_leave_the_replicas_too() {
    let nodes = tessera_nodes(6);
    let ports: Vec<u16> = nodes.iter().map(|n| n.port).collect();
    create(&ports, 1);
    assert!(
        wait_ok(&ports, Duration::from_secs(20)),
        "the cluster is ok"
    );
    let masters: Vec<u16> = ports.iter().copied().filter(|&p| is_master(p)).collect();
    let (loser, taker) = (masters[0], masters[1]);
    let replica = synced_replica(&ports, loser);
    let slot = 100u16;
    let tag = tag_in_slot(slot);
    let mut c = RawConnection::connect(loser).unwrap();
    for i in 0..20 {
        c.command(&["SET", &format!("{{{tag}}}:{i}"), "v"]).unwrap();
    }
    let count = |port: u16| {
        RawConnection::connect(port)
            .and_then(|mut c| c.command(&["CLUSTER", "COUNTKEYSINSLOT", &slot.to_string()]))
            .map(|f| tessera_tests::show(&f))
            .unwrap_or_default()
    };
    assert!(wait_until(Duration::from_secs(10), || count(replica) == count(loser)));
    // A transaction watching one of the keys fails once they are gone, as after any
    // deletion (Redis 7.0's delKeysInSlot signals each key).
    let mut watcher = RawConnection::connect(loser).unwrap();
    let watched = format!("{{{tag}}}:0");
    for args in [&["WATCH", watched.as_str()][..], &["MULTI"], &["PING"]] {
        watcher.command(args).unwrap();
    }
    let mut t = RawConnection::connect(taker).unwrap();
    let (loser_id, taker_id) = (id_of(loser).unwrap(), id_of(taker).unwrap());
    t.command(&[
        "CLUSTER",
        "SETSLOT",
        &slot.to_string(),
        "IMPORTING",
        &loser_id,
    ])
    .unwrap();
    t.command(&["CLUSTER", "SETSLOT", &slot.to_string(), "NODE", &taker_id])
        .unwrap();
    let zero = tessera_tests::show(&tessera_resp::frame::Frame::Integer(0));
    assert!(
        wait_until(Duration::from_secs(10), || count(loser) == zero),
        "the loser dropped the slot's keys"
    );
    assert!(
        wait_until(Duration::from_secs(10), || count(replica) == zero),
        "its replica dropped them too: {}",
        count(replica)
    );
    let exec = watcher.command(&["EXEC"]).unwrap();
    assert_eq!(
        tessera_tests::show(&exec),
        tessera_tests::show(&tessera_resp::frame::Frame::Null),
        "the watched key's deletion spoiled the transaction"
    );
    // CLUSTER RESET turns a replica into an empty master that no longer follows.
    let mut r = RawConnection::connect(replica).unwrap();
    let kept = format!("{{{}}}:kept", tag_in_slot(slot + 1));
    c.command(&["SET", &kept, "v"]).unwrap();
    let one = tessera_tests::show(&tessera_resp::frame::Frame::Integer(1));
    assert!(
        wait_until(Duration::from_secs(10), || {
            tessera_tests::show(&r.command(&["DBSIZE"]).unwrap()) == one
        }),
        "the replica got the key of another slot"
    );
    assert_eq!(
        tessera_tests::show(&r.command(&["CLUSTER", "RESET"]).unwrap()),
        tessera_tests::show(&tessera_resp::frame::Frame::Simple(b"OK".to_vec()))
    );
    let role_and_keys = |c: &mut RawConnection| {
        let info = tessera_tests::text(&c.command(&["INFO", "replication"]).unwrap());
        let keys = tessera_tests::show(&c.command(&["DBSIZE"]).unwrap());
        (info.contains("role:master"), keys)
    };
    assert!(
        wait_until(Duration::from_secs(10), || role_and_keys(&mut r)
            == (true, zero.clone())),
        "the reset replica: {:?}",
        role_and_keys(&mut r)
    );
    drop(nodes);
}
