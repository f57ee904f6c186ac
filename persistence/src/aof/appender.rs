//! Writes the node's change stream to the append-only file and makes it durable as
//! `appendfsync` says.
//!
//! Callers append under the change stream's lock, so the file holds changes in stream
//! order; a single writer thread does the I/O, so no serving thread ever waits on the
//! disk unless it asked to. Under `always` every batch the thread takes is written and
//! fsynced before the stream offset it reaches is published as durable: replies wait
//! for that offset, and one fsync serves every connection thread that wrote in the
//! meantime (group commit). Under `everysec` the thread writes at once and fsyncs at
//! most once a second; under `no` it only writes.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// `appendfsync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// fsync before any reply that depends on the write leaves.
    Always,
    /// fsync once a second, off the serving threads.
    EverySec,
    /// Leave flushing to the operating system.
    No,
}

impl FsyncPolicy {
    fn code(self) -> u8 {
        match self {
            FsyncPolicy::Always => 0,
            FsyncPolicy::EverySec => 1,
            FsyncPolicy::No => 2,
        }
    }

    fn of(code: u8) -> FsyncPolicy {
        match code {
            0 => FsyncPolicy::Always,
            1 => FsyncPolicy::EverySec,
            _ => FsyncPolicy::No,
        }
    }
}

/// Told the stream offset up to which the file is durable, after each advance.
pub type DurableHook = Box<dyn Fn(u64) + Send + Sync>;

/// What waits for the writer thread, in order.
enum Item {
    /// Stream bytes ending at stream offset `.1`.
    Bytes(Vec<u8>, u64),
    /// From here on, write to this file (a rewrite started a new incremental file).
    Rotate(PathBuf, Arc<AtomicBool>),
    /// fsync now, whatever the policy, then raise the flag.
    Sync(Arc<AtomicBool>),
}

#[derive(Default)]
struct Queue {
    items: VecDeque<Item>,
    stop: bool,
    /// The writer sleeps until woken: an append must wake it. While it is busy, or
    /// naps between batches under load, appends only queue (no futex call each).
    parked: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    policy: AtomicU8,
    /// Stream offset written to the file (not necessarily on disk).
    written: AtomicU64,
    /// Stream offset replies may count as durable (on disk, or held: see `held`).
    synced: AtomicU64,
    /// Stream offset an fsync really put on disk (WAITAOF counts only this).
    fsynced: AtomicU64,
    /// Stream bytes appended and not yet written.
    pending: AtomicU64,
    /// The last write or fsync failed (Redis's aof_last_write_status).
    failed: AtomicBool,
    /// no-appendfsync-on-rewrite while a rewrite runs: written counts as durable.
    held: AtomicBool,
    fsyncs: AtomicU64,
    on_durable: DurableHook,
}

