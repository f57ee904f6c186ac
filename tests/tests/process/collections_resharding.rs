//! Collections move between redis-server 7.0 and Tessera masters of one cluster:
//! `redis-cli --cluster reshard` (MIGRATE with DUMP payloads of every encoding, one big
//! collection per type so a payload spans many socket reads) from redis-server to
//! Tessera and back, then `tessera admin move-slots` both ways. Every key keeps its
//! `DEBUG DIGEST-VALUE` and its deadline.

use std::collections::BTreeMap;
use std::time::Duration;
use tessera_keyspace::key_slot;
use tessera_resp::frame::Frame;
use tessera_tests::RawConnection;
use tessera_tests::cluster::{Member, check, create, id_of, reshard, wait_clean, wait_ok};
use tessera_tests::wire::show;

/// The lowest slots, which both tools move first; every test key lives in them.
const MOVED: u16 = 200;
/// Members of each big collection.
const BIG: usize = 20_000;

/// Sends one command, failing the test on an error reply.
fn run(c: &mut RawConnection, args: &[String]) -> Frame {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let reply = c.command(&args).expect("a reply");
    assert!(
        !matches!(reply, Frame::Error(_)),
        "{args:?}: {}",
        show(&reply)
    );
    reply
}

fn owned(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// `n` hash tags whose slots are below [`MOVED`].
fn tags(n: usize) -> Vec<String> {
    (0..)
        .map(|i| format!("t{i}"))
        .filter(|t| key_slot(t.as_bytes()) < MOVED)
        .take(n)
        .collect()
}

/// Writes collections of every type and encoding on `port` (which owns the slots);
/// returns the keys.
fn populate(port: u16) -> Vec<String> {
    let mut c = RawConnection::connect(port).expect("connect");
    let mut keys = Vec::new();
    let mut add = |c: &mut RawConnection, key: String, args: Vec<String>| {
        let mut full = vec![args[0].clone(), key.clone()];
        full.extend(args[1..].iter().cloned());
        run(c, &full);
        keys.push(key);
    };
    let tags = tags(12);
    for (i, t) in tags.iter().enumerate() {
        let n = 3 + i * 20; // small ones and ones past the listpack limits
        let hash = (0..n).flat_map(|j| [format!("f{j}"), format!("v{j}")]);
        add(
            &mut c,
            format!("{{{t}}}:h"),
            [String::from("HSET")].into_iter().chain(hash).collect(),
        );
        let list = (0..n * 3).map(|j| format!("e{j}"));
        add(
            &mut c,
            format!("{{{t}}}:l"),
            [String::from("RPUSH")].into_iter().chain(list).collect(),
        );
        let ints = (0..n * 3).map(|j| (j as i64 * 13 - 40).to_string());
        add(
            &mut c,
            format!("{{{t}}}:si"),
            [String::from("SADD")].into_iter().chain(ints).collect(),
        );
        let strs = (0..n).map(|j| format!("m{j}"));
        add(
            &mut c,
            format!("{{{t}}}:ss"),
            [String::from("SADD")].into_iter().chain(strs).collect(),
        );
        let zs = (0..n).flat_map(|j| [format!("{}", j as f64 / 7.0), format!("z{j}")]);
        add(
            &mut c,
            format!("{{{t}}}:z"),
            [String::from("ZADD")].into_iter().chain(zs).collect(),
        );
        if i % 3 == 0 {
            run(
                &mut c,
                &owned(&["PEXPIRE", &format!("{{{t}}}:h"), "3600000"]),
            );
            run(
                &mut c,
                &owned(&["PEXPIRE", &format!("{{{t}}}:z"), "3600000"]),
            );
        }
    }
    // One big collection per type, written in batches.
    let t = &tags[0];
    for (key, cmd) in [
        ("H", "HSET"),
        ("L", "RPUSH"),
        ("S", "SADD"),
        ("Z", "ZADD"),
        ("I", "SADD"),
    ] {
        let key = format!("{{{t}}}:{key}");
        for chunk in (0..BIG).collect::<Vec<_>>().chunks(2000) {
            let mut args = vec![cmd.to_string(), key.clone()];
            for &j in chunk {
                match cmd {
                    "HSET" => args.extend([
                        format!("field:{j}"),
                        format!("value:{j}:{}", "v".repeat(j % 30)),
                    ]),
                    "ZADD" => args.extend([
                        format!("{}", (j % 1000) as f64 * 0.5),
                        format!("member:{j}"),
                    ]),
                    _ if key.ends_with(":I") => args.push((j * 3).to_string()),
                    _ => args.push(format!("element:{j}:{}", "e".repeat(j % 20))),
                }
            }
            run(&mut c, &args);
        }
        keys.push(key);
    }
    keys
}

/// Each key's `DEBUG DIGEST-VALUE` and `PEXPIRETIME` on `port`.
fn fingerprints(port: u16, keys: &[String]) -> BTreeMap<String, (Frame, i64)> {
    let mut c = RawConnection::connect(port).expect("connect");
    keys.iter()
        .map(|k| {
            let d = run(&mut c, &owned(&["DEBUG", "DIGEST-VALUE", k]));
            let Frame::Integer(t) = run(&mut c, &owned(&["PEXPIRETIME", k])) else {
                panic!("PEXPIRETIME {k}: not an integer")
            };
            (k.clone(), (d, t))
        })
        .collect()
}

/// Asserts the node on `port` holds every key with its original fingerprint.
/// MIGRATE carries the time left, so a deadline may move by the transfer's
/// milliseconds, as between two redis-servers.
fn intact(step: &str, port: u16, keys: &[String], before: &BTreeMap<String, (Frame, i64)>) {
    let after = fingerprints(port, keys);
    let bad: Vec<(&String, i64)> = keys
        .iter()
        .filter(|k| after[*k].0 != before[*k].0 || (after[*k].1 - before[*k].1).abs() > 2000)
        .map(|k| (k, after[k].1 - before[k].1))
        .collect();
    assert!(
        bad.is_empty(),
        "{step}: values or deadlines changed: {bad:?}"
    );
}

#[test]
fn collections_move_between_redis_server_and_tessera() {
    let admin = tessera_tests::process::free_port().to_string();
    let debug = ["--enable-debug-command", "yes"];
    let members = [
        Member::start(true, &debug),
        Member::start(
            false,
            &["--enable-debug-command", "yes", "--admin-port", &admin],
        ),
        Member::start(true, &debug),
    ];
    let ports: Vec<u16> = members.iter().map(Member::port).collect();
    create(&ports, 0);
    assert!(
        wait_ok(&ports, Duration::from_secs(20)),
        "the cluster is ok"
    );
    let keys = populate(ports[0]);
    let before = fingerprints(ports[0], &keys);
    let ids: Vec<String> = ports.iter().map(|&p| id_of(p).expect("id")).collect();

    reshard(ports[0], &ids[0], &ids[1], MOVED as usize);
    intact("reshard redis-server → Tessera", ports[1], &keys, &before);
    reshard(ports[1], &ids[1], &ids[0], MOVED as usize);
    intact("reshard Tessera → redis-server", ports[0], &keys, &before);

    let range = format!("0-{}", MOVED - 1);
    let move_slots = |to: &str| {
        tessera_tests::admin::tessera_ok(&[
            "admin",
            "--admin-port",
            &admin,
            "move-slots",
            "--slots",
            &range,
            "--to",
            to,
        ]);
    };
    move_slots(&ids[1]);
    intact(
        "move-slots redis-server → Tessera",
        ports[1],
        &keys,
        &before,
    );
    move_slots(&ids[0]);
    intact(
        "move-slots Tessera → redis-server",
        ports[0],
        &keys,
        &before,
    );
    wait_clean(ports[2]);
    let report = check(ports[0]);
    assert!(report.contains("slots:[0-5460]"), "{report}");
}
