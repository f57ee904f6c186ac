//! Password checks and failed authentication: every failure (AUTH, HELLO AUTH, a wrong
//! admin-plane password) is counted for INFO's `acl_access_denied_auth`, and logged
//! at most once per [`LOG_INTERVAL`] as a summary, so a client guessing passwords
//! cannot flood the log (one line per failure once wrote 158 KB in 50 ms).

use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The shortest time between two log lines about failed authentication.
pub const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Compares a secret in a time that depends only on the lengths, so response times
/// do not reveal how much of a guess was right.
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Failed authentication attempts: a counter, and the log's pace.
#[derive(Debug, Default)]
pub struct AuthFailures {
    total: AtomicU64,
    log: Mutex<LogPace>,
}

#[derive(Debug, Default)]
struct LogPace {
    /// Failures not logged yet.
    pending: u64,
    /// The client of the latest of them.
    last_client: String,
    /// When the last line was written.
    last_report: Option<Instant>,
}

/// One summary line: failures since the previous line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// How many.
    pub failures: u64,
    /// Who tried last.
    pub last_client: String,
}

impl AuthFailures {
    /// Counts a failure by `client` at `now`; returns a report when a line is due (the
    /// first failure after a quiet interval is logged at once).
    pub fn record(&self, client: &str, now: Instant) -> Option<Report> {
        self.total.fetch_add(1, Ordering::Relaxed);
        let mut pace = self.log.lock();
        pace.pending += 1;
        client.clone_into(&mut pace.last_client);
        pace.due(now)
    }

    /// The report of failures not logged yet, once the interval since the last line
    /// has passed: what the cron writes when the failures have stopped.
    pub fn due(&self, now: Instant) -> Option<Report> {
        let mut pace = self.log.lock();
        if pace.pending == 0 {
            return None;
        }
        pace.due(now)
    }

    /// Failures since start or the last CONFIG RESETSTAT.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// CONFIG RESETSTAT: the counter restarts; the log keeps its pace.
    pub fn reset(&self) {
        self.total.store(0, Ordering::Relaxed);
    }

    /// Counts a failure now and logs the summary if one is due.
    pub fn note(&self, client: &str) {
        if let Some(report) = self.record(client, Instant::now()) {
            log(&report);
        }
    }

    /// Logs the summary of recent failures if one is due (called by the cron).
    pub fn flush(&self) {
        if let Some(report) = self.due(Instant::now()) {
            log(&report);
        }
    }
}

impl LogPace {
    fn due(&mut self, now: Instant) -> Option<Report> {
        if self
            .last_report
            .is_some_and(|at| now.duration_since(at) < LOG_INTERVAL)
        {
            return None;
        }
        self.last_report = Some(now);
        Some(Report {
            failures: std::mem::take(&mut self.pending),
            last_client: self.last_client.clone(),
        })
    }
}

fn log(report: &Report) {
    tracing::warn!(
        failures = report.failures,
        last_client = %report.last_client,
        interval_secs = LOG_INTERVAL.as_secs(),
        "failed authentication attempts since the last report (at most one report per interval)"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_counted_each_and_reported_once_per_interval() {
        let f = AuthFailures::default();
        let t0 = Instant::now();
        let report = |failures, client: &str| {
            Some(Report {
                failures,
                last_client: client.into(),
            })
        };
        assert_eq!(
            f.record("a:1", t0),
            report(1, "a:1"),
            "the first is logged at once"
        );
        for i in 0..1999 {
            assert_eq!(f.record("b:2", t0 + Duration::from_millis(i)), None);
        }
        assert_eq!(f.due(t0 + Duration::from_secs(5)), None);
        assert_eq!(f.due(t0 + LOG_INTERVAL), report(1999, "b:2"));
        assert_eq!(
            f.due(t0 + LOG_INTERVAL * 3),
            None,
            "nothing new, nothing to say"
        );
        assert_eq!(f.total(), 2000);
        // After a quiet interval, the next failure is logged at once again.
        assert_eq!(f.record("c:3", t0 + LOG_INTERVAL * 3), report(1, "c:3"));
        f.reset();
        assert_eq!(f.total(), 0);
    }

    #[test]
    fn secrets_compare_by_content() {
        assert!(same_secret(b"s3cret", b"s3cret"));
        assert!(!same_secret(b"s3cret", b"s3creT"));
        assert!(!same_secret(b"s3cret", b"s3cre"));
    }
}