/// The append-only file's writer.
pub struct AofAppender {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

fn lock(m: &Mutex<Queue>) -> MutexGuard<'_, Queue> {
    // A panic elsewhere while holding this lock leaves a queue that is still whole.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn open(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

impl AofAppender {
    /// Appends to `path` (created if missing) from stream offset `offset` on.
    pub fn open(
        path: &Path,
        offset: u64,
        policy: FsyncPolicy,
        on_durable: DurableHook,
    ) -> std::io::Result<AofAppender> {
        let file = open(path)?;
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            policy: AtomicU8::new(policy.code()),
            written: AtomicU64::new(offset),
            synced: AtomicU64::new(offset),
            fsynced: AtomicU64::new(offset),
            pending: AtomicU64::new(0),
            failed: AtomicBool::new(false),
            held: AtomicBool::new(false),
            fsyncs: AtomicU64::new(0),
            on_durable,
        });
        let thread = std::thread::Builder::new()
            .name("aof-writer".into())
            .spawn({
                let shared = shared.clone();
                move || write_loop(&shared, file)
            })?;
        Ok(AofAppender {
            shared,
            thread: Some(thread),
        })
    }

    /// Queues stream bytes that end at stream offset `end`. Call under the stream's
    /// lock, so the file keeps stream order.
    pub fn append(&self, bytes: &[u8], end: u64) {
        let mut q = lock(&self.shared.queue);
        self.shared
            .pending
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        let wake = q.parked;
        match q.items.back_mut() {
            Some(Item::Bytes(buf, at)) => {
                buf.extend_from_slice(bytes);
                *at = end;
            }
            _ => q.items.push_back(Item::Bytes(bytes.to_vec(), end)),
        }
        drop(q);
        if wake {
            self.shared.wake.notify_one();
        }
    }

    /// Switches to `path` after what was appended so far; call under the stream's lock
    /// to cut the stream exactly. The returned flag turns true once the previous file
    /// is on disk and `path` is open.
    pub fn rotate(&self, path: PathBuf) -> Arc<AtomicBool> {
        let done = Arc::new(AtomicBool::new(false));
        lock(&self.shared.queue)
            .items
            .push_back(Item::Rotate(path, done.clone()));
        self.shared.wake.notify_one();
        done
    }

    /// Writes and fsyncs everything appended so far, whatever the policy (before the
    /// process exits); false if that took longer than `timeout`.
    pub fn sync_all(&self, timeout: Duration) -> bool {
        let done = Arc::new(AtomicBool::new(false));
        lock(&self.shared.queue)
            .items
            .push_back(Item::Sync(done.clone()));
        self.shared.wake.notify_one();
        let deadline = Instant::now() + timeout;
        while !done.load(Ordering::Acquire) {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    }

    /// Holds fsyncs back (`no-appendfsync-on-rewrite yes` while a rewrite runs): what
    /// is written counts as durable without one, Redis's trade of safety for latency.
    /// Releasing wakes the thread, which fsyncs what is pending as the policy says.
    pub fn hold_fsync(&self, held: bool) {
        self.shared.held.store(held, Ordering::Release);
        self.shared.wake.notify_one();
    }

    /// Changes `appendfsync`.
    pub fn set_policy(&self, policy: FsyncPolicy) {
        self.shared.policy.store(policy.code(), Ordering::Release);
        self.shared.wake.notify_one();
    }

    /// The policy in force.
    pub fn policy(&self) -> FsyncPolicy {
        FsyncPolicy::of(self.shared.policy.load(Ordering::Acquire))
    }

    /// The stream offset replies may count as durable: on disk, or written while
    /// `no-appendfsync-on-rewrite` holds fsyncs back.
    pub fn synced(&self) -> u64 {
        self.shared.synced.load(Ordering::Acquire)
    }

    /// The stream offset an fsync really put on disk.
    pub fn fsynced(&self) -> u64 {
        self.shared.fsynced.load(Ordering::Acquire)
    }

    /// The stream offset written to the file.
    pub fn written(&self) -> u64 {
        self.shared.written.load(Ordering::Acquire)
    }

    /// Bytes appended and not yet written (INFO's aof_buffer_length).
    pub fn pending(&self) -> u64 {
        self.shared.pending.load(Ordering::Relaxed)
    }

    /// True while the last write or fsync failed.
    pub fn failed(&self) -> bool {
        self.shared.failed.load(Ordering::Acquire)
    }

    /// fsyncs done so far.
    pub fn fsyncs(&self) -> u64 {
        self.shared.fsyncs.load(Ordering::Relaxed)
    }

    /// Writes and fsyncs everything appended, then stops the writer thread.
    pub fn close(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        lock(&self.shared.queue).stop = true;
        self.shared.wake.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for AofAppender {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The writer thread: takes what is queued, writes it, fsyncs as the policy says.
fn write_loop(shared: &Shared, mut file: File) {
    let mut last_fsync = Instant::now();
    let mut dirty = false;
    // The last batch had changes: more are likely, so nap instead of parking.
    let mut busy = false;
    loop {
        let (items, stop) = {
            let mut q = lock(&shared.queue);
            while q.items.is_empty() && !q.stop {
                let policy = FsyncPolicy::of(shared.policy.load(Ordering::Acquire));
                let fsync_due = (dirty && policy == FsyncPolicy::EverySec)
                    .then(|| Duration::from_secs(1).saturating_sub(last_fsync.elapsed()));
                if fsync_due.is_some_and(|d| d.is_zero()) {
                    break;
                }
                let timed = |q, d| {
                    shared
                        .wake
                        .wait_timeout(q, d)
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .0
                };
                if busy && policy != FsyncPolicy::Always {
                    // Under load, a millisecond's changes go out in one write (Redis
                    // writes once per event-loop turn); `always` cannot wait that long.
                    busy = false;
                    let nap = fsync_due.map_or(Duration::from_millis(1), |d| {
                        d.min(Duration::from_millis(1))
                    });
                    q = timed(q, nap);
                    continue;
                }
                q.parked = true;
                q = match fsync_due {
                    Some(due) => timed(q, due),
                    None => shared
                        .wake
                        .wait(q)
                        .unwrap_or_else(std::sync::PoisonError::into_inner),
                };
                q.parked = false;
            }
            busy = !q.items.is_empty();
            (std::mem::take(&mut q.items), q.stop)
        };
        let policy = FsyncPolicy::of(shared.policy.load(Ordering::Acquire));
        for item in items {
            match item {
                Item::Bytes(bytes, end) => {
                    let ok = write_all(&mut file, &bytes, shared);
                    shared
                        .pending
                        .fetch_sub(bytes.len() as u64, Ordering::Relaxed);
                    if ok {
                        shared.written.store(end, Ordering::Release);
                        dirty = true;
                    }
                }
                Item::Rotate(path, done) => {
                    fsync(&file, shared, &mut dirty, &mut last_fsync, true);
                    match open(&path) {
                        Ok(next) => file = next,
                        Err(e) => {
                            tracing::warn!(file = %path.display(), error = %e, "Can't open the append-only file");
                            shared.failed.store(true, Ordering::Release);
                        }
                    }
                    done.store(true, Ordering::Release);
                }
                Item::Sync(done) => {
                    fsync(&file, shared, &mut dirty, &mut last_fsync, true);
                    done.store(true, Ordering::Release);
                }
            }
        }
        let due = match policy {
            FsyncPolicy::Always => true,
            FsyncPolicy::EverySec => last_fsync.elapsed() >= Duration::from_secs(1),
            FsyncPolicy::No => false,
        };
        if dirty && (due || stop) {
            fsync(&file, shared, &mut dirty, &mut last_fsync, stop);
        }
        if stop {
            return;
        }
    }
}

fn write_all(file: &mut File, bytes: &[u8], shared: &Shared) -> bool {
    match file.write_all(bytes) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "Error writing to the AOF file");
            shared.failed.store(true, Ordering::Release);
            if FsyncPolicy::of(shared.policy.load(Ordering::Acquire)) == FsyncPolicy::Always {
                // Replies already promised durability for what came before; what cannot be
                // written cannot be acknowledged, and Redis exits here too.
                tracing::error!(
                    "Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting..."
                );
                std::process::exit(1);
            }
            false
        }
    }
}

