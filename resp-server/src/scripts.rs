//! The node's scripting state: the EVAL engine and what other clients must know of a
//! running script (since when it runs, whether it wrote, the kill request).
//!
//! Scripts run one at a time on the node, as in Redis. A script first takes the slot
//! locks it may need, then the engine, so a script inside EXEC (which holds its locks
//! already) and a script on its own take locks in one order.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};

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
    /// SHUTDOWN NOSAVE stopped the running script: its writes must go nowhere.
    abandoned: AtomicBool,
    /// The engine's figures for INFO, kept apart so INFO (even from a script) never
    /// waits for the engine.
    lua_memory: AtomicUsize,
    scripts_memory: AtomicUsize,
    cached: AtomicUsize,
}

/// The scripting figures INFO shows.
#[derive(Debug, Clone, Copy)]
pub struct ScriptStats {
    /// Bytes the Lua state uses.
    pub lua_memory: usize,
    /// Bytes the script cache uses.
    pub scripts_memory: usize,
    /// Scripts in the cache.
    pub cached: usize,
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

    /// The engine if it was ever built (SCRIPT FLUSH does not build it).
    pub fn engine_if_built(&self) -> MutexGuard<'_, Option<Engine>> {
        self.engine.lock()
    }

    /// Records the engine's figures after a change, for INFO.
    pub fn record(&self, engine: &Engine) {
        self.lua_memory
            .store(engine.lua_memory(), Ordering::Relaxed);
        self.scripts_memory
            .store(engine.scripts_memory(), Ordering::Relaxed);
        self.cached.store(engine.count(), Ordering::Relaxed);
    }

    /// The figures INFO shows.
    pub fn stats(&self) -> ScriptStats {
        ScriptStats {
            lua_memory: self.lua_memory.load(Ordering::Relaxed),
            scripts_memory: self.scripts_memory.load(Ordering::Relaxed),
            cached: self.cached.load(Ordering::Relaxed),
        }
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

    /// SHUTDOWN NOSAVE: stops the running script even if it wrote; what it wrote is
    /// not sent to replicas or the AOF (the node goes down without saving).
    pub fn abandon(&self) {
        if self.running_since.load(Ordering::Acquire) != 0 {
            self.abandoned.store(true, Ordering::SeqCst);
            self.kill.store(true, Ordering::SeqCst);
        }
    }

    /// True when SHUTDOWN NOSAVE stopped the script that just ended.
    pub fn abandoned(&self) -> bool {
        self.abandoned.load(Ordering::SeqCst)
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
