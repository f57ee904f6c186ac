//! No argument list can crash a handler: every command and subcommand Tessera lists in
//! COMMAND is sent with each argument count from its minimum to a few past it, drawn
//! from words that commands parse (numbers, option tokens, patterns), and the
//! connection must still answer PING after each. A handler that read past its
//! arguments would panic and drop the connection.

use tessera_resp::frame::Frame;
use tessera_tests::{RawConnection, TesseraNode, show};

/// Commands that would change what the rest of the run means rather than answer: they
/// stop the node, end or repurpose the connection, wait, or reach for other hosts.
const SKIPPED: &[&str] = &[
    "shutdown",
    "debug",
    "monitor",
    "sync",
    "psync",
    "replicaof",
    "slaveof",
    "failover",
    "migrate",
    "wait",
    "quit",
    "multi",
    "client|pause",
    "client|kill",
    "client|reply",
    "cluster|failover",
    "cluster|reset",
    // One reply per channel, and subscribed mode after: pubsub.rs covers them.
    "subscribe",
    "psubscribe",
    "ssubscribe",
    "unsubscribe",
    "punsubscribe",
    "sunsubscribe",
];

/// Words the fuzzer draws arguments from.
const WORDS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "100",
    "1.5",
    "k",
    "v",
    "{k}x",
    "x",
    "*",
    "NX",
    "XX",
    "EX",
    "PX",
    "GET",
    "COUNT",
    "MATCH",
    "TYPE",
    "string",
    "LIMIT",
    "WITHSCORES",
    "BYSCORE",
    "REV",
    "LEFT",
    "RIGHT",
    "ID",
    "FILTERBY",
    "ACLCAT",
    "SCHEDULE",
    "ASYNC",
    "",
    "inf",
    "-inf",
];

fn text(frame: &Frame) -> Option<String> {
    match frame {
        Frame::Bulk(b) | Frame::Simple(b) => Some(String::from_utf8_lossy(b).into_owned()),
        _ => None,
    }
}

/// `(name, arity, flags)` of every command and subcommand COMMAND lists.
fn commands(conn: &mut RawConnection) -> Vec<(String, i64, Vec<String>)> {
    fn entry(frame: &Frame, out: &mut Vec<(String, i64, Vec<String>)>) {
        let Frame::Array(fields) = frame else {
            panic!("a COMMAND entry is an array: {}", show(frame));
        };
        let name = text(&fields[0]).expect("a command name");
        let Frame::Integer(arity) = fields[1] else {
            panic!("an arity: {}", show(&fields[1]));
        };
        let flags = match &fields[2] {
            Frame::Array(f) | Frame::Set(f) => f.iter().filter_map(text).collect(),
            _ => Vec::new(),
        };
        out.push((name, arity, flags));
        if let Some(Frame::Array(subs)) = fields.get(9) {
            for sub in subs {
                entry(sub, out);
            }
        }
    }
    let Frame::Array(entries) = conn.command(&["COMMAND"]).expect("COMMAND") else {
        panic!("COMMAND answers an array");
    };
    let mut out = Vec::new();
    for e in &entries {
        entry(e, &mut out);
    }
    out
}

#[test]
fn no_argument_count_crashes_a_handler() {
    let node = TesseraNode::start(&[]);
    let mut conn = node.raw();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let all = commands(&mut conn);
    assert!(all.len() > 100, "COMMAND lists {} commands", all.len());
    let mut sent = 0;
    for (name, arity, flags) in &all {
        let skipped = SKIPPED.contains(&name.as_str())
            || flags.iter().any(|f| f == "blocking")
            || (!name.contains('|')
                && all.iter().any(|(n, ..)| n.starts_with(&format!("{name}|"))));
        if skipped {
            continue;
        }
        let words: Vec<&str> = name.split('|').collect();
        let least = arity.unsigned_abs() as usize;
        for count in least.saturating_sub(1).max(words.len())..least + 4 {
            for _ in 0..3 {
                let mut args: Vec<&str> = words.clone();
                while args.len() < count {
                    args.push(WORDS[(next() % WORDS.len() as u64) as usize]);
                }
                let reply = conn.command(&args);
                let pong = conn.command(&["PING"]);
                assert!(
                    reply.is_ok() && matches!(&pong, Ok(Frame::Simple(p)) if p == b"PONG"),
                    "after {args:?}: reply {reply:?}, then PING got {pong:?}"
                );
                sent += 1;
                // Leave the connection as each case found it.
                conn.command(&["SELECT", "0"]).expect("SELECT");
            }
        }
    }
    assert!(sent > 1000, "only {sent} calls were made");
    assert!(
        node.log().lines().all(|l| !l.contains("panicked")),
        "a handler panicked:\n{}",
        node.log()
    );
}
