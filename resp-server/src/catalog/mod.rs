//! The command catalog: what Tessera implements, as data.
//!
//! The facts of each command (arity, flags, key specs, ACL categories, tips, docs
//! arguments) are Redis 7.0.15's own, captured from a real server into
//! `redis-7.0.15.jsonl` by `scripts/capture-commands`; `tessera.txt` names the
//! commands Tessera implements, with our own summary and complexity. The build turns
//! both into [`CommandId`] and [`CATALOG`], so adding a command is one row there and
//! one arm in the handler table (`commands::handler`), which the compiler insists on.

pub mod keys;
pub mod meta;
pub mod table;

pub use keys::{Keys, find_keys, keys_of};
pub use meta::{
    AclCategories, ArgDoc, BeginSearch, CommandFlags, CommandMeta, DocField, FindKeys, KeyRule,
    KeySpec, KeySpecFlags,
};
pub use table::{Command, CommandTable};

include!(concat!(env!("OUT_DIR"), "/commands.rs"));

impl CommandId {
    /// This command's description.
    #[inline]
    pub fn meta(self) -> &'static CommandMeta {
        &CATALOG[self as usize]
    }
}

/// Whether `id` is a CLIENT subcommand (Redis runs them all in one function, which
/// some rules single out).
pub fn is_client_subcommand(id: CommandId) -> bool {
    id.meta().name.starts_with("client|")
}

#[cfg(test)]
mod tests;
