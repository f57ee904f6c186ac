//! DEBUG, compared with redis-server 7.0: who may use it (`enable-debug-command`), and
//! the subcommands tools use, with the same replies (digests included) for the same data.

use tessera_resp::frame::Frame;
use tessera_tests::network::external_address;
use tessera_tests::wire::simple;
use tessera_tests::{RawConnection, RedisServer, TesseraNode, text};

/// Runs `args` on both servers and returns the two replies.
fn both(redis: &mut RawConnection, tessera: &mut RawConnection, args: &[&str]) -> (Frame, Frame) {
    (
        redis.command(args).expect("redis-server answers"),
        tessera.command(args).expect("tessera answers"),
    )
}

/// Runs `args` on both servers and checks the replies are the same.
fn same(redis: &mut RawConnection, tessera: &mut RawConnection, args: &[&str]) -> Frame {
    let (r, t) = both(redis, tessera, args);
    assert_eq!(t, r, "{args:?}");
    t
}

/// The fields of a DEBUG OBJECT reply that do not depend on memory addresses or clocks.
fn object_fields(reply: &Frame) -> Vec<String> {
    text(reply)
        .split_whitespace()
        .filter(|f| {
            ["refcount:", "encoding:", "serializedlength:"]
                .iter()
                .any(|p| f.starts_with(p))
        })
        .map(String::from)
        .collect()
}

#[test]
fn debug_is_refused_by_default_with_redis_text() {
    let redis = RedisServer::start(&[]);
    let node = TesseraNode::start(&[]);
    let (mut r, mut t) = (redis_conn(&redis), node.raw());
    let reply = same(&mut r, &mut t, &["DEBUG", "DIGEST"]);
    assert!(text(&reply).starts_with("ERR DEBUG command not allowed."));
    same(&mut r, &mut t, &["DEBUG", "SLEEP", "0"]);
}

#[test]
fn local_allows_loopback_connections_only() {
    let external = external_address();
    let ext = external.ip.as_str();
    let args = [
        "--enable-debug-command",
        "local",
        "--bind",
        "127.0.0.1",
        ext,
        "--protected-mode",
        "no",
    ];
    let redis = RedisServer::start(&args);
    let node = TesseraNode::start(&args);
    let (mut r, mut t) = (redis_conn(&redis), node.raw());
    assert_eq!(same(&mut r, &mut t, &["DEBUG", "SLEEP", "0"]), simple("OK"));
    let mut r = RawConnection::connect_to(ext, redis.port).expect("remote redis-server");
    let mut t = RawConnection::connect_to(ext, node.port).expect("remote tessera");
    let reply = same(&mut r, &mut t, &["DEBUG", "SLEEP", "0"]);
    assert!(text(&reply).starts_with("ERR DEBUG command not allowed."));
}

fn redis_conn(redis: &RedisServer) -> RawConnection {
    RawConnection::connect(redis.port).expect("connecting to redis-server")
}

#[test]
fn subcommands_answer_as_redis_does() {
    let args = ["--enable-debug-command", "yes"];
    let redis = RedisServer::start(&args);
    let node = TesseraNode::start(&args);
    let (mut r, mut t) = (redis_conn(&redis), node.raw());
    let empty = same(&mut r, &mut t, &["DEBUG", "DIGEST"]);
    assert_eq!(empty, simple(&"0".repeat(40)));
    let long = "x".repeat(100);
    // Incompressible text: both servers store it as it is. (A compressible one gets
    // the same digest but another serializedlength: Tessera's LZF output is valid but
    // not byte-identical to Redis's.)
    let mut seed: u64 = 7;
    let random: String = (0..100)
        .map(|_| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            char::from(b'!' + ((seed >> 33) % 90) as u8)
        })
        .collect();
    let large = "3.14159";
    for cmd in [
        &["SET", "int", "12"][..],
        &["SET", "bigint", "123456789012"],
        &["SET", "short", "hello"],
        &["SET", "long", &long],
        &["SET", "random", &random],
        &["SET", "numeric-text", large],
        &["SET", "volatile", "v", "EX", "1000"],
        &["SELECT", "3"],
        &["SET", "elsewhere", "1"],
        &["SELECT", "0"],
    ] {
        same(&mut r, &mut t, cmd);
    }
    let digest = same(&mut r, &mut t, &["DEBUG", "DIGEST"]);
    same(
        &mut r,
        &mut t,
        &[
            "DEBUG",
            "DIGEST-VALUE",
            "int",
            "short",
            "long",
            "volatile",
            "missing",
        ],
    );
    for key in ["int", "bigint", "short", "random", "numeric-text"] {
        let (rr, tt) = both(&mut r, &mut t, &["DEBUG", "OBJECT", key]);
        assert_eq!(object_fields(&tt), object_fields(&rr), "DEBUG OBJECT {key}");
        assert_eq!(object_fields(&tt).len(), 3, "{}", text(&tt));
    }
    same(&mut r, &mut t, &["DEBUG", "OBJECT", "missing"]);
    // RELOAD saves, empties and loads back: the same data, the same digest.
    assert_eq!(same(&mut r, &mut t, &["DEBUG", "RELOAD"]), simple("OK"));
    assert_eq!(same(&mut r, &mut t, &["DEBUG", "DIGEST"]), digest);
    same(&mut r, &mut t, &["DEBUG", "RELOAD", "FAST"]);
    // NOSAVE loads the file as it is: a key set since the save is gone.
    same(&mut r, &mut t, &["SET", "later", "1"]);
    same(&mut r, &mut t, &["DEBUG", "RELOAD", "NOSAVE"]);
    assert_eq!(same(&mut r, &mut t, &["DEBUG", "DIGEST"]), digest);
    // NOSAVE NOFLUSH MERGE adds the file to what is there.
    same(&mut r, &mut t, &["SET", "later", "1"]);
    same(
        &mut r,
        &mut t,
        &["DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE"],
    );
    same(&mut r, &mut t, &["EXISTS", "later", "short"]);
    // CHANGE-REPL-ID gives a new replid and forgets the second one.
    let before = text(&t.command(&["INFO", "replication"]).unwrap());
    same(&mut r, &mut t, &["DEBUG", "CHANGE-REPL-ID"]);
    let after = text(&t.command(&["INFO", "replication"]).unwrap());
    let replid = |info: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix("master_replid:"))
            .map(String::from)
    };
    assert_ne!(replid(&before), replid(&after));
    assert!(after.contains("master_replid2:0000000000000000000000000000000000000000"));
    for cmd in [
        &["DEBUG", "DROP-CLUSTER-PACKET-FILTER", "-1"][..],
        &["DEBUG", "DROP-CLUSTER-PACKET-FILTER", "nope"],
        &["DEBUG", "SET-ACTIVE-EXPIRE", "1"],
        &["DEBUG", "SLEEP", "0"],
        &["DEBUG", "NO-SUCH-THING"],
        &["DEBUG", "OBJECT"],
    ] {
        same(&mut r, &mut t, cmd);
    }
}
