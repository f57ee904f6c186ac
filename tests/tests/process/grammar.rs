//! Seeded random calls built from each command's own grammar (the `arguments` of
//! COMMAND DOCS, as captured from redis-server 7.0.15), sent to redis-server and to
//! Tessera in the same order, every reply compared. Options are taken or left out,
//! repeated, given wrong values and dropped at random, so the option parsers and the
//! arity checks of every command listed here meet what no hand-written case tried.
//!
//! `TESSERA_GRAMMAR_SEEDS=n` runs n seeds instead of CI's few.

use super::twins::{Rng, sorted};
use serde_json::Value;
use tessera_resp::frame::Frame;
use tessera_tests::{RawConnection, RedisServer, TesseraNode, show};

/// Commands whose replies are deterministic given the same calls: no clocks (TTL),
/// no random picks, no server state beyond the keys. (DBSIZE is left out: it counts
/// keys set with a deadline already past until the active expiry cycle, which runs
/// at its own times on each server, reclaims them. DUMP is left out too: both kinds
/// compress long strings with LZF, and the two compressors pick different matches.)
const COMMANDS: &[&str] = &[
    "append",
    "decr",
    "decrby",
    "del",
    "echo",
    "exists",
    "expire",
    "expireat",
    "get",
    "getdel",
    "getex",
    "getrange",
    "getset",
    "hdel",
    "hexists",
    "hget",
    "hgetall",
    "hincrby",
    "hincrbyfloat",
    "hkeys",
    "hlen",
    "hmget",
    "hmset",
    "hset",
    "hsetnx",
    "hstrlen",
    "hvals",
    "incr",
    "incrby",
    "incrbyfloat",
    "lindex",
    "linsert",
    "llen",
    "lmove",
    "lmpop",
    "lpop",
    "lpos",
    "lpush",
    "lpushx",
    "lrange",
    "lrem",
    "lset",
    "ltrim",
    "mget",
    "mset",
    "msetnx",
    "object|encoding",
    "persist",
    "pexpire",
    "pexpireat",
    "ping",
    "psetex",
    "rename",
    "renamenx",
    "rpop",
    "rpoplpush",
    "rpush",
    "rpushx",
    "sadd",
    "scard",
    "sdiff",
    "sdiffstore",
    "set",
    "setex",
    "setnx",
    "setrange",
    "sinter",
    "sintercard",
    "sinterstore",
    "sismember",
    "smembers",
    "smismember",
    "smove",
    "srem",
    "strlen",
    "sunion",
    "sunionstore",
    "touch",
    "type",
    "unlink",
    "zadd",
    "zcard",
    "zcount",
    "zdiff",
    "zdiffstore",
    "zincrby",
    "zinter",
    "zintercard",
    "zinterstore",
    "zlexcount",
    "zmpop",
    "zmscore",
    "zpopmax",
    "zpopmin",
    "zrange",
    "zrangebylex",
    "zrangebyscore",
    "zrangestore",
    "zrank",
    "zrem",
    "zremrangebylex",
    "zremrangebyrank",
    "zremrangebyscore",
    "zrevrange",
    "zrevrangebylex",
    "zrevrangebyscore",
    "zrevrank",
    "zscore",
    "zunion",
    "zunionstore",
];

/// Commands whose replies list members in hash-table order, which differs between
/// the two kinds: their elements are compared sorted. (Random picks, SPOP and the
/// SCAN family are left out of `COMMANDS` altogether.)
const UNORDERED: &[&str] = &[
    "hgetall", "hkeys", "hvals", "smembers", "sinter", "sunion", "sdiff",
];

/// A value for an argument of `kind` called `name`, usually valid, sometimes not.
fn value(rng: &mut Rng, kind: &str, name: &str) -> String {
    let text = match kind {
        // A relative expiry either is over at once or outlives the run: a key that
        // expires between the two servers' calls would compare clocks, not code.
        "integer" if name == "seconds" || name == "milliseconds" => {
            rng.pick(&["0", "-1", "100000", "abc", "9999999999999999"])
        }
        // Keys share a hash tag, so multi-key calls stay in one slot on both kinds.
        "key" => return format!("{{g}}k{}", rng.below(4)),
        "integer" => rng.pick(&["0", "1", "-1", "7", "100", "2147483648", "abc", "1.5", ""]),
        "double" => rng.pick(&["0", "1.5", "-2", "inf", "nan", "abc", "1e400"]),
        "unix-time" => rng.pick(&["0", "1", "4102444800", "-5", "x"]),
        _ => rng.pick(&["v", "", "10", "-3", "3.0", "hello world", "x"]),
    };
    text.to_string()
}

