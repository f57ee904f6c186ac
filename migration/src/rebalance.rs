//! Which slots a rebalance moves, decided as `redis-cli --cluster rebalance` decides
//! it: every master should hold 16384 / masters slots (equal weights); nothing moves
//! unless some master is off by more than the threshold; then the most overloaded
//! master gives to the most underloaded one until all are even. The slots a donor
//! gives are its lowest.
//!
//! A donor keeps at least its share, so a rebalance never empties a master (redis-cli
//! empties one only when given weight 0, which this plan has no way to say). A move
//! that does empty one, its source turning into the target's replica, is finished by
//! the slot move itself ([`crate::close`]).

/// Slots in a cluster.
const SLOTS: usize = 16384;

/// Slots that go from one master to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotTransfer<Id> {
    /// The giver.
    pub from: Id,
    /// The receiver.
    pub to: Id,
    /// The slots, ascending.
    pub slots: Vec<u16>,
}

/// The transfers that even out `masters` (each with the slots it serves). Masters
/// without slots take part only when `use_empty_masters`. Nothing moves when every
/// master is within `threshold_pct` percent of its share.
pub fn rebalance<Id: Clone + PartialEq>(
    masters: &[(Id, Vec<u16>)],
    use_empty_masters: bool,
    threshold_pct: f64,
) -> Vec<SlotTransfer<Id>> {
    let mut nodes: Vec<(Id, Vec<u16>, i64)> = masters
        .iter()
        .filter(|(_, slots)| use_empty_masters || !slots.is_empty())
        .map(|(id, slots)| {
            let mut slots = slots.clone();
            slots.sort_unstable();
            (id.clone(), slots, 0)
        })
        .collect();
    if nodes.len() < 2 {
        return Vec::new();
    }
    let expected = (SLOTS / nodes.len()) as i64;
    let mut over_threshold = false;
    for (_, slots, balance) in nodes.iter_mut() {
        *balance = slots.len() as i64 - expected;
        if expected > 0 && (balance.abs() as f64 / expected as f64 * 100.0) > threshold_pct {
            over_threshold = true;
        }
    }
    if !over_threshold {
        return Vec::new();
    }
    // The shares are rounded down, so the balances sum to the remainder: take it from
    // the underloaded ones first, as redis-cli does, so the giving ends at zero.
    let mut total: i64 = nodes.iter().map(|n| n.2).sum();
    while total > 0 {
        for n in nodes.iter_mut().filter(|n| n.2 < 0) {
            if total == 0 {
                break;
            }
            n.2 += 1;
            total -= 1;
        }
        if nodes.iter().all(|n| n.2 >= 0) {
            break;
        }
    }
    nodes.sort_by_key(|n| n.2);
    let mut transfers = Vec::new();
    let (mut dst, mut src) = (0, nodes.len() - 1);
    while dst < src {
        let need = -nodes[dst].2;
        let spare = nodes[src].2;
        if need <= 0 {
            dst += 1;
            continue;
        }
        if spare <= 0 {
            src -= 1;
            continue;
        }
        let count = need.min(spare) as usize;
        let given: Vec<u16> = nodes[src].1.drain(..count).collect();
        transfers.push(SlotTransfer {
            from: nodes[src].0.clone(),
            to: nodes[dst].0.clone(),
            slots: given,
        });
        nodes[dst].2 += count as i64;
        nodes[src].2 -= count as i64;
    }
    transfers
}

/// Consecutive slots as inclusive ranges.
pub fn ranges(slots: &[u16]) -> Vec<(u16, u16)> {
    let mut out: Vec<(u16, u16)> = Vec::new();
    for &s in slots {
        match out.last_mut() {
            Some((_, last)) if *last + 1 == s => *last = s,
            _ => out.push((s, s)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(a: u16, b: u16) -> Vec<u16> {
        (a..=b).collect()
    }

    #[test]
    fn an_empty_master_gets_its_share_when_asked() {
        let masters = vec![
            ("a", range(0, 5460)),
            ("b", range(5461, 10922)),
            ("c", range(10923, 16383)),
            ("d", Vec::new()),
        ];
        assert!(rebalance(&masters, false, 2.0).is_empty());
        let moves = rebalance(&masters, true, 2.0);
        let to_d: usize = moves
            .iter()
            .filter(|m| m.to == "d")
            .map(|m| m.slots.len())
            .sum();
        assert_eq!(to_d, 4096);
        assert!(moves.iter().all(|m| m.to == "d"));
        // Everyone ends within one slot of 4096.
        for id in ["a", "b", "c"] {
            let before = masters.iter().find(|m| m.0 == id).unwrap().1.len();
            let given: usize = moves
                .iter()
                .filter(|m| m.from == id)
                .map(|m| m.slots.len())
                .sum();
            assert!(
                (4096..=4097).contains(&(before - given)),
                "{id}: {}",
                before - given
            );
        }
    }

    #[test]
    fn a_balanced_cluster_moves_nothing_and_a_skewed_one_is_evened() {
        let even = vec![("a", range(0, 8191)), ("b", range(8192, 16383))];
        assert!(rebalance(&even, false, 2.0).is_empty());
        let skewed = vec![("a", range(0, 12287)), ("b", range(12288, 16383))];
        let moves = rebalance(&skewed, false, 2.0);
        assert_eq!(
            moves,
            vec![SlotTransfer {
                from: "a",
                to: "b",
                slots: range(0, 4095)
            }]
        );
    }

    #[test]
    fn no_donor_gives_its_last_slot() {
        // Skewed down to one slot, with and without empty masters: every master that
        // had slots keeps some.
        let layouts = vec![
            vec![("a", range(0, 16382)), ("b", range(16383, 16383))],
            vec![
                ("a", range(0, 10)),
                ("b", range(11, 16000)),
                ("c", range(16001, 16383)),
                ("d", Vec::new()),
                ("e", Vec::new()),
            ],
        ];
        for masters in layouts {
            for use_empty in [false, true] {
                let moves = rebalance(&masters, use_empty, 0.0);
                for (id, slots) in masters.iter().filter(|m| !m.1.is_empty()) {
                    let given: usize = moves
                        .iter()
                        .filter(|m| m.from == *id)
                        .map(|m| m.slots.len())
                        .sum();
                    assert!(given < slots.len(), "{id} gave all {given} of its slots");
                }
            }
        }
    }

    #[test]
    fn ranges_join_consecutive_slots() {
        assert_eq!(ranges(&[1, 2, 3, 7, 9, 10]), vec![(1, 3), (7, 7), (9, 10)]);
    }
}
