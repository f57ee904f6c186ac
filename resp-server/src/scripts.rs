//! The node's scripting state: the EVAL engine, the function libraries, and what other
//! clients must know of a running script or function (since when it runs, whether it
//! wrote, the kill request, which function runs).
//!
//! Scripts run one at a time on the node, as in Redis. A script takes the engine
//! first, then slot locks, and EXEC takes the engine before its slot locks when it
//! queued a scripting command: so nobody waits for the engine while holding a slot,
//! and the one script running may wait for the slots it reaches
//! (`crate::commands::script_locks`). The engine's lock is reentrant for the EXEC
//! that holds it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};

use std::cell::RefCell;

use parking_lot::{Mutex, MutexGuard, ReentrantMutex, ReentrantMutexGuard};
use tessera_scripting::{Engine, Functions, ScriptFlags};

/// The held engine lock; `borrow_mut` it to use the engine.
pub type EngineGuard<'a> = ReentrantMutexGuard<'a, RefCell<Option<Engine>>>;

/// The scripting state of a node.
#[derive(Default)]
pub struct Scripts {
    engine: ReentrantMutex<RefCell<Option<Engine>>>,
    /// Whether the node was over `maxmemory` (eviction could not make room) when the
    /// last EVAL, EVALSHA, FCALL or FCALL_RO was dispatched, as Redis's `script_oom`.
    oom_at_start: AtomicBool,
    /// The function libraries. FCALL takes the EVAL engine's lock first, so scripts
    /// and functions run one at a time together.
    functions: Mutex<Option<Functions>>,
    /// The running function and the FCALL that runs it; `None` while an EVAL runs.
    running_function: Mutex<Option<RunningFunction>>,
    /// Libraries and functions loaded, for FUNCTION STATS while a function runs.
    library_count: AtomicUsize,
    function_count: AtomicUsize,
    /// The function engine's Lua memory and its libraries' bookkeeping, for INFO.
    functions_vm: AtomicUsize,
    functions_memory: AtomicUsize,
    /// Each function's flags by lowercase name, for dispatch's checks, which must not
    /// wait for a running function's lock.
    function_flags: parking_lot::RwLock<std::collections::HashMap<String, ScriptFlags>>,
    /// The flags of cached scripts with a shebang by SHA1, for dispatch's checks of
    /// EVALSHA, likewise.
    script_flags: parking_lot::RwLock<std::collections::HashMap<String, ScriptFlags>>,
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

/// The function FCALL runs, as FUNCTION STATS shows it.
#[derive(Debug, Clone)]
pub struct RunningFunction {
    /// The function's name.
    pub name: String,
    /// The FCALL command that runs it.
    pub command: Vec<Vec<u8>>,
}

/// What SCRIPT KILL or FUNCTION KILL found.
#[derive(Debug, PartialEq, Eq)]
pub enum KillVerdict {
    /// No script runs.
    NotBusy,
    /// A function runs and SCRIPT KILL was asked, or a script and FUNCTION KILL.
    OtherKind,
    /// The running script wrote; it cannot be stopped without breaking atomicity.
    Unkillable,
    /// The running script was asked to stop.
    Killed,
}

impl Scripts {
    /// The engine, built on first use. Borrow it mutably only for the moment it is
    /// used: an EXEC holding the lock runs its scripts through the same cell.
    pub fn engine(&self) -> EngineGuard<'_> {
        let engine = self.engine.lock();
        if engine.borrow().is_none() {
            let built = Engine::new(Arc::clone(&self.kill)).expect("the Lua sandbox builds");
            *engine.borrow_mut() = Some(built);
        }
        engine
    }

    /// Records whether the node is over `maxmemory` as a script starts.
    pub fn set_oom_at_start(&self, oom: bool) {
        self.oom_at_start.store(oom, Ordering::Relaxed);
    }

    /// Whether the node was over `maxmemory` as the last script started: its
    /// deny-oom commands are then refused until it wrote.
    pub fn oom_at_start(&self) -> bool {
        self.oom_at_start.load(Ordering::Relaxed)
    }

