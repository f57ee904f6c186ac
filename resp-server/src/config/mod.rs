//! Server configuration: the directive registry, the values in force, and typed settings.
//!
//! One source of truth: a map from directive name to its canonical text, exactly what
//! CONFIG GET shows. The hot path reads [`Settings`], a typed snapshot derived from that
//! map after every change and swapped in atomically, so reading the config never locks.

mod checks;
mod directives;
mod registry;
pub mod rewrite;
mod settings;
mod typed;

use crate::errors;
use arc_swap::ArcSwap;
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

pub use directives::DIRECTIVES;
pub use registry::{Access, Applier, Directive, Kind, State, parse_memory};
pub use settings::{
    AofSettings, ClusterSettings, DebugCommand, EvictionPolicy, MemorySettings,
    ReplicationSettings, SavePoint, Settings,
};
pub use typed::Id;

/// Finds a directive by name or alias, ignoring case.
pub fn lookup(name: &str) -> Option<&'static Directive> {
    DIRECTIVES.iter().find(|d| {
        d.name.eq_ignore_ascii_case(name) || d.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    })
}

/// Why a directive line was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectiveError {
    /// No such directive.
    Unknown,
    /// The arguments are not valid; Redis's text.
    Invalid(String),
    /// A directive Tessera does not support yet, set to something other than its
    /// default; the text names the area.
    Unsupported(String),
}

/// The value of every directive, in canonical text form.
#[derive(Debug, Clone)]
pub struct ConfigValues {
    values: BTreeMap<&'static str, String>,
    /// Directives given explicitly (file, command line or CONFIG SET).
    explicit: HashSet<&'static str>,
}

impl Default for ConfigValues {
    fn default() -> Self {
        ConfigValues::defaults()
    }
}

impl ConfigValues {
    /// Every directive at its default.
    pub fn defaults() -> ConfigValues {
        ConfigValues {
            values: DIRECTIVES
                .iter()
                .map(|d| (d.name, d.default.to_string()))
                .collect(),
            explicit: HashSet::new(),
        }
    }

    /// Applies one config-file or command-line directive. A second `save` line adds to
    /// the first instead of replacing it, as in redis.conf.
    pub fn apply(&mut self, name: &str, args: &[String]) -> Result<(), DirectiveError> {
        let directive = lookup(name).ok_or(DirectiveError::Unknown)?;
        let mut value = directive
            .kind
            .parse(args)
            .map_err(DirectiveError::Invalid)?;
        if directive.kind == Kind::Save && self.explicit.contains(directive.name) {
            let previous = &self.values[directive.name];
            if !previous.is_empty() && !value.is_empty() {
                value = format!("{previous} {value}");
            }
        }
        let value = self.combined(directive, value);
        let value = self
            .checked(directive, value)
            .map_err(DirectiveError::Invalid)?;
        if let Some(refusal) = directive
            .refusal(name, &value)
            .or_else(|| checks::unsupported_value(directive.name, &value))
        {
            return Err(DirectiveError::Unsupported(refusal));
        }
        self.store(directive, value);
        Ok(())
    }

    /// Checks a value against the filesystem where the directive names a place on disk
    /// (`dir`, `dbfilename`). A relative `dir` is taken from the one in force, or from
    /// the process's working directory before any.
    fn checked(&self, directive: &Directive, value: String) -> Result<String, String> {
        let base = match self.get(Id::Dir) {
            "" => std::env::current_dir().unwrap_or_default(),
            dir => dir.into(),
        };
        checks::check(directive.name, value, &base)
    }

    /// The value a directive takes when `value` is applied to it: most replace what was
    /// there, but client-output-buffer-limit changes only the classes it names.
    fn combined(&self, directive: &Directive, value: String) -> String {
        match directive.kind {
            Kind::BufferLimits => {
                registry::merge_buffer_limits(&self.values[directive.name], &value)
            }
            _ => value,
        }
    }

    fn store(&mut self, directive: &'static Directive, value: String) {
        let value = canonicalize(directive.name, value);
        self.explicit.insert(directive.name);
        self.values.insert(directive.name, value);
    }

