//! Durable state on disk.
//!
//! This crate will own `nodes.conf` in the Redis 7.0 format (load, crash-safe save with
//! temp file, fsync and rename, and the exclusive lock that keeps a second node off the
//! same file), and the node's durable data files. It knows nothing of the network. It
//! arrives with the cluster issue.
