//! Failover under real processes, in a binary of its own: cargo runs test binaries one
//! after another, so nothing else loads the two cores while masters are killed and
//! replicas elected against the clock of node timeouts.

mod admin_events;
mod elections;
mod mixed_elections;
mod partition;
mod replica_migration;
