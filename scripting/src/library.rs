//! What a function library is made of, apart from Lua: its `#!<engine> name=<lib>`
//! metadata line, the naming rule of libraries and functions, and the flags a function
//! may declare, with Redis 7.0's error texts.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::flags::ScriptFlags;

/// The text Redis 7.0.15 gives for a library or function name outside
/// `[a-zA-Z0-9_]+` (functions too get the library wording there).
pub const BAD_NAME: &str = "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

/// The flags a function may declare, in the order FUNCTION LIST shows them.
pub const FLAG_NAMES: [&str; 5] = [
    "no-writes",
    "allow-oom",
    "allow-stale",
    "no-cluster",
    "allow-cross-slot-keys",
];

/// One registered function.
pub struct FunctionInfo {
    /// Its name, as registered.
    pub name: String,
    /// Its description, if it was given one.
    pub description: Option<Vec<u8>>,
    /// Its flags (`shebang` is always set: a function is never in compatibility mode).
    pub flags: ScriptFlags,
    pub(crate) callback: mlua::Function,
}

impl FunctionInfo {
    /// The names of its flags, in FUNCTION LIST's order.
    pub fn flag_names(&self) -> Vec<&'static str> {
        let f = &self.flags;
        let set = [
            f.no_writes,
            f.allow_oom,
            f.allow_stale,
            f.no_cluster,
            f.allow_cross_slot,
        ];
        FLAG_NAMES
            .iter()
            .zip(set)
            .filter(|(_, on)| *on)
            .map(|(n, _)| *n)
            .collect()
    }
}

/// One loaded library.
pub struct Library {
    /// Its name.
    pub name: String,
    /// Its whole code, metadata line included, as FUNCTION LOAD got it.
    pub code: Arc<[u8]>,
    /// Its functions by name.
    pub functions: BTreeMap<String, FunctionInfo>,
}

/// The metadata line of a library's code.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Metadata {
    pub engine: String,
    pub name: String,
    /// Where the code Lua runs starts: at the metadata line's newline, so line numbers
    /// in errors count the metadata line.
    pub body_start: usize,
}

/// Parses the `#!<engine> name=<lib>` line, with Redis's error texts (no code prefix).
pub(crate) fn parse_metadata(code: &[u8]) -> Result<Metadata, String> {
    if !code.starts_with(b"#!") {
        return Err("Missing library metadata".into());
    }
    let Some(end) = code.iter().position(|&b| b == b'\n') else {
        return Err("Invalid library metadata".into());
    };
    let line = String::from_utf8_lossy(&code[..end]);
    let mut parts = line.split_ascii_whitespace();
    let Some(first) = parts.next() else {
        return Err("Invalid library metadata".into());
    };
    let engine = first[2..].to_string();
    let mut name = None;
    for part in parts {
        if part.len() >= 5 && part[..5].eq_ignore_ascii_case("name=") {
            if name.is_some() {
                return Err(
                    "Invalid metadata value, name argument was given multiple times".into(),
                );
            }
            name = Some(part[5..].to_string());
            continue;
        }
        return Err(format!("Invalid metadata value given: {part}"));
    }
    let Some(name) = name else {
        return Err("Library name was not given".into());
    };
    Ok(Metadata {
        engine,
        name,
        body_start: end,
    })
}

/// True for a name of `[a-zA-Z0-9_]+`.
pub(crate) fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Sets the flag named `name` (case-insensitive) on `flags`; false if unknown.
pub(crate) fn set_flag(flags: &mut ScriptFlags, name: &str) -> bool {
    let slot = match name.to_ascii_lowercase().as_str() {
        "no-writes" => &mut flags.no_writes,
        "allow-oom" => &mut flags.allow_oom,
        "allow-stale" => &mut flags.allow_stale,
        "no-cluster" => &mut flags.no_cluster,
        "allow-cross-slot-keys" => &mut flags.allow_cross_slot,
        _ => return false,
    };
    *slot = true;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_parses_as_redis_does() {
        let md = parse_metadata(b"#!lua name=mylib\nreturn").expect("valid");
        assert_eq!((md.engine.as_str(), md.name.as_str()), ("lua", "mylib"));
        assert_eq!(md.body_start, 16);
        let err = |c: &[u8]| parse_metadata(c).expect_err("invalid");
        assert_eq!(err(b"return 1"), "Missing library metadata");
        assert_eq!(err(b"#!lua"), "Invalid library metadata");
        assert_eq!(err(b"#!lua\n"), "Library name was not given");
        assert_eq!(
            err(b"#!lua foo=bar\n"),
            "Invalid metadata value given: foo=bar"
        );
        assert_eq!(
            err(b"#!lua name=a NAME=b\n"),
            "Invalid metadata value, name argument was given multiple times"
        );
        assert!(valid_name(b"a_B9") && !valid_name(b"") && !valid_name(b"a-b"));
    }
}
