//! The `cmsgpack` library (lua-cmsgpack 0.4.0's API and rules, which Redis bundles):
//! MessagePack encoding of Lua values and decoding back, with the same byte choices
//! (smallest integer form, float32 when it is exact, str8/16/32, arrays for tables
//! keyed 1..n) and the same error texts, so a script packs the bytes it packs on
//! redis-server.

use mlua::{Lua, MultiValue, Result, Table, Value, Variadic};

/// Tables nested deeper than this are packed as nil (so a table holding itself ends).
const MAX_NESTING: usize = 16;

/// Containers nested deeper than this, or more values than [`MAX_VALUES`] at once,
/// overflow Lua's C stack (8,000 slots) on redis-server; the same inputs fail here
/// with its texts, and no input can recurse without bound.
const MAX_DEPTH: usize = 3999;

/// Values one call may return.
const MAX_VALUES: usize = 7999;

/// Lua's stack-overflow text for too many values, as lua-cmsgpack words it.
const TOO_MANY_VALUES: &str =
    "stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)";

/// Builds the `cmsgpack` table.
pub(crate) fn library(lua: &Lua) -> Result<Table> {
    let t = lua.create_table()?;
    t.set("_NAME", "cmsgpack")?;
    t.set("_VERSION", "lua-cmsgpack 0.4.0")?;
    t.set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    t.set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    t.set(
        "pack",
        lua.create_function(|lua, values: Variadic<Value>| {
            if values.is_empty() {
                return Err(arg_error(0, "pack", "MessagePack pack needs input."));
            }
            let mut out = Vec::new();
            for v in values.iter() {
                encode(v, 0, &mut out)?;
            }
            lua.create_string(&out)
        })?,
    )?;
    t.set(
        "unpack",
        lua.create_function(|lua, args: MultiValue| unpack(lua, "unpack", &args, 0, 0))?,
    )?;
    t.set(
        "unpack_one",
        lua.create_function(|lua, args: MultiValue| {
            let offset = opt_integer(&args, 2, "unpack_one")?;
            unpack(lua, "unpack_one", &args, 1, offset)
        })?,
    )?;
    t.set(
        "unpack_limit",
        lua.create_function(|lua, args: MultiValue| {
            let limit = integer(&args, 2, "unpack_limit")?;
            let offset = opt_integer(&args, 3, "unpack_limit")?;
            unpack(lua, "unpack_limit", &args, limit, offset)
        })?,
    )?;
    Ok(t)
}

/// Lua's "bad argument" error, at the script's position.
fn arg_error(n: usize, function: &str, why: &str) -> mlua::Error {
    crate::raise::positioned(format!("bad argument #{n} to '{function}' ({why})"))
}

/// Lua's name for a value's type, as argument errors print it.
fn type_name(v: Option<&Value>) -> &'static str {
    match v {
        None => "no value",
        Some(v) => v.type_name(),
    }
}

/// Argument `n` (from 1) as luaL_checkinteger reads it: a number, or a string that
/// reads as one, truncated.
fn integer(args: &MultiValue, n: usize, function: &str) -> Result<i64> {
    let v = args.get(n - 1);
    let number = match v {
        Some(Value::Integer(i)) => Some(*i as f64),
        Some(Value::Number(x)) => Some(*x),
        Some(Value::String(s)) => s.to_str().ok().and_then(|t| t.trim().parse::<f64>().ok()),
        _ => None,
    };
    number.map(|x| x as i64).ok_or_else(|| {
        arg_error(
            n,
            function,
            &format!("number expected, got {}", type_name(v)),
        )
    })
}

/// Like [`integer`], 0 when the argument is absent or nil (luaL_optinteger).
fn opt_integer(args: &MultiValue, n: usize, function: &str) -> Result<i64> {
    match args.get(n - 1) {
        None | Some(Value::Nil) => Ok(0),
        Some(_) => integer(args, n, function),
    }
}

