//! The EVAL engine: the script cache over one sandboxed state, and running a script
//! with `redis.call` bound to the caller's [`CommandRunner`].

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use mlua::{Function, HookTriggers, MultiValue, Table, Value, VmState};

use crate::errors::normalize_error;
use tessera_resp::frame::Frame;

use crate::convert::{error_table, lua_to_reply, reply_to_lua};
use crate::flags::{ScriptFlags, lua_source, parse_shebang};
use crate::sandbox::{self, Sandbox};
use crate::{CommandRunner, sha1_hex};

/// Instructions between two checks of the kill flag.
const HOOK_EVERY: u32 = 100_000;

/// The text a killed script's caller gets, as Redis's.
const KILLED: &str = "ERR Script killed by user with SCRIPT KILL...";

/// One cached script.
pub struct Script {
    /// Its body, as loaded.
    pub body: Arc<[u8]>,
    /// Its shebang flags.
    pub flags: ScriptFlags,
    function: Function,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The reply to send.
    Reply(Frame),
    /// SCRIPT KILL stopped it; the reply is the error for its caller.
    Killed(Frame),
}

/// The EVAL engine: one Lua state and the scripts it compiled.
pub struct Engine {
    sandbox: Sandbox,
    scripts: HashMap<String, Script>,
    body_bytes: usize,
    kill: Arc<AtomicBool>,
}

/// Why an engine could not be built or a script not loaded.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The Lua state failed.
    #[error("lua: {0}")]
    Lua(#[from] mlua::Error),
}

impl Engine {
    /// A new engine with an empty cache; `kill` is the flag SCRIPT KILL sets.
    pub fn new(kill: Arc<AtomicBool>) -> Result<Engine, EngineError> {
        let sandbox = sandbox::build()?;
        let hook_kill = Arc::clone(&kill);
        sandbox.lua.set_hook(
            HookTriggers::new().every_nth_instruction(HOOK_EVERY),
            move |_, _| {
                if hook_kill.load(Ordering::Relaxed) {
                    return Err(mlua::Error::RuntimeError("killed".into()));
                }
                Ok(VmState::Continue)
            },
        )?;
        Ok(Engine {
            sandbox,
            scripts: HashMap::new(),
            body_bytes: 0,
            kill,
        })
    }

    /// Compiles and caches `body`, answering its SHA1 or Redis's error text.
    pub fn load(&mut self, body: &[u8]) -> Result<String, String> {
        let sha = sha1_hex(body);
        if self.scripts.contains_key(&sha) {
            return Ok(sha);
        }
        let flags = parse_shebang(body)?;
        let source = lua_source(body);
        let function = self
            .sandbox
            .lua
            .load(&*source)
            .set_name("@user_script")
            .set_environment(self.sandbox.env.clone())
            .into_function()
            .map_err(|e| {
                let text = match e {
                    mlua::Error::SyntaxError { message, .. } => message,
                    other => other.to_string(),
                };
                format!("ERR Error compiling script (new function): {text}")
            })?;
        self.body_bytes += body.len();
        self.scripts.insert(
            sha.clone(),
            Script {
                body: body.into(),
                flags,
                function,
            },
        );
        Ok(sha)
    }

    /// The cached script of `sha` (lowercase hex), if any.
    pub fn get(&self, sha: &str) -> Option<&Script> {
        self.scripts.get(sha)
    }

    /// Drops every cached script (SCRIPT FLUSH).
    pub fn flush(&mut self) {
        self.scripts.clear();
        self.body_bytes = 0;
        let _ = self.sandbox.lua.gc_collect();
    }

    /// How many scripts are cached.
    pub fn count(&self) -> usize {
        self.scripts.len()
    }

    /// Bytes the Lua state uses.
    pub fn lua_memory(&self) -> usize {
        self.sandbox.lua.used_memory()
    }

    /// Bytes the cache's bodies and bookkeeping use, roughly as Redis counts
    /// `used_memory_scripts`.
    pub fn scripts_memory(&self) -> usize {
        self.body_bytes + self.scripts.len() * (40 + 64)
    }

    /// Runs the cached script `sha` with `keys` and `argv`; `redis.call` runs commands
    /// through `runner`. `None` if `sha` is not cached.
    pub fn run(
        &mut self,
        sha: &str,
        keys: &[&[u8]],
        argv: &[&[u8]],
        runner: &mut dyn CommandRunner,
    ) -> Option<Outcome> {
        let function = self.scripts.get(sha)?.function.clone();
        let outcome = match self.run_function(function, keys, argv, runner, sha) {
            Ok(o) => o,
            Err(e) => Outcome::Reply(Frame::Error(
                format!("ERR Error running script: {e}").into_bytes(),
            )),
        };
        self.kill.store(false, Ordering::Relaxed);
        Some(outcome)
    }

