//! The function engine: libraries loaded by FUNCTION LOAD (or RESTORE, or an RDB),
//! compiled in a Lua state of their own as Redis 7.0's function_lua does, and
//! FCALL's lookup and run of their functions.
//!
//! Errors are Redis's texts without their `ERR ` code, which the caller adds.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mlua::{Function, HookTriggers, Table, VmState};

use crate::engine::{EngineError, invoke, string_array};
use crate::library::{BAD_NAME, FunctionInfo, Library, parse_metadata, valid_name};
use crate::register::{self, Pending};
use crate::sandbox::{self, Sandbox};
use crate::{CommandRunner, Outcome};

/// The environment switch of library_env.lua.
const LIBRARY_ENV: &str = include_str!("library_env.lua");

/// How long a library's code may run while it loads, as Redis's LOAD_TIMEOUT_MS.
const LOAD_TIMEOUT: Duration = Duration::from_millis(500);

/// Instructions between two checks of the kill flag and the load deadline.
const HOOK_EVERY: u32 = 100_000;

/// What FUNCTION RESTORE does with the libraries already loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestorePolicy {
    /// Drop them all first.
    Flush,
    /// Keep them; a library of the same name fails the restore.
    Append,
    /// Keep them; a library of the same name is replaced.
    Replace,
}

/// The function engine and its libraries.
pub struct Functions {
    sandbox: Sandbox,
    env: Table,
    set_loading: Function,
    pending: Pending,
    load_deadline: Arc<Mutex<Option<Instant>>>,
    kill: Arc<AtomicBool>,
    libraries: BTreeMap<String, Library>,
    /// Function name, lowercase (FCALL's lookup ignores case) → its library.
    index: HashMap<String, String>,
}

impl Functions {
    /// A new engine without libraries; `kill` is the flag FUNCTION KILL sets.
    pub fn new(kill: Arc<AtomicBool>) -> Result<Functions, EngineError> {
        let sandbox = sandbox::build()?;
        let lua = &sandbox.lua;
        let pending: Pending = Arc::default();
        let load_api = lua.create_table()?;
        for (name, value) in sandbox.redis.pairs::<String, mlua::Value>().flatten() {
            if name == "log" || name.starts_with("LOG_") || name.starts_with("REDIS_VERSION") {
                load_api.raw_set(name, value)?;
            }
        }
        load_api.raw_set(
            "register_function",
            register::function(lua, Arc::clone(&pending))?,
        )?;
        let (env, set_loading): (Table, Function) = lua
            .load(LIBRARY_ENV)
            .set_name("=redis_prelude")
            .call((sandbox.real_globals.clone(), load_api))?;
        let load_deadline: Arc<Mutex<Option<Instant>>> = Arc::default();
        let (hook_kill, hook_deadline) = (Arc::clone(&kill), Arc::clone(&load_deadline));
        lua.set_hook(
            HookTriggers::new().every_nth_instruction(HOOK_EVERY),
            move |_, _| {
                let late = hook_deadline
                    .lock()
                    .expect("deadline lock")
                    .is_some_and(|at| Instant::now() > at);
                if late {
                    return Err(crate::raise::table("ERR FUNCTION LOAD timeout"));
                }
                if hook_kill.load(Ordering::Relaxed) {
                    return Err(mlua::Error::RuntimeError("killed".into()));
                }
                Ok(VmState::Continue)
            },
        )?;
        Ok(Functions {
            sandbox,
            env,
            set_loading,
            pending,
            load_deadline,
            kill,
            libraries: BTreeMap::new(),
            index: HashMap::new(),
        })
    }

    /// FUNCTION LOAD: compiles `code` and adds its library, replacing one of the same
    /// name if `replace`. Answers the library's name.
    pub fn load(&mut self, code: &[u8], replace: bool) -> Result<String, String> {
        let name = check_metadata(code)?;
        if !replace && self.libraries.contains_key(&name) {
            return Err(format!("Library '{name}' already exists"));
        }
        let library = self.compile(code, name)?;
        let replaced = [library.name.clone()];
        self.check_collisions(&library, &replaced)?;
        let name = library.name.clone();
        self.unlink(&name);
        self.link(library);
        Ok(name)
    }

    /// FUNCTION RESTORE of the libraries' codes `codes`, all or nothing.
    pub fn restore(&mut self, codes: &[Vec<u8>], policy: RestorePolicy) -> Result<(), String> {
        let mut incoming: BTreeMap<String, Library> = BTreeMap::new();
        let mut names: HashMap<String, ()> = HashMap::new();
        for code in codes {
            let name = check_metadata(code)?;
            if incoming.contains_key(&name) {
                return Err(format!("Library '{name}' already exists"));
            }
            let library = self.compile(code, name)?;
            for f in library.functions.keys() {
                if names.insert(f.to_ascii_lowercase(), ()).is_some() {
                    return Err(format!("Function {f} already exists"));
                }
            }
            incoming.insert(library.name.clone(), library);
        }
        if policy == RestorePolicy::Flush {
            self.flush();
        }
        let mut replaced = Vec::new();
        for name in incoming.keys() {
            if self.libraries.contains_key(name) {
                if policy != RestorePolicy::Replace {
                    return Err(format!("Library {name} already exists"));
                }
                replaced.push(name.clone());
            }
        }
        for library in incoming.values() {
            self.check_collisions(library, &replaced)?;
        }
        for (name, library) in incoming {
            self.unlink(&name);
            self.link(library);
        }
        Ok(())
    }

