//! Replica elections: when a replica of a failed master may ask for votes, how a
//! master decides whether to give one, and when the replica has won.
//!
//! The rules are Redis 7.0's, with one change to the timing. Redis delays every
//! election by 500 ms + random(0..500) + rank × 1000 ms; the fixed part lets the FAIL
//! message reach the masters before the vote request, the random part keeps equally
//! ranked replicas apart. Here a replica's rank breaks ties by node id, so exactly one
//! replica of a master has rank 0 and it asks at once; the others wait
//! [`rank_step`] per rank. The FAIL message is still guaranteed to arrive first: a
//! replica (re)sends FAIL to everyone right before its request, on the same links, and
//! a link delivers in order. Everything that makes elections safe (one vote per master
//! per epoch, the quorum, the epoch checks) is unchanged.
//!
//! The delay Redis adds also happened to give the failed master time to notice its
//! isolation. Tessera does not rely on it: a voter holds its vote until it has itself
//! not heard from the master for a node timeout ([`Refusal::MasterHeardRecently`]),
//! which is what bounds the earliest promotion after the old master's write lease
//! ends (see [`crate::lease`] for the rule and its proof). So the rank-0 replica may
//! ask at once: the election cannot complete before that bound anyway.

use crate::failure::quorum;

/// How long an election may take before it is abandoned (Redis: 2 × node_timeout,
/// at least 2 s).
pub fn auth_timeout(node_timeout: u64) -> u64 {
    (node_timeout * 2).max(2000)
}

/// How long after an election started a new one may start (Redis: 2 × the timeout).
pub fn auth_retry_time(node_timeout: u64) -> u64 {
    auth_timeout(node_timeout) * 2
}

/// The extra delay per rank: long enough for the better replica's election to finish
/// (a request and its acks take a round trip), short enough to stay well inside the
/// node timeout.
pub fn rank_step(node_timeout: u64) -> u64 {
    (node_timeout / 4).clamp(50, 1000)
}

/// How long a replica ranked `rank` waits before asking for votes.
pub fn election_delay(rank: usize, node_timeout: u64) -> u64 {
    rank as u64 * rank_step(node_timeout)
}

/// A sibling replica, as far as ranking goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sibling<'a, Id> {
    /// Its id.
    pub id: &'a Id,
    /// The replication offset it last announced.
    pub offset: u64,
    /// It has cluster-replica-no-failover set (it never competes).
    pub no_failover: bool,
}

/// The rank of a replica among the replicas of its master: how many siblings that
/// could fail over are ahead of it, by replication offset and then by id.
pub fn rank<Id: Ord>(my_id: &Id, my_offset: u64, siblings: &[Sibling<'_, Id>]) -> usize {
    siblings
        .iter()
        .filter(|s| s.id != my_id && !s.no_failover)
        .filter(|s| s.offset > my_offset || (s.offset == my_offset && s.id < my_id))
        .count()
}

/// True when the replica's data is too old for an automatic failover: it lost its
/// master longer ago than `repl_ping_period + node_timeout × validity_factor`, beyond
/// the node timeout it takes to detect the failure (Redis's
/// cluster-replica-validity-factor; 0 disables the check).
pub fn data_too_old(
    disconnected_ms: u64,
    node_timeout: u64,
    validity_factor: u64,
    repl_ping_period_ms: u64,
) -> bool {
    let age = if disconnected_ms > node_timeout {
        disconnected_ms - node_timeout
    } else {
        disconnected_ms
    };
    validity_factor != 0 && age > repl_ping_period_ms + node_timeout * validity_factor
}

/// What a master knows when a replica asks for its vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoteRequest {
    /// The request's currentEpoch.
    pub request_epoch: u64,
    /// The configEpoch the request claims for its slots.
    pub request_config_epoch: u64,
    /// The requester is a replica whose master this voter knows.
    pub requester_is_replica_of_known_master: bool,
    /// That master is FAIL in the voter's view.
    pub master_failed: bool,
    /// The request is a manual failover (FORCEACK).
    pub force: bool,
    /// When the voter last voted for a replica of that master (0: never).
    pub master_voted_time: u64,
    /// The highest configEpoch the voter knows among the owners of the claimed slots.
    pub claimed_slots_max_epoch: u64,
    /// The voter itself has heard nothing from that master for longer than the node
    /// timeout ([`crate::lease::silent_long_enough`]).
    pub master_silent: bool,
    /// The voter holds its own write lease ([`crate::lease`], rule 4).
    pub voter_holds_lease: bool,
}

