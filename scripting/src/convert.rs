//! Conversions between RESP replies and Lua values, with Redis 7.0's rules.
//!
//! Reply to Lua (`redis.call`'s result): integers become numbers, bulk strings
//! strings, a RESP2 null `false`, status `{ok=...}`, error `{err=...}`, arrays tables;
//! under `redis.setresp(3)` also null `nil`, booleans, `{double=}`, `{big_number=}`,
//! `{map=}`, `{set=}` and `{verbatim_string=}`. Lua to reply (the script's result):
//! numbers truncate to integers, strings are bulk, tables with `err`/`ok`/`double`/
//! `big_number`/`map`/`set`/`verbatim_string` are those types, other tables are arrays
//! up to their first nil, and booleans depend on the script's protocol.

use mlua::{Lua, Result, Table, Value};
use tessera_resp::frame::Frame;

use crate::errors::normalize_error;

/// Converts a command's reply into the Lua value `redis.call` returns.
pub(crate) fn reply_to_lua(lua: &Lua, frame: Frame, resp3: bool) -> Result<Value> {
    Ok(match frame {
        Frame::Integer(n) => Value::Number(n as f64),
        Frame::Bulk(b) => Value::String(lua.create_string(b)?),
        Frame::Simple(s) => Value::Table(single(lua, "ok", Value::String(lua.create_string(s)?))?),
        Frame::Error(e) | Frame::BulkError(e) => Value::Table(error_table(lua, &e)?),
        Frame::Null if resp3 => Value::Nil,
        Frame::Null => Value::Boolean(false),
        Frame::Array(items) | Frame::Push(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.into_iter().enumerate() {
                t.raw_set(i + 1, reply_to_lua(lua, item, resp3)?)?;
            }
            Value::Table(t)
        }
        Frame::Boolean(b) => Value::Boolean(b),
        Frame::Double(d) => Value::Table(single(lua, "double", Value::Number(d))?),
        Frame::BigNumber(n) => Value::Table(single(
            lua,
            "big_number",
            Value::String(lua.create_string(n)?),
        )?),
        Frame::Verbatim(format, text) => {
            let inner = lua.create_table()?;
            inner.raw_set("format", lua.create_string(format)?)?;
            inner.raw_set("string", lua.create_string(text)?)?;
            Value::Table(single(lua, "verbatim_string", Value::Table(inner))?)
        }
        Frame::Map(pairs) => {
            let inner = lua.create_table()?;
            for (k, v) in pairs {
                inner.raw_set(reply_to_lua(lua, k, resp3)?, reply_to_lua(lua, v, resp3)?)?;
            }
            Value::Table(single(lua, "map", Value::Table(inner))?)
        }
        Frame::Set(items) => {
            let inner = lua.create_table()?;
            for item in items {
                inner.raw_set(reply_to_lua(lua, item, resp3)?, true)?;
            }
            Value::Table(single(lua, "set", Value::Table(inner))?)
        }
        Frame::Attribute(_, inner) => reply_to_lua(lua, *inner, resp3)?,
    })
}

fn single(lua: &Lua, key: &str, v: Value) -> Result<Table> {
    let t = lua.create_table_with_capacity(0, 1)?;
    t.raw_set(key, v)?;
    Ok(t)
}

/// The `{err=...}` table of an error reply, its text shaped as Redis shapes it.
pub(crate) fn error_table(lua: &Lua, text: &[u8]) -> Result<Table> {
    let mut dashed = Vec::with_capacity(text.len() + 1);
    dashed.push(b'-');
    dashed.extend_from_slice(text);
    single(
        lua,
        "err",
        Value::String(lua.create_string(normalize_error(&dashed))?),
    )
}

fn field(t: &Table, key: &str) -> Value {
    t.raw_get(key).unwrap_or(Value::Nil)
}

/// Converts a script's result into the reply for its caller.
pub(crate) fn lua_to_reply(v: &Value, resp3: bool) -> Frame {
    match v {
        Value::String(s) => Frame::Bulk(s.as_bytes().to_vec()),
        Value::Boolean(b) if resp3 => Frame::Boolean(*b),
        Value::Boolean(true) => Frame::Integer(1),
        Value::Integer(i) => Frame::Integer(*i),
        Value::Number(n) => Frame::Integer(*n as i64),
        Value::Table(t) => table_to_reply(t, resp3),
        _ => Frame::Null,
    }
}

fn table_to_reply(t: &Table, resp3: bool) -> Frame {
    if let Value::String(e) = field(t, "err") {
        return Frame::Error(e.as_bytes().to_vec());
    }
    if let Value::String(s) = field(t, "ok") {
        return Frame::Simple(s.as_bytes().to_vec());
    }
    match field(t, "double") {
        Value::Number(d) => return Frame::Double(d),
        Value::Integer(i) => return Frame::Double(i as f64),
        _ => {}
    }
    if let Value::String(s) = field(t, "big_number") {
        return Frame::BigNumber(s.as_bytes().to_vec());
    }
    if let Value::Table(m) = field(t, "map") {
        let pairs = m
            .pairs::<Value, Value>()
            .filter_map(std::result::Result::ok)
            .map(|(k, v)| (lua_to_reply(&k, resp3), lua_to_reply(&v, resp3)))
            .collect();
        return Frame::Map(pairs);
    }
    if let Value::Table(s) = field(t, "set") {
        let items = s
            .pairs::<Value, Value>()
            .filter_map(std::result::Result::ok)
            .map(|(k, _)| lua_to_reply(&k, resp3))
            .collect();
        return Frame::Set(items);
    }
    if let Value::Table(v) = field(t, "verbatim_string") {
        if let (Value::String(f), Value::String(s)) = (field(&v, "format"), field(&v, "string")) {
            return Frame::Verbatim(f.as_bytes().to_vec(), s.as_bytes().to_vec());
        }
    }
    let mut items = Vec::new();
    for i in 1.. {
        match t.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(v) => items.push(lua_to_reply(&v, resp3)),
        }
    }
    Frame::Array(items)
}
