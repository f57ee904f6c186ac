//! Lua 5.1 scripting for Tessera, as Redis 7.0 offers it to EVAL.
//!
//! This crate owns everything about Lua and nothing about sockets or topology: the
//! sandboxed state and its libraries (base, table, string, math, cjson, cmsgpack, struct, bit), the
//! `redis` API table, the script cache, the conversions between RESP values and Lua
//! values, and the shebang flags. The server runs a script by handing [`Engine::run`] a
//! [`CommandRunner`], which `redis.call` and `redis.pcall` use to run commands, and gets
//! back the reply to send, as a [`Frame`]. Function libraries (FUNCTION LOAD, FCALL)
//! live in [`Functions`], a second sandboxed state built the same way.

mod bit;
mod cjson;
mod cmsgpack;
mod convert;
mod engine;
mod errors;
mod flags;
mod functions;
mod library;
mod raise;
mod rand48;
mod register;
pub mod sandbox;
mod structlib;

pub use engine::{Engine, EngineError, Outcome, Script};
pub use errors::normalize_error;
pub use flags::{ScriptFlags, parse_shebang};
pub use functions::{Functions, RestorePolicy};
pub use library::{FLAG_NAMES, FunctionInfo, Library};
pub use tessera_resp::frame::Frame;

/// What `redis.call` and `redis.pcall` need from the server: run one command and give
/// its reply. Refusals (unknown command, wrong arity, a write from a read-only script)
/// come back as [`Frame::Error`] with Redis's text, like any other error reply.
pub trait CommandRunner {
    /// Runs `args` (the command name first), the reply encoded in RESP3 when `resp3`.
    fn call(&mut self, args: &[Vec<u8>], resp3: bool) -> Frame;
}

/// The SHA1 of `body` in lowercase hex, as SCRIPT LOAD and `redis.sha1hex` give it.
pub fn sha1_hex(body: &[u8]) -> String {
    sha1_smol::Sha1::from(body).digest().to_string()
}
