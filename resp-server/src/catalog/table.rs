//! The command table: names to commands and their handlers, built once from the catalog.

use foldhash::fast::FixedState;
use std::collections::HashMap;
use std::sync::OnceLock;

use super::{CATALOG, CommandId, CommandMeta};
use crate::commands::{Handler, handler};

/// A command this server implements: its description and what runs it.
pub struct Command {
    /// Its description.
    pub meta: &'static CommandMeta,
    /// What runs it (a container's handler runs only when it has no subcommand).
    pub handler: Handler,
    /// Where the handler's cursor starts: past the name, or past the subcommand for a
    /// subcommand (decided once here, not per call).
    pub first_arg: usize,
}

/// Names (lowercase; `config|get` for a subcommand) hashed as bytes, so lookups need
/// no UTF-8 check.
type ByName = HashMap<&'static [u8], CommandId, FixedState>;

/// Every implemented command, by id and by name.
pub struct CommandTable {
    commands: Vec<Command>,
    /// Top-level commands only: what a client's first argument may name.
    top_level: ByName,
    /// Every command and subcommand by full name.
    by_name: ByName,
}

impl CommandTable {
    fn build() -> CommandTable {
        let commands = CATALOG
            .iter()
            .enumerate()
            .map(|(index, meta)| {
                assert_eq!(meta.id as usize, index, "the catalog is indexed by id");
                Command {
                    meta,
                    handler: handler(meta.id),
                    first_arg: if meta.name.contains('|') { 2 } else { 1 },
                }
            })
            .collect();
        let by_name: ByName = CATALOG.iter().map(|m| (m.name.as_bytes(), m.id)).collect();
        let top_level = by_name
            .iter()
            .filter(|(name, _)| !name.contains(&b'|'))
            .map(|(name, id)| (*name, *id))
            .collect();
        CommandTable {
            commands,
            top_level,
            by_name,
        }
    }

    /// The table, built on first use.
    pub fn get() -> &'static CommandTable {
        static TABLE: OnceLock<CommandTable> = OnceLock::new();
        TABLE.get_or_init(CommandTable::build)
    }

    /// The command with this id.
    #[inline]
    pub fn command(&self, id: CommandId) -> &Command {
        &self.commands[id as usize]
    }

    /// Looks a top-level command up by name, ignoring case, without allocating.
    #[inline]
    pub fn lookup(&self, name: &[u8]) -> Option<&Command> {
        let mut lower = [0u8; 48];
        let folded = fold(&mut lower, &[name])?;
        self.top_level.get(folded).map(|id| self.command(*id))
    }

    /// Looks a subcommand of `container` up by name, ignoring case.
    pub fn subcommand(&self, container: &Command, name: &[u8]) -> Option<&Command> {
        let mut lower = [0u8; 48];
        let folded = fold(&mut lower, &[container.meta.name.as_bytes(), b"|", name])?;
        self.find(folded)
    }

    /// The command (or subcommand, for a container) that `args` (name first) run, if
    /// Tessera knows it.
    pub fn resolve<'a>(&self, args: impl Fn(usize) -> &'a [u8], argc: usize) -> Option<&Command> {
        let command = self.lookup(args(0))?;
        if !command.meta.is_container() || argc < 2 {
            return Some(command);
        }
        self.subcommand(command, args(1))
    }

    /// Looks a command up by full name: `get`, or `config|get` for a subcommand.
    pub fn lookup_full(&self, name: &[u8]) -> Option<&Command> {
        let mut lower = [0u8; 48];
        self.find(fold(&mut lower, &[name])?)
    }

    fn find(&self, lowercase: &[u8]) -> Option<&Command> {
        self.by_name.get(lowercase).map(|id| self.command(*id))
    }

    /// Every implemented command and subcommand, in name order.
    pub fn iter(&self) -> impl Iterator<Item = &Command> {
        self.commands.iter()
    }

    /// Every top-level command, in name order.
    pub fn top_level(&self) -> impl Iterator<Item = &Command> {
        self.iter().filter(|c| !c.meta.name.contains('|'))
    }

    /// Number of implemented top-level commands (what COMMAND COUNT reports).
    pub fn len(&self) -> usize {
        self.top_level.len()
    }

    /// True when no command is implemented (never, in practice).
    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }
}

impl Command {
    /// Every implemented subcommand, in name order.
    pub fn subcommands(&self) -> impl Iterator<Item = &'static Command> {
        let table = CommandTable::get();
        self.meta.subcommands.iter().map(|id| table.command(*id))
    }
}

/// Lowercases the concatenation of `parts` into `buffer`; `None` when it does not
/// fit (no command name is that long).
fn fold<'b>(buffer: &'b mut [u8; 48], parts: &[&[u8]]) -> Option<&'b [u8]> {
    let mut len = 0;
    for part in parts {
        let dst = buffer.get_mut(len..len + part.len())?;
        for (d, s) in dst.iter_mut().zip(*part) {
            *d = s.to_ascii_lowercase();
        }
        len += part.len();
    }
    Some(&buffer[..len])
}

#[cfg(test)]
mod tests {
    use super::CommandTable;

    #[test]
    fn a_subcommand_handler_reads_past_its_subcommand() {
        let table = CommandTable::get();
        let first = |name: &str| {
            table
                .lookup_full(name.as_bytes())
                .expect("implemented")
                .first_arg
        };
        assert_eq!(first("get"), 1);
        assert_eq!(first("config|get"), 2);
        assert_eq!(first("cluster|countkeysinslot"), 2);
        assert_eq!(
            first("config"),
            1,
            "a container alone reads from its name on"
        );
    }
}
