//! maxmemory: keeping the node under its memory limit, as Redis 7.0's evict.c does.
//!
//! Before each command, while used memory is over `maxmemory`, keys are evicted per
//! `maxmemory-policy` until the node is back under the limit (Redis's
//! performEvictions); if nothing may be evicted, commands that may add memory are
//! refused with Redis's OOM error (`crate::refusals`). Evicted keys reach replicas as
//! DEL, spoil WATCHes and are counted in INFO's `evicted_keys`. A replica leaves
//! eviction to its master (`replica-ignore-maxmemory yes`).
//!
//! Used memory is the allocator's figure that INFO's `used_memory` shows. Reading it
//! (advancing jemalloc's statistics epoch merges every arena's counters) costs far more
//! than a command, so the command path reads a cached estimate instead; see
//! [`Eviction::used`] for how stale it may be.

use parking_lot::Mutex;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tessera_keyspace::evict::{Candidates, Pick, random_pick, sample};

use crate::config::{EvictionPolicy, MemorySettings};
use crate::node::Node;

/// Redis's OOM reply for a command that may add memory while the node is over
/// `maxmemory` and cannot evict.
pub const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// Commands that may add memory between two reads of the allocator's figure: the
/// estimate grows by their argument bytes in between, and is replaced by the real
/// figure after this many (or at the cron's next 100 ms tick, whichever is first).
const WRITES_PER_PROBE: u64 = 64;

/// How old the allocator's figure may be when it confirms a refusal.
const CONFIRM_INTERVAL: Duration = Duration::from_millis(1);

/// Size of the candidate pool of the TTL, LRU and LFU policies, Redis's EVPOOL_SIZE.
const POOL_SIZE: usize = 16;

/// How one eviction pass ended (Redis's EVICT_OK, EVICT_RUNNING, EVICT_FAIL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Under the limit, or eviction does not apply here (no limit, a replica that
    /// ignores it, a load in progress).
    Ok,
    /// Still over the limit when the pass ran out of time; the background eviction
    /// goes on, and commands are not refused meanwhile.
    Running,
    /// Over the limit with nothing that may be evicted: commands that may add memory
    /// are refused.
    Fail,
}

/// What one pass needs besides the node: kept between passes, as Redis keeps its
/// eviction pool and its database cursor in statics.
#[derive(Default)]
struct Cursor {
    /// The best candidates so far of the sampling policies, best first.
    pool: Vec<Pick>,
    /// The policy that ranked the pool: a change of policy starts a new one.
    pool_policy: Option<EvictionPolicy>,
    /// The database the random policies try next.
    next_db: usize,
    /// Since when the node has been over the limit without getting back under it
    /// (INFO's current_eviction_exceeded_time).
    over_since: Option<Instant>,
}

/// The node's memory limit: the used-memory estimate, the eviction passes and their
/// counters.
pub struct Eviction {
    /// Estimated used memory, in bytes: the allocator's figure at the last probe, plus
    /// the argument bytes of the commands since, less what evictions freed since.
    used: AtomicU64,
    /// Commands that may add memory since the last probe.
    writes: AtomicU64,
    /// When the allocator was last read, in microseconds since `created`.
    probed_at: AtomicU64,
    /// The origin of `probed_at`.
    created: Instant,
    /// Keys evicted (INFO's evicted_keys).
    evicted: AtomicU64,
    /// Microseconds spent over the limit in periods that ended (INFO's
    /// total_eviction_exceeded_time, less the current period; counted finer than
    /// shown, so many short periods add up).
    over_us: AtomicU64,
    /// Mirrors `Cursor::over_since.is_some()`, so the fast path knows a period must
    /// be closed without taking the lock.
    over: AtomicBool,
    /// Set when a pass stopped at its time limit still over the limit, or when
    /// `maxmemory` changed: the background thread runs passes until it clears.
    pending: Arc<AtomicBool>,
    /// One pass at a time: two threads over the limit at once would each free the
    /// whole excess.
    cursor: Mutex<Cursor>,
}

impl Default for Eviction {
    fn default() -> Self {
        Eviction {
            used: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            probed_at: AtomicU64::new(0),
            created: Instant::now(),
            evicted: AtomicU64::new(0),
            over_us: AtomicU64::new(0),
            over: AtomicBool::new(false),
            pending: Arc::new(AtomicBool::new(true)),
            cursor: Mutex::new(Cursor::default()),
        }
    }
}

