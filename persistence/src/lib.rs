//! Durable state on disk.
//!
//! Today: RDB snapshots (`dump.rdb`), written crash-safe (a temp file in the same
//! directory, fsync, rename over the old file, fsync of the directory) so a crash leaves
//! either the old snapshot or the new one, never half of one. And `nodes.conf` in the
//! Redis 7.0 format, saved the same way and locked against a second node. And the
//! append-only file: its formats and its writer. Knows nothing of the network.

pub mod aof;
pub mod cluster_file;
pub mod dump;
pub mod nodes_conf;
