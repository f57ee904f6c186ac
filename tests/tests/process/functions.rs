//! Functions against redis-server 7.0.15: FUNCTION LOAD's metadata and load-time
//! errors, register_function's forms and flags, FCALL and FCALL_RO, LIST, STATS,
//! DELETE, FLUSH, DUMP and RESTORE, compared reply by reply over RESP2 and RESP3; DUMP
//! payloads restored across the two servers both ways; libraries reaching replicas
//! both ways and surviving a restart from the RDB; BUSY and FUNCTION KILL.

use std::time::Duration;

use super::twins::Twins;
use tessera_resp::frame::Frame;
use tessera_tests::replication::follow;
use tessera_tests::{RawConnection, RedisServer, TesseraNode, text, wait_until};

/// A library with one function (so FUNCTION LIST's order is Redis's too).
fn lib(name: &str, body: &str) -> String {
    format!("#!lua name={name}\n{body}")
}

/// FUNCTION LOAD cases: metadata, load-time sandbox and register_function errors.
fn load_cases() -> Vec<String> {
    let reg =
        |f: &str| format!("redis.register_function('{f}', function(keys, args) return 1 end)");
    vec![
        "return 1".into(),
        "#!lua".into(),
        "#!lua name=a name=b\n".into(),
        "#!lua foo=bar\n".into(),
        "#!lua\n".into(),
        "#!js name=x\n".into(),
        "#!lua name=bad-name\n".into(),
        "#!lua name= \n".into(),
        lib("e1", ""),
        lib("e2", "redis.register_function('bad-f', function() end)"),
        lib(
            "e3",
            "redis.register_function('a', function() end) redis.register_function('a', function() end)",
        ),
        lib(
            "e5",
            "redis.register_function{function_name='q', callback=function() end, flags={'bogus'}}",
        ),
        lib(
            "e6",
            "redis.register_function{function_name='q', callback=function() end, foo=1}",
        ),
        lib("e7", "redis.register_function{callback=function() end}"),
        lib("e8", "redis.register_function{function_name='q'}"),
        lib("e9", "redis.register_function('q')"),
        lib("e10", "redis.register_function(1, 2, 3)"),
        lib("e11", "redis.register_function()"),
        lib("e13", "local s = string.format('%d', 1)"),
        lib("e14", "redis.call('ping')"),
        lib("e16", "redis.setresp(3)"),
        lib("e17", "x = 1"),
        lib("e18", "syntax error"),
        lib("e19", "local t = math.random()"),
        lib("e20", "local t = cjson"),
        lib(
            "e21",
            "redis.register_function{function_name='q', callback=function() end, flags='no-writes'}",
        ),
        lib(
            "e23",
            "redis.register_function{function_name='q', callback=1}",
        ),
        lib("e25", "redis.register_function({'q'})"),
        lib("e26", "redis.register_function(1)"),
        lib("e28", "return redis.register_function"),
        lib("e30", "pcall(print)"),
        lib("e31", "local ok = tostring(1)"),
        lib("e32", "while true do end"),
        // Libraries that load.
        lib("up", &reg("Up")),
        lib("up", &reg("up2")),
        lib("clash", &reg("UP")),
        lib(
            "logs",
            "redis.log(redis.LOG_NOTICE, 'hi') redis.register_function('ver', function() return redis.REDIS_VERSION end)",
        ),
        lib(
            "named",
            "redis.register_function{function_name=12, callback=function() return 12 end, description=3}",
        ),
        lib(
            "flagged",
            "redis.register_function{function_name='flagged', callback=function(keys) return redis.call('get', keys[1]) end, flags={'NO-WRITES', 'allow-oom', 'allow-stale', 'no-cluster', 'allow-cross-slot-keys'}, description='all of them'}",
        ),
        lib(
            "rw",
            "redis.register_function('rw', function(keys, args) redis.call('set', keys[1], args[1]) return redis.call('get', keys[1]) end)",
        ),
        lib(
            "ro",
            "redis.register_function{function_name='ro', callback=function(keys, args) return redis.call('set', keys[1], args[1]) end, flags={'no-writes'}}",
        ),
        lib(
            "errs",
            "redis.register_function('errs', function(keys, args)\n  if args[1] == 'global' then return x end\n  if args[1] == 'error' then error('boom') end\n  if args[1] == 'call' then return redis.call('nosuch') end\n  if args[1] == 'keys' then return KEYS end\n  if args[1] == 'register' then return redis.register_function end\n  return {type(keys), #keys, #args, redis.setresp(3), redis.call('hello', '3')['proto']}\nend)",
        ),
    ]
}