    /// The value of a directive, in canonical text (what CONFIG GET shows); the typed
    /// accessors (`port()`, `daemonize()`, ...) parse it.
    pub fn get(&self, id: Id) -> &str {
        self.text(id.name())
    }

    /// The value of a directive found in the table (every row has a value).
    fn text(&self, name: &str) -> &str {
        self.values
            .get(name)
            .map(String::as_str)
            .expect("every directive of the table has a value")
    }

    /// Sets a directive without validation: for values the server decides itself (the
    /// absolute `dir` after start, a port chosen by the OS).
    pub fn set_internal(&mut self, id: Id, value: String) {
        self.values.insert(id.name(), value);
    }

    /// Inert directives that were set to something other than their default: what the
    /// start-up log names, so an operator knows those lines do nothing here.
    pub fn inert_changes(&self) -> Vec<(&'static str, &str)> {
        DIRECTIVES
            .iter()
            .filter(|d| matches!(d.state, State::Inert(_)) && self.explicit.contains(d.name))
            .filter(|d| self.values[d.name] != d.default)
            .map(|d| (d.name, self.values[d.name].as_str()))
            .collect()
    }
}

/// Values the server adjusts rather than refuses, as Redis does.
fn canonicalize(name: &str, value: String) -> String {
    if name != Id::Hz.name() {
        return value;
    }
    value
        .parse::<i64>()
        .map(|hz| hz.clamp(1, 500).to_string())
        .unwrap_or(value)
}

type ChangeHook = Box<dyn Fn(&Settings) + Send + Sync>;

/// The configuration of a running node.
pub struct Config {
    values: Mutex<ConfigValues>,
    settings: ArcSwap<Settings>,
    hooks: Mutex<Vec<ChangeHook>>,
    /// Absolute path of the config file, if the node was started with one.
    pub config_file: Option<String>,
}

impl Config {
    /// A runtime configuration starting from `values`.
    pub fn new(values: ConfigValues, config_file: Option<String>) -> Config {
        let settings = Settings::from_values(&values);
        Config {
            values: Mutex::new(values),
            settings: ArcSwap::from_pointee(settings),
            hooks: Mutex::new(Vec::new()),
            config_file,
        }
    }

    /// The typed settings in force. Cheap: no lock.
    #[inline]
    pub fn settings(&self) -> Arc<Settings> {
        self.settings.load_full()
    }

    /// The typed settings in force, borrowed: cheaper than [`Config::settings`] on hot
    /// paths because it does not touch the shared reference count.
    #[inline]
    pub fn settings_guard(&self) -> arc_swap::Guard<Arc<Settings>> {
        self.settings.load()
    }

    /// Calls `hook` with the new settings after every successful CONFIG SET.
    pub fn on_change(&self, hook: impl Fn(&Settings) + Send + Sync + 'static) {
        self.hooks.lock().push(Box::new(hook));
    }

    /// A copy of every value.
    pub fn values(&self) -> ConfigValues {
        self.values.lock().clone()
    }

    /// Sets a value the server decided itself, and refreshes the settings.
    pub fn set_internal(&self, id: Id, value: String) {
        let mut values = self.values.lock();
        values.set_internal(id, value);
        self.settings
            .store(Arc::new(Settings::from_values(&values)));
    }

    /// CONFIG REWRITE: writes the values in force back into the config file the node
    /// started with, as redis-server 7.0 does (see [`rewrite`]), replacing the file
    /// atomically. The error is the full reply text.
    pub fn rewrite(&self) -> Result<(), String> {
        let Some(path) = &self.config_file else {
            return Err(errors::NO_CONFIG_FILE.into());
        };
        let failed = |e: &std::io::Error| {
            let text = e.to_string();
            let text = text
                .rfind(" (os error ")
                .map_or(text.as_str(), |at| &text[..at]);
            errors::rewrite_failed(text)
        };
        if path.ends_with(".toml") {
            // The rewrite keeps redis.conf lines; a TOML table would come out broken.
            return Err(errors::rewrite_failed(
                "Tessera rewrites redis.conf files only, not TOML",
            ));
        }
        let values = self.values.lock();
        let old = match std::fs::read_to_string(path) {
            Ok(text) => text,
            // As Redis: a file removed since the start is written from scratch.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(failed(&e)),
        };
        let text = rewrite::rewrite(&old, &values);
        write_atomically(std::path::Path::new(path), text.as_bytes()).map_err(|e| failed(&e))?;
        drop(values);
        tracing::info!("CONFIG REWRITE executed with success.");
        Ok(())
    }

