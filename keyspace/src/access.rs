//! Each key's access clock: the figure the LRU and LFU eviction policies rank keys by,
//! and what OBJECT IDLETIME and OBJECT FREQ report.
//!
//! Redis keeps it in the 24 bits of an object's `lru` field, read one of two ways by the
//! policy in force: the last access time, or an LFU counter with the minute it was last
//! decremented. Tessera keeps the same 24 bits per key (`crate::entry_key`), read the
//! same two ways, so switching policies at runtime reinterprets the old figures as
//! Redis's does (its documentation warns the data takes a while to adjust). The LRU
//! clock counts seconds modulo 2^24 and so wraps every 194 days, as Redis's: a key idle
//! longer looks younger than it is. The rules are pure: time and randomness are passed
//! in.

/// The largest stamp: 24 bits.
const STAMP_MASK: u32 = (1 << crate::entry_key::CLOCK_BITS) - 1;

/// The counter a key starts with under an LFU policy (Redis's LFU_INIT_VAL), so a new
/// key is not evicted before it had a chance to be used.
pub const LFU_INIT_VAL: u8 = 5;

/// How the access clock is read and advanced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccessPolicy {
    /// The clock holds the last access time, in seconds (any non-LFU policy).
    #[default]
    Lru,
    /// The clock holds a logarithmic access counter and the minute it was last
    /// decremented (the *-lfu policies).
    Lfu {
        /// lfu-log-factor: how many accesses it takes to raise the counter.
        log_factor: u32,
        /// lfu-decay-time: minutes per decrement of an unused key's counter (0: never).
        decay_minutes: u32,
    },
}

/// A policy and the node's clock: everything a table needs to stamp an access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AccessClock {
    /// How stamps are read.
    pub policy: AccessPolicy,
    /// Unix time in seconds, advanced by the server's cron (Redis's cached
    /// `lruclock`, also one-second resolution).
    pub now_s: u32,
}

impl AccessClock {
    /// The minutes part of an LFU stamp: 16 bits, wrapping about every 45 days.
    fn minutes(&self) -> u32 {
        (self.now_s / 60) & 0xFFFF
    }

    /// The LRU clock: seconds, modulo 2^24.
    fn lru_now(&self) -> u32 {
        self.now_s & STAMP_MASK
    }

    /// The stamp of a key created now.
    pub fn fresh(&self) -> u32 {
        match self.policy {
            AccessPolicy::Lru => self.lru_now(),
            AccessPolicy::Lfu { .. } => self.lfu_stamp(LFU_INIT_VAL),
        }
    }

    /// The stamp after an access to a key stamped `old`; `random` is uniform in
    /// `0..=u32::MAX` (the LFU counter grows with probability, Redis's LFULogIncr).
    pub fn touched(&self, old: u32, random: u32) -> u32 {
        match self.policy {
            AccessPolicy::Lru => self.lru_now(),
            AccessPolicy::Lfu { log_factor, .. } => {
                let counter = self.frequency(old);
                if counter == u8::MAX {
                    return self.lfu_stamp(counter);
                }
                let base = f64::from(counter.saturating_sub(LFU_INIT_VAL));
                let p = 1.0 / (base * f64::from(log_factor) + 1.0);
                let r = f64::from(random) / f64::from(u32::MAX);
                self.lfu_stamp(if r < p { counter + 1 } else { counter })
            }
        }
    }

    fn lfu_stamp(&self, counter: u8) -> u32 {
        (self.minutes() << 8) | u32::from(counter)
    }

    /// Seconds since the access recorded in an LRU stamp.
    pub fn idle_seconds(&self, stamp: u32) -> u64 {
        u64::from(self.lru_now().wrapping_sub(stamp) & STAMP_MASK)
    }

    /// The LFU counter of `stamp` after the decay owed since it was last decremented
    /// (Redis's LFUDecrAndReturn).
    pub fn frequency(&self, stamp: u32) -> u8 {
        let AccessPolicy::Lfu { decay_minutes, .. } = self.policy else {
            return (stamp & 0xFF) as u8;
        };
        let counter = (stamp & 0xFF) as u8;
        let then = stamp >> 8 & 0xFFFF;
        let now = self.minutes();
        let elapsed = if now >= then {
            now - then
        } else {
            0xFFFF - then + now
        };
        let periods = elapsed.checked_div(decay_minutes).unwrap_or(0);
        counter.saturating_sub(u8::try_from(periods).unwrap_or(u8::MAX))
    }

    /// How good an eviction candidate a key stamped `stamp` is: higher first (Redis's
    /// `idle` in evictionPoolPopulate: idle time for LRU, 255 less the counter for LFU).
    pub fn eviction_rank(&self, stamp: u32) -> u64 {
        match self.policy {
            AccessPolicy::Lru => self.idle_seconds(stamp),
            AccessPolicy::Lfu { .. } => u64::from(u8::MAX - self.frequency(stamp)),
        }
    }

