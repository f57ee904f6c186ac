//! Slots move from a redis-server 7.0 master to a Tessera master and back with
//! `redis-cli --cluster reshard`, under client load, with every key intact
//! (acceptance 3 of the resharding issue).

use std::process::Command;
use std::time::Duration;
use tessera_tests::cluster::{Member, assert_clean, check, create, id_of, wait_ok};
use tessera_tests::load::{LiveLoad, LoadState, fill, verify};
use tessera_tests::wait_until;

const DATA_KEYS: usize = 20_000;

fn reshard(entry: u16, from: &str, to: &str, slots: usize) {
    let out = Command::new("redis-cli")
        .args(["--cluster", "reshard", &format!("127.0.0.1:{entry}")])
        .args(["--cluster-from", from, "--cluster-to", to])
        .args(["--cluster-slots", &slots.to_string(), "--cluster-yes"])
        .output()
        .expect("running redis-cli --cluster reshard");
    assert!(
        out.status.success(),
        "reshard failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn settle(ports: &[u16], load: LiveLoad, step: &str) -> LiveLoad {
    let state = load.stop();
    assert!(
        wait_ok(ports, Duration::from_secs(20)),
        "{step}: the cluster is ok"
    );
    let mut report = String::new();
    let clean = wait_until(Duration::from_secs(20), || {
        report = check(ports[0]);
        !report.contains("[ERR]") && !report.contains("[WARNING]")
    });
    if !clean {
        assert_clean(&report);
    }
    let wrong = verify(ports, DATA_KEYS, &state);
    assert!(
        wrong.is_empty(),
        "{step}: {} keys wrong: {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(10)]
    );
    assert!(state.bad_reads.is_empty(), "{step}: {:?}", state.bad_reads);
    assert!(state.errors.is_empty(), "{step}: {:?}", state.errors);
    eprintln!("{step}: ok after {} writes", state.writes);
    LiveLoad::start(ports, state)
}

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
    let load = settle(&ports, load, "redis-server → Tessera");
    // The lowest slots go first, so these are the same 1,500 slots coming home.
    reshard(ports[1], &tessera_id, &redis_id, 1500);
    let state = settle(&ports, load, "Tessera → redis-server").stop();
    assert!(state.writes > 100, "the load kept writing");
    let report = check(ports[1]);
    assert!(report.contains("slots:[0-5460]"), "{report}");
}
