//! Master-replica replication.
//!
//! This crate will own both sides of PSYNC as Redis 7.0 speaks it (full resync with an
//! RDB payload, partial resync from the backlog, replid/replid2), the replication
//! backlog, the replica's link to its master and WAIT accounting. It makes no topology
//! decisions. It arrives with the replication and failover issue.
