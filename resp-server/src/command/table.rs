//! The command table: names to handlers, built once from the catalog.

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
    /// Implemented subcommands by lowercase short name.
    pub subcommands: HashMap<&'static str, Command>,
}

/// Every implemented command by lowercase name.
pub struct CommandTable {
    commands: HashMap<&'static str, Command>,
}

impl CommandTable {
    fn build() -> CommandTable {
        fn entry(meta: &'static CommandMeta) -> Option<Command> {
            let subcommands: HashMap<_, _> = meta
                .subcommands
                .iter()
                .filter_map(|s| entry(s).map(|c| (s.short_name(), c)))
                .collect();
            let handler = handler_for(meta.name);
            (handler.is_some() || !subcommands.is_empty()).then_some(Command {
                meta,
                handler,
                subcommands,
            })
        }
        CommandTable {
            commands: CATALOG
                .iter()
                .filter_map(|m| entry(m).map(|c| (m.name, c)))
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

fn lookup_in<'a>(map: &'a HashMap<&'static str, Command>, name: &[u8]) -> Option<&'a Command> {
    let mut lower = [0u8; 32];
    if name.len() > lower.len() {
        return None;
    }
    for (dst, src) in lower.iter_mut().zip(name) {
        *dst = src.to_ascii_lowercase();
    }
    let name = std::str::from_utf8(&lower[..name.len()]).ok()?;
    map.get(name)
}