    /// CONFIG GET: `(name, value)` for every directive matching any of `patterns`.
    /// An exact name is echoed as the client wrote it, as Redis does.
    pub fn get(&self, patterns: &[&[u8]]) -> Vec<(String, String)> {
        let values = self.values.lock();
        let mut out: Vec<(String, String)> = Vec::new();
        let mut seen = HashSet::new();
        for &pattern in patterns {
            let pattern_text = String::from_utf8_lossy(pattern);
            if tessera_keyspace::glob::is_literal(pattern) {
                if let Some(d) = lookup(&pattern_text)
                    && seen.insert(pattern_text.to_ascii_lowercase())
                {
                    out.push((
                        pattern_text.into_owned(),
                        checks::shown(d.name, values.text(d.name)),
                    ));
                }
                continue;
            }
            for d in DIRECTIVES.iter().filter(|d| !d.hidden) {
                for name in std::iter::once(&d.name).chain(d.aliases) {
                    if tessera_keyspace::glob::glob_match(pattern, name.as_bytes(), true)
                        && seen.insert(name.to_string())
                    {
                        out.push((name.to_string(), checks::shown(d.name, values.text(d.name))));
                    }
                }
            }
        }
        out
    }

    /// CONFIG SET of one or more pairs, all or nothing. `local` says whether the client
    /// connected over loopback (for enable-protected-configs local). The error is the
    /// full reply text.
    pub fn set(&self, pairs: &[(&[u8], &[u8])], local: bool) -> Result<(), String> {
        let mut values = self.values.lock();
        let mut seen = HashSet::new();
        let mut staged = Vec::with_capacity(pairs.len());
        for (name, _) in pairs {
            let name = String::from_utf8_lossy(name);
            let Some(d) = lookup(&name) else {
                return Err(errors::config_set_unknown(&name));
            };
            let failed = |why: &str| errors::config_set_failed(&name, why);
            if !seen.insert(d.name) {
                return Err(failed("duplicate parameter"));
            }
            match d.access {
                Access::Mutable => {}
                Access::Immutable => return Err(failed("can't set immutable config")),
                Access::Protected => {
                    let allowed = match values.enable_protected_configs() {
                        "yes" => true,
                        "local" => local,
                        _ => false,
                    };
                    if !allowed {
                        return Err(failed("can't set protected config"));
                    }
                }
            }
            staged.push((d, name.into_owned()));
        }
        let mut next = values.clone();
        let mut inert = Vec::new();
        for ((d, name), (_, value)) in staged.into_iter().zip(pairs) {
            let failed = |why: &str| errors::config_set_failed(&name, why);
            let value = d
                .kind
                .parse_runtime(&String::from_utf8_lossy(value))
                .map_err(|why| failed(&why))?;
            let value = next.combined(d, value);
            let value = next.checked(d, value).map_err(|why| failed(&why))?;
            if let Some(refusal) = d
                .refusal(&name, &value)
                .or_else(|| checks::unsupported_value(d.name, &value))
            {
                return Err(failed(&refusal));
            }
            if matches!(d.state, State::Inert(_)) && value != d.default {
                inert.push(d.name);
            }
            next.store(d, value);
        }
        if !inert.is_empty() {
            tracing::info!(
                directives = inert.join(" "),
                "CONFIG SET of directives that have no effect in Tessera (see the README)"
            );
        }
        *values = next;
        let settings = Arc::new(Settings::from_values(&values));
        self.settings.store(settings.clone());
        drop(values);
        for hook in self.hooks.lock().iter() {
            hook(&settings);
        }
        Ok(())
    }
}

/// Replaces `path` with `data` so that a crash leaves the old file or the new one,
/// never a mix: a temporary file beside it, fsynced, renamed over it, the directory
/// fsynced.
fn write_atomically(path: &std::path::Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(data)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        std::fs::File::open(&dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests;