    fn run_function(
        &mut self,
        function: Function,
        keys: &[&[u8]],
        argv: &[&[u8]],
        runner: &mut dyn CommandRunner,
        sha: &str,
    ) -> mlua::Result<Outcome> {
        let sandbox = &self.sandbox;
        let lua = &sandbox.lua;
        sandbox
            .real_globals
            .raw_set("KEYS", string_array(lua, keys)?)?;
        sandbox
            .real_globals
            .raw_set("ARGV", string_array(lua, argv)?)?;
        invoke(sandbox, &self.kill, function, None, runner, sha)
    }
}

/// Runs `function` in `sandbox` with `redis.call` and `redis.pcall` bound to `runner`,
/// passing it `arguments` (a function library's `keys, args`) if given. `name` is
/// what error replies name as the script.
pub(crate) fn invoke(
    sandbox: &Sandbox,
    kill: &AtomicBool,
    function: Function,
    arguments: Option<(Table, Table)>,
    runner: &mut dyn CommandRunner,
    name: &str,
) -> mlua::Result<Outcome> {
    sandbox.resp3.store(false, Ordering::Relaxed);
    let runner = RefCell::new(runner);
    let resp3 = &sandbox.resp3;
    let invoke = |lua: &mlua::Lua, args: MultiValue, raising: bool| -> mlua::Result<Value> {
        let resp3 = resp3.load(Ordering::Relaxed);
        let reply = match command_args(args.into_iter()) {
            Ok(command) => runner.borrow_mut().call(&command, resp3),
            Err(text) => Frame::Error(text.as_bytes().to_vec()),
        };
        match reply {
            Frame::Error(e) if raising => Err(crate::raise::table(normalize_error(
                &[&b"-"[..], &e].concat(),
            ))),
            Frame::Error(e) => Ok(Value::Table(error_table(lua, &e)?)),
            reply => reply_to_lua(lua, reply, resp3),
        }
    };
    let result: MultiValue = sandbox.lua.scope(|scope| {
        let call = scope.create_function(|lua, args: MultiValue| invoke(lua, args, true))?;
        let pcall = scope.create_function(|lua, args: MultiValue| invoke(lua, args, false))?;
        sandbox.redis.raw_set("call", call)?;
        sandbox.redis.raw_set("pcall", pcall)?;
        let out = match arguments {
            Some((keys, args)) => sandbox.run.call::<MultiValue>((function, keys, args)),
            None => sandbox.run.call::<MultiValue>(function),
        };
        sandbox.redis.raw_set("call", Value::Nil)?;
        sandbox.redis.raw_set("pcall", Value::Nil)?;
        out
    })?;
    let resp3 = sandbox.resp3.load(Ordering::Relaxed);
    let mut values = result.into_iter();
    let ok = matches!(values.next(), Some(Value::Boolean(true)));
    let value = values.next().unwrap_or(Value::Nil);
    if ok {
        return Ok(Outcome::Reply(lua_to_reply(&value, resp3)));
    }
    if kill.load(Ordering::Relaxed) {
        let text = error_text(&value, name, Some(KILLED));
        return Ok(Outcome::Killed(Frame::Error(text)));
    }
    Ok(Outcome::Reply(Frame::Error(error_text(&value, name, None))))
}

/// A Lua array of strings.
pub(crate) fn string_array(lua: &mlua::Lua, items: &[&[u8]]) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, item) in items.iter().enumerate() {
        t.raw_set(i + 1, lua.create_string(item)?)?;
    }
    Ok(t)
}

/// A `redis.call`'s arguments as a command, or Redis's error text.
fn command_args(args: impl Iterator<Item = Value>) -> Result<Vec<Vec<u8>>, &'static str> {
    let mut out = Vec::new();
    for v in args {
        match v {
            Value::String(s) => out.push(s.as_bytes().to_vec()),
            Value::Integer(i) => out.push(i.to_string().into_bytes()),
            Value::Number(n) => out.push(crate::cjson::format_number(n).into_bytes()),
            _ => return Err("ERR Lua redis lib command arguments must be strings or integers"),
        }
    }
    if out.is_empty() {
        return Err("ERR Please specify at least one argument for this redis lib call");
    }
    Ok(out)
}