    /// The stamp RESTORE's IDLETIME or an RDB's idle time gives, if the policy reads
    /// idle times (Redis's objectSetLRUOrLFU).
    pub fn with_idle(&self, idle_seconds: u64) -> Option<u32> {
        match self.policy {
            AccessPolicy::Lru => {
                let idle = u32::try_from(idle_seconds.min(u64::from(STAMP_MASK)))
                    .expect("masked to 24 bits");
                Some(self.lru_now().wrapping_sub(idle) & STAMP_MASK)
            }
            AccessPolicy::Lfu { .. } => None,
        }
    }

    /// The stamp RESTORE's FREQ or an RDB's frequency gives, if the policy reads
    /// counters.
    pub fn with_frequency(&self, frequency: u8) -> Option<u32> {
        match self.policy {
            AccessPolicy::Lfu { .. } => Some(self.lfu_stamp(frequency)),
            AccessPolicy::Lru => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lfu(now_s: u32, log_factor: u32, decay_minutes: u32) -> AccessClock {
        AccessClock {
            policy: AccessPolicy::Lfu {
                log_factor,
                decay_minutes,
            },
            now_s,
        }
    }

    #[test]
    fn lru_idle_time_counts_seconds_since_the_last_touch() {
        let mut clock = AccessClock {
            policy: AccessPolicy::Lru,
            now_s: 1_000,
        };
        let stamp = clock.fresh();
        clock.now_s += 42;
        assert_eq!(clock.idle_seconds(stamp), 42);
        assert_eq!(clock.idle_seconds(clock.touched(stamp, 0)), 0);
        assert_eq!(clock.idle_seconds(clock.with_idle(7).expect("lru")), 7);
        assert_eq!(clock.with_frequency(3), None);
    }

    #[test]
    fn the_lru_clock_wraps_at_24_bits() {
        let mut clock = AccessClock {
            policy: AccessPolicy::Lru,
            now_s: STAMP_MASK - 1,
        };
        let stamp = clock.fresh();
        clock.now_s += 5;
        assert!(clock.fresh() < stamp);
        assert_eq!(clock.idle_seconds(stamp), 5);
        let old = clock.with_idle(10).expect("lru");
        assert!(old <= STAMP_MASK);
        assert_eq!(clock.idle_seconds(old), 10);
    }

    #[test]
    fn lfu_counter_starts_at_five_and_grows_ever_slower() {
        let clock = lfu(600, 10, 1);
        let mut stamp = clock.fresh();
        assert_eq!(clock.frequency(stamp), LFU_INIT_VAL);
        // At the initial value the probability is one: every access counts.
        stamp = clock.touched(stamp, u32::MAX - 1);
        assert_eq!(clock.frequency(stamp), 6);
        // Above it, an access counts with probability 1 / (base * factor + 1).
        assert_eq!(clock.frequency(clock.touched(stamp, u32::MAX / 2)), 6);
        assert_eq!(clock.frequency(clock.touched(stamp, u32::MAX / 20)), 7);
        let full = clock.with_frequency(255).expect("lfu");
        assert_eq!(clock.frequency(clock.touched(full, 0)), 255);
    }

    #[test]
    fn lfu_counter_decays_one_per_period_and_survives_the_minute_wrap() {
        let clock = lfu(60 * 10, 10, 2);
        let stamp = clock.with_frequency(20).expect("lfu");
        let later = lfu(60 * 17, 10, 2);
        assert_eq!(later.frequency(stamp), 17);
        assert_eq!(lfu(60 * 17, 10, 0).frequency(stamp), 20);
        let before_wrap = lfu(60 * 0xFFFE, 10, 1);
        let stamp = before_wrap.with_frequency(10).expect("lfu");
        let after_wrap = lfu(60 * (0x10000 + 2), 10, 1);
        assert_eq!(after_wrap.frequency(stamp), 7);
        assert_eq!(lfu(60 * 50_000, 10, 1).frequency(stamp), 0);
    }

    #[test]
    fn eviction_rank_puts_idle_and_rare_keys_first() {
        let clock = AccessClock {
            policy: AccessPolicy::Lru,
            now_s: 500,
        };
        assert!(clock.eviction_rank(100) > clock.eviction_rank(400));
        let clock = lfu(600, 10, 1);
        let rare = clock.with_frequency(1).expect("lfu");
        let hot = clock.with_frequency(200).expect("lfu");
        assert!(clock.eviction_rank(rare) > clock.eviction_rank(hot));
    }
}
