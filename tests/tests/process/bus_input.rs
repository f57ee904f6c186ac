//! Hostile and malformed input on the cluster bus port (acceptance 5 of the cluster
//! issue). Every case goes to a two-node redis-server 7.0 cluster and to a two-node
//! Tessera cluster; the replies (which messages got a PONG, and so whether the link
//! was closed early) must be the same, and both clusters must keep serving.

use std::time::Duration;
use tessera_resp::frame::Frame;
use tessera_tests::bus::{FAIL, HEADER_LEN, PING, PONG, RawMessage, abandon, exchange};
use tessera_tests::cluster::{info_field, nodes, wait_ok};
use tessera_tests::{RawConnection, RedisServer, TesseraNode, text};

const UNKNOWN_ID: &str = "0123456789abcdef0123456789abcdef01234567";

/// A two-node cluster of one kind; `ports[0]` is the node under test.
struct Pair {
    ports: [u16; 2],
    ids: [String; 2],
    _keep: Vec<Box<dyn std::any::Any>>,
}

fn form(ports: [u16; 2], keep: Vec<Box<dyn std::any::Any>>) -> Pair {
    let mut ids = Vec::new();
    for (i, (&port, range)) in ports
        .iter()
        .zip([("0", "8191"), ("8192", "16383")])
        .enumerate()
    {
        let mut c = RawConnection::connect(port).unwrap();
        let reply = c
            .command(&["CLUSTER", "ADDSLOTSRANGE", range.0, range.1])
            .unwrap();
        assert_eq!(reply, Frame::Simple(b"OK".to_vec()));
        let epoch = (i + 1).to_string();
        c.command(&["CLUSTER", "SET-CONFIG-EPOCH", &epoch]).unwrap();
        ids.push(text(&c.command(&["CLUSTER", "MYID"]).unwrap()));
    }
    let mut c = RawConnection::connect(ports[1]).unwrap();
    let port = ports[0].to_string();
    c.command(&["CLUSTER", "MEET", "127.0.0.1", &port]).unwrap();
    assert!(wait_ok(&ports, Duration::from_secs(30)), "the pair forms");
    Pair {
        ports,
        ids: [ids[0].clone(), ids[1].clone()],
        _keep: keep,
    }
}

const ARGS: [&str; 4] = ["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"];

fn redis_pair() -> Pair {
    let nodes = [RedisServer::start(&ARGS), RedisServer::start(&ARGS)];
    let ports = [nodes[0].port, nodes[1].port];
    let keep: Vec<Box<dyn std::any::Any>> = nodes.into_iter().map(|n| Box::new(n) as _).collect();
    form(ports, keep)
}

fn tessera_pair() -> Pair {
    let nodes = [TesseraNode::start(&ARGS), TesseraNode::start(&ARGS)];
    let ports = [nodes[0].port, nodes[1].port];
    let keep: Vec<Box<dyn std::any::Any>> = nodes.into_iter().map(|n| Box::new(n) as _).collect();
    form(ports, keep)
}

/// Deterministic noise (xorshift), never starting with the bus signature.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    out[0] = b'X';
    out
}

