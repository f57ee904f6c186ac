//! Encoding and delivering one invalidation: on the tracking connection as a RESP3
//! push, or to its REDIRECT client (a push, or a `message` on `__redis__:invalidate`
//! for a RESP2 subscriber).

use bytes::Bytes;
use std::sync::atomic::Ordering;

use super::Mode;
use crate::client::{ClientInfo, ClientRegistry};

/// The channel RESP2 redirect clients receive invalidations on.
pub const CHANNEL: &[u8] = b"__redis__:invalidate";

/// What an invalidation carries, already encoded: an array of keys, or a null for
/// "every key" (in the tracking client's protocol, as Redis sends it).
pub struct Payload(Vec<u8>);

impl Payload {
    /// The keys, as an array of bulk strings.
    pub fn keys(keys: &[&[u8]]) -> Payload {
        let mut out = format!("*{}\r\n", keys.len()).into_bytes();
        for k in keys {
            out.extend_from_slice(format!("${}\r\n", k.len()).as_bytes());
            out.extend_from_slice(k);
            out.extend_from_slice(b"\r\n");
        }
        Payload(out)
    }

    /// A null, as the tracking client's protocol writes it.
    pub fn null(resp3: bool) -> Payload {
        Payload(if resp3 {
            b"_\r\n".to_vec()
        } else {
            b"$-1\r\n".to_vec()
        })
    }
}

fn bulk(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(format!("${}\r\n", b.len()).as_bytes());
    out.extend_from_slice(b);
    out.extend_from_slice(b"\r\n");
}

/// Sends `payload` for `tracker` (whose `mode` is locked by the caller).
pub fn send(clients: &ClientRegistry, tracker: &ClientInfo, mode: &mut Mode, payload: &Payload) {
    let now = crate::clock::unix_ms();
    let limit = crate::protocol::output_limit::OutputLimit::default();
    let tracker_resp3 = tracker.resp.load(Ordering::Relaxed) >= 3;
    let target = if mode.redirect != 0 {
        match clients.get(mode.redirect) {
            Some(t) => t,
            None => {
                mode.broken = true;
                if tracker_resp3 {
                    let mut out = b">2\r\n".to_vec();
                    bulk(&mut out, b"tracking-redir-broken");
                    out.extend_from_slice(format!(":{}\r\n", mode.redirect).as_bytes());
                    if let Some(m) = tracker.mailbox.get() {
                        m.deliver(Bytes::from(out), limit, now);
                    }
                }
                return;
            }
        }
    } else {
        match clients.get(tracker.id) {
            Some(t) => t,
            None => return,
        }
    };
    let redirected = mode.redirect != 0;
    let mut out = Vec::with_capacity(payload.0.len() + 48);
    let target_resp3 = target.resp.load(Ordering::Relaxed) >= 3;
    if target_resp3 {
        out.extend_from_slice(b">2\r\n");
        bulk(&mut out, b"invalidate");
    } else if redirected && target.subscription_counts().iter().any(|&n| n > 0) {
        out.extend_from_slice(b"*3\r\n");
        bulk(&mut out, b"message");
        bulk(&mut out, CHANNEL);
    } else {
        // RESP2 has no pushes on a request/reply connection: nothing can be sent.
        return;
    }
    out.extend_from_slice(&payload.0);
    // A RESP3 target without a mailbox gets one, taken at its next request.
    let mailbox = if target_resp3 {
        target.mailbox.get_or_make(&target, true)
    } else {
        target.mailbox.get()
    };
    if let Some(m) = mailbox {
        m.deliver(Bytes::from(out), limit, now);
    }
}
