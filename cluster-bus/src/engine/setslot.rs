//! CLUSTER SETSLOT: the slot states of a live migration (Redis 7.0's rules and texts).
//! MIGRATING and IMPORTING are local marks that make this node redirect with ASK or
//! accept ASKING; NODE hands the slot over, and a node that receives a slot it was
//! importing takes a new configEpoch so the whole cluster adopts the change.

use super::{Answer, CommandError, Engine, SetSlotAction};
use crate::node_id::NodeId;

fn refused(text: impl Into<String>) -> Result<Answer, CommandError> {
    Err(CommandError::Refused(text.into()))
}

impl Engine {
    fn master_by_text(&self, id: &str, unknown: &str) -> Result<NodeId, CommandError> {
        let Some(n) = NodeId::parse(id.as_bytes()).and_then(|n| self.topo.node(&n)) else {
            return Err(CommandError::Refused(format!("ERR {unknown} {id}")));
        };
        if n.is_replica() {
            return Err(CommandError::Refused(
                "ERR Target node is not a master".into(),
            ));
        }
        Ok(n.id)
    }

    pub(super) fn set_slot(
        &mut self,
        slot: u16,
        action: SetSlotAction,
        keys_in_slot: usize,
        now: u64,
    ) -> Result<Answer, CommandError> {
        let me = self.topo.myself();
        if self.topo.me().is_replica() {
            return refused("ERR Please use SETSLOT only with masters.");
        }
        let owner = self.topo.slot_owner(slot);
        match action {
            SetSlotAction::Migrating(id) => {
                if owner != Some(me) {
                    return refused(format!("ERR I'm not the owner of hash slot {slot}"));
                }
                let target = self.master_by_text(&id, "I don't know about node")?;
                self.topo.set_migrating(slot, target);
            }
            SetSlotAction::Importing(id) => {
                if owner == Some(me) {
                    return refused(format!("ERR I'm already the owner of hash slot {slot}"));
                }
                let source = self.master_by_text(&id, "I don't know about node")?;
                self.topo.set_importing(slot, source);
            }
            SetSlotAction::Stable => {
                self.topo.stop_importing(slot);
                self.topo.stop_migrating(slot);
            }
            SetSlotAction::Node(id) => {
                let target = self.master_by_text(&id, "Unknown node")?;
                if owner == Some(me) && target != me && keys_in_slot != 0 {
                    return refused(format!(
                        "ERR Can't assign hashslot {slot} to a different node while I still hold keys for this hash slot."
                    ));
                }
                if keys_in_slot == 0 {
                    self.topo.stop_migrating(slot);
                }
                let was_mine = owner == Some(me);
                self.topo.del_slot(slot);
                self.topo.add_slot(target, slot);
                if was_mine
                    && target != me
                    && self.topo.me().slot_count == 0
                    && self.cfg.allow_replica_migration
                {
                    tracing::warn!(master = %target, "configuration change detected; reconfiguring myself as a replica");
                    self.become_replica_of(target, now);
                    self.save(true);
                }
                if target == me && self.topo.stop_importing(slot).is_some() {
                    // The slot was moved by hand: a new configEpoch makes every node
                    // prefer this claim, and everyone hears it now.
                    if self.bump_epoch_without_consensus() {
                        tracing::warn!(slot, "configEpoch updated after importing slot");
                    }
                    self.todo.broadcast_pong = true;
                }
            }
        }
        self.topo.touch();
        self.save(false);
        self.update_state_later();
        Ok(Answer::Ok)
    }
}