/// Appends a rendering of `arg` (one COMMAND DOCS argument) to `out`.
fn render(rng: &mut Rng, arg: &Value, out: &mut Vec<String>) {
    let flags = arg["flags"].as_array().cloned().unwrap_or_default();
    let has = |f: &str| flags.iter().any(|x| x == f);
    if has("optional") && rng.chance(50) {
        return;
    }
    let times = if has("multiple") { 1 + rng.below(3) } else { 1 };
    for i in 0..times {
        if let Some(token) = arg["token"].as_str()
            && (i == 0 || has("multiple_token"))
        {
            out.push(token.to_string());
        }
        match arg["type"].as_str().unwrap_or("string") {
            "pure-token" => {}
            "oneof" => {
                let choices = arg["arguments"].as_array().expect("oneof has choices");
                let choice = rng.below(choices.len());
                render(rng, &choices[choice], out);
            }
            "block" => {
                for sub in arg["arguments"].as_array().expect("block has arguments") {
                    render(rng, sub, out);
                }
            }
            kind => out.push(value(rng, kind, arg["name"].as_str().unwrap_or(""))),
        }
    }
}

/// One call to `name`: its grammar, then at times a mutation (a dropped, doubled or
/// foreign argument).
fn call(rng: &mut Rng, name: &str, grammar: &Value) -> Vec<String> {
    let mut out: Vec<String> = name.split('|').map(str::to_uppercase).collect();
    for arg in grammar["arguments"].as_array().cloned().unwrap_or_default() {
        render(rng, &arg, &mut out);
    }
    match rng.below(10) {
        0 if out.len() > 1 => {
            let at = 1 + rng.below(out.len() - 1);
            out.remove(at);
        }
        1 if out.len() > 1 => {
            let at = 1 + rng.below(out.len() - 1);
            out.insert(at, out[at].clone());
        }
        2 => out.push(
            rng.pick(&["NX", "XX", "GET", "EX", "KEEPTTL", "bogus"])
                .to_string(),
        ),
        _ => {}
    }
    out
}

fn grammars() -> Vec<(String, Value)> {
    let facts = include_str!("../../../resp-server/src/catalog/redis-7.0.15.jsonl");
    facts
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("a JSON line"))
        .flat_map(|fact| {
            let subs = fact["subcommands"].as_array().cloned().unwrap_or_default();
            std::iter::once(fact).chain(subs)
        })
        .filter_map(|fact| {
            let name = fact["name"].as_str()?.to_string();
            COMMANDS.contains(&name.as_str()).then_some((name, fact))
        })
        .collect()
}

fn run_seed(seed: u64, calls: usize, redis: &mut RawConnection, tessera: &mut RawConnection) {
    let grammars = grammars();
    assert_eq!(
        grammars.len(),
        COMMANDS.len(),
        "every listed command has a grammar"
    );
    let mut rng = Rng(seed);
    for conn in [&mut *redis, &mut *tessera] {
        conn.command(&["FLUSHALL"]).expect("FLUSHALL");
    }
    let mut mismatches = Vec::new();
    for _ in 0..calls {
        let (name, grammar) = &grammars[rng.below(grammars.len())];
        let args = call(&mut rng, name, grammar);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut want = redis.command(&refs).expect("redis answers");
        let mut have = tessera.command(&refs).expect("tessera answers");
        if UNORDERED.contains(&name.as_str()) {
            (want, have) = (sorted(want), sorted(have));
        }
        if std::env::var_os("TESSERA_GRAMMAR_TRACE").is_some() {
            eprintln!("{} -> {}", refs.join(" "), show(&want));
        }
        if want != have {
            mismatches.push(format!(
                "{}\n    redis:   {}\n    tessera: {}",
                refs.join(" "),
                show(&want),
                show(&have)
            ));
        }
    }
    // The data must have ended the same too. (Not compared by DUMP: both compress
    // long strings with LZF, and the two compressors pick different matches.)
    for key in 0..4 {
        let key = format!("{{g}}k{key}");
        for read in ["TYPE", "GET"] {
            let (w, h) = (
                redis.command(&[read, &key]).expect("read"),
                tessera.command(&[read, &key]).expect("read"),
            );
            if w != h {
                mismatches.push(format!("final {read} {key}: {} vs {}", show(&w), show(&h)));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "seed {seed}: {} of {calls} replies differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn grammar_driven_calls_get_redis_replies() {
    let seeds: u64 = std::env::var("TESSERA_GRAMMAR_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let redis = RedisServer::start(&[]);
    let tessera = TesseraNode::start(&[]);
    let mut want = RawConnection::connect(redis.port).expect("connect redis");
    let mut have = RawConnection::connect(tessera.port).expect("connect tessera");
    for seed in 1..=seeds {
        run_seed(seed, 400, &mut want, &mut have);
    }
    // Both connections must still be usable after every error.
    assert_eq!(
        have.command(&["PING"]).expect("PING"),
        Frame::Simple(b"PONG".to_vec())
    );
}
