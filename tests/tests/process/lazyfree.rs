//! Lazy freeing against redis-server 7.0.15: UNLINK, DEL under lazyfree-lazy-user-del,
//! overwrites under lazyfree-lazy-server-del, expiry under lazyfree-lazy-expire and
//! FLUSHALL ASYNC / lazyfree-lazy-user-flush all answer as Redis does and leave no key
//! behind; INFO's lazyfree_pending_objects drains to 0.

use tessera_resp::frame::Frame;
use tessera_tests::{RedisServer, TesseraNode, show};

use super::twins::Twins;

fn exact(t: &mut Twins, line: &str) {
    let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
    t.exact(&args);
}

/// Builds a 2000-member set (a hash table: worth freeing in the background).
fn big_set(t: &mut Twins, key: &str) {
    for chunk in 0..4 {
        let members: Vec<String> = (0..500).map(|i| format!("m{}", chunk * 500 + i)).collect();
        let line = format!("SADD {key} {}", members.join(" "));
        exact(t, &line);
    }
}

fn pending_drains(t: &mut Twins) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let info = show(&t.tessera_only(&[b"INFO", b"memory"]));
        if info.contains("lazyfree_pending_objects:0") {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{info}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn big_values_are_freed_lazily_as_redis_answers() {
    let redis = RedisServer::start(&[]);
    let tessera = TesseraNode::start(&[]);
    let mut t = Twins::connect(redis.port, tessera.port);
    big_set(&mut t, "a");
    exact(&mut t, "UNLINK a nokey");
    exact(&mut t, "EXISTS a");
    for directive in [
        "lazyfree-lazy-user-del",
        "lazyfree-lazy-server-del",
        "lazyfree-lazy-expire",
        "lazyfree-lazy-user-flush",
    ] {
        exact(&mut t, &format!("CONFIG SET {directive} yes"));
        exact(&mut t, &format!("CONFIG GET {directive}"));
    }
    big_set(&mut t, "b");
    exact(&mut t, "DEL b");
    big_set(&mut t, "c");
    exact(&mut t, "SET c overwritten");
    exact(&mut t, "GET c");
    big_set(&mut t, "d");
    exact(&mut t, "PEXPIRE d 1");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while t.tessera_only(&[b"EXISTS", b"d"]) != Frame::Integer(0) {
        assert!(std::time::Instant::now() < deadline, "d never expired");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    big_set(&mut t, "e");
    exact(&mut t, "FLUSHALL");
    exact(&mut t, "DBSIZE");
    big_set(&mut t, "f");
    exact(&mut t, "FLUSHALL ASYNC");
    exact(&mut t, "DBSIZE");
    pending_drains(&mut t);
    t.assert_clean("lazyfree");
}
