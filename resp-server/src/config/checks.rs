//! Checks of the directives that name places on disk, done where redis-server does
//! them (at start and by CONFIG SET) and with its texts: `dir` must be a directory the
//! node can enter, `dbfilename` a bare file name, so a snapshot can only land in `dir`.
//! Also the values of honoured directives that Tessera does not support yet: the
//! directive table refuses whole directives, and a few take only some of their values.

use super::Id;
use std::io;
use std::path::{Path, PathBuf};

/// Checks the canonical `value` of directive `name` and returns what to store: an
/// absolute `dir` (a relative one is taken from `base`, the directory in force, as a
/// chdir would), the classes of `notify-keyspace-events` in Redis's order, any other
/// value unchanged.
pub(super) fn check(name: &str, value: String, base: &Path) -> Result<String, String> {
    if name == Id::Dir.name() {
        enterable(&base.join(&value), value.is_empty()).map(|p| p.display().to_string())
    } else if name == Id::Dbfilename.name() && value.contains(['/', '\\']) {
        Err("dbfilename can't be a path, just a filename".into())
    } else if name == Id::NotifyKeyspaceEvents.name() {
        crate::notify::parse_classes(&value).map(crate::notify::stored_classes)
    } else {
        Ok(value)
    }
}

/// What CONFIG GET and CONFIG REWRITE show for the stored `value` of directive `name`:
/// the value itself, except the classes of `notify-keyspace-events`, stored with an n
/// that Redis does not show beside A.
pub(super) fn shown(name: &str, value: &str) -> String {
    if name == Id::NotifyKeyspaceEvents.name() {
        crate::notify::shown_classes(value)
    } else {
        value.to_string()
    }
}

/// Values of honoured directives that Tessera refuses until it supports them:
/// (directive, value, why). Empty today; the LRU and LFU eviction policies were the
/// last, until keys got an access clock.
const UNSUPPORTED_VALUES: &[(&str, &str, &str)] = &[];

/// The refusal of a canonical `value` that directive `name` takes in Redis but not yet
/// in Tessera, so no setting is ever accepted and ignored; `None` when the value may be
/// used.
pub(super) fn unsupported_value(name: &str, value: &str) -> Option<String> {
    if name == Id::NotifyKeyspaceEvents.name() {
        return crate::notify::unsupported(value);
    }
    UNSUPPORTED_VALUES
        .iter()
        .find(|(n, v, _)| *n == name && *v == value)
        .map(|(n, v, why)| format!("Tessera does not support {n} '{v}' yet ({why})"))
}

/// The canonical form of `path` if chdir into it would succeed; else chdir's error text
/// (strerror), which is what Redis reports.
fn enterable(path: &Path, empty: bool) -> Result<PathBuf, String> {
    if empty {
        return Err(strerror(libc::ENOENT));
    }
    let resolved = std::fs::canonicalize(path).map_err(|e| os_text(&e))?;
    if !resolved.is_dir() {
        return Err(strerror(libc::ENOTDIR));
    }
    let c_path = std::ffi::CString::new(resolved.as_os_str().as_encoded_bytes())
        .map_err(|_| strerror(libc::EINVAL))?;
    // SAFETY: c_path is a valid NUL-terminated string that outlives the call.
    if unsafe { libc::access(c_path.as_ptr(), libc::X_OK) } != 0 {
        return Err(os_text(&io::Error::last_os_error()));
    }
    Ok(resolved)
}

fn strerror(code: i32) -> String {
    os_text(&io::Error::from_raw_os_error(code))
}

/// An OS error's text without Rust's " (os error N)" suffix: strerror's words.
fn os_text(e: &io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_match_redis() {
        let base = Path::new("/");
        assert_eq!(
            check("dir", "/no/such/dir".into(), base).unwrap_err(),
            "No such file or directory"
        );
        assert_eq!(
            check("dir", "/proc/self/status".into(), base).unwrap_err(),
            "Not a directory"
        );
        assert_eq!(
            check("dir", "".into(), base).unwrap_err(),
            "No such file or directory"
        );
        for bad in ["../x/file.rdb", "/abs.rdb", "a\\b.rdb"] {
            assert_eq!(
                check("dbfilename", bad.into(), base).unwrap_err(),
                "dbfilename can't be a path, just a filename"
            );
        }
        assert_eq!(check("dbfilename", "x.rdb".into(), base).unwrap(), "x.rdb");
    }

    #[test]
    fn every_eviction_policy_is_accepted() {
        for policy in [
            "noeviction",
            "allkeys-random",
            "volatile-random",
            "volatile-ttl",
            "allkeys-lru",
            "volatile-lru",
            "allkeys-lfu",
            "volatile-lfu",
        ] {
            assert_eq!(unsupported_value("maxmemory-policy", policy), None);
        }
    }

    #[test]
    fn dir_is_made_absolute_from_the_directory_in_force() {
        let root = std::env::temp_dir().canonicalize().unwrap();
        let inner = scratch_dir(&root);
        let name = inner.file_name().unwrap().to_str().unwrap().to_string();
        assert_eq!(
            check("dir", name, &root).unwrap(),
            inner.display().to_string()
        );
        assert_eq!(
            check("dir", format!("{}/./", inner.display()), Path::new("/")).unwrap(),
            inner.display().to_string()
        );
        std::fs::remove_dir(&inner).unwrap();
    }

    fn scratch_dir(root: &Path) -> PathBuf {
        let dir = root.join(format!("tessera-checks-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
