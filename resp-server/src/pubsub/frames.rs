//! The pushes a subscriber receives, encoded once per protocol and shared by every
//! subscriber that speaks it.

use bytes::Bytes;

use crate::protocol::reply::Reply;

/// Encodes a push of bulk strings (`message`, `pmessage`, `smessage`).
pub fn push(resp3: bool, parts: &[&[u8]]) -> Bytes {
    let mut r = Reply::new();
    r.set_resp3(resp3);
    r.push(parts.len());
    for p in parts {
        r.bulk(p);
    }
    Bytes::copy_from_slice(r.as_bytes())
}

/// A subscription change confirmation: `[kind, channel or null, count]`.
pub fn confirmation(reply: &mut Reply, kind: &str, channel: Option<&[u8]>, count: usize) {
    reply.push(3);
    reply.bulk(kind.as_bytes());
    match channel {
        Some(c) => reply.bulk(c),
        None => reply.null(),
    }
    reply.int(count as i64);
}

/// One frame in both protocols, each encoded on first use.
pub struct Lazy<'a> {
    parts: &'a [&'a [u8]],
    encoded: [Option<Bytes>; 2],
}

impl<'a> Lazy<'a> {
    /// A push of `parts`, not yet encoded.
    pub fn new(parts: &'a [&'a [u8]]) -> Lazy<'a> {
        Lazy {
            parts,
            encoded: [None, None],
        }
    }

    /// The frame for a subscriber speaking RESP3 or not.
    pub fn get(&mut self, resp3: bool) -> Bytes {
        let parts = self.parts;
        self.encoded[usize::from(resp3)]
            .get_or_insert_with(|| push(resp3, parts))
            .clone()
    }
}
