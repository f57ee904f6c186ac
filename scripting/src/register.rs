//! `redis.register_function`, the one thing a library's code may do while it loads:
//! the positional form `(name, callback)` and the table form with `function_name`,
//! `callback`, `flags` and `description`, with Redis 7.0's errors.

use std::sync::{Arc, Mutex};

use mlua::{Lua, MultiValue, Table, Value};

use crate::flags::ScriptFlags;
use crate::library::{BAD_NAME, FunctionInfo, set_flag, valid_name};
use crate::raise;

/// The functions registered by the library being loaded; `None` outside a load.
pub(crate) type Pending = Arc<Mutex<Option<Vec<FunctionInfo>>>>;

fn fail(text: &str) -> mlua::Error {
    raise::table(format!("ERR {text}"))
}

/// A string, or a number as Lua turns it into one (`lua_isstring`'s rule).
fn string_of(lua: &Lua, v: &Value) -> mlua::Result<Option<Vec<u8>>> {
    match v {
        Value::String(s) => Ok(Some(s.as_bytes().to_vec())),
        Value::Integer(_) | Value::Number(_) => {
            Ok(lua.coerce_string(v.clone())?.map(|s| s.as_bytes().to_vec()))
        }
        _ => Ok(None),
    }
}

/// Builds the `redis.register_function` of the load-time API.
pub(crate) fn function(lua: &Lua, pending: Pending) -> mlua::Result<mlua::Function> {
    lua.create_function(move |lua, args: MultiValue| {
        let (name, callback, description, flags) = match args.len() {
            1 => named(lua, args.front().expect("one argument"))?,
            2 => positional(lua, &args)?,
            _ => return Err(fail("wrong number of arguments to redis.register_function")),
        };
        let mut guard = pending.lock().expect("pending lock");
        let Some(list) = guard.as_mut() else {
            return Err(fail(
                "redis.register_function can only be called on FUNCTION LOAD command",
            ));
        };
        if !valid_name(&name) {
            return Err(fail(BAD_NAME));
        }
        let name = String::from_utf8_lossy(&name).into_owned();
        if list.iter().any(|f| f.name == name) {
            return Err(fail("Function already exists in the library"));
        }
        list.push(FunctionInfo {
            name,
            description,
            flags,
            callback,
        });
        Ok(())
    })
}

type Registration = (Vec<u8>, mlua::Function, Option<Vec<u8>>, ScriptFlags);

fn positional(lua: &Lua, args: &MultiValue) -> mlua::Result<Registration> {
    let Some(name) = string_of(lua, &args[0])? else {
        return Err(fail(
            "first argument to redis.register_function must be a string",
        ));
    };
    let Value::Function(callback) = &args[1] else {
        return Err(fail(
            "second argument to redis.register_function must be a function",
        ));
    };
    Ok((name, callback.clone(), None, shebang_flags()))
}

fn shebang_flags() -> ScriptFlags {
    ScriptFlags {
        shebang: true,
        ..ScriptFlags::default()
    }
}

fn named(lua: &Lua, arg: &Value) -> mlua::Result<Registration> {
    let Value::Table(t) = arg else {
        return Err(fail(
            "calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).",
        ));
    };
    let (mut name, mut callback, mut description) = (None, None, None);
    let mut flags = shebang_flags();
    for pair in t.pairs::<Value, Value>() {
        let (key, value) = pair?;
        let Some(key) = string_of(lua, &key)? else {
            return Err(fail(
                "named argument key given to redis.register_function is not a string",
            ));
        };
        match String::from_utf8_lossy(&key).to_ascii_lowercase().as_str() {
            "function_name" => {
                name = Some(string_of(lua, &value)?.ok_or_else(|| {
                    fail("function_name argument given to redis.register_function must be a string")
                })?);
            }
            "description" => {
                description = Some(string_of(lua, &value)?.ok_or_else(|| {
                    fail("description argument given to redis.register_function must be a string")
                })?);
            }
            "callback" => {
                let Value::Function(f) = value else {
                    return Err(fail(
                        "callback argument given to redis.register_function must be a function",
                    ));
                };
                callback = Some(f);
            }
            "flags" => {
                let Value::Table(list) = value else {
                    return Err(fail(
                        "flags argument to redis.register_function must be a table representing function flags",
                    ));
                };
                read_flags(lua, &list, &mut flags)?;
            }
            _ => return Err(fail("unknown argument given to redis.register_function")),
        }
    }
    let Some(name) = name else {
        return Err(fail(
            "redis.register_function must get a function name argument",
        ));
    };
    let Some(callback) = callback else {
        return Err(fail("redis.register_function must get a callback argument"));
    };
    Ok((name, callback, description, flags))
}

/// The flags array: every entry a known flag name, or "unknown flag given".
fn read_flags(lua: &Lua, list: &Table, flags: &mut ScriptFlags) -> mlua::Result<()> {
    for i in 1.. {
        let v: Value = list.get(i)?;
        if v.is_nil() {
            break;
        }
        let known = string_of(lua, &v)?
            .is_some_and(|name| set_flag(flags, &String::from_utf8_lossy(&name)));
        if !known {
            return Err(fail("unknown flag given"));
        }
    }
    Ok(())
}
