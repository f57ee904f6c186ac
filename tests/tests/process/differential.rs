//! The same commands sent to redis-server 7.0.15 and to Tessera must get the same
//! replies, frame for frame: reply types, error texts, edge cases. Only commands whose
//! answers are deterministic are compared; order-free replies are sorted first.

use tessera_resp::frame::Frame;
use tessera_tests::{RawConnection, RedisServer, TesseraNode, show};

/// How to compare one reply.
#[derive(Clone, Copy)]
enum Compare {
    Exact,
    /// An array whose order is unspecified (KEYS).
    Sorted,
    /// A SCAN reply: cursor 0 expected, keys in any order.
    ScanDone,
}

fn normalize(frame: Frame, how: Compare) -> Frame {
    fn sort(items: &mut [Frame]) {
        items.sort_by_key(|f| format!("{f:?}"));
    }
    match (how, frame) {
        (Compare::Sorted, Frame::Array(mut items)) => {
            sort(&mut items);
            Frame::Array(items)
        }
        (Compare::Sorted, Frame::Map(mut pairs)) => {
            pairs.sort_by_key(|p| format!("{p:?}"));
            Frame::Map(pairs)
        }
        (Compare::ScanDone, Frame::Array(mut parts)) if parts.len() == 2 => {
            if let Frame::Array(keys) = &mut parts[1] {
                sort(keys);
            }
            Frame::Array(parts)
        }
        (_, f) => f,
    }
}

