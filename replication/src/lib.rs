//! Master-replica replication, as Redis 7.0 speaks it.
//!
//! - [`backlog`]: the tail of the stream, for partial resyncs.
//! - [`history`]: replid/replid2 and the PSYNC rule.
//! - [`stream`]: the node's stream: ordering, backlog, attached replicas, acks.
//! - [`wire`]: the bytes: commands, PSYNC replies, the RDB header.
//!
//! This crate makes no topology decisions: who replicates whom is decided elsewhere.

pub mod backlog;
pub mod history;
pub mod stream;
pub mod wire;

pub use history::{NO_REPLID, ReplicationIds};
pub use stream::{Attach, AttachedReplica, NewReplica, ReplicaState, ReplicationStream, Role};
