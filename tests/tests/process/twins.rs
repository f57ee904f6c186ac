//! What the collection tests share: one redis-server and one Tessera node driven in
//! lockstep over RESP2 and RESP3 connections, with replies compared exactly, sorted
//! (for replies in hash-table order) or by a full SCAN iteration; and DUMP/RESTORE
//! across the two kinds with equal digests.

use std::collections::BTreeSet;

use tessera_resp::frame::Frame;
use tessera_tests::{RawConnection, RedisServer, TesseraNode, show};

/// A small seeded generator (splitmix64): the same seed gives the same commands. Every
/// seeded process test draws from it.
pub(crate) struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }
}

/// Orders the elements of an array, set or map reply (for replies in hash order).
pub(crate) fn sorted(frame: Frame) -> Frame {
    let key = |f: &Frame| format!("{f:?}");
    match frame {
        Frame::Array(mut items) => {
            items.sort_by_key(key);
            Frame::Array(items)
        }
        Frame::Set(mut items) => {
            items.sort_by_key(key);
            Frame::Set(items)
        }
        Frame::Map(mut pairs) => {
            pairs.sort_by_key(|p| format!("{p:?}"));
            Frame::Map(pairs)
        }
        other => other,
    }
}

/// The bulk strings of an array or set reply.
pub(crate) fn items(frame: &Frame) -> Vec<Vec<u8>> {
    match frame {
        Frame::Array(v) | Frame::Set(v) => v
            .iter()
            .map(|f| match f {
                Frame::Bulk(b) => b.clone(),
                other => format!("{other:?}").into_bytes(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// One redis-server and one Tessera node, each with a RESP2 and a RESP3 connection;
/// commands go to both and differences are collected.
pub(crate) struct Twins {
    pub redis: [RawConnection; 2],
    pub tessera: [RawConnection; 2],
    pub mismatches: Vec<String>,
    /// Which protocol the next commands use (0: RESP2, 1: RESP3).
    pub proto: usize,
}

impl Twins {
    pub fn connect(redis: u16, tessera: u16) -> Twins {
        let open = |port: u16| {
            let two = RawConnection::connect(port).expect("connect");
            let mut three = RawConnection::connect(port).expect("connect");
            three.command(&["HELLO", "3"]).expect("HELLO 3");
            [two, three]
        };
        Twins {
            redis: open(redis),
            tessera: open(tessera),
            mismatches: Vec::new(),
            proto: 0,
        }
    }

    /// Sends `args` to both; returns (redis, tessera) replies.
    pub fn both(&mut self, args: &[&[u8]]) -> (Frame, Frame) {
        let p = self.proto;
        let want = self.redis[p].command_bytes(args).expect("redis answers");
        let have = self.tessera[p]
            .command_bytes(args)
            .expect("tessera answers");
        if std::env::var_os("TESSERA_COLLECTIONS_TRACE").is_some() {
            let line: Vec<String> = args
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            eprintln!("{} -> {}", line.join(" "), show(&want));
        }
        (want, have)
    }

    /// Sends `args` to redis-server only (to read the state both should share).
    pub fn redis_only(&mut self, args: &[&[u8]]) -> Frame {
        self.redis[0].command_bytes(args).expect("redis answers")
    }

    /// Sends `args` to Tessera only.
    pub fn tessera_only(&mut self, args: &[&[u8]]) -> Frame {
        self.tessera[0]
            .command_bytes(args)
            .expect("tessera answers")
    }

    pub fn note(&mut self, args: &[&[u8]], want: &Frame, have: &Frame) {
        let line: Vec<String> = args
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        self.mismatches.push(format!(
            "[RESP{}] {}\n    redis:   {}\n    tessera: {}",
            self.proto + 2,
            line.join(" "),
            show(want),
            show(have)
        ));
    }

    /// Both replies must be equal.
    pub fn exact(&mut self, args: &[&[u8]]) -> Frame {
        let (want, have) = self.both(args);
        if want != have {
            self.note(args, &want, &have);
        }
        want
    }

    /// [`Twins::exact`] of a command written as one line of space-separated words.
    pub fn exact_line(&mut self, line: &str) -> Frame {
        let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        self.exact(&args)
    }

    /// Both replies must be equal once their elements are sorted.
    pub fn unordered(&mut self, args: &[&[u8]]) {
        let (want, have) = self.both(args);
        let (want, have) = (sorted(want), sorted(have));
        if want != have {
            self.note(args, &want, &have);
        }
    }

    /// A full SCAN-like iteration (`cmd key cursor extra...`) on each side: the union
    /// of what came back must be equal (`pairs`: items are field/value pairs).
    pub fn full_scan(&mut self, cmd: &[u8], key: &[u8], extra: &[&[u8]], pairs: bool) {
        let p = self.proto;
        let collect = |conn: &mut RawConnection| -> Result<BTreeSet<Vec<Vec<u8>>>, Frame> {
            let mut cursor = b"0".to_vec();
            let mut seen = BTreeSet::new();
            for _ in 0..10_000 {
                let mut args: Vec<&[u8]> = vec![cmd, key, &cursor];
                args.extend_from_slice(extra);
                let reply = conn.command_bytes(&args).expect("scan answers");
                let Frame::Array(parts) = &reply else {
                    return Err(reply);
                };
                let (Frame::Bulk(next), list) = (&parts[0], &parts[1]) else {
                    return Err(reply);
                };
                let found = items(list);
                if pairs {
                    seen.extend(found.chunks(2).map(<[Vec<u8>]>::to_vec));
                } else {
                    seen.extend(found.into_iter().map(|m| vec![m]));
                }
                if next == b"0" {
                    return Ok(seen);
                }
                cursor = next.clone();
            }
            panic!("a scan did not end");
        };
        let want = collect(&mut self.redis[p]);
        let have = collect(&mut self.tessera[p]);
        if want != have {
            let shown = |r: &Result<BTreeSet<Vec<Vec<u8>>>, Frame>| match r {
                Ok(s) => format!(
                    "{} items {:?}",
                    s.len(),
                    s.iter().take(5).collect::<Vec<_>>()
                ),
                Err(f) => show(f),
            };
            let line = format!(
                "full {} {} {:?}\n    redis:   {}\n    tessera: {}",
                String::from_utf8_lossy(cmd),
                String::from_utf8_lossy(key),
                extra
                    .iter()
                    .map(|e| String::from_utf8_lossy(e).into_owned())
                    .collect::<Vec<_>>(),
                shown(&want),
                shown(&have)
            );
            self.mismatches.push(line);
        }
    }

    pub fn assert_clean(&self, what: &str) {
        assert!(
            self.mismatches.is_empty(),
            "{what}: {} replies differ:\n{}",
            self.mismatches.len(),
            self.mismatches
                .iter()
                .take(30)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// DUMP on one kind, RESTORE on the other, both ways: the same digest for `key`.
pub(crate) fn cross_dump(t: &mut Twins, key: &[u8]) {
    let bulk = |f: Frame| match f {
        Frame::Bulk(b) => b,
        other => panic!("DUMP gave {}", show(&other)),
    };
    let from_redis = bulk(t.redis_only(&[b"DUMP", key]));
    let from_tessera = bulk(t.tessera_only(&[b"DUMP", key]));
    let copy = [key, b"copy"].concat();
    for (payload, name) in [
        (&from_redis, "redis→tessera"),
        (&from_tessera, "tessera→redis"),
    ] {
        let target_is_tessera = name.ends_with("tessera");
        let restore: [&[u8]; 5] = [b"RESTORE", &copy, b"0", payload, b"REPLACE"];
        let reply = if target_is_tessera {
            t.tessera_only(&restore)
        } else {
            t.redis_only(&restore)
        };
        assert_eq!(
            show(&reply),
            "+OK",
            "RESTORE {name} of {}",
            String::from_utf8_lossy(key)
        );
    }
    let digest = [&b"DEBUG"[..], b"DIGEST-VALUE", key, &copy];
    let want = t.redis_only(&digest);
    let have = t.tessera_only(&digest);
    assert_eq!(
        show(&have),
        show(&want),
        "digests of {}",
        String::from_utf8_lossy(key)
    );
    let encoding = [&b"OBJECT"[..], b"ENCODING", &copy];
    assert_eq!(
        show(&t.tessera_only(&encoding)),
        show(&t.redis_only(&encoding))
    );
}

/// The keys' digests and encodings on `c` equal redis-server's (through `t`).
fn same_as_redis(t: &mut Twins, c: &mut RawConnection, keys: &[&str], stage: &str) {
    for key in keys {
        for probe in ["DEBUG DIGEST-VALUE", "OBJECT ENCODING"] {
            let mut args: Vec<&[u8]> = probe.split(' ').map(str::as_bytes).collect();
            args.push(key.as_bytes());
            let want = t.redis_only(&args);
            let have = c.command_bytes(&args).expect("a reply");
            assert_eq!(show(&have), show(&want), "{stage}: {probe} {key}");
        }
    }
}

/// dump.rdb both ways: redis-server's file loads in Tessera, survives DEBUG RELOAD,
/// and Tessera's own file loads in a new redis-server, each with redis-server's
/// digests and encodings for `keys`.
pub(crate) fn rdb_both_ways(t: &mut Twins, redis: &RedisServer, keys: &[&str]) {
    let debug = ["--enable-debug-command", "yes"];
    t.redis_only(&[b"SAVE"]);
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(redis.dir().join("dump.rdb"), dir.path().join("dump.rdb")).expect("copy");
    let loaded = TesseraNode::start_in_dir(dir, &debug);
    let mut c = RawConnection::connect(loaded.port).expect("connect");
    same_as_redis(t, &mut c, keys, "redis dump.rdb loaded by Tessera");
    assert_eq!(show(&c.command(&["DEBUG", "RELOAD"]).unwrap()), "+OK");
    same_as_redis(t, &mut c, keys, "after DEBUG RELOAD");
    assert_eq!(show(&c.command(&["SAVE"]).unwrap()), "+OK");
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(
        loaded.dir.path().join("dump.rdb"),
        dir.path().join("dump.rdb"),
    )
    .expect("copy");
    let back = RedisServer::start_in(dir, &debug);
    let mut c = RawConnection::connect(back.port).expect("connect");
    same_as_redis(t, &mut c, keys, "Tessera dump.rdb loaded by redis-server");
}

/// Makes the cluster-mode server at `port` a one-node cluster serving every slot, and
/// waits until its cluster state is ok.
pub fn serve_every_slot(port: u16) {
    let mut c = tessera_tests::RawConnection::connect(port).expect("connect");
    c.command(&["CLUSTER", "ADDSLOTSRANGE", "0", "16383"])
        .expect("ADDSLOTSRANGE");
    assert!(
        tessera_tests::wait_until(std::time::Duration::from_secs(10), || {
            tessera_tests::text(&c.command(&["CLUSTER", "INFO"]).expect("INFO"))
                .contains("cluster_state:ok")
        }),
        "the one-node cluster on {port} is ok"
    );
}
