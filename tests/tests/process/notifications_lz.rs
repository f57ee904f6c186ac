//! Keyspace notifications of classes l (lists) and z (sorted sets) against
//! redis-server 7.0.15, with the harness of `notifications`: each event of Redis
//! 7.0's t_list.c, t_zset.c and sort.c, in Redis's order (a move raises its push
//! before its pop), and the events of blocking pops served at once and served later
//! by another client's push (the pusher's events first, then the served client's).

use std::time::Duration;

use tessera_resp::frame::Frame;
use tessera_tests::{RawConnection, show, text, wait_until};

use super::notifications::{Pair, lines, port_of};

/// Every list command that writes, the ones that raise nothing, and errors.
pub(crate) fn lists() -> Vec<String> {
    lines(&[
        "RPUSH l a b c",
        "LPUSH l x y",
        "LPUSHX l z",
        "RPUSHX l z z",
        "LPUSHX nosuch a",
        "RPUSHX nosuch a",
        "LINSERT l BEFORE b q",
        "LINSERT l AFTER nosuch q",
        "LINSERT nosuch AFTER a q",
        "LSET l 0 w",
        "LSET l 99 w",
        "LSET nosuch 0 w",
        "LPOP l",
        "RPOP l",
        "LPOP l 2",
        "RPOP l 0",
        "LPOP nosuch",
        "LPOP nosuch 3",
        "LRANGE l 0 -1",
        "LPOS l q",
        "LINDEX l 0",
        "LLEN l",
        "LTRIM l 0 -1",
        "LTRIM l 1 2",
        "LTRIM nosuch 0 1",
        "LREM l 0 nosuch",
        "LREM l 1 q",
        "RPUSH m a b c",
        "LMOVE m n LEFT RIGHT",
        "LMOVE m n RIGHT LEFT",
        "LMOVE m m LEFT RIGHT",
        "RPOPLPUSH m n",
        "RPOPLPUSH nosuch n",
        "LMPOP 2 nosuch n LEFT",
        "LMPOP 1 n RIGHT COUNT 10",
        "LMPOP 1 n RIGHT",
        "RPUSH o 3 1 2",
        "SORT o STORE so",
        "SORT o",
        "SORT nosuch STORE so",
        "RPUSH bl a b c",
        "BLPOP nosuch bl 1",
        "BRPOP bl 1",
        "BLMPOP 1 1 bl LEFT COUNT 5",
        "RPUSH bm a",
        "BLMOVE bm bn LEFT LEFT 1",
        "BRPOPLPUSH bn bm 1",
        "SET s v",
        "LPUSH s a",
        "LMOVE bm s LEFT LEFT",
        "DEL s",
    ])
}

/// Every sorted-set command that writes, the ones that raise nothing, and errors.
pub(crate) fn zsets() -> Vec<String> {
    lines(&[
        "ZADD z 1 a 2 b 3 c",
        "ZADD z 1 a",
        "ZADD z CH 5 a",
        "ZADD z NX 1 a",
        "ZADD z XX 1 new",
        "ZADD z GT 1 a",
        "ZADD z INCR 1 b",
        "ZADD z XX INCR 1 nosuch",
        "ZINCRBY z 2 c",
        "ZINCRBY z 2 d",
        "ZADD nan INCR -inf a",
        "ZADD nan INCR +inf a",
        "ZREM z nosuch",
        "ZREM z d",
        "ZREMRANGEBYRANK z 5 9",
        "ZREMRANGEBYRANK z 0 0",
        "ZREMRANGEBYSCORE z 100 200",
        "ZREMRANGEBYSCORE z 0 3",
        "ZADD lex 0 a 0 b 0 c",
        "ZREMRANGEBYLEX lex [a [a",
        "ZREMRANGEBYLEX lex [x [z",
        "ZPOPMIN lex",
        "ZPOPMAX lex 0",
        "ZPOPMAX lex 5",
        "ZPOPMIN nosuch",
        "ZADD p 1 a 2 b 3 c",
        "ZMPOP 2 nosuch p MIN",
        "ZMPOP 1 p MAX COUNT 9",
        "ZADD u1 1 a 2 b",
        "ZADD u2 2 b 3 c",
        "ZUNIONSTORE d 2 u1 u2",
        "ZINTERSTORE d 2 u1 u2",
        "ZDIFFSTORE d 2 u1 u2",
        "ZRANGESTORE d u1 0 -1",
        "ZRANGESTORE d u1 5 9",
        "ZRANGESTORE d u1 5 9",
        "ZUNIONSTORE d 1 nosuch",
        "ZINTERSTORE d2 2 u1 nosuch",
        "ZDIFFSTORE d2 1 u1",
        "ZDIFFSTORE d2 2 u1 u1",
        "ZRANGE u1 0 -1",
        "ZSCORE u1 a",
        "ZCARD u1",
        "ZADD bz 1 a 2 b 3 c",
        "BZPOPMIN nosuch bz 1",
        "BZPOPMAX bz 1",
        "BZMPOP 1 1 bz MIN COUNT 5",
        "SET s v",
        "ZADD s 1 a",
        "ZUNIONSTORE s 1 u1",
    ])
}