/// Redis's evictionTimeLimitUs: how long one pass may evict before leaving the rest
/// to the background, from `maxmemory-eviction-tenacity` (0..100): linear up to 500 µs
/// at 10, then 15% more per step, no limit at 100.
pub fn time_limit(tenacity: u32) -> Option<Duration> {
    match tenacity {
        0..=10 => Some(Duration::from_micros(50 * u64::from(tenacity))),
        11..=99 => Some(Duration::from_micros(
            (500.0 * 1.15f64.powi(tenacity as i32 - 10)) as u64,
        )),
        _ => None,
    }
}

impl Eviction {
    /// Used memory as the command path sees it. It lags the allocator by at most what
    /// [`WRITES_PER_PROBE`] commands allocated beyond their argument bytes (entry,
    /// table and allocator overheads: a few hundred bytes each for small values), or
    /// by what else was allocated (client buffers, the replication backlog) within the
    /// cron's 100 ms; eviction subtracts its own estimate of what it freed until the
    /// next probe corrects it.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// Reads the allocator's figure now and makes it the estimate.
    pub fn refresh(&self, node: &Node) -> u64 {
        let used = node.used_memory();
        self.used.store(used, Ordering::Relaxed);
        self.writes.store(0, Ordering::Relaxed);
        self.probed_at.store(self.micros(), Ordering::Relaxed);
        used
    }

    fn micros(&self) -> u64 {
        self.created.elapsed().as_micros() as u64
    }

    /// Keys evicted since the start (or CONFIG RESETSTAT).
    pub fn evicted_keys(&self) -> u64 {
        self.evicted.load(Ordering::Relaxed)
    }

    /// CONFIG RESETSTAT.
    pub fn reset_stats(&self) {
        self.evicted.store(0, Ordering::Relaxed);
        self.over_us.store(0, Ordering::Relaxed);
        let mut cursor = self.cursor.lock();
        if cursor.over_since.is_some() {
            cursor.over_since = Some(Instant::now());
        }
    }

    /// INFO's `(total_eviction_exceeded_time, current_eviction_exceeded_time)`, in
    /// milliseconds: the time spent over the limit in all, and in the period under
    /// way (Redis's stat_total_eviction_exceeded_time and its current timer).
    pub fn exceeded_ms(&self) -> (u64, u64) {
        let current = self
            .cursor
            .lock()
            .over_since
            .map_or(0, |since| since.elapsed().as_micros() as u64);
        let total = self.over_us.load(Ordering::Relaxed) + current;
        (total / 1000, current / 1000)
    }

    /// The flag the configuration sets when `maxmemory` changes, so the background
    /// thread brings the node under a lowered limit without waiting for a command.
    pub fn pending_flag(&self) -> Arc<AtomicBool> {
        self.pending.clone()
    }

    /// True when the background thread should run a pass.
    pub fn pending(&self) -> bool {
        self.pending.load(Ordering::Relaxed)
    }

    /// Counts a command that may add memory, about to run with `bytes` of arguments.
    pub fn note_write(&self, node: &Node, bytes: usize) {
        self.used.fetch_add(bytes as u64, Ordering::Relaxed);
        if self.writes.fetch_add(1, Ordering::Relaxed) + 1 >= WRITES_PER_PROBE {
            self.refresh(node);
        }
    }

    /// Redis's performEvictions: if the node is over `maxmemory`, evicts per policy
    /// until it is under, or the pass's time runs out, or nothing is left to evict.
    pub fn perform(&self, node: &Node, memory: &MemorySettings) -> Outcome {
        let max = memory.maxmemory;
        if !may_evict(node, memory) {
            // Checked first: a replica runs this before every command, and a store
            // would bounce the flag's cache line between its threads.
            if self.pending() {
                self.pending.store(false, Ordering::Relaxed);
            }
            // As Redis's fake EVICT_OK: eviction is skipped, not done, so a period
            // over the limit is not closed here.
            return Outcome::Ok;
        }
        let under = max == 0 || self.used() <= max;
        if under && !self.pending() && !self.over.load(Ordering::Relaxed) {
            return Outcome::Ok;
        }
        let mut cursor = self.cursor.lock();
        let outcome = if max == 0 {
            self.pending.store(false, Ordering::Relaxed);
            Outcome::Ok
        } else {
            self.pass(node, memory, &mut cursor)
        };
        // Redis's update_metrics: a period over the limit starts when a pass cannot
        // finish and ends with the first pass that finds the node under it.
        match (outcome, cursor.over_since) {
            (Outcome::Ok, Some(since)) => {
                let us = since.elapsed().as_micros() as u64;
                self.over_us.fetch_add(us, Ordering::Relaxed);
                cursor.over_since = None;
                self.over.store(false, Ordering::Relaxed);
            }
            (Outcome::Running | Outcome::Fail, None) => {
                cursor.over_since = Some(Instant::now());
                self.over.store(true, Ordering::Relaxed);
            }
            _ => {}
        }
        outcome
    }

