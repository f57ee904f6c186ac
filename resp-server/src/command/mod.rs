//! The command table and what COMMAND reports about it.

pub mod catalog;
pub mod meta;
pub mod table;

pub use meta::{ArgDoc, CommandMeta, DocField, KeySpec};
pub use table::{Command, CommandTable};
