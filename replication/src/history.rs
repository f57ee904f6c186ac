//! Which stream a node's data belongs to: the replication ids, and the rule that
//! decides whether a replica can continue (partial resync) or must start over.
//!
//! A stream is named by a random 40-character replid. When a replica is promoted it
//! starts a new stream, but remembers the old name as replid2 together with the offset
//! where the old stream ended, so the old master's other replicas, which followed the
//! same stream up to that point, can continue from the new master without a full sync.

use crate::backlog::Backlog;

/// The replid a node has before it ever had a second one.
pub const NO_REPLID: &str = "0000000000000000000000000000000000000000";

/// A node's replication ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicationIds {
    /// The stream this node's data follows now.
    pub replid: String,
    /// The stream it followed before its last promotion.
    pub replid2: String,
    /// First offset not shared with the replid2 stream (`-1`: no replid2).
    pub second_offset: i64,
}

impl ReplicationIds {
    /// Fresh ids: a new stream, no history.
    pub fn new(replid: String) -> ReplicationIds {
        ReplicationIds {
            replid,
            replid2: NO_REPLID.to_string(),
            second_offset: -1,
        }
    }

    /// Starts a new stream at `offset` (a promotion), keeping the old one as replid2
    /// so that replicas of the same old master can continue.
    pub fn promote(&mut self, new_replid: String, offset: u64) {
        self.replid2 = std::mem::replace(&mut self.replid, new_replid);
        self.second_offset = offset as i64 + 1;
    }

    /// A replica learnt from `+CONTINUE <replid>` that its master's stream has a new
    /// name: the data so far is shared, so the old name becomes replid2.
    pub fn follow_renamed(&mut self, new_replid: String, offset: u64) {
        if new_replid != self.replid {
            self.promote(new_replid, offset);
        }
    }

    /// A full sync replaced the data: the node follows `replid` and nothing else.
    pub fn reset_to(&mut self, replid: String) {
        *self = ReplicationIds::new(replid);
    }
}

/// What a master answers to `PSYNC <replid> <offset>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PsyncAnswer {
    /// `+CONTINUE`: send the backlog from this offset on.
    Continue {
        /// The first byte to send.
        from: u64,
    },
    /// `+FULLRESYNC`: the replica must load a snapshot.
    FullResync(FullReason),
}

/// Why a partial resync was refused (for the log and INFO's counters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FullReason {
    /// The replica asked for a full sync (`PSYNC ? -1`) or sent no usable offset.
    Requested,
    /// Its replid is neither of ours, or its offset lies past where replid2 ended.
    OtherHistory,
    /// Its offset is no longer (or not yet) in the backlog.
    OutOfBacklog,
}

/// Redis's rule for `PSYNC <replid> <next>`, where `next` is the first byte the replica
/// lacks.
pub fn answer_psync(
    ids: &ReplicationIds,
    backlog: Option<&Backlog>,
    replid: &str,
    next: i64,
) -> PsyncAnswer {
    if replid == "?" || next < 0 {
        return PsyncAnswer::FullResync(FullReason::Requested);
    }
    let ours = replid.eq_ignore_ascii_case(&ids.replid);
    let shared_past = replid.eq_ignore_ascii_case(&ids.replid2) && next <= ids.second_offset;
    if !ours && !shared_past {
        return PsyncAnswer::FullResync(FullReason::OtherHistory);
    }
    match backlog {
        Some(b) if b.can_serve(next as u64) => PsyncAnswer::Continue { from: next as u64 },
        _ => PsyncAnswer::FullResync(FullReason::OutOfBacklog),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psync_rules() {
        let a = "a".repeat(40);
        let b = "b".repeat(40);
        let mut ids = ReplicationIds::new(a.clone());
        let mut log = Backlog::new(100, 0);
        log.append(&[0; 50]);
        let full = |r| PsyncAnswer::FullResync(r);
        assert_eq!(
            answer_psync(&ids, Some(&log), "?", -1),
            full(FullReason::Requested)
        );
        assert_eq!(
            answer_psync(&ids, Some(&log), &a, 51),
            PsyncAnswer::Continue { from: 51 }
        );
        assert_eq!(
            answer_psync(&ids, Some(&log), &a, 1),
            PsyncAnswer::Continue { from: 1 }
        );
        assert_eq!(
            answer_psync(&ids, Some(&log), &a, 52),
            full(FullReason::OutOfBacklog)
        );
        assert_eq!(
            answer_psync(&ids, None, &a, 51),
            full(FullReason::OutOfBacklog)
        );
        assert_eq!(
            answer_psync(&ids, Some(&log), &b, 51),
            full(FullReason::OtherHistory)
        );
        // Promoted at offset 50: a sibling that followed `a` to 50 continues; one that
        // claims more of `a` than we ever had must start over.
        ids.promote(b.clone(), 50);
        assert_eq!(ids.second_offset, 51);
        assert_eq!(
            answer_psync(&ids, Some(&log), &a, 51),
            PsyncAnswer::Continue { from: 51 }
        );
        log.append(&[0; 10]);
        assert_eq!(
            answer_psync(&ids, Some(&log), &a, 55),
            full(FullReason::OtherHistory)
        );
        assert_eq!(
            answer_psync(&ids, Some(&log), &b, 55),
            PsyncAnswer::Continue { from: 55 }
        );
    }

    #[test]
    fn renamed_stream_keeps_the_shared_history() {
        let mut ids = ReplicationIds::new("a".repeat(40));
        ids.follow_renamed("a".repeat(40), 10);
        assert_eq!(ids.replid2, NO_REPLID);
        ids.follow_renamed("c".repeat(40), 10);
        assert_eq!(
            (ids.replid2.as_str(), ids.second_offset),
            ("a".repeat(40).as_str(), 11)
        );
        ids.reset_to("d".repeat(40));
        assert_eq!(ids, ReplicationIds::new("d".repeat(40)));
    }
}
