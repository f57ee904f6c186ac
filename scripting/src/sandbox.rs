//! Building Redis 7.0's sandboxed Lua state: the libraries, the `redis` table and its
//! constants, read-only library tables, and a global environment that refuses writes
//! and reads of names that do not exist. EVAL's [`crate::Engine`] builds on it; a
//! function library engine can too.

use std::sync::{Arc, Mutex};

use mlua::{Function, Lua, LuaOptions, MultiValue, Result, StdLib, Table, Value};

use crate::rand48::{self, Rand48};

/// The prelude: Lua source run once with the full library to lock the state down.
const PRELUDE: &str = include_str!("prelude.lua");

/// Redis's version as `redis.REDIS_VERSION` and `redis.REDIS_VERSION_NUM` give it.
const VERSION: (&str, i64) = ("7.0.15", 0x07_00_0f);

/// A sandboxed state and the handles the engine drives it by.
pub struct Sandbox {
    /// The state.
    pub lua: Lua,
    /// The table behind the scripts' global environment (KEYS and ARGV go here).
    pub real_globals: Table,
    /// The scripts' global environment: reads through to `real_globals`, refuses writes.
    pub env: Table,
    /// Runs a function under Redis's error handler: `(true, result)` or `(false, {err=})`.
    pub run: Function,
    /// True when the running script called `redis.setresp(3)`.
    pub resp3: Function,
    /// Hooks the prelude calls back into: `call` is set for each run.
    pub hooks: Table,
    /// `math.random`'s generator; like Redis 7.0's, it goes on from script to script.
    pub random: Arc<Mutex<Rand48>>,
}

/// Builds a sandboxed state.
pub fn build() -> Result<Sandbox> {
    // SAFETY: the debug library is loaded only for the prelude, which keeps
    // `debug.getinfo` for its error handler; scripts never see the `debug` table.
    let lua = unsafe {
        Lua::unsafe_new_with(
            StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG,
            LuaOptions::default(),
        )
    };
    let redis = lua.create_table()?;
    for (name, v) in [
        ("LOG_DEBUG", 0),
        ("LOG_VERBOSE", 1),
        ("LOG_NOTICE", 2),
        ("LOG_WARNING", 3),
        ("REPL_NONE", 0),
        ("REPL_AOF", 1),
        ("REPL_SLAVE", 2),
        ("REPL_REPLICA", 2),
        ("REPL_ALL", 3),
    ] {
        redis.set(name, v)?;
    }
    redis.set("REDIS_VERSION", VERSION.0)?;
    redis.set("REDIS_VERSION_NUM", VERSION.1)?;
    redis.set(
        "sha1hex",
        lua.create_function(|_, s: mlua::LuaString| Ok(crate::sha1_hex(&s.as_bytes())))?,
    )?;
    let hooks = lua.create_table()?;
    hooks.set(
        "normalize",
        lua.create_function(|lua, s: mlua::LuaString| {
            let s = s.as_bytes();
            let dashed = if s.starts_with(b"-") {
                s.to_vec()
            } else {
                [&b"-"[..], &s].concat()
            };
            lua.create_string(crate::normalize_error(&dashed))
        })?,
    )?;
    let random = Arc::new(Mutex::new(Rand48::new(0)));
    let seeded = Arc::clone(&random);
    hooks.set(
        "seed",
        lua.create_function(move |_, seed: f64| {
            *seeded.lock().expect("rand48 lock") = Rand48::new(seed as i64 as i32);
            Ok(())
        })?,
    )?;
    let drawn = Arc::clone(&random);
    let random_raw = lua.create_function(move |lua, args: MultiValue| {
        let r = drawn.lock().expect("rand48 lock").next();
        let r = (r % rand48::MAX) as f64 / rand48::MAX as f64;
        let ints: Vec<f64> = args
            .iter()
            .map(|v| match v {
                Value::Integer(i) => *i as f64,
                Value::Number(n) => n.trunc(),
                _ => f64::NAN,
            })
            .collect();
        let fail = |msg: &str| (false, msg.to_string()).into_lua_multi(lua);
        let out = match ints.as_slice() {
            [] => r,
            [u] if u.is_nan() => return fail("bad argument #1 to 'random' (number expected)"),
            [u] if *u < 1.0 => return fail("bad argument #1 to 'random' (interval is empty)"),
            [u] => (r * u).floor() + 1.0,
            [l, u] if l.is_nan() || u.is_nan() => {
                return fail("bad argument #1 to 'random' (number expected)");
            }
            [l, u] if l > u => return fail("bad argument #2 to 'random' (interval is empty)"),
            [l, u] => (r * (u - l + 1.0)).floor() + l,
            _ => return fail("wrong number of arguments"),
        };
        (true, out).into_lua_multi(lua)
    })?;
    let prelude = lua.load(PRELUDE).set_name("=redis_prelude").into_function()?;
    let (real_globals, env, run, resp3): (Table, Table, Function, Function) = prelude.call((
        redis,
        crate::cjson::library(&lua)?,
        crate::bit::library(&lua)?,
        hooks.clone(),
        random_raw,
    ))?;
    Ok(Sandbox {
        lua,
        real_globals,
        env,
        run,
        resp3,
        hooks,
        random,
    })
}

use mlua::IntoLuaMulti;
