//! DUMP, RESTORE, MIGRATE and FUNCTION against redis-server 7.0.15: payloads cross
//! between the two kinds in both directions, and bad input gets the same errors.

use tessera_resp::frame::Frame;
use tessera_tests::{RawConnection, RedisServer, TesseraNode, show, text};

const DEBUG: [&str; 2] = ["--enable-debug-command", "yes"];

fn bulk(frame: Frame) -> Vec<u8> {
    match frame {
        Frame::Bulk(b) => b,
        other => panic!("expected a bulk string, got {}", show(&other)),
    }
}

fn cmd(c: &mut RawConnection, args: &[&[u8]]) -> Frame {
    c.command_bytes(args).expect("a reply")
}

#[test]
fn payloads_cross_both_ways_and_errors_match() {
    let redis = RedisServer::start(&DEBUG);
    let tessera = TesseraNode::start(&DEBUG);
    let mut r = RawConnection::connect(redis.port).unwrap();
    let mut t = RawConnection::connect(tessera.port).unwrap();
    let long = "abcd".repeat(5000);
    let values: [&[u8]; 7] = [
        b"hello",
        b"12345",
        b"-7",
        b"",
        b"12345678901234567890",
        long.as_bytes(),
        &[0, 255, 13, 10],
    ];
    for (i, value) in values.iter().enumerate() {
        let key = format!("k{i}");
        for c in [&mut r, &mut t] {
            cmd(c, &[b"SET", key.as_bytes(), value, b"PX", b"100000"]);
        }
        let from_redis = bulk(cmd(&mut r, &[b"DUMP", key.as_bytes()]));
        let from_tessera = bulk(cmd(&mut t, &[b"DUMP", key.as_bytes()]));
        // Each restores in the other kind, to the same value.
        let copy = format!("copy{i}");
        assert_eq!(
            text(&cmd(
                &mut t,
                &[b"RESTORE", copy.as_bytes(), b"0", &from_redis]
            )),
            "OK"
        );
        assert_eq!(
            text(&cmd(
                &mut r,
                &[b"RESTORE", copy.as_bytes(), b"0", &from_tessera]
            )),
            "OK"
        );
        for c in [&mut r, &mut t] {
            assert_eq!(
                bulk(cmd(c, &[b"GET", copy.as_bytes()])),
                value.to_vec(),
                "{key}"
            );
        }
        // The same digest on both kinds, expiry included.
        let digests: Vec<Frame> = [&mut r, &mut t]
            .into_iter()
            .map(|c| {
                cmd(
                    c,
                    &[
                        b"DEBUG",
                        b"DIGEST-VALUE",
                        key.as_bytes(),
                        copy.as_bytes(),
                        b"missing",
                    ],
                )
            })
            .collect();
        assert_eq!(digests[0], digests[1], "DEBUG DIGEST-VALUE of {key}");
    }
    let good = bulk(cmd(&mut r, &[b"DUMP", b"k0"]));
    let mut bad_crc = good.clone();
    *bad_crc.last_mut().unwrap() ^= 1;
    let mut newer = good.clone();
    let n = newer.len();
    newer[n - 10] = 11;
    let cases: Vec<Vec<&[u8]>> = vec![
        vec![b"RESTORE", b"k0", b"0", &good],
        vec![b"RESTORE", b"new", b"0", &bad_crc],
        vec![b"RESTORE", b"new", b"0", &newer],
        vec![b"RESTORE", b"new", b"0", b"short"],
        vec![b"RESTORE", b"new", b"-5", &good],
        vec![b"RESTORE", b"new", b"x", &good],
        vec![b"RESTORE", b"new", b"0", &good, b"FREQ", b"256"],
        vec![b"RESTORE", b"new", b"0", &good, b"IDLETIME", b"-1"],
        vec![
            b"RESTORE",
            b"new",
            b"0",
            &good,
            b"IDLETIME",
            b"5",
            b"FREQ",
            b"5",
        ],
        vec![b"RESTORE", b"new", b"0", &good, b"NOPE"],
        vec![
            b"RESTORE",
            b"k0",
            b"0",
            &good,
            b"REPLACE",
            b"IDLETIME",
            b"10",
        ],
        vec![b"RESTORE", b"past", b"1", &good, b"ABSTTL"],
        vec![b"EXISTS", b"past"],
        vec![
            b"RESTORE",
            b"abs",
            b"99999999999999",
            &good,
            b"ABSTTL",
            b"FREQ",
            b"3",
        ],
        vec![b"PEXPIRETIME", b"abs"],
        vec![b"DUMP", b"missing"],
        vec![b"MIGRATE", b"127.0.0.1", b"1", b"missing", b"0", b"100"],
        vec![
            b"MIGRATE",
            b"127.0.0.1",
            b"1",
            b"k0",
            b"0",
            b"100",
            b"KEYS",
            b"k1",
        ],
        vec![
            b"MIGRATE",
            b"127.0.0.1",
            b"1",
            b"k0",
            b"0",
            b"100",
            b"BOGUS",
        ],
        vec![b"MIGRATE", b"127.0.0.1", b"1", b"k0", b"0", b"100", b"AUTH"],
        vec![b"MIGRATE", b"127.0.0.1", b"1", b"k0", b"x", b"100"],
        vec![
            b"MIGRATE",
            b"127.0.0.1",
            b"1",
            b"",
            b"0",
            b"100",
            b"KEYS",
            b"nope1",
            b"nope2",
        ],
        vec![b"FUNCTION", b"LIST"],
        vec![b"FUNCTION", b"STATS"],
        vec![b"FUNCTION", b"RESTORE", b"junk"],
        vec![b"FUNCTION", b"RESTORE", &good, b"SOMETIMES"],
        vec![b"FUNCTION", b"DELETE", b"lib"],
        vec![b"FUNCTION", b"KILL"],
        vec![b"FUNCTION", b"FLUSH"],
    ];
    for case in &cases {
        let want = cmd(&mut r, case);
        let got = cmd(&mut t, case);
        let shown: Vec<String> = case
            .iter()
            .take(3)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        assert_eq!(show(&got), show(&want), "{shown:?}");
    }
    // The empty FUNCTION DUMP is byte for byte Redis's and each kind takes the other's.
    let empty_r = bulk(cmd(&mut r, &[b"FUNCTION", b"DUMP"]));
    let empty_t = bulk(cmd(&mut t, &[b"FUNCTION", b"DUMP"]));
    assert_eq!(empty_r, empty_t);
    assert_eq!(
        text(&cmd(&mut t, &[b"FUNCTION", b"RESTORE", &empty_r])),
        "OK"
    );
}