/// Decodes from `offset`: every value when `limit` and `offset` are both 0 (plain
/// `unpack`), else at most `limit` values (0: all), preceded by the offset to go on
/// from (-1 once the input is used up).
fn unpack(
    lua: &Lua,
    function: &str,
    args: &MultiValue,
    limit: i64,
    offset: i64,
) -> Result<MultiValue> {
    let bytes = match args.front() {
        Some(Value::String(s)) => s.as_bytes().to_vec(),
        Some(Value::Integer(i)) => i.to_string().into_bytes(),
        Some(Value::Number(x)) => lua
            .coerce_string(Value::Number(*x))?
            .map(|s| s.as_bytes().to_vec())
            .unwrap_or_default(),
        other => {
            let why = format!("string expected, got {}", type_name(other));
            return Err(arg_error(1, function, &why));
        }
    };
    let len = bytes.len() as i64;
    if offset < 0 || limit < 0 {
        // lua-cmsgpack prints the input's length where it means the limit.
        return Err(crate::raise::positioned(format!(
            "Invalid request to unpack with offset of {offset} and limit of {len}."
        )));
    }
    if offset > len {
        return Err(crate::raise::positioned(format!(
            "Start offset {offset} greater than input length {len}."
        )));
    }
    let everything = limit == 0 && offset == 0;
    let limit = if limit == 0 { i64::MAX } else { limit };
    let mut cursor = Cursor {
        bytes: &bytes,
        at: offset as usize,
        depth: 0,
    };
    let mut values = Vec::new();
    while cursor.at < bytes.len() && (values.len() as i64) < limit {
        if values.len() + usize::from(!everything) >= MAX_VALUES {
            return Err(crate::raise::positioned(TOO_MANY_VALUES));
        }
        match cursor.value(lua) {
            Ok(v) => values.push(v),
            Err(Failure::Lua(e)) => return Err(e),
            Err(Failure::Missing) => {
                return Err(crate::raise::positioned("Missing bytes in input."));
            }
            Err(Failure::BadFormat) => {
                return Err(crate::raise::positioned("Bad data format in input."));
            }
            Err(Failure::TooDeep(text)) => return Err(crate::raise::positioned(text)),
        }
    }
    if !everything {
        let next = if cursor.at == bytes.len() {
            -1
        } else {
            cursor.at as i64
        };
        values.insert(0, Value::Integer(next));
    }
    Ok(values.into_iter().collect())
}

fn encode(v: &Value, level: usize, out: &mut Vec<u8>) -> Result<()> {
    match v {
        Value::String(s) => encode_bytes(&s.as_bytes(), out),
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(i) => encode_int(*i, out),
        Value::Number(n) => encode_number(*n, out),
        Value::Table(t) if level < MAX_NESTING => encode_table(t, level, out)?,
        _ => out.push(0xc0),
    }
    Ok(())
}

fn encode_bytes(s: &[u8], out: &mut Vec<u8>) {
    let len = s.len();
    match len {
        0..=31 => out.push(0xa0 | len as u8),
        32..=0xff => out.extend_from_slice(&[0xd9, len as u8]),
        0x100..=0xffff => {
            out.push(0xda);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(0xdb);
            out.extend_from_slice(&(len as u32).to_be_bytes());
        }
    }
    out.extend_from_slice(s);
}

