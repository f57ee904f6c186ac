//! The append-only file in Redis 7.0's multi-part format: as pure functions over bytes
//! and text, the manifest ([`manifest`]) and the command stream of base and
//! incremental files ([`commands`]), a base of commands ([`command_base`]); and the writer thread that appends to it and
//! fsyncs as `appendfsync` says ([`appender`]). Loading and rewriting belong to the
//! node, which drives these.

pub mod appender;
pub mod command_base;
pub mod commands;
pub mod manifest;
