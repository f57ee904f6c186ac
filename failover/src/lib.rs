//! Failure detection and failover rules.
//!
//! This crate will own, as plain functions and state machines that take time as an
//! argument: PFAIL, failure reports and FAIL by a majority of masters; replica election
//! and the masters' voting rules; manual failover (default, FORCE, TAKEOVER); replica
//! migration. It knows nothing of sockets or keys. It arrives with the replication and
//! failover issue.
