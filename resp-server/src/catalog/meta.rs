//! The shape of a command description: what COMMAND reports and what dispatch checks.

use super::CommandId;

/// Declares a set of named flags as bits of an integer. The names are listed in the
/// order Redis replies with them, so iterating a set reproduces Redis's order.
macro_rules! name_set {
    ($(#[$doc:meta])* $set:ident($bits:ty), $bit:ident { $($flag:ident = $name:literal,)* }) => {
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        enum $bit { $($flag,)* }

        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $set($bits);

        #[allow(missing_docs)]
        impl $set {
            $(pub const $flag: $set = $set(1 << ($bit::$flag as u32));)*
            /// Every name, in bit order.
            pub const NAMES: &'static [&'static str] = &[$($name,)*];

            /// The union of `members`.
            pub const fn of(members: &[$set]) -> $set {
                let mut bits = 0;
                let mut i = 0;
                while i < members.len() {
                    bits |= members[i].0;
                    i += 1;
                }
                $set(bits)
            }

            /// True when every flag of `other` is set here.
            #[inline]
            pub const fn contains(self, other: $set) -> bool {
                self.0 & other.0 == other.0
            }

            /// True when no flag is set.
            pub const fn is_empty(self) -> bool {
                self.0 == 0
            }

            /// The names of the flags set, in Redis's order.
            pub fn names(self) -> impl ExactSizeIterator<Item = &'static str> + Clone {
                let names: Vec<&'static str> = Self::NAMES
                    .iter()
                    .enumerate()
                    .filter(|(bit, _)| self.0 & (1 << bit) != 0)
                    .map(|(_, name)| *name)
                    .collect();
                names.into_iter()
            }

            /// The flag called `name` (ASCII case ignored).
            pub fn named(name: &str) -> Option<$set> {
                Self::NAMES
                    .iter()
                    .position(|n| n.eq_ignore_ascii_case(name))
                    .map(|bit| $set(1 << bit))
            }
        }
    };
}

name_set! {
    /// Command flags, as COMMAND INFO names them (`may_replicate`, `sentinel` and the
    /// other flags Redis hides are not reported by it, so not captured).
    CommandFlags(u32), CommandFlagBit {
        WRITE = "write",
        READONLY = "readonly",
        DENYOOM = "denyoom",
        MODULE = "module",
        ADMIN = "admin",
        PUBSUB = "pubsub",
        NOSCRIPT = "noscript",
        BLOCKING = "blocking",
        LOADING = "loading",
        STALE = "stale",
        SKIP_MONITOR = "skip_monitor",
        SKIP_SLOWLOG = "skip_slowlog",
        ASKING = "asking",
        FAST = "fast",
        NO_AUTH = "no_auth",
        NO_MANDATORY_KEYS = "no_mandatory_keys",
        NO_ASYNC_LOADING = "no_async_loading",
        NO_MULTI = "no_multi",
        MOVABLEKEYS = "movablekeys",
        ALLOW_BUSY = "allow_busy",
    }
}

name_set! {
    /// ACL categories (reported with a leading `@`).
    AclCategories(u32), AclCategoryBit {
        KEYSPACE = "keyspace",
        READ = "read",
        WRITE = "write",
        SET = "set",
        SORTEDSET = "sortedset",
        LIST = "list",
        HASH = "hash",
        STRING = "string",
        BITMAP = "bitmap",
        HYPERLOGLOG = "hyperloglog",
        GEO = "geo",
        STREAM = "stream",
        PUBSUB = "pubsub",
        ADMIN = "admin",
        FAST = "fast",
        SLOW = "slow",
        BLOCKING = "blocking",
        DANGEROUS = "dangerous",
        CONNECTION = "connection",
        TRANSACTION = "transaction",
        SCRIPTING = "scripting",
    }
}

name_set! {
    /// How a command uses the keys one key spec finds.
    KeySpecFlags(u16), KeySpecFlagBit {
        RO = "RO",
        RW = "RW",
        OW = "OW",
        RM = "RM",
        ACCESS = "access",
        UPDATE = "update",
        INSERT = "insert",
        DELETE = "delete",
        NOT_KEY = "not_key",
        INCOMPLETE = "incomplete",
        VARIABLE_FLAGS = "variable_flags",
    }
}

