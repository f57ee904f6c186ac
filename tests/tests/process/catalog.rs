//! The command catalog against redis-server 7.0.15: for every command and subcommand
//! Tessera implements, COMMAND INFO is Redis's (key-spec notes aside) and COMMAND DOCS
//! is Redis's apart from the prose (summary, complexity, history), and COMMAND
//! GETKEYS finds the keys of movable-key calls as Redis does.

use tessera_resp::frame::Frame;
use tessera_tests::{RawConnection, RedisServer, TesseraNode, show};

/// Documentation prose, written in our own words (or left out).
const PROSE: [&str; 4] = ["summary", "complexity", "history", "notes"];

fn bulk(text: &str) -> Frame {
    Frame::Bulk(text.as_bytes().to_vec())
}

/// Drops prose fields, and a container's subcommands: Tessera lists only those it
/// implements (each is compared on its own), Redis all of them in hash order.
fn comparable(frame: Frame) -> Frame {
    match frame {
        Frame::Map(pairs) => Frame::Map(
            pairs
                .into_iter()
                .filter(|(k, _)| !PROSE.iter().any(|p| *k == bulk(p)) && *k != bulk("subcommands"))
                .map(|(k, v)| (k, comparable(v)))
                .collect(),
        ),
        Frame::Set(items) => Frame::Set(items.into_iter().map(comparable).collect()),
        Frame::Array(items) => Frame::Array(items.into_iter().map(comparable).collect()),
        other => other,
    }
}

/// A COMMAND INFO entry without its subcommands (the tenth field).
fn info_entry(frame: Frame) -> Frame {
    match frame {
        Frame::Array(mut entries) if entries.len() == 1 => match entries.remove(0) {
            Frame::Array(mut fields) if fields.len() == 10 => {
                fields.truncate(9);
                comparable(Frame::Array(fields))
            }
            other => other,
        },
        other => other,
    }
}

fn names(conn: &mut RawConnection) -> Vec<String> {
    match conn.command(&["COMMAND", "LIST"]).expect("COMMAND LIST") {
        Frame::Array(items) | Frame::Set(items) => items
            .into_iter()
            .map(|f| match f {
                Frame::Bulk(b) => String::from_utf8(b).expect("a name"),
                other => panic!("not a name: {other:?}"),
            })
            .collect(),
        other => panic!("COMMAND LIST: {other:?}"),
    }
}

#[test]
fn command_info_and_docs_match_redis_for_every_implemented_command() {
    let redis = RedisServer::start(&[]);
    let tessera = TesseraNode::start(&[]);
    let mut want = RawConnection::connect(redis.port).expect("connect redis");
    let mut have = RawConnection::connect(tessera.port).expect("connect tessera");
    for conn in [&mut want, &mut have] {
        conn.command(&["HELLO", "3"]).expect("HELLO 3");
    }
    let implemented = names(&mut have);
    assert!(implemented.len() > 100, "COMMAND LIST: {implemented:?}");
    let mut mismatches = Vec::new();
    let mut compared = 0;
    for name in &implemented {
        let redis_info = want.command(&["COMMAND", "INFO", name]).expect("info");
        // Commands from later Redis versions (CLIENT SETINFO) are unknown to 7.0.
        if redis_info == Frame::Array(vec![Frame::Null]) {
            continue;
        }
        for sub in ["INFO", "DOCS"] {
            let (w, h) = (
                want.command(&["COMMAND", sub, name]).expect("redis"),
                have.command(&["COMMAND", sub, name]).expect("tessera"),
            );
            let (w, h) = if sub == "INFO" {
                (info_entry(w), info_entry(h))
            } else {
                (comparable(w), comparable(h))
            };
            if w != h {
                mismatches.push(format!(
                    "COMMAND {sub} {name}\n    redis:   {}\n    tessera: {}",
                    show(&w),
                    show(&h)
                ));
            }
        }
        compared += 1;
    }
    assert!(
        mismatches.is_empty(),
        "{} of {compared} commands differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

/// COMMAND GETKEYS on Tessera's movable-key commands, and on calls whose keys the
/// arity or the arguments rule out.
#[test]
fn command_getkeys_matches_redis() {
    let redis = RedisServer::start(&[]);
    let tessera = TesseraNode::start(&[]);
    let calls: &[&[&str]] = &[
        &["MIGRATE", "h", "1", "k", "0", "10"],
        &["MIGRATE", "h", "1", "", "0", "10", "KEYS", "a", "b", "c"],
        &[
            "MIGRATE", "h", "1", "", "0", "10", "COPY", "AUTH", "pw", "KEYS", "a",
        ],
        &[
            "MIGRATE", "h", "1", "", "0", "10", "AUTH2", "u", "p", "KEYS", "x", "y",
        ],
        &["MIGRATE", "h", "1", "k", "0", "10", "KEYS", "a"],
        &["MIGRATE", "h", "1", "", "0", "10", "KEYS"],
        &["MSET", "a", "1", "b", "2"],
        &["MSET", "a", "1", "b"],
        &["OBJECT", "ENCODING", "k"],
        &["OBJECT", "NOSUCH", "k"],
        &["CONFIG", "GET", "x"],
        &["SET", "k", "v", "GET"],
        &["RESTORE", "k", "0", "payload"],
        &["PING"],
        &["GET"],
    ];
    let mut want = RawConnection::connect(redis.port).expect("connect redis");
    let mut have = RawConnection::connect(tessera.port).expect("connect tessera");
    for call in calls {
        let args: Vec<&str> = ["COMMAND", "GETKEYS"]
            .iter()
            .chain(*call)
            .copied()
            .collect();
        let (w, h) = (
            want.command(&args).expect("redis"),
            have.command(&args).expect("tessera"),
        );
        assert_eq!(show(&h), show(&w), "{}", args.join(" "));
    }
}
