//! Durable state on disk.
//!
//! Today: RDB snapshots (`dump.rdb`), written crash-safe (a temp file in the same
//! directory, fsync, rename over the old file, fsync of the directory) so a crash leaves
//! either the old snapshot or the new one, never half of one. The cluster issue adds
//! `nodes.conf` in the Redis 7.0 format. Knows nothing of the network.

pub mod dump;
