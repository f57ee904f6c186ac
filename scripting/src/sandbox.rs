//! Building Redis 7.0's sandboxed Lua state: the libraries, the `redis` table and its
//! constants, read-only library tables, and a global environment that refuses writes
//! and reads of names that do not exist. EVAL's [`crate::Engine`] builds on it; a
//! function library engine can too.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use mlua::{Function, Lua, LuaOptions, MultiValue, Result, StdLib, Table, Value};

use crate::raise;
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
    /// The `redis` table itself (behind its read-only proxy): `call` and `pcall` are
    /// set on it for each run.
    pub redis: Table,
    /// True once the running script called `redis.setresp(3)`; reset for each run.
    pub resp3: Arc<AtomicBool>,
    /// `math.random`'s generator; like Redis 7.0's, it goes on from script to script.
    pub random: Arc<Mutex<Rand48>>,
}

fn arg_number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Integer(i) => Some(*i as f64),
        Value::Number(n) => Some(*n),
        _ => None,
    }
}

/// The `redis` table, without `call` and `pcall`.
fn redis_table(lua: &Lua, resp3: &Arc<AtomicBool>) -> Result<Table> {
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
        lua.create_function(|_, s: MultiValue| match s.front() {
            Some(Value::String(s)) => Ok(crate::sha1_hex(&s.as_bytes())),
            _ => Err(raise::table("ERR wrong number of arguments")),
        })?,
    )?;
    let setresp = Arc::clone(resp3);
    redis.set(
        "setresp",
        lua.create_function(move |_, args: MultiValue| {
            if args.len() != 1 {
                return Err(raise::table("ERR redis.setresp() requires one argument."));
            }
            match arg_number(args.front()) {
                Some(v) if v == 2.0 || v == 3.0 => {
                    setresp.store(v == 3.0, Ordering::Relaxed);
                    Ok(())
                }
                _ => Err(raise::table("ERR RESP version must be 2 or 3.")),
            }
        })?,
    )?;
    redis.set(
        "log",
        lua.create_function(|_, args: MultiValue| {
            if args.len() < 2 {
                return Err(raise::table(
                    "ERR redis.log() requires two arguments or more.",
                ));
            }
            match arg_number(args.front()) {
                None => Err(raise::table(
                    "ERR First argument must be a number (log level).",
                )),
                Some(l) if !(0.0..=3.0).contains(&l) => {
                    Err(raise::table("ERR Invalid debug level."))
                }
                Some(level) => {
                    log_line(level as u8, &args);
                    Ok(())
                }
            }
        })?,
    )?;
    redis.set(
        "set_repl",
        lua.create_function(|_, args: MultiValue| {
            if args.len() != 1 {
                return Err(raise::table("ERR redis.set_repl() requires one argument."));
            }
            match arg_number(args.front()) {
                Some(f) if (0.0..=3.0).contains(&f) && f.fract() == 0.0 => Ok(()),
                _ => Err(raise::table(
                    "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
                )),
            }
        })?,
    )?;
    redis.set(
        "error_reply",
        lua.create_function(|lua, args: MultiValue| match args.front() {
            Some(Value::String(s)) if args.len() == 1 => {
                let s = s.as_bytes();
                let dashed = if s.starts_with(b"-") {
                    s.to_vec()
                } else {
                    [&b"-"[..], &s].concat()
                };
                let t = lua.create_table()?;
                t.raw_set("err", lua.create_string(crate::normalize_error(&dashed))?)?;
                Ok(t)
            }
            _ => Err(raise::table("ERR wrong number or type of arguments")),
        })?,
    )?;
    redis.set(
        "status_reply",
        lua.create_function(|lua, args: MultiValue| match args.front() {
            Some(Value::String(s)) if args.len() == 1 => {
                let t = lua.create_table()?;
                t.raw_set("ok", s.clone())?;
                Ok(t)
            }
            _ => Err(raise::table("ERR wrong number or type of arguments")),
        })?,
    )?;
    Ok(redis)
}

/// Replaces `math.random` and `math.randomseed` with Redis's rand48 ones.
fn install_random(lua: &Lua, random: &Arc<Mutex<Rand48>>) -> Result<()> {
    let math: Table = lua.globals().get("math")?;
    let seeded = Arc::clone(random);
    math.set(
        "randomseed",
        lua.create_function(move |_, seed: f64| {
            *seeded.lock().expect("rand48 lock") = Rand48::new(seed as i64 as i32);
            Ok(())
        })?,
    )?;
    let drawn = Arc::clone(random);
    math.set(
        "random",
        lua.create_function(move |_, args: MultiValue| {
            let r = drawn.lock().expect("rand48 lock").next();
            let r = (r % rand48::MAX) as f64 / rand48::MAX as f64;
            let ints: Vec<Option<f64>> = args
                .iter()
                .map(|v| arg_number(Some(v)).map(f64::trunc))
                .collect();
            let bad = |text: &str| Err(raise::positioned(text));
            match ints.as_slice() {
                [] => Ok(r),
                [None] | [None, _] => {
                    bad("bad argument #1 to 'random' (number expected, got no value)")
                }
                [_, None] => bad("bad argument #2 to 'random' (number expected, got no value)"),
                [Some(u)] if *u < 1.0 => bad("bad argument #1 to 'random' (interval is empty)"),
                [Some(u)] => Ok((r * u).floor() + 1.0),
                [Some(l), Some(u)] if l > u => {
                    bad("bad argument #2 to 'random' (interval is empty)")
                }
                [Some(l), Some(u)] => Ok((r * (u - l + 1.0)).floor() + l),
                _ => bad("wrong number of arguments"),
            }
        })?,
    )?;
    Ok(())
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
    let resp3 = Arc::new(AtomicBool::new(false));
    let random = Arc::new(Mutex::new(Rand48::new(0)));
    install_random(&lua, &random)?;
    let redis = redis_table(&lua, &resp3)?;
    let unwrap = lua.create_function(|lua, v: Value| {
        let (kind, text) = raise::unwrap(&v);
        let text = text.map(|t| lua.create_string(t)).transpose()?;
        Ok((kind, text))
    })?;
    let prelude = lua
        .load(PRELUDE)
        .set_name("=redis_prelude")
        .into_function()?;
    let (real_globals, env, run): (Table, Table, Function) = prelude.call((
        redis.clone(),
        crate::cjson::library(&lua)?,
        crate::cmsgpack::library(&lua)?,
        crate::structlib::library(&lua)?,
        crate::bit::library(&lua)?,
        unwrap,
    ))?;
    Ok(Sandbox {
        lua,
        real_globals,
        env,
        run,
        redis,
        resp3,
        random,
    })
}

/// redis.log's line: the arguments after the level joined by spaces (one that is
/// neither a string nor a number is left out), written at the level's weight in the
/// server's log (debug and verbose, notice, warning).
fn log_line(level: u8, args: &MultiValue) {
    let mut line = Vec::new();
    for (i, arg) in args.iter().enumerate().skip(1) {
        let text = match arg {
            Value::String(s) => s.as_bytes().to_vec(),
            Value::Integer(n) => n.to_string().into_bytes(),
            Value::Number(n) => crate::cjson::format_number(*n).into_bytes(),
            _ => continue,
        };
        if i != 1 {
            line.push(b' ');
        }
        line.extend_from_slice(&text);
    }
    let line = String::from_utf8_lossy(&line);
    match level {
        3 => tracing::warn!(target: "script", "{line}"),
        2 => tracing::info!(target: "script", "{line}"),
        _ => tracing::debug!(target: "script", "{line}"),
    }
}
