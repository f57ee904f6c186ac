//! Every process-level test in one binary: real `tessera` and `redis-server` processes
//! driven by real clients. One binary links once, where one per file linked thirteen
//! times over.

mod bus_input;
mod clients;
mod cluster;
mod differential;
mod dump_restore;
mod failover;
mod mixed;
mod mixed_failover;
mod mixed_resharding;
mod persistence;
mod replication;
mod resharding;
mod server;
