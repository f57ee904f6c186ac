//! Node IDs: 40 lowercase hex characters, as Redis generates them.

use std::fmt;

/// Length of a node ID.
pub const NODE_ID_LEN: usize = 40;

/// A cluster node's ID. Stored as the 40 raw bytes of the wire format; an ID read off
/// the wire that is not lowercase hex simply never matches a known node, as in Redis.
#[derive(Clone, Copy, Eq, PartialOrd, Ord)]
pub struct NodeId([u8; NODE_ID_LEN]);

impl PartialEq for NodeId {
    /// Five word compares, inlined: ids are compared once per slot in the loops over
    /// the slot table, where a `memcmp` call per slot dominated the engine's time.
    #[inline]
    fn eq(&self, other: &NodeId) -> bool {
        let word = |id: &[u8; NODE_ID_LEN], i: usize| {
            u64::from_ne_bytes(id[i * 8..i * 8 + 8].try_into().expect("8 bytes"))
        };
        (0..NODE_ID_LEN / 8).all(|i| word(&self.0, i) == word(&other.0, i))
    }
}

impl std::hash::Hash for NodeId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl NodeId {
    /// The ID from its 40 bytes.
    pub fn from_bytes(bytes: [u8; NODE_ID_LEN]) -> NodeId {
        NodeId(bytes)
    }

    /// Parses a textual ID; `None` unless it is exactly 40 characters of `[a-z0-9]`
    /// (the check Redis applies to IDs given in commands and nodes.conf).
    pub fn parse(text: &[u8]) -> Option<NodeId> {
        let bytes: [u8; NODE_ID_LEN] = text.try_into().ok()?;
        bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            .then_some(NodeId(bytes))
    }

    /// A random ID from the caller's random source (sans-IO: no global RNG here).
    pub fn random(rng: &mut impl rand::Rng) -> NodeId {
        use rand::RngExt;
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut bytes = [0u8; NODE_ID_LEN];
        for b in &mut bytes {
            *b = HEX[rng.random_range(0..16usize)];
        }
        NodeId(bytes)
    }

    /// The 40 bytes.
    pub fn as_bytes(&self) -> &[u8; NODE_ID_LEN] {
        &self.0
    }

    /// The ID as text (lossy only for IDs that never came from a valid node).
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("????????????????????????????????????????")
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", &self.as_str()[..8])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn parse_and_random() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let id = NodeId::random(&mut rng);
        assert_eq!(NodeId::parse(id.as_str().as_bytes()), Some(id));
        assert!(NodeId::parse(b"short").is_none());
        assert!(NodeId::parse(&[b'A'; 40]).is_none());
        assert!(
            NodeId::parse(&[b'z'; 40]).is_some(),
            "Redis accepts [a-z0-9]"
        );
    }
}