/// The script: every line is one command. Keys are spread over slots on purpose.
const SCRIPT: &[(&str, Compare)] = &[
    ("FLUSHALL", Compare::Exact),
    // Connection.
    ("PING", Compare::Exact),
    ("PING hello", Compare::Exact),
    ("PING a b", Compare::Exact),
    ("ECHO", Compare::Exact),
    ("ECHO hi", Compare::Exact),
    ("SELECT 16", Compare::Exact),
    ("SELECT x", Compare::Exact),
    ("SELECT 1", Compare::Exact),
    ("SET indb1 x", Compare::Exact),
    ("SELECT 0", Compare::Exact),
    ("EXISTS indb1", Compare::Exact),
    ("HELLO 4", Compare::Exact),
    ("HELLO x", Compare::Exact),
    ("HELLO 2 FOO", Compare::Exact),
    ("HELLO 2 SETNAME", Compare::Exact),
    ("HELLO 2 AUTH default", Compare::Exact),
    ("AUTH x", Compare::Exact),
    ("AUTH a b", Compare::Exact),
    ("AUTH a b c", Compare::Exact),
    ("NOSUCHCOMMAND a b", Compare::Exact),
    ("CLIENT FOO", Compare::Exact),
    ("CLIENT", Compare::Exact),
    ("CLIENT SETNAME bad\u{1}name", Compare::Exact),
    ("CLIENT SETNAME good", Compare::Exact),
    ("CLIENT GETNAME", Compare::Exact),
    ("CLIENT REPLY maybe", Compare::Exact),
    ("CLIENT KILL 1.2.3.4:5", Compare::Exact),
    ("CLIENT KILL ID 999999", Compare::Exact),
    ("CLIENT KILL ID 0", Compare::Exact),
    ("CLIENT KILL TYPE bogus", Compare::Exact),
    ("CLIENT KILL ID 0 SKIPME", Compare::Exact),
    ("CLIENT KILL SKIPME maybe", Compare::Exact),
    ("CLIENT KILL USER nobody", Compare::Exact),
    ("CLIENT KILL BOGUS x", Compare::Exact),
    ("CLIENT LIST ID 999999", Compare::Exact),
    // Strings.
    ("SET k v EX 0", Compare::Exact),
    ("SET k v EX -1", Compare::Exact),
    ("SET k v EX abc", Compare::Exact),
    ("SET k v EX 1 PX 5", Compare::Exact),
    ("SET k v NX XX", Compare::Exact),
    ("SET k v KEEPTTL EX 5", Compare::Exact),
    ("SET k v EX 9999999999999999", Compare::Exact),
    ("SET k v PX 9223372036854775807", Compare::Exact),
    ("SET k v FOO", Compare::Exact),
    ("SET k v EX", Compare::Exact),
    ("SET k v EX 10 KEEPTTL", Compare::Exact),
    ("SET k v NX NX", Compare::Exact),
    ("SET k v ex 100 get", Compare::Exact),
    ("SET k v GET", Compare::Exact),
    ("SET k 1 GET NX", Compare::Exact),
    ("SET k 2 GET XX", Compare::Exact),
    ("SET k v EXAT 99999999999", Compare::Exact),
    ("EXPIRETIME k", Compare::Exact),
    ("SET k v KEEPTTL", Compare::Exact),
    ("PEXPIRETIME k", Compare::Exact),
    ("SET k 123", Compare::Exact),
    ("OBJECT ENCODING k", Compare::Exact),
    ("SET k 0123", Compare::Exact),
    ("OBJECT ENCODING k", Compare::Exact),
    ("SET k -0", Compare::Exact),
    ("OBJECT ENCODING k", Compare::Exact),
    (
        "SET k aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        Compare::Exact,
    ),
    ("OBJECT ENCODING k", Compare::Exact),
    (
        "SET k aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        Compare::Exact,
    ),
    ("OBJECT ENCODING k", Compare::Exact),
    ("APPEND k x", Compare::Exact),
    ("OBJECT ENCODING k", Compare::Exact),
    ("OBJECT ENCODING nokey", Compare::Exact),
    ("OBJECT FOO k", Compare::Exact),
    ("OBJECT", Compare::Exact),
    ("OBJECT ENCODING", Compare::Exact),
    ("GET k", Compare::Exact),
    ("GET nokey", Compare::Exact),
    ("GET", Compare::Exact),
    ("GET a b", Compare::Exact),
    ("SET n 10", Compare::Exact),
    ("INCR n", Compare::Exact),
    ("DECR n", Compare::Exact),
    ("OBJECT ENCODING n", Compare::Exact),
    ("INCRBY n abc", Compare::Exact),
    ("INCRBY n 9223372036854775807", Compare::Exact),
    ("DECRBY n -9223372036854775808", Compare::Exact),
    ("DECRBY n 5", Compare::Exact),
    ("INCRBYFLOAT n 1.5", Compare::Exact),
    ("OBJECT ENCODING n", Compare::Exact),
    ("INCRBYFLOAT n abc", Compare::Exact),
    ("INCRBYFLOAT n inf", Compare::Exact),
    ("SET f 10.50", Compare::Exact),
    ("INCRBYFLOAT f 0.1", Compare::Exact),
    ("INCRBYFLOAT f 1e3", Compare::Exact),
    ("INCRBYFLOAT f 5.0e3", Compare::Exact),
    ("INCRBYFLOAT f -6010.6", Compare::Exact),
    ("INCRBYFLOAT newfloat 3", Compare::Exact),
    ("SET big 1e400", Compare::Exact),
    ("INCRBYFLOAT big 1", Compare::Exact),
    ("SET s \" 12\"", Compare::Exact),
    ("INCR s", Compare::Exact),
    ("INCRBYFLOAT s 1", Compare::Exact),
    ("SET maxint 9223372036854775807", Compare::Exact),
    ("INCR maxint", Compare::Exact),
    ("GETRANGE k 0 -1", Compare::Exact),
    ("GETRANGE k -3 -1", Compare::Exact),
    ("GETRANGE k 5 2", Compare::Exact),
    ("GETRANGE k -1 -5", Compare::Exact),
    ("GETRANGE k 100 200", Compare::Exact),
    ("GETRANGE nokey 0 1", Compare::Exact),
    ("GETRANGE k a b", Compare::Exact),
    ("SETRANGE k 2 ZZ", Compare::Exact),
    ("SETRANGE k -1 x", Compare::Exact),
    ("SETRANGE k 536870912 x", Compare::Exact),
    ("SETRANGE k 536870911 \"\"", Compare::Exact),
    ("SETRANGE nk 3 ab", Compare::Exact),
    ("GET nk", Compare::Exact),
    ("SETRANGE nk2 0 \"\"", Compare::Exact),
    ("EXISTS nk2", Compare::Exact),
    ("STRLEN k", Compare::Exact),
    ("STRLEN nokey", Compare::Exact),
    ("MSET a 1 b", Compare::Exact),
    ("MSET a 1 b 2 {a}c 3", Compare::Exact),
    ("MSETNX a 1 c 3", Compare::Exact),
    ("MSETNX x1 1 x2 2", Compare::Exact),
    ("MGET a b c nokey x1 x2", Compare::Exact),
    ("GETSET a 5", Compare::Exact),
    ("GETSET newkey 5", Compare::Exact),
    ("GETDEL a", Compare::Exact),
    ("GETDEL a", Compare::Exact),
    ("GETEX b EX 100", Compare::Exact),
    ("TTL b", Compare::Exact),
    ("GETEX b PERSIST", Compare::Exact),
    ("TTL b", Compare::Exact),
    ("GETEX b FOO", Compare::Exact),
    ("GETEX b EX", Compare::Exact),
    ("GETEX b PERSIST x", Compare::Exact),
    ("GETEX b EX 10 PX 10", Compare::Exact),
    ("EXPIRE b 10 FOO", Compare::Exact),
    ("EXPIRE b 10 NX XX", Compare::Exact),
    ("EXPIRE b 10 GT LT", Compare::Exact),
    ("EXPIRE b 10 xx", Compare::Exact),
    ("SCAN 0 COUNT 0", Compare::Exact),
    ("SCAN 0 COUNT x", Compare::Exact),
    ("SCAN 0 MATCH", Compare::Exact),
    ("SCAN 0 FOO bar", Compare::Exact),
    ("GETEX b EX 10 PX 10", Compare::Exact),
    ("GETEX b EX 0", Compare::Exact),
    ("GETEX b EXAT 1", Compare::Exact),
    ("EXISTS b", Compare::Exact),
    ("GETEX nokey", Compare::Exact),
    ("SETEX b 0 x", Compare::Exact),
    ("SETEX b -5 x", Compare::Exact),
    ("SETEX b abc x", Compare::Exact),
    ("SETEX b 100 x", Compare::Exact),
    ("TTL b", Compare::Exact),
    ("PSETEX b 0 x", Compare::Exact),
    ("SETNX b y", Compare::Exact),
    ("SETNX fresh y", Compare::Exact),
    // Expiry.
    ("SET e v", Compare::Exact),
    ("EXPIRE e 100 NX XX", Compare::Exact),
    ("EXPIRE e 100 GT LT", Compare::Exact),
    ("EXPIRE e 100 FOO", Compare::Exact),
    ("EXPIRE e abc", Compare::Exact),
    ("EXPIRE nokey 10", Compare::Exact),
    ("EXPIRE e 10 GT", Compare::Exact),
    ("EXPIRE e 10 XX", Compare::Exact),
    ("EXPIRE e 100 XX LT", Compare::Exact),
    // Absolute deadlines keep GT/LT comparisons independent of timing.
    ("EXPIREAT e 99999999990 LT", Compare::Exact),
    ("EXPIREAT e 99999999990 GT", Compare::Exact),
    ("EXPIREAT e 99999999999 GT", Compare::Exact),
    ("EXPIREAT e 99999999980 LT", Compare::Exact),
    ("EXPIREAT e 99999999985 XX GT", Compare::Exact),
    ("EXPIRE e 60 NX", Compare::Exact),
    ("EXPIRETIME e", Compare::Exact),
    ("PERSIST e", Compare::Exact),
    ("PERSIST e", Compare::Exact),
    ("PERSIST nokey", Compare::Exact),
    ("TTL e", Compare::Exact),
    ("PTTL e", Compare::Exact),
    ("TTL nokey", Compare::Exact),
    ("PTTL nokey", Compare::Exact),
    ("EXPIRETIME e", Compare::Exact),
    ("EXPIRETIME nokey", Compare::Exact),
    ("EXPIREAT e 99999999999", Compare::Exact),
    ("EXPIRETIME e", Compare::Exact),
    ("PEXPIREAT e 99999999999999", Compare::Exact),
    ("PEXPIRETIME e", Compare::Exact),
    ("EXPIRE e 9223372036854775807", Compare::Exact),
    ("EXPIREAT e 9223372036854775807", Compare::Exact),
    ("PEXPIRE e 9223372036854775807", Compare::Exact),
    ("PEXPIREAT e 9223372036854775807", Compare::Exact),
    ("EXPIRE e -1", Compare::Exact),
    ("EXISTS e", Compare::Exact),
    // Generic.
    ("TYPE k", Compare::Exact),
    ("TYPE nokey", Compare::Exact),
    ("RENAME nokey x", Compare::Exact),
    ("RENAME k k", Compare::Exact),
    ("RENAMENX k k", Compare::Exact),
    ("RENAMENX k fresh", Compare::Exact),
    ("RENAMENX k k2", Compare::Exact),
    ("SET ttlsrc v EX 500", Compare::Exact),
    ("RENAME ttlsrc ttldst", Compare::Exact),
    ("TTL ttldst", Compare::Exact),
    ("RENAME a", Compare::Exact),
    // COPY and MOVE carry the deadline; the options and their errors.
    ("SET cpsrc v EX 500", Compare::Exact),
    ("COPY cpsrc cpdst", Compare::Exact),
    ("TTL cpdst", Compare::Exact),
    ("COPY cpsrc cpdst", Compare::Exact),
    ("COPY cpsrc cpdst REPLACE", Compare::Exact),
    ("COPY cpsrc cpsrc", Compare::Exact),
    ("COPY cpsrc cpsrc DB 1", Compare::Exact),
    ("COPY nokey cpdst REPLACE", Compare::Exact),
    ("COPY cpsrc cpdst DB", Compare::Exact),
    ("COPY cpsrc cpdst DB x", Compare::Exact),
    ("COPY cpsrc cpdst DB 99", Compare::Exact),
    ("COPY cpsrc cpdst DB -1", Compare::Exact),
    ("COPY cpsrc cpdst FOO", Compare::Exact),
    ("COPY cpsrc cpdst replace db 2", Compare::Exact),
    ("MOVE cpsrc 0", Compare::Exact),
    ("MOVE cpsrc x", Compare::Exact),
    ("MOVE cpsrc 99", Compare::Exact),
    ("MOVE nokey 1", Compare::Exact),
    ("MOVE cpsrc 2", Compare::Exact),
    ("MOVE cpdst 2", Compare::Exact),
    ("EXISTS cpsrc cpdst", Compare::Exact),
    ("SELECT 2", Compare::Exact),
    ("TTL cpdst", Compare::Exact),
    ("GET cpsrc", Compare::Exact),
    ("MOVE cpdst 0", Compare::Exact),
    ("SELECT 0", Compare::Exact),
    ("TTL cpdst", Compare::Exact),
    ("TOUCH k2 nokey k2", Compare::Exact),
    ("EXISTS k2 k2 nokey", Compare::Exact),
    ("DEL k2 k2 nokey", Compare::Exact),
    ("UNLINK fresh nokey", Compare::Exact),
    ("KEYS *", Compare::Sorted),
    ("KEYS x?", Compare::Sorted),
    ("KEYS [mn]*", Compare::Sorted),
    ("KEYS {a}*", Compare::Sorted),
    ("KEYS nk", Compare::Sorted),
    ("SCAN 0 COUNT 1000", Compare::ScanDone),
    ("SCAN 0 COUNT 1000 MATCH x*", Compare::ScanDone),
    ("SCAN 0 COUNT 1000 TYPE string", Compare::ScanDone),
    ("SCAN 0 COUNT 1000 TYPE list", Compare::ScanDone),
    ("SCAN 0 COUNT 0", Compare::Exact),
    ("SCAN abc", Compare::Exact),
    ("SCAN 18446744073709551616", Compare::Exact),
    ("SCAN 0 FOO", Compare::Exact),
    ("SCAN 0 COUNT", Compare::Exact),
    ("DBSIZE", Compare::Exact),
    ("FLUSHDB x", Compare::Exact),
    ("FLUSHALL ASYNC x", Compare::Exact),
    // Server.
    ("CONFIG", Compare::Exact),
    ("CONFIG FOO", Compare::Exact),
    ("CONFIG GET maxmemory", Compare::Exact),
    ("CONFIG GET CLUSTER-ENABLED", Compare::Exact),
    ("CONFIG GET slave-read-only", Compare::Exact),
    ("CONFIG GET hz maxclients", Compare::Sorted),
    ("CONFIG GET *max*len*", Compare::Sorted),
    ("CONFIG SET port", Compare::Exact),
    ("CONFIG SET foo bar", Compare::Exact),
    ("CONFIG SET maxclients abc", Compare::Exact),
    ("CONFIG SET timeout 10 timeout 20", Compare::Exact),
    ("CONFIG SET loglevel loud", Compare::Exact),
    ("CONFIG SET cluster-announce-port 99999", Compare::Exact),
    ("CONFIG SET daemonize yes", Compare::Exact),
    ("CONFIG SET maxmemory 1xb", Compare::Exact),
    ("CONFIG SET appendonly maybe", Compare::Exact),
    ("CONFIG SET dir /tmp", Compare::Exact),
    ("CONFIG SET proto-max-bulk-len 10", Compare::Exact),
    ("CONFIG SET timeout 7", Compare::Exact),
    ("CONFIG GET timeout", Compare::Exact),
    ("CONFIG SET timeout 0", Compare::Exact),
    ("CONFIG SET hz 0", Compare::Exact),
    ("CONFIG GET hz", Compare::Exact),
    ("CONFIG SET hz 10", Compare::Exact),
    // Memory units, on an inert directive and on maxmemory (a limit far above use).
    ("CONFIG SET hll-sparse-max-bytes 1kb", Compare::Exact),
    ("CONFIG GET hll-sparse-max-bytes", Compare::Exact),
    ("CONFIG SET hll-sparse-max-bytes 3000", Compare::Exact),
    ("CONFIG SET maxmemory 1gb", Compare::Exact),
    ("CONFIG GET maxmemory", Compare::Exact),
    ("CONFIG SET maxmemory-policy allkeys-random", Compare::Exact),
    ("CONFIG GET maxmemory-policy", Compare::Exact),
    ("CONFIG SET maxmemory-policy lru", Compare::Exact),
    ("CONFIG SET maxmemory-samples 0", Compare::Exact),
    ("CONFIG SET maxmemory-eviction-tenacity 101", Compare::Exact),
    ("CONFIG SET maxmemory-policy noeviction", Compare::Exact),
    ("CONFIG SET maxmemory 0", Compare::Exact),
    ("CONFIG RESETSTAT", Compare::Exact),
    ("DEBUG SLEEP 0", Compare::Exact),
    ("SHUTDOWN FOO", Compare::Exact),
    ("SHUTDOWN NOSAVE SAVE", Compare::Exact),
    ("CLUSTER KEYSLOT foo", Compare::Exact),
    ("COMMAND GETKEYS get a", Compare::Exact),
    ("COMMAND GETKEYS mset a b c d", Compare::Exact),
    ("COMMAND GETKEYS rename a b", Compare::Exact),
    ("COMMAND GETKEYS nosuch a", Compare::Exact),
    ("COMMAND GETKEYS ping", Compare::Exact),
    ("COMMAND GETKEYS ping x", Compare::Exact),
    ("COMMAND GETKEYS get", Compare::Exact),
    ("COMMAND INFO get set mget nosuch", Compare::Exact),
    ("COMMAND INFO config|get", Compare::Exact),
    ("COMMAND DOCS set getex client|kill", Compare::Exact),
    ("COMMAND DOCS get", Compare::Exact),
    ("COMMAND LIST FILTERBY PATTERN getr*", Compare::Exact),
    ("FLUSHALL", Compare::Exact),
    ("DBSIZE", Compare::Exact),
];

