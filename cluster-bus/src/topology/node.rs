//! What a node knows about one cluster node.

use tessera_failover::failure::FailureReports;
use tessera_failover::lease::Contact;

use super::flags::NodeFlags;
use crate::node_id::NodeId;
use crate::slot_bitmap::SlotBitmap;

/// Identifies a bus connection (assigned by the engine).
pub type LinkId = u64;

/// A cluster node as seen from here. Times are Unix milliseconds, 0 meaning "never".
#[derive(Debug, Clone)]
pub struct ClusterNode {
    /// Its ID.
    pub id: NodeId,
    /// Its flags.
    pub flags: NodeFlags,
    /// Its IP ("" while unknown).
    pub ip: String,
    /// Client port.
    pub port: u16,
    /// Bus port.
    pub cport: u16,
    /// Plain client port in TLS clusters.
    pub pport: u16,
    /// Announced hostname ("" when none).
    pub hostname: String,
    /// Its master, for a replica.
    pub master: Option<NodeId>,
    /// Its replicas, in the order they attached.
    pub replicas: Vec<NodeId>,
    /// Its configEpoch.
    pub config_epoch: u64,
    /// Slots it serves.
    pub slots: SlotBitmap,
    /// `slots.count()`, kept at hand.
    pub slot_count: usize,
    /// When we sent a ping still unanswered (0: none pending).
    pub ping_sent: u64,
    /// When we last received a PONG.
    pub pong_received: u64,
    /// When we last received anything (from its creation: a node restarted from
    /// nodes.conf must not count peers it heard from before the restart as silent).
    pub data_received: u64,
    /// Its continuous contact with us, as the PONGs on our link prove it (the write
    /// lease's evidence).
    pub contact: Contact,
    /// When it was marked FAIL.
    pub fail_time: u64,
    /// When we last voted for one of its replicas.
    pub voted_time: u64,
    /// When we created this record.
    pub created: u64,
    /// Replication offset it announced.
    pub repl_offset: u64,
    /// Masters' reports that it is failing.
    pub fail_reports: FailureReports<NodeId>,
    /// Our connection to it (where we send).
    pub link: Option<LinkId>,
    /// Its connection to us (where its PINGs arrive).
    pub inbound_link: Option<LinkId>,
}

impl ClusterNode {
    /// A node record with nothing known but its ID and flags.
    pub fn new(id: NodeId, flags: u16, now: u64) -> ClusterNode {
        ClusterNode {
            id,
            flags: NodeFlags(flags),
            ip: String::new(),
            port: 0,
            cport: 0,
            pport: 0,
            hostname: String::new(),
            master: None,
            replicas: Vec::new(),
            config_epoch: 0,
            slots: SlotBitmap::new(),
            slot_count: 0,
            ping_sent: 0,
            pong_received: 0,
            data_received: now,
            contact: Contact::default(),
            fail_time: 0,
            voted_time: 0,
            created: now,
            repl_offset: 0,
            fail_reports: FailureReports::new(),
            link: None,
            inbound_link: None,
        }
    }

    /// A master.
    pub fn is_master(&self) -> bool {
        self.flags.has(NodeFlags::MASTER)
    }

    /// A replica.
    pub fn is_replica(&self) -> bool {
        self.flags.has(NodeFlags::REPLICA)
    }

    /// Marked FAIL.
    pub fn is_failed(&self) -> bool {
        self.flags.has(NodeFlags::FAIL)
    }

    /// Marked PFAIL.
    pub fn is_timed_out(&self) -> bool {
        self.flags.has(NodeFlags::PFAIL)
    }

    /// Still in handshake.
    pub fn in_handshake(&self) -> bool {
        self.flags.has(NodeFlags::HANDSHAKE)
    }

    /// This node itself.
    pub fn is_myself(&self) -> bool {
        self.flags.has(NodeFlags::MYSELF)
    }

    /// Its address is known.
    pub fn has_address(&self) -> bool {
        !self.flags.has(NodeFlags::NOADDR)
    }
}
