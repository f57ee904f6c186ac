//! A full sync being loaded, as clients see it.
//!
//! redis-server loads a replica's snapshot on its one thread: a small one simply makes
//! clients wait a few milliseconds, and only a long one answers LOADING (it serves
//! events every couple of megabytes). Tessera loads on another thread, so without
//! care every client would see LOADING at once, even for a snapshot that takes 5 ms:
//! `redis-cli --cluster del-node` right after a reshard emptied a master, or a cluster
//! creation script, failed that way. A command that would be refused therefore waits
//! up to [`Loading::SHORT`] for the load to end first.

use parking_lot::{Condvar, Mutex};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Whether a snapshot is being loaded, with a way to wait for the end.
#[derive(Default)]
pub struct Loading {
    active: AtomicBool,
    lock: Mutex<()>,
    done: Condvar,
}

impl Loading {
    /// How long a command waits for a load before it is answered LOADING.
    pub const SHORT: Duration = Duration::from_millis(500);

    /// A load starts.
    pub fn begin(&self) {
        self.active.store(true, Ordering::Release);
    }

    /// The load ended (finished or failed): waiting commands go on.
    pub fn end(&self) {
        let _guard = self.lock.lock();
        self.active.store(false, Ordering::Release);
        self.done.notify_all();
    }

    /// True while a load runs.
    #[inline]
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    /// Waits up to `limit` for a running load to end; true when none runs.
    pub fn wait_done(&self, limit: Duration) -> bool {
        if !self.is_active() {
            return true;
        }
        let mut guard = self.lock.lock();
        let deadline = std::time::Instant::now() + limit;
        while self.is_active() {
            if self.done.wait_until(&mut guard, deadline).timed_out() {
                return !self.is_active();
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_short_load_is_waited_for_and_a_long_one_is_not() {
        let loading = Arc::new(Loading::default());
        assert!(loading.wait_done(Duration::ZERO), "nothing loading");
        loading.begin();
        assert!(
            !loading.wait_done(Duration::from_millis(20)),
            "still loading"
        );
        let ender = loading.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            ender.end();
        });
        assert!(
            loading.wait_done(Duration::from_secs(10)),
            "ended while waiting"
        );
        t.join().expect("thread");
        assert!(!loading.is_active());
    }
}
