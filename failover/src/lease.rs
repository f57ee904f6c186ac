//! Write leases: why an isolated master stops accepting writes strictly before any
//! replica of it can be promoted.
//!
//! Redis 7.0 leaves this to timing: an isolated master turns its cluster state to fail
//! once it has marked a majority of masters PFAIL, while the other side promotes its
//! replica once enough masters marked it FAIL. Both clocks start from pings sent at
//! unrelated moments, so which happens first depends on luck, and writes acknowledged
//! by the old master after the promotion are lost when the partition heals. Tessera
//! replaces luck by two rules that meet in the middle.
//!
//! # The rules
//!
//! Let `T` be cluster-node-timeout, `E` the election timeout (`max(2T, 2 s)`: a
//! replica that has not won within `E` of asking gives up) and `size` the number of
//! masters serving slots.
//!
//! 1. **Acks.** A PONG that arrives on the link a node opened to a peer answers a PING
//!    sent on that link: links deliver in order and a peer answers PINGs only on links
//!    it accepted. So the PONG proves the peer *received something from us at or after
//!    that PING's send time*, its *ack*. Acks `a1 < a2` whose PONGs arrived at `p1 <
//!    p2` with `p2 - a1 <= T` prove the peer never went `T` without hearing from us
//!    between the two receipts. A run of such acks is a *continuous contact*, which
//!    starts at the arrival of its first PONG ([`Contact`]).
//! 2. **Lease (the master's side).** A master serving slots accepts writes at `t` only
//!    when a majority of slot-serving masters (itself included) back it: each other
//!    backer has been in continuous contact for longer than `E` (`t > start + E`) and
//!    its newest ack `a` satisfies `t < a + T - margin`, with `margin = T / 4`
//!    ([`lease_until`]).
//! 3. **Silence (the voter's side).** A master grants its vote to replace master `M`
//!    only once it has itself received nothing from `M` for more than `T`; a request
//!    that arrives earlier is held and answered once that holds
//!    ([`silent_long_enough`]). A node restarted from nodes.conf counts every peer as
//!    heard at its start.
//! 4. **Seats.** A master votes only while it holds its own lease. A master that lost
//!    it may have been replaced without knowing; its vote would count its seat a
//!    second time, beside its successor's, and the two majorities below could share
//!    a seat but no node. (The simulator found this: under random one-way cuts, a
//!    replaced master that had not heard of its replacement voted to replace another
//!    master, whose lease its successor backed.) Such a vote waits, like rule 3's.
//!
//! # Why they exclude two writers
//!
//! A promotion at `P` takes the votes of a majority of slot-serving masters, none of
//! them `M`, each cast after the replica asked and so within `E` before `P`. The
//! backers of `M`'s lease at `t` form, with `M`, another majority; two majorities of
//! one `size` share a member `R` other than `M`. `R`'s contact with `M` began with a
//! receipt at `r1`, no later than the arrival `p1` of the PONG that answered it; its
//! newest receipt `rn` is no earlier than its newest ack `a`. `R` voted at `v`, after
//! hearing nothing from `M` for more than `T`:
//!
//! - `v` cannot fall in `(r1, rn]`: the contact was continuous there (rule 1);
//! - if `v > rn`, then `v > rn + T >= a + T > t + margin`, so `P > t + margin`;
//! - if `v <= r1`, the promotion came within `E` of it: `P <= r1 + E <= p1 + E < t`.
//!   The replica was promoted before `t`. Then `M` did not accept writes at `P` (the
//!   first two cases, applied at `P`), so it regained its lease after `P` over a
//!   contact with `R` that lasted longer than `E` after `R` had voted for `M`'s
//!   replacement: all that time `R` answered `M`'s PINGs, which claim slots `R` knows
//!   to belong to a newer configEpoch, with UPDATE messages (Redis's rule), so `M`
//!   has given up the slots before the lease could return.
//!
//! So the old master stops at least `margin` before the new one starts, whatever the
//! order of failure detection, message delays or ping timing.
//!
//! # What it assumes, and what it does not cover
//!
//! - Both sides count the same slot-serving masters: true outside resharding, and
//!   what rule 4 keeps true across a cascade of failovers.
//! - Clocks advance at nearly the same rate (the margin absorbs drift and the time a
//!   write takes between its check and its reply).
//! - Rule 3 is Tessera's: in a mixed cluster, redis-server voters do not wait, so the
//!   proof covers the voting majority only where it is made of Tessera masters.
//! - A manual failover (CLUSTER FAILOVER) pauses the master's writes first; FORCE and
//!   TAKEOVER are operator overrides that Redis documents as unsafe, and votes with
//!   the FORCEACK flag skip rules 3 and 4. So is reassigning a live master's slots
//!   by hand.
//!
//! # Liveness
//!
//! A healthy master pings every other slot-serving master when its last ack is older
//! than [`refresh_after`] (`T / 4`), so backing lasts about `3T / 4` and is renewed
//! every `T / 4`: a single late PONG does not lapse it. A master that has just
//! started, or was cut off, writes again only after `E` of continuous contact with a
//! majority. Every node keeps such contacts with every other node (its own PINGs, at
//! least every `T / 2`), reports the cluster ok only while a majority backs it (a
//! replica counting the masters other than its own, which are the ones that would
//! back it), and *becomes* ok only once its contact with every node that could be
//! promoted or given slots has matured: so once a cluster is ok everywhere, a replica
//! promoted at any moment leaves every node backed, and writes at once itself.
//! Rule 3 costs a failover nothing in the usual case: FAIL itself needs a majority of
//! masters that have not heard from `M` for `T`, and the other voters stopped hearing
//! from it at about the same time.

