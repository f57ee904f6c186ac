//! Freeing big values off the serving threads, as Redis's lazyfree does.
//!
//! Dropping a collection of millions of elements takes as long as building it; done
//! under a slot lock on a connection thread it stalls every client of that thread.
//! Values worth it (more than [`LAZYFREE_THRESHOLD`] allocations to free, by Redis's
//! `lazyfreeGetFreeEffort` measure) go to one background thread through a channel;
//! small ones are cheaper to drop in place than to send. Which deletions are lazy
//! follows Redis's directives: UNLINK and FLUSH ASYNC always, DEL and FLUSH per
//! `lazyfree-lazy-user-del` / `lazyfree-lazy-user-flush` (the caller decides), expiry
//! and implicit deletes (overwrites) per the two switches here, which the server sets
//! from `lazyfree-lazy-expire` and `lazyfree-lazy-server-del`.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Sender, channel};

use crate::value::Value;

/// Redis's LAZYFREE_THRESHOLD: values costing more allocations than this are freed
/// in the background.
pub const LAZYFREE_THRESHOLD: usize = 64;

static LAZY_EXPIRE: AtomicBool = AtomicBool::new(false);
static LAZY_SERVER_DEL: AtomicBool = AtomicBool::new(false);
static PENDING: AtomicU64 = AtomicU64::new(0);
static FREED: AtomicU64 = AtomicU64::new(0);

/// Something to drop on the background thread.
type Garbage = Box<dyn Send>;

fn dropper() -> &'static Sender<Garbage> {
    static SENDER: OnceLock<Sender<Garbage>> = OnceLock::new();
    SENDER.get_or_init(|| {
        let (tx, rx) = channel::<Garbage>();
        std::thread::Builder::new()
            .name("lazyfree".into())
            .spawn(move || {
                for garbage in rx {
                    drop(garbage);
                    PENDING.fetch_sub(1, Ordering::Relaxed);
                    FREED.fetch_add(1, Ordering::Relaxed);
                }
            })
            .expect("the lazyfree thread starts");
        tx
    })
}

/// Sets how expired keys and implicitly deleted values are freed (the server calls
/// this when `lazyfree-lazy-expire` or `lazyfree-lazy-server-del` change).
pub fn set_policy(lazy_expire: bool, lazy_server_del: bool) {
    LAZY_EXPIRE.store(lazy_expire, Ordering::Relaxed);
    LAZY_SERVER_DEL.store(lazy_server_del, Ordering::Relaxed);
}

/// Objects sent to the background thread and not freed yet (INFO's
/// `lazyfree_pending_objects`).
pub fn pending() -> u64 {
    PENDING.load(Ordering::Relaxed)
}

/// Objects the background thread has freed since start (INFO's `lazyfreed_objects`).
pub fn freed() -> u64 {
    FREED.load(Ordering::Relaxed)
}

/// How many allocations freeing `value` costs, as Redis's `lazyfreeGetFreeEffort`
/// counts them: nodes of a quicklist, elements of hash tables and skiplists, 1 for
/// anything in one buffer.
pub fn free_effort(value: &Value) -> usize {
    match value {
        Value::Str(_) => 1,
        Value::List(l) => l.node_count(),
        Value::Hash(h) => h.free_effort(),
        Value::Set(s) => s.free_effort(),
        Value::ZSet(z) => z.free_effort(),
    }
}

/// Frees `value` in the background when it is worth it (UNLINK's rule).
pub fn free(value: Value) {
    if free_effort(&value) > LAZYFREE_THRESHOLD {
        send(Box::new(value));
    }
}

/// Frees `value` lazily when `lazy`, else here and now.
pub fn discard(value: Value, lazy: bool) {
    if lazy {
        free(value);
    }
}

/// Frees a value removed by expiry, per `lazyfree-lazy-expire`.
pub(crate) fn discard_expired(value: Value) {
    discard(value, LAZY_EXPIRE.load(Ordering::Relaxed));
}

/// Frees a value replaced or deleted implicitly, per `lazyfree-lazy-server-del`.
pub(crate) fn discard_overwritten(value: Value) {
    discard(value, LAZY_SERVER_DEL.load(Ordering::Relaxed));
}

/// Frees a whole flushed table in the background (FLUSHALL ASYNC).
pub(crate) fn free_anything(garbage: Garbage) {
    send(garbage);
}

fn send(garbage: Garbage) {
    PENDING.fetch_add(1, Ordering::Relaxed);
    if let Err(returned) = dropper().send(garbage) {
        // The thread is gone (only at exit): free it here.
        PENDING.fetch_sub(1, Ordering::Relaxed);
        drop(returned);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EncodingLimits;
    use crate::collections::SetValue;

    fn set_of(n: usize) -> Value {
        let limits = EncodingLimits::default();
        let mut s = SetValue::for_member(b"m");
        for i in 0..n {
            s.add(format!("m{i}").as_bytes(), &limits);
        }
        Value::Set(Box::new(s))
    }

    #[test]
    fn big_values_go_to_the_thread_small_ones_stay() {
        assert_eq!(free_effort(&set_of(10)), 10);
        assert_eq!(free_effort(&set_of(1000)), 1000);
        let before = freed();
        free(set_of(10));
        free(set_of(1000));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        // Other tests may free too: wait until ours is counted, never a fixed sleep.
        while freed() == before {
            assert!(std::time::Instant::now() < deadline, "never freed");
            std::thread::yield_now();
        }
    }
}
