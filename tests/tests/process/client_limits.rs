//! Limits on what clients hold, each scenario run on redis-server and on Tessera with
//! the same assertions: client-output-buffer-limit's normal and replica classes (a
//! client that stops reading is closed at its hard limit, or once over its soft limit
//! for longer than its seconds; a replica that stops reading is dropped) and
//! maxmemory-clients (the biggest clients are closed, NO-EVICT ones spared); the other
//! clients are served.

use std::time::{Duration, Instant};
use tessera_resp::frame::Frame;
use tessera_tests::wire::{RawConnection, text};
use tessera_tests::{RedisServer, TesseraNode, wait_until};

/// One field of INFO, as a number (asked on a connection of its own, which
/// connected_clients counts).
fn info_number(port: u16, field: &str) -> i64 {
    let mut c = RawConnection::connect(port).expect("connect");
    let info = text(&c.command(&["INFO", "everything"]).expect("INFO"));
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in INFO"))
}

/// `count` requests in one write, none of whose replies is ever read.
fn pipeline(count: usize, args: &[&str]) -> Vec<u8> {
    Frame::command(args.iter().map(|a| a.as_bytes())).repeat(count)
}

/// Each scenario against redis-server and then Tessera.
fn on_both(extra: &[&str], scenario: impl Fn(&str, u16)) {
    let redis = RedisServer::start(extra);
    scenario("redis-server", redis.port);
    let tessera = TesseraNode::start(extra);
    scenario("tessera", tessera.port);
}

/// A client holding a 100 kB key that another client reads without reading replies.
fn setup_big_key(port: u16) -> RawConnection {
    let mut admin = RawConnection::connect(port).expect("connect");
    let value = "v".repeat(100_000);
    assert_eq!(
        admin.command(&["SET", "big", &value]).expect("SET"),
        Frame::Simple("OK".into())
    );
    admin
}

#[test]
fn a_client_that_stops_reading_is_closed_at_the_normal_hard_limit() {
    on_both(
        &["--client-output-buffer-limit", "normal 1mb 0 0"],
        |server, port| {
            let mut admin = setup_big_key(port);
            let mut reader = RawConnection::connect(port).expect("connect");
            reader.send(&pipeline(200, &["GET", "big"])).expect("send");
            assert!(
                wait_until(Duration::from_secs(10), || info_number(
                    port,
                    "connected_clients"
                ) == 2),
                "{server}: the client that does not read is still connected"
            );
            // What it was sent before the cut is readable, then the connection ends,
            // well short of the 20 MB it asked for.
            let got = reader
                .read_until_closed(Duration::from_secs(10))
                .expect("the connection ends");
            assert!(got.len() < 20_000_000, "{server}: every reply came");
            assert_eq!(
                admin.command(&["PING"]).expect("PING"),
                Frame::Simple("PONG".into()),
                "{server}"
            );
        },
    );
}

