//! An orchestrated slot move, as a plan: which slots move from which owner, in which
//! batches, and the commands each step sends. No IO: the admin plane runs the plan
//! against the nodes.
//!
//! A batch is a set of slots with one source. It opens them all (IMPORTING on the
//! target, MIGRATING on the source, each side in one MULTI/EXEC), empties them with
//! pipelined MIGRATEs, and closes them all (NODE on the target, then on the source,
//! again each in one MULTI/EXEC; a source that gave its last slot may refuse the
//! second as a replica of the target, see [`crate::close`]). One MULTI means one engine step: the target takes
//! the whole batch with a single epoch bump and a single nodes.conf fsync, which is
//! where redis-cli, a slot at a time, spends most of its time.
//!
//! Every step is safe to repeat, so a plan built again from the cluster's state
//! resumes a cancelled or crashed move: slots already on the target are skipped, and
//! a half-moved slot (open on both sides, keys on both) is opened again, emptied and
//! closed like any other.

/// A command's arguments.
pub type Command = Vec<Vec<u8>>;

/// Slots per batch unless the caller says otherwise.
pub const DEFAULT_BATCH_SLOTS: usize = 256;
/// Keys per MIGRATE (and per GETKEYSINSLOT) unless the caller says otherwise.
pub const DEFAULT_KEYS_PER_MIGRATE: usize = 1000;

/// Why a move can't be planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// A slot has no owner to move it from.
    Unassigned(u16),
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanError::Unassigned(slot) => write!(
                f,
                "slot {slot} has no owner to move it from; assign it with AddSlots instead"
            ),
        }
    }
}

/// Slots with one source, moved together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch<Id> {
    /// The current owner.
    pub source: Id,
    /// The slots, ascending.
    pub slots: Vec<u16>,
}

/// The whole move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovePlan<Id> {
    /// Slots of the request in all.
    pub total: usize,
    /// Slots already on the target.
    pub skipped: usize,
    /// What remains, in order.
    pub batches: Vec<Batch<Id>>,
}

impl<Id: Clone + PartialEq> MovePlan<Id> {
    /// Plans moving `slots` (each with its current owner) to `target`, at most
    /// `batch_slots` slots per batch.
    pub fn new(
        slots: impl IntoIterator<Item = (u16, Option<Id>)>,
        target: &Id,
        batch_slots: usize,
    ) -> Result<MovePlan<Id>, PlanError> {
        let batch_slots = batch_slots.max(1);
        let mut plan = MovePlan {
            total: 0,
            skipped: 0,
            batches: Vec::new(),
        };
        // Batches by source, in order of each source's first slot.
        let mut by_source: Vec<(Id, Vec<u16>)> = Vec::new();
        for (slot, owner) in slots {
            plan.total += 1;
            let owner = owner.ok_or(PlanError::Unassigned(slot))?;
            if &owner == target {
                plan.skipped += 1;
                continue;
            }
            match by_source.iter_mut().find(|(s, _)| *s == owner) {
                Some((_, list)) => list.push(slot),
                None => by_source.push((owner, vec![slot])),
            }
        }
        for (source, slots) in by_source {
            for chunk in slots.chunks(batch_slots) {
                plan.batches.push(Batch {
                    source: source.clone(),
                    slots: chunk.to_vec(),
                });
            }
        }
        Ok(plan)
    }
}

/// `MULTI`, `CLUSTER SETSLOT <slot> <action> <node>` for each slot, `EXEC`.
pub fn setslot_transaction(slots: &[u16], action: &str, node: &str) -> Vec<Command> {
    let mut out = Vec::with_capacity(slots.len() + 2);
    out.push(vec![b"MULTI".to_vec()]);
    for slot in slots {
        out.push(vec![
            b"CLUSTER".to_vec(),
            b"SETSLOT".to_vec(),
            slot.to_string().into_bytes(),
            action.as_bytes().to_vec(),
            node.as_bytes().to_vec(),
        ]);
    }
    out.push(vec![b"EXEC".to_vec()]);
    out
}