/// Why a master refuses to vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The voter serves no slot (only slot-serving masters vote).
    NotAVoter,
    /// The request's epoch is older than the voter's.
    StaleEpoch,
    /// The voter already voted in this epoch.
    AlreadyVoted,
    /// The requester is a master, or its master is unknown.
    NotAReplica,
    /// Its master is not FAIL and this is not a manual failover.
    MasterNotFailed,
    /// The voter voted for a replica of the same master less than 2 × node_timeout ago.
    VotedRecently,
    /// Some claimed slot is owned by a node with a greater configEpoch.
    StaleSlots,
    /// The voter heard from the master within the node timeout: the vote waits
    /// (it is not refused for good), so the old master's lease ends first.
    MasterHeardRecently,
    /// The voter does not hold its own write lease (it may have been replaced
    /// unawares): the vote waits until it does.
    VoterWithoutLease,
}

impl Refusal {
    /// True when the same request may be granted later without a new one.
    pub fn is_deferral(self) -> bool {
        matches!(
            self,
            Refusal::MasterHeardRecently | Refusal::VoterWithoutLease
        )
    }
}

/// Redis's voting rule. `current_epoch` is the voter's, already raised from the
/// request's header; `last_vote_epoch` is the epoch it last voted in.
pub fn decide_vote(
    voter_serves_slots: bool,
    current_epoch: u64,
    last_vote_epoch: u64,
    request: &VoteRequest,
    now: u64,
    node_timeout: u64,
) -> Result<(), Refusal> {
    if !voter_serves_slots {
        return Err(Refusal::NotAVoter);
    }
    if request.request_epoch < current_epoch {
        return Err(Refusal::StaleEpoch);
    }
    if last_vote_epoch == current_epoch {
        return Err(Refusal::AlreadyVoted);
    }
    if !request.requester_is_replica_of_known_master {
        return Err(Refusal::NotAReplica);
    }
    if !request.master_failed && !request.force {
        return Err(Refusal::MasterNotFailed);
    }
    if now.saturating_sub(request.master_voted_time) < node_timeout * 2 {
        return Err(Refusal::VotedRecently);
    }
    if request.claimed_slots_max_epoch > request.request_config_epoch {
        return Err(Refusal::StaleSlots);
    }
    // A manual failover paused the master's writes first (or an operator forced it).
    if !request.force && !request.master_silent {
        return Err(Refusal::MasterHeardRecently);
    }
    if !request.force && !request.voter_holds_lease {
        return Err(Refusal::VoterWithoutLease);
    }
    Ok(())
}

/// True when `votes` acks from slot-serving masters win among `size` of them.
pub fn won(votes: usize, size: usize) -> bool {
    votes >= quorum(size)
}

/// A replica's election in progress (Redis's failover_auth_* fields).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Election {
    /// When the request may be sent (ms); 0 when no election was scheduled.
    pub start_at: u64,
    /// The rank the delay was computed for.
    pub rank: usize,
    /// The request went out.
    pub sent: bool,
    /// The epoch the request was sent in.
    pub epoch: u64,
    /// Acks received.
    pub votes: usize,
}

/// What the replica should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElectionStep {
    /// Nothing yet.
    Wait,
    /// A new election was scheduled: tell the sibling replicas our offset.
    Scheduled,
    /// Send the vote request now (in a new epoch).
    RequestVotes,
    /// The quorum was reached: take over.
    Won,
}

impl Election {
    /// One step of the election for a replica whose master may be failed over
    /// (`manual`: a manual failover that may start). `rank_now` is its current rank.
    pub fn step(
        &mut self,
        now: u64,
        node_timeout: u64,
        manual: bool,
        rank_now: usize,
        size: usize,
    ) -> ElectionStep {
        let auth_age = now.saturating_sub(self.start_at);
        if self.start_at == 0 || auth_age > auth_retry_time(node_timeout) {
            self.rank = if manual { 0 } else { rank_now };
            // Never 0: that means "no election".
            self.start_at = (now
                + if manual {
                    0
                } else {
                    election_delay(self.rank, node_timeout)
                })
            .max(1);
            self.sent = false;
            self.votes = 0;
            // A manual failover asks at once (Redis does too, from beforeSleep).
            return if manual {
                self.step(now, node_timeout, manual, rank_now, size)
            } else {
                ElectionStep::Scheduled
            };
        }
        if !self.sent && !manual && rank_now > self.rank {
            // Better siblings showed up: wait longer.
            self.start_at += (rank_now - self.rank) as u64 * rank_step(node_timeout);
            self.rank = rank_now;
        }
        if now < self.start_at || auth_age > auth_timeout(node_timeout) {
            return ElectionStep::Wait;
        }
        if !self.sent {
            self.sent = true;
            return ElectionStep::RequestVotes;
        }
        if won(self.votes, size) {
            ElectionStep::Won
        } else {
            ElectionStep::Wait
        }
    }

