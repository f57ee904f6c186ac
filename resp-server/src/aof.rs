//! The append-only file (`appendonly yes`), in Redis 7.0's multi-part layout: a
//! directory (`appenddirname`) holding a base file (an RDB snapshot), incremental
//! files of commands, and a manifest naming them.
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
use tessera_replication::ChangeSink;

use crate::node::Node;
use crate::protocol::request::{Decoded, Limits, RequestDecoder};

/// The files the manifest names now.
#[derive(Debug, Clone)]
struct Files {
    base: String,
    base_seq: u64,
    incrs: Vec<(String, u64)>,
}

impl Files {
    fn manifest(&self) -> String {
        let mut out = format!("file {} seq {} type b\n", self.base, self.base_seq);
        for (name, seq) in &self.incrs {
            out.push_str(&format!("file {name} seq {seq} type i\n"));
        }
        out
    }

    /// Reads a manifest as Redis 7.0 writes it (names without quoting).
    fn parse(text: &str) -> Result<Files, String> {
        let mut base = None;
        let mut incrs = Vec::new();
        for line in text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let words: Vec<&str> = line.split(' ').collect();
            let field = |key: &str| {
                words
                    .chunks(2)
                    .find(|kv| kv[0] == key)
                    .and_then(|kv| kv.get(1).copied())
            };
            let (Some(name), Some(seq), Some(kind)) = (field("file"), field("seq"), field("type"))
            else {
                return Err(format!("Invalid AOF manifest file format: {line}"));
            };
            let seq: u64 = seq
                .parse()
                .map_err(|_| format!("Invalid AOF manifest file format: {line}"))?;
            match kind {
                "b" if base.is_none() => base = Some((name.to_string(), seq)),
                "b" => return Err("Found duplicate base file information".into()),
                "i" => incrs.push((name.to_string(), seq)),
                "h" => {}
                _ => return Err(format!("Unknown AOF file type: {kind}")),
            }
        }
        let (base, base_seq) = base.ok_or("The AOF manifest names no base file")?;
        Ok(Files {
            base,
            base_seq,
            incrs,
        })
    }
}

/// The node's append-only file, while `appendonly` is on.
pub struct Aof {
    dir: PathBuf,
    filename: String,
    appender: AofAppender,
    files: Mutex<Files>,
    durable: tokio::sync::watch::Receiver<u64>,
    rewriting: AtomicBool,
    rewrites: AtomicU64,
    last_rewrite_ok: AtomicBool,
    last_rewrite_secs: AtomicI64,
    /// Stream offset at the last cut, and the base file's size then: the AOF's size is
    /// the base plus what the stream added since (`auto-aof-rewrite-percentage`).
    cut_offset: AtomicU64,
    base_size: AtomicU64,
}