/// Where the search for a key spec's keys starts.
#[derive(Debug)]
pub enum BeginSearch {
    /// At a fixed argument index.
    Index(i32),
    /// After `keyword`, searched for from `start_from` (negative: from the end,
    /// backwards).
    Keyword {
        /// The keyword, as Redis spells it.
        keyword: &'static str,
        /// Where the search starts.
        start_from: i32,
    },
    /// Only the command's own rule knows.
    Unknown,
}

/// How many keys follow the start, and how far apart.
#[derive(Debug)]
pub enum FindKeys {
    /// A range: `last_key` relative to the start (negative: from the end), every
    /// `key_step`; with `limit` > 1, only that fraction of the remaining arguments.
    Range {
        /// Last key, relative to the first (or to the end when negative).
        last_key: i32,
        /// Distance between keys.
        key_step: i32,
        /// Divides the remaining arguments (0: no limit).
        limit: i32,
    },
    /// A count argument says how many keys follow.
    Keynum {
        /// Where the count is, relative to the start.
        keynum_index: i32,
        /// Where the first key is, relative to the start.
        first_key: i32,
        /// Distance between keys.
        key_step: i32,
    },
    /// Only the command's own rule knows.
    Unknown,
}

/// Where a command's keys are, in Redis 7's key-spec form.
#[derive(Debug)]
pub struct KeySpec {
    /// How the keys are used.
    pub flags: KeySpecFlags,
    /// Where the search starts.
    pub begin: BeginSearch,
    /// Which arguments from there are keys.
    pub find: FindKeys,
}

/// How a command's keys are found: from its key specs, or, where a spec is
/// `unknown` or `incomplete`, by the rule of that command's option grammar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyRule {
    /// The key specs say it all.
    Specs,
    /// MIGRATE: the key at 3, or the keys after `KEYS` when that key is empty.
    Migrate,
    /// SORT: the key at 1, and the one after the last `STORE`.
    Sort,
    /// SORT_RO: the key at 1.
    SortRo,
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
    /// Which command this is.
    pub id: CommandId,
    /// Lowercase full name (`config|set` for a subcommand).
    pub name: &'static str,
    /// Argument count including the name; negative means "at least".
    pub arity: i32,
    /// Command flags.
    pub flags: CommandFlags,
    /// Position of the first key in the legacy range (0: none).
    pub first_key: i32,
    /// Position of the last key (negative: from the end).
    pub last_key: i32,
    /// Step between keys.
    pub key_step: i32,
    /// ACL categories.
    pub acl: AclCategories,
    /// Hints for cluster clients.
    pub tips: &'static [&'static str],
    /// Key specifications.
    pub key_specs: &'static [KeySpec],
    /// How the keys are found.
    pub key_rule: KeyRule,
    /// Documentation group.
    pub group: &'static str,
    /// First Redis version with the command.
    pub since: &'static str,
    /// One line of documentation, in our words.
    pub summary: &'static str,
    /// Time complexity.
    pub complexity: &'static str,
    /// Extra documentation fields (doc_flags, deprecated_since, replaced_by).
    pub doc_fields: &'static [(&'static str, DocField)],
    /// The arguments.
    pub arguments: &'static [ArgDoc],
    /// Implemented subcommands, for container commands like CONFIG, in name order.
    pub subcommands: &'static [CommandId],
}

impl CommandMeta {
    /// True when the command has every flag of `flags`.
    #[inline]
    pub fn has(&self, flags: CommandFlags) -> bool {
        self.flags.contains(flags)
    }

    /// True when the command modifies data.
    #[inline]
    pub fn is_write(&self) -> bool {
        self.has(CommandFlags::WRITE)
    }

    /// True when the command is a container of subcommands.
    #[inline]
    pub fn is_container(&self) -> bool {
        !self.subcommands.is_empty()
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

    /// True when the command can have keys at all (COMMAND GETKEYS asks first).
    pub fn may_have_keys(&self) -> bool {
        self.key_rule != KeyRule::Specs
            || self
                .key_specs
                .iter()
                .any(|s| !s.flags.contains(KeySpecFlags::NOT_KEY))
    }
}