fn run_corpus(t: &mut Twins) {
    for line in [
        "FUNCTION FLUSH",
        "FLUSHALL",
        "FUNCTION STATS",
        "FUNCTION LIST",
    ] {
        t.exact_line(line);
    }
    for code in load_cases() {
        t.exact(&[b"FUNCTION", b"LOAD", code.as_bytes()]);
    }
    let replace = lib(
        "up",
        "redis.register_function('up', function() return 'replaced' end)",
    );
    for case in [
        &["FUNCTION", "LOAD"][..],
        &["FUNCTION", "LOAD", "REPLACE"],
        &["FUNCTION", "LOAD", "foo", "#!lua name=x"],
        &["FUNCTION", "LOAD", "REPLACE", &replace],
        &["FUNCTION", "LOAD", "replace", "REPLACE", &replace],
        &["FCALL", "up", "0"],
        &["FCALL", "UP2", "0"],
        &["FCALL", "12", "0"],
        &["FCALL", "ver", "0"],
        &["FCALL", "rw", "1", "k", "v"],
        &["FCALL_RO", "rw", "1", "k", "v"],
        &["FCALL_RO", "flagged", "1", "k"],
        &["FCALL", "flagged", "1", "k"],
        &["FCALL_RO", "ro", "1", "k", "v2"],
        &["FCALL", "ro", "1", "k", "v2"],
        &["FCALL", "errs", "0", "global"],
        &["FCALL", "errs", "0", "error"],
        &["FCALL", "errs", "0", "call"],
        &["FCALL", "errs", "0", "keys"],
        &["FCALL", "errs", "0", "register"],
        &["FCALL", "errs", "2", "a", "b", "c"],
        &["FCALL", "nosuch", "0"],
        &["FCALL", "nosuch", "x"],
        &["FCALL", "up", "x"],
        &["FCALL", "up", "5", "a"],
        &["FCALL", "up", "-1"],
        &["FCALL", "up"],
        &["FUNCTION", "LIST", "LIBRARYNAME", "up"],
        &["FUNCTION", "LIST", "libraryname", "f*", "withcode"],
        &["FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "nam?d"],
        &["FUNCTION", "LIST", "LIBRARYNAME", "none*"],
        &["FUNCTION", "LIST", "foo"],
        &["FUNCTION", "LIST", "LIBRARYNAME"],
        &["FUNCTION", "LIST", "WITHCODE", "WITHCODE"],
        &["MULTI"],
        &["FCALL", "rw", "1", "k", "in-multi"],
        &["FCALL", "nosuch", "0"],
        &["FCALL_RO", "flagged", "1", "k"],
        &["EXEC"],
        &["FUNCTION", "STATS"],
        &["FUNCTION", "STATS", "x"],
        &["FUNCTION", "DELETE", "nosuch"],
        &["FUNCTION", "DELETE", "UP"],
        &["FUNCTION", "DELETE", "up"],
        &["FCALL", "up", "0"],
        &["FUNCTION", "DELETE"],
        &["FUNCTION", "KILL"],
        &["FUNCTION", "HELP"],
        &["FUNCTION", "FLUSH", "x"],
        &["FUNCTION", "FLUSH", "a", "b"],
        &["FUNCTION", "RESTORE", "x"],
        &["FUNCTION", "RESTORE", "x", "y"],
        &["FUNCTION", "RESTORE", "x", "y", "z"],
        &["FUNCTION", "NOSUCH"],
        &["FUNCTION", "FLUSH", "SYNC"],
        &["FUNCTION", "LIST"],
        &["FUNCTION", "STATS"],
    ] {
        let args: Vec<&[u8]> = case.iter().map(|a| a.as_bytes()).collect();
        t.exact(&args);
    }
    // DUMP of one library is byte for byte Redis's; RESTORE's policies and errors.
    t.exact(&[b"FUNCTION", b"DUMP"]);
    t.exact(&[
        b"FUNCTION",
        b"LOAD",
        lib(
            "one",
            "redis.register_function('one', function() return 1 end)",
        )
        .as_bytes(),
    ]);
    let dump = t.exact(&[b"FUNCTION", b"DUMP"]);
    let Frame::Bulk(payload) = dump else {
        panic!("FUNCTION DUMP answered {dump:?}")
    };
    let mut corrupt = payload.clone();
    corrupt[3] ^= 0x55;
    for case in [
        &[&b"FUNCTION"[..], b"RESTORE", &payload][..],
        &[b"FUNCTION", b"RESTORE", &payload, b"APPEND"],
        &[b"FUNCTION", b"RESTORE", &payload, b"BOGUS"],
        &[b"FUNCTION", b"RESTORE", &corrupt],
        &[b"FUNCTION", b"RESTORE", &payload, b"REPLACE"],
        &[b"FUNCTION", b"FLUSH", b"ASYNC"],
        &[b"FUNCTION", b"RESTORE", &payload, b"FLUSH"],
        &[b"FUNCTION", b"LIST", b"WITHCODE"],
        &[b"FCALL", b"one", b"0"],
    ] {
        t.exact(case);
    }
}

#[test]
fn functions_match_redis() {
    let redis = RedisServer::start(&[]);
    let tessera = TesseraNode::start(&[]);
    let mut t = Twins::connect(redis.port, tessera.port);
    for proto in [0, 1] {
        t.proto = proto;
        run_corpus(&mut t);
        t.assert_clean(&format!("functions corpus, RESP{}", proto + 2));
    }
    for field in ["number_of_functions", "number_of_libraries"] {
        let info = |port| tessera_tests::replication::info(port, field);
        assert_eq!(info(tessera.port), info(redis.port), "INFO {field}");
    }
}

/// Loads two libraries on `from`, restores its DUMP on `to`, and checks `to` lists
/// them with their code.
fn dump_and_restore(from: u16, to: u16) {
    let mut src = RawConnection::connect(from).expect("connect");
    let mut dst = RawConnection::connect(to).expect("connect");
    for (name, f) in [("cross1", "c1"), ("cross2", "c2")] {
        let code = lib(
            name,
            &format!("redis.register_function('{f}', function() return '{name}' end)"),
        );
        src.command(&["FUNCTION", "LOAD", "REPLACE", &code])
            .expect("LOAD");
    }
    let payload = src.command(&["FUNCTION", "DUMP"]).expect("DUMP");
    let Frame::Bulk(payload) = payload else {
        panic!("{payload:?}")
    };
    let restored = dst
        .command_bytes(&[b"FUNCTION", b"RESTORE", &payload, b"FLUSH"])
        .expect("RESTORE");
    assert_eq!(text(&restored), "OK", "{from} -> {to}");
    for (f, want) in [("c1", "cross1"), ("c2", "cross2")] {
        assert_eq!(
            dst.command(&["FCALL", f, "0"]).expect("FCALL"),
            Frame::Bulk(want.as_bytes().to_vec())
        );
    }
    let listed = |c: &mut RawConnection, name: &str| {
        c.command(&["FUNCTION", "LIST", "LIBRARYNAME", name, "WITHCODE"])
            .expect("LIST")
    };
    for name in ["cross1", "cross2"] {
        assert_eq!(listed(&mut src, name), listed(&mut dst, name), "{name}");
    }
}

#[test]
fn dump_payloads_cross_between_redis_and_tessera() {
    let redis = RedisServer::start(&[]);
    let tessera = TesseraNode::start(&[]);
    dump_and_restore(redis.port, tessera.port);
    let mut r = RawConnection::connect(redis.port).expect("connect");
    r.command(&["FUNCTION", "FLUSH"]).expect("FLUSH");
    dump_and_restore(tessera.port, redis.port);
}

/// The functions of `port`'s library `name` when it is loaded there.
fn has_library(port: u16, name: &str) -> bool {
    let Ok(mut c) = RawConnection::connect(port) else {
        return false;
    };
    matches!(
        c.command(&["FUNCTION", "LIST", "LIBRARYNAME", name]),
        Ok(Frame::Array(libs)) if libs.len() == 1
    )
}

/// A library loaded on a master (before the replica follows, so through the RDB of
/// the full sync, and after, through the stream) appears on the replica; FCALL's
/// writes follow; FUNCTION DELETE follows too. Both ways between the two servers.
#[test]
fn libraries_reach_replicas_both_ways() {
    let tessera_master = TesseraNode::start(&[]);
    let redis_master = RedisServer::start(&["--repl-diskless-sync-delay", "0"]);
    let tessera_replica = TesseraNode::start(&[]);
    let redis_replica = RedisServer::start(&["--repl-diskless-sync-delay", "0"]);
    for (master, replica) in [
        (redis_master.port, tessera_replica.port),
        (tessera_master.port, redis_replica.port),
    ] {
        let mut m = RawConnection::connect(master).expect("connect");
        let set = "redis.register_function('setit', function(keys, args) return redis.call('set', keys[1], args[1]) end)";
        m.command(&["FUNCTION", "LOAD", &lib("before", set)])
            .expect("LOAD");
        follow(replica, master);
        assert!(
            has_library(replica, "before"),
            "full sync {master} -> {replica}"
        );
        let get = "redis.register_function('getit', function(keys) return redis.call('get', keys[1]) end)";
        m.command(&["FUNCTION", "LOAD", &lib("after", get)])
            .expect("LOAD");
        assert_eq!(
            text(
                &m.command(&["FCALL", "setit", "1", "k", "v"])
                    .expect("FCALL")
            ),
            "OK"
        );
        m.command(&["FUNCTION", "DELETE", "before"])
            .expect("DELETE");
        let gone = wait_until(Duration::from_secs(10), || {
            has_library(replica, "after") && !has_library(replica, "before")
        });
        assert!(gone, "stream {master} -> {replica}");
        let mut r = RawConnection::connect(replica).expect("connect");
        // A function without no-writes is refused on a read-only replica, even by
        // FCALL_RO (Redis checks the replica first).
        for command in ["FCALL", "FCALL_RO"] {
            assert_eq!(
                r.command(&[command, "getit", "1", "k"]).expect("FCALL"),
                Frame::Error(b"READONLY You can't write against a read only replica.".to_vec())
            );
        }
        assert_eq!(
            r.command(&["GET", "k"]).expect("GET"),
            Frame::Bulk(b"v".to_vec())
        );
    }
}

/// Libraries are saved in the RDB: a restart keeps them, redis-server loads the file
/// Tessera wrote, and Tessera the file redis-server wrote.
#[test]
fn libraries_survive_a_restart_and_load_in_redis() {
    let node = TesseraNode::start(&[]);
    let code = lib(
        "kept",
        "redis.register_function{function_name='kept', callback=function() return 'still here' end, flags={'no-writes'}, description='d'}",
    );
    let mut c = node.raw();
    c.command(&["FUNCTION", "LOAD", &code]).expect("LOAD");
    assert_eq!(text(&c.command(&["SAVE"]).expect("SAVE")), "OK");
    let want = c.command(&["FUNCTION", "LIST", "WITHCODE"]).expect("LIST");
    drop(c);
    let node = node.restart();
    let mut c = node.raw();
    assert_eq!(
        c.command(&["FUNCTION", "LIST", "WITHCODE"]).expect("LIST"),
        want
    );
    assert_eq!(
        c.command(&["FCALL_RO", "kept", "0"]).expect("FCALL_RO"),
        Frame::Bulk(b"still here".to_vec())
    );
    let rdb = node.dir.path().join("dump.rdb");
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(&rdb, dir.path().join("dump.rdb")).expect("copy the RDB");
    let redis = RedisServer::start_in(dir, &[]);
    let mut r = RawConnection::connect(redis.port).expect("connect");
    assert_eq!(
        r.command(&["FUNCTION", "LIST", "WITHCODE"]).expect("LIST"),
        want
    );
    // And the reverse: Tessera loads the file redis-server saves.
    let more = lib(
        "saved_by_redis",
        "redis.register_function('by_redis', function() return 'from redis' end)",
    );
    r.command(&["FUNCTION", "LOAD", &more]).expect("LOAD");
    assert_eq!(text(&r.command(&["SAVE"]).expect("SAVE")), "OK");
    drop(r);
    let (dir, _) = redis.stop();
    let node = TesseraNode::start_in_dir(dir, &[]);
    let mut c = node.raw();
    assert_eq!(
        c.command(&["FCALL", "by_redis", "0"]).expect("FCALL"),
        Frame::Bulk(b"from redis".to_vec())
    );
    assert!(has_library(node.port, "kept"));
}

/// A function past busy-reply-threshold: other clients get the function's BUSY text,
/// SCRIPT KILL refuses, FUNCTION STATS shows it, FUNCTION KILL stops it.
#[test]
fn busy_functions_and_function_kill() {
    let tessera = TesseraNode::start(&[]);
    let mut runner = tessera.raw();
    runner
        .command(&["CONFIG", "SET", "busy-reply-threshold", "100"])
        .expect("CONFIG SET");
    let spin = lib(
        "spin",
        "redis.register_function('spin', function() local i = 0 while true do i = i + 1 end end)",
    );
    runner.command(&["FUNCTION", "LOAD", &spin]).expect("LOAD");
    runner
        .send(&Frame::command([&b"FCALL"[..], b"spin", b"0"]))
        .expect("send");
    let mut other = super::scripting::free_thread_connection(tessera.port);
    let ask = super::scripting::ask;
    assert_eq!(
        ask(&mut other, "GET x"),
        "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
    );
    assert_eq!(
        ask(&mut other, "SCRIPT KILL"),
        "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
    );
    let stats = ask(&mut other, "FUNCTION STATS");
    assert!(
        stats.contains("running_script") && stats.contains("spin") && stats.contains("FCALL"),
        "{stats}"
    );
    assert_eq!(ask(&mut other, "FUNCTION KILL"), "+OK");
    let killed = text(&runner.read_frame().expect("the function's reply"));
    assert!(
        killed.starts_with(
            "ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:"
        ),
        "{killed}"
    );
    assert_eq!(text(&runner.command(&["PING"]).expect("PING")), "PONG");
    assert_eq!(
        ask(&mut other, "FUNCTION KILL"),
        "-NOTBUSY No scripts in execution right now."
    );
}

/// `redis-cli --cluster add-node` copies the cluster's functions to the new node
/// (FUNCTION DUMP on an existing node, FUNCTION RESTORE on the new one): from Tessera
/// to a new Tessera node, and from Tessera to a new redis-server.
#[test]
fn add_node_copies_functions() {
    use tessera_tests::cluster::{CLUSTER_ARGS, cluster_tool};
    let existing = TesseraNode::start(&CLUSTER_ARGS);
    super::twins::serve_every_slot(existing.port);
    let code = lib(
        "shared",
        "redis.register_function('shared', function() return 'copied' end)",
    );
    let mut c = existing.raw();
    c.command(&["FUNCTION", "LOAD", &code]).expect("LOAD");
    let entry = format!("127.0.0.1:{}", existing.port);
    let tessera = TesseraNode::start(&CLUSTER_ARGS);
    let redis = RedisServer::start(&CLUSTER_ARGS);
    for port in [tessera.port, redis.port] {
        // add-node refuses while the members disagree (the last newcomer settling).
        let agreed = wait_until(Duration::from_secs(20), || {
            let out = std::process::Command::new("redis-cli")
                .args(["--cluster", "check", &entry])
                .output()
                .expect("redis-cli --cluster check");
            out.status.success() && !String::from_utf8_lossy(&out.stdout).contains("[ERR]")
        });
        assert!(agreed, "the cluster agrees before adding {port}");
        let report = cluster_tool(&["add-node", &format!("127.0.0.1:{port}"), &entry]);
        assert!(
            report.contains("Getting functions from cluster"),
            "{report}"
        );
        let mut n = RawConnection::connect(port).expect("connect");
        assert_eq!(
            n.command(&["FCALL", "shared", "0"]).expect("FCALL"),
            Frame::Bulk(b"copied".to_vec()),
            "{report}"
        );
    }
}

/// The flags a function or an EVAL shebang declares replace the command's in the
/// node's refusals, as Redis 7.0's scriptFlagsToCmdFlags: over maxmemory only
/// `allow-oom` or `no-writes` run; on a stale replica that must not serve stale data
/// only `allow-stale` runs, and a writer gets READONLY first.
#[test]
fn declared_flags_decide_oom_and_stale_refusals() {
    let redis = RedisServer::start(&[]);
    let tessera = TesseraNode::start(&[]);
    let mut t = Twins::connect(redis.port, tessera.port);
    let code = lib(
        "decl",
        "redis.register_function{function_name='d_rw', callback=function() return 1 end}\n\
         redis.register_function{function_name='d_ro', callback=function() return 2 end, flags={'no-writes'}}\n\
         redis.register_function{function_name='d_oom', callback=function() return 3 end, flags={'allow-oom'}}\n\
         redis.register_function{function_name='d_stale', callback=function() return 4 end, flags={'no-writes', 'allow-stale'}}",
    );
    t.exact(&[b"FUNCTION", b"LOAD", code.as_bytes()]);
    let sha = text(&t.exact(&[b"SCRIPT", b"LOAD", b"#!lua\nreturn 1"]));
    let dead = tessera_tests::process::free_port().to_string();
    let calls: &[&[&str]] = &[
        &["FCALL", "d_rw", "0"],
        &["FCALL", "d_ro", "0"],
        &["FCALL", "d_oom", "0"],
        &["FCALL", "d_stale", "0"],
        &["EVAL", "#!lua\nreturn 1", "0"],
        &["EVAL", "#!lua flags=no-writes\nreturn 1", "0"],
        &["EVAL", "#!lua flags=no-writes,allow-stale\nreturn 1", "0"],
        &["EVAL", "return 1", "0"],
    ];
    let states: &[&[&[&str]]] = &[
        &[&["CONFIG", "SET", "maxmemory", "1"]],
        &[
            &["CONFIG", "SET", "maxmemory", "0"],
            &["CONFIG", "SET", "replica-serve-stale-data", "no"],
            &["REPLICAOF", "127.0.0.1", &dead],
        ],
    ];
    for state in states {
        for setup in *state {
            let args: Vec<&[u8]> = setup.iter().map(|a| a.as_bytes()).collect();
            t.exact(&args);
        }
        for call in calls {
            let args: Vec<&[u8]> = call.iter().map(|a| a.as_bytes()).collect();
            t.exact(&args);
        }
        t.exact(&[b"EVALSHA", sha.as_bytes(), b"0"]);
    }
    t.exact_line("REPLICAOF NO ONE");
    t.assert_clean("declared flags");
}

/// With the AOF on, FUNCTION LOAD and DELETE are logged as sent and replayed at
/// start; after BGREWRITEAOF the base file's RDB carries the libraries.
#[test]
fn libraries_survive_a_restart_from_the_aof() {
    let node = TesseraNode::start(&["--appendonly", "yes", "--save", ""]);
    let mut c = node.raw();
    let one = lib(
        "aof1",
        "redis.register_function('aof1', function() return 1 end)",
    );
    let two = lib(
        "aof2",
        "redis.register_function('aof2', function() return 2 end)",
    );
    for code in [&one, &two] {
        c.command(&["FUNCTION", "LOAD", code]).expect("LOAD");
    }
    c.command(&["FUNCTION", "DELETE", "aof1"]).expect("DELETE");
    drop(c);
    let node = node.restart();
    let mut c = node.raw();
    assert_eq!(
        c.command(&["FCALL", "aof2", "0"]).expect("FCALL"),
        Frame::Integer(2)
    );
    assert!(!has_library(node.port, "aof1"));
    c.command(&["BGREWRITEAOF"]).expect("BGREWRITEAOF");
    let rewritten = wait_until(Duration::from_secs(10), || {
        tessera_tests::replication::info(node.port, "aof_rewrite_in_progress").as_deref()
            == Some("0")
            && tessera_tests::replication::info(node.port, "aof_rewrites").as_deref() == Some("1")
    });
    assert!(rewritten, "BGREWRITEAOF finished");
    drop(c);
    let node = node.restart();
    let mut c = node.raw();
    assert_eq!(
        c.command(&["FCALL", "aof2", "0"]).expect("FCALL"),
        Frame::Integer(2)
    );
}

/// Cluster mode: FCALL's keys route as any command's (CROSSSLOT), a function's calls
/// keep to the declared keys' slot, `no-cluster` functions are refused and
/// `allow-cross-slot-keys` ones may cross slots.
#[test]
fn functions_keep_to_one_slot_in_a_cluster() {
    let args = ["--cluster-enabled", "yes"];
    let redis = RedisServer::start(&args);
    let tessera = TesseraNode::start(&args);
    for port in [redis.port, tessera.port] {
        super::twins::serve_every_slot(port);
    }
    let mut t = Twins::connect(redis.port, tessera.port);
    let code = lib(
        "clus",
        "redis.register_function('c_set', function(keys, args) return redis.call('set', keys[1], args[1]) end)\n\
         redis.register_function('c_get', function(keys, args) return redis.call('get', args[1]) end)\n\
         redis.register_function{function_name='c_nc', callback=function() return 1 end, flags={'no-cluster'}}\n\
         redis.register_function{function_name='c_cross', callback=function() redis.call('set', 'a', 1) return redis.call('set', 'b', 2) end, flags={'allow-cross-slot-keys'}}",
    );
    t.exact(&[b"FUNCTION", b"LOAD", code.as_bytes()]);
    let cases: &[&[&str]] = &[
        &["FCALL", "c_set", "1", "{a}x", "1"],
        &["FCALL", "c_set", "2", "a", "b", "1"],
        &["FCALL", "c_get", "1", "{a}x", "{a}y"],
        &["FCALL", "c_get", "0", "b"],
        &["FCALL", "c_nc", "0"],
        &["FCALL", "c_cross", "0"],
        &["MGET", "a", "{a}x"],
    ];
    for proto in [0, 1] {
        t.proto = proto;
        for case in cases {
            let args: Vec<&[u8]> = case.iter().map(|a| a.as_bytes()).collect();
            t.exact(&args);
        }
    }
    t.assert_clean("cluster functions");
}
