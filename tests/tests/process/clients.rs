//! Real client libraries and tools against a node, and clients that misbehave.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;
use tessera_resp::frame::Frame;
use tessera_tests::wire::{bulk, error, simple};
use tessera_tests::{TesseraNode, redis_cli, text, wait_until};

#[test]
fn redis_crate_pipelines_ten_thousand_keys() {
    let node = TesseraNode::start(&[]);
    let mut con = node.client();
    let mut pipe = redis::pipe();
    for i in 0..10_000 {
        pipe.cmd("SET")
            .arg(format!("key:{i}"))
            .arg(format!("value:{i}"))
            .ignore();
    }
    pipe.query::<()>(&mut con).unwrap();
    let mut pipe = redis::pipe();
    for i in 0..10_000 {
        pipe.cmd("GET").arg(format!("key:{i}"));
    }
    let values: Vec<String> = pipe.query(&mut con).unwrap();
    assert_eq!(values.len(), 10_000);
    assert!(
        values
            .iter()
            .enumerate()
            .all(|(i, v)| *v == format!("value:{i}"))
    );
    let size: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(size, 10_000);

    let keys: Vec<String> = (0..100).map(|i| format!("{{tag}}:{i}")).collect();
    let mut mset = redis::cmd("MSET");
    for k in &keys {
        mset.arg(k).arg(k.to_uppercase());
    }
    mset.query::<()>(&mut con).unwrap();
    let got: Vec<Option<String>> = redis::cmd("MGET")
        .arg(&keys)
        .arg("nokey")
        .query(&mut con)
        .unwrap();
    assert_eq!(got.len(), 101);
    assert!(
        got[..100]
            .iter()
            .zip(&keys)
            .all(|(v, k)| v.as_deref() == Some(&k.to_uppercase()))
    );
    assert_eq!(got[100], None);

    let n: i64 = redis::cmd("INCRBY")
        .arg("counter")
        .arg(5)
        .query(&mut con)
        .unwrap();
    assert_eq!(n, 5);
    let f: f64 = redis::cmd("INCRBYFLOAT")
        .arg("counter")
        .arg(0.5)
        .query(&mut con)
        .unwrap();
    assert_eq!(f, 5.5);
}

#[test]
fn one_write_carries_a_whole_pipeline_and_all_replies_come_back_in_order() {
    let node = TesseraNode::start(&[]);
    let mut c = node.raw();
    let mut batch = Vec::new();
    for i in 0..2000 {
        batch.extend(Frame::command([
            &b"SET"[..],
            format!("k{i}").as_bytes(),
            format!("{i}").as_bytes(),
        ]));
        batch.extend(Frame::command([&b"INCR"[..], format!("k{i}").as_bytes()]));
    }
    batch.extend(b"PING\r\n");
    c.send(&batch).unwrap();
    for i in 0..2000i64 {
        assert_eq!(c.read_frame().unwrap(), simple("OK"));
        assert_eq!(c.read_frame().unwrap(), Frame::Integer(i + 1));
    }
    assert_eq!(c.read_frame().unwrap(), simple("PONG"));
}

