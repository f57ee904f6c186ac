//! Failover on the bus: a replica's election, the masters' votes, manual failover and
//! replica migration (Redis's clusterHandleSlaveFailover, clusterSendFailoverAuthIfNeeded,
//! clusterHandleManualFailover and clusterHandleSlaveMigration). The rules themselves
//! are plain functions in `tessera-failover`; this file gathers their inputs from the
//! topology and turns their answers into messages and events.

use tessera_failover::election::{self, ElectionStep, Refusal, Sibling, VoteRequest};
use tessera_failover::{lease, replica_migration};

use super::{Engine, Event};
use crate::node_id::NodeId;
use crate::topology::NodeFlags;
use crate::wire::{self, Body, Header, Message, MessageType};

/// A vote request held until this master has not heard from the failed master for a
/// node timeout.
#[derive(Debug, Clone)]
pub(super) struct PendingVote {
    requester: NodeId,
    header: Header,
    received: u64,
}

/// The variants of CLUSTER FAILOVER.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailoverKind {
    /// Agree on the offset with the master first.
    Default,
    /// Skip the agreement: the master may be down.
    Force,
    /// No election: bump the epoch and take the slots.
    Takeover,
}

impl Engine {
    /// The replica side, run from the cron and after each vote received.
    pub(super) fn handle_replica_failover(&mut self, now: u64) {
        let me = self.topo.me();
        let Some(master_id) = me.master.filter(|_| me.is_replica()) else {
            self.election.reset();
            return;
        };
        let Some(master) = self.topo.node(&master_id) else {
            return;
        };
        let manual = self.manual.active() && self.manual.can_start;
        let automatic = master.is_failed() && !self.cfg.replica_no_failover;
        if !(manual || automatic) || master.slot_count == 0 {
            return;
        }
        let disconnected = self
            .repl_link_down_since
            .map_or(0, |since| now.saturating_sub(since));
        if !manual
            && election::data_too_old(
                disconnected,
                self.cfg.node_timeout,
                self.cfg.replica_validity_factor,
                self.cfg.repl_ping_period_ms,
            )
        {
            if !self.data_age_logged {
                tracing::warn!(
                    "replica data too old to fail over its master (cluster-replica-validity-factor)"
                );
                self.data_age_logged = true;
            }
            return;
        }
        let rank_now = self.my_rank(&master_id);
        let lost_epoch = self.election.sent.then_some(self.election.epoch);
        let step = self
            .election
            .step(now, self.cfg.node_timeout, manual, rank_now, self.size);
        match step {
            ElectionStep::Wait => {}
            ElectionStep::Scheduled => {
                if let Some(epoch) = lost_epoch {
                    self.out.events.push(Event::ElectionLost(epoch));
                }
                tracing::info!(
                    delay_ms = self.election.start_at.saturating_sub(now),
                    rank = self.election.rank,
                    offset = self.repl_offset,
                    "start of election delayed"
                );
                // Siblings learn our offset now, so their ranks agree with ours.
                let me = self.topo.myself();
                let links: Vec<_> = self.topo.nodes()[&master_id]
                    .replicas
                    .iter()
                    .filter(|s| **s != me)
                    .filter_map(|s| self.topo.node(s).and_then(|n| n.link))
                    .collect();
                for link in links {
                    self.send_ping(link, MessageType::Pong, now);
                }
                if self.election.start_at <= now {
                    // Rank 0 asks at once rather than at the next tick.
                    self.handle_replica_failover(now);
                }
            }
            ElectionStep::RequestVotes => {
                self.election.epoch = self.topo.start_election_epoch();
                tracing::info!(epoch = self.election.epoch, "starting a failover election");
                // Each master hears FAIL before the request, on the same link, so
                // none refuses because the news has not reached it yet.
                if self.topo.nodes()[&master_id].is_failed() {
                    self.send_fail(master_id);
                }
                let mut header = self.header(MessageType::FailoverAuthRequest);
                if self.manual.active() {
                    header.mflags |= wire::MFLAG_FORCEACK;
                }
                self.broadcast(&Message {
                    header,
                    body: Body::Empty,
                });
                self.out
                    .events
                    .push(Event::ElectionStarted(self.election.epoch));
                self.save(true);
                self.update_state_later();
            }
            ElectionStep::Won => {
                tracing::warn!(
                    epoch = self.election.epoch,
                    "failover election won: I'm the new master"
                );
                if self.topo.me().config_epoch < self.election.epoch {
                    self.topo.me_mut().config_epoch = self.election.epoch;
                }
                self.replace_my_master(now);
            }
        }
    }