#[test]
fn migrate_moves_keys_between_kinds() {
    let redis = RedisServer::start(&["--requirepass", "sesame"]);
    let tessera = TesseraNode::start(&[]);
    let mut r = RawConnection::connect(redis.port).unwrap();
    r.command(&["AUTH", "sesame"]).unwrap();
    let mut t = RawConnection::connect(tessera.port).unwrap();
    for i in 0..50 {
        t.command(&["SET", &format!("m{i}"), &format!("v{i}")])
            .unwrap();
    }
    t.command(&["PEXPIRE", "m0", "100000"]).unwrap();
    let rport = redis.port.to_string();
    // Tessera → redis-server, in batches, with AUTH; the moved keys leave Tessera.
    let keys: Vec<String> = (0..40).map(|i| format!("m{i}")).collect();
    let mut args: Vec<&str> = vec![
        "MIGRATE",
        "127.0.0.1",
        &rport,
        "",
        "0",
        "5000",
        "AUTH",
        "sesame",
        "KEYS",
    ];
    args.extend(keys.iter().map(String::as_str));
    assert_eq!(text(&t.command(&args).unwrap()), "OK");
    assert_eq!(t.command(&["DBSIZE"]).unwrap(), Frame::Integer(10));
    assert_eq!(text(&r.command(&["GET", "m39"]).unwrap()), "v39");
    let Frame::Integer(ttl) = r.command(&["PTTL", "m0"]).unwrap() else {
        panic!("PTTL is an integer");
    };
    assert!((90_000..=100_000).contains(&ttl), "the TTL travels: {ttl}");
    // An existing key without REPLACE: Redis's error, and the key stays.
    t.command(&["SET", "m1", "again"]).unwrap();
    let busy = t
        .command(&[
            "MIGRATE",
            "127.0.0.1",
            &rport,
            "m1",
            "0",
            "5000",
            "AUTH",
            "sesame",
        ])
        .unwrap();
    assert_eq!(
        show(&busy),
        show(&Frame::Error(
            b"ERR Target instance replied with error: BUSYKEY Target key name already exists."
                .to_vec()
        ))
    );
    assert_eq!(text(&t.command(&["GET", "m1"]).unwrap()), "again");
    // COPY and REPLACE: overwritten there, kept here. A wrong password is the target's error.
    let copied = t
        .command(&[
            "MIGRATE",
            "127.0.0.1",
            &rport,
            "m1",
            "0",
            "5000",
            "COPY",
            "REPLACE",
            "AUTH",
            "sesame",
        ])
        .unwrap();
    assert_eq!(text(&copied), "OK");
    assert_eq!(text(&r.command(&["GET", "m1"]).unwrap()), "again");
    assert_eq!(text(&t.command(&["GET", "m1"]).unwrap()), "again");
    let denied = t
        .command(&[
            "MIGRATE",
            "127.0.0.1",
            &rport,
            "m45",
            "0",
            "5000",
            "AUTH",
            "wrong",
        ])
        .unwrap();
    assert!(
        text(&denied).starts_with("ERR Target instance replied with error: WRONGPASS"),
        "{}",
        show(&denied)
    );
    assert_eq!(text(&t.command(&["GET", "m45"]).unwrap()), "v45");
    // redis-server → Tessera, into database 3.
    let tport = tessera.port.to_string();
    r.command(&["SET", "back", "home"]).unwrap();
    assert_eq!(
        text(
            &r.command(&["MIGRATE", "127.0.0.1", &tport, "back", "3", "5000"])
                .unwrap()
        ),
        "OK"
    );
    t.command(&["SELECT", "3"]).unwrap();
    assert_eq!(text(&t.command(&["GET", "back"]).unwrap()), "home");
    assert_eq!(r.command(&["EXISTS", "back"]).unwrap(), Frame::Integer(0));
}
