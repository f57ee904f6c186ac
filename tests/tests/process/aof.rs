//! The append-only file: what `appendfsync always` acknowledged survives `kill -9`; an
//! appendonlydir written by redis-server 7.0 loads in Tessera and one written by Tessera
//! (after a rewrite) loads in redis-server, with equal `DEBUG DIGEST`; a torn tail loads
//! or stops the start as `aof-load-truncated` says; and the AOF rewrites itself once
//! it outgrows `auto-aof-rewrite-percentage`.

use std::time::Duration;

use tessera_resp::frame::Frame;
use tessera_tests::{RawConnection, RedisServer, TesseraNode, show, text, wait_until};

pub(crate) const AOF: [&str; 4] = ["--appendonly", "yes", "--enable-debug-command", "yes"];

/// Writes of every type, a transaction and deletions; `tag` keeps runs apart.
pub(crate) fn writes(c: &mut RawConnection, tag: &str, n: usize) {
    let mut batch = Vec::new();
    for i in 0..n {
        let k = format!("{tag}:{i}");
        let lines: Vec<Vec<String>> = vec![
            vec!["SET".into(), format!("{k}:s"), format!("v{i}")],
            vec!["INCRBY".into(), format!("{tag}:counter"), i.to_string()],
            vec!["RPUSH".into(), format!("{tag}:list:{}", i % 7), k.clone()],
            vec![
                "HSET".into(),
                format!("{tag}:hash:{}", i % 5),
                k.clone(),
                i.to_string(),
            ],
            vec!["SADD".into(), format!("{tag}:set:{}", i % 3), k.clone()],
            vec![
                "ZADD".into(),
                format!("{tag}:zset"),
                i.to_string(),
                k.clone(),
            ],
            vec!["EXPIRE".into(), format!("{k}:s"), "100000".into()],
        ];
        for args in lines {
            batch.extend(Frame::command(args.iter().map(|a| a.as_bytes())));
        }
    }
    c.send(&batch).expect("send");
    for _ in 0..n * 7 {
        let reply = c.read_frame().expect("reply");
        assert!(!matches!(reply, Frame::Error(_)), "{}", show(&reply));
    }
    for line in [
        vec!["MULTI"],
        vec!["LPOP", "x:list:1"],
        vec!["DEL", "x:0:s"],
        vec!["ZINCRBY", "x:zset", "5", "x:1"],
        vec!["EXEC"],
    ] {
        let line: Vec<String> = line
            .iter()
            .map(|w| w.replace("x:", &format!("{tag}:")))
            .collect();
        let args: Vec<&str> = line.iter().map(String::as_str).collect();
        c.command(&args).expect("reply");
    }
}

pub(crate) fn digest(c: &mut RawConnection) -> String {
    text(&c.command(&["DEBUG", "DIGEST"]).expect("DEBUG DIGEST"))
}

pub(crate) fn info(c: &mut RawConnection, field: &str) -> Option<String> {
    let all = text(&c.command(&["INFO", "persistence"]).expect("INFO"));
    all.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")).map(str::to_string))
}

#[test]
fn appendfsync_always_keeps_every_acknowledged_write_through_kill_9() {
    let mut node = TesseraNode::start(&[&AOF[..], &["--appendfsync", "always"]].concat());
    let mut c = node.raw();
    writes(&mut c, "a", 500);
    let before = digest(&mut c);
    node.signal(libc::SIGKILL);
    assert!(node.wait_exit(Duration::from_secs(10)).is_some(), "killed");
    let dir = node.stop();
    let node = TesseraNode::start_in_dir(dir, &AOF);
    let mut c = node.raw();
    assert_eq!(
        digest(&mut c),
        before,
        "the same data after kill -9 and a restart"
    );
    assert_eq!(info(&mut c, "aof_enabled").as_deref(), Some("1"));
}

