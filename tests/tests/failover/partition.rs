//! A master cut off from the majority by firewall rules, with a client writing to it
//! from its own side: it must stop acknowledging writes before its replica is
//! promoted on the other side (the write lease), no write confirmed by WAIT 1 may be
//! lost, and after the heal the old master follows the new one.
//!
//! Each node owns a loopback address (bind, bind-source-addr, cluster-announce-ip), so
//! iptables rules by address cut exactly the bus and replication links between them;
//! each also listens on 127.0.0.1, where the test's clients reach it uncut.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tessera_tests::cluster::{CLUSTER_ARGS, cluster_tool, id_of, myself, wait_ok};
use tessera_tests::network::Firewall;
use tessera_tests::replication::info;
use tessera_tests::{RawConnection, TesseraNode, show, text, wait_until};

/// The address of node `i`: a test of its own, apart from every other test's.
fn address(i: usize) -> String {
    format!("127.0.0.{}", 21 + i)
}

/// Unix time in ms.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64
}

/// What a writer saw.
#[derive(Default)]
struct Record {
    /// Values of the writes acknowledged (and, for the WAIT writer, confirmed).
    confirmed: Vec<u64>,
    /// When the last write was acknowledged (Unix ms).
    last_ack: u64,
    /// When the first refusal came after the cut (Unix ms).
    first_refusal: Option<u64>,
}

/// What the writers share with the test: when the cut happened, when a write was
/// last refused, and when to stop.
#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    cut_at: AtomicU64,
    last_refusal: AtomicU64,
}

/// Writes `{tag}:prefix:n = n` to the node on `port` (127.0.0.1) until stopped. With
/// `wait`, a write counts only once `WAIT 1 100` says a replica has it.
fn writer(port: u16, key_prefix: String, wait: bool, shared: Arc<Shared>) -> JoinHandle<Record> {
    std::thread::spawn(move || {
        let mut record = Record::default();
        let mut conn: Option<RawConnection> = None;
        let mut n = 0u64;
        while !shared.stop.load(Ordering::Relaxed) {
            n += 1;
            let c = match conn.as_mut() {
                Some(c) => c,
                None => match RawConnection::connect(port) {
                    Ok(c) => conn.insert(c),
                    Err(_) => continue,
                },
            };
            let key = format!("{key_prefix}:{n}");
            let ok = match c.command(&["SET", &key, &n.to_string()]) {
                Ok(reply) => text(&reply) == "OK",
                Err(_) => {
                    conn = None;
                    false
                }
            };
            let at = now_ms();
            if !ok {
                let cut_at = shared.cut_at.load(Ordering::Relaxed);
                if record.first_refusal.is_none() && cut_at != 0 && at > cut_at {
                    record.first_refusal = Some(at);
                }
                shared.last_refusal.fetch_max(at, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(1));
                continue;
            }
            record.last_ack = at;
            if !wait {
                record.confirmed.push(n);
                continue;
            }
            let confirmed = conn
                .as_mut()
                .and_then(|c| c.command(&["WAIT", "1", "100"]).ok())
                .is_some_and(|r| show(&r) == ":1");
            if confirmed {
                record.confirmed.push(n);
            }
        }
        record
    })
}

/// Parses the leading RFC 3339 UTC timestamp of a log line (`2026-11-30T23:29:08.258625Z`)
/// into Unix ms.
fn log_time_ms(line: &str) -> Option<u64> {
    let stamp = line.split_whitespace().next()?.strip_suffix('Z')?;
    let (date, time) = stamp.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let mut t = time.split(':');
    let (h, min) = (
        t.next()?.parse::<u64>().ok()?,
        t.next()?.parse::<u64>().ok()?,
    );
    let secs: f64 = t.next()?.parse().ok()?;
    // Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = (era * 146_097 + doe - 719_468) as u64;
    Some(((days * 86_400 + h * 3600 + min * 60) * 1000) + (secs * 1000.0) as u64)
}

