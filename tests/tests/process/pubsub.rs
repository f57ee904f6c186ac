//! Pub/Sub against redis-server 7.0.15, reply by reply over RESP2 and RESP3:
//! confirmations with their running counts, subscribed mode and its errors, PING's
//! shape there, glob patterns, PUBSUB introspection, RESET, CLIENT INFO's fields and
//! INFO's counts, a subscriber that does not read cut off at its output limit. Then a
//! cluster of three Tessera masters and one redis-server master: PUBLISH from each
//! node reaches the subscribers of every other, in order, both ways across kinds;
//! sharded pub/sub is routed as keys (MOVED, CROSSSLOT) and a slot that leaves its
//! node takes its shard channels' subscribers with it (`sunsubscribe`).

use std::time::Duration;

use tessera_resp::frame::Frame;
use tessera_tests::cluster::{Member, create, id_of, wait_ok};
use tessera_tests::{RawConnection, RedisServer, TesseraNode, show, text, wait_until};

/// How a step's replies are compared.
#[derive(Clone, Copy, PartialEq)]
enum Check {
    /// Frame by frame.
    Exact,
    /// Unsubscribing from all: Redis walks a hash table, so the names and the counts
    /// are compared as sets.
    AnyOrder,
    /// Arrays compared with their elements sorted (PUBSUB CHANNELS).
    Sorted,
    /// The frames in any order: Redis matches patterns in its hash table's order.
    Frames,
}

/// One step: which connection (`true`: the other client), the command, and how many
/// frames it answers with in RESP2 and in RESP3; the subject may then read pushes.
struct Step {
    other: bool,
    line: &'static str,
    frames: (usize, usize),
    check: Check,
    /// Pushes the subject reads after the step (messages the step published).
    pushes: usize,
}

const fn s(line: &'static str, n: usize) -> Step {
    Step {
        other: false,
        line,
        frames: (n, n),
        check: Check::Exact,
        pushes: 0,
    }
}

const fn o(line: &'static str, pushes: usize) -> Step {
    Step {
        other: true,
        line,
        frames: (1, 1),
        check: Check::Exact,
        pushes,
    }
}

const fn all(line: &'static str, n: usize) -> Step {
    Step {
        check: Check::AnyOrder,
        ..s(line, n)
    }
}

const fn sorted(line: &'static str) -> Step {
    Step {
        check: Check::Sorted,
        ..o(line, 0)
    }
}

const fn patterns(line: &'static str, pushes: usize) -> Step {
    Step {
        check: Check::Frames,
        ..o(line, pushes)
    }
}

const fn per_proto(line: &'static str, two: usize, three: usize) -> Step {
    Step {
        frames: (two, three),
        ..s(line, 0)
    }
}

fn script() -> Vec<Step> {
    vec![
        s("SUBSCRIBE", 1),
        s("SUBSCRIBE a b", 2),
        s("SUBSCRIBE a", 1),
        s("PING", 1),
        s("PING hello", 1),
        s("GET k", 1),
        s("SET k v", 1),
        s("CLIENT ID x", 1),
        s("NOSUCH", 1),
        s("PSUBSCRIBE h?llo h[ae]llo h\\*x news.* [", 5),
        o("PUBLISH a m1", 1),
        patterns("PUBLISH hello m2", 2),
        patterns("PUBLISH hallo m3", 2),
        o("PUBLISH h*x m4", 1),
        o("PUBLISH news.sport m5", 1),
        o("PUBLISH nobody m6", 0),
        o("PUBSUB NUMSUB a b c", 0),
        o("PUBSUB NUMSUB", 0),
        o("PUBSUB NUMPAT", 0),
        sorted("PUBSUB CHANNELS"),
        sorted("PUBSUB CHANNELS a*"),
        o("PUBSUB CHANNELS a b", 0),
        o("PUBSUB NUMPAT x", 0),
        o("PUBSUB FOO", 0),
        o("PUBSUB", 0),
        o("PUBSUB HELP", 0),
        o("PUBLISH a", 0),
        s("UNSUBSCRIBE b nosuch", 2),
        all("UNSUBSCRIBE", 1),
        s("UNSUBSCRIBE", 1),
        s("PUNSUBSCRIBE h?llo", 1),
        all("PUNSUBSCRIBE", 4),
        s("PUNSUBSCRIBE", 1),
        s("GET k", 1),
        s("SSUBSCRIBE s1 s2", 2),
        s("SUBSCRIBE x", 1),
        o("SPUBLISH s1 hi", 1),
        o("SPUBLISH x hi", 0),
        o("PUBLISH s1 hi", 0),
        sorted("PUBSUB SHARDCHANNELS"),
        o("PUBSUB SHARDNUMSUB s1 s3", 0),
        s("SUNSUBSCRIBE s1", 1),
        s("UNSUBSCRIBE x", 1),
        s("GET k", 1),
        all("SUNSUBSCRIBE", 1),
        s("SUNSUBSCRIBE", 1),
        s("GET k", 1),
        // A subscriber publishing to itself (RESP3 only): the message comes first.
        s("SUBSCRIBE self", 1),
        per_proto("PUBLISH self me", 1, 2),
        s("RESET", 1),
        o("PUBLISH self gone", 0),
        s("PING", 1),
        s("GET k", 1),
    ]
}

