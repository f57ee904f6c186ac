//! The `nodes.conf` file on disk: locked for the life of the node, saved crash-safe.
//!
//! Redis 7.0 rewrites the file in place; a crash mid-write leaves a torn file. We write
//! a temporary file, fsync it, rename it over the old one and fsync the directory, so a
//! crash leaves the old version or the new one. Two locks keep a second node off the
//! file: a lock file beside it, which survives renames (Tessera vs Tessera), and a lock
//! on `nodes.conf` itself, taken again after each rename, which is what a redis-server
//! started on the same file checks.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::nodes_conf::{self, NodesConf, ParseError};

/// Why the file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ClusterFileError {
    /// Another node holds the lock.
    #[error(
        "Sorry, the cluster configuration file {0} is already used by a different Redis Cluster node. \
         Please make sure that different nodes use different cluster configuration files."
    )]
    Locked(PathBuf),
    /// The file is corrupt; it is left untouched.
    #[error("{path}: {source}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where and why.
        source: ParseError,
    },
    /// Reading, writing or locking failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

/// An exclusive, non-blocking flock on `file`; false if someone else holds it.
fn try_lock(file: &File) -> io::Result<bool> {
    // SAFETY: flock on a descriptor we own; no memory is involved.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(err)
    }
}

/// An open, locked `nodes.conf`.
#[derive(Debug)]
pub struct ClusterFile {
    path: PathBuf,
    _lock_file: File,
    locked_config: Option<File>,
}

impl ClusterFile {
    /// Locks `path` for this process, refusing when another node uses it.
    pub fn lock(path: &Path) -> Result<ClusterFile, ClusterFileError> {
        let io_err = |source| ClusterFileError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut lock_name = path.as_os_str().to_owned();
        lock_name.push(".lock");
        let lock_file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(PathBuf::from(lock_name))
            .map_err(io_err)?;
        if !try_lock(&lock_file).map_err(io_err)? {
            return Err(ClusterFileError::Locked(path.to_path_buf()));
        }
        let mut file = ClusterFile {
            path: path.to_path_buf(),
            _lock_file: lock_file,
            locked_config: None,
        };
        file.lock_config()?;
        Ok(file)
    }

    /// Locks the current `nodes.conf` inode, if the file exists.
    fn lock_config(&mut self) -> Result<(), ClusterFileError> {
        match OpenOptions::new().write(true).open(&self.path) {
            Ok(f) => {
                let locked = try_lock(&f).map_err(|source| ClusterFileError::Io {
                    path: self.path.clone(),
                    source,
                })?;
                if !locked {
                    return Err(ClusterFileError::Locked(self.path.clone()));
                }
                self.locked_config = Some(f);
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(ClusterFileError::Io {
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// The path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the file; `Ok(None)` when it does not exist or is empty (a new node).
    pub fn load(&self) -> Result<Option<NodesConf>, ClusterFileError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(ClusterFileError::Io {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        if text.trim().is_empty() {
            return Ok(None);
        }
        nodes_conf::parse(&text)
            .map(Some)
            .map_err(|source| ClusterFileError::Corrupt {
                path: self.path.clone(),
                source,
            })
    }

    /// Replaces the file with `text` atomically; `fsync` makes it durable before
    /// returning (needed after votes and epoch changes).
    pub fn save(&mut self, text: &str, fsync: bool) -> Result<(), ClusterFileError> {
        let io_err = |source| ClusterFileError::Io {
            path: self.path.clone(),
            source,
        };
        let mut temp_name = self.path.as_os_str().to_owned();
        temp_name.push(format!(".tmp-{}", std::process::id()));
        let temp = PathBuf::from(temp_name);
        let write = || -> io::Result<()> {
            let mut f = File::create(&temp)?;
            f.write_all(text.as_bytes())?;
            if fsync {
                f.sync_all()?;
            }
            fs::rename(&temp, &self.path)?;
            if fsync {
                let dir = self
                    .path
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                File::open(dir)?.sync_all()?;
            }
            Ok(())
        };
        if let Err(e) = write() {
            let _ = fs::remove_file(&temp);
            return Err(io_err(e));
        }
        // The rename created a new inode; lock it so a redis-server started on the same
        // file sees it is in use.
        self.locked_config = None;
        self.lock_config()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "abababababababababababababababababababab :0@0 myself,master - 0 0 0 connected\nvars currentEpoch 0 lastVoteEpoch 0\n";

    #[test]
    fn a_second_node_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nodes.conf");
        let mut first = ClusterFile::lock(&path).unwrap();
        assert!(first.load().unwrap().is_none());
        first.save(FILE, true).unwrap();
        let err = ClusterFile::lock(&path).unwrap_err();
        assert!(
            err.to_string()
                .contains("already used by a different Redis Cluster node"),
            "{err}"
        );
        // After a save, the new inode is locked too (what redis-server checks).
        let f = OpenOptions::new().write(true).open(&path).unwrap();
        assert!(!try_lock(&f).unwrap());
        drop(first);
        assert!(
            ClusterFile::lock(&path).is_ok(),
            "the lock dies with its holder"
        );
    }

    #[test]
    fn load_and_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nodes.conf");
        fs::write(&path, "garbage line\n").unwrap();
        let file = ClusterFile::lock(&path).unwrap();
        let err = file.load().unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "garbage line\n",
            "left untouched"
        );
        fs::write(&path, FILE).unwrap();
        assert_eq!(file.load().unwrap().unwrap().nodes.len(), 1);
    }
}