use crate::election::auth_timeout;
use crate::failure::quorum;

/// How long before the earliest possible promotion the old master's lease ends.
pub fn margin(node_timeout: u64) -> u64 {
    node_timeout / 4
}

/// How long an ack keeps a master writable, from the ack's ping send time.
pub fn duration(node_timeout: u64) -> u64 {
    node_timeout - margin(node_timeout)
}

/// A slot-serving master pings each other slot-serving master whose last PONG is older
/// than this, to keep its lease fresh (other nodes are pinged at `T / 2`, as Redis).
pub fn refresh_after(node_timeout: u64) -> u64 {
    node_timeout / 4
}

/// One peer's continuous contact with this node, as its PONGs prove it (rule 1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Contact {
    /// The send time of the newest PING it answered (0: none).
    pub ack: u64,
    /// When the PONG that started the current continuous contact arrived (0: none).
    pub since: u64,
}

impl Contact {
    /// A PONG answering a PING sent at `ping_sent` arrived at `now`.
    pub fn on_pong(&mut self, ping_sent: u64, now: u64, node_timeout: u64) {
        if self.ack == 0 || now.saturating_sub(self.ack) > node_timeout {
            self.since = now;
        }
        self.ack = self.ack.max(ping_sent);
    }

    /// The contact is old enough to back a lease at `now`: any vote the peer gave
    /// before it began has expired with its election.
    pub fn mature(&self, now: u64, node_timeout: u64) -> bool {
        self.since != 0 && now > self.since + auth_timeout(node_timeout)
    }
}

/// When a master's write lease ends (exclusive), evaluated at `now`, given the
/// contacts of the other slot-serving masters and `size`, the number of slot-serving
/// masters counting this one. `u64::MAX` when this master is a majority alone; 0 when
/// no lease is held. The answer can only grow while `now` advances to the next input
/// (contacts mature), so a caller may keep it until then.
pub fn lease_until(
    contacts: impl IntoIterator<Item = Contact>,
    size: usize,
    now: u64,
    node_timeout: u64,
) -> u64 {
    let needed = quorum(size.max(1)) - 1;
    if needed == 0 {
        return u64::MAX;
    }
    let mut acks: Vec<u64> = contacts
        .into_iter()
        .filter(|c| c.mature(now, node_timeout))
        .map(|c| c.ack)
        .collect();
    if acks.len() < needed {
        return 0;
    }
    acks.sort_unstable_by(|a, b| b.cmp(a));
    acks[needed - 1] + duration(node_timeout)
}

/// Rule 3: a voter may help replace a master only after hearing nothing from it for
/// longer than the node timeout (`last_heard`: when it last received anything from
/// it, or when the voter started).
pub fn silent_long_enough(last_heard: u64, now: u64, node_timeout: u64) -> bool {
    now.saturating_sub(last_heard) > node_timeout
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 2000;

    /// A contact that has answered pings every 500 ms since `from` up to `last`.
    fn steady(from: u64, last: u64) -> Contact {
        let mut c = Contact::default();
        let mut a = from;
        while a <= last {
            c.on_pong(a, a + 2, T);
            a += 500;
        }
        c
    }

    #[test]
    fn contacts_are_continuous_until_a_gap_longer_than_the_timeout() {
        let mut c = steady(1000, 9000);
        assert_eq!((c.ack, c.since), (9000, 1002));
        c.on_pong(10_990, 11_000, T);
        assert_eq!(
            c.since, 1002,
            "2,000 ms after the previous ack: still continuous"
        );
        c.on_pong(12_900, 12_990, T);
        assert_eq!(c.since, 1002);
        c.on_pong(15_100, 15_200, T);
        assert_eq!(c.since, 15_200, "a gap: the contact starts again");
        assert!(!c.mature(19_200, T));
        assert!(c.mature(19_201, T), "older than the election timeout");
    }

    #[test]
    fn a_majority_of_mature_contacts_bounds_the_lease() {
        let now = 20_000;
        let old = steady(1000, 19_000);
        let fresh = steady(18_000, 19_500);
        assert_eq!(lease_until([], 1, now, T), u64::MAX, "a lone master");
        assert_eq!(lease_until([Contact::default(); 2], 3, now, T), 0);
        assert_eq!(lease_until([old, fresh], 3, now, T), 19_000 + 1500);
        assert_eq!(
            lease_until([fresh, fresh], 3, now, T),
            0,
            "too recent to count"
        );
        // Five masters need two others: the older of the two newest acks bounds it.
        let older = steady(1000, 18_500);
        assert_eq!(
            lease_until([old, older, fresh, fresh], 5, now, T),
            18_500 + 1500
        );
        assert_eq!(lease_until([old, fresh, fresh, fresh], 5, now, T), 0);
    }

    #[test]
    fn the_lease_ends_a_margin_before_any_later_vote() {
        // A voter that acked at `a` votes after `a + T`; a lease backed by acks no
        // older than `a` ends at `a + T - margin`.
        for t in [500u64, 2000, 15_000] {
            let a = 100_000;
            let c = Contact { ack: a, since: 1 };
            let end = lease_until([c], 3, a + 1, t);
            assert!(!silent_long_enough(a, a + t, t));
            assert!(silent_long_enough(a, a + t + 1, t));
            assert_eq!(a + t + 1 - end, margin(t) + 1);
            assert!(
                refresh_after(t) < duration(t) / 2,
                "renewed well before it ends"
            );
        }
    }
}
