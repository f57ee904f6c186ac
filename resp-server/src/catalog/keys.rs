//! Finding a command's keys from its key specs: the one mechanism behind routing,
//! CROSSSLOT, TRYAGAIN, MULTI's checks and COMMAND GETKEYS.
//!
//! The rules are Redis 7.0's (`getKeysUsingKeySpecs`): a spec's search begins at an
//! index or after a keyword, then takes a range or a counted run of keys. A spec that
//! cannot be followed (a keyword count that is not a number, a range past the end)
//! means the call is malformed: no keys are reported and the command itself answers
//! with its syntax error. Commands whose specs are `unknown` or `incomplete` (SORT's
//! BY/GET patterns, MIGRATE's two forms) follow their option grammar instead.

use super::meta::{BeginSearch, CommandMeta, FindKeys, KeyRule, KeySpec, KeySpecFlags};

/// The most key specs any Redis 7.0 command declares (GEORADIUS has three).
const MAX_RUNS: usize = 4;

/// Keys at `first`, `first + step`, ... up to `last` inclusive.
#[derive(Clone, Copy, Debug, Default)]
struct Run {
    first: usize,
    last: usize,
    step: usize,
    flags: KeySpecFlags,
}

/// The key positions of one call, in key-spec order, without allocating.
#[derive(Clone, Copy, Debug, Default)]
pub struct Keys {
    runs: [Run; MAX_RUNS],
    len: usize,
}

impl Keys {
    fn push(&mut self, first: usize, last: usize, step: usize, flags: KeySpecFlags) {
        assert!(self.len < MAX_RUNS, "more key specs than any Redis command");
        assert!(step > 0 && first <= last, "a run moves forward");
        self.runs[self.len] = Run {
            first,
            last,
            step,
            flags,
        };
        self.len += 1;
    }

    /// The argument positions holding keys (a key found by two specs appears twice,
    /// as in Redis).
    pub fn positions(&self) -> impl Iterator<Item = usize> + Clone + '_ {
        self.with_flags().map(|(position, _)| position)
    }

    /// Each key position with the flags of the spec that found it.
    pub fn with_flags(&self) -> impl Iterator<Item = (usize, KeySpecFlags)> + Clone + '_ {
        self.runs[..self.len]
            .iter()
            .flat_map(|r| (r.first..=r.last).step_by(r.step).map(|p| (p, r.flags)))
    }

    /// True when the call has no keys.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The keys of a call to `meta` with `argc` arguments (the name included), reading
/// argument `i` with `arg(i)`.
pub fn find_keys<'a>(meta: &CommandMeta, argc: usize, arg: impl Fn(usize) -> &'a [u8]) -> Keys {
    keys_by(meta.key_specs, meta.key_rule, argc, arg)
}

/// The keys of a command given whole (name first), as it is replicated; none for a
/// command Tessera does not know.
pub fn keys_of<'a>(args: &[&'a [u8]]) -> Vec<&'a [u8]> {
    let Some(command) = super::CommandTable::get().resolve(|i| args[i], args.len()) else {
        return Vec::new();
    };
    let keys = find_keys(command.meta, args.len(), |i| args[i]);
    keys.positions().map(|p| args[p]).collect()
}

/// [`find_keys`] from the key specs and rule alone.
pub fn keys_by<'a>(
    specs: &[KeySpec],
    rule: KeyRule,
    argc: usize,
    arg: impl Fn(usize) -> &'a [u8],
) -> Keys {
    // Specs first, as COMMAND GETKEYS does; a spec that cannot be followed hands over
    // to the command's own rule, if it has one.
    if let Some(keys) = from_specs(specs, argc, &arg) {
        return keys;
    }
    match rule {
        KeyRule::Specs => Keys::default(),
        KeyRule::Migrate => migrate_keys(argc, arg),
        KeyRule::Sort => sort_keys(argc, arg, true),
        KeyRule::SortRo => sort_keys(argc, arg, false),
    }
}

