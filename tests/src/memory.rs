//! Helpers for the maxmemory tests and benchmark: INFO figures and pipelined writes of
//! fixed-size values, the same against Tessera and redis-server.

use tessera_resp::frame::Frame;

use crate::{RawConnection, text};

/// An integer field of INFO on `c` (0 when missing).
pub fn info_u64(c: &mut RawConnection, field: &str) -> u64 {
    let all = text(&c.command(&["INFO", "everything"]).expect("INFO"));
    all.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Sets `maxmemory` to the node's used memory now plus `headroom` bytes and returns
/// the limit.
pub fn limit_above_used(c: &mut RawConnection, headroom: u64) -> u64 {
    let limit = info_u64(c, "used_memory") + headroom;
    let reply = c
        .command(&["CONFIG", "SET", "maxmemory", &limit.to_string()])
        .expect("CONFIG SET");
    assert_eq!(text(&reply), "OK");
    limit
}

/// Writes keys `{prefix}{i}` for `i` in `range`, each a value of `size` bytes (with
/// `EX ttl(i)` when `ttl` gives one), pipelined in batches; answers every reply.
pub fn fill(
    c: &mut RawConnection,
    prefix: &str,
    range: std::ops::Range<u64>,
    size: usize,
    ttl: impl Fn(u64) -> Option<u64>,
) -> Vec<Frame> {
    const BATCH: u64 = 256;
    let value = vec![b'x'; size];
    let mut replies = Vec::with_capacity((range.end - range.start) as usize);
    let mut at = range.start;
    while at < range.end {
        let end = (at + BATCH).min(range.end);
        let mut bytes = Vec::new();
        for i in at..end {
            let key = format!("{prefix}{i}");
            let seconds = ttl(i).map(|s| s.to_string());
            let mut args: Vec<&[u8]> = vec![b"SET", key.as_bytes(), &value];
            if let Some(s) = &seconds {
                args.extend([b"EX".as_slice(), s.as_bytes()]);
            }
            bytes.extend(Frame::command(args));
        }
        c.send(&bytes).expect("send");
        for _ in at..end {
            replies.push(c.read_frame().expect("reply"));
        }
        at = end;
    }
    replies
}
