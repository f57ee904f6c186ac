//! Client traffic that runs while slots move: a data set written up front, and a live
//! writer and reader on the redis crate's cluster client (which follows MOVED and ASK
//! and retries TRYAGAIN, as real applications do). What was acknowledged is recorded
//! so a test can check that every acknowledged write reads back with its last value.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use redis::cluster::{ClusterClientBuilder, ClusterConnection, cluster_pipe};

/// A cluster connection seeded with `ports`.
pub fn cluster_connection(ports: &[u16]) -> ClusterConnection {
    let urls: Vec<String> = ports
        .iter()
        .map(|p| format!("redis://127.0.0.1:{p}/"))
        .collect();
    // Bounded retries and replies: a request the cluster cannot place (a node removed
    // mid-load still named in a refreshed map) fails and is counted, never hangs.
    ClusterClientBuilder::new(urls)
        .retries(12)
        .max_retry_wait(500)
        .response_timeout(std::time::Duration::from_secs(5))
        .connection_timeout(std::time::Duration::from_secs(5))
        .build()
        .and_then(|c| c.get_connection())
        .expect("a cluster connection")
}

/// The value of data-set key `i`.
fn data_value(i: usize) -> String {
    format!("value-{i}-{}", "x".repeat(i % 40))
}

/// Writes keys `data:0` .. `data:n-1` with pipelines.
pub fn fill(ports: &[u16], n: usize) {
    let mut con = cluster_connection(ports);
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let mut pipe = cluster_pipe();
        for &i in chunk {
            pipe.cmd("SET")
                .arg(format!("data:{i}"))
                .arg(data_value(i))
                .ignore();
        }
        if let Err(e) = pipe.query::<()>(&mut con) {
            let text = e.to_string();
            panic!("filling the data set: {}", &text[..text.len().min(300)]);
        }
    }
}

/// What the writer knows about one key: its last acknowledged value, and a later
/// value whose write failed and so may or may not have landed.
#[derive(Debug, Clone, Default)]
pub struct KeyRecord {
    /// The last value a SET acknowledged.
    pub acked: Option<String>,
    /// A value written after it without an answer.
    pub uncertain: Option<String>,
}

impl KeyRecord {
    fn allows(&self, found: Option<&str>) -> bool {
        found == self.acked.as_deref() || (found.is_some() && found == self.uncertain.as_deref())
    }
}

/// Everything the live load did so far.
#[derive(Debug, Clone, Default)]
pub struct LoadState {
    /// Per key.
    pub keys: BTreeMap<String, KeyRecord>,
    /// Writes made.
    pub writes: u64,
    /// Reads made.
    pub reads: u64,
    /// Reads that returned neither the acknowledged nor a pending value.
    pub bad_reads: Vec<String>,
    /// Errors the client reported.
    pub errors: Vec<String>,
    counter: u64,
}

/// A writer and reader running in the background.
pub struct LiveLoad {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<LoadState>,
}

/// How many distinct keys the live load cycles through.
const LIVE_KEYS: u64 = 2000;

impl LiveLoad {
    /// Starts the load on the cluster at `ports`, continuing `state`.
    pub fn start(ports: &[u16], mut state: LoadState) -> LiveLoad {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let mut con = cluster_connection(ports);
        let handle = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                state.counter += 1;
                let n = state.counter;
                let key = format!("live:{}", n % LIVE_KEYS);
                let value = n.to_string();
                let result: redis::RedisResult<()> =
                    redis::cmd("SET").arg(&key).arg(&value).query(&mut con);
                state.writes += 1;
                let record = state.keys.entry(key).or_default();
                match result {
                    Ok(()) => {
                        record.acked = Some(value);
                        record.uncertain = None;
                    }
                    Err(e) => {
                        record.uncertain = Some(value);
                        state.errors.push(e.to_string());
                    }
                }
                if n % 3 == 0 {
                    let key = format!("live:{}", (n * 7919) % LIVE_KEYS.min(n));
                    let found: redis::RedisResult<Option<String>> =
                        redis::cmd("GET").arg(&key).query(&mut con);
                    state.reads += 1;
                    match found {
                        Ok(found) => {
                            let record = state.keys.get(&key).cloned().unwrap_or_default();
                            if !record.allows(found.as_deref()) {
                                state
                                    .bad_reads
                                    .push(format!("{key}: {found:?}, wrote {record:?}"));
                            }
                        }
                        Err(e) => state.errors.push(e.to_string()),
                    }
                }
            }
            state
        });
        LiveLoad { stop, handle }
    }

    /// Stops the load and returns what it did.
    pub fn stop(self) -> LoadState {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().expect("the load thread")
    }
}

/// Reads back the data set of `n` keys and every key of `state`; returns what differs.
pub fn verify(ports: &[u16], n: usize, state: &LoadState) -> Vec<String> {
    let mut con = cluster_connection(ports);
    let mut wrong = Vec::new();
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let mut pipe = cluster_pipe();
        for &i in chunk {
            pipe.cmd("GET").arg(format!("data:{i}"));
        }
        let values: Vec<Option<String>> = pipe.query(&mut con).expect("reading the data set");
        for (&i, v) in chunk.iter().zip(values) {
            if v.as_deref() != Some(data_value(i).as_str()) {
                wrong.push(format!("data:{i}: {v:?}"));
            }
        }
    }
    let live: Vec<(&String, &KeyRecord)> = state.keys.iter().collect();
    for chunk in live.chunks(1000) {
        let mut pipe = cluster_pipe();
        for (key, _) in chunk {
            pipe.cmd("GET").arg(*key);
        }
        let values: Vec<Option<String>> = pipe.query(&mut con).expect("reading the live keys");
        for ((key, record), v) in chunk.iter().zip(values) {
            if !record.allows(v.as_deref()) {
                wrong.push(format!("{key}: {v:?}, wrote {record:?}"));
            }
        }
    }
    wrong
}

/// Stops `load`, waits for the cluster at `ports` to be ok and `--cluster check` clean,
/// checks the `data_keys` data set and every acknowledged live write, then starts the
/// load again: the check after each step of a test that moves slots under traffic.
pub fn checkpoint(step: &str, ports: &[u16], data_keys: usize, load: LiveLoad) -> LiveLoad {
    let state = load.stop();
    assert!(
        crate::cluster::wait_ok(ports, std::time::Duration::from_secs(20)),
        "{step}: the cluster is ok"
    );
    crate::cluster::wait_clean(ports[0]);
    let wrong = verify(ports, data_keys, &state);
    assert!(
        wrong.is_empty(),
        "{step}: {} keys wrong: {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(10)]
    );
    assert!(
        state.bad_reads.is_empty(),
        "{step}: stale reads {:?}",
        state.bad_reads
    );
    assert!(
        state.errors.is_empty(),
        "{step}: client errors {:?}",
        state.errors
    );
    eprintln!(
        "{step}: ok after {} writes, {} reads",
        state.writes, state.reads
    );
    LiveLoad::start(ports, state)
}