/// Splits a script line like redis-cli would.
fn words(line: &str) -> Vec<Vec<u8>> {
    tessera_resp::split_args::split_args(line.as_bytes()).expect("script quoting")
}

fn run(port: u16, resp3: bool) -> Vec<Frame> {
    let mut conn = RawConnection::connect(port).expect("connect");
    if resp3 {
        conn.command(&["HELLO", "3"]).expect("HELLO 3");
    }
    SCRIPT
        .iter()
        .map(|(line, how)| {
            let args = words(line);
            let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
            let reply = conn
                .command_bytes(&refs)
                .unwrap_or_else(|e| panic!("{line}: {e}"));
            normalize(reply, *how)
        })
        .collect()
}

/// Redis's documentation prose (summaries, history, key-spec notes) is not reproduced;
/// compare everything else.
const PROSE: [&str; 3] = ["summary", "history", "notes"];

fn strip_prose(frame: Frame) -> Frame {
    let is_prose = |f: &Frame| {
        PROSE
            .iter()
            .any(|p| *f == Frame::Bulk(p.as_bytes().to_vec()))
    };
    match frame {
        // RESP2 flattens maps into arrays: drop a prose key and the value after it.
        Frame::Array(items) => {
            let mut out = Vec::new();
            let mut iter = items.into_iter();
            while let Some(item) = iter.next() {
                if is_prose(&item) {
                    iter.next();
                } else {
                    out.push(strip_prose(item));
                }
            }
            Frame::Array(out)
        }
        Frame::Set(items) => Frame::Set(items.into_iter().map(strip_prose).collect()),
        Frame::Map(pairs) => Frame::Map(
            pairs
                .into_iter()
                .filter(|(k, _)| !is_prose(k))
                .map(|(k, v)| (k, strip_prose(v)))
                .collect(),
        ),
        other => other,
    }
}

