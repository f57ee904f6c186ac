//! The Redis 7.0 cluster bus.
//!
//! This crate will own the `clusterMsg` codec (every message type, gossip entries and the
//! hostname ping extension, byte for byte as Redis 7.0 writes them), the topology model
//! (nodes, flags, slots, epochs), the sans-IO gossip engine (`handle(message, now)`,
//! `tick(now)`) and the links to peers. It knows nothing of keys and values. It arrives
//! with the cluster issue.