    /// Forgets the election (the node is a master now, or its master came back).
    pub fn reset(&mut self) {
        *self = Election::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_orders_by_offset_then_id() {
        let (a, b, c) = (1u32, 2u32, 3u32);
        let s = |id, offset| Sibling {
            id,
            offset,
            no_failover: false,
        };
        let siblings = [s(&a, 100), s(&b, 100), s(&c, 90)];
        assert_eq!(rank(&a, 100, &siblings), 0);
        assert_eq!(rank(&b, 100, &siblings), 1);
        assert_eq!(rank(&c, 90, &siblings), 2);
        let quiet = [
            Sibling {
                no_failover: true,
                ..s(&a, 100)
            },
            s(&b, 100),
        ];
        assert_eq!(
            rank(&b, 100, &quiet),
            0,
            "a replica that never fails over does not count"
        );
        assert_eq!(election_delay(0, 2000), 0);
        assert_eq!(election_delay(2, 2000), 1000);
    }

    #[test]
    fn data_age() {
        assert!(!data_too_old(25_000, 2000, 10, 10_000));
        assert!(data_too_old(33_000, 2000, 10, 10_000));
        assert!(
            !data_too_old(u64::MAX / 2, 2000, 0, 10_000),
            "factor 0 disables"
        );
    }

    #[test]
    fn voting_rules() {
        let ok = VoteRequest {
            request_epoch: 5,
            request_config_epoch: 3,
            requester_is_replica_of_known_master: true,
            master_failed: true,
            force: false,
            master_voted_time: 0,
            claimed_slots_max_epoch: 3,
            master_silent: true,
            voter_holds_lease: true,
        };
        let vote = |serves, epoch, last, r: &VoteRequest| {
            decide_vote(serves, epoch, last, r, 100_000, 2000)
        };
        assert_eq!(vote(true, 5, 4, &ok), Ok(()));
        assert_eq!(vote(false, 5, 4, &ok), Err(Refusal::NotAVoter));
        assert_eq!(vote(true, 6, 4, &ok), Err(Refusal::StaleEpoch));
        assert_eq!(vote(true, 5, 5, &ok), Err(Refusal::AlreadyVoted));
        let alive = VoteRequest {
            master_failed: false,
            ..ok
        };
        assert_eq!(vote(true, 5, 4, &alive), Err(Refusal::MasterNotFailed));
        assert_eq!(
            vote(
                true,
                5,
                4,
                &VoteRequest {
                    force: true,
                    ..alive
                }
            ),
            Ok(())
        );
        let recent = VoteRequest {
            master_voted_time: 97_000,
            ..ok
        };
        assert_eq!(vote(true, 5, 4, &recent), Err(Refusal::VotedRecently));
        let stale = VoteRequest {
            claimed_slots_max_epoch: 4,
            ..ok
        };
        assert_eq!(vote(true, 5, 4, &stale), Err(Refusal::StaleSlots));
        let orphan = VoteRequest {
            requester_is_replica_of_known_master: false,
            ..ok
        };
        assert_eq!(vote(true, 5, 4, &orphan), Err(Refusal::NotAReplica));
        let heard = VoteRequest {
            master_silent: false,
            ..ok
        };
        assert_eq!(vote(true, 5, 4, &heard), Err(Refusal::MasterHeardRecently));
        assert!(Refusal::MasterHeardRecently.is_deferral());
        let stale_voter = VoteRequest {
            voter_holds_lease: false,
            ..ok
        };
        assert_eq!(
            vote(true, 5, 4, &stale_voter),
            Err(Refusal::VoterWithoutLease)
        );
        assert!(Refusal::VoterWithoutLease.is_deferral());
        assert!(!Refusal::StaleEpoch.is_deferral());
        assert_eq!(
            vote(
                true,
                5,
                4,
                &VoteRequest {
                    force: true,
                    ..heard
                }
            ),
            Ok(()),
            "a manual failover paused the master already"
        );
    }

    #[test]
    fn an_election_runs_then_expires_then_retries() {
        let t = 2000;
        let mut e = Election::default();
        assert_eq!(e.step(10_000, t, false, 1, 3), ElectionStep::Scheduled);
        assert_eq!(e.start_at, 10_500);
        assert_eq!(
            e.step(10_100, t, false, 2, 3),
            ElectionStep::Wait,
            "rank got worse"
        );
        assert_eq!(e.start_at, 11_000);
        assert_eq!(e.step(11_000, t, false, 2, 3), ElectionStep::RequestVotes);
        e.votes = 1;
        assert_eq!(e.step(11_001, t, false, 2, 3), ElectionStep::Wait);
        e.votes = 2;
        assert_eq!(e.step(11_002, t, false, 2, 3), ElectionStep::Won);
        // Lost: nothing new until the retry time passed since the start.
        let mut lost = Election::default();
        lost.step(1, t, false, 0, 3);
        assert_eq!(lost.step(1, t, false, 0, 3), ElectionStep::RequestVotes);
        assert_eq!(
            lost.step(5_000, t, false, 0, 3),
            ElectionStep::Wait,
            "expired"
        );
        assert_eq!(lost.step(8_002, t, false, 0, 3), ElectionStep::Scheduled);
        // Manual: asks at once.
        let mut manual = Election::default();
        assert_eq!(manual.step(1, t, true, 3, 3), ElectionStep::RequestVotes);
    }
}