#[test]
fn an_isolated_master_stops_writing_before_its_replica_is_promoted() {
    let firewall = Firewall::new();
    let nodes: Vec<TesseraNode> = (0..6)
        .map(|i| {
            let ip = address(i);
            let bind = format!("127.0.0.1 {ip}");
            let mut args: Vec<&str> = CLUSTER_ARGS.to_vec();
            args.extend([
                "--bind",
                &bind,
                "--bind-source-addr",
                &ip,
                "--cluster-announce-ip",
                &ip,
                // Peers replicate from their own 127.0.0.x, which protected mode
                // counts as remote, as redis-server does.
                "--protected-mode",
                "no",
            ]);
            TesseraNode::start(&args)
        })
        .collect();
    let ports: Vec<u16> = nodes.iter().map(|n| n.port).collect();
    let addrs: Vec<String> = (0..6)
        .map(|i| format!("{}:{}", address(i), ports[i]))
        .collect();
    let mut args = vec!["create"];
    args.extend(addrs.iter().map(String::as_str));
    args.extend(["--cluster-replicas", "1", "--cluster-yes"]);
    cluster_tool(&args);
    assert!(wait_ok(&ports, Duration::from_secs(30)), "cluster ok");

    let m = (0..6)
        .find(|&i| myself(ports[i]).is_some_and(|l| l.contains("master")))
        .expect("a master");
    let m_id = id_of(ports[m]).expect("id");
    let r = (0..6)
        .find(|&i| {
            myself(ports[i]).is_some_and(|l| l.split_whitespace().nth(3) == Some(m_id.as_str()))
        })
        .expect("a replica of it");
    assert!(
        wait_until(Duration::from_secs(30), || info(
            ports[r],
            "master_link_status"
        )
        .as_deref()
            == Some("up")),
        "the replica is linked"
    );
    // A hash tag in the master's slots.
    let line = myself(ports[m]).expect("line");
    let range = line.split_whitespace().nth(8).expect("a slot range");
    let (a, b) = range.split_once('-').unwrap_or((range, range));
    let (a, b) = (
        a.parse::<u16>().expect("slot"),
        b.parse::<u16>().expect("slot"),
    );
    let tag = (0..)
        .map(|n| format!("t{n}"))
        .find(|t| (a..=b).contains(&tessera_keyspace::key_slot(t.as_bytes())))
        .expect("a tag");

    let shared = Arc::new(Shared::default());
    let plain = writer(ports[m], format!("{{{tag}}}:plain"), false, shared.clone());
    let waited = writer(ports[m], format!("{{{tag}}}:wait"), true, shared.clone());
    // Writes flow and replicate before the cut.
    assert!(wait_until(Duration::from_secs(10), || info(
        ports[m],
        "master_repl_offset"
    )
    .and_then(|o| o.parse::<u64>().ok())
    .is_some_and(|o| o > 50_000)));

    let cut_at = now_ms();
    shared.cut_at.store(cut_at, Ordering::Relaxed);
    for i in (0..6).filter(|&i| i != m) {
        firewall.cut(&address(m), &address(i));
    }
    assert!(
        wait_until(Duration::from_secs(30), || myself(ports[r])
            .is_some_and(|l| l.contains("master"))),
        "the replica on the majority side is promoted"
    );
    // A late acknowledgement from the old master would come now: keep writing until
    // it has refused for a whole second after the promotion was seen.
    let seen = now_ms();
    assert!(
        wait_until(Duration::from_secs(10), || shared
            .last_refusal
            .load(Ordering::Relaxed)
            > seen + 1000),
        "the old master keeps refusing writes"
    );
    shared.stop.store(true, Ordering::Relaxed);
    let plain = plain.join().expect("writer");
    let waited = waited.join().expect("writer");
    let promoted_at = nodes[r]
        .log()
        .lines()
        .find(|l| l.contains("failover election won"))
        .and_then(log_time_ms)
        .expect("the winner logged its election");
    let stopped = plain.last_ack.max(waited.last_ack);
    eprintln!(
        "partition at 0 ms: old master's last acknowledged write at {} ms, first refusal at \
         {} ms; promotion at {} ms; margin {} ms",
        stopped as i64 - cut_at as i64,
        plain.first_refusal.map_or(-1, |t| t as i64 - cut_at as i64),
        promoted_at as i64 - cut_at as i64,
        promoted_at as i64 - stopped as i64,
    );
    assert!(
        stopped < promoted_at,
        "the old master acknowledged a write {} ms after its replica was promoted",
        stopped - promoted_at
    );

    firewall.heal();
    let r_id = id_of(ports[r]).expect("id");
    assert!(
        wait_until(Duration::from_secs(30), || myself(ports[m])
            .is_some_and(|l| l.contains("slave") && l.contains(&r_id))),
        "the old master follows the new one: {:?}",
        myself(ports[m])
    );
    assert!(
        wait_ok(&ports, Duration::from_secs(30)),
        "cluster ok after the heal"
    );
    let mut c = RawConnection::connect(ports[r]).expect("new master");
    let lost: Vec<u64> = waited
        .confirmed
        .iter()
        .copied()
        .filter(|n| {
            let key = format!("{{{tag}}}:wait:{n}");
            text(&c.command(&["GET", &key]).expect("GET")) != n.to_string()
        })
        .collect();
    assert!(
        !waited.confirmed.is_empty(),
        "some writes were confirmed by WAIT"
    );
    assert!(lost.is_empty(), "WAIT-confirmed writes lost: {lost:?}");
    drop(firewall);
}
