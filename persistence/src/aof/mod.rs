//! The append-only file in Redis 7.0's multi-part format, as pure functions over bytes
//! and text: the manifest ([`manifest`]) and the command stream of base and
//! incremental files ([`commands`]). Opening, writing, fsync, loading and rewriting
//! belong to the node, which drives these.

pub mod commands;
pub mod manifest;