    /// One pass of [`Eviction::perform`], holding the cursor.
    fn pass(&self, node: &Node, memory: &MemorySettings, cursor: &mut Cursor) -> Outcome {
        let max = memory.maxmemory;
        // Another thread may have freed memory while this one waited for the lock;
        // a pass after a change of `maxmemory` starts from the real figure.
        let mut used = self.used();
        if self.pending.swap(false, Ordering::Relaxed) {
            used = self.refresh(node);
        }
        if used <= max {
            return Outcome::Ok;
        }
        if memory.policy == EvictionPolicy::NoEviction {
            return self.confirm(node, max);
        }
        let to_free = used - max;
        let limit = time_limit(memory.tenacity);
        let started = Instant::now();
        let mut freed = 0u64;
        let mut keys = 0u64;
        while freed < to_free {
            let Some(pick) = cursor.pick(node, memory) else {
                self.forget(freed);
                return self.confirm(node, max);
            };
            let Some(bytes) = evict(node, &pick, memory.samples) else {
                continue; // Gone since it was sampled: a ghost, as Redis calls it.
            };
            freed += bytes as u64;
            keys += 1;
            self.evicted.fetch_add(1, Ordering::Relaxed);
            if keys % 16 == 0 && limit.is_some_and(|l| started.elapsed() > l) {
                self.forget(freed);
                self.pending.store(true, Ordering::Relaxed);
                return Outcome::Running;
            }
        }
        self.forget(freed);
        Outcome::Ok
    }

    /// Takes what evictions freed off the estimate.
    fn forget(&self, freed: u64) {
        let _ = self
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
                Some(u.saturating_sub(freed))
            });
    }

    /// The verdict when nothing may be evicted: the estimate only errs high between
    /// probes (it counts arguments, not what deletions freed), so a refusal is
    /// confirmed with the allocator's figure first, unless that was read less than
    /// [`CONFIRM_INTERVAL`] ago. Without that bound a node at its limit would read the
    /// allocator before every command (GET throughput fell to a fifth); with it, a
    /// write may be refused for up to that long after a deletion made room.
    fn confirm(&self, node: &Node, max: u64) -> Outcome {
        let fresh = self
            .micros()
            .saturating_sub(self.probed_at.load(Ordering::Relaxed))
            < CONFIRM_INTERVAL.as_micros() as u64;
        let used = if fresh {
            self.used()
        } else {
            self.refresh(node)
        };
        if used <= max {
            Outcome::Ok
        } else {
            Outcome::Fail
        }
    }
}

/// Redis's isSafeToPerformEvictions: not while a full sync loads, and not on a replica
/// that leaves eviction to its master (its master's DELs keep it a copy).
fn may_evict(node: &Node, memory: &MemorySettings) -> bool {
    if node.loading().is_active() {
        return false;
    }
    !(memory.replica_ignore_maxmemory && node.replication().is_replica())
}

impl Cursor {
    /// The next key to evict, or `None` when no database holds a candidate.
    fn pick(&mut self, node: &Node, memory: &MemorySettings) -> Option<Pick> {
        let mut random = || rand::random::<u64>();
        let keyspace = node.keyspace();
        match memory.policy {
            EvictionPolicy::NoEviction => None,
            EvictionPolicy::AllKeysRandom | EvictionPolicy::VolatileRandom => {
                let which = if memory.policy == EvictionPolicy::AllKeysRandom {
                    Candidates::AllKeys
                } else {
                    Candidates::Volatile
                };
                // One key from each database in turn, as Redis's next_db does, so no
                // database is drained before the others.
                let count = keyspace.database_count();
                let dbs: Vec<_> = keyspace.existing().collect();
                for _ in 0..count {
                    self.next_db = (self.next_db + 1) % count;
                    let Some((_, db)) = dbs.iter().find(|(i, _)| *i == self.next_db) else {
                        continue;
                    };
                    if let Some(pick) = random_pick(db, which, &mut random) {
                        return Some(pick);
                    }
                }
                None
            }
            policy => {
                // Sample every database, so the choice is not local to one (Redis's
                // evictionPoolPopulate), and keep the best candidates seen so far.
                if self.pool_policy != Some(policy) {
                    self.pool.clear();
                    self.pool_policy = Some(policy);
                }
                let which = match policy {
                    EvictionPolicy::AllKeysLru | EvictionPolicy::AllKeysLfu => Candidates::AllKeys,
                    _ => Candidates::Volatile,
                };
                let mut sampled = 0;
                for (_, db) in keyspace.existing() {
                    for pick in sample(db, which, memory.samples, &mut random) {
                        sampled += 1;
                        self.offer(pick, policy);
                    }
                }
                if sampled == 0 {
                    self.pool.clear();
                    return None;
                }
                (!self.pool.is_empty()).then(|| self.pool.remove(0))
            }
        }
    }

