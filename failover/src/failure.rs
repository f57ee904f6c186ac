//! When a node counts as failing.
//!
//! A node that does not answer a ping within node_timeout is *possibly failing*
//! (PFAIL) for the node that pinged it. Masters gossip what they see; a node collects
//! those reports, each valid for 2 × node_timeout, and when a majority of the
//! slot-serving masters agree it marks the node FAIL and tells everyone.

/// Failure reports stay valid for this many node timeouts.
pub const REPORT_VALIDITY_MULT: u64 = 2;
/// A FAIL master that still serves slots is cleared after this many node timeouts.
pub const FAIL_UNDO_TIME_MULT: u64 = 2;

/// True when a pinged node has been silent longer than `node_timeout`: a ping is
/// pending (`ping_sent != 0`) and neither its answer nor any other data arrived since.
/// Any data counts as liveness, because the bus also carries heavy traffic (Pub/Sub)
/// that can delay a PONG.
pub fn looks_unreachable(ping_sent: u64, data_received: u64, now: u64, node_timeout: u64) -> bool {
    if ping_sent == 0 {
        return false;
    }
    let silence = now
        .saturating_sub(ping_sent)
        .min(now.saturating_sub(data_received));
    silence > node_timeout
}

/// Votes needed among `size` slot-serving masters: a strict majority.
pub fn quorum(size: usize) -> usize {
    size / 2 + 1
}

/// True when `reports` valid reports from masters (plus this node's own view when it
/// is a master) reach the quorum of `size` slot-serving masters.
pub fn fail_quorum_reached(reports: usize, i_am_master: bool, size: usize) -> bool {
    reports + usize::from(i_am_master) >= quorum(size)
}

/// Whether a node marked FAIL may be cleared now that it answers again. Replicas and
/// masters without slots are cleared at once; a master that still serves slots only
/// once 2 × node_timeout passed without anyone failing it over.
pub fn fail_can_be_cleared(
    serves_slots: bool,
    fail_time: u64,
    now: u64,
    node_timeout: u64,
) -> bool {
    !serves_slots || now.saturating_sub(fail_time) > node_timeout * FAIL_UNDO_TIME_MULT
}

/// The failure reports other masters made about one node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FailureReports<Id> {
    reports: Vec<(Id, u64)>,
}

impl<Id: PartialEq + Clone> FailureReports<Id> {
    /// No reports.
    pub fn new() -> Self {
        FailureReports {
            reports: Vec::new(),
        }
    }

    /// Records (or refreshes) a report from `reporter`; true if it is a new reporter.
    pub fn add(&mut self, reporter: Id, now: u64) -> bool {
        match self.reports.iter_mut().find(|(r, _)| *r == reporter) {
            Some((_, time)) => {
                *time = now;
                false
            }
            None => {
                self.reports.push((reporter, now));
                true
            }
        }
    }

    /// Drops reports older than their validity.
    pub fn expire(&mut self, now: u64, node_timeout: u64) {
        let validity = node_timeout * REPORT_VALIDITY_MULT;
        self.reports
            .retain(|(_, time)| now.saturating_sub(*time) <= validity);
    }

    /// Removes the report of `reporter` (it now sees the node healthy); true if there
    /// was one.
    pub fn remove(&mut self, reporter: &Id, now: u64, node_timeout: u64) -> bool {
        self.expire(now, node_timeout);
        let before = self.reports.len();
        self.reports.retain(|(r, _)| r != reporter);
        self.reports.len() != before
    }

    /// Number of valid reports.
    pub fn count(&mut self, now: u64, node_timeout: u64) -> usize {
        self.expire(now, node_timeout);
        self.reports.len()
    }

    /// Forgets everything `reporter` said (it left the cluster).
    pub fn forget(&mut self, reporter: &Id) {
        self.reports.retain(|(r, _)| r != reporter);
    }

    /// The reports held, as (reporter, when last heard), expired ones included.
    pub fn iter(&self) -> impl Iterator<Item = &(Id, u64)> {
        self.reports.iter()
    }

    /// Drops every report (the node is FAIL, or back).
    pub fn clear(&mut self) {
        self.reports.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreachable_needs_a_pending_ping_and_silence() {
        assert!(!looks_unreachable(0, 0, 100_000, 5000), "no ping pending");
        assert!(
            !looks_unreachable(1000, 1000, 6000, 5000),
            "exactly node_timeout"
        );
        assert!(looks_unreachable(1000, 1000, 6001, 5000));
        assert!(
            !looks_unreachable(1000, 5000, 7000, 5000),
            "recent data counts"
        );
    }

    #[test]
    fn quorum_of_masters() {
        assert_eq!(quorum(1), 1);
        assert_eq!(quorum(3), 2);
        assert_eq!(quorum(6), 4);
        assert!(fail_quorum_reached(1, true, 3));
        assert!(!fail_quorum_reached(1, false, 3));
        assert!(
            fail_quorum_reached(0, true, 1),
            "a lone master decides alone"
        );
    }

    #[test]
    fn reports_expire_after_twice_the_timeout() {
        let mut r = FailureReports::new();
        assert!(r.add("a", 0));
        assert!(!r.add("a", 1000), "refresh, not new");
        assert!(r.add("b", 5000));
        assert_eq!(r.count(10_000, 5000), 2);
        assert_eq!(r.count(11_001, 5000), 1, "a's report from t=1000 expired");
        assert!(r.remove(&"b", 11_001, 5000));
        assert_eq!(r.count(11_001, 5000), 0);
    }

    #[test]
    fn fail_clearing() {
        assert!(fail_can_be_cleared(false, 0, 1, 5000), "no slots: at once");
        assert!(!fail_can_be_cleared(true, 0, 10_000, 5000));
        assert!(fail_can_be_cleared(true, 0, 10_001, 5000));
    }
}
