//! Replica migration: a replica of a master with spare replicas moves to a master
//! that lost all of its own (Redis's cluster-migration-barrier rules).

/// A master must stay orphaned this long before a replica moves to it (ms), so the
/// replicas of a master that was just failed over have time to announce their switch.
pub const DELAY: u64 = 5000;

/// Whether this replica should move now. `my_master_ok_replicas`: working replicas of
/// my master (me included); `max_ok_replicas`: the most any master has; `i_am_candidate`:
/// I have the smallest id among the replicas of the masters with that many;
/// `orphaned_for`: how long the target has had no working replica.
pub fn should_migrate(
    my_master_ok_replicas: usize,
    barrier: usize,
    max_ok_replicas: usize,
    i_am_candidate: bool,
    orphaned_for: u64,
) -> bool {
    max_ok_replicas >= 2
        && my_master_ok_replicas == max_ok_replicas
        && my_master_ok_replicas > barrier
        && i_am_candidate
        && orphaned_for > DELAY
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn barrier_candidate_and_delay() {
        assert!(should_migrate(2, 1, 2, true, 5001));
        assert!(
            !should_migrate(2, 2, 2, true, 5001),
            "the barrier keeps two"
        );
        assert!(
            !should_migrate(2, 1, 2, false, 5001),
            "another replica goes"
        );
        assert!(
            !should_migrate(2, 1, 2, true, 5000),
            "not orphaned long enough"
        );
        assert!(!should_migrate(1, 0, 1, true, 9999), "nobody has a spare");
    }
}