    /// How many sibling replicas that could fail over are ahead of this one.
    fn my_rank(&self, master: &NodeId) -> usize {
        let siblings: Vec<Sibling<'_, NodeId>> = self.topo.nodes()[master]
            .replicas
            .iter()
            .filter_map(|id| self.topo.node(id))
            .map(|n| Sibling {
                id: &n.id,
                offset: n.repl_offset,
                no_failover: n.flags.has(NodeFlags::NOFAILOVER),
            })
            .collect();
        election::rank(&self.topo.myself(), self.repl_offset, &siblings)
    }

    /// Takes over the master's slots and tells everyone (Redis's
    /// clusterFailoverReplaceYourMaster).
    pub(super) fn replace_my_master(&mut self, now: u64) {
        let me = self.topo.myself();
        let Some(old) = self
            .topo
            .me()
            .master
            .filter(|_| self.topo.me().is_replica())
        else {
            return;
        };
        self.topo.set_node_as_master(&me);
        let slots: Vec<u16> = self
            .topo
            .node(&old)
            .map(|n| n.slots.iter().collect())
            .unwrap_or_default();
        for slot in slots {
            self.topo.del_slot(slot);
            self.topo.add_slot(me, slot);
        }
        // Evaluated now, not at the end of the input, so the PONG below already
        // announces the new state (evaluating it again at the end changes nothing).
        self.update_state(now);
        self.save(true);
        self.broadcast_pong(now);
        self.manual.reset();
        self.election.reset();
        self.out.events.push(Event::Promoted {
            previous_master: old,
            epoch: self.topo.me().config_epoch,
        });
    }

    /// A replica asked for our vote. A request refused only because we heard from its
    /// master too recently is held and tried again from the cron (see
    /// `tessera_failover::lease`), until the replica's election would have expired.
    pub(super) fn vote_requested(&mut self, requester: NodeId, h: &Header, now: u64) {
        if let Err(why) = self.vote_if_needed(requester, h, now)
            && why.is_deferral()
        {
            tracing::info!(replica = %requester, "failover auth held: heard from its master within the node timeout");
            self.pending_votes.retain(|p| p.requester != requester);
            self.pending_votes.push(PendingVote {
                requester,
                header: h.clone(),
                received: now,
            });
        }
    }

    /// Tries the held vote requests again: granted, refused for good, or held on.
    pub(super) fn retry_pending_votes(&mut self, now: u64) {
        let expiry = election::auth_timeout(self.cfg.node_timeout);
        for p in std::mem::take(&mut self.pending_votes) {
            if now.saturating_sub(p.received) > expiry {
                continue;
            }
            if let Err(why) = self.vote_if_needed(p.requester, &p.header, now)
                && why.is_deferral()
            {
                self.pending_votes.push(p);
            }
        }
    }