/// A subject and another client on each server.
struct Sides {
    redis: [RawConnection; 2],
    tessera: [RawConnection; 2],
    mismatches: Vec<String>,
}

impl Sides {
    fn connect(redis: u16, tessera: u16, resp3: bool) -> Sides {
        let open = |port: u16| {
            let mut subject = RawConnection::connect(port).expect("connect");
            if resp3 {
                subject.command(&["HELLO", "3"]).expect("HELLO 3");
            }
            [subject, RawConnection::connect(port).expect("connect")]
        };
        Sides {
            redis: open(redis),
            tessera: open(tessera),
            mismatches: Vec::new(),
        }
    }

    fn read(c: &mut RawConnection, n: usize) -> Vec<Frame> {
        (0..n).map(|_| c.read_frame().expect("a reply")).collect()
    }

    fn step(&mut self, step: &Step, resp3: bool) {
        let who = usize::from(step.other);
        let args: Vec<&str> = step.line.split(' ').collect();
        let n = if resp3 { step.frames.1 } else { step.frames.0 };
        let frame = Frame::command(args.iter().map(|a| a.as_bytes()));
        self.redis[who].send(&frame).expect("send");
        self.tessera[who].send(&frame).expect("send");
        let mut want = Self::read(&mut self.redis[who], n);
        let mut have = Self::read(&mut self.tessera[who], n);
        want.extend(Self::read(&mut self.redis[0], step.pushes));
        have.extend(Self::read(&mut self.tessera[0], step.pushes));
        let (want, have) = match step.check {
            Check::Exact => (want, have),
            Check::AnyOrder => (as_sets(want), as_sets(have)),
            Check::Sorted => (
                want.into_iter().map(sort).collect(),
                have.into_iter().map(sort).collect(),
            ),
            Check::Frames => {
                let by_text = |mut f: Vec<Frame>| {
                    f.sort_by_key(show);
                    f
                };
                (by_text(want), by_text(have))
            }
        };
        if want != have {
            let show_all = |f: &[Frame]| f.iter().map(show).collect::<Vec<_>>().join(" ");
            self.mismatches.push(format!(
                "[RESP{}] {}\n    redis:   {}\n    tessera: {}",
                if resp3 { 3 } else { 2 },
                step.line,
                show_all(&want),
                show_all(&have)
            ));
        }
    }
}

fn items(f: &Frame) -> Option<&Vec<Frame>> {
    match f {
        Frame::Array(items) | Frame::Push(items) | Frame::Set(items) => Some(items),
        _ => None,
    }
}

/// Confirmations `[kind, name, count]` turned into one frame: the kinds, the names
/// sorted, the counts sorted.
fn as_sets(frames: Vec<Frame>) -> Vec<Frame> {
    let mut parts: [Vec<String>; 3] = Default::default();
    for f in &frames {
        for (i, item) in items(f).into_iter().flatten().enumerate().take(3) {
            parts[i].push(show(item));
        }
    }
    for p in &mut parts {
        p.sort();
    }
    vec![Frame::Bulk(format!("{parts:?}").into_bytes())]
}

fn sort(f: Frame) -> Frame {
    match f {
        Frame::Array(mut items) => {
            items.sort_by_key(show);
            Frame::Array(items)
        }
        other => other,
    }
}

/// CLIENT INFO's pub/sub fields (flags, sub, psub, ssub).
fn pubsub_fields(c: &mut RawConnection) -> Vec<String> {
    let info = text(&c.command(&["CLIENT", "INFO"]).expect("CLIENT INFO"));
    info.split_whitespace()
        .filter(|f| {
            ["flags=", "sub=", "psub=", "ssub="]
                .iter()
                .any(|p| f.starts_with(p))
        })
        .map(str::to_string)
        .collect()
}

