//! The `cjson` library: JSON encoding and decoding with lua-cjson's rules and error
//! texts (Redis bundles lua-cjson; the vendored Lua has none). Errors are raised at the
//! script's line, as Redis reports them.

use mlua::{LightUserData, Lua, Result, Table, Value};

/// Deepest nesting encoded or decoded, as lua-cjson's default.
const MAX_DEPTH: usize = 1000;

/// Builds the `cjson` table: `encode`, `decode`, and the `null` sentinel.
pub(crate) fn library(lua: &Lua) -> Result<Table> {
    let t = lua.create_table()?;
    t.set(
        "encode",
        lua.create_function(|lua, v: Value| {
            let mut out = Vec::new();
            match encode(&v, 0, &mut out) {
                Ok(()) => lua.create_string(&out),
                Err(msg) => Err(crate::raise::positioned(msg)),
            }
        })?,
    )?;
    t.set(
        "decode",
        lua.create_function(|lua, s: mlua::LuaString| {
            let bytes = s.as_bytes();
            let mut p = Parser {
                lua,
                s: &bytes,
                at: 0,
                depth: 0,
            };
            match p.document() {
                Ok(v) => Ok(v),
                Err(Failure::Lua(e)) => Err(e),
                Err(Failure::Json(msg)) => Err(crate::raise::positioned(msg)),
            }
        })?,
    )?;
    t.set("null", null())?;
    Ok(t)
}

/// lua-cjson's null: a light userdata holding NULL.
pub(crate) fn null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

/// Formats a number as lua-cjson does by default (`%.14g`).
pub(crate) fn format_number(n: f64) -> String {
    if n == n.trunc() && n.abs() < 1e15 {
        return format!("{}", n as i64);
    }
    let sci = format!("{n:.13e}");
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("exponent is an integer");
    if !(-4..14).contains(&exp) {
        let m = trim_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{m}e{sign}{:02}", exp.abs());
    }
    let decimals = (13 - exp).max(0) as usize;
    trim_zeros(&format!("{n:.decimals$}")).to_string()
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Boolean(_) => "boolean",
        Value::LightUserData(_) => "lightuserdata",
        Value::Integer(_) | Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Table(_) => "table",
        Value::Function(_) => "function",
        Value::Thread(_) => "thread",
        _ => "userdata",
    }
}

fn encode_string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in s {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\x08' => out.extend_from_slice(b"\\b"),
            b'\x0c' => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f | 0x7f => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

fn encode_number(n: f64, out: &mut Vec<u8>) -> std::result::Result<(), String> {
    if !n.is_finite() {
        return Err("Cannot serialise number: must not be NaN or Inf".into());
    }
    out.extend_from_slice(format_number(n).as_bytes());
    Ok(())
}

/// The array length of `t` if lua-cjson treats it as an array: only positive integer
/// keys, not excessively sparse. `Ok(None)` for an object.
fn array_length(t: &Table) -> std::result::Result<Option<usize>, String> {
    let (mut max, mut count) = (0usize, 0usize);
    for pair in t.pairs::<Value, Value>() {
        let Ok((k, _)) = pair else { return Ok(None) };
        let n = match k {
            Value::Integer(i) => i as f64,
            Value::Number(n) => n,
            _ => return Ok(None),
        };
        if n < 1.0 || n != n.floor() {
            return Ok(None);
        }
        max = max.max(n as usize);
        count += 1;
    }
    if max > 10 && max > count * 2 {
        return Err("Cannot serialise table: excessively sparse array".into());
    }
    Ok((max > 0).then_some(max))
}

fn encode(v: &Value, depth: usize, out: &mut Vec<u8>) -> std::result::Result<(), String> {
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(i) => encode_number(*i as f64, out)?,
        Value::Number(n) => encode_number(*n, out)?,
        Value::String(s) => encode_string(&s.as_bytes(), out),
        Value::Table(t) => {
            let depth = depth + 1;
            if depth > MAX_DEPTH {
                return Err(format!("Cannot serialise, excessive nesting ({depth})"));
            }
            match array_length(t)? {
                Some(len) => {
                    out.push(b'[');
                    for i in 1..=len {
                        if i > 1 {
                            out.push(b',');
                        }
                        let item: Value = t.raw_get(i).map_err(|e| e.to_string())?;
                        encode(&item, depth, out)?;
                    }
                    out.push(b']');
                }
                None => {
                    out.push(b'{');
                    let mut first = true;
                    for pair in t.pairs::<Value, Value>() {
                        let (k, item) = pair.map_err(|e| e.to_string())?;
                        if !first {
                            out.push(b',');
                        }
                        first = false;
                        match &k {
                            Value::String(s) => encode_string(&s.as_bytes(), out),
                            Value::Integer(i) => {
                                encode_string(format_number(*i as f64).as_bytes(), out)
                            }
                            Value::Number(n) => encode_string(format_number(*n).as_bytes(), out),
                            other => {
                                return Err(format!(
                                    "Cannot serialise {}: table key must be a number or string",
                                    type_name(other)
                                ));
                            }
                        }
                        out.push(b':');
                        encode(&item, depth, out)?;
                    }
                    out.push(b'}');
                }
            }
        }
        other => {
            return Err(format!(
                "Cannot serialise {}: type not supported",
                type_name(other)
            ));
        }
    }
    Ok(())
}

