//! Snapshots of the dataset to `dump.rdb`: SAVE, BGSAVE, `save` points, save-on-exit.
//!
//! At most one save runs at a time. A background save runs on its own thread and
//! encodes one slot at a time under that slot's lock, so clients keep being served; the
//! file is consistent per slot, and every write acknowledged before the save began is
//! in it.

use parking_lot::Mutex;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tessera_keyspace::rdb::AuxValue;
use tessera_persistence::dump::{self, Saved};

use crate::clock::unix_ms;
use crate::node::Node;

/// After a failed automatic save, wait this long before trying again (Redis: 5 s).
const RETRY_DELAY: Duration = Duration::from_secs(5);

/// Why a save did not happen.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// Another save is running.
    #[error("Background save already in progress")]
    InProgress,
    /// Writing failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Snapshot bookkeeping for INFO and the `save` points.
#[derive(Debug)]
pub struct Snapshots {
    in_progress: AtomicBool,
    scheduled: AtomicBool,
    last_save_unix: AtomicI64,
    last_ok: AtomicBool,
    saves: AtomicU64,
    last_duration_secs: AtomicI64,
    writes_at_last_save: AtomicU64,
    current: Mutex<Option<Instant>>,
    last_attempt: Mutex<Option<Instant>>,
    /// Keys loaded and skipped as expired by the load at start.
    pub last_load: Mutex<(u64, u64)>,
}

impl Snapshots {
    /// Bookkeeping for a node started at `started_unix` (seconds).
    pub fn new(started_unix: i64) -> Snapshots {
        Snapshots {
            in_progress: AtomicBool::new(false),
            scheduled: AtomicBool::new(false),
            last_save_unix: AtomicI64::new(started_unix),
            last_ok: AtomicBool::new(true),
            saves: AtomicU64::new(0),
            last_duration_secs: AtomicI64::new(-1),
            writes_at_last_save: AtomicU64::new(0),
            current: Mutex::new(None),
            last_attempt: Mutex::new(None),
            last_load: Mutex::new((0, 0)),
        }
    }

    /// Unix time (s) of the last successful save (LASTSAVE).
    pub fn last_save(&self) -> i64 {
        self.last_save_unix.load(Ordering::Relaxed)
    }

    /// True while a save runs.
    pub fn in_progress(&self) -> bool {
        self.in_progress.load(Ordering::Acquire)
    }

    /// Redis's lastbgsave_status: false after a failed background save, until a save
    /// succeeds (INFO's rdb_last_bgsave_status; MISCONF).
    pub fn last_bgsave_ok(&self) -> bool {
        self.last_ok.load(Ordering::Relaxed)
    }

    /// Successful saves since start.
    pub fn saves(&self) -> u64 {
        self.saves.load(Ordering::Relaxed)
    }

    /// Duration of the last save in seconds (-1: none yet).
    pub fn last_duration_secs(&self) -> i64 {
        self.last_duration_secs.load(Ordering::Relaxed)
    }

    /// Seconds the running save has taken (-1: none running).
    pub fn current_secs(&self) -> i64 {
        self.current
            .lock()
            .map_or(-1, |started| started.elapsed().as_secs() as i64)
    }

    /// Asks for a background save as soon as the running one ends (BGSAVE SCHEDULE).
    pub fn schedule(&self) {
        self.scheduled.store(true, Ordering::Relaxed);
    }
}

/// Writes since the last successful save (INFO's rdb_changes_since_last_save).
pub fn changes_since_save(node: &Node) -> u64 {
    node.traffic()
        .writes
        .saturating_sub(node.snapshots().writes_at_last_save.load(Ordering::Relaxed))
}

/// Where the next snapshot goes: `dbfilename` in the `dir` in force now, so a CONFIG
/// SET dir applies to the next save, as Redis's chdir makes it. (The process keeps its
/// working directory: nodes.conf, locked at start, stays where it was.)
pub fn dump_path(settings: &crate::config::Settings) -> PathBuf {
    std::path::Path::new(&settings.dir).join(&settings.dbfilename)
}