#[test]
fn appendonly_dirs_move_between_redis_and_tessera() {
    let redis = RedisServer::start(&AOF);
    let mut r = RawConnection::connect(redis.port).expect("connect");
    writes(&mut r, "r", 300);
    // A rewrite in the middle: a base with data, then an incremental file.
    r.command(&["BGREWRITEAOF"]).expect("BGREWRITEAOF");
    assert!(
        wait_until(Duration::from_secs(20), || info(
            &mut r,
            "aof_rewrite_in_progress"
        )
        .as_deref()
            == Some("0")
            && info(&mut r, "aof_rewrites").as_deref() == Some("1")),
        "redis-server rewrote its AOF"
    );
    writes(&mut r, "r2", 100);
    let redis_digest = digest(&mut r);
    let (dir, _) = redis.stop();

    let timestamps = ["--aof-timestamp-enabled", "yes"];
    let tessera = TesseraNode::start_in_dir(dir, &[&AOF[..], &timestamps].concat());
    let mut t = tessera.raw();
    assert_eq!(
        digest(&mut t),
        redis_digest,
        "Tessera loaded redis-server's AOF"
    );
    writes(&mut t, "t", 200);
    assert_eq!(
        text(&t.command(&["BGREWRITEAOF"]).expect("BGREWRITEAOF")),
        "Background append only file rewriting started"
    );
    assert!(
        wait_until(Duration::from_secs(20), || info(
            &mut t,
            "aof_rewrite_in_progress"
        )
        .as_deref()
            == Some("0")
            && info(&mut t, "aof_rewrites").as_deref() == Some("1")),
        "Tessera rewrote its AOF"
    );
    writes(&mut t, "t2", 100);
    let tessera_digest = digest(&mut t);
    let dir = tessera.stop();
    let manifest =
        std::fs::read_to_string(dir.path().join("appendonlydir/appendonly.aof.manifest"))
            .expect("a manifest");
    assert!(
        manifest.contains("type b") && manifest.contains("type i"),
        "{manifest}"
    );
    let incr = manifest
        .lines()
        .find(|l| l.ends_with("type i"))
        .and_then(|l| l.split(' ').nth(1))
        .expect("an incr file");
    let bytes = std::fs::read(dir.path().join("appendonlydir").join(incr)).expect("incr");
    assert!(
        bytes.starts_with(b"#TS:"),
        "aof-timestamp-enabled annotates the file"
    );

    let redis = RedisServer::start_in(dir, &AOF);
    let mut r = RawConnection::connect(redis.port).expect("connect");
    assert_eq!(
        digest(&mut r),
        tessera_digest,
        "redis-server loaded Tessera's AOF"
    );
}

#[test]
fn a_torn_tail_loads_only_when_allowed() {
    let node = TesseraNode::start(&AOF);
    let mut c = node.raw();
    writes(&mut c, "k", 20);
    let want = digest(&mut c);
    let dir = node.stop();
    let incr = dir.path().join("appendonlydir/appendonly.aof.1.incr.aof");
    let whole = std::fs::read(&incr).expect("incr file");
    let mut torn = whole.clone();
    torn.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nz");
    std::fs::write(&incr, &torn).expect("tear the tail");

    // Listening on a port of its own: the load happens before the listeners open.
    let refused = std::process::Command::new(tessera_tests::tessera_bin())
        .args([
            "server",
            "--appendonly",
            "yes",
            "--aof-load-truncated",
            "no",
            "--port",
        ])
        .arg(tessera_tests::process::free_port().to_string())
        .arg("--dir")
        .arg(dir.path())
        .output()
        .expect("run tessera");
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(
        refused.status.code(),
        Some(1),
        "a torn tail stops the start: {err}"
    );
    assert!(err.contains("Unexpected end of file"), "{err}");

    let node = TesseraNode::start_in_dir(dir, &AOF);
    let mut c = node.raw();
    assert_eq!(digest(&mut c), want, "loaded up to the last whole command");
    let dir = node.stop();
    assert_eq!(
        std::fs::read(&incr).expect("incr file"),
        whole,
        "the torn tail was cut off"
    );
    drop(dir);
}

