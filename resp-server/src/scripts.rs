//! The node's scripting state: the EVAL engine and what other clients must know of a
//! running script (since when it runs, whether it wrote, the kill request).
//!
//! Scripts run one at a time on the node, as in Redis. A script first takes the slot
//! locks it may need, then the engine, so a script inside EXEC (which holds its locks
//! already) and a script on its own take locks in one order.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use parking_lot::{Mutex, MutexGuard};
use tessera_scripting::Engine;

/// The scripting state of a node.
#[derive(Default)]
pub struct Scripts {
    engine: Mutex<Option<Engine>>,
    /// Unix ms when the running script started; 0 when none runs.
    running_since: AtomicI64,
    /// The running script wrote: SCRIPT KILL must refuse.
    wrote: AtomicBool,
    /// SCRIPT KILL asked the running script to stop.
    kill: Arc<AtomicBool>,
}

/// What SCRIPT KILL found.
#[derive(Debug, PartialEq, Eq)]
pub enum KillVerdict {
    /// No script runs.
    NotBusy,
    /// The running script wrote; it cannot be stopped without breaking atomicity.
    Unkillable,
    /// The running script was asked to stop.
    Killed,
}

impl Scripts {
    /// The engine, built on first use.
    pub fn engine(&self) -> MutexGuard<'_, Option<Engine>> {
        let mut engine = self.engine.lock();
        if engine.is_none() {
            let built = Engine::new(Arc::clone(&self.kill)).expect("the Lua sandbox builds");
            *engine = Some(built);
        }
        engine
    }

    /// The engine if it was ever built (INFO does not build it).
    pub fn engine_if_built(&self) -> MutexGuard<'_, Option<Engine>> {
        self.engine.lock()
    }

    /// Marks a script as running from `now_ms`.
    pub fn start(&self, now_ms: i64) {
        self.wrote.store(false, Ordering::Relaxed);
        self.kill.store(false, Ordering::Relaxed);
        self.running_since.store(now_ms.max(1), Ordering::Release);
    }

    /// Marks the running script as ended.
    pub fn end(&self) {
        self.running_since.store(0, Ordering::Release);
        self.kill.store(false, Ordering::Relaxed);
    }

    /// Records that the running script writes. False when SCRIPT KILL already stopped
    /// it: the write must not happen.
    pub fn note_write(&self) -> bool {
        self.wrote.store(true, Ordering::SeqCst);
        !self.kill.load(Ordering::SeqCst)
    }

    /// True while a script has run longer than `threshold_ms`: other clients get BUSY.
    pub fn busy(&self, now_ms: i64, threshold_ms: i64) -> bool {
        let since = self.running_since.load(Ordering::Acquire);
        since != 0 && now_ms - since >= threshold_ms
    }

    /// SCRIPT KILL.
    pub fn kill(&self) -> KillVerdict {
        if self.running_since.load(Ordering::Acquire) == 0 {
            return KillVerdict::NotBusy;
        }
        self.kill.store(true, Ordering::SeqCst);
        if self.wrote.load(Ordering::SeqCst) {
            self.kill.store(false, Ordering::SeqCst);
            return KillVerdict::Unkillable;
        }
        KillVerdict::Killed
    }
}
