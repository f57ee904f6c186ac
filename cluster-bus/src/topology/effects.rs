//! What a change to the topology obliges the engine to do before the input ends: save
//! nodes.conf (with or without fsync) and evaluate the cluster state. The mutation
//! methods record it themselves, and the engine drains it once per input, so a caller
//! cannot forget it and a batch of changes (a MULTI of SETSLOTs) still saves once.

use super::Topology;

/// Consequences recorded since the engine last drained them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Effects {
    /// nodes.conf must be written.
    pub save: bool,
    /// ... and fsynced (a vote, an epoch this node took, a role change).
    pub fsync: bool,
    /// The cluster state must be evaluated again.
    pub update_state: bool,
}

impl Topology {
    /// Takes the consequences recorded so far, leaving none.
    pub fn take_effects(&mut self) -> Effects {
        std::mem::take(&mut self.effects)
    }

    /// Records that nodes.conf must be saved (`fsync`: durably, before any message that
    /// depends on it leaves).
    pub(crate) fn needs_save(&mut self, fsync: bool) {
        self.effects.save = true;
        self.effects.fsync |= fsync;
    }

    /// Records that the cluster state must be evaluated again.
    pub(crate) fn needs_state_update(&mut self) {
        self.effects.update_state = true;
    }

    /// Records a change that can alter routing (republished after the input).
    pub(crate) fn touch(&mut self) {
        self.version += 1;
    }

    /// The routing-relevant version: it moves with every change that can alter routing.
    pub fn version(&self) -> u64 {
        self.version
    }
}