    /// FUNCTION DELETE; false if there is no such library.
    pub fn delete(&mut self, name: &[u8]) -> bool {
        let name = String::from_utf8_lossy(name);
        self.unlink(&name)
    }

    /// FUNCTION FLUSH.
    pub fn flush(&mut self) {
        self.libraries.clear();
        self.index.clear();
        let _ = self.sandbox.lua.gc_collect();
    }

    /// The libraries, by name.
    pub fn libraries(&self) -> impl Iterator<Item = &Library> {
        self.libraries.values()
    }

    /// How many libraries and functions are loaded.
    pub fn counts(&self) -> (usize, usize) {
        (self.libraries.len(), self.index.len())
    }

    /// Bytes the libraries' codes, names and descriptions take, with a fixed cost per
    /// library and function, roughly as Redis counts `used_memory_functions`.
    pub fn overhead(&self) -> usize {
        self.libraries
            .values()
            .map(|l| {
                let functions: usize = l
                    .functions
                    .values()
                    .map(|f| 64 + f.name.len() + f.description.as_ref().map_or(0, Vec::len))
                    .sum();
                48 + l.name.len() + l.code.len() + functions
            })
            .sum()
    }

    /// Bytes the engine's Lua state uses.
    pub fn lua_memory(&self) -> usize {
        self.sandbox.lua.used_memory()
    }

    /// The function FCALL names (case-insensitive), if loaded.
    pub fn function(&self, name: &[u8]) -> Option<&FunctionInfo> {
        let lower = String::from_utf8_lossy(name).to_ascii_lowercase();
        let library = self.libraries.get(self.index.get(&lower)?)?;
        library
            .functions
            .values()
            .find(|f| f.name.eq_ignore_ascii_case(&lower))
    }

    /// Runs function `name` with `keys` and `args`; `redis.call` runs commands through
    /// `runner`. `None` if there is no such function.
    pub fn call(
        &mut self,
        name: &[u8],
        keys: &[&[u8]],
        args: &[&[u8]],
        runner: &mut dyn CommandRunner,
    ) -> Option<Outcome> {
        let (callback, fname) = {
            let f = self.function(name)?;
            (f.callback.clone(), f.name.clone())
        };
        let lua = &self.sandbox.lua;
        let outcome = string_array(lua, keys)
            .and_then(|k| Ok((k, string_array(lua, args)?)))
            .and_then(|arguments| {
                invoke(
                    &self.sandbox,
                    &self.kill,
                    callback,
                    Some(arguments),
                    runner,
                    &fname,
                )
            });
        self.kill.store(false, Ordering::Relaxed);
        Some(outcome.unwrap_or_else(|e| {
            Outcome::Reply(crate::Frame::Error(
                format!("ERR Error running script: {e}").into_bytes(),
            ))
        }))
    }

    /// Runs a library's code in the load-time environment and collects what it
    /// registered.
    fn compile(&mut self, code: &[u8], name: String) -> Result<Library, String> {
        let body = &code[parse_metadata(code)?.body_start..];
        let chunk = self
            .sandbox
            .lua
            .load(body)
            .set_name("@user_function")
            .set_environment(self.env.clone())
            .into_function()
            .map_err(|e| {
                let text = match e {
                    mlua::Error::SyntaxError { message, .. } => message,
                    other => other.to_string(),
                };
                format!("Error compiling function: {text}")
            })?;
        *self.pending.lock().expect("pending lock") = Some(Vec::new());
        *self.load_deadline.lock().expect("deadline lock") = Some(Instant::now() + LOAD_TIMEOUT);
        let ran = self
            .set_loading
            .call::<()>(true)
            .and_then(|()| self.sandbox.run.call::<mlua::MultiValue>(chunk));
        let _ = self.set_loading.call::<()>(false);
        *self.load_deadline.lock().expect("deadline lock") = None;
        let registered = self
            .pending
            .lock()
            .expect("pending lock")
            .take()
            .unwrap_or_default();
        let result = ran.map_err(|e| format!("Error registering functions: ERR {e}"))?;
        let mut values = result.into_iter();
        if !matches!(values.next(), Some(mlua::Value::Boolean(true))) {
            let text = match values.next() {
                Some(mlua::Value::Table(t)) => t
                    .raw_get::<mlua::LuaString>("err")
                    .map(|s| String::from_utf8_lossy(&s.as_bytes()).into_owned())
                    .unwrap_or_default(),
                _ => String::new(),
            };
            return Err(format!("Error registering functions: {text}"));
        }
        if registered.is_empty() {
            return Err("No functions registered".into());
        }
        Ok(Library {
            name,
            code: code.into(),
            functions: registered
                .into_iter()
                .map(|f| (f.name.clone(), f))
                .collect(),
        })
    }

