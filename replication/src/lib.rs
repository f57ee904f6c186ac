//! Master-replica replication, as Redis 7.0 speaks it.
//!
//! - [`backlog`]: the tail of the stream, for partial resyncs.
//! - [`history`]: replid/replid2 and the PSYNC rule.
//! - [`notify`]: wakeups for the tasks that wait on the stream, with no runtime.
//! - [`replica_link`]: the replica's handshake and stream framing, as rules over bytes.
//! - [`stream`]: the node's stream: ordering, backlog, attached replicas, acks.
//! - [`wire`]: the bytes beyond plain RESP: PSYNC replies, the RDB header.
//!
//! This crate makes no topology decisions: who replicates whom is decided elsewhere.
//! It holds no sockets and no tokio: the links that carry the stream live with the
//! server, which awaits this crate's wakeups.

pub mod backlog;
pub mod history;
pub mod notify;
pub mod replica_link;
pub mod stream;
pub mod wire;

pub use history::{NO_REPLID, ReplicationIds};
pub use stream::{
    Attach, AttachedReplica, ChangeSink, NewReplica, ReplicaState, ReplicationStream, Role,
};