/// `CLUSTER GETKEYSINSLOT <slot> <count>`.
pub fn keys_in_slot(slot: u16, count: usize) -> Command {
    vec![
        b"CLUSTER".to_vec(),
        b"GETKEYSINSLOT".to_vec(),
        slot.to_string().into_bytes(),
        count.to_string().into_bytes(),
    ]
}

/// Where MIGRATE sends keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateTarget<'a> {
    /// Host.
    pub host: &'a str,
    /// Client port.
    pub port: u16,
    /// MIGRATE's timeout, ms.
    pub timeout_ms: u64,
    /// The target's password (the default user's), if it has one.
    pub password: Option<&'a str>,
}

/// `MIGRATE host port "" 0 timeout REPLACE [AUTH pw] KEYS k...`.
///
/// REPLACE because a key on both sides can only be a copy a crashed MIGRATE left on
/// the target: while a slot is migrating, a key the source holds is written on the
/// source, so the source's value is the one to keep.
pub fn migrate(target: &MigrateTarget<'_>, keys: &[Vec<u8>]) -> Command {
    let mut out = vec![
        b"MIGRATE".to_vec(),
        target.host.as_bytes().to_vec(),
        target.port.to_string().into_bytes(),
        Vec::new(),
        b"0".to_vec(),
        target.timeout_ms.to_string().into_bytes(),
        b"REPLACE".to_vec(),
    ];
    if let Some(pw) = target.password {
        out.push(b"AUTH".to_vec());
        out.push(pw.as_bytes().to_vec());
    }
    out.push(b"KEYS".to_vec());
    out.extend(keys.iter().cloned());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_group_by_source_and_skip_the_target() {
        let slots = (0..10u16).map(|s| (s, Some(if s < 6 { "a" } else { "b" })));
        let plan = MovePlan::new(slots.chain([(10, Some("t"))]), &"t", 4).unwrap();
        assert_eq!(plan.total, 11);
        assert_eq!(plan.skipped, 1);
        assert_eq!(
            plan.batches,
            vec![
                Batch {
                    source: "a",
                    slots: vec![0, 1, 2, 3]
                },
                Batch {
                    source: "a",
                    slots: vec![4, 5]
                },
                Batch {
                    source: "b",
                    slots: vec![6, 7, 8, 9]
                },
            ]
        );
    }

    #[test]
    fn an_unassigned_slot_is_refused() {
        let err = MovePlan::new([(1, Some("a")), (2, None)], &"t", 10).unwrap_err();
        assert_eq!(err, PlanError::Unassigned(2));
    }

    #[test]
    fn a_move_already_done_has_no_batches() {
        let plan = MovePlan::new((0..5).map(|s| (s, Some("t"))), &"t", 10).unwrap();
        assert_eq!((plan.total, plan.skipped, plan.batches.len()), (5, 5, 0));
    }

    #[test]
    fn commands_are_spelled_as_redis_expects() {
        let tx = setslot_transaction(&[7, 9], "IMPORTING", "abc");
        assert_eq!(tx.len(), 4);
        assert_eq!(
            tx[1],
            [&b"CLUSTER"[..], b"SETSLOT", b"7", b"IMPORTING", b"abc"]
        );
        let m = migrate(
            &MigrateTarget {
                host: "10.0.0.1",
                port: 7001,
                timeout_ms: 5000,
                password: Some("pw"),
            },
            &[b"k1".to_vec()],
        );
        let text: Vec<&[u8]> = m.iter().map(Vec::as_slice).collect();
        assert_eq!(
            text,
            [
                &b"MIGRATE"[..],
                b"10.0.0.1",
                b"7001",
                b"",
                b"0",
                b"5000",
                b"REPLACE",
                b"AUTH",
                b"pw",
                b"KEYS",
                b"k1"
            ]
        );
    }
}
