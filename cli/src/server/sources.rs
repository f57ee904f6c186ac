//! Where directives come from: redis.conf-style files, TOML files, the command line.
//!
//! Each source yields [`DirectiveLine`]s in order; they are applied one after another,
//! so the command line (read last) overrides the file, as with redis-server.

use std::path::{Path, PathBuf};
use tessera_resp::split_args::split_args;

/// Deepest chain of `include` directives followed.
const MAX_INCLUDE_DEPTH: usize = 16;

/// One directive with its arguments and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectiveLine {
    /// Directive name, lowercase.
    pub name: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Where it came from, for error messages.
    pub origin: Origin,
}

/// The place a directive was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// File path, or "command line".
    pub source: String,
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// The text as written.
    pub text: String,
}

/// A config source that cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    /// Where, when known.
    pub origin: Option<Origin>,
    /// Why.
    pub reason: String,
}

/// Reads a redis.conf-style file, following `include` directives.
pub fn read_conf_file(path: &Path) -> Result<Vec<DirectiveLine>, SourceError> {
    let mut lines = Vec::new();
    read_conf_into(path, 0, &mut lines)?;
    Ok(lines)
}

fn read_conf_into(
    path: &Path,
    depth: usize,
    out: &mut Vec<DirectiveLine>,
) -> Result<(), SourceError> {
    if depth > MAX_INCLUDE_DEPTH {
        return Err(SourceError {
            origin: None,
            reason: format!("too many nested includes at '{}'", path.display()),
        });
    }
    let text = std::fs::read(path).map_err(|e| SourceError {
        origin: None,
        reason: format!("can't open config file '{}': {e}", path.display()),
    })?;
    parse_conf_text(&text, &path.display().to_string(), depth, out)
}

/// Parses redis.conf text: one directive per line, `#` comments, quoted arguments.
pub fn parse_conf_text(
    text: &[u8],
    source: &str,
    depth: usize,
    out: &mut Vec<DirectiveLine>,
) -> Result<(), SourceError> {
    for (index, raw) in text.split(|&b| b == b'\n').enumerate() {
        let line = raw.trim_ascii();
        if line.is_empty() || line.starts_with(b"#") {
            continue;
        }
        let origin = Origin {
            source: source.to_string(),
            line: index + 1,
            text: String::from_utf8_lossy(line).into_owned(),
        };
        let words = split_args(line).map_err(|_| SourceError {
            origin: Some(origin.clone()),
            reason: "Unbalanced quotes in configuration line".into(),
        })?;
        let mut words = words
            .into_iter()
            .map(|w| String::from_utf8_lossy(&w).into_owned());
        let Some(name) = words.next() else { continue };
        let name = name.to_ascii_lowercase();
        let args: Vec<String> = words.collect();
        if name == "include" {
            let [file] = args.as_slice() else {
                return Err(SourceError {
                    origin: Some(origin),
                    reason: "wrong number of arguments".into(),
                });
            };
            read_conf_into(&PathBuf::from(file), depth + 1, out)?;
            continue;
        }
        out.push(DirectiveLine { name, args, origin });
    }
    Ok(())
}

/// Reads a TOML file of directives (`port = 7000`, `bind = ["127.0.0.1", "::1"]`,
/// `appendonly = false`) through the config crate.
pub fn read_toml_file(path: &Path) -> Result<Vec<DirectiveLine>, SourceError> {
    use config::{Config, File, FileFormat, ValueKind};
    let source = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| SourceError {
        origin: None,
        reason: format!("can't open config file '{source}': {e}"),
    })?;
    let parsed = Config::builder()
        .add_source(File::from_str(&text, FileFormat::Toml))
        .build()
        .map_err(|e| SourceError {
            origin: None,
            reason: format!("invalid TOML in '{source}': {e}"),
        })?;
    let table = parsed
        .try_deserialize::<std::collections::BTreeMap<String, config::Value>>()
        .map_err(|e| SourceError {
            origin: None,
            reason: format!("invalid TOML in '{source}': {e}"),
        })?;
    fn scalar(v: &config::Value) -> Option<String> {
        match &v.kind {
            ValueKind::Boolean(b) => Some(if *b { "yes" } else { "no" }.into()),
            ValueKind::I64(n) => Some(n.to_string()),
            ValueKind::U64(n) => Some(n.to_string()),
            ValueKind::I128(n) => Some(n.to_string()),
            ValueKind::U128(n) => Some(n.to_string()),
            ValueKind::Float(f) => Some(f.to_string()),
            ValueKind::String(s) => Some(s.clone()),
            _ => None,
        }
    }
    let mut lines = Vec::new();
    for (key, value) in table {
        // Report the line of the key, so TOML errors point where redis.conf ones do.
        let line = text
            .lines()
            .position(|l| {
                let l = l.trim_start();
                l.starts_with(key.as_str()) && l[key.len()..].trim_start().starts_with('=')
            })
            .map_or(0, |i| i + 1);
        let origin = Origin {
            source: source.clone(),
            line,
            text: text
                .lines()
                .nth(line.saturating_sub(1))
                .unwrap_or(&key)
                .trim()
                .to_string(),
        };
        let args = match &value.kind {
            ValueKind::Array(items) => items.iter().map(scalar).collect::<Option<Vec<_>>>(),
            _ => scalar(&value).map(|s| vec![s]),
        };
        let Some(args) = args else {
            return Err(SourceError {
                origin: Some(origin),
                reason: "value must be a string, number, boolean or a list of them".into(),
            });
        };
        lines.push(DirectiveLine {
            name: key.to_ascii_lowercase(),
            args,
            origin,
        });
    }
    Ok(lines)
}