enum Failure {
    Lua(mlua::Error),
    Json(String),
}

impl From<mlua::Error> for Failure {
    fn from(e: mlua::Error) -> Failure {
        Failure::Lua(e)
    }
}

/// lua-cjson's token kinds, named as its error messages name them.
#[derive(Clone, Copy, PartialEq)]
enum Tok {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Colon,
    Comma,
    Str,
    Num,
    Bool,
    Null,
    End,
    /// lua-cjson's T_ERROR, with its description.
    Invalid(&'static str),
}

impl Tok {
    fn name(self) -> &'static str {
        match self {
            Tok::ObjBegin => "T_OBJ_BEGIN",
            Tok::ObjEnd => "T_OBJ_END",
            Tok::ArrBegin => "T_ARR_BEGIN",
            Tok::ArrEnd => "T_ARR_END",
            Tok::Colon => "T_COLON",
            Tok::Comma => "T_COMMA",
            Tok::Str => "T_STRING",
            Tok::Num => "T_NUMBER",
            Tok::Bool => "T_BOOLEAN",
            Tok::Null => "T_NULL",
            Tok::End => "T_END",
            Tok::Invalid(what) => what,
        }
    }
}

struct Parser<'l, 's> {
    lua: &'l Lua,
    s: &'s [u8],
    at: usize,
    depth: usize,
}

impl Parser<'_, '_> {
    fn document(&mut self) -> std::result::Result<Value, Failure> {
        let (tok, pos, v) = self.token()?;
        let value = self.value(tok, pos, v)?;
        let (tok, pos, _) = self.token()?;
        if tok != Tok::End {
            return Err(self.expected("the end", tok, pos));
        }
        Ok(value)
    }

    fn expected(&self, what: &str, tok: Tok, pos: usize) -> Failure {
        Failure::Json(format!(
            "Expected {what} but found {} at character {}",
            tok.name(),
            pos + 1
        ))
    }

    fn value(&mut self, tok: Tok, pos: usize, v: Value) -> std::result::Result<Value, Failure> {
        match tok {
            Tok::Str | Tok::Num | Tok::Bool | Tok::Null => Ok(v),
            Tok::ObjBegin => self.object(pos),
            Tok::ArrBegin => self.array(pos),
            _ => Err(self.expected("value", tok, pos)),
        }
    }

