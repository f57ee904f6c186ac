//! Stopping command processing for a while (DEBUG SLEEP; later CLIENT PAUSE and the
//! write pause of a manual failover).
//!
//! Connections check the gate once per batch with a single atomic load, so an open gate
//! costs nothing measurable. A paused connection waits for the deadline, then goes on.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A gate that can be closed until a deadline.
#[derive(Debug)]
pub struct PauseGate {
    origin: Instant,
    /// Deadline in microseconds since `origin`; 0 when open.
    until_us: AtomicU64,
}

impl Default for PauseGate {
    fn default() -> Self {
        PauseGate::new()
    }
}

impl PauseGate {
    /// An open gate.
    pub fn new() -> PauseGate {
        PauseGate {
            origin: Instant::now(),
            until_us: AtomicU64::new(0),
        }
    }

    /// Closes the gate for `duration` from now (extending, never shortening, a pause).
    pub fn pause_for(&self, duration: Duration) {
        let until = (self.origin.elapsed() + duration).as_micros() as u64;
        self.until_us.fetch_max(until.max(1), Ordering::AcqRel);
    }

    /// How long the gate stays closed from now, if it is closed.
    pub fn remaining(&self) -> Option<Duration> {
        let until = self.until_us.load(Ordering::Acquire);
        if until == 0 {
            return None;
        }
        let now = self.origin.elapsed().as_micros() as u64;
        (now < until).then(|| Duration::from_micros(until - now))
    }

    /// Waits until the gate is open.
    pub async fn wait(&self) {
        while let Some(left) = self.remaining() {
            tokio::time::sleep(left).await;
        }
    }
}

/// Client writes held back until a deadline, or until resumed: a master's pause while
/// its replica takes over in a manual failover. Reads go on.
#[derive(Debug, Default)]
pub struct WritePause {
    /// Unix ms until which writes wait; 0 when none.
    until_ms: std::sync::atomic::AtomicI64,
}

impl WritePause {
    /// Holds writes until `unix_ms`.
    pub fn pause_until(&self, unix_ms: u64) {
        self.until_ms
            .store(unix_ms.min(i64::MAX as u64) as i64, Ordering::Release);
    }

    /// Lets writes go on.
    pub fn resume(&self) {
        self.until_ms.store(0, Ordering::Release);
    }

    /// True while writes must wait. One atomic load when no pause is set.
    #[inline]
    pub fn active(&self) -> bool {
        let until = self.until_ms.load(Ordering::Acquire);
        until != 0 && crate::clock::unix_ms() < until
    }

    /// Waits until writes may go on.
    pub async fn wait(&self) {
        while self.active() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}
