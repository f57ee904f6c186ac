//! Closing a batch of a slot move, and the source that demotes itself when its last
//! slot goes.
//!
//! A batch is closed with `CLUSTER SETSLOT <slot> NODE <target>` on the target first,
//! then on the source. The target goes first because its claim, under the new
//! configEpoch it takes for it, is what the cluster adopts: were the source closed
//! first and the target then lost, the slot would point at a node that never took it.
//!
//! Closing the target first has a consequence when the batch holds the source's last
//! slots. A master left without slots by a peer's newer claim turns itself into a
//! replica of that peer (Redis 7.0 and Tessera, under cluster-allow-replica-migration,
//! the default; Redis logs "Configuration change detected. Reconfiguring myself as a
//! replica of ..."), and the target's claim usually reaches the source before the
//! orchestrator's own SETSLOT does. A replica refuses SETSLOT with
//! [`NOT_A_MASTER`]. That refusal is the batch's success, not its failure: turning
//! into a replica closed every slot the source had open, and the target already owns
//! them. `redis-cli --cluster` 7.0 accepts the same refusal from the source at the
//! same step. Here it is accepted only when the source's own view confirms it: it
//! follows the target and has no slot of the batch open.

/// What a replica answers to CLUSTER SETSLOT (Redis 7.0's text, and Tessera's).
pub const NOT_A_MASTER: &str = "ERR Please use SETSLOT only with masters.";

/// Whether the source's refusal of the closing SETSLOT may be its demotion: the only
/// refusal worth looking into, as every other one is a real failure.
pub fn refused_as_replica(error: &[u8]) -> bool {
    error.starts_with(NOT_A_MASTER.as_bytes())
}

/// The source as it describes itself (its own CLUSTER NODES line), read after it
/// refused with [`NOT_A_MASTER`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSelf<Id> {
    /// The master it replicates, when it is a replica.
    pub master: Option<Id>,
    /// Slots it still marks as migrating or importing.
    pub open: Vec<u16>,
}

/// Why a refusing source does not count as closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseError<Id> {
    /// It is not a replica of the target: it is still a master (it refused for
    /// another reason) or it follows another node, so the target's claim is not
    /// what made it let go, and nobody has closed its side.
    NotFollowingTarget {
        /// Whom it follows, if anyone.
        master: Option<Id>,
    },
    /// It follows the target but still has slots of the batch open.
    StillOpen {
        /// Those slots.
        slots: Vec<u16>,
    },
}

impl<Id: std::fmt::Display> std::fmt::Display for CloseError<Id> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CloseError::NotFollowingTarget { master: None } => {
                write!(f, "the source refused although it is not a replica")
            }
            CloseError::NotFollowingTarget { master: Some(m) } => write!(
                f,
                "the source follows {m}, not the target, so the target's claim did not \
                 close its side of the batch"
            ),
            CloseError::StillOpen { slots } => write!(
                f,
                "the source follows the target but still has slots {slots:?} open"
            ),
        }
    }
}

impl<Id: std::fmt::Debug + std::fmt::Display> std::error::Error for CloseError<Id> {}

/// Decides whether a source that refused the closing SETSLOT with [`NOT_A_MASTER`] has
/// its side of `batch` closed, once the target has closed the batch: it must have
/// become the target's replica and hold none of the batch's slots open.
pub fn demoted_source_closed<Id: Clone + PartialEq>(
    source: &SourceSelf<Id>,
    batch: &[u16],
    target: &Id,
) -> Result<(), CloseError<Id>> {
    if source.master.as_ref() != Some(target) {
        return Err(CloseError::NotFollowingTarget {
            master: source.master.clone(),
        });
    }
    let open: Vec<u16> = batch
        .iter()
        .copied()
        .filter(|s| source.open.contains(s))
        .collect();
    if open.is_empty() {
        Ok(())
    } else {
        Err(CloseError::StillOpen { slots: open })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_replica_refusal_is_looked_into() {
        assert!(refused_as_replica(
            b"ERR Please use SETSLOT only with masters."
        ));
        assert!(!refused_as_replica(
            b"ERR Can't assign hashslot 7 to a different node while I still hold keys for this hash slot."
        ));
        assert!(!refused_as_replica(b"ERR I'm not the owner of hash slot 7"));
    }

    #[test]
    fn a_source_that_follows_the_target_with_nothing_open_is_closed() {
        let source = SourceSelf {
            master: Some("t"),
            open: vec![],
        };
        assert_eq!(demoted_source_closed(&source, &[1, 2, 3], &"t"), Ok(()));
    }

    #[test]
    fn a_source_that_follows_another_node_or_nobody_is_not() {
        let elsewhere = SourceSelf {
            master: Some("x"),
            open: vec![],
        };
        assert_eq!(
            demoted_source_closed(&elsewhere, &[1], &"t"),
            Err(CloseError::NotFollowingTarget { master: Some("x") })
        );
        let master = SourceSelf {
            master: None,
            open: vec![1],
        };
        assert_eq!(
            demoted_source_closed(&master, &[1], &"t"),
            Err(CloseError::NotFollowingTarget { master: None })
        );
    }

    #[test]
    fn a_slot_of_the_batch_still_open_is_reported() {
        let source = SourceSelf {
            master: Some("t"),
            open: vec![2, 900],
        };
        assert_eq!(
            demoted_source_closed(&source, &[1, 2, 3], &"t"),
            Err(CloseError::StillOpen { slots: vec![2] })
        );
    }
}