/// INFO's pub/sub counts.
fn info_counts(c: &mut RawConnection) -> Vec<String> {
    let info = text(&c.command(&["INFO", "stats"]).expect("INFO"));
    info.lines()
        .filter(|l| l.starts_with("pubsub"))
        .map(str::to_string)
        .collect()
}

#[test]
fn pubsub_matches_redis_in_resp2_and_resp3() {
    let redis = RedisServer::start(&[]);
    let tessera = TesseraNode::start(&[]);
    let mut mismatches = Vec::new();
    for resp3 in [false, true] {
        let mut sides = Sides::connect(redis.port, tessera.port, resp3);
        for step in script() {
            sides.step(&step, resp3);
        }
        mismatches.append(&mut sides.mismatches);
    }

    // What the others see of a subscriber: CLIENT INFO (RESP3 may run it subscribed),
    // INFO's counts.
    let mut seen = Vec::new();
    for port in [redis.port, tessera.port] {
        let mut c = RawConnection::connect(port).expect("connect");
        c.command(&["HELLO", "3"]).expect("HELLO");
        let before = pubsub_fields(&mut c);
        for line in [["SUBSCRIBE", "a", "b"], ["PSUBSCRIBE", "p*", "q*"]] {
            c.send(&Frame::command(line.iter().map(|a| a.as_bytes())))
                .expect("send");
            Sides::read(&mut c, 2);
        }
        c.command(&["SSUBSCRIBE", "s"]).expect("SSUBSCRIBE");
        let during = pubsub_fields(&mut c);
        let mut other = RawConnection::connect(port).expect("connect");
        seen.push((before, during, info_counts(&mut other)));
    }
    assert_eq!(
        seen[0], seen[1],
        "CLIENT INFO and INFO: redis, then tessera"
    );
    assert!(
        mismatches.is_empty(),
        "{} steps differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn subscriber_that_does_not_read_is_disconnected() {
    let tessera = TesseraNode::start(&["--client-output-buffer-limit", "pubsub 1mb 256kb 60"]);
    let mut subscriber = RawConnection::connect(tessera.port).expect("connect");
    subscriber
        .command(&["SUBSCRIBE", "big"])
        .expect("SUBSCRIBE");
    let mut publisher = RawConnection::connect(tessera.port).expect("connect");
    let message = "x".repeat(100_000);
    // The kernel's socket buffers take some megabytes first; then the node's queue
    // grows past the hard limit and the subscriber goes.
    let mut cut = false;
    for _ in 0..500 {
        let receivers = publisher
            .command(&["PUBLISH", "big", &message])
            .expect("PUBLISH");
        if receivers == Frame::Integer(0) {
            cut = true;
            break;
        }
    }
    assert!(cut, "the subscriber is still subscribed after 50 MB");
    assert_eq!(
        publisher
            .command(&["PUBSUB", "NUMSUB", "big"])
            .expect("NUMSUB"),
        Frame::Array(vec![Frame::Bulk(b"big".to_vec()), Frame::Integer(0)])
    );
    // Everything it was sent before is readable, then the connection ends.
    assert!(
        subscriber
            .read_until_closed(Duration::from_secs(10))
            .is_ok()
    );
}

/// A message push as RESP2 or RESP3 sends it.
fn message(resp3: bool, parts: &[&str]) -> Frame {
    let items = parts
        .iter()
        .map(|p| Frame::Bulk(p.as_bytes().to_vec()))
        .collect();
    if resp3 {
        Frame::Push(items)
    } else {
        Frame::Array(items)
    }
}

/// Subscribes on a new connection (RESP3 for patterns), reading the confirmation.
fn subscriber(port: u16, command: &str, channel: &str) -> RawConnection {
    let mut c = RawConnection::connect(port).expect("connect");
    if command == "PSUBSCRIBE" {
        c.command(&["HELLO", "3"]).expect("HELLO");
    }
    let confirmation = c.command(&[command, channel]).expect("subscribe");
    assert!(
        matches!(&confirmation, Frame::Array(_) | Frame::Push(_)),
        "{command} {channel} on {port}: {}",
        show(&confirmation)
    );
    c
}

/// The port a MOVED error names.
fn moved_port(reply: &Frame) -> Option<u16> {
    text(reply)
        .strip_prefix("MOVED ")?
        .rsplit(':')
        .next()?
        .parse()
        .ok()
}

#[test]
fn publish_crosses_a_mixed_cluster_and_shard_channels_follow_their_slot() {
    // Three Tessera masters and one redis-server master.
    let members: Vec<Member> = (0..4).map(|i| Member::start(i == 3, &[])).collect();
    let ports: Vec<u16> = members.iter().map(Member::port).collect();
    create(&ports, 0);
    assert!(wait_ok(&ports, Duration::from_secs(30)), "cluster ok");
    // Every node must have its links up before a broadcast reaches everyone: wait
    // until each has seen every other connected.
    let linked = wait_until(Duration::from_secs(20), || {
        ports.iter().all(|&p| {
            tessera_tests::cluster::nodes(p)
                .iter()
                .filter(|l| l.contains(" connected"))
                .count()
                == ports.len()
        })
    });
    assert!(linked, "every node linked to every other");

    let mut plain: Vec<RawConnection> = ports
        .iter()
        .map(|&p| subscriber(p, "SUBSCRIBE", "news"))
        .collect();
    let mut patterns: Vec<RawConnection> = ports
        .iter()
        .map(|&p| subscriber(p, "PSUBSCRIBE", "n*s"))
        .collect();
    for (i, &port) in ports.iter().enumerate() {
        let mut publisher = RawConnection::connect(port).expect("connect");
        let sent: Vec<String> = (0..5).map(|n| format!("from-{i}-{n}")).collect();
        for m in &sent {
            // The receivers on this node: its channel and its pattern subscriber.
            assert_eq!(
                publisher.command(&["PUBLISH", "news", m]).expect("PUBLISH"),
                Frame::Integer(2),
                "PUBLISH on {port}"
            );
        }
        for (j, (sub, psub)) in plain.iter_mut().zip(&mut patterns).enumerate() {
            for m in &sent {
                let got = sub.read_frame().expect("message");
                assert_eq!(
                    got,
                    message(false, &["message", "news", m]),
                    "node {j} from node {i}"
                );
                let got = psub.read_frame().expect("pmessage");
                assert_eq!(
                    got,
                    message(true, &["pmessage", "n*s", "news", m]),
                    "node {j} from node {i}"
                );
            }
        }
    }

    // Sharded: "{s}chan" routes as a key; the owner serves it, the others redirect.
    let mut c = RawConnection::connect(ports[0]).expect("connect");
    let slot = match c
        .command(&["CLUSTER", "KEYSLOT", "{s}chan"])
        .expect("KEYSLOT")
    {
        Frame::Integer(n) => n,
        other => panic!("KEYSLOT: {}", show(&other)),
    };
    let mut owner = None;
    for &port in &ports {
        let mut c = RawConnection::connect(port).expect("connect");
        let reply = c.command(&["SSUBSCRIBE", "{s}chan"]).expect("SSUBSCRIBE");
        match moved_port(&reply) {
            Some(_) => assert!(text(&reply).starts_with(&format!("MOVED {slot} "))),
            None => owner = Some(port),
        }
        let cross = c
            .command(&["SSUBSCRIBE", "{s}chan", "other"])
            .expect("SSUBSCRIBE");
        assert_eq!(
            text(&cross),
            "CROSSSLOT Keys in request don't hash to the same slot"
        );
    }
    let owner = owner.expect("one node owns the slot");
    let owner_index = ports.iter().position(|&p| p == owner).expect("a member");
    let mut ssub = subscriber(owner, "SSUBSCRIBE", "{s}chan");
    let mut publisher = RawConnection::connect(owner).expect("connect");
    assert_eq!(
        publisher
            .command(&["SPUBLISH", "{s}chan", "hi"])
            .expect("SPUBLISH"),
        Frame::Integer(1)
    );
    assert_eq!(
        ssub.read_frame().expect("smessage"),
        message(false, &["smessage", "{s}chan", "hi"])
    );
    if members[owner_index].is_redis() {
        // The replica and slot-moves-away parts are Tessera's to show.
        return;
    }

    // A replica of the owner serves SSUBSCRIBE for its master's slots, and SPUBLISH
    // reaches the whole shard, from either side.
    let replica = TesseraNode::start(&tessera_tests::cluster::CLUSTER_ARGS);
    let mut r = replica.raw();
    r.command(&["CLUSTER", "MEET", "127.0.0.1", &owner.to_string()])
        .expect("MEET");
    let owner_id = id_of(owner).expect("owner id");
    let known = wait_until(Duration::from_secs(20), || {
        tessera_tests::cluster::nodes(replica.port)
            .iter()
            .any(|l| l.starts_with(&owner_id) && l.contains(" connected"))
    });
    assert!(known, "the replica met the owner");
    r.command(&["CLUSTER", "REPLICATE", &owner_id])
        .expect("REPLICATE");
    let replica_id = id_of(replica.port).expect("replica id");
    // The owner must know whose replica it is: SPUBLISH goes to the nodes of its shard.
    let following = wait_until(Duration::from_secs(20), || {
        let as_replica = format!(" slave {owner_id} ");
        tessera_tests::cluster::nodes(owner).iter().any(|l| {
            l.starts_with(&replica_id) && l.contains(&as_replica) && l.contains(" connected")
        }) && tessera_tests::cluster::myself(replica.port).is_some_and(|l| l.contains("slave"))
    });
    assert!(following, "the owner sees its replica");
    let mut rsub = subscriber(replica.port, "SSUBSCRIBE", "{s}chan");
    assert_eq!(
        publisher
            .command(&["SPUBLISH", "{s}chan", "to-replica"])
            .expect("SPUBLISH"),
        Frame::Integer(1)
    );
    for sub in [&mut ssub, &mut rsub] {
        assert_eq!(
            sub.read_frame().expect("smessage"),
            message(false, &["smessage", "{s}chan", "to-replica"])
        );
    }
    assert_eq!(
        r.command(&["SPUBLISH", "{s}chan", "from-replica"])
            .expect("SPUBLISH"),
        Frame::Integer(1)
    );
    for sub in [&mut ssub, &mut rsub] {
        assert_eq!(
            sub.read_frame().expect("smessage"),
            message(false, &["smessage", "{s}chan", "from-replica"])
        );
    }
    // The slot leaves the owner: its subscriber is told, and the channel is gone.
    let target = ports[(owner_index + 1) % 3];
    let target_id = id_of(target).expect("target id");
    let mut t = RawConnection::connect(target).expect("connect");
    t.command(&["CLUSTER", "SETSLOT", &slot.to_string(), "NODE", &target_id])
        .expect("SETSLOT on the target");
    publisher
        .command(&["CLUSTER", "SETSLOT", &slot.to_string(), "NODE", &target_id])
        .expect("SETSLOT on the owner");
    for sub in [&mut ssub, &mut rsub] {
        assert_eq!(
            sub.read_frame().expect("sunsubscribe"),
            Frame::Array(vec![
                Frame::Bulk(b"sunsubscribe".to_vec()),
                Frame::Bulk(b"{s}chan".to_vec()),
                Frame::Integer(0)
            ])
        );
    }
    assert_eq!(
        publisher
            .command(&["PUBSUB", "SHARDCHANNELS"])
            .expect("SHARDCHANNELS"),
        Frame::Array(vec![])
    );
    // Out of subscribed mode: an ordinary command runs (and is redirected).
    let reply = ssub.command(&["GET", "{s}chan"]).expect("GET");
    assert_eq!(moved_port(&reply), Some(target), "{}", show(&reply));
}

#[test]
fn publish_on_a_standalone_master_reaches_its_replicas_subscribers() {
    use tessera_tests::replication::follow;
    // Both directions with redis-server, and Tessera to Tessera.
    let tessera_master = TesseraNode::start(&[]);
    let tessera_replica = TesseraNode::start(&[]);
    let redis_replica = RedisServer::start(&[]);
    let redis_master = RedisServer::start(&[]);
    let tessera_of_redis = TesseraNode::start(&[]);
    follow(tessera_replica.port, tessera_master.port);
    follow(redis_replica.port, tessera_master.port);
    follow(tessera_of_redis.port, redis_master.port);
    for (master, replica) in [
        (tessera_master.port, tessera_replica.port),
        (tessera_master.port, redis_replica.port),
        (redis_master.port, tessera_of_redis.port),
    ] {
        let mut listener = subscriber(replica, "SUBSCRIBE", "news");
        let mut publisher = RawConnection::connect(master).expect("connect");
        // The master has no subscriber of its own: zero receivers, as Redis counts.
        assert_eq!(
            publisher
                .command(&["PUBLISH", "news", "hello"])
                .expect("PUBLISH"),
            Frame::Integer(0)
        );
        assert_eq!(
            listener.read_frame().expect("message"),
            message(false, &["message", "news", "hello"]),
            "{master} -> {replica}"
        );
    }
}
