//! Turns `src/config/directives.txt` into the directive table (`$OUT_DIR/directives.rs`),
//! so the table is data an operator can read line by line, not 1,600 lines of code.
//!
//! It also writes `$OUT_DIR/accessors.rs`: an `Id` per directive and a typed accessor
//! per directive on `ConfigValues` (`v.port()` is an `i64`, `v.daemonize()` a `bool`), so
//! code reads settings by name checked at compile time, never by a string that a typo
//! would turn into a panic at run time.
//!
//! A malformed line stops the build with its line number: the table is checked here,
//! once, rather than at every start.

use std::fmt::Write as _;
use std::path::Path;

#[path = "build/commands.rs"]
mod commands;

const SOURCE: &str = "src/config/directives.txt";

fn main() {
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    commands::generate(Path::new(&out_dir));
    println!("cargo:rerun-if-changed={SOURCE}");
    let text = std::fs::read_to_string(SOURCE).expect("reading src/config/directives.txt");
    let mut out = String::from(
        "/// The directive table, sorted by name (generated from directives.txt).\n\
         pub static DIRECTIVES: &[Directive] = &[\n",
    );
    let mut ids = String::from(
        "/// One directive of the table, by canonical name: its position in `DIRECTIVES`.\n\
         #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]\n\
         #[allow(missing_docs)]\n\
         pub enum Id {\n",
    );
    let mut accessors = String::from(
        "/// Typed reads of every directive (generated from directives.txt).\n\
         impl ConfigValues {\n",
    );
    let mut previous: Option<String> = None;
    let mut names = std::collections::HashSet::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let number = index + 1;
        let row = Row::parse(line).unwrap_or_else(|why| fail(number, line, &why));
        if previous.as_deref().is_some_and(|p| p >= row.name) {
            fail(number, line, "lines must be sorted by name");
        }
        for name in std::iter::once(row.name).chain(row.aliases.iter().copied()) {
            if !names.insert(name.to_string()) {
                fail(number, line, &format!("'{name}' appears twice"));
            }
        }
        previous = Some(row.name.to_string());
        row.emit(&mut out)
            .unwrap_or_else(|why| fail(number, line, &why));
        row.emit_accessor(&mut ids, &mut accessors);
    }
    out.push_str("];\n");
    ids.push_str("}\n");
    accessors.push_str("}\n");
    let dest =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("directives.rs");
    std::fs::write(dest, out).expect("writing the generated directive table");
    let dest =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("accessors.rs");
    std::fs::write(dest, ids + &accessors).expect("writing the generated accessors");
}

/// Stops the build at a malformed line.
fn fail(number: usize, line: &str, why: &str) -> ! {
    panic!("{SOURCE}:{number}: {why}: {line}")
}

/// One line of the data file.
struct Row<'a> {
    name: &'a str,
    aliases: Vec<&'a str>,
    kind: &'a str,
    default: &'a str,
    access: &'a str,
    applies: &'a str,
    state: &'a str,
    note: &'a str,
}