    fn nest(&mut self, pos: usize) -> std::result::Result<(), Failure> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Failure::Json(format!(
                "Found too many nested data structures ({}) at character {}",
                self.depth,
                pos + 1
            )));
        }
        Ok(())
    }

    fn object(&mut self, pos: usize) -> std::result::Result<Value, Failure> {
        self.nest(pos)?;
        let t = self.lua.create_table()?;
        let (mut tok, mut pos, mut v) = self.token()?;
        if tok == Tok::ObjEnd {
            self.depth -= 1;
            return Ok(Value::Table(t));
        }
        loop {
            if tok != Tok::Str {
                return Err(self.expected("object key string", tok, pos));
            }
            let key = v;
            let (t2, p2, _) = self.token()?;
            if t2 != Tok::Colon {
                return Err(self.expected("colon", t2, p2));
            }
            let (t3, p3, v3) = self.token()?;
            let item = self.value(t3, p3, v3)?;
            t.raw_set(key, item)?;
            let (t4, p4, _) = self.token()?;
            match t4 {
                Tok::ObjEnd => break,
                Tok::Comma => {}
                _ => return Err(self.expected("comma or object end", t4, p4)),
            }
            (tok, pos, v) = self.token()?;
        }
        self.depth -= 1;
        Ok(Value::Table(t))
    }

    fn array(&mut self, pos: usize) -> std::result::Result<Value, Failure> {
        self.nest(pos)?;
        let t = self.lua.create_table()?;
        let (mut tok, mut pos, mut v) = self.token()?;
        if tok == Tok::ArrEnd {
            self.depth -= 1;
            return Ok(Value::Table(t));
        }
        let mut i = 1;
        loop {
            let item = self.value(tok, pos, v)?;
            t.raw_set(i, item)?;
            i += 1;
            let (t2, p2, _) = self.token()?;
            match t2 {
                Tok::ArrEnd => break,
                Tok::Comma => {}
                _ => return Err(self.expected("comma or array end", t2, p2)),
            }
            (tok, pos, v) = self.token()?;
        }
        self.depth -= 1;
        Ok(Value::Table(t))
    }

    fn token(&mut self) -> mlua::Result<(Tok, usize, Value)> {
        while self.at < self.s.len() && matches!(self.s[self.at], b' ' | b'\t' | b'\n' | b'\r') {
            self.at += 1;
        }
        let pos = self.at;
        let Some(&c) = self.s.get(pos) else {
            return Ok((Tok::End, pos, Value::Nil));
        };
        let single = |t| Ok((t, pos, Value::Nil));
        self.at += 1;
        match c {
            b'{' => single(Tok::ObjBegin),
            b'}' => single(Tok::ObjEnd),
            b'[' => single(Tok::ArrBegin),
            b']' => single(Tok::ArrEnd),
            b':' => single(Tok::Colon),
            b',' => single(Tok::Comma),
            b'"' => match self.string() {
                Ok(bytes) => Ok((Tok::Str, pos, Value::String(self.lua.create_string(bytes)?))),
                Err(what) => Ok((Tok::Invalid(what), pos, Value::Nil)),
            },
            b'-' | b'0'..=b'9' => {
                let start = pos;
                while self.at < self.s.len()
                    && matches!(
                        self.s[self.at],
                        b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-'
                    )
                {
                    self.at += 1;
                }
                let text = std::str::from_utf8(&self.s[start..self.at]).unwrap_or("x");
                match text.parse::<f64>() {
                    Ok(n) => Ok((Tok::Num, pos, Value::Number(n))),
                    Err(_) => Ok((Tok::Invalid("invalid number"), pos, Value::Nil)),
                }
            }
            _ => {
                let rest = &self.s[pos..];
                for (word, tok, v) in [
                    (&b"true"[..], Tok::Bool, Value::Boolean(true)),
                    (b"false", Tok::Bool, Value::Boolean(false)),
                    (b"null", Tok::Null, null()),
                ] {
                    if rest.starts_with(word) {
                        self.at = pos + word.len();
                        return Ok((tok, pos, v));
                    }
                }
                Ok((Tok::Invalid("invalid token"), pos, Value::Nil))
            }
        }
    }

    /// A string's contents after its opening quote, unescaped; lua-cjson's
    /// description of what is wrong otherwise.
    fn string(&mut self) -> std::result::Result<Vec<u8>, &'static str> {
        const END: &str = "unexpected end of string";
        const ESCAPE: &str = "invalid escape code";
        let mut out = Vec::new();
        loop {
            let c = *self.s.get(self.at).ok_or(END)?;
            self.at += 1;
            match c {
                b'"' => return Ok(out),
                b'\\' => {
                    let e = *self.s.get(self.at).ok_or(END)?;
                    self.at += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let mut cp = self.hex4().ok_or("invalid unicode escape code")?;
                            if (0xD800..0xDC00).contains(&cp) {
                                if self.s.get(self.at..self.at + 2) != Some(b"\\u") {
                                    return Err("invalid unicode escape code");
                                }
                                self.at += 2;
                                let low = self.hex4().ok_or("invalid unicode escape code")?;
                                if !(0xDC00..0xE000).contains(&low) {
                                    return Err("invalid unicode escape code");
                                }
                                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                            }
                            let ch = char::from_u32(cp).ok_or("invalid unicode escape code")?;
                            let mut buf = [0; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return Err(ESCAPE),
                    }
                }
                _ => out.push(c),
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.s.get(self.at..self.at + 4)?;
        let text = std::str::from_utf8(digits).ok()?;
        let v = u32::from_str_radix(text, 16).ok()?;
        self.at += 4;
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::format_number;

    #[test]
    fn numbers_print_as_percent_14g() {
        assert_eq!(format_number(1.0), "1");
        assert_eq!(format_number(1.5), "1.5");
        assert_eq!(format_number(0.1), "0.1");
        assert_eq!(format_number(1e20), "1e+20");
        assert_eq!(format_number(1.0 / 3.0), "0.33333333333333");
        assert_eq!(format_number(0.00001), "1e-05");
    }
}