/// fsyncs what was written; `force` ignores a hold (a file being left, a sync asked
/// for before exit).
fn fsync(file: &File, shared: &Shared, dirty: &mut bool, last: &mut Instant, force: bool) {
    let target = shared.written.load(Ordering::Acquire);
    if shared.held.load(Ordering::Acquire) && !force {
        // Still dirty: the first fsync after the hold puts it on disk.
        shared.synced.store(target, Ordering::Release);
        (shared.on_durable)(target);
        *last = Instant::now();
        return;
    }
    match file.sync_data() {
        Ok(()) => {
            shared.fsynced.store(target, Ordering::Release);
            shared.synced.store(target, Ordering::Release);
            shared.fsyncs.fetch_add(1, Ordering::Relaxed);
            shared.failed.store(false, Ordering::Release);
            *dirty = false;
            (shared.on_durable)(target);
        }
        Err(e) => {
            tracing::warn!(error = %e, "fsync of the AOF file failed");
            shared.failed.store(true, Ordering::Release);
        }
    }
    *last = Instant::now();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait(cond: impl Fn() -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if cond() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        false
    }

    #[test]
    fn always_publishes_each_offset_after_its_fsync() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("a.incr.aof");
        let seen = Arc::new(AtomicU64::new(0));
        let hook = {
            let seen = seen.clone();
            Box::new(move |o| seen.store(o, Ordering::Release))
        };
        let aof = AofAppender::open(&path, 100, FsyncPolicy::Always, hook).expect("open");
        aof.append(b"abc", 103);
        aof.append(b"de", 105);
        assert!(wait(|| aof.synced() == 105));
        assert_eq!(seen.load(Ordering::Acquire), 105);
        assert_eq!(std::fs::read(&path).expect("read"), b"abcde");
    }

    #[test]
    fn rotation_cuts_the_stream_between_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (a, b) = (dir.path().join("1.incr"), dir.path().join("2.incr"));
        let aof = AofAppender::open(&a, 0, FsyncPolicy::EverySec, Box::new(|_| {})).expect("open");
        aof.append(b"one", 3);
        let done = aof.rotate(b.clone());
        aof.append(b"two", 6);
        aof.close();
        assert!(done.load(Ordering::Acquire));
        assert_eq!(std::fs::read(&a).expect("read"), b"one");
        assert_eq!(std::fs::read(&b).expect("read"), b"two");
    }

    #[test]
    fn a_hold_counts_written_as_durable_without_a_fsync() {
        let dir = tempfile::tempdir().expect("temp dir");
        let aof = AofAppender::open(
            &dir.path().join("a"),
            0,
            FsyncPolicy::Always,
            Box::new(|_| {}),
        )
        .expect("open");
        aof.hold_fsync(true);
        aof.append(b"x", 1);
        assert!(wait(|| aof.synced() == 1));
        assert_eq!(aof.fsyncs(), 0, "held");
        assert_eq!(aof.fsynced(), 0, "nothing is really on disk yet");
        aof.hold_fsync(false);
        aof.append(b"y", 2);
        assert!(wait(|| aof.fsyncs() > 0));
        assert!(wait(|| aof.fsynced() == 2));
    }

    #[test]
    fn everysec_writes_at_once_and_syncs_within_a_second() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("a");
        let aof =
            AofAppender::open(&path, 0, FsyncPolicy::EverySec, Box::new(|_| {})).expect("open");
        aof.append(b"x", 1);
        assert!(wait(|| aof.written() == 1));
        assert!(wait(|| aof.synced() == 1));
    }
}