fn compare(resp3: bool) {
    let redis = RedisServer::start(&[]);
    let tessera = TesseraNode::start(&[]);
    let expected = run(redis.port, resp3);
    let got = run(tessera.port, resp3);
    let mismatches: Vec<String> = SCRIPT
        .iter()
        .zip(expected.into_iter().zip(got))
        .filter_map(|((line, _), (want, have))| {
            let (want, have) = if line.starts_with("COMMAND") {
                (strip_prose(want), strip_prose(have))
            } else {
                (want, have)
            };
            (want != have).then(|| {
                format!(
                    "{line}\n    redis:   {}\n    tessera: {}",
                    show(&want),
                    show(&have)
                )
            })
        })
        .collect();
    assert!(
        mismatches.is_empty(),
        "{} of {} replies differ ({}):\n{}",
        mismatches.len(),
        SCRIPT.len(),
        if resp3 { "RESP3" } else { "RESP2" },
        mismatches.join("\n")
    );
}

#[test]
fn resp2_replies_match_redis() {
    compare(false);
}

#[test]
fn resp3_replies_match_redis() {
    compare(true);
}

/// Malformed input on a fresh connection: the same error and the same close.
#[test]
fn protocol_errors_match_redis() {
    let redis = RedisServer::start(&[]);
    let tessera = TesseraNode::start(&[]);
    let cases: &[&[u8]] = &[
        b"*2\r\n$3\r\nGET\r\n$-5\r\n",
        b"*a\r\n",
        b"*2\r\n:3\r\n",
        b"*9999999999\r\n",
        b"*2\r\n$999999999999\r\n",
        b"SET a \"b\r\n",
        b"*1\r\n$-1\r\n",
        b"*-1\r\nPING\r\n*0\r\nPING\r\n\r\n\r\nPING\r\nQUIT\r\n",
        b"*1\r\n$4\r\nPINGxx\r\nQUIT\r\n",
        b"GET\r\nFOO bar\r\nset \"a b\" 'c d'\r\nget \"a b\"\r\nQUIT\r\n",
        b"*1\r\n$3\r\nfoo\r\nPING\r\nQUIT\r\n",
    ];
    let big_inline = vec![b'a'; 70_000];
    let mut big_mbulk = b"*".to_vec();
    big_mbulk.extend(vec![b'1'; 70_000]);
    let mut big_bulk = b"*1\r\n$".to_vec();
    big_bulk.extend(vec![b'1'; 70_000]);
    let all: Vec<&[u8]> = cases
        .iter()
        .copied()
        .chain([&big_inline[..], &big_mbulk[..], &big_bulk[..]])
        .collect();
    for case in all {
        let exchange = |port: u16| {
            let mut c = RawConnection::connect(port).expect("connect");
            c.send(case).expect("send");
            c.read_until_closed(std::time::Duration::from_secs(5))
                .expect("the server closes the connection")
        };
        let (want, have) = (exchange(redis.port), exchange(tessera.port));
        assert_eq!(
            String::from_utf8_lossy(&have),
            String::from_utf8_lossy(&want),
            "input {:?}",
            String::from_utf8_lossy(&case[..case.len().min(40)])
        );
    }
}