#[test]
fn a_client_over_the_normal_soft_limit_for_its_seconds_is_closed() {
    on_both(&[], |server, port| {
        let mut admin = setup_big_key(port);
        assert_eq!(
            admin
                .command(&[
                    "CONFIG",
                    "SET",
                    "client-output-buffer-limit",
                    "normal 0 1mb 1"
                ])
                .expect("CONFIG SET"),
            Frame::Simple("OK".into())
        );
        let value = "normal 0 1048576 1 slave 268435456 67108864 60 pubsub 33554432 8388608 60";
        assert_eq!(
            admin
                .command(&["CONFIG", "GET", "client-output-buffer-limit"])
                .expect("CONFIG GET"),
            Frame::Array(vec![
                Frame::Bulk(b"client-output-buffer-limit".to_vec()),
                Frame::Bulk(value.as_bytes().to_vec())
            ])
        );
        let mut reader = RawConnection::connect(port).expect("connect");
        reader.send(&pipeline(100, &["GET", "big"])).expect("send");
        // It keeps asking, never reading, until it is cut off (Redis checks the soft
        // limit as output is added, so the asking goes on).
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut closed = false;
        while Instant::now() < deadline {
            if info_number(port, "connected_clients") == 2 {
                closed = true;
                break;
            }
            if reader.send(&pipeline(1, &["GET", "big"])).is_err() {
                closed = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(
            closed,
            "{server}: still connected after 15 s over the soft limit"
        );
        assert!(
            wait_until(Duration::from_secs(5), || info_number(
                port,
                "connected_clients"
            ) == 2),
            "{server}"
        );
    });
}

#[test]
fn a_replica_that_stops_reading_is_dropped_at_the_replica_limit() {
    on_both(
        &[
            "--client-output-buffer-limit",
            "replica 1mb 0 0",
            "--repl-diskless-sync",
            "no",
        ],
        |server, port| {
            let mut replica = RawConnection::connect(port).expect("connect");
            // One at a time: Redis refuses a PSYNC while the REPLCONF's reply is unsent.
            assert_eq!(
                replica
                    .command(&["REPLCONF", "listening-port", "1"])
                    .expect("REPLCONF"),
                Frame::Simple("OK".into())
            );
            replica.send(b"PSYNC ? -1\r\n").expect("send PSYNC");
            assert!(
                wait_until(Duration::from_secs(10), || info_number(
                    port,
                    "connected_slaves"
                ) == 1),
                "{server}: the replica did not attach"
            );
            let mut writer = RawConnection::connect(port).expect("connect");
            let value = "w".repeat(100_000);
            // 40 MB of writes: past the socket buffers, then past the 1 MB limit.
            for round in 0..40 {
                let key = format!("k{round}");
                writer
                    .send(&pipeline(10, &["SET", &key, &value]))
                    .expect("send");
                for _ in 0..10 {
                    writer.read_frame().expect("SET reply");
                }
            }
            assert!(
                wait_until(Duration::from_secs(10), || info_number(
                    port,
                    "connected_slaves"
                ) == 0),
                "{server}: the replica that does not read is still attached"
            );
            assert!(
                replica.read_until_closed(Duration::from_secs(10)).is_ok(),
                "{server}: the replica's connection stays open"
            );
        },
    );
}

#[test]
fn maxmemory_clients_closes_the_biggest_client() {
    on_both(&[], |server, port| {
        let mut admin = RawConnection::connect(port).expect("connect");
        for (args, expected) in [
            (
                &["CLIENT", "NO-EVICT", "ON"][..],
                Frame::Simple("OK".into()),
            ),
            (
                &["CONFIG", "SET", "maxmemory-clients", "1mb"][..],
                Frame::Simple("OK".into()),
            ),
            (
                &["CLIENT", "NO-EVICT", "maybe"][..],
                Frame::Error("ERR syntax error".into()),
            ),
        ] {
            assert_eq!(
                admin.command(args).expect("reply"),
                expected,
                "{server}: {args:?}"
            );
        }
        let flags = text(&admin.command(&["CLIENT", "INFO"]).expect("CLIENT INFO"));
        assert!(flags.contains(" flags=e "), "{server}: {flags}");
        // Half of a 3 MB argument: a query buffer well past the limit.
        let mut big = RawConnection::connect(port).expect("connect");
        let mut partial = b"*2\r\n$4\r\nECHO\r\n$3000000\r\n".to_vec();
        partial.extend(std::iter::repeat_n(b'x', 1_500_000));
        // The node may close it before every byte is sent.
        let _ = big.send(&partial);
        assert!(
            wait_until(Duration::from_secs(10), || info_number(
                port,
                "evicted_clients"
            ) == 1),
            "{server}: the big client was not evicted"
        );
        assert!(
            big.read_until_closed(Duration::from_secs(10)).is_ok(),
            "{server}: the evicted client's connection stays open"
        );
        assert_eq!(
            admin.command(&["PING"]).expect("PING"),
            Frame::Simple("PONG".into()),
            "{server}: the NO-EVICT client was closed"
        );
    });
}
