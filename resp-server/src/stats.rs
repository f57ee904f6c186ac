//! Server-wide counters for INFO.
//!
//! Per-connection counters live in each client's record, written only by its own task,
//! and are summed when INFO asks; they fold into [`Totals`] when the client leaves. So
//! the command path never writes a cache line shared between threads.

use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of traffic and work.
#[derive(Debug, Default)]
pub struct Counters {
    /// Commands executed.
    pub commands: AtomicU64,
    /// Bytes read from clients.
    pub net_input: AtomicU64,
    /// Bytes written to clients.
    pub net_output: AtomicU64,
    /// Error replies sent.
    pub error_replies: AtomicU64,
    /// Write commands executed (what `save` points count).
    pub writes: AtomicU64,
}

impl Counters {
    /// Adds to every counter (relaxed: they are statistics).
    pub fn add(&self, t: Totals) {
        self.commands.fetch_add(t.commands, Ordering::Relaxed);
        self.net_input.fetch_add(t.net_input, Ordering::Relaxed);
        self.net_output.fetch_add(t.net_output, Ordering::Relaxed);
        self.error_replies
            .fetch_add(t.error_replies, Ordering::Relaxed);
        self.writes.fetch_add(t.writes, Ordering::Relaxed);
    }

    /// A plain copy.
    pub fn snapshot(&self) -> Totals {
        Totals {
            commands: self.commands.load(Ordering::Relaxed),
            net_input: self.net_input.load(Ordering::Relaxed),
            net_output: self.net_output.load(Ordering::Relaxed),
            error_replies: self.error_replies.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
        }
    }

    /// Zeroes every counter.
    pub fn reset(&self) {
        self.commands.store(0, Ordering::Relaxed);
        self.net_input.store(0, Ordering::Relaxed);
        self.net_output.store(0, Ordering::Relaxed);
        self.error_replies.store(0, Ordering::Relaxed);
    }
}

/// A copy of [`Counters`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    /// Commands executed.
    pub commands: u64,
    /// Bytes read.
    pub net_input: u64,
    /// Bytes written.
    pub net_output: u64,
    /// Error replies.
    pub error_replies: u64,
    /// Write commands.
    pub writes: u64,
}

impl std::ops::AddAssign for Totals {
    fn add_assign(&mut self, o: Totals) {
        self.commands += o.commands;
        self.net_input += o.net_input;
        self.net_output += o.net_output;
        self.error_replies += o.error_replies;
        self.writes += o.writes;
    }
}

/// Samples of a counter over time, for INFO's instantaneous_* rates (Redis keeps 16
/// samples taken every 100 ms).
#[derive(Debug, Default)]
struct RateSampler {
    samples: VecDeque<f64>,
    last: Option<(u64, u64)>,
}

impl RateSampler {
    const SAMPLES: usize = 16;

    fn sample(&mut self, value: u64, now_ms: u64) {
        if let Some((v, t)) = self.last
            && now_ms > t
        {
            let rate = value.saturating_sub(v) as f64 * 1000.0 / (now_ms - t) as f64;
            if self.samples.len() == Self::SAMPLES {
                self.samples.pop_front();
            }
            self.samples.push_back(rate);
        }
        self.last = Some((value, now_ms));
    }

    fn mean(&self) -> f64 {
        if self.samples.is_empty() {
            0.0
        } else {
            self.samples.iter().sum::<f64>() / self.samples.len() as f64
        }
    }
}

/// Server-wide statistics.
#[derive(Debug, Default)]
pub struct Stats {
    /// Traffic of clients that have disconnected.
    pub departed: Counters,
    /// Connections accepted.
    pub connections_received: AtomicU64,
    /// Connections refused (maxclients).
    pub rejected_connections: AtomicU64,
    /// Failed authentication attempts.
    pub auth_failures: crate::auth::AuthFailures,
    /// Connections closed by maxmemory-clients.
    pub evicted_clients: AtomicU64,
    rates: Mutex<[RateSampler; 3]>,
}

/// Instantaneous rates.
#[derive(Debug, Default, Clone, Copy)]
pub struct Rates {
    /// Commands per second.
    pub ops_per_sec: f64,
    /// Input KB per second.
    pub input_kbps: f64,
    /// Output KB per second.
    pub output_kbps: f64,
}

impl Stats {
    /// Records a sample of the totals (called every 100 ms by the cron).
    pub fn sample(&self, totals: Totals, now_ms: u64) {
        let mut r = self.rates.lock();
        r[0].sample(totals.commands, now_ms);
        r[1].sample(totals.net_input, now_ms);
        r[2].sample(totals.net_output, now_ms);
    }

    /// The current rates.
    pub fn rates(&self) -> Rates {
        let r = self.rates.lock();
        Rates {
            ops_per_sec: r[0].mean(),
            input_kbps: r[1].mean() / 1024.0,
            output_kbps: r[2].mean() / 1024.0,
        }
    }

    /// CONFIG RESETSTAT.
    pub fn reset(&self) {
        self.departed.reset();
        self.connections_received.store(0, Ordering::Relaxed);
        self.rejected_connections.store(0, Ordering::Relaxed);
        self.auth_failures.reset();
    }
}
