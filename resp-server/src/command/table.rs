//! The command table: names to handlers, built once from the catalog.

use foldhash::fast::FixedState;
use std::collections::HashMap;
use std::sync::OnceLock;

use super::catalog::CATALOG;
use super::meta::CommandMeta;
use crate::commands::{Handler, handler_for};

/// A command this server implements.
pub struct Command {
    /// Its description.
    pub meta: &'static CommandMeta,
    /// What runs it (containers run their subcommands instead).
    pub handler: Option<Handler>,
    /// It modifies data (counted for `save` points).
    pub is_write: bool,
    /// It may run before authentication.
    pub no_auth: bool,
    /// Implemented subcommands by lowercase short name.
    pub subcommands: Commands,
}

/// Commands by lowercase name, hashed as bytes: lookups need no UTF-8 check.
pub type Commands = HashMap<&'static [u8], Command, FixedState>;

/// Every implemented command by lowercase name.
pub struct CommandTable {
    commands: Commands,
}

impl CommandTable {
    fn build() -> CommandTable {
        fn entry(meta: &'static CommandMeta) -> Option<Command> {
            let subcommands: Commands = meta
                .subcommands
                .iter()
                .filter_map(|s| entry(s).map(|c| (s.short_name().as_bytes(), c)))
                .collect();
            let handler = handler_for(meta.name);
            (handler.is_some() || !subcommands.is_empty()).then_some(Command {
                meta,
                handler,
                is_write: meta.has_flag("write"),
                no_auth: meta.has_flag("no_auth"),
                subcommands,
            })
        }
        CommandTable {
            commands: CATALOG
                .iter()
                .filter_map(|m| entry(m).map(|c| (m.name.as_bytes(), c)))
                .collect(),
        }
    }

    /// The table, built on first use.
    pub fn get() -> &'static CommandTable {
        static TABLE: OnceLock<CommandTable> = OnceLock::new();
        TABLE.get_or_init(CommandTable::build)
    }

    /// Looks a command up by name, ignoring case, without allocating.
    #[inline]
    pub fn lookup(&self, name: &[u8]) -> Option<&Command> {
        lookup_in(&self.commands, name)
    }

    /// Looks a command up by full name: `get`, or `config|get` for a subcommand.
    pub fn lookup_full(&self, name: &[u8]) -> Option<&Command> {
        match name.iter().position(|&b| b == b'|') {
            None => self.lookup(name),
            Some(bar) => self.lookup(&name[..bar])?.subcommand(&name[bar + 1..]),
        }
    }

    /// Every implemented command.
    pub fn iter(&self) -> impl Iterator<Item = &Command> {
        self.commands.values()
    }

    /// Number of implemented commands.
    pub fn len(&self) -> usize {
        self.commands.len()
    }

    /// True when no command is implemented (never, in practice).
    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }
}

impl Command {
    /// Looks a subcommand up by name, ignoring case.
    pub fn subcommand(&self, name: &[u8]) -> Option<&Command> {
        lookup_in(&self.subcommands, name)
    }

    /// Every implemented subcommand.
    pub fn subcommands(&self) -> impl Iterator<Item = &Command> {
        self.subcommands.values()
    }
}

fn lookup_in<'a>(map: &'a Commands, name: &[u8]) -> Option<&'a Command> {
    let mut lower = [0u8; 32];
    let folded = lower.get_mut(..name.len())?;
    for (dst, src) in folded.iter_mut().zip(name) {
        *dst = src.to_ascii_lowercase();
    }
    map.get(&*folded)
}
