//! `dump.rdb`: saving a keyspace to disk and loading it back.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tessera_keyspace::Keyspace;
use tessera_keyspace::rdb::{self, AuxValue, LoadStats, RdbError};

/// What a save wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Saved {
    /// Keys written.
    pub keys: u64,
    /// Size of the file.
    pub bytes: u64,
    /// How long it took.
    pub elapsed: Duration,
}

/// A snapshot file that could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("can't load {path}: {source}")]
pub struct LoadError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: RdbError,
}

fn temp_path(target: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = format!("temp-{}-{n}.rdb", std::process::id());
    target.with_file_name(name)
}

/// Writes `keyspace` to `path` atomically. On error the previous file is untouched and
/// no temporary file is left behind.
pub fn save(
    path: &Path,
    keyspace: &Keyspace,
    aux: &[(&str, AuxValue<'_>)],
    now: i64,
    compress: bool,
) -> io::Result<Saved> {
    let started = Instant::now();
    let temp = temp_path(path);
    let result = (|| {
        let file = File::create(&temp)?;
        let (writer, keys) = rdb::write_keyspace(
            keyspace,
            BufWriter::with_capacity(1 << 20, file),
            aux,
            now,
            compress,
        )?;
        let file = writer
            .into_inner()
            .map_err(io::IntoInnerError::into_error)?;
        file.sync_all()?;
        let bytes = file.metadata()?.len();
        fs::rename(&temp, path)?;
        // The rename is durable only once the directory entry is.
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        File::open(dir)?.sync_all()?;
        Ok(Saved {
            keys,
            bytes,
            elapsed: started.elapsed(),
        })
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Loads `path` into `keyspace`; `Ok(None)` when there is no such file.
pub fn load(
    path: &Path,
    keyspace: &Keyspace,
    now: i64,
    limits: rdb::ReadLimits,
) -> Result<Option<LoadStats>, LoadError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(LoadError {
                path: path.to_path_buf(),
                source: RdbError::Io(e),
            });
        }
    };
    rdb::load_keyspace(keyspace, BufReader::new(file), now, limits)
        .map(Some)
        .map_err(|source| LoadError {
            path: path.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_keyspace::{StrValue, Value, key_slot};

    #[test]
    fn save_then_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dump.rdb");
        let ks = Keyspace::new(16, 1);
        for i in 0..100 {
            let k = format!("k{i}");
            ks.db(0)
                .lock(key_slot(k.as_bytes()))
                .insert(k.as_bytes(), Value::Str(StrValue::from_i64(i)));
        }
        let saved = save(&path, &ks, &[], 0, true).unwrap();
        assert_eq!(saved.keys, 100);
        assert_eq!(saved.bytes, fs::metadata(&path).unwrap().len());
        let entries: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(entries.len(), 1, "no temporary file left");
        let back = Keyspace::new(16, 2);
        assert_eq!(
            load(&path, &back, 0, rdb::ReadLimits::new(u64::MAX))
                .unwrap()
                .unwrap()
                .loaded,
            100
        );
        assert_eq!(back.db(0).len(), 100);
        assert!(
            load(
                &dir.path().join("none.rdb"),
                &back,
                0,
                rdb::ReadLimits::new(u64::MAX)
            )
            .unwrap()
            .is_none()
        );
    }

    #[test]
    fn a_failed_save_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dump.rdb");
        fs::write(&path, b"old").unwrap();
        let ks = Keyspace::new(1, 1);
        let unwritable = dir.path().join("missing-dir").join("dump.rdb");
        assert!(save(&unwritable, &ks, &[], 0, true).is_err());
        assert_eq!(fs::read(&path).unwrap(), b"old");
    }

    #[test]
    fn a_corrupt_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dump.rdb");
        fs::write(&path, b"REDIS0010\xfe").unwrap();
        let err = load(
            &path,
            &Keyspace::new(16, 1),
            0,
            rdb::ReadLimits::new(u64::MAX),
        )
        .unwrap_err();
        assert!(err.to_string().contains("dump.rdb"), "{err}");
    }
}