/// Reads `--name value ...` directives from the command line.
pub fn read_command_line(args: &[String]) -> Result<Vec<DirectiveLine>, SourceError> {
    let mut lines: Vec<DirectiveLine> = Vec::new();
    for arg in args {
        if let Some(name) = arg.strip_prefix("--").filter(|n| !n.is_empty()) {
            lines.push(DirectiveLine {
                name: name.to_ascii_lowercase(),
                args: Vec::new(),
                origin: Origin {
                    source: "command line".into(),
                    line: 0,
                    text: arg.clone(),
                },
            });
        } else {
            let Some(current) = lines.last_mut() else {
                return Err(SourceError {
                    origin: None,
                    reason: format!("unexpected argument '{arg}': directives start with --"),
                });
            };
            current.args.push(arg.clone());
            current.origin.text.push(' ');
            current.origin.text.push_str(arg);
        }
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(lines: &[DirectiveLine]) -> Vec<(String, Vec<String>, usize)> {
        lines
            .iter()
            .map(|l| (l.name.clone(), l.args.clone(), l.origin.line))
            .collect()
    }

    #[test]
    fn conf_text_with_comments_quotes_and_blank_lines() {
        let mut out = Vec::new();
        parse_conf_text(
            b"# c\n\nPort 7000\n  requirepass \"a b\"\nsave ''\n",
            "x.conf",
            0,
            &mut out,
        )
        .unwrap();
        assert_eq!(
            names(&out),
            vec![
                ("port".into(), vec!["7000".into()], 3),
                ("requirepass".into(), vec!["a b".into()], 4),
                ("save".into(), vec!["".into()], 5),
            ]
        );
        let err = parse_conf_text(b"port \"7\n", "x.conf", 0, &mut Vec::new()).unwrap_err();
        assert_eq!(err.origin.unwrap().line, 1);
    }

    #[test]
    fn includes_are_followed() {
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("inner.conf");
        std::fs::write(&inner, "maxclients 5\n").unwrap();
        let outer = dir.path().join("outer.conf");
        std::fs::write(
            &outer,
            format!("port 1\ninclude {}\nport 2\n", inner.display()),
        )
        .unwrap();
        let lines = read_conf_file(&outer).unwrap();
        assert_eq!(
            lines.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
            ["port", "maxclients", "port"]
        );
        std::fs::write(&outer, format!("include {}\n", outer.display())).unwrap();
        assert!(
            read_conf_file(&outer)
                .unwrap_err()
                .reason
                .contains("nested")
        );
    }

    #[test]
    fn toml_directives() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.toml");
        std::fs::write(
            &path,
            "port = 7001\nappendonly = false\nbind = [\"127.0.0.1\", \"::1\"]\n",
        )
        .unwrap();
        let mut lines = names(&read_toml_file(&path).unwrap());
        lines.sort();
        assert_eq!(
            lines,
            vec![
                ("appendonly".into(), vec!["no".into()], 2),
                ("bind".into(), vec!["127.0.0.1".into(), "::1".into()], 3),
                ("port".into(), vec!["7001".into()], 1),
            ]
        );
    }

    #[test]
    fn command_line() {
        let args: Vec<String> = ["--port", "7000", "--save", "", "--bind", "a", "b"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            names(&read_command_line(&args).unwrap()),
            vec![
                ("port".into(), vec!["7000".into()], 0),
                ("save".into(), vec!["".into()], 0),
                ("bind".into(), vec!["a".into(), "b".into()], 0),
            ]
        );
        assert!(read_command_line(&["7000".to_string()]).is_err());
    }
}