/// The cases, each as the bytes to send; most end with a valid PING so an open link
/// shows itself by answering it.
fn cases(pair: &Pair) -> Vec<(&'static str, Vec<u8>)> {
    let me = &pair.ids[0];
    let peer = &pair.ids[1];
    let peer_port = pair.ports[1];
    let ping = RawMessage::new(PING, UNKNOWN_ID, 1, 2).bytes();
    let then_ping = |mut first: Vec<u8>| {
        first.extend_from_slice(&ping);
        first
    };
    let short = then_ping(RawMessage::new(PING, UNKNOWN_ID, 1, 2).with_totlen(100));
    let fail_wrong_len = RawMessage::new(FAIL, UNKNOWN_ID, 1, 2).bytes();
    let gossip_missing = RawMessage::new(PING, UNKNOWN_ID, 1, 2)
        .u16_at(14, 1)
        .bytes();
    let bad_version = RawMessage::new(PING, UNKNOWN_ID, 1, 2).u16_at(8, 2).bytes();
    let unknown_type = RawMessage::new(42, UNKNOWN_ID, 1, 2).body(&[7; 44]).bytes();
    // One extension of length 12: not a multiple of 8.
    let mut ext = vec![0u8; 16];
    ext[0..4].copy_from_slice(&12u32.to_be_bytes());
    let bad_extension = RawMessage::new(PING, UNKNOWN_ID, 1, 2)
        .u16_at(2214, 1)
        .u16_at(2253, 0x0400)
        .body(&ext)
        .bytes();
    // Extensions counted but the EXT_DATA flag clear: the length check fails.
    let unflagged_extension = RawMessage::new(PING, UNKNOWN_ID, 1, 2)
        .u16_at(2214, 1)
        .bytes();
    let forged_peer = RawMessage::new(PING, peer, peer_port, peer_port + 10000).bytes();
    let forged_self = RawMessage::new(PING, me, 1, 2).bytes();
    vec![
        ("random bytes", then_ping(noise(5000))),
        ("totlen below the header size", short),
        ("FAIL of the wrong length", then_ping(fail_wrong_len)),
        (
            "PING whose gossip count overruns",
            then_ping(gossip_missing),
        ),
        ("version 2", then_ping(bad_version)),
        ("unknown type", then_ping(unknown_type)),
        (
            "extension length not a multiple of 8",
            then_ping(bad_extension),
        ),
        (
            "extensions without EXT_DATA",
            then_ping(unflagged_extension),
        ),
        ("PING from an unknown ID", ping.clone()),
        ("PING forging the peer's ID", forged_peer),
        ("PING forging the node's own ID", then_ping(forged_self)),
    ]
}

/// Runs every case against `pair`'s first node; checks it still serves and that the
/// forgeries added nobody. Returns what each case got back.
fn probe(pair: &Pair, kind: &str) -> Vec<(&'static str, Vec<u16>)> {
    let known_before = nodes(pair.ports[0]).len();
    let bus = pair.ports[0] + 10000;
    let outcomes: Vec<(&str, Vec<u16>)> = cases(pair)
        .into_iter()
        .map(|(name, bytes)| (name, exchange(bus, &bytes)))
        .collect();
    // Messages cut short: the node waits for the rest, and copes when it never comes.
    let ping = RawMessage::new(PING, UNKNOWN_ID, 1, 2);
    abandon(bus, &ping.bytes()[..1000]);
    abandon(bus, &ping.with_totlen(u32::MAX)[..HEADER_LEN]);
    let mut c = RawConnection::connect(pair.ports[0]).unwrap();
    assert_eq!(
        c.command(&["PING"]).unwrap(),
        Frame::Simple(b"PONG".to_vec())
    );
    assert!(
        wait_ok(&pair.ports, Duration::from_secs(20)),
        "{kind}: cluster ok"
    );
    assert_eq!(
        nodes(pair.ports[0]).len(),
        known_before,
        "{kind}: no node added"
    );
    assert_eq!(
        info_field(pair.ports[1], "cluster_known_nodes").as_deref(),
        Some("2"),
        "{kind}: the peer still knows exactly the pair"
    );
    outcomes
}

#[test]
fn malformed_and_forged_bus_input_is_handled_as_redis_7_does() {
    let want = probe(&redis_pair(), "redis-server");
    eprintln!("redis-server 7.0: {want:?}");
    // The reference says what 7.0 does for these; the recording must agree.
    let of = |name: &str| &want.iter().find(|(n, _)| *n == name).unwrap().1;
    assert_eq!(of("random bytes"), &Vec::<u16>::new(), "{want:?}");
    assert_eq!(of("version 2"), &vec![PONG], "{want:?}");
    assert_eq!(of("unknown type"), &vec![PONG], "{want:?}");
    let got = probe(&tessera_pair(), "tessera");
    for ((name, want), (_, got)) in want.iter().zip(&got) {
        assert_eq!(
            got, want,
            "{name}: messages received from tessera vs redis-server"
        );
    }
}