/// Authentication: what a client without a password sees, and the limits Redis puts on
/// unauthenticated input.
#[test]
fn auth_replies_match_redis() {
    let redis = RedisServer::start(&["--requirepass", "pw"]);
    let tessera = TesseraNode::start(&["--requirepass", "pw"]);
    let script: &[&[u8]] = &[
        b"GET a\r\n",
        b"*1\r\n$4\r\nPING\r\n",
        b"HELLO 3\r\n",
        b"HELLO 2 AUTH default wrong\r\n",
        b"AUTH wrong\r\n",
        b"AUTH nobody pw\r\n",
        b"CLIENT ID\r\n",
        b"RESET\r\n",
        b"AUTH pw\r\n",
        b"PING\r\n",
        b"RESET\r\n",
        b"GET a\r\n",
        b"AUTH default pw\r\n",
        b"GET a\r\n",
    ];
    let replies = |port: u16| -> Vec<Frame> {
        let mut c = RawConnection::connect(port).expect("connect");
        script
            .iter()
            .map(|line| {
                c.send(line).expect("send");
                c.read_frame().expect("reply")
            })
            .collect()
    };
    assert_eq!(replies(tessera.port), replies(redis.port));
    for case in [
        &b"*11\r\n"[..],
        b"*10\r\n$20000\r\n",
        b"*2\r\n$16385\r\n",
        b"QUIT\r\n",
    ] {
        let exchange = |port: u16| {
            let mut c = RawConnection::connect(port).expect("connect");
            c.send(case).expect("send");
            c.read_until_closed(std::time::Duration::from_secs(5))
                .expect("closed")
        };
        assert_eq!(exchange(tessera.port), exchange(redis.port), "{case:?}");
    }
}