/// Blocks one client on each side with `blocking`, then runs `feed` from the writer,
/// which serves it; the served client's reply must be an array or a bulk.
fn served_later(pair: &mut Pair, blocking: &[&str], feed: &[&[&str]]) {
    for side in [&mut pair.redis, &mut pair.tessera] {
        let mut waiter = RawConnection::connect(port_of(side)).expect("connect");
        waiter
            .send(&Frame::command(blocking.iter().map(|a| a.as_bytes())))
            .expect("send");
        let listed = wait_until(Duration::from_secs(5), || {
            let info = side.writer.command(&["INFO", "clients"]).expect("INFO");
            text(&info).contains("blocked_clients:1")
        });
        assert!(listed, "{blocking:?} blocks");
        for command in feed {
            side.writer.command(command).expect("a reply");
        }
        let served = waiter.read_frame().expect("the served reply");
        assert!(
            matches!(served, Frame::Array(_) | Frame::Bulk(_)),
            "{blocking:?}: {}",
            show(&served)
        );
    }
}

/// The blocking pops served by a later push: the pusher's events, then the pop's.
pub(crate) fn serve_blocked(pair: &mut Pair) {
    let cases: [(&[&str], &[&[&str]]); 7] = [
        (&["BLPOP", "w1", "5"], &[&["RPUSH", "w1", "a", "b"]]),
        (&["BRPOP", "w2", "5"], &[&["LPUSH", "w2", "a"]]),
        (
            &["BLMPOP", "5", "1", "w3", "LEFT", "COUNT", "3"],
            &[&["RPUSH", "w3", "a", "b"]],
        ),
        (
            &["BLMOVE", "{w}4", "{w}5", "LEFT", "RIGHT", "5"],
            &[&["RPUSH", "{w}4", "a"]],
        ),
        (
            &["BRPOPLPUSH", "{w}6", "{w}6", "5"],
            &[&["RPUSH", "{w}6", "a"]],
        ),
        (
            &["BZPOPMIN", "w7", "5"],
            &[&["ZADD", "w7", "1", "a", "2", "b"]],
        ),
        (
            &["BZMPOP", "5", "1", "w8", "MAX", "COUNT", "5"],
            &[&["ZADD", "w8", "1", "a"]],
        ),
    ];
    for (blocking, feed) in cases {
        served_later(pair, blocking, feed);
        pair.run(&format!("served {}", blocking[0]), &[]);
    }
    // A push that serves a waiter from within a transaction: its events first.
    served_later(
        pair,
        &["BLPOP", "w9", "5"],
        &[
            &["MULTI"],
            &["RPUSH", "w9", "a"],
            &["LPUSH", "w9", "b"],
            &["EXEC"],
        ],
    );
    pair.run("served by EXEC", &[]);
}

#[test]
fn list_and_zset_events_match_redis() {
    let mut mismatches = Vec::new();
    for (classes, resp3) in [
        ("KEl", false),
        ("KEz", true),
        ("KElzg", true),
        ("El", false),
        ("KA", false),
    ] {
        let mut pair = Pair::start(classes, resp3);
        let label = format!("{classes} RESP{}", if resp3 { 3 } else { 2 });
        let events = pair.run(&format!("{label} lists"), &lists());
        assert_eq!(
            events > 5,
            classes.contains(['l', 'A']),
            "{label}: list events"
        );
        let events = pair.run(&format!("{label} zsets"), &zsets());
        assert_eq!(
            events > 5,
            classes.contains(['z', 'A']),
            "{label}: zset events"
        );
        serve_blocked(&mut pair);
        mismatches.append(&mut pair.mismatches);
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
