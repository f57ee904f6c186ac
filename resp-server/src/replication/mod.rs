//! Replication as the node runs it: the master side of a replica's link, this node's
//! own link to its master, and the commands around them. The protocol pieces (the
//! stream, the backlog, the PSYNC rule, the wire format) live in `tessera-replication`.

pub mod master;
pub mod replica;

pub(crate) use replica::Applier;
pub use replica::{LinkState, MasterLink, promote, replicate};

/// Since when this replica's link to its master is down (Unix ms; 0 if it never came
/// up); `None` for a master or while the link is up.
pub fn link_down_since(node: &crate::node::Node) -> Option<u64> {
    node.master_link().as_ref().and_then(|l| l.down_since())
}

/// A replica asked to sync: what PSYNC (or SYNC) said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRequest {
    /// The history it follows (`?` for none).
    pub replid: String,
    /// The first byte it lacks (`-1` for none).
    pub next: i64,
    /// SYNC: the old protocol, a snapshot with no `+FULLRESYNC` line.
    pub legacy: bool,
    /// The port it listens on (REPLCONF listening-port).
    pub listening_port: u16,
}