/// Follows every spec; `None` when one cannot be followed or is incomplete.
fn from_specs<'a>(
    specs: &[KeySpec],
    argc: usize,
    arg: &impl Fn(usize) -> &'a [u8],
) -> Option<Keys> {
    let mut keys = Keys::default();
    for spec in specs {
        if spec.flags.contains(KeySpecFlags::NOT_KEY) {
            continue;
        }
        let first = match spec.begin {
            BeginSearch::Index(i) => i as usize,
            BeginSearch::Keyword {
                keyword,
                start_from,
            } => match keyword_position(keyword, start_from, argc, arg) {
                Some(at) => at + 1,
                // No keyword, no keys from this spec (an optional STORE, say).
                None => continue,
            },
            BeginSearch::Unknown => return None,
        };
        let (first, last, step) = match spec.find {
            FindKeys::Range {
                last_key,
                key_step,
                limit,
            } => {
                let last = if last_key >= 0 {
                    first as i64 + i64::from(last_key)
                } else if limit == 0 {
                    argc as i64 + i64::from(last_key)
                } else {
                    first as i64
                        + (argc as i64 - first as i64) / i64::from(limit)
                        + i64::from(last_key)
                };
                (first as i64, last, key_step)
            }
            FindKeys::Keynum {
                keynum_index,
                first_key,
                key_step,
            } => {
                let count_at = first + keynum_index as usize;
                if count_at >= argc {
                    return None;
                }
                let count =
                    tessera_keyspace::number::parse_i64(arg(count_at)).filter(|n| *n >= 0)?;
                let first = first as i64 + i64::from(first_key);
                (first, first.saturating_add(count) - 1, key_step)
            }
            FindKeys::Unknown => return None,
        };
        if last >= argc as i64 || last < first || first >= argc as i64 || step <= 0 {
            return None;
        }
        keys.push(first as usize, last as usize, step as usize, spec.flags);
        if spec.flags.contains(KeySpecFlags::INCOMPLETE) {
            return None;
        }
    }
    Some(keys)
}

/// Where `keyword` is, searching forwards from `start_from` or, when negative,
/// backwards from that far before the end; never at the command name.
fn keyword_position<'a>(
    keyword: &str,
    start_from: i32,
    argc: usize,
    arg: &impl Fn(usize) -> &'a [u8],
) -> Option<usize> {
    let argc = argc as i64;
    let start = if start_from > 0 {
        i64::from(start_from)
    } else {
        argc + i64::from(start_from)
    };
    let is_keyword =
        |i: i64| (1..argc).contains(&i) && arg(i as usize).eq_ignore_ascii_case(keyword.as_bytes());
    let found = if start_from > 0 {
        (start..argc).find(|&i| is_keyword(i))
    } else {
        (1..=start).rev().find(|&i| is_keyword(i))
    };
    found.map(|i| i as usize)
}

/// MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw | AUTH2 user pw]
/// [KEYS key...]: the key at 3, or, when it is empty, the keys after KEYS.
fn migrate_keys<'a>(argc: usize, arg: impl Fn(usize) -> &'a [u8]) -> Keys {
    let flags = KeySpecFlags::of(&[KeySpecFlags::RW, KeySpecFlags::ACCESS, KeySpecFlags::DELETE]);
    let mut keys = Keys::default();
    let mut i = 6;
    while i < argc {
        let option = arg(i);
        if option.eq_ignore_ascii_case(b"keys") {
            // KEYS with a key at 3 is a syntax error MIGRATE reports itself.
            if arg(3).is_empty() && i + 1 < argc {
                keys.push(i + 1, argc - 1, 1, flags);
            }
            return keys;
        }
        i += if option.eq_ignore_ascii_case(b"auth") {
            2
        } else if option.eq_ignore_ascii_case(b"auth2") {
            3
        } else {
            1
        };
    }
    if argc > 3 {
        keys.push(3, 3, 1, flags);
    }
    keys
}

/// SORT key [BY p] [LIMIT o c] [GET p ...] [ASC|DESC] [ALPHA] [STORE dst]: the key,
/// and the destination of the last STORE (BY and GET name patterns, not keys).
fn sort_keys<'a>(argc: usize, arg: impl Fn(usize) -> &'a [u8], may_store: bool) -> Keys {
    let mut keys = Keys::default();
    if argc < 2 {
        return keys;
    }
    keys.push(
        1,
        1,
        1,
        KeySpecFlags::of(&[KeySpecFlags::RO, KeySpecFlags::ACCESS]),
    );
    let mut store = None;
    let mut i = 2;
    while may_store && i < argc {
        let option = arg(i);
        if option.eq_ignore_ascii_case(b"limit") {
            i += 2;
        } else if option.eq_ignore_ascii_case(b"get") || option.eq_ignore_ascii_case(b"by") {
            i += 1;
        } else if option.eq_ignore_ascii_case(b"store") && i + 1 < argc {
            store = Some(i + 1);
        }
        i += 1;
    }
    if let Some(at) = store {
        keys.push(
            at,
            at,
            1,
            KeySpecFlags::of(&[KeySpecFlags::OW, KeySpecFlags::UPDATE]),
        );
    }
    keys
}