/// The error reply of a failed run: the error's text, and where it happened.
/// `replacement` stands for the error's own text (a killed script's).
fn error_text(value: &Value, sha: &str, replacement: Option<&str>) -> Vec<u8> {
    let Value::Table(t) = value else {
        return b"ERR Error running script".to_vec();
    };
    let err: Option<mlua::LuaString> = t.raw_get("err").ok();
    let mut text = match replacement {
        Some(r) => r.as_bytes().to_vec(),
        None => err.map(|e| e.as_bytes().to_vec()).unwrap_or_default(),
    };
    let source: Option<mlua::LuaString> = t.raw_get("source").ok();
    let line: Option<i64> = t.raw_get("line").ok();
    if let (Some(source), Some(line)) = (source, line) {
        text.extend_from_slice(b" script: ");
        text.extend_from_slice(sha.as_bytes());
        text.extend_from_slice(b", on ");
        text.extend_from_slice(&source.as_bytes());
        text.extend_from_slice(format!(":{line}.").as_bytes());
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Echo;
    impl CommandRunner for Echo {
        fn call(&mut self, args: &[Vec<u8>], _: bool) -> Frame {
            if args[0] == b"fail" {
                return Frame::Error(b"ERR failed".to_vec());
            }
            Frame::Array(args.iter().map(|a| Frame::Bulk(a.clone())).collect())
        }
    }

    fn eval(e: &mut Engine, body: &str) -> Frame {
        let sha = match e.load(body.as_bytes()) {
            Ok(s) => s,
            Err(t) => return Frame::Error(t.into_bytes()),
        };
        match e.run(&sha, &[b"k"], &[b"v"], &mut Echo) {
            Some(Outcome::Reply(f)) | Some(Outcome::Killed(f)) => f,
            None => panic!("cached"),
        }
    }

    fn err(f: Frame) -> String {
        match f {
            Frame::Error(e) => String::from_utf8(e).expect("utf8"),
            other => panic!("not an error: {other:?}"),
        }
    }

    #[test]
    fn scripts_convert_and_fail_as_redis() {
        let mut e = Engine::new(Arc::default()).expect("engine");
        assert_eq!(eval(&mut e, "return 3.99"), Frame::Integer(3));
        assert_eq!(
            eval(&mut e, "return redis.call('x', KEYS[1], ARGV[1], 5)"),
            Frame::Array(vec![
                Frame::Bulk(b"x".to_vec()),
                Frame::Bulk(b"k".to_vec()),
                Frame::Bulk(b"v".to_vec()),
                Frame::Bulk(b"5".to_vec())
            ])
        );
        let t = err(eval(&mut e, "return x"));
        assert!(
            t.starts_with("ERR user_script:1: Script attempted to access nonexistent global variable 'x' script: "),
            "{t}"
        );
        assert!(t.ends_with(", on @user_script:1."), "{t}");
        let t = err(eval(&mut e, "x = 1"));
        assert!(
            t.starts_with("ERR user_script:1: Attempt to modify a readonly table script:"),
            "{t}"
        );
        let t = err(eval(&mut e, "\nredis.call('fail')"));
        assert!(
            t.starts_with("ERR failed script: ") && t.ends_with("on @user_script:2."),
            "{t}"
        );
        assert_eq!(
            eval(&mut e, "return redis.pcall('fail')"),
            Frame::Error(b"ERR failed".to_vec())
        );
        assert_eq!(
            err(eval(&mut e, "return redis.error_reply('My Error')")),
            "My Error"
        );
        assert_eq!(
            eval(&mut e, "return cjson.encode({1,2,'a/b',{x=true}})"),
            Frame::Bulk(br#"[1,2,"a\/b",{"x":true}]"#.to_vec())
        );
        assert_eq!(
            eval(&mut e, "math.randomseed(0) return tostring(math.random())"),
            Frame::Bulk(b"0.17082803611217".to_vec())
        );
        let t = err(eval(&mut e, "syntax error here"));
        assert_eq!(
            t,
            "ERR Error compiling script (new function): user_script:1: '=' expected near 'error'"
        );
        assert_eq!(
            eval(&mut e, "return bit.tohex(255)"),
            Frame::Bulk(b"000000ff".to_vec())
        );
        let t = err(eval(&mut e, "return redis.call('fail')"));
        assert!(
            t.starts_with("ERR failed script: ") && t.ends_with("on @user_script:1."),
            "{t}"
        );
        let t = err(eval(&mut e, "return cjson.decode('{bad')"));
        assert!(
            t.starts_with("ERR user_script:1: Expected object key string but found invalid token at character 2 script:"),
            "{t}"
        );
        let t = err(eval(&mut e, "#!lua\nerror('x')"));
        assert!(t.starts_with("ERR user_script:2: x script:"), "{t}");
    }
}