    /// Decides a vote request now (Redis's clusterSendFailoverAuthIfNeeded, plus the
    /// lease's silence rule) and sends the ack when granted.
    fn vote_if_needed(&mut self, requester: NodeId, h: &Header, now: u64) -> Result<(), Refusal> {
        let me = self.topo.me();
        let serves = me.is_master() && me.slot_count > 0;
        let voter_holds_lease = now < self.write_lease_until(now);
        let Some(node) = self.topo.node(&requester) else {
            return Err(Refusal::NotAReplica);
        };
        let master = node
            .master
            .filter(|_| node.is_replica())
            .and_then(|m| self.topo.node(&m));
        let claimed_slots_max_epoch = h
            .slots
            .iter()
            .filter_map(|s| self.topo.slot_owner(s))
            .filter_map(|owner| self.topo.node(&owner))
            .map(|o| o.config_epoch)
            .max()
            .unwrap_or(0);
        let request = VoteRequest {
            request_epoch: h.current_epoch,
            request_config_epoch: h.config_epoch,
            requester_is_replica_of_known_master: master.is_some(),
            master_failed: master.is_some_and(|m| m.is_failed()),
            force: h.mflags & wire::MFLAG_FORCEACK != 0,
            master_voted_time: master.map_or(0, |m| m.voted_time),
            claimed_slots_max_epoch,
            voter_holds_lease,
            master_silent: master.is_some_and(|m| {
                lease::silent_long_enough(m.data_received, now, self.cfg.node_timeout)
            }),
        };
        let decision = election::decide_vote(
            serves,
            self.topo.current_epoch(),
            self.topo.last_vote_epoch(),
            &request,
            now,
            self.cfg.node_timeout,
        );
        if let Err(why) = decision {
            if serves && !why.is_deferral() {
                tracing::info!(replica = %requester, ?why, "failover auth denied");
            }
            return Err(why);
        }
        let master_id = master.map(|m| m.id).expect("decide_vote checked it");
        // Saved with fsync before the ack leaves: the shell saves before it sends.
        self.topo.record_vote(&master_id, now);
        tracing::info!(replica = %requester, epoch = self.topo.current_epoch(), "failover auth granted");
        self.out.events.push(Event::VoteGranted {
            candidate: requester,
            master: master_id,
            epoch: self.topo.current_epoch(),
        });
        if let Some(link) = self.topo.node(&requester).and_then(|n| n.link) {
            let msg = Message {
                header: self.header(MessageType::FailoverAuthAck),
                body: Body::Empty,
            };
            self.send(link, &msg);
        }
        Ok(())
    }

    /// A vote arrived: count it if it is for our current election.
    pub(super) fn count_vote(&mut self, voter: NodeId, h: &Header, now: u64) {
        let counts = self
            .topo
            .node(&voter)
            .is_some_and(|n| n.is_master() && n.slot_count > 0)
            && self.election.sent
            && h.current_epoch >= self.election.epoch;
        if counts {
            self.election.votes += 1;
            tracing::info!(from = %voter, votes = self.election.votes, "failover auth received");
            self.handle_replica_failover(now);
        }
    }

    /// Our replica asks for a manual failover: pause writes and tell it our offset.
    pub(super) fn manual_failover_requested(&mut self, replica: NodeId, now: u64) {
        let is_mine = self
            .topo
            .node(&replica)
            .is_some_and(|n| n.master == Some(self.topo.myself()));
        if !is_mine || !self.topo.me().is_master() {
            return;
        }
        let until = self.manual.start_as_master(now, replica);
        tracing::warn!(%replica, "manual failover requested by replica");
        self.out.events.push(Event::PauseWrites { until });
        if let Some(link) = self.topo.node(&replica).and_then(|n| n.link) {
            self.send_ping(link, MessageType::Ping, now);
        }
    }

    /// A message from our master while a manual failover waits for its offset.
    pub(super) fn note_master_pause(&mut self, sender: &NodeId, h: &Header) {
        let me = self.topo.me();
        if me.is_replica() && me.master == Some(*sender) && h.mflags & wire::MFLAG_PAUSED != 0 {
            self.manual.master_paused_at(h.offset);
        }
    }

    /// The manual failover part of the cron: timeouts, the master pinging its
    /// replica, the replica waiting to catch up.
    pub(super) fn manual_failover_cron(&mut self, now: u64) {
        if self.manual.timed_out(now) {
            tracing::warn!("manual failover timed out");
            self.reset_manual_failover();
            return;
        }
        if !self.manual.active() {
            return;
        }
        if let Some(replica) = self.manual.replica {
            if let Some(link) = self.topo.node(&replica).and_then(|n| n.link) {
                self.send_ping(link, MessageType::Ping, now);
            }
        } else if self.manual.check_offset(self.repl_offset) {
            tracing::warn!("all of the master's stream processed; manual failover can start");
        }
    }

    /// Ends a manual failover; a master resumes writes.
    pub(super) fn reset_manual_failover(&mut self) {
        if self.manual.replica.is_some() {
            self.out.events.push(Event::ResumeWrites);
        }
        self.manual.reset();
    }

