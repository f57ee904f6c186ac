//! The `clusterMsg` wire format of Redis 7.0, byte for byte.
//!
//! Every integer is big-endian (except the MODULE id, kept opaque). A message is a
//! 2256-byte header followed by a type-specific body; see
//! `../shared/reference/redis-7.0-cluster-bus.md` §1–§4 for the layout this follows.
//! Pure functions over bytes: framing ([`check_frame`], [`CheckedFrame`]), decoding with Redis's
//! validation ([`decode`]) and encoding ([`encode`]).

mod decode;
mod encode;
mod frame;

pub use decode::{DropReason, Received, decode};
pub use encode::encode;
pub use frame::{CheckedFrame, FrameCheck, check_frame};

use crate::node_id::NodeId;
use crate::slot_bitmap::SlotBitmap;

/// The four signature bytes every message starts with.
pub const SIGNATURE: &[u8; 4] = b"RCmb";
/// Size of the fixed header, and the smallest valid message.
pub const HEADER_LEN: usize = 2256;
/// Size of one gossip entry.
pub const GOSSIP_LEN: usize = 104;
/// Protocol version carried in every header.
pub const PROTOCOL_VERSION: u16 = 1;
/// Size of the longest message type (UPDATE), Redis's `sizeof(clusterMsg)`.
pub const UPDATE_LEN: usize = 4352;
/// Longest IP text field, NUL included.
pub const IP_LEN: usize = 46;

/// Message flag (mflags[0]): the sender is a master whose manual failover is running.
pub const MFLAG_PAUSED: u8 = 0x01;
/// Message flag: vote even though the master is up (manual failover).
pub const MFLAG_FORCEACK: u8 = 0x02;
/// Message flag: ping extensions follow the gossip section.
pub const MFLAG_EXT_DATA: u8 = 0x04;

/// Message types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum MessageType {
    /// Heartbeat, carries gossip.
    Ping = 0,
    /// Reply to PING and MEET; also broadcast to announce a change.
    Pong = 1,
    /// A PING that asks the receiver to add the sender.
    Meet = 2,
    /// A node is failing.
    Fail = 3,
    /// Pub/Sub message to propagate.
    Publish = 4,
    /// A replica asks for a vote.
    FailoverAuthRequest = 5,
    /// A master grants its vote.
    FailoverAuthAck = 6,
    /// A node's slot configuration, sent to a node with a stale view.
    Update = 7,
    /// A replica asks its master to start a manual failover.
    MfStart = 8,
    /// Module message.
    Module = 9,
    /// Sharded Pub/Sub message.
    PublishShard = 10,
}

/// Number of known message types (type codes at or above this are unknown).
pub const MESSAGE_TYPES: usize = 11;

impl MessageType {
    /// The type for a wire code, if known.
    pub fn from_code(code: u16) -> Option<MessageType> {
        use MessageType::*;
        Some(match code {
            0 => Ping,
            1 => Pong,
            2 => Meet,
            3 => Fail,
            4 => Publish,
            5 => FailoverAuthRequest,
            6 => FailoverAuthAck,
            7 => Update,
            8 => MfStart,
            9 => Module,
            10 => PublishShard,
            _ => return None,
        })
    }

    /// The name CLUSTER INFO uses in `cluster_stats_messages_<name>_sent`.
    pub fn stats_name(self) -> &'static str {
        use MessageType::*;
        match self {
            Ping => "ping",
            Pong => "pong",
            Meet => "meet",
            Fail => "fail",
            Publish => "publish",
            FailoverAuthRequest => "auth-req",
            FailoverAuthAck => "auth-ack",
            Update => "update",
            MfStart => "mfstart",
            Module => "module",
            PublishShard => "publishshard",
        }
    }

    /// True for the types that carry gossip (PING, PONG, MEET).
    pub fn is_ping_like(self) -> bool {
        matches!(
            self,
            MessageType::Ping | MessageType::Pong | MessageType::Meet
        )
    }
}

/// The fixed header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Type code (may be unknown to us).
    pub kind: u16,
    /// The sender's client port, as announced.
    pub port: u16,
    /// The sender's currentEpoch.
    pub current_epoch: u64,
    /// The sender's configEpoch (its master's, for a replica).
    pub config_epoch: u64,
    /// Replication offset.
    pub offset: u64,
    /// The sender's ID.
    pub sender: NodeId,
    /// Slots the sender (or its master) serves.
    pub slots: SlotBitmap,
    /// The sender's master, for a replica.
    pub replica_of: Option<NodeId>,
    /// Announced IP; empty means "use the socket's peer address".
    pub ip: String,
    /// Plain client port when TLS is on, else 0.
    pub pport: u16,
    /// Cluster bus port.
    pub cport: u16,
    /// The sender's node flags (MYSELF included).
    pub flags: u16,
    /// The sender's view of the cluster state (0 ok, 1 fail); never read by receivers.
    pub state: u8,
    /// Message flags (mflags[0]).
    pub mflags: u8,
}

/// One gossip entry: what the sender knows about another node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GossipEntry {
    /// The node described.
    pub node: NodeId,
    /// When the sender last pinged it, in seconds.
    pub ping_sent: u32,
    /// When the sender last heard a PONG from it, in seconds.
    pub pong_received: u32,
    /// Its IP.
    pub ip: String,
    /// Its client port.
    pub port: u16,
    /// Its bus port.
    pub cport: u16,
    /// Its flags as the sender sees them.
    pub flags: u16,
    /// Its plain port (TLS clusters).
    pub pport: u16,
}

/// A ping extension (Redis 7.0 knows only HOSTNAME).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PingExtension {
    /// Type 0: the sender's hostname.
    Hostname(String),
    /// Another type: skipped, as 7.0 skips it.
    Unknown(u16),
}

/// The body of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// PING, PONG, MEET.
    Ping {
        /// Gossip entries.
        gossip: Vec<GossipEntry>,
        /// Ping extensions.
        extensions: Vec<PingExtension>,
    },
    /// FAIL: the failing node.
    Fail(NodeId),
    /// PUBLISH / PUBLISHSHARD.
    Publish {
        /// Channel.
        channel: Vec<u8>,
        /// Message.
        message: Vec<u8>,
    },
    /// UPDATE: the configuration of a node.
    Update {
        /// Its configEpoch.
        config_epoch: u64,
        /// The node.
        node: NodeId,
        /// Its slots.
        slots: SlotBitmap,
    },
    /// MODULE.
    Module {
        /// Module id, in the sender's byte order (opaque).
        module_id: [u8; 8],
        /// Module message type.
        module_type: u8,
        /// Payload.
        payload: Vec<u8>,
    },
    /// FAILOVER_AUTH_REQUEST, FAILOVER_AUTH_ACK, MFSTART, or an unknown type.
    Empty,
}

/// A complete message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The header.
    pub header: Header,
    /// The body.
    pub body: Body,
}

impl Message {
    /// The type, when known.
    pub fn kind(&self) -> Option<MessageType> {
        MessageType::from_code(self.header.kind)
    }
}
