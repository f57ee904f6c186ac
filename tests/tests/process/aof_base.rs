//! A base file of commands (`aof-use-rdb-preamble no`): redis-server 7.0's command base
//! loads in Tessera, and Tessera's (chosen at start or by CONFIG SET) loads in
//! redis-server, with equal `DEBUG DIGEST` (every type, keys with TTLs).

use std::path::Path;
use std::time::Duration;

use crate::aof::{AOF, digest, info, writes};
use tessera_tests::{RawConnection, RedisServer, TesseraNode, text, wait_until};

const NO_PREAMBLE: [&str; 2] = ["--aof-use-rdb-preamble", "no"];

/// The base file the manifest in `dir` names.
fn base_file(dir: &Path) -> String {
    let manifest = std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest"))
        .expect("a manifest");
    manifest
        .lines()
        .find(|l| l.ends_with("type b"))
        .and_then(|l| l.split(' ').nth(1))
        .unwrap_or_else(|| panic!("a base in {manifest}"))
        .to_string()
}

/// Runs BGREWRITEAOF and waits until the `n`th rewrite is done.
fn rewrite(c: &mut RawConnection, n: usize) {
    c.command(&["BGREWRITEAOF"]).expect("BGREWRITEAOF");
    let done = n.to_string();
    assert!(
        wait_until(Duration::from_secs(20), || info(
            c,
            "aof_rewrite_in_progress"
        )
        .as_deref()
            == Some("0")
            && info(c, "aof_rewrites").as_deref() == Some(done.as_str())),
        "the AOF rewrite finished"
    );
}

#[test]
fn command_bases_move_between_redis_and_tessera() {
    let redis = RedisServer::start(&[&AOF[..], &NO_PREAMBLE].concat());
    let mut r = RawConnection::connect(redis.port).expect("connect");
    writes(&mut r, "r", 300);
    rewrite(&mut r, 1);
    writes(&mut r, "r2", 100);
    let redis_digest = digest(&mut r);
    let (dir, _) = redis.stop();
    assert_eq!(base_file(dir.path()), "appendonly.aof.2.base.aof");

    // The default (an RDB preamble) at start, commands from CONFIG SET on.
    let tessera = TesseraNode::start_in_dir(dir, &AOF);
    let mut t = tessera.raw();
    assert_eq!(
        digest(&mut t),
        redis_digest,
        "Tessera loaded redis-server's command base"
    );
    assert_eq!(
        text(
            &t.command(&["CONFIG", "SET", "aof-use-rdb-preamble", "no"])
                .expect("CONFIG SET")
        ),
        "OK"
    );
    writes(&mut t, "t", 200);
    rewrite(&mut t, 1);
    writes(&mut t, "t2", 100);
    let tessera_digest = digest(&mut t);
    let dir = tessera.stop();
    let base = base_file(dir.path());
    assert!(base.ends_with(".base.aof"), "{base}");
    let bytes = std::fs::read(dir.path().join("appendonlydir").join(&base)).expect("base");
    assert!(bytes.starts_with(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"));
    let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    for command in ["SET", "RPUSH", "SADD", "ZADD", "HMSET", "PEXPIREAT"] {
        let bulk = format!("${}\r\n{command}\r\n", command.len());
        assert!(has(bulk.as_bytes()), "the base holds {command}");
    }

    let redis = RedisServer::start_in(dir, &AOF);
    let mut r = RawConnection::connect(redis.port).expect("connect");
    assert_eq!(
        digest(&mut r),
        tessera_digest,
        "redis-server loaded Tessera's command base"
    );
}

#[test]
fn a_node_started_without_preamble_writes_and_reloads_a_command_base() {
    let timestamps = ["--aof-timestamp-enabled", "yes"];
    let args = [&AOF[..], &NO_PREAMBLE, &timestamps].concat();
    let node = TesseraNode::start(&args);
    let mut c = node.raw();
    writes(&mut c, "a", 100);
    // Function libraries open the base as FUNCTION LOAD commands, as Redis writes them.
    let library = "#!lua name=greet\nredis.register_function('hi', function() return 'hello' end)";
    assert_eq!(
        text(
            &c.command(&["FUNCTION", "LOAD", library])
                .expect("FUNCTION LOAD")
        ),
        "greet"
    );
    rewrite(&mut c, 1);
    writes(&mut c, "b", 50);
    let want = digest(&mut c);
    let dir = node.stop();
    let base = base_file(dir.path());
    assert_eq!(base, "appendonly.aof.2.base.aof");
    let bytes = std::fs::read(dir.path().join("appendonlydir").join(&base)).expect("base");
    assert!(
        bytes.starts_with(b"#TS:"),
        "a command base opens with its time when annotations are on"
    );
    assert!(
        bytes.windows(8).any(|w| w == b"FUNCTION"),
        "the base loads the library"
    );
    let node = TesseraNode::start_in_dir(dir, &args);
    let mut c = node.raw();
    assert_eq!(digest(&mut c), want, "the command base and its incr reload");
    assert_eq!(
        text(&c.command(&["FCALL", "hi", "0"]).expect("FCALL")),
        "hello"
    );
    let dir = node.stop();
    let redis = RedisServer::start_in(dir, &AOF);
    let mut r = RawConnection::connect(redis.port).expect("connect");
    assert_eq!(digest(&mut r), want, "redis-server loads it too");
    assert_eq!(
        text(&r.command(&["FCALL", "hi", "0"]).expect("FCALL")),
        "hello"
    );
}
