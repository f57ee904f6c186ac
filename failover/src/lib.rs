//! Failure detection and failover rules.
//!
//! Plain functions and small state machines that take time as an argument, so the bus
//! engine can call them and simulations can drive them. Generic over the node id type:
//! this crate knows nothing of sockets, keys or the wire format.
//!
//! - [`failure`]: PFAIL, failure reports and the FAIL quorum.
//! - [`election`]: replica elections and the masters' voting rule.
//! - [`lease`]: why an isolated master stops writing before its replica is promoted.
//! - [`manual`]: manual failover (CLUSTER FAILOVER) on both sides.
//! - [`replica_migration`]: which replica moves to an orphaned master (not slot
//!   migration, which is the `tessera-migration` crate).

pub mod election;
pub mod failure;
pub mod lease;
pub mod manual;
pub mod replica_migration;
