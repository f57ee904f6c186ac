//! Manual failover (CLUSTER FAILOVER): the replica asks its master to stop taking
//! writes, waits until it has processed everything the master wrote before pausing,
//! and only then runs an election that the masters grant even though its master is
//! alive. Redis's mf_* state, on both sides.

/// A manual failover is abandoned after this long (ms).
pub const TIMEOUT: u64 = 5000;
/// The master pauses writes for this many timeouts.
pub const PAUSE_MULT: u64 = 2;

/// One node's manual failover state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualFailover<Id> {
    /// When it is abandoned (ms); 0 when none is in progress.
    pub end: u64,
    /// Replica side: the election may start.
    pub can_start: bool,
    /// Replica side: the master's offset once it paused writes.
    pub master_offset: Option<u64>,
    /// Master side: the replica that asked.
    pub replica: Option<Id>,
}

impl<Id> Default for ManualFailover<Id> {
    fn default() -> Self {
        ManualFailover {
            end: 0,
            can_start: false,
            master_offset: None,
            replica: None,
        }
    }
}

impl<Id: PartialEq> ManualFailover<Id> {
    /// True while one is in progress.
    pub fn active(&self) -> bool {
        self.end != 0
    }

    /// Replica side: CLUSTER FAILOVER [FORCE]. FORCE needs no agreement on the offset.
    pub fn start_as_replica(&mut self, now: u64, force: bool) {
        *self = ManualFailover {
            end: now + TIMEOUT,
            can_start: force,
            master_offset: None,
            replica: None,
        };
    }

    /// Master side: a replica sent MFSTART. Returns until when writes are paused.
    pub fn start_as_master(&mut self, now: u64, replica: Id) -> u64 {
        *self = ManualFailover {
            end: now + TIMEOUT,
            can_start: false,
            master_offset: None,
            replica: Some(replica),
        };
        now + TIMEOUT * PAUSE_MULT
    }

    /// Replica side: a message from our master with the PAUSED flag carried its
    /// offset. Redis keeps the first; this keeps the latest, because a multi-threaded
    /// master may finish a write or two that began before the pause, and its offset
    /// settles a moment later.
    pub fn master_paused_at(&mut self, offset: u64) {
        if self.active() {
            self.master_offset = Some(offset);
        }
    }

    /// Replica side: once this replica processed everything the paused master wrote,
    /// the election may start. True when that just happened.
    pub fn check_offset(&mut self, my_offset: u64) -> bool {
        if !self.active() || self.can_start {
            return false;
        }
        if self.master_offset.is_some_and(|m| my_offset >= m) {
            self.can_start = true;
            return true;
        }
        false
    }

    /// True when it ran out of time (then reset it).
    pub fn timed_out(&self, now: u64) -> bool {
        self.active() && now > self.end
    }

    /// Ends it.
    pub fn reset(&mut self) {
        *self = ManualFailover::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replica_waits_for_the_paused_offset() {
        let mut mf: ManualFailover<u8> = ManualFailover::default();
        mf.start_as_replica(1000, false);
        assert!(!mf.check_offset(50), "no offset from the master yet");
        mf.master_paused_at(60);
        mf.master_paused_at(70);
        assert_eq!(
            mf.master_offset,
            Some(70),
            "the latest paused offset counts"
        );
        assert!(!mf.check_offset(60));
        assert!(mf.check_offset(70));
        assert!(!mf.check_offset(70), "reported once");
        assert!(!mf.timed_out(6000) && mf.timed_out(6001));
        let mut forced: ManualFailover<u8> = ManualFailover::default();
        forced.start_as_replica(0, true);
        assert!(forced.can_start);
    }

    #[test]
    fn master_pauses_for_twice_the_timeout() {
        let mut mf = ManualFailover::default();
        assert_eq!(mf.start_as_master(1000, 7u8), 11_000);
        assert_eq!(mf.replica, Some(7));
        mf.reset();
        assert!(!mf.active());
    }
}
