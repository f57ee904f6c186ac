//! Where a keyed command runs while its slot is being moved: Redis 7.0's rules for ASK,
//! ASKING and TRYAGAIN (the open-slot part of its getNodeByQuery).
//!
//! The source of a migrating slot serves a command when it holds every key it names; a
//! command whose keys are all gone follows them with ASK; one whose keys are split
//! between the two nodes can't run anywhere yet and gets TRYAGAIN. The target serves
//! only clients that said ASKING, and only single-key commands or those whose keys
//! have all arrived.

/// The slot's state on this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenSlot {
    /// This node owns the slot and is moving it away.
    Migrating,
    /// This node is receiving the slot.
    Importing,
}

/// What the command's keys look like on this node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyPresence {
    /// Keys this node holds (a key named twice counts twice).
    pub existing: usize,
    /// Keys this node lacks.
    pub missing: usize,
    /// The command names more than one distinct key.
    pub multiple_keys: bool,
}

/// The command and the client, as far as the rules care.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Asker {
    /// The client sent ASKING just before, or the command implies it (RESTORE-ASKING).
    pub asking: bool,
    /// The command is MIGRATE, which always runs where it is sent while a slot is open.
    pub is_migrate: bool,
}

/// The decision for a command on an open slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenSlotRoute {
    /// Run it here.
    Serve,
    /// `-ASK`: the keys are on the migration target.
    Ask,
    /// `-TRYAGAIN`: the keys are split between the nodes.
    TryAgain,
    /// Not decided by the open slot: the usual owner / MOVED rule applies.
    Owner,
}

/// The text of the TRYAGAIN error.
pub const TRYAGAIN: &str = "TRYAGAIN Multiple keys request during rehashing of slot";

/// Decides a command on an open slot. Call it only after the cluster-state checks:
/// Redis answers CLUSTERDOWN before any of this.
pub fn route_open_slot(slot: OpenSlot, keys: KeyPresence, asker: Asker) -> OpenSlotRoute {
    if asker.is_migrate {
        return OpenSlotRoute::Serve;
    }
    match slot {
        OpenSlot::Migrating if keys.missing > 0 => {
            if keys.existing > 0 {
                OpenSlotRoute::TryAgain
            } else {
                OpenSlotRoute::Ask
            }
        }
        OpenSlot::Migrating => OpenSlotRoute::Owner,
        OpenSlot::Importing if asker.asking => {
            if keys.multiple_keys && keys.missing > 0 {
                OpenSlotRoute::TryAgain
            } else {
                OpenSlotRoute::Serve
            }
        }
        OpenSlot::Importing => OpenSlotRoute::Owner,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(existing: usize, missing: usize) -> KeyPresence {
        KeyPresence {
            existing,
            missing,
            multiple_keys: existing + missing > 1,
        }
    }

    const PLAIN: Asker = Asker {
        asking: false,
        is_migrate: false,
    };
    const ASKING: Asker = Asker {
        asking: true,
        is_migrate: false,
    };

    #[test]
    fn the_source_serves_what_it_holds_and_sends_the_rest_on() {
        use OpenSlotRoute::*;
        let m = OpenSlot::Migrating;
        assert_eq!(route_open_slot(m, keys(1, 0), PLAIN), Owner);
        assert_eq!(route_open_slot(m, keys(0, 1), PLAIN), Ask);
        assert_eq!(route_open_slot(m, keys(0, 3), PLAIN), Ask);
        assert_eq!(route_open_slot(m, keys(2, 1), PLAIN), TryAgain);
        // ASKING means nothing on the source.
        assert_eq!(route_open_slot(m, keys(0, 1), ASKING), Ask);
    }

    #[test]
    fn the_target_serves_askers_unless_their_keys_are_split() {
        use OpenSlotRoute::*;
        let i = OpenSlot::Importing;
        assert_eq!(route_open_slot(i, keys(0, 1), PLAIN), Owner);
        assert_eq!(route_open_slot(i, keys(0, 1), ASKING), Serve);
        assert_eq!(route_open_slot(i, keys(2, 0), ASKING), Serve);
        assert_eq!(route_open_slot(i, keys(1, 1), ASKING), TryAgain);
        // The same key twice is one key.
        let twice = KeyPresence {
            existing: 0,
            missing: 2,
            multiple_keys: false,
        };
        assert_eq!(route_open_slot(i, twice, ASKING), Serve);
    }

    #[test]
    fn migrate_runs_where_it_is_sent() {
        let migrate = Asker {
            asking: false,
            is_migrate: true,
        };
        for slot in [OpenSlot::Migrating, OpenSlot::Importing] {
            assert_eq!(
                route_open_slot(slot, keys(0, 2), migrate),
                OpenSlotRoute::Serve
            );
        }
    }
}
