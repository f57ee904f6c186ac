//! The `nodes.conf` file on disk: locked for the life of the node, saved crash-safe.
//!
//! Redis 7.0 rewrites the file in place; a crash mid-write leaves a torn file. We write
//! the new version into a second file beside it (`nodes.conf.swap`), fsync it when the
//! change must be durable, and swap the two names in one atomic rename
//! (`RENAME_EXCHANGE`), then fsync the directory: a crash leaves the old version or the
//! new one. Swapping rather than renaming a fresh temporary file over the old one keeps
//! a save cheap (an ordinary save is a write and a rename, some 10 µs, where creating
//! and renaming a new file costs ext4 a forced writeback of a quarter millisecond), and
//! it matters during resharding, when every CLUSTER SETSLOT saves. Where the file
//! system can't exchange names, a fresh temporary file is renamed over the old one.
//!
//! Two locks keep a second node off the file: a lock file beside it, which survives
//! renames (Tessera vs Tessera), and locks on both inodes that take turns being
//! `nodes.conf`, which is what a redis-server started on the same file checks.

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
    /// The other inode of the exchange, locked as well; created at the first save.
    scratch: Option<File>,
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
            scratch: None,
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
        let path = self.path.clone();
        let io_err = |source| ClusterFileError::Io { path, source };
        if self.locked_config.is_some() {
            match self.save_by_exchange(text, fsync) {
                Ok(()) => return Ok(()),
                // No RENAME_EXCHANGE on this file system: the slower way, from now on.
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                    tracing::debug!(
                        "renameat2(RENAME_EXCHANGE) unsupported; saving with a new file each time"
                    );
                    self.locked_config = None;
                }
                Err(e) => return Err(io_err(e)),
            }
        }
        let temp = self.sibling(&format!(".tmp-{}", std::process::id()));
        let write = || -> io::Result<()> {
            let mut f = File::create(&temp)?;
            f.write_all(text.as_bytes())?;
            if fsync {
                f.sync_all()?;
            }
            fs::rename(&temp, &self.path)?;
            if fsync {
                self.sync_dir()?;
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

    /// `nodes.conf` with `suffix` appended.
    fn sibling(&self, suffix: &str) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    }

    fn sync_dir(&self) -> io::Result<()> {
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        File::open(dir)?.sync_all()
    }

    /// Writes `text` into the scratch file and swaps it with `nodes.conf`.
    fn save_by_exchange(&mut self, text: &str, fsync: bool) -> io::Result<()> {
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::fs::FileExt;
        let scratch_path = self.sibling(".swap");
        let scratch = match self.scratch.take() {
            Some(f) => f,
            None => {
                let f = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(&scratch_path)?;
                if !try_lock(&f)? {
                    return Err(io::Error::new(
                        io::ErrorKind::WouldBlock,
                        "the swap file is locked by another process",
                    ));
                }
                f
            }
        };
        let written = (|| {
            scratch.write_all_at(text.as_bytes(), 0)?;
            scratch.set_len(text.len() as u64)?;
            if fsync {
                scratch.sync_all()?;
            }
            let c_path = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes());
            let (from, to) = (c_path(&scratch_path)?, c_path(&self.path)?);
            // SAFETY: two valid NUL-terminated paths; no memory is shared with the call.
            let swapped = unsafe {
                libc::renameat2(
                    libc::AT_FDCWD,
                    from.as_ptr(),
                    libc::AT_FDCWD,
                    to.as_ptr(),
                    libc::RENAME_EXCHANGE,
                )
            };
            if swapped != 0 {
                return Err(io::Error::last_os_error());
            }
            if fsync {
                self.sync_dir()?;
            }
            Ok(())
        })();
        match written {
            Ok(()) => {
                // The inode we wrote is `nodes.conf` now; the old one is the scratch.
                self.scratch = self.locked_config.replace(scratch);
                Ok(())
            }
            Err(e) => {
                self.scratch = Some(scratch);
                Err(e)
            }
        }
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
    fn saves_swap_two_locked_inodes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nodes.conf");
        let mut file = ClusterFile::lock(&path).unwrap();
        file.save(FILE, false).unwrap();
        for (i, fsync) in [(1, false), (2, true), (3, false)] {
            let text = FILE.replace("lastVoteEpoch 0", &format!("lastVoteEpoch {i}"));
            file.save(&text, fsync).unwrap();
            assert_eq!(fs::read_to_string(&path).unwrap(), text);
            assert_eq!(file.load().unwrap().unwrap().last_vote_epoch, i);
            let f = OpenOptions::new().write(true).open(&path).unwrap();
            assert!(!try_lock(&f).unwrap(), "save {i}: nodes.conf is locked");
        }
        // A shorter version leaves no tail of the longer one.
        file.save(FILE, false).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), FILE);
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
