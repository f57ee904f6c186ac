//! The RESP2/RESP3 wire protocol: pure functions over bytes, no IO.
//!
//! - [`frame`]: any RESP value, decoded with "incomplete" distinct from "invalid"
//!   (what clients of a node read).
//! - [`number`]: the integers of RESP headers, as Redis reads them.
//! - [`request`]: the resumable decoder of commands as a server reads them (multibulk and
//!   inline), with Redis's limits checked before allocating.
//! - [`reply`]: the reply encoder, RESP2 or RESP3 as the client chose.
//! - [`command`]: a command as a RESP array of bulk strings, as MIGRATE, replication and
//!   clients send it.
//! - [`split_args`]: the quoting rules of inline commands and config lines.
//! - [`output_limit`]: client-output-buffer-limit, when unsent output closes a client.
//!
//! It knows nothing of servers, keys or tokio, so the server, migration, replication,
//! the command-line tools, the tests and the fuzzers share one codec without linking
//! each other.

pub mod command;
pub mod frame;
pub mod number;
pub mod output_limit;
pub mod reply;
pub mod request;
pub mod split_args;

pub use command::encode_command;
pub use frame::Frame;