    /// CLUSTER FAILOVER [FORCE|TAKEOVER] on this replica.
    pub(super) fn start_manual_failover(
        &mut self,
        kind: FailoverKind,
        now: u64,
    ) -> Result<(), String> {
        let me = self.topo.me();
        if me.is_master() {
            return Err("ERR You should send CLUSTER FAILOVER to a replica".into());
        }
        let Some(master) = me.master.and_then(|m| self.topo.node(&m)) else {
            return Err("ERR I'm a replica but my master is unknown to me".into());
        };
        let master_down = master.is_failed() || master.link.is_none();
        if matches!(kind, FailoverKind::Default) && master_down {
            return Err("ERR Master is down or failed, please use CLUSTER FAILOVER FORCE".into());
        }
        let master_link = master.link;
        self.reset_manual_failover();
        match kind {
            FailoverKind::Takeover => {
                tracing::warn!("taking over the master (user request)");
                self.manual.start_as_replica(now, true);
                self.bump_epoch_without_consensus();
                self.replace_my_master(now);
            }
            FailoverKind::Force => {
                tracing::warn!("forced failover user request accepted");
                self.manual.start_as_replica(now, true);
                // Nothing to wait for: ask for votes now, not at the next tick.
                self.handle_replica_failover(now);
            }
            FailoverKind::Default => {
                tracing::warn!("manual failover user request accepted");
                self.manual.start_as_replica(now, false);
                if let Some(link) = master_link {
                    let msg = Message {
                        header: self.header(MessageType::MfStart),
                        body: Body::Empty,
                    };
                    self.send(link, &msg);
                }
            }
        }
        Ok(())
    }

    /// Replica migration: move to a master that lost all its replicas, if this
    /// replica's master can spare it (cluster-migration-barrier).
    pub(super) fn replica_migration_cron(&mut self, now: u64) {
        if !self.cfg.allow_replica_migration || !self.state_ok || !self.topo.me().is_replica() {
            return;
        }
        let Some(my_master) = self.topo.me().master else {
            return;
        };
        let ok_replicas = |e: &Engine, m: &NodeId| {
            e.topo.node(m).map_or(0, |n| {
                n.replicas
                    .iter()
                    .filter_map(|r| e.topo.node(r))
                    .filter(|r| !r.is_failed() && !r.is_timed_out())
                    .count()
            })
        };
        let masters: Vec<NodeId> = self
            .topo
            .nodes()
            .values()
            .filter(|n| n.is_master() && !n.is_failed())
            .map(|n| n.id)
            .collect();
        let max_ok = masters
            .iter()
            .map(|m| ok_replicas(self, m))
            .max()
            .unwrap_or(0);
        let mut target = None;
        for m in &masters {
            let n = &self.topo.nodes()[m];
            let orphaned =
                n.slot_count > 0 && n.flags.has(NodeFlags::MIGRATE_TO) && ok_replicas(self, m) == 0;
            let since = self.orphaned_since.entry(*m).or_insert(now);
            if !orphaned {
                *since = now;
            } else if target.is_none() {
                target = Some((*m, now.saturating_sub(*since)));
            }
        }
        self.orphaned_since.retain(|id, _| masters.contains(id));
        let Some((target, orphaned_for)) = target else {
            return;
        };
        // The candidate: the smallest id among the replicas of the masters with the
        // most working replicas.
        let candidate = masters
            .iter()
            .filter(|m| ok_replicas(self, m) == max_ok)
            .flat_map(|m| self.topo.nodes()[m].replicas.iter().copied())
            .chain(std::iter::once(self.topo.myself()))
            .min_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        let mine = ok_replicas(self, &my_master);
        if replica_migration::should_migrate(
            mine,
            self.cfg.migration_barrier,
            max_ok,
            candidate == Some(self.topo.myself()),
            orphaned_for,
        ) {
            tracing::warn!(master = %target, "migrating to orphaned master");
            self.become_replica_of(target, now);
            self.broadcast_pong(now);
            self.save(true);
            self.update_state_later();
        }
    }
}