    /// The function engine, built on first use.
    pub fn functions(&self) -> MutexGuard<'_, Option<Functions>> {
        let mut functions = self.functions.lock();
        if functions.is_none() {
            let built = Functions::new(Arc::clone(&self.kill)).expect("the Lua sandbox builds");
            *functions = Some(built);
        }
        functions
    }

    /// The function engine if it was ever built.
    pub fn functions_if_built(&self) -> MutexGuard<'_, Option<Functions>> {
        self.functions.lock()
    }

    /// The libraries' codes, for an RDB snapshot (none if no library was ever loaded).
    pub fn library_codes(&self) -> Vec<Arc<[u8]>> {
        match self.functions.lock().as_ref() {
            Some(f) => f.libraries().map(|l| Arc::clone(&l.code)).collect(),
            None => Vec::new(),
        }
    }

    /// Loads the libraries an RDB snapshot held. `replace_all` (a replica's full sync,
    /// DEBUG RELOAD) drops the libraries loaded before, as Redis empties them with the
    /// data; otherwise a library of the same name is replaced.
    pub fn load_libraries(&self, codes: &[Vec<u8>], replace_all: bool) -> Result<(), String> {
        if codes.is_empty() && !replace_all {
            return Ok(());
        }
        let mut guard = self.functions();
        let functions = guard.as_mut().expect("functions() builds the engine");
        let policy = if replace_all {
            tessera_scripting::RestorePolicy::Flush
        } else {
            tessera_scripting::RestorePolicy::Replace
        };
        let result = functions.restore(codes, policy);
        if result.is_err() && replace_all {
            functions.flush();
        }
        self.record_functions(functions);
        result
    }

    /// Records the libraries' counts after a change, for FUNCTION STATS.
    pub fn record_functions(&self, functions: &Functions) {
        let (libraries, count) = functions.counts();
        self.library_count.store(libraries, Ordering::Relaxed);
        self.function_count.store(count, Ordering::Relaxed);
        self.functions_vm
            .store(functions.lua_memory(), Ordering::Relaxed);
        self.functions_memory
            .store(functions.overhead(), Ordering::Relaxed);
        *self.function_flags.write() = functions
            .libraries()
            .flat_map(|l| l.functions.values())
            .map(|f| (f.name.to_ascii_lowercase(), f.flags))
            .collect();
    }

    /// Records the function engine's Lua memory after a run, for INFO.
    pub fn record_function_vm(&self, functions: &Functions) {
        self.functions_vm
            .store(functions.lua_memory(), Ordering::Relaxed);
    }

    /// The function engine's Lua memory and its libraries' bookkeeping, in bytes.
    pub fn function_memory(&self) -> (usize, usize) {
        (
            self.functions_vm.load(Ordering::Relaxed),
            self.functions_memory.load(Ordering::Relaxed),
        )
    }

    /// Records a cached script's flags if it has a shebang.
    pub fn note_script_flags(&self, sha: &str, flags: ScriptFlags) {
        if flags.shebang && !self.script_flags.read().contains_key(sha) {
            self.script_flags.write().insert(sha.to_string(), flags);
        }
    }

    /// SCRIPT FLUSH: no script is cached any more.
    pub fn forget_script_flags(&self) {
        self.script_flags.write().clear();
    }

    /// The flags of the cached script EVALSHA names, if it has a shebang.
    pub fn script_flags(&self, sha: &[u8]) -> Option<ScriptFlags> {
        let lower = String::from_utf8_lossy(sha).to_ascii_lowercase();
        self.script_flags.read().get(&lower).copied()
    }

    /// The flags of the function FCALL names, if loaded.
    pub fn function_flags(&self, name: &[u8]) -> Option<ScriptFlags> {
        let lower = String::from_utf8_lossy(name).to_ascii_lowercase();
        self.function_flags.read().get(&lower).copied()
    }

    /// How many libraries and functions are loaded.
    pub fn function_counts(&self) -> (usize, usize) {
        (
            self.library_count.load(Ordering::Relaxed),
            self.function_count.load(Ordering::Relaxed),
        )
    }

    /// The running function, if a function (not an EVAL script) runs.
    pub fn running_function(&self) -> Option<RunningFunction> {
        if self.running_since.load(Ordering::Acquire) == 0 {
            return None;
        }
        self.running_function.lock().clone()
    }

    /// Since when (Unix ms) a script or function runs; 0 when none.
    pub fn running_since(&self) -> i64 {
        self.running_since.load(Ordering::Acquire)
    }

    /// The engine if it was ever built (SCRIPT FLUSH does not build it).
    pub fn engine_if_built(&self) -> EngineGuard<'_> {
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

    /// Marks a script as running from `now_ms`; `function` names the function an
    /// FCALL runs.
    pub fn start(&self, now_ms: i64, function: Option<RunningFunction>) {
        *self.running_function.lock() = function;
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

    /// SCRIPT KILL (`function` false) or FUNCTION KILL (`function` true), checked in
    /// Redis's order: nothing runs, it wrote, it is of the other kind.
    pub fn kill(&self, function: bool) -> KillVerdict {
        if self.running_since.load(Ordering::Acquire) == 0 {
            return KillVerdict::NotBusy;
        }
        if self.wrote.load(Ordering::SeqCst) {
            return KillVerdict::Unkillable;
        }
        if self.running_function.lock().is_some() != function {
            return KillVerdict::OtherKind;
        }
        self.kill.store(true, Ordering::SeqCst);
        if self.wrote.load(Ordering::SeqCst) {
            self.kill.store(false, Ordering::SeqCst);
            return KillVerdict::Unkillable;
        }
        KillVerdict::Killed
    }
}
