//! The process-level tests: real `tessera` and `redis-server` processes driven by real
//! clients, in one binary (one link instead of one per file). The failover tests have
//! their own binary, `failover`, so no other test competes with them for the CPU.

mod access_clock;
mod admin;
mod aof;
mod aof_base;
mod arity;
mod blocking;
mod bus_input;
mod catalog;
mod client_limits;
mod clients;
mod cluster;
mod collections_app;
mod collections_replication;
mod collections_resharding;
mod config_rewrite;
mod debug;
mod debug_cluster;
mod differential;
mod dump_restore;
mod exposures;
mod functions;
mod grammar;
mod hashes;
mod lazyfree;
mod lists;
mod maxmemory;
mod mixed;
mod mixed_resharding;
mod notifications;
mod object_memory;
mod persistence;
mod pubsub;
mod replication;
mod resharding;
mod scripting;
mod server;
mod sets;
mod sort;
mod sorted_sets;
mod startup;
mod transactions;
mod twins;
mod waitaof;
mod write_safety;