#[test]
fn large_values_round_trip() {
    let node = TesseraNode::start(&[]);
    let mut c = node.raw();
    let value: Vec<u8> = (0..20 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    assert_eq!(
        c.command_bytes(&[b"SET", b"big", &value]).unwrap(),
        simple("OK")
    );
    assert_eq!(
        c.command_bytes(&[b"GET", b"big"]).unwrap(),
        Frame::Bulk(value.clone())
    );
    assert_eq!(
        c.command(&["STRLEN", "big"]).unwrap(),
        Frame::Integer(value.len() as i64)
    );
    assert_eq!(
        c.command(&["APPEND", "big", "tail"]).unwrap(),
        Frame::Integer(value.len() as i64 + 4)
    );
}

#[test]
fn a_misbehaving_client_does_not_disturb_the_others() {
    let node = TesseraNode::start(&["--client-query-buffer-limit", "1mb"]);
    let mut good = node.raw();
    assert_eq!(good.command(&["SET", "k", "v"]).unwrap(), simple("OK"));

    let mut garbage = node.raw();
    garbage.send(b"*2\r\n$3\r\nGET\r\n:nonsense\r\n").unwrap();
    let closed = garbage.read_until_closed(Duration::from_secs(5)).unwrap();
    assert_eq!(closed, b"-ERR Protocol error: expected '$', got ':'\r\n");

    let mut oversized = node.raw();
    oversized
        .send(b"*2\r\n$3\r\nSET\r\n$600000000\r\n")
        .unwrap();
    let closed = oversized.read_until_closed(Duration::from_secs(5)).unwrap();
    assert_eq!(closed, b"-ERR Protocol error: invalid bulk length\r\n");

    // A bulk within proto-max-bulk-len but beyond the query buffer limit: closed, no reply.
    let mut hog = node.raw();
    let mut flood = b"*3\r\n$3\r\nSET\r\n$1\r\nh\r\n$5000000\r\n".to_vec();
    flood.extend(vec![b'x'; 2_000_000]);
    let _ = hog.send(&flood);
    let closed = hog.read_until_closed(Duration::from_secs(5)).unwrap();
    assert!(closed.is_empty(), "{:?}", String::from_utf8_lossy(&closed));

    let mut random = node.raw();
    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let _ = random.send(&noise);
    let _ = random.read_until_closed(Duration::from_secs(5));

    // The well-behaved client, connected all along, is still served.
    assert_eq!(good.command(&["GET", "k"]).unwrap(), bulk("v"));
    assert_eq!(node.raw().command(&["GET", "k"]).unwrap(), bulk("v"));
}

#[test]
fn resp3_through_hello() {
    let node = TesseraNode::start(&[]);
    let mut c = node.raw();
    let hello = c.command(&["HELLO", "3", "SETNAME", "tester"]).unwrap();
    let Frame::Map(fields) = hello else {
        panic!("HELLO 3 answers a map, got {hello:?}")
    };
    assert!(fields.contains(&(bulk("proto"), Frame::Integer(3))));
    assert_eq!(c.command(&["GET", "nokey"]).unwrap(), Frame::Null);
    assert_eq!(c.command(&["CLIENT", "GETNAME"]).unwrap(), bulk("tester"));
    assert!(matches!(
        c.command(&["CONFIG", "GET", "port"]).unwrap(),
        Frame::Map(_)
    ));
    assert!(matches!(
        c.command(&["INFO", "server"]).unwrap(),
        Frame::Verbatim(..)
    ));
    assert_eq!(c.command(&["HELLO", "2"]).unwrap().clone(), {
        let again = node.raw().command(&["HELLO", "2"]).unwrap();
        match again {
            Frame::Array(mut items) => {
                // Only the connection id differs.
                let me = c.command(&["CLIENT", "ID"]).unwrap();
                items[7] = me;
                Frame::Array(items)
            }
            other => other,
        }
    });
    assert_eq!(c.command(&["GET", "nokey"]).unwrap(), Frame::Null);
}

#[test]
fn redis_cli_one_shot_pipe_and_interactive() {
    let node = TesseraNode::start(&[]);
    let out = redis_cli(node.port, &["SET", "greeting", "hello world"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "OK");
    let out = redis_cli(node.port, &["GET", "greeting"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "hello world");

    // Mass insertion with --pipe.
    let mut input = Vec::new();
    for i in 0..5000 {
        input.extend(Frame::command([
            &b"SET"[..],
            format!("p{i}").as_bytes(),
            b"v",
        ]));
    }
    let mut child = Command::new("redis-cli")
        .args(["-p", &node.port.to_string(), "--pipe"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("errors: 0, replies: 5000"), "{report}");

    // Interactive redis-cli fetches COMMAND DOCS at start; TERM=dumb keeps linenoise
    // from querying the terminal.
    let mut child = Command::new("script")
        .args(["-qc", &format!("redis-cli -p {}", node.port), "/dev/null"])
        .env("TERM", "dumb")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"get greeting\nquit\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("\"hello world\""), "{shown}");
}

#[test]
fn redis_py_connects_and_works() {
    let node = TesseraNode::start(&[]);
    let script = format!(
        r#"
import redis
for proto in (2, 3):
    r = redis.Redis(port={port}, protocol=proto)
    assert r.ping()
    assert r.set("py", "1")
    assert r.incr("py") == 2
    assert r.get("py") == b"2"
    assert r.client_info()["lib-name"] == "redis-py", r.client_info()
    assert r.command()["get"]["arity"] == 2
    assert r.command_count() == len(r.command())
    assert sorted(r.scan_iter(match="py*")) == [b"py"]
    assert r.config_get("maxclients") == {{"maxclients": "10000"}}
    assert r.ttl("py") == -1 and r.expire("py", 100) and r.ttl("py") == 100
print("ok")
"#,
        port = node.port
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "ok",
        "redis-py failed (the test command installs it):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn auth_with_clients() {
    let node = TesseraNode::start(&["--requirepass", "pw"]);
    let out = redis_cli(
        node.port,
        &["-a", "pw", "--no-auth-warning", "SET", "a", "1"],
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "OK");
    let out = redis_cli(node.port, &["GET", "a"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("NOAUTH"));
    let mut con = redis::Client::open(format!("redis://:pw@127.0.0.1:{}/", node.port))
        .unwrap()
        .get_connection()
        .unwrap();
    let v: String = redis::cmd("GET").arg("a").query(&mut con).unwrap();
    assert_eq!(v, "1");
    assert!(
        redis::Client::open(format!("redis://:wrong@127.0.0.1:{}/", node.port))
            .unwrap()
            .get_connection()
            .is_err()
    );
}

#[test]
fn client_commands() {
    let node = TesseraNode::start(&[]);
    let mut me = node.raw();
    let mut other = node.raw();
    assert_eq!(
        other.command(&["CLIENT", "SETNAME", "victim"]).unwrap(),
        simple("OK")
    );
    let Frame::Integer(other_id) = other.command(&["CLIENT", "ID"]).unwrap() else {
        panic!("CLIENT ID is an integer")
    };
    let list = text(&me.command(&["CLIENT", "LIST"]).unwrap());
    assert!(list.contains("name=victim"), "{list}");
    assert!(list.contains("cmd=client|list"), "{list}");
    assert_eq!(
        me.command(&["CLIENT", "KILL", "ID", &other_id.to_string()])
            .unwrap(),
        Frame::Integer(1)
    );
    other
        .read_until_closed(Duration::from_secs(5))
        .expect("killed client is closed");
    assert!(!text(&me.command(&["CLIENT", "LIST"]).unwrap()).contains("name=victim"));

    // CLIENT REPLY OFF / SKIP / ON.
    me.send(b"CLIENT REPLY OFF\r\nSET a 1\r\nCLIENT REPLY ON\r\n")
        .unwrap();
    assert_eq!(me.read_frame().unwrap(), simple("OK"));
    me.send(b"CLIENT REPLY SKIP\r\nGET a\r\nGET a\r\n").unwrap();
    assert_eq!(me.read_frame().unwrap(), bulk("1"));
    assert_eq!(
        me.command(&["CLIENT", "SETINFO", "LIB-NAME", "mylib"])
            .unwrap(),
        simple("OK")
    );
    assert!(text(&me.command(&["CLIENT", "INFO"]).unwrap()).contains("lib-name=mylib"));
    assert_eq!(
        me.command(&["CLIENT", "SETINFO", "FOO", "x"]).unwrap(),
        error("ERR Unrecognized option 'FOO'")
    );
    // QUIT replies and closes.
    me.send(b"QUIT\r\n").unwrap();
    assert_eq!(
        me.read_until_closed(Duration::from_secs(5)).unwrap(),
        b"+OK\r\n"
    );
}

#[test]
fn debug_sleep_freezes_every_client() {
    let node = TesseraNode::start(&["--enable-debug-command", "yes"]);
    let mut sleeper = node.raw();
    let mut other = node.raw();
    sleeper.send(b"DEBUG SLEEP 2\r\n").unwrap();
    // Until the pause takes effect PINGs come back at once; once it does, a PING is held
    // for most of the two seconds. Seeing one held proves the whole server froze.
    let held = wait_until(Duration::from_secs(10), || {
        let sent = std::time::Instant::now();
        other.command(&["PING"]).unwrap() == simple("PONG")
            && sent.elapsed() >= Duration::from_millis(500)
    });
    assert!(held, "a client's PING waited for DEBUG SLEEP");
    assert_eq!(sleeper.read_frame().unwrap(), simple("OK"));
    let refused = TesseraNode::start(&[])
        .raw()
        .command(&["DEBUG", "SLEEP", "0"])
        .unwrap();
    assert!(text(&refused).starts_with("ERR DEBUG command not allowed"));
}

#[test]
fn keys_expire_actively_and_lazily() {
    let node = TesseraNode::start(&["--enable-debug-command", "yes", "--hz", "50"]);
    let mut c = node.raw();
    // Active: keys nobody reads are reclaimed (DBSIZE counts unreclaimed keys).
    let mut batch = Vec::new();
    for i in 0..2000 {
        batch.extend(Frame::command([
            &b"SET"[..],
            format!("v{i}").as_bytes(),
            b"x",
            b"PX",
            b"100",
        ]));
    }
    for i in 0..100 {
        batch.extend(Frame::command([
            &b"SET"[..],
            format!("p{i}").as_bytes(),
            b"x",
        ]));
    }
    c.send(&batch).unwrap();
    for _ in 0..2100 {
        c.read_frame().unwrap();
    }
    assert!(
        wait_until(Duration::from_secs(10), || {
            c.command(&["DBSIZE"]).unwrap() == Frame::Integer(100)
        }),
        "active expiry reclaims every volatile key"
    );
    let stats = text(&c.command(&["INFO", "stats"]).unwrap());
    assert!(stats.contains("expired_keys:2000\r"), "{stats}");

    // Lazy: with the active cycle off, an expired key is still counted until touched.
    assert_eq!(
        c.command(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]).unwrap(),
        simple("OK")
    );
    assert_eq!(
        c.command(&["SET", "lazy", "x", "PX", "50"]).unwrap(),
        simple("OK")
    );
    assert!(wait_until(Duration::from_secs(5), || {
        c.command(&["PTTL", "lazy"]).unwrap() == Frame::Integer(-2)
    }));
    assert_eq!(c.command(&["GET", "lazy"]).unwrap(), Frame::Null);
    assert_eq!(c.command(&["DBSIZE"]).unwrap(), Frame::Integer(100));
    // TTL counts down.
    c.command(&["SET", "t", "x", "EX", "100"]).unwrap();
    let Frame::Integer(ttl) = c.command(&["PTTL", "t"]).unwrap() else {
        panic!("PTTL is an integer")
    };
    assert!((90_000..=100_000).contains(&ttl), "{ttl}");
}

#[test]
fn scan_visits_every_key_while_keys_are_added() {
    let node = TesseraNode::start(&[]);
    let mut con = node.client();
    let mut pipe = redis::pipe();
    for i in 0..3000 {
        pipe.cmd("SET").arg(format!("s{i}")).arg(1).ignore();
    }
    pipe.query::<()>(&mut con).unwrap();
    let mut seen = std::collections::HashSet::new();
    let mut cursor = 0u64;
    let mut round = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(50)
            .query(&mut con)
            .unwrap();
        seen.extend(keys);
        round += 1;
        if round == 5 {
            let mut pipe = redis::pipe();
            for i in 0..3000 {
                pipe.cmd("SET").arg(format!("added{i}")).arg(1).ignore();
            }
            pipe.query::<()>(&mut con).unwrap();
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
    assert!(
        (0..3000).all(|i| seen.contains(&format!("s{i}"))),
        "every original key is returned"
    );
}
