//! Slots move from a redis-server 7.0 master to a Tessera master and back with
//! `redis-cli --cluster reshard`, under client load, with every key intact
//! (acceptance 3 of the resharding issue), and with `tessera admin move-slots`,
//! including moves that empty a master of either kind.

use std::time::Duration;
use tessera_tests::cluster::{Member, check, create, id_of, myself, reshard, wait_ok};
use tessera_tests::load::{LiveLoad, LoadState, checkpoint, fill};
use tessera_tests::wait_until;

const DATA_KEYS: usize = 20_000;

#[test]
fn slots_move_from_redis_to_tessera_and_back() {
    let members: Vec<Member> = [true, false, true]
        .iter()
        .map(|&r| Member::start(r, &[]))
        .collect();
    let ports: Vec<u16> = members.iter().map(Member::port).collect();
    create(&ports, 0);
    assert!(
        wait_ok(&ports, Duration::from_secs(20)),
        "the cluster is ok"
    );
    fill(&ports, DATA_KEYS);
    let redis_id = id_of(ports[0]).unwrap();
    let tessera_id = id_of(ports[1]).unwrap();

    let load = LiveLoad::start(&ports, LoadState::default());
    reshard(ports[0], &redis_id, &tessera_id, 1500);
    let load = checkpoint("redis-server → Tessera", &ports, DATA_KEYS, load);
    // The lowest slots go first, so these are the same 1,500 slots coming home.
    reshard(ports[1], &tessera_id, &redis_id, 1500);
    let state = checkpoint("Tessera → redis-server", &ports, DATA_KEYS, load).stop();
    assert!(state.writes > 100, "the load kept writing");
    let report = check(ports[1]);
    assert!(report.contains("slots:[0-5460]"), "{report}");
}

/// The admin plane of a Tessera node moves slots between redis-server masters and
/// itself: redis-server takes the batched SETSLOTs in MULTI/EXEC and the MIGRATEs on
/// parallel connections, and nothing is lost under load. This is how a live Redis
/// Cluster moves onto Tessera.
#[test]
fn move_slots_through_tessera_between_redis_server_and_tessera() {
    let admin_port = tessera_tests::process::free_port();
    let admin_arg = admin_port.to_string();
    let with_admin = ["--admin-port", admin_arg.as_str()];
    let members: Vec<Member> = [true, false, true]
        .iter()
        .map(|&r| Member::start(r, if r { &[] } else { &with_admin }))
        .collect();
    let ports: Vec<u16> = members.iter().map(Member::port).collect();
    create(&ports, 0);
    assert!(
        wait_ok(&ports, Duration::from_secs(20)),
        "the cluster is ok"
    );
    fill(&ports, DATA_KEYS);
    let ids: Vec<String> = ports.iter().map(|&p| id_of(p).unwrap()).collect();
    let move_slots = |slots: &str, to: &str| {
        tessera_tests::admin::tessera_ok(&[
            "admin",
            "--admin-port",
            &admin_arg,
            "move-slots",
            "--slots",
            slots,
            "--to",
            to,
        ]);
    };

    let load = LiveLoad::start(&ports, LoadState::default());
    move_slots("0-1499", &ids[1]);
    let load = checkpoint(
        "redis-server → Tessera by move-slots",
        &ports,
        DATA_KEYS,
        load,
    );
    // Between two redis-servers, with Tessera only orchestrating.
    move_slots("10923-11999", &ids[0]);
    let load = checkpoint(
        "redis-server → redis-server by move-slots",
        &ports,
        DATA_KEYS,
        load,
    );
    move_slots("0-1499", &ids[0]);
    let state = checkpoint(
        "Tessera → redis-server by move-slots",
        &ports,
        DATA_KEYS,
        load,
    )
    .stop();
    assert!(state.writes > 100, "the load kept writing");
    let report = check(ports[2]);
    assert!(report.contains("slots:[0-5460],[10923-11999]"), "{report}");
}

/// `tessera admin --admin-port <admin> move-slots --slots <slots> --to <to> --json`
/// (the global flag after the command, as people type it), which must succeed in
/// this one run; its last progress line.
fn move_slots_once(admin: &str, slots: &str, to: &str) -> serde_json::Value {
    let out = tessera_tests::admin::tessera_ok(&[
        "admin",
        "--admin-port",
        admin,
        "move-slots",
        "--slots",
        slots,
        "--to",
        to,
        "--json",
    ]);
    let last = out.lines().last().expect("progress lines");
    serde_json::from_str(last).expect("a JSON progress line")
}

/// Waits until the node on `port` says it is a replica of `master`.
fn wait_replica_of(port: u16, master: &str) -> bool {
    wait_until(Duration::from_secs(20), || {
        myself(port).is_some_and(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f[2].contains("slave") && f[3] == master
        })
    })
}

/// Emptying a master: when its last slot goes, the source (redis-server 7.0 or
/// Tessera, cluster-allow-replica-migration) turns itself into a replica of the new
/// owner and refuses the closing `SETSLOT ... NODE`. The move still finishes in one
/// run with nothing left open, under live writes. First a redis-server source moves
/// onto a Tessera master through the target's admin plane, then a Tessera source
/// through its own admin plane (the node running the move is the one demoted).
#[test]
fn emptying_a_master_with_move_slots_finishes_in_one_run() {
    let admin: Vec<String> = (0..2)
        .map(|_| tessera_tests::process::free_port().to_string())
        .collect();
    let members = [
        Member::start(true, &[]),
        Member::start(false, &["--admin-port", &admin[0]]),
        Member::start(false, &["--admin-port", &admin[1]]),
    ];
    let ports: Vec<u16> = members.iter().map(Member::port).collect();
    create(&ports, 0);
    assert!(
        wait_ok(&ports, Duration::from_secs(20)),
        "the cluster is ok"
    );
    fill(&ports, DATA_KEYS);
    let ids: Vec<String> = ports.iter().map(|&p| id_of(p).unwrap()).collect();

    // Empties the master on `source` by a move run through `admin`, checking the move
    // finished in one run, the source follows the target, and every write survived.
    let empty = |admin: &str, slots: &str, source: u16, step: &str, load: LiveLoad| {
        let last = move_slots_once(admin, slots, &ids[1]);
        assert_eq!(last["finished"], true, "{step}: {last}");
        assert_eq!(last["slots_done"], 5461, "{step}: {last}");
        assert!(
            wait_replica_of(source, &ids[1]),
            "{step}: the emptied master follows the target: {:?}",
            myself(source)
        );
        checkpoint(step, &ports, DATA_KEYS, load)
    };
    let load = LiveLoad::start(&ports, LoadState::default());
    let load = empty(
        &admin[0],
        "0-5460",
        ports[0],
        "redis-server master emptied onto Tessera",
        load,
    );
    let state = empty(
        &admin[1],
        "10923-16383",
        ports[2],
        "Tessera master emptied onto Tessera",
        load,
    )
    .stop();
    assert!(state.writes > 100, "the load kept writing");
    let report = check(ports[0]);
    assert!(report.contains("slots:[0-16383]"), "{report}");
    assert!(report.contains("2 additional replica(s)"), "{report}");
}
