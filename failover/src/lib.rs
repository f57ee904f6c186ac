//! Failure detection and failover rules.
//!
//! Plain functions and small state machines that take time as an argument, so the bus
//! engine can call them and simulations can drive them. Generic over the node id type:
//! this crate knows nothing of sockets, keys or the wire format.
//!
//! Today: PFAIL, failure reports and the FAIL quorum (Redis 7.0 rules). Replica
//! election, voting, manual failover and replica migration arrive with the failover
//! issue.

pub mod failure;
