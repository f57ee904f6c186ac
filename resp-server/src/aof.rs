//! The append-only file (`appendonly yes`), in Redis 7.0's multi-part layout: a
//! directory (`appenddirname`) holding a base file (an RDB snapshot, or commands with
//! `aof-use-rdb-preamble no`), incremental files of commands, and a manifest naming
//! them.
//!
//! The change stream that feeds replicas feeds the AOF too (`ChangeSink`), so the file
//! holds exactly what replicas get, in the same order. A rewrite (BGREWRITEAOF, or
//! automatic past `auto-aof-rewrite-percentage`) cuts the stream under every slot lock:
//! the snapshot taken there becomes the new base and everything after the cut goes to
//! a new incremental file, so no change is lost or applied twice.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use parking_lot::Mutex;
use tessera_keyspace::rdb::AuxValue;
use tessera_persistence::aof::appender::{AofAppender, FsyncPolicy};
use tessera_persistence::aof::command_base;
use tessera_persistence::aof::commands::{self as aof_commands, format_message};
use tessera_persistence::aof::manifest::{LoadPlan, Manifest, RewriteEnd, manifest_file_name};
use tessera_replication::ChangeSink;

use crate::node::Node;
use crate::protocol::request::Args;

/// The node's append-only file, while `appendonly` is on.
pub struct Aof {
    dir: PathBuf,
    filename: String,
    appender: AofAppender,
    manifest: Mutex<Manifest>,
    durable: tokio::sync::watch::Receiver<u64>,
    rewriting: AtomicBool,
    rewrites: AtomicU64,
    last_rewrite_ok: AtomicBool,
    last_rewrite_secs: AtomicI64,
    /// Stream offset at the last cut, and the base file's size then: the AOF's size is
    /// the base plus what the stream added since (`auto-aof-rewrite-percentage`).
    cut_offset: AtomicU64,
    base_size: AtomicU64,
    /// aof-timestamp-enabled, and the second of the last `#TS:` line written.
    timestamps: AtomicBool,
    last_timestamp: AtomicI64,
}

impl ChangeSink for Aof {
    fn append(&self, bytes: &[u8], end: u64) {
        if self.timestamps.load(Ordering::Relaxed) {
            // aof-timestamp-enabled: a `#TS:` line before the first change of each
            // second, as Redis writes them (loaders skip it).
            let now = crate::clock::unix_ms() / 1000;
            if self.last_timestamp.swap(now, Ordering::Relaxed) < now {
                let line = aof_commands::timestamp_annotation(now as u64);
                self.appender.append(&line, end - bytes.len() as u64);
            }
        }
        self.appender.append(bytes, end);
    }
}

fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temp = path.with_extension("tmp");
    std::fs::write(&temp, bytes)?;
    std::fs::File::open(&temp)?.sync_all()?;
    std::fs::rename(&temp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Writes a base file crash-safe; with `incremental` (aof-rewrite-incremental-fsync) it
/// is fsynced every 4 MB on the way, so the kernel never holds a big dirty backlog
/// that one final fsync would stall on.
fn write_base(path: &Path, bytes: &[u8], incremental: bool) -> std::io::Result<()> {
    if !incremental {
        return write_durably(path, bytes);
    }
    use std::io::Write;
    let temp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&temp)?;
    for chunk in bytes.chunks(4 << 20) {
        file.write_all(chunk)?;
        file.sync_data()?;
    }
    file.sync_all()?;
    std::fs::rename(&temp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// After a rewrite: the files it made history are deleted, unless
/// `aof-disable-auto-gc` keeps them (listed as history, as Redis does).
fn after_rewrite(
    dir: &Path,
    filename: &str,
    manifest: &Manifest,
    keep: bool,
) -> Result<Manifest, String> {
    if keep {
        return Ok(manifest.clone());
    }
    drop_history(dir, filename, manifest)
}

/// Reads the manifest in `dir`, if there is one.
fn read_manifest(dir: &Path, filename: &str) -> Result<Option<Manifest>, String> {
    let path = dir.join(manifest_file_name(filename));
    match std::fs::read(&path) {
        Ok(bytes) => Manifest::parse_bytes(&bytes).map(Some).map_err(|e| {
            format!(
                "{} {e}",
                tessera_persistence::aof::manifest::FATAL_MANIFEST_MESSAGE
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!(
            "Can't read the AOF manifest {}: {e}",
            path.display()
        )),
    }
}

/// Writes `manifest` crash-safe.
fn persist(dir: &Path, filename: &str, manifest: &Manifest) -> Result<(), String> {
    write_durably(
        &dir.join(manifest_file_name(filename)),
        manifest.to_string().as_bytes(),
    )
    .map_err(|e| format!("Can't persist the AOF manifest: {e}"))
}

/// Deletes the files a rewrite made history and persists the manifest without them.
fn drop_history(dir: &Path, filename: &str, manifest: &Manifest) -> Result<Manifest, String> {
    let (next, old) = manifest.drop_history();
    persist(dir, filename, &next)?;
    for file in old {
        let _ = std::fs::remove_file(dir.join(&file.name));
    }
    Ok(next)
}

/// The snapshot a base file holds: every key of every database as of `now`, as an
/// RDB preamble or, with `aof-use-rdb-preamble no`, as the commands that rebuild it.
fn snapshot(node: &Node, locks: &mut tessera_keyspace::AllLocks<'_>, now: i64) -> Vec<u8> {
    let settings = node.config().settings();
    let libraries = node.scripts().library_codes();
    if !settings.aof.rdb_preamble {
        // Redis opens a command base with its time when annotations are on.
        let mut out = if settings.aof.timestamps {
            aof_commands::timestamp_annotation((now / 1000) as u64)
        } else {
            Vec::new()
        };
        // Then the function libraries, as the FUNCTION LOAD commands that load them.
        for code in &libraries {
            crate::protocol::encode_command(&mut out, &[b"FUNCTION", b"LOAD", code]);
        }
        out.extend(command_base::write_locked(locks, now));
        return out;
    }
    let mut aux = vec![
        ("redis-ver", AuxValue::Text(crate::REDIS_VERSION.as_bytes())),
        ("redis-bits", AuxValue::Int(64)),
        ("ctime", AuxValue::Int(now / 1000)),
        ("aof-base", AuxValue::Int(1)),
    ];
    aux.extend(libraries.iter().map(|c| ("", AuxValue::Library(c))));
    tessera_keyspace::rdb::write_locked(locks, &aux, now, settings.rdbcompression).0
}

impl Aof {
    /// Loads the AOF in `dir` into `node` if there is one (else writes a first base
    /// file of what the node holds), then appends the node's changes to it. Runs at
    /// start, before clients are served.
    pub fn start(node: &Arc<Node>) -> Result<Arc<Aof>, String> {
        let settings = node.config().settings();
        let dir = Path::new(&settings.dir).join(&settings.aof.dirname);
        let filename = settings.aof.filename.clone();
        std::fs::create_dir_all(&dir).map_err(|e| {
            format!(
                "Can't create the append-only directory {}: {e}",
                dir.display()
            )
        })?;
        let found = read_manifest(&dir, &filename)?.unwrap_or_default();
        load(node, &dir, &found, settings.aof.load_truncated)?;
        let plan = found.open_on_start(&filename, settings.aof.rdb_preamble);
        if let Some(base) = &plan.create_base {
            let now = crate::clock::unix_ms();
            let bytes = {
                let mut locks = node.keyspace().lock_all();
                snapshot(node, &mut locks, now)
            };
            tracing::info!("Creating AOF base file {base} on server start");
            write_durably(&dir.join(base), &bytes).map_err(|e| e.to_string())?;
        }
        if plan.incr_is_new {
            tracing::info!("Creating AOF incr file {} on server start", plan.incr);
            write_durably(&dir.join(&plan.incr), b"").map_err(|e| e.to_string())?;
        }
        if plan.manifest != found {
            persist(&dir, &filename, &plan.manifest)?;
        }
        let (files, incr) = (plan.manifest, plan.incr);
        let base_size = files
            .base
            .as_ref()
            .and_then(|b| std::fs::metadata(dir.join(&b.name)).ok())
            .map_or(0, |m| m.len());
        let aof = Aof::open(node, dir, filename, files, &incr, base_size)?;
        // Expired keys reach the file as DEL, in order, as they reach replicas.
        node.keyspace()
            .set_expiry_mode(tessera_keyspace::ExpiryMode::Journal);
        let sink: Arc<dyn ChangeSink> = aof.clone();
        node.replication().set_sink(Some(sink), |_| ());
        Ok(aof)
    }

    /// Turns the AOF on while the node runs (CONFIG SET appendonly yes): as a rewrite,
    /// the data as it is becomes a new base and every change from that instant on goes
    /// to a new incremental file.
    pub fn enable(node: &Arc<Node>) -> Result<Arc<Aof>, String> {
        let settings = node.config().settings();
        let dir = Path::new(&settings.dir).join(&settings.aof.dirname);
        let filename = settings.aof.filename.clone();
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let found = read_manifest(&dir, &filename)?.unwrap_or_default();
        let (listed, incr) = found.start_rewrite(&filename);
        write_durably(&dir.join(&incr), b"").map_err(|e| e.to_string())?;
        let done = listed.finish_rewrite(&filename, settings.aof.rdb_preamble, RewriteEnd::AofOn);
        let now = crate::clock::unix_ms();
        let (aof, base) = {
            // Every slot locked: the snapshot and the first change the file gets meet
            // exactly.
            let mut locks = node.keyspace().lock_all();
            node.keyspace()
                .set_expiry_mode_locked(&mut locks, tessera_keyspace::ExpiryMode::Journal);
            let aof = Aof::open(
                node,
                dir.clone(),
                filename.clone(),
                done.manifest.clone(),
                &incr,
                0,
            )?;
            let sink: Arc<dyn ChangeSink> = aof.clone();
            node.replication().set_sink(Some(sink), |offset| {
                aof.cut_offset.store(offset, Ordering::Relaxed)
            });
            (aof, snapshot(node, &mut locks, now))
        };
        write_base(&dir.join(&done.base), &base, settings.aof.incremental_fsync)
            .map_err(|e| e.to_string())?;
        aof.base_size.store(base.len() as u64, Ordering::Relaxed);
        persist(&dir, &filename, &done.manifest)?;
        let keep = settings.aof.disable_auto_gc;
        *aof.manifest.lock() = after_rewrite(&dir, &filename, &done.manifest, keep)?;
        aof.rewrites.fetch_add(1, Ordering::Relaxed);
        tracing::info!("Background append only file rewriting started and done: the AOF is on");
        Ok(aof)
    }

    /// Turns the AOF off (CONFIG SET appendonly no): no change is appended any more,
    /// and what was appended is put on disk.
    pub fn close(&self, node: &Node) {
        node.replication().set_sink(None, |_| ());
        self.sync_all();
    }

    /// The AOF writing to `incr` of `dir`, from the stream's offset now on.
    fn open(
        node: &Node,
        dir: PathBuf,
        filename: String,
        manifest: Manifest,
        incr: &str,
        base_size: u64,
    ) -> Result<Arc<Aof>, String> {
        let settings = node.config().settings();
        let offset = node.replication().offset();
        let (tx, rx) = tokio::sync::watch::channel(offset);
        let appender = AofAppender::open(
            &dir.join(incr),
            offset,
            policy(&settings.aof.fsync),
            Box::new(move |o| {
                let _ = tx.send(o);
            }),
        )
        .map_err(|e| format!("Can't open the append-only file {incr}: {e}"))?;
        Ok(Arc::new(Aof {
            dir,
            filename,
            appender,
            manifest: Mutex::new(manifest),
            durable: rx,
            rewriting: AtomicBool::new(false),
            rewrites: AtomicU64::new(0),
            last_rewrite_ok: AtomicBool::new(true),
            last_rewrite_secs: AtomicI64::new(-1),
            cut_offset: AtomicU64::new(offset),
            base_size: AtomicU64::new(base_size),
            timestamps: AtomicBool::new(settings.aof.timestamps),
            last_timestamp: AtomicI64::new(0),
        }))
    }

    /// Puts everything appended so far on disk (before the process exits, as Redis
    /// fsyncs its AOF at shutdown).
    pub fn sync_all(&self) {
        if !self.appender.sync_all(std::time::Duration::from_secs(10)) {
            tracing::warn!("the append-only file could not be synced before exiting");
        }
    }

    /// Applies `appendfsync` and `aof-timestamp-enabled`.
    pub fn configure(&self, settings: &crate::config::AofSettings) {
        self.appender.set_policy(policy(&settings.fsync));
        self.timestamps
            .store(settings.timestamps, Ordering::Relaxed);
    }

    /// Waits until the stream up to `offset` is on disk, if `appendfsync always` asks
    /// replies to wait for it.
    pub async fn durable(&self, offset: u64) {
        if self.appender.policy() != FsyncPolicy::Always || self.appender.synced() >= offset {
            return;
        }
        let mut rx = self.durable.clone();
        let _ = rx.wait_for(|&o| o >= offset).await;
    }

    /// The stream offset an fsync really put on disk (WAITAOF's local count, a
    /// replica's `FACK`).
    pub fn fsynced(&self) -> u64 {
        self.appender.fsynced()
    }

    /// Changes each time the writer publishes an offset as durable: a waiter on
    /// [`Aof::fsynced`] looks again then.
    pub fn durable_watch(&self) -> tokio::sync::watch::Receiver<u64> {
        self.durable.clone()
    }

    /// Starts a rewrite off the serving threads; false if one is running already.
    pub fn rewrite_in_background(self: &Arc<Self>, node: &Arc<Node>) -> bool {
        if self.rewriting.swap(true, Ordering::AcqRel) {
            return false;
        }
        let (aof, node) = (self.clone(), node.clone());
        std::thread::spawn(move || {
            let started = std::time::Instant::now();
            let result = aof.rewrite(&node);
            aof.appender.hold_fsync(false);
            aof.last_rewrite_secs
                .store(started.elapsed().as_secs() as i64, Ordering::Relaxed);
            aof.last_rewrite_ok.store(result.is_ok(), Ordering::Relaxed);
            match result {
                Ok(()) => {
                    aof.rewrites.fetch_add(1, Ordering::Relaxed);
                    tracing::info!("Background AOF rewrite finished successfully");
                }
                Err(e) => tracing::warn!(error = %e, "Background AOF rewrite failed"),
            }
            aof.rewriting.store(false, Ordering::Release);
        });
        true
    }

    fn rewrite(&self, node: &Node) -> Result<(), String> {
        let settings = node.config().settings();
        self.appender.hold_fsync(settings.aof.no_fsync_on_rewrite);
        let mut manifest = self.manifest.lock();
        // The new incremental file is listed before anything is written to it, so a
        // crash at any point leaves a manifest naming every write.
        let (listed, incr) = manifest.start_rewrite(&self.filename);
        write_durably(&self.dir.join(&incr), b"").map_err(|e| e.to_string())?;
        persist(&self.dir, &self.filename, &listed)?;
        *manifest = listed;
        let now = crate::clock::unix_ms();
        // Every slot locked: no change lands between the snapshot and the cut.
        let (base, rotated) = {
            let mut locks = node.keyspace().lock_all();
            let rotated = node.replication().at_cut(|offset| {
                self.cut_offset.store(offset, Ordering::Relaxed);
                // Each incremental file opens with its time, when annotations are on.
                self.last_timestamp.store(0, Ordering::Relaxed);
                self.appender.rotate(self.dir.join(&incr))
            });
            (snapshot(node, &mut locks, now), rotated)
        };
        let done =
            manifest.finish_rewrite(&self.filename, settings.aof.rdb_preamble, RewriteEnd::AofOn);
        write_base(
            &self.dir.join(&done.base),
            &base,
            settings.aof.incremental_fsync,
        )
        .map_err(|e| e.to_string())?;
        self.base_size.store(base.len() as u64, Ordering::Relaxed);
        // Files leave the manifest only once nothing is written to them any more.
        while !rotated.load(Ordering::Acquire) {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        persist(&self.dir, &self.filename, &done.manifest)?;
        let keep = settings.aof.disable_auto_gc;
        *manifest = after_rewrite(&self.dir, &self.filename, &done.manifest, keep)?;
        Ok(())
    }

    /// Starts a rewrite when the AOF grew past `auto-aof-rewrite-percentage` of its
    /// base and past `auto-aof-rewrite-min-size` (called by the cron).
    pub fn maybe_rewrite(self: &Arc<Self>, node: &Arc<Node>, percentage: u64, min_size: u64) {
        if percentage == 0 || self.rewriting.load(Ordering::Acquire) {
            return;
        }
        let size = self.current_size();
        let base = self.base_size.load(Ordering::Relaxed).max(1);
        if size >= min_size && (size - base.min(size)) * 100 / base >= percentage {
            tracing::info!(size, base, "Starting automatic rewriting of AOF");
            self.rewrite_in_background(node);
        }
    }

    /// The AOF's size: its base file plus what was appended since.
    pub fn current_size(&self) -> u64 {
        let since = self
            .appender
            .written()
            .saturating_sub(self.cut_offset.load(Ordering::Relaxed));
        self.base_size.load(Ordering::Relaxed) + since
    }

    /// INFO persistence's AOF fields after `aof_enabled`.
    pub fn info_fields(&self) -> Vec<(&'static str, String)> {
        let ok = |b: bool| if b { "ok" } else { "err" }.to_string();
        vec![
            (
                "aof_rewrite_in_progress",
                u8::from(self.rewriting.load(Ordering::Acquire)).to_string(),
            ),
            ("aof_rewrite_scheduled", "0".into()),
            (
                "aof_last_rewrite_time_sec",
                self.last_rewrite_secs.load(Ordering::Relaxed).to_string(),
            ),
            ("aof_current_rewrite_time_sec", "-1".into()),
            (
                "aof_last_bgrewrite_status",
                ok(self.last_rewrite_ok.load(Ordering::Relaxed)),
            ),
            (
                "aof_rewrites",
                self.rewrites.load(Ordering::Relaxed).to_string(),
            ),
            ("aof_rewrites_consecutive_failures", "0".into()),
            ("aof_last_write_status", ok(!self.appender.failed())),
            ("aof_last_cow_size", "0".into()),
            ("aof_current_size", self.current_size().to_string()),
            (
                "aof_base_size",
                self.base_size.load(Ordering::Relaxed).to_string(),
            ),
            ("aof_pending_rewrite", "0".into()),
            ("aof_buffer_length", self.appender.pending().to_string()),
            ("aof_pending_bio_fsync", "0".into()),
            ("aof_delayed_fsync", "0".into()),
        ]
    }
}

/// BGREWRITEAOF with `appendonly no`: as Redis 7.0, writes a base file of the data and a
/// manifest naming only it (no incremental file: nothing is appended). False if such a
/// rewrite is already running.
pub fn rewrite_without_aof(node: &Arc<Node>) -> bool {
    static RUNNING: AtomicBool = AtomicBool::new(false);
    if RUNNING.swap(true, Ordering::AcqRel) {
        return false;
    }
    let node = node.clone();
    std::thread::spawn(move || {
        let result = (|| -> Result<(), String> {
            let settings = node.config().settings();
            let dir = Path::new(&settings.dir).join(&settings.aof.dirname);
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            let filename = &settings.aof.filename;
            let manifest = read_manifest(&dir, filename)?.unwrap_or_default();
            let done =
                manifest.finish_rewrite(filename, settings.aof.rdb_preamble, RewriteEnd::AofOff);
            let base = {
                let mut locks = node.keyspace().lock_all();
                snapshot(&node, &mut locks, crate::clock::unix_ms())
            };
            write_base(&dir.join(&done.base), &base, settings.aof.incremental_fsync)
                .map_err(|e| e.to_string())?;
            persist(&dir, filename, &done.manifest)?;
            after_rewrite(&dir, filename, &done.manifest, settings.aof.disable_auto_gc)?;
            Ok(())
        })();
        match result {
            Ok(()) => tracing::info!("Background AOF rewrite finished successfully"),
            Err(e) => tracing::warn!(error = %e, "Background AOF rewrite failed"),
        }
        RUNNING.store(false, Ordering::Release);
    });
    true
}

fn policy(name: &str) -> FsyncPolicy {
    match name {
        "always" => FsyncPolicy::Always,
        "no" => FsyncPolicy::No,
        _ => FsyncPolicy::EverySec,
    }
}

/// Loads the files `manifest` names, base first.
fn load(
    node: &Arc<Node>,
    dir: &Path,
    manifest: &Manifest,
    truncated_ok: bool,
) -> Result<(), String> {
    let started = std::time::Instant::now();
    let size_of = |name: &str| std::fs::metadata(dir.join(name)).ok().map(|m| m.len());
    let files = match manifest.plan_load(size_of) {
        Err(missing) => {
            return Err(format_message(
                tessera_persistence::aof::manifest::MISSING_FILE_MESSAGE,
                &[&missing.name, &"No such file or directory"],
            ));
        }
        Ok(LoadPlan::Nothing | LoadPlan::Empty) => return Ok(()),
        Ok(LoadPlan::Files(files)) => files,
    };
    let settings = node.config().settings();
    for file in files {
        let path = dir.join(&file.file.name);
        let bytes = std::fs::read(&path)
            .map_err(|e| format!("Can't open the append-only file {}: {e}", file.file.name))?;
        if aof_commands::is_rdb_preamble(&bytes) {
            let now = crate::clock::unix_ms();
            let stats = tessera_persistence::dump::load(
                &path,
                node.keyspace(),
                now,
                settings.read_limits(),
            )
            .map_err(|e| {
                let bad = format_message(aof_commands::BAD_FORMAT_MESSAGE, &[&file.file.name]);
                format!("{bad} ({e})")
            })?;
            if let Some(stats) = stats {
                node.scripts()
                    .load_libraries(&stats.libraries, false)
                    .map_err(|e| format!("loading the function libraries failed: {e}"))?;
            }
            continue;
        }
        apply_commands(node, &path, &bytes, truncated_ok && file.truncation_allowed)?;
    }
    tracing::info!(
        ms = started.elapsed().as_millis() as u64,
        "DB loaded from append only file"
    );
    Ok(())
}

/// Applies the commands of one AOF file as a client nothing refuses and nothing
/// records again. A torn last command is cut off when `truncated_ok` (Redis's
/// `aof-load-truncated yes`), else it stops the start, as does garbage anywhere.
fn apply_commands(
    node: &Arc<Node>,
    path: &Path,
    bytes: &[u8],
    truncated_ok: bool,
) -> Result<(), String> {
    let name = path.display().to_string();
    let scan = aof_commands::scan(bytes);
    if let Some((offset, reason)) = &scan.error {
        let bad = format_message(aof_commands::BAD_FORMAT_MESSAGE, &[&name]);
        return Err(format!("{bad} ({reason:?} at byte {offset})"));
    }
    if scan.truncated && !truncated_ok {
        return Err(format_message(
            aof_commands::UNEXPECTED_EOF_MESSAGE,
            &[&name],
        ));
    }
    let mut applier = crate::replication::Applier::internal(node);
    let whole = &bytes[..scan.commands_ok_len];
    let mut at = 0;
    while let Ok(Some((args, used))) = aof_commands::next_command(&whole[at..]) {
        let owned: Vec<Vec<u8>> = args
            .iter()
            .map(|r| whole[at + r.start..at + r.end].to_vec())
            .collect();
        if !owned.is_empty() {
            applier.apply(Args::Owned(&owned));
        }
        at += used;
    }
    let keep = if scan.truncated {
        scan.commands_ok_len
    } else {
        scan.clean_len.min(bytes.len())
    };
    if keep < bytes.len() {
        if scan.truncated {
            tracing::warn!(
                "{}",
                format_message(aof_commands::SHORT_READ_WARNING, &[&name])
            );
            tracing::warn!(
                "{}",
                format_message(aof_commands::TRUNCATING_WARNING, &[&name, &keep])
            );
        }
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| e.to_string())?;
        file.set_len(keep as u64).map_err(|e| e.to_string())?;
        file.sync_all().map_err(|e| e.to_string())?;
    }
    Ok(())
}