/// An integral number that fits 64 bits as an integer; any other as a float32 when
/// that is exact, else a double.
fn encode_number(n: f64, out: &mut Vec<u8>) {
    if n.is_finite() && (n as i64) as f64 == n {
        return encode_int(n as i64, out);
    }
    let single = n as f32;
    if f64::from(single) == n {
        out.push(0xca);
        out.extend_from_slice(&single.to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// The smallest MessagePack integer form of `n`.
fn encode_int(n: i64, out: &mut Vec<u8>) {
    if n >= 0 {
        match n {
            0..=127 => out.push(n as u8),
            128..=0xff => out.extend_from_slice(&[0xcc, n as u8]),
            0x100..=0xffff => {
                out.push(0xcd);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            0x1_0000..=0xffff_ffff => {
                out.push(0xce);
                out.extend_from_slice(&(n as u32).to_be_bytes());
            }
            _ => {
                out.push(0xcf);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= i64::from(i32::MIN) {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// A table whose keys are exactly the integers 1..n is an array (so is an empty
/// one); any other is a map, in the table's own order.
fn encode_table(t: &Table, level: usize, out: &mut Vec<u8>) -> Result<()> {
    let mut pairs = Vec::new();
    let (mut count, mut max, mut array) = (0i64, 0i64, true);
    for pair in t.clone().pairs::<Value, Value>() {
        let (k, v) = pair?;
        if array {
            let index = match k {
                Value::Integer(i) => Some(i as f64),
                Value::Number(x) => Some(x),
                _ => None,
            };
            match index {
                Some(x) if x > 0.0 && x <= f64::from(i32::MAX) && x == x.trunc() => {
                    count += 1;
                    max = max.max(x as i64);
                }
                _ => array = false,
            }
        }
        pairs.push((k, v));
    }
    if array && max == count {
        header(out, pairs.len(), [0x90, 0xdc, 0xdd]);
        for i in 1..=count {
            encode(&t.raw_get::<Value>(i)?, level + 1, out)?;
        }
    } else {
        header(out, pairs.len(), [0x80, 0xde, 0xdf]);
        for (k, v) in &pairs {
            encode(k, level + 1, out)?;
            encode(v, level + 1, out)?;
        }
    }
    Ok(())
}

/// An array or map header: the fix form below 16, then the 16- and 32-bit forms.
fn header(out: &mut Vec<u8>, len: usize, [fix, wide16, wide32]: [u8; 3]) {
    if len < 16 {
        out.push(fix | len as u8);
    } else if len <= 0xffff {
        out.push(wide16);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(wide32);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

/// Why decoding stopped.
enum Failure {
    /// The input ends inside a value.
    Missing,
    /// A byte no MessagePack form lua-cmsgpack reads starts with (bin, ext, 0xc1).
    BadFormat,
    /// Containers nested past [`MAX_DEPTH`]: the text Lua's stack check gives.
    TooDeep(&'static str),
    /// Lua failed (memory).
    Lua(mlua::Error),
}

impl From<mlua::Error> for Failure {
    fn from(e: mlua::Error) -> Failure {
        Failure::Lua(e)
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
    /// Containers open around the value being read.
    depth: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> std::result::Result<&[u8], Failure> {
        let end = self.at.checked_add(n).ok_or(Failure::Missing)?;
        let taken = self.bytes.get(self.at..end).ok_or(Failure::Missing)?;
        self.at = end;
        Ok(taken)
    }

    fn be(&mut self, n: usize) -> std::result::Result<u64, Failure> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    fn value(&mut self, lua: &Lua) -> std::result::Result<Value, Failure> {
        let first = self.take(1)?[0];
        let number = |x: f64| Ok(Value::Number(x));
        match first {
            0x00..=0x7f => number(f64::from(first)),
            0xe0..=0xff => number(f64::from(first as i8)),
            0xa0..=0xbf => self.string(lua, usize::from(first & 0x1f)),
            0x90..=0x9f => self.array(lua, usize::from(first & 0x0f)),
            0x80..=0x8f => self.map(lua, usize::from(first & 0x0f)),
            0xc0 => Ok(Value::Nil),
            0xc2 => Ok(Value::Boolean(false)),
            0xc3 => Ok(Value::Boolean(true)),
            0xcc => number(self.be(1)? as f64),
            0xcd => number(self.be(2)? as f64),
            0xce => number(self.be(4)? as f64),
            // Read as a signed 64-bit integer, as lua-cmsgpack does.
            0xcf | 0xd3 => number(self.be(8)? as i64 as f64),
            0xd0 => number(f64::from(self.be(1)? as u8 as i8)),
            0xd1 => number(f64::from(self.be(2)? as u16 as i16)),
            0xd2 => number(f64::from(self.be(4)? as u32 as i32)),
            0xca => number(f64::from(f32::from_bits(self.be(4)? as u32))),
            0xcb => number(f64::from_bits(self.be(8)?)),
            0xd9 => {
                let len = self.be(1)? as usize;
                self.string(lua, len)
            }
            0xda => {
                let len = self.be(2)? as usize;
                self.string(lua, len)
            }
            0xdb => {
                let len = self.be(4)? as usize;
                self.string(lua, len)
            }
            0xdc => {
                let len = self.be(2)? as usize;
                self.array(lua, len)
            }
            0xdd => {
                let len = self.be(4)? as usize;
                self.array(lua, len)
            }
            0xde => {
                let len = self.be(2)? as usize;
                self.map(lua, len)
            }
            0xdf => {
                let len = self.be(4)? as usize;
                self.map(lua, len)
            }
            _ => Err(Failure::BadFormat),
        }
    }

    fn string(&mut self, lua: &Lua, len: usize) -> std::result::Result<Value, Failure> {
        let bytes = self.take(len)?;
        Ok(Value::String(lua.create_string(bytes)?))
    }

    fn array(&mut self, lua: &Lua, len: usize) -> std::result::Result<Value, Failure> {
        self.enter("stack overflow (in function mp_decode_to_lua_array)")?;
        let t = lua.create_table()?;
        for i in 1..=len {
            let v = self.value(lua)?;
            t.raw_set(i, v)?;
        }
        self.depth -= 1;
        Ok(Value::Table(t))
    }

    /// Opens a container, unless that nests too deep.
    fn enter(&mut self, overflow: &'static str) -> std::result::Result<(), Failure> {
        if self.depth >= MAX_DEPTH {
            return Err(Failure::TooDeep(overflow));
        }
        self.depth += 1;
        Ok(())
    }

    fn map(&mut self, lua: &Lua, len: usize) -> std::result::Result<Value, Failure> {
        self.enter(TOO_MANY_VALUES)?;
        let t = lua.create_table()?;
        for _ in 0..len {
            let k = self.value(lua)?;
            let v = self.value(lua)?;
            // A nil key cannot be stored; lua_settable would raise, Redis's build too.
            if k == Value::Nil {
                return Err(Failure::Lua(crate::raise::positioned("table index is nil")));
            }
            t.raw_set(k, v)?;
        }
        self.depth -= 1;
        Ok(Value::Table(t))
    }
}