impl ChangeSink for Aof {
    fn append(&self, bytes: &[u8], end: u64) {
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

/// The snapshot a base file holds: every key of every database as of `now`.
fn snapshot(node: &Node, locks: &mut tessera_keyspace::AllLocks<'_>, now: i64) -> Vec<u8> {
    let settings = node.config().settings();
    let aux = [
        ("redis-ver", AuxValue::Text(crate::REDIS_VERSION.as_bytes())),
        ("redis-bits", AuxValue::Int(64)),
        ("ctime", AuxValue::Int(now / 1000)),
        ("aof-base", AuxValue::Int(1)),
    ];
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
        let manifest = dir.join(format!("{filename}.manifest"));
        let files = match std::fs::read_to_string(&manifest) {
            Ok(text) => {
                let files = Files::parse(&text)?;
                load(node, &dir, &files, settings.aof.load_truncated)?;
                files
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let files = Files {
                    base: format!("{filename}.1.base.rdb"),
                    base_seq: 1,
                    incrs: vec![(format!("{filename}.1.incr.aof"), 1)],
                };
                let now = crate::clock::unix_ms();
                let base = {
                    let mut locks = node.keyspace().lock_all();
                    snapshot(node, &mut locks, now)
                };
                tracing::info!("Creating AOF base file {} on server start", files.base);
                write_durably(&dir.join(&files.base), &base).map_err(|e| e.to_string())?;
                tracing::info!(
                    "Creating AOF incr file {} on server start",
                    files.incrs[0].0
                );
                write_durably(&dir.join(&files.incrs[0].0), b"").map_err(|e| e.to_string())?;
                write_durably(&manifest, files.manifest().as_bytes()).map_err(|e| e.to_string())?;
                files
            }
            Err(e) => {
                return Err(format!(
                    "Can't read the AOF manifest {}: {e}",
                    manifest.display()
                ));
            }
        };
        let incr = files
            .incrs
            .last()
            .map(|(n, _)| n.clone())
            .ok_or("no incr file")?;
        let base_size = std::fs::metadata(dir.join(&files.base)).map_or(0, |m| m.len());
        let offset = node.replication().offset();
        let (tx, rx) = tokio::sync::watch::channel(offset);
        let appender = AofAppender::open(
            &dir.join(&incr),
            offset,
            policy(&settings.aof.fsync),
            Box::new(move |o| {
                let _ = tx.send(o);
            }),
        )
        .map_err(|e| format!("Can't open the append-only file {incr}: {e}"))?;
        let aof = Arc::new(Aof {
            dir,
            filename,
            appender,
            files: Mutex::new(files),
            durable: rx,
            rewriting: AtomicBool::new(false),
            rewrites: AtomicU64::new(0),
            last_rewrite_ok: AtomicBool::new(true),
            last_rewrite_secs: AtomicI64::new(-1),
            cut_offset: AtomicU64::new(offset),
            base_size: AtomicU64::new(base_size),
        });
        // Expired keys reach the file as DEL, in order, as they reach replicas.
        node.keyspace()
            .set_expiry_mode(tessera_keyspace::ExpiryMode::Journal);
        let sink: Arc<dyn ChangeSink> = aof.clone();
        node.replication().set_sink(Some(sink), |_| ());
        Ok(aof)
    }

    /// Puts everything appended so far on disk (before the process exits, as Redis
    /// fsyncs its AOF at shutdown).
    pub fn sync_all(&self) {
        if !self.appender.sync_all(std::time::Duration::from_secs(10)) {
            tracing::warn!("the append-only file could not be synced before exiting");
        }
    }

    /// Changes `appendfsync`.
    pub fn set_policy(&self, name: &str) {
        self.appender.set_policy(policy(name));
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

    /// Starts a rewrite off the serving threads; false if one is running already.
    pub fn rewrite_in_background(self: &Arc<Self>, node: &Arc<Node>) -> bool {
        if self.rewriting.swap(true, Ordering::AcqRel) {
            return false;
        }
        let (aof, node) = (self.clone(), node.clone());
        std::thread::spawn(move || {
            let started = std::time::Instant::now();
            let result = aof.rewrite(&node);
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
        let old = self.files.lock().clone();
        let next_incr = old.incrs.last().map_or(1, |(_, s)| s + 1);
        let next = Files {
            base: format!("{}.{}.base.rdb", self.filename, old.base_seq + 1),
            base_seq: old.base_seq + 1,
            incrs: vec![(format!("{}.{next_incr}.incr.aof", self.filename), next_incr)],
        };
        let now = crate::clock::unix_ms();
        // Every slot locked: no change lands between the snapshot and the cut.
        let (base, rotated) = {
            let mut locks = node.keyspace().lock_all();
            let rotated = node.replication().at_cut(|offset| {
                self.cut_offset.store(offset, Ordering::Relaxed);
                self.appender.rotate(self.dir.join(&next.incrs[0].0))
            });
            (snapshot(node, &mut locks, now), rotated)
        };
        write_durably(&self.dir.join(&next.base), &base).map_err(|e| e.to_string())?;
        self.base_size.store(base.len() as u64, Ordering::Relaxed);
        // The new incr file must exist before the manifest names it.
        while !rotated.load(Ordering::Acquire) {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let manifest = self.dir.join(format!("{}.manifest", self.filename));
        write_durably(&manifest, next.manifest().as_bytes()).map_err(|e| e.to_string())?;
        *self.files.lock() = next;
        for name in std::iter::once(&old.base).chain(old.incrs.iter().map(|(n, _)| n)) {
            let _ = std::fs::remove_file(self.dir.join(name));
        }
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
            let manifest = dir.join(format!("{filename}.manifest"));
            let old = std::fs::read_to_string(&manifest)
                .ok()
                .and_then(|t| Files::parse(&t).ok());
            let seq = old.as_ref().map_or(1, |f| f.base_seq + 1);
            let files = Files {
                base: format!("{filename}.{seq}.base.rdb"),
                base_seq: seq,
                incrs: Vec::new(),
            };
            let base = {
                let mut locks = node.keyspace().lock_all();
                snapshot(&node, &mut locks, crate::clock::unix_ms())
            };
            write_durably(&dir.join(&files.base), &base).map_err(|e| e.to_string())?;
            write_durably(&manifest, files.manifest().as_bytes()).map_err(|e| e.to_string())?;
            for old in old.iter() {
                let names = std::iter::once(&old.base).chain(old.incrs.iter().map(|(n, _)| n));
                for name in names {
                    let _ = std::fs::remove_file(dir.join(name));
                }
            }
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

/// Loads the base file and every incremental file the manifest names.
fn load(node: &Arc<Node>, dir: &Path, files: &Files, truncated_ok: bool) -> Result<(), String> {
    let started = std::time::Instant::now();
    let settings = node.config().settings();
    let base = dir.join(&files.base);
    let bytes = std::fs::read(&base)
        .map_err(|e| format!("Can't open the append-only file {}: {e}", files.base))?;
    if bytes.starts_with(b"REDIS") {
        let now = crate::clock::unix_ms();
        tessera_persistence::dump::load(&base, node.keyspace(), now, settings.read_limits())
            .map_err(|e| {
                format!(
                    "Bad file format reading the append only file {}: {e}",
                    files.base
                )
            })?;
    } else {
        apply_commands(node, &base, &bytes, false)?;
    }
    let last = files.incrs.len().saturating_sub(1);
    for (i, (name, _)) in files.incrs.iter().enumerate() {
        let path = dir.join(name);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && i == last => Vec::new(),
            Err(e) => return Err(format!("Can't open the append-only file {name}: {e}")),
        };
        // Only the last file can have a torn tail: the crash happened while it grew.
        apply_commands(node, &path, &bytes, truncated_ok && i == last)?;
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
    let name = path.display();
    let mut applier = crate::replication::Applier::internal(node);
    let mut decoder = RequestDecoder::new();
    let limits = Limits {
        max_bulk_len: usize::MAX,
        authenticated: true,
    };
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'#' {
            // An annotation (#TS:...): skipped, as Redis does.
            match bytes[at..].iter().position(|&b| b == b'\n') {
                Some(end) => {
                    at += end + 1;
                    continue;
                }
                None => break,
            }
        }
        match decoder.decode(&bytes[at..], limits) {
            Ok(Decoded::Request(used)) => {
                let args = decoder.args(&bytes[at..at + used]);
                if !args.is_empty() {
                    applier.apply(args);
                }
                at += used;
            }
            Ok(Decoded::Incomplete(_)) => break,
            Err(e) => {
                return Err(format!(
                    "Bad file format reading the append only file {name}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest> ({e} at byte {at})"
                ));
            }
        }
    }
    if at < bytes.len() {
        if !truncated_ok {
            return Err(format!(
                "Unexpected end of file reading the append only file {name}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server."
            ));
        }
        tracing::warn!("!!! Warning: short read while loading the AOF file {name}!!!");
        tracing::warn!("AOF {name} loaded anyway because aof-load-truncated is enabled");
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| e.to_string())?;
        file.set_len(at as u64).map_err(|e| e.to_string())?;
        file.sync_all().map_err(|e| e.to_string())?;
    }
    Ok(())
}
