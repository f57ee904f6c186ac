//! Node flags, with the values of the wire format and the names CLUSTER NODES prints.

/// A node's flags (u16, as on the wire).
#[derive(Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct NodeFlags(pub u16);

impl NodeFlags {
    /// A master.
    pub const MASTER: u16 = 1;
    /// A replica.
    pub const REPLICA: u16 = 2;
    /// Possibly failing (this node's own view).
    pub const PFAIL: u16 = 4;
    /// Failing (agreed by a majority of masters).
    pub const FAIL: u16 = 8;
    /// This node itself.
    pub const MYSELF: u16 = 16;
    /// First PING/PONG exchange not completed.
    pub const HANDSHAKE: u16 = 32;
    /// Address unknown.
    pub const NOADDR: u16 = 64;
    /// Send MEET, not PING, on the next connection.
    pub const MEET: u16 = 128;
    /// A master that is a valid replica-migration target (on the wire, never printed).
    pub const MIGRATE_TO: u16 = 256;
    /// A replica that never starts a failover.
    pub const NOFAILOVER: u16 = 512;

    /// The printed names, in Redis's order.
    const NAMES: [(u16, &'static str); 8] = [
        (Self::MYSELF, "myself"),
        (Self::MASTER, "master"),
        (Self::REPLICA, "slave"),
        (Self::PFAIL, "fail?"),
        (Self::FAIL, "fail"),
        (Self::HANDSHAKE, "handshake"),
        (Self::NOADDR, "noaddr"),
        (Self::NOFAILOVER, "nofailover"),
    ];

    /// Whether every bit of `bits` is set.
    #[inline]
    pub fn has(self, bits: u16) -> bool {
        self.0 & bits == bits
    }

    /// Whether any bit of `bits` is set.
    #[inline]
    pub fn any(self, bits: u16) -> bool {
        self.0 & bits != 0
    }

    /// Sets `bits`.
    #[inline]
    pub fn set(&mut self, bits: u16) {
        self.0 |= bits;
    }

    /// Clears `bits`.
    #[inline]
    pub fn clear(&mut self, bits: u16) {
        self.0 &= !bits;
    }

    /// The comma-separated names CLUSTER NODES prints (`noflags` when none applies).
    pub fn describe(self) -> String {
        let names: Vec<&str> = Self::NAMES
            .iter()
            .filter(|(bit, _)| self.has(*bit))
            .map(|(_, name)| *name)
            .collect();
        if names.is_empty() {
            "noflags".into()
        } else {
            names.join(",")
        }
    }

    /// Parses the names nodes.conf may hold; `Err` names the first unknown one.
    pub fn parse(text: &str) -> Result<NodeFlags, String> {
        let mut flags = NodeFlags::default();
        for name in text.split(',') {
            if name.eq_ignore_ascii_case("noflags") {
                continue;
            }
            match Self::NAMES
                .iter()
                .find(|(_, n)| n.eq_ignore_ascii_case(name))
            {
                Some((bit, _)) => flags.set(*bit),
                None => return Err(name.to_string()),
            }
        }
        Ok(flags)
    }
}

impl std::fmt::Debug for NodeFlags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_redis_order() {
        let f = NodeFlags(NodeFlags::MYSELF | NodeFlags::MASTER | NodeFlags::MIGRATE_TO);
        assert_eq!(f.describe(), "myself,master");
        assert_eq!(
            NodeFlags(NodeFlags::REPLICA | NodeFlags::PFAIL).describe(),
            "slave,fail?"
        );
        assert_eq!(NodeFlags(0).describe(), "noflags");
        assert_eq!(NodeFlags::parse("myself,master").unwrap(), NodeFlags(17));
        assert_eq!(NodeFlags::parse("noflags").unwrap(), NodeFlags(0));
        assert_eq!(NodeFlags::parse("master,bogus").unwrap_err(), "bogus");
    }
}