/// Saves now, on the calling thread. As in Redis, any successful save clears the
/// failed status that MISCONF reports, but only a failed *background* save sets it
/// (a failed SAVE answers its client an error and changes nothing else).
pub fn save(node: &Node, background: bool) -> Result<Saved, SaveError> {
    let s = &node.snapshots();
    if s.in_progress.swap(true, Ordering::AcqRel) {
        return Err(SaveError::InProgress);
    }
    *s.current.lock() = Some(Instant::now());
    *s.last_attempt.lock() = Some(Instant::now());
    let writes_before = node.traffic().writes;
    let settings = node.config().settings();
    let now = unix_ms();
    let used = node.memory().allocated as i64;
    let libraries = node.scripts().library_codes();
    let mut aux = vec![
        ("redis-ver", AuxValue::Text(crate::REDIS_VERSION.as_bytes())),
        ("redis-bits", AuxValue::Int(64)),
        ("ctime", AuxValue::Int(now / 1000)),
        ("used-mem", AuxValue::Int(used)),
        ("aof-base", AuxValue::Int(0)),
    ];
    aux.extend(libraries.iter().map(|c| ("", AuxValue::Library(c))));
    let result = dump::save(
        &dump_path(&settings),
        node.keyspace(),
        &aux,
        now,
        settings.rdbcompression,
    );
    match &result {
        Ok(saved) => {
            s.last_save_unix.store(unix_ms() / 1000, Ordering::Relaxed);
            s.writes_at_last_save
                .store(writes_before, Ordering::Relaxed);
            s.saves.fetch_add(1, Ordering::Relaxed);
            s.last_duration_secs
                .store(saved.elapsed.as_secs() as i64, Ordering::Relaxed);
            s.last_ok.store(true, Ordering::Relaxed);
            tracing::info!(
                keys = saved.keys,
                bytes = saved.bytes,
                ms = saved.elapsed.as_millis() as u64,
                "DB saved on disk"
            );
        }
        Err(e) => {
            if background {
                s.last_ok.store(false, Ordering::Relaxed);
            }
            tracing::warn!(error = %e, "failed saving the DB");
        }
    }
    *s.current.lock() = None;
    s.in_progress.store(false, Ordering::Release);
    result.map_err(SaveError::Io)
}

/// Starts a save on a background thread.
pub fn save_in_background(node: &Arc<Node>) -> Result<(), SaveError> {
    if node.snapshots().in_progress() {
        return Err(SaveError::InProgress);
    }
    let node = node.clone();
    std::thread::Builder::new()
        .name("bgsave".into())
        .spawn(move || {
            let _ = save(&node, true);
        })
        .map(|_| ())
        .map_err(SaveError::Io)
}

/// Starts a background save if a `save` point is due or one was scheduled (called once
/// a second by the cron).
pub fn run_save_points(node: &Arc<Node>) {
    let s = &node.snapshots();
    if s.in_progress() {
        return;
    }
    let scheduled = s.scheduled.swap(false, Ordering::Relaxed);
    let settings = node.config().settings();
    let since_save = (unix_ms() / 1000 - s.last_save()).max(0) as u64;
    let changes = changes_since_save(node);
    let due = settings
        .save_points
        .iter()
        .any(|p| changes >= p.changes && since_save >= p.seconds);
    let backing_off = !s.last_bgsave_ok()
        && s.last_attempt
            .lock()
            .is_some_and(|t| t.elapsed() < RETRY_DELAY);
    if scheduled || (due && !backing_off) {
        tracing::info!(changes, seconds = since_save, "background saving started");
        let _ = save_in_background(node);
    }
}

/// Whether a stopping node must save first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveOnExit {
    /// SHUTDOWN SAVE.
    Always,
    /// SHUTDOWN NOSAVE.
    Never,
    /// Plain SHUTDOWN or a signal: only when `save` points are configured.
    IfConfigured,
}

/// Syncs the append-only file, then saves before the node stops, as asked. An error
/// means the node must keep running (Redis refuses to exit when its final save fails,
/// so no acknowledged data is lost).
pub fn save_before_exit(node: &Node, mode: SaveOnExit) -> Result<(), String> {
    if let Some(aof) = &*node.aof() {
        aof.sync_all();
    }
    let wanted = match mode {
        SaveOnExit::Always => true,
        SaveOnExit::Never => false,
        SaveOnExit::IfConfigured => !node.config().settings().save_points.is_empty(),
    };
    if !wanted {
        return Ok(());
    }
    // A background save may be running; wait for it, then write the final state.
    while node.snapshots().in_progress() {
        std::thread::sleep(Duration::from_millis(10));
    }
    tracing::info!("saving the final RDB snapshot before exiting");
    save(node, false).map(|_| ()).map_err(|e| {
        tracing::warn!(error = %e, "error trying to save the DB, can't exit");
        e.to_string()
    })
}
