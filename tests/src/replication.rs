//! Helpers for replication tests: INFO fields and waiting for a replica to catch up.

use std::time::Duration;

use crate::{RawConnection, text, wait_until};

/// A field of INFO (any section) on `port`, if the node answers and has it.
pub fn info(port: u16, name: &str) -> Option<String> {
    let mut c = RawConnection::connect(port).ok()?;
    let all = text(&c.command(&["INFO", "everything"]).ok()?);
    all.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(|v| v.trim().to_string())
}

/// Makes `replica` replicate `master` (REPLICAOF) and waits until its link is up and
/// its offset equals the master's.
pub fn follow(replica: u16, master: u16) {
    let mut c = RawConnection::connect(replica).expect("replica");
    let reply = text(
        &c.command(&["REPLICAOF", "127.0.0.1", &master.to_string()])
            .expect("REPLICAOF"),
    );
    assert!(reply.starts_with("OK"), "{reply}");
    assert!(
        wait_until(Duration::from_secs(30), || caught_up(replica, master)),
        "replica {replica} caught up with {master}: link {:?}, offsets {:?} / {:?}",
        info(replica, "master_link_status"),
        info(replica, "slave_repl_offset"),
        info(master, "master_repl_offset"),
    );
}

/// True when `replica`'s link is up and it processed everything `master` recorded.
pub fn caught_up(replica: u16, master: u16) -> bool {
    info(replica, "master_link_status").as_deref() == Some("up")
        && info(replica, "slave_repl_offset").is_some()
        && info(replica, "slave_repl_offset") == info(master, "master_repl_offset")
}
