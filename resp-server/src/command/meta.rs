//! Descriptions of commands: what COMMAND reports and what dispatch checks.

/// Where a command's keys are, in Redis 7's key-spec form (index begin, range find).
#[derive(Debug)]
pub struct KeySpec {
    /// Access flags (RO, RW, OW, RM, access, update, insert, delete).
    pub flags: &'static [&'static str],
    /// Argument index of the first key (when the search starts at an index).
    pub begin_index: i64,
    /// Or: the keys follow this keyword, searched for from this index (negative: from
    /// the end, backwards).
    pub begin_keyword: Option<(&'static str, i64)>,
    /// Last key relative to the first (negative: from the end).
    pub last_key: i64,
    /// Distance between keys.
    pub key_step: i64,
    /// Limit on the number of keys (0: none).
    pub limit: i64,
}

/// A value in COMMAND DOCS.
#[derive(Debug)]
pub enum DocField {
    /// A bulk string.
    Str(&'static str),
    /// An integer.
    Int(i64),
    /// A set of status strings.
    Flags(&'static [&'static str]),
    /// Nested arguments.
    Args(&'static [ArgDoc]),
}

/// One argument as COMMAND DOCS describes it: fields in Redis's order.
#[derive(Debug)]
pub struct ArgDoc {
    /// `(name, value)` pairs: name, type, key_spec_index, token, since, flags, arguments...
    pub fields: &'static [(&'static str, DocField)],
}

/// Static facts about one command or subcommand.
#[derive(Debug)]
pub struct CommandMeta {
    /// Lowercase full name (`config|set` for a subcommand).
    pub name: &'static str,
    /// Argument count including the name; negative means "at least".
    pub arity: i32,
    /// Command flags as COMMAND INFO names them.
    pub flags: &'static [&'static str],
    /// Position of the first key (0: none).
    pub first_key: i32,
    /// Position of the last key (negative: from the end).
    pub last_key: i32,
    /// Step between keys.
    pub key_step: i32,
    /// ACL categories.
    pub acl_categories: &'static [&'static str],
    /// Hints for cluster clients.
    pub tips: &'static [&'static str],
    /// Key specifications.
    pub key_specs: &'static [KeySpec],
    /// Documentation group.
    pub group: &'static str,
    /// First Redis version with the command.
    pub since: &'static str,
    /// Time complexity.
    pub complexity: &'static str,
    /// One line of documentation.
    pub summary: &'static str,
    /// Extra documentation fields (doc_flags, deprecated_since, replaced_by).
    pub doc_fields: &'static [(&'static str, DocField)],
    /// The arguments.
    pub arguments: &'static [ArgDoc],
    /// Subcommands, for container commands like CONFIG.
    pub subcommands: &'static [CommandMeta],
}

impl CommandMeta {
    /// True when the command has the named flag.
    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.contains(&flag)
    }

    /// The name the client typed it as, without the container prefix.
    pub fn short_name(&self) -> &'static str {
        self.name.rsplit('|').next().unwrap_or(self.name)
    }

    /// True when `argc` arguments satisfy the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let arity = self.arity as i64;
        let argc = argc as i64;
        if arity >= 0 {
            argc == arity
        } else {
            argc >= -arity
        }
    }

    /// The argument positions holding keys, for a call with `argc` arguments.
    pub fn key_positions(&self, argc: usize) -> impl Iterator<Item = usize> + Clone + use<> {
        let (first, step) = (
            self.first_key.max(0) as usize,
            self.key_step.max(1) as usize,
        );
        let last = if self.last_key < 0 {
            argc as i64 + self.last_key as i64
        } else {
            self.last_key as i64
        };
        let end = if first == 0 {
            0
        } else {
            (last.max(0) as usize + 1).min(argc)
        };
        (first..end).step_by(step).filter(move |&i| i > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::super::catalog::CATALOG;

    fn meta(name: &str) -> &'static super::CommandMeta {
        CATALOG.iter().find(|c| c.name == name).unwrap()
    }

    #[test]
    fn key_positions() {
        assert_eq!(meta("get").key_positions(2).collect::<Vec<_>>(), vec![1]);
        assert_eq!(
            meta("mset").key_positions(7).collect::<Vec<_>>(),
            vec![1, 3, 5]
        );
        assert_eq!(
            meta("mget").key_positions(4).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        assert_eq!(
            meta("rename").key_positions(3).collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert_eq!(meta("ping").key_positions(2).count(), 0);
        let encoding = meta("object")
            .subcommands
            .iter()
            .find(|c| c.name == "object|encoding")
            .unwrap();
        assert_eq!(encoding.key_positions(3).collect::<Vec<_>>(), vec![2]);
    }

    #[test]
    fn arity() {
        assert!(meta("get").arity_ok(2));
        assert!(!meta("get").arity_ok(3));
        assert!(meta("set").arity_ok(5));
        assert!(!meta("set").arity_ok(2));
    }
}