    /// Adds a sampled key to the pool if it is among the [`POOL_SIZE`] best
    /// candidates seen, once.
    fn offer(&mut self, pick: Pick, policy: EvictionPolicy) {
        let rank = score(&pick, policy);
        if self
            .pool
            .iter()
            .any(|p| p.db == pick.db && p.key == pick.key)
        {
            return;
        }
        let at = self.pool.partition_point(|p| score(p, policy) >= rank);
        if at >= POOL_SIZE {
            return;
        }
        self.pool.insert(at, pick);
        self.pool.truncate(POOL_SIZE);
    }
}

/// How good a candidate `pick` is under `policy`, higher first: the nearest deadline
/// for volatile-ttl, else the rank its access clock gave it.
fn score(pick: &Pick, policy: EvictionPolicy) -> u64 {
    match policy {
        EvictionPolicy::VolatileTtl => {
            u64::MAX - pick.deadline.map_or(u64::MAX, |d| d.max(0) as u64)
        }
        _ => pick.rank,
    }
}

/// Deletes `pick` if it is still there (and, for a volatile pick, still has a
/// deadline), as Redis's eviction deletes: replicas get a DEL, WATCHes are spoiled,
/// subscribers get an `evicted` event (class e).
/// Returns the bytes it is estimated to have freed.
fn evict(node: &Node, pick: &Pick, samples: usize) -> Option<usize> {
    let key = pick.key.as_bytes();
    let db = node.keyspace().db(pick.db);
    let mut table = db.lock(pick.slot);
    let has_deadline = table.deadline(key).is_some();
    if pick.deadline.is_some() && !has_deadline {
        return None;
    }
    // Keys this slot reclaimed earlier reach replicas before this DEL.
    table.flush_expired();
    let value = table.remove(key)?;
    let bytes = tessera_keyspace::generic::entry_cost(key, &value, has_deadline, samples);
    if !node.replication().is_replica() {
        node.replication().feed(pick.db, &[b"DEL", key]);
    }
    node.key_changed(pick.db, key);
    node.notify(pick.db, crate::notify::EVICTED, "evicted", key);
    drop(table);
    // Freed after the slot's lock is released, so a big value does not hold it.
    drop(value);
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenacity_maps_to_redis_time_limits() {
        assert_eq!(time_limit(0), Some(Duration::ZERO));
        assert_eq!(time_limit(10), Some(Duration::from_micros(500)));
        assert_eq!(time_limit(11), Some(Duration::from_micros(575)));
        let at_99 = time_limit(99).expect("limited").as_secs();
        assert!((100..=130).contains(&at_99), "{at_99}");
        assert_eq!(time_limit(100), None);
    }

    fn pick(key: &str, deadline: i64) -> Pick {
        Pick {
            db: 0,
            slot: 0,
            key: tessera_keyspace::CompactBytes::new(key.as_bytes()),
            deadline: Some(deadline),
            rank: 0,
        }
    }

    #[test]
    fn the_pool_keeps_the_nearest_deadlines_once() {
        let mut cursor = Cursor::default();
        for i in (0..40).rev() {
            cursor.offer(pick(&format!("k{i}"), 1000 + i), TTL);
        }
        cursor.offer(pick("k3", 1003), TTL);
        assert_eq!(cursor.pool.len(), POOL_SIZE);
        let deadlines: Vec<i64> = cursor.pool.iter().filter_map(|p| p.deadline).collect();
        assert_eq!(
            deadlines,
            (1000..1000 + POOL_SIZE as i64).collect::<Vec<_>>()
        );
        cursor.offer(pick("late", 5000), TTL);
        assert!(cursor.pool.iter().all(|p| p.key.as_bytes() != b"late"));
    }

    const TTL: EvictionPolicy = EvictionPolicy::VolatileTtl;

    #[test]
    fn the_clock_policies_pool_the_highest_ranks() {
        let mut cursor = Cursor::default();
        for rank in [5, 90, 20, 70] {
            let mut p = pick(&format!("r{rank}"), 0);
            p.rank = rank;
            cursor.offer(p, EvictionPolicy::AllKeysLru);
        }
        let ranks: Vec<u64> = cursor.pool.iter().map(|p| p.rank).collect();
        assert_eq!(ranks, [90, 70, 20, 5]);
    }
}