    /// A function of `library` whose name another library (not among `replaced`)
    /// already has.
    fn check_collisions(&self, library: &Library, replaced: &[String]) -> Result<(), String> {
        for f in library.functions.keys() {
            if let Some(owner) = self.index.get(&f.to_ascii_lowercase()) {
                if !replaced.contains(owner) {
                    return Err(format!("Function {f} already exists"));
                }
            }
        }
        Ok(())
    }

    fn link(&mut self, library: Library) {
        for f in library.functions.keys() {
            self.index
                .insert(f.to_ascii_lowercase(), library.name.clone());
        }
        self.libraries.insert(library.name.clone(), library);
    }

    fn unlink(&mut self, name: &str) -> bool {
        let Some(library) = self.libraries.remove(name) else {
            return false;
        };
        for f in library.functions.keys() {
            self.index.remove(&f.to_ascii_lowercase());
        }
        true
    }
}

/// The checks of a library's metadata that need no Lua: answers its name.
fn check_metadata(code: &[u8]) -> Result<String, String> {
    let md = parse_metadata(code)?;
    if !valid_name(md.name.as_bytes()) {
        return Err(BAD_NAME.into());
    }
    if !md.engine.eq_ignore_ascii_case("lua") {
        return Err(format!("Engine '{}' not found", md.engine));
    }
    Ok(md.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Frame;

    struct Echo;
    impl CommandRunner for Echo {
        fn call(&mut self, args: &[Vec<u8>], _: bool) -> Frame {
            Frame::Array(args.iter().map(|a| Frame::Bulk(a.clone())).collect())
        }
    }

    fn run(f: &mut Functions, name: &str) -> Frame {
        match f.call(name.as_bytes(), &[b"k"], &[b"v"], &mut Echo) {
            Some(Outcome::Reply(r) | Outcome::Killed(r)) => r,
            None => Frame::Null,
        }
    }

    #[test]
    fn libraries_load_and_run_as_redis() {
        let mut f = Functions::new(Arc::default()).expect("engine");
        let lib = "#!lua name=lib\nredis.register_function('echo', function(keys, args) return redis.call('x', keys[1], args[1]) end)\nredis.register_function{function_name='Ro', callback=function() return KEYS end, flags={'no-writes'}, description='d'}";
        assert_eq!(f.load(lib.as_bytes(), false), Ok("lib".into()));
        assert_eq!(
            run(&mut f, "ECHO"),
            Frame::Array(vec![
                Frame::Bulk(b"x".to_vec()),
                Frame::Bulk(b"k".to_vec()),
                Frame::Bulk(b"v".to_vec())
            ])
        );
        assert_eq!(
            run(&mut f, "ro"),
            Frame::Error(b"ERR user_function:3: Script attempted to access nonexistent global variable 'KEYS' script: Ro, on @user_function:3.".to_vec())
        );
        assert!(f.function(b"ro").expect("loaded").flags.no_writes);
        assert_eq!(
            f.load(lib.as_bytes(), false),
            Err("Library 'lib' already exists".into())
        );
        let err = |f: &mut Functions, body: &str| {
            f.load(format!("#!lua name=other\n{body}").as_bytes(), false)
                .expect_err("refused")
        };
        assert_eq!(
            err(&mut f, "redis.register_function('echo', function() end)"),
            "Function echo already exists"
        );
        assert_eq!(
            err(&mut f, "local s = string"),
            "Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'string'"
        );
        assert_eq!(
            err(&mut f, "redis.call('ping')"),
            "Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'call'"
        );
        assert_eq!(
            err(
                &mut f,
                "redis.register_function{function_name='q', callback=function() end, flags={'bogus'}}"
            ),
            "Error registering functions: ERR unknown flag given"
        );
        assert_eq!(
            err(&mut f, "x = 1"),
            "Error registering functions: ERR user_function:2: Attempt to modify a readonly table"
        );
        assert_eq!(err(&mut f, "local a = 1"), "No functions registered");
        assert_eq!(
            err(&mut f, "syntax error"),
            "Error compiling function: user_function:2: '=' expected near 'error'"
        );
        assert_eq!(
            err(&mut f, "while true do end"),
            "Error registering functions: ERR FUNCTION LOAD timeout"
        );
        assert_eq!(f.counts(), (1, 2));
        assert!(f.delete(b"lib"));
        assert_eq!(f.counts(), (0, 0));
    }
}
