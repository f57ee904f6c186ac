//! Tessera's RESP front end.
//!
//! Speaks RESP2 and RESP3 (HELLO) to unmodified Redis clients: decodes requests
//! (multibulk and inline, with Redis's limits and error texts), looks commands up in
//! the command table, checks arity, authentication and slots, runs the handler, and
//! writes the replies of a pipelined batch in one write. It owns client state and the
//! server configuration; it does not decide cluster topology.

pub mod aof;
pub mod auth;
pub mod blocking;
pub mod catalog;
pub mod client;
pub mod client_eviction;
pub mod clock;
pub mod commands;
pub mod config;
mod connection;
pub mod cron;
pub mod dispatch;
pub mod errors;
pub mod eviction;
pub mod info;
pub mod loading;
pub mod node;
pub mod notify;
pub mod output;
pub mod pause;
pub mod pubsub;
/// The RESP codec, which lives in its own crate so that clients, migration,
/// replication and the fuzzers use it without linking the server; re-exported under
/// its old name so `crate::protocol::reply::Reply` and friends keep working.
pub use tessera_resp as protocol;
pub mod refusals;
pub mod replication;
pub mod scripts;
pub mod server;
pub mod session;
pub mod snapshots;
pub mod stats;
pub mod tracking;
pub mod watch;

pub use info::REDIS_VERSION;
pub use node::{MemoryStats, Node, NodeOrigin};