impl<'a> Row<'a> {
    fn parse(line: &'a str) -> Result<Row<'a>, String> {
        let mut rest = line;
        let name = word(&mut rest)?;
        let aliases = match word(&mut rest)? {
            "-" => Vec::new(),
            list => list.split(',').collect(),
        };
        let kind = word(&mut rest)?;
        // The default is quoted: it may be empty or hold blanks.
        let quoted = rest
            .trim_start()
            .strip_prefix('"')
            .ok_or("the default must be quoted")?;
        let close = quoted.find('"').ok_or("unterminated default")?;
        let default = &quoted[..close];
        rest = &quoted[close + 1..];
        let access = word(&mut rest)?;
        let applies = word(&mut rest)?;
        let state = word(&mut rest)?;
        let note = rest.trim();
        Ok(Row {
            name,
            aliases,
            kind,
            default,
            access,
            applies,
            state,
            note,
        })
    }

    fn emit(&self, out: &mut String) -> Result<(), String> {
        let (access, hidden) = match self.access.split_once(',') {
            None => (self.access, false),
            Some((access, "hidden")) => (access, true),
            Some(_) => return Err(format!("unknown access '{}'", self.access)),
        };
        let access = match access {
            "mutable" => "Mutable",
            "immutable" => "Immutable",
            "protected" => "Protected",
            other => return Err(format!("unknown access '{other}'")),
        };
        let state = match (self.state, self.note.is_empty()) {
            ("honoured", true) => "State::Honoured".to_string(),
            ("inert", false) => format!("State::Inert({:?})", self.note),
            ("refused", false) => format!("State::Refused({:?})", self.note),
            ("honoured", false) => return Err("a honoured directive takes no note".into()),
            ("inert" | "refused", true) => {
                return Err("an inert or refused directive needs its reason".into());
            }
            (other, _) => return Err(format!("unknown state '{other}'")),
        };
        let applies = match (self.state, self.applies) {
            ("honoured", "-") => return Err("a honoured directive says what applies it".into()),
            ("honoured", list) => list
                .split(',')
                .map(|a| {
                    Ok(match a {
                        "start" => "Applier::Start",
                        "settings" => "Applier::Settings",
                        "logging" => "Applier::Logging",
                        "bus" => "Applier::Bus",
                        "replication" => "Applier::Replication",
                        "aof" => "Applier::Aof",
                        "info" => "Applier::Info",
                        other => return Err(format!("unknown applier '{other}'")),
                    })
                })
                .collect::<Result<Vec<_>, String>>()?
                .join(", "),
            (_, "-") => String::new(),
            _ => return Err("only a honoured directive is applied by something".into()),
        };
        let aliases: Vec<String> = self.aliases.iter().map(|a| format!("{a:?}")).collect();
        writeln!(
            out,
            "    Directive {{ name: {:?}, aliases: &[{}], kind: {}, default: {:?}, \
             access: Access::{access}, hidden: {hidden}, applies: &[{applies}], state: {state} }},",
            self.name,
            aliases.join(", "),
            kind(self.kind)?,
            self.default,
        )
        .expect("writing to a String");
        Ok(())
    }
}

impl Row<'_> {
    /// Adds the directive's `Id` variant and its typed accessor.
    fn emit_accessor(&self, ids: &mut String, accessors: &mut String) {
        let variant: String = self
            .name
            .split(['-', '_'])
            .map(|part| {
                let mut chars = part.chars();
                chars.next().map_or(String::new(), |first| {
                    first.to_ascii_uppercase().to_string() + chars.as_str()
                })
            })
            .collect();
        let method = self.name.replace('-', "_");
        let (returns, body) = match self.kind.split(':').next() {
            Some("bool") => ("bool", format!("self.get(Id::{variant}) == \"yes\"")),
            Some("int" | "memory") => (
                "i64",
                format!(
                    "self.get(Id::{variant}).parse().expect(\"{} is canonical: an integer\")",
                    self.name
                ),
            ),
            _ => ("&str", format!("self.get(Id::{variant})")),
        };
        writeln!(ids, "    {variant},").expect("writing to a String");
        writeln!(
            accessors,
            "    /// `{}`: the value in force.\n    pub fn {method}(&self) -> {returns} {{\n        {body}\n    }}",
            self.name
        )
        .expect("writing to a String");
    }
}

/// Takes the next blank-separated word off `rest`.
fn word<'a>(rest: &mut &'a str) -> Result<&'a str, String> {
    let trimmed = rest.trim_start();
    let end = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
    let (w, tail) = trimmed.split_at(end);
    *rest = tail;
    if w.is_empty() {
        Err("missing columns".into())
    } else {
        Ok(w)
    }
}

/// The Rust expression of a kind column.
fn kind(text: &str) -> Result<String, String> {
    let (head, spec) = text.split_once(':').unwrap_or((text, ""));
    Ok(match (head, spec) {
        ("bool", "") => "Kind::Bool".into(),
        ("str", "") => "Kind::Str".into(),
        ("ip", "") => "Kind::Ip".into(),
        ("words", "") => "Kind::Words".into(),
        ("save", "") => "Kind::Save".into(),
        ("replicaof", "") => "Kind::ReplicaOf".into(),
        ("buffer-limits", "") => "Kind::BufferLimits".into(),
        ("memory-or-percent", "") => "Kind::MemoryOrPercent".into(),
        ("int", "") => "Kind::Int { min: i64::MIN, max: i64::MAX }".into(),
        ("memory", "") => "Kind::Memory { min: 0, max: i64::MAX }".into(),
        ("int" | "memory", range) => {
            let (min, max) = range.split_once("..").ok_or("a range is MIN..MAX")?;
            let variant = if head == "int" { "Int" } else { "Memory" };
            format!(
                "Kind::{variant} {{ min: {}, max: {} }}",
                bound(min)?,
                bound(max)?
            )
        }
        ("enum", words) if !words.is_empty() => {
            let words: Vec<String> = words.split(',').map(|w| format!("{w:?}")).collect();
            format!("Kind::Enum(&[{}])", words.join(", "))
        }
        _ => return Err(format!("unknown kind '{text}'")),
    })
}

fn bound(text: &str) -> Result<String, String> {
    Ok(match text {
        "min" => "i64::MIN".into(),
        "max" => "i64::MAX".into(),
        "i32max" => "i32::MAX as i64".into(),
        "u32max" => "u32::MAX as i64".into(),
        n => n
            .parse::<i64>()
            .map_err(|_| format!("bad bound '{n}'"))?
            .to_string(),
    })
}
