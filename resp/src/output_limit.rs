//! client-output-buffer-limit: when a client's unsent output gets it closed.
//!
//! Redis gives each class of client (normal, replica, pubsub) a hard limit, past which
//! the client is closed at once, and a soft limit that closes it only once its output
//! has stayed over it for longer than a number of seconds. The rule is pure: callers
//! pass the bytes still queued and the time.

use std::sync::atomic::{AtomicI64, Ordering};

/// One class's limits, as `client-output-buffer-limit <class> <hard> <soft> <secs>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutputLimit {
    /// Bytes at which the client is closed at once (0: no hard limit).
    pub hard: usize,
    /// Bytes that, held for longer than `soft_secs`, close the client (0: no soft limit).
    pub soft: usize,
    /// How long the output may stay at or over the soft limit.
    pub soft_secs: u64,
}

impl OutputLimit {
    /// Whether `queued` bytes break the hard limit.
    pub fn hard_exceeded(&self, queued: usize) -> bool {
        self.hard > 0 && queued >= self.hard
    }

    /// Whether `queued` bytes are at or over the soft limit (so a deadline runs).
    pub fn over_soft(&self, queued: usize) -> bool {
        self.soft > 0 && queued >= self.soft
    }
}

/// The limits of every class, from the directive's canonical value
/// (`normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimits {
    /// Ordinary clients.
    pub normal: OutputLimit,
    /// Replicas (and the master's view of them).
    pub replica: OutputLimit,
    /// Clients subscribed to any channel.
    pub pubsub: OutputLimit,
}

impl Default for OutputLimits {
    /// Redis 7.0's defaults.
    fn default() -> OutputLimits {
        OutputLimits {
            normal: OutputLimit::default(),
            replica: OutputLimit {
                hard: 256 << 20,
                soft: 64 << 20,
                soft_secs: 60,
            },
            pubsub: OutputLimit {
                hard: 32 << 20,
                soft: 8 << 20,
                soft_secs: 60,
            },
        }
    }
}

impl OutputLimits {
    /// Reads groups of `class hard soft secs` (sizes in bytes, as the canonical value
    /// has them); classes not named keep their defaults. `None` for anything else.
    pub fn parse(value: &str) -> Option<OutputLimits> {
        let words: Vec<&str> = value.split_whitespace().collect();
        if words.len() % 4 != 0 {
            return None;
        }
        let mut limits = OutputLimits::default();
        for group in words.chunks_exact(4) {
            let limit = OutputLimit {
                hard: group[1].parse().ok()?,
                soft: group[2].parse().ok()?,
                soft_secs: group[3].parse().ok()?,
            };
            match group[0].to_ascii_lowercase().as_str() {
                "normal" => limits.normal = limit,
                "slave" | "replica" => limits.replica = limit,
                "pubsub" => limits.pubsub = limit,
                _ => return None,
            }
        }
        Some(limits)
    }
}

/// Since when a client's output has been at or over its soft limit. Shared between
/// threads where the output is queued by others (a subscriber's publishers).
#[derive(Debug, Default)]
pub struct SoftLimitClock {
    /// Unix ms when the output first reached the soft limit; 0 while under it.
    since_ms: AtomicI64,
}

impl SoftLimitClock {
    /// Whether a client with `queued` bytes unsent at `now_ms` must be closed: it broke
    /// the hard limit, or has stayed over the soft limit for longer than allowed (the
    /// first time it is seen over, its clock starts; going under resets it).
    pub fn must_close(&self, limit: OutputLimit, queued: usize, now_ms: i64) -> bool {
        if limit.hard_exceeded(queued) {
            return true;
        }
        if !limit.over_soft(queued) {
            self.since_ms.store(0, Ordering::Relaxed);
            return false;
        }
        let since = self.since_ms.load(Ordering::Relaxed);
        if since == 0 {
            self.since_ms.store(now_ms.max(1), Ordering::Relaxed);
            return false;
        }
        now_ms.saturating_sub(since) > (limit.soft_secs as i64).saturating_mul(1000)
    }

    /// When (Unix ms) the soft limit closes the client if its output stays over it;
    /// `None` while it is under.
    pub fn deadline(&self, limit: OutputLimit) -> Option<i64> {
        let since = self.since_ms.load(Ordering::Relaxed);
        (since != 0 && limit.soft > 0)
            .then(|| since.saturating_add((limit.soft_secs as i64).saturating_mul(1000)) + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: OutputLimit = OutputLimit {
        hard: 1000,
        soft: 100,
        soft_secs: 2,
    };

    #[test]
    fn the_hard_limit_closes_at_once() {
        let clock = SoftLimitClock::default();
        assert!(!clock.must_close(LIMIT, 999, 0));
        assert!(clock.must_close(LIMIT, 1000, 0));
        let unlimited = OutputLimit::default();
        assert!(!clock.must_close(unlimited, usize::MAX, 0));
    }

    #[test]
    fn the_soft_limit_closes_only_once_held_past_its_seconds() {
        let clock = SoftLimitClock::default();
        assert!(!clock.must_close(LIMIT, 100, 10_000));
        assert_eq!(clock.deadline(LIMIT), Some(12_001));
        assert!(!clock.must_close(LIMIT, 500, 12_000));
        assert!(clock.must_close(LIMIT, 500, 12_001));
        // Going under resets the clock.
        assert!(!clock.must_close(LIMIT, 99, 12_002));
        assert_eq!(clock.deadline(LIMIT), None);
        assert!(!clock.must_close(LIMIT, 500, 20_000));
        assert!(!clock.must_close(LIMIT, 500, 22_000));
    }

    #[test]
    fn classes_parse_from_the_canonical_value() {
        let limits = OutputLimits::parse("normal 10 5 1 slave 0 0 0 pubsub 3 2 1").expect("valid");
        assert_eq!(
            limits.normal,
            OutputLimit {
                hard: 10,
                soft: 5,
                soft_secs: 1
            }
        );
        assert_eq!(limits.replica, OutputLimit::default());
        assert_eq!(limits.pubsub.hard, 3);
        assert_eq!(OutputLimits::parse("pubsub 1 2"), None);
        assert_eq!(OutputLimits::parse("bogus 1 2 3"), None);
        assert_eq!(OutputLimits::parse(""), Some(OutputLimits::default()));
    }
}