#[test]
fn the_aof_rewrites_itself_past_its_growth_limit() {
    let node = TesseraNode::start(
        &[
            &AOF[..],
            &[
                "--auto-aof-rewrite-percentage",
                "100",
                "--auto-aof-rewrite-min-size",
                "100kb",
                "--aof-disable-auto-gc",
                "yes",
                "--no-appendfsync-on-rewrite",
                "yes",
            ],
        ]
        .concat(),
    );
    let mut c = node.raw();
    writes(&mut c, "g", 3000);
    assert!(
        wait_until(Duration::from_secs(20), || info(&mut c, "aof_rewrites")
            .is_some_and(|n| n != "0")),
        "an automatic rewrite ran: {:?}",
        info(&mut c, "aof_current_size")
    );
    // aof-disable-auto-gc keeps the files the rewrite replaced, listed as history.
    let manifest = std::fs::read_to_string(
        node.dir
            .path()
            .join("appendonlydir/appendonly.aof.manifest"),
    )
    .expect("a manifest");
    let history: Vec<&str> = manifest
        .lines()
        .filter(|l| l.ends_with("type h"))
        .filter_map(|l| l.split(' ').nth(1))
        .collect();
    assert!(!history.is_empty(), "{manifest}");
    for name in history {
        assert!(
            node.dir.path().join("appendonlydir").join(name).exists(),
            "{name} kept"
        );
    }
}

#[test]
fn a_replica_keeps_its_own_aof_from_its_full_sync_on() {
    let master = RedisServer::start(&["--enable-debug-command", "yes"]);
    let mut m = RawConnection::connect(master.port).expect("connect");
    writes(&mut m, "before", 200);
    let replica = TesseraNode::start(&AOF);
    tessera_tests::replication::follow(replica.port, master.port);
    let mut c = replica.raw();
    assert!(
        wait_until(Duration::from_secs(20), || info(&mut c, "aof_rewrites")
            .is_some_and(|n| n != "0")
            && info(&mut c, "aof_rewrite_in_progress").as_deref() == Some("0")),
        "the full sync became the AOF's base"
    );
    writes(&mut m, "after", 100);
    assert!(
        wait_until(Duration::from_secs(20), || {
            tessera_tests::replication::caught_up(replica.port, master.port)
        }),
        "the replica caught up"
    );
    let want = digest(&mut m);
    assert_eq!(digest(&mut c), want);
    drop(master);
    let replica = replica.restart();
    let mut c = replica.raw();
    assert_eq!(
        digest(&mut c),
        want,
        "the replica's AOF alone holds the data"
    );
}

#[test]
fn config_set_turns_the_aof_off_and_on() {
    let node = TesseraNode::start(&["--enable-debug-command", "yes"]);
    let mut c = node.raw();
    writes(&mut c, "off", 100);
    let enabled = |c: &mut RawConnection| info(c, "aof_enabled");
    assert_eq!(enabled(&mut c).as_deref(), Some("0"));
    assert_eq!(
        text(
            &c.command(&["CONFIG", "SET", "appendonly", "yes"])
                .expect("SET")
        ),
        "OK"
    );
    assert!(
        wait_until(Duration::from_secs(20), || enabled(&mut c).as_deref()
            == Some("1")),
        "the AOF turned on"
    );
    writes(&mut c, "on", 100);
    assert_eq!(
        text(
            &c.command(&["CONFIG", "SET", "appendonly", "no"])
                .expect("SET")
        ),
        "OK"
    );
    assert!(
        wait_until(Duration::from_secs(20), || enabled(&mut c).as_deref()
            == Some("0")),
        "the AOF turned off"
    );
    assert_eq!(
        text(
            &c.command(&["CONFIG", "SET", "appendonly", "yes"])
                .expect("SET")
        ),
        "OK"
    );
    assert!(
        wait_until(Duration::from_secs(20), || enabled(&mut c).as_deref()
            == Some("1")),
        "the AOF turned on again"
    );
    writes(&mut c, "again", 100);
    let want = digest(&mut c);
    let dir = node.stop();
    let node = TesseraNode::start_in_dir(dir, &AOF);
    let mut c = node.raw();
    assert_eq!(
        digest(&mut c),
        want,
        "the AOF turned on at runtime holds everything"
    );
}
