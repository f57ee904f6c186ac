//! The `struct` library (Roberto Ierusalimschy's lua-struct, which Redis bundles):
//! `pack`, `unpack` and `size` of binary records described by a format string, with
//! the same sizes (a 64-bit Linux build's), alignment rules and error texts.

use mlua::{Lua, MultiValue, Result, Table, Value};

/// Widest integer the `i`/`I` options take, in bytes.
const MAX_INT_SIZE: usize = 32;

/// The alignment `!` sets when it names none: the strictest a double needs.
const MAX_ALIGN: usize = 8;

/// Builds the `struct` table.
pub(crate) fn library(lua: &Lua) -> Result<Table> {
    let t = lua.create_table()?;
    t.set(
        "pack",
        lua.create_function(|lua, args: MultiValue| pack(lua, &args))?,
    )?;
    t.set(
        "unpack",
        lua.create_function(|lua, args: MultiValue| unpack(lua, &args))?,
    )?;
    t.set(
        "size",
        lua.create_function(|_, args: MultiValue| size(&args))?,
    )?;
    Ok(t)
}

fn error(text: impl Into<String>) -> mlua::Error {
    crate::raise::positioned(text)
}

fn arg_error(n: usize, function: &str, why: &str) -> mlua::Error {
    error(format!("bad argument #{n} to '{function}' ({why})"))
}

/// The record's byte order and alignment as the format sets them.
struct Header {
    little: bool,
    align: usize,
}

impl Header {
    fn new() -> Header {
        Header {
            little: cfg!(target_endian = "little"),
            align: 1,
        }
    }
}

/// A format string, read option by option.
struct Format<'a> {
    text: &'a [u8],
    at: usize,
}

impl Format<'_> {
    /// The number written after an option, or `default`.
    fn number(&mut self, default: usize) -> Result<usize> {
        if !self.text.get(self.at).is_some_and(u8::is_ascii_digit) {
            return Ok(default);
        }
        let mut n: usize = 0;
        while let Some(d) = self.text.get(self.at).filter(|d| d.is_ascii_digit()) {
            let digit = usize::from(d - b'0');
            if n > (i32::MAX as usize - digit) / 10 {
                return Err(error("integral size overflow"));
            }
            n = n * 10 + digit;
            self.at += 1;
        }
        Ok(n)
    }

    /// The next option and its size (0 for options that take no room or no alignment).
    fn next(&mut self) -> Result<Option<(u8, usize)>> {
        let Some(&opt) = self.text.get(self.at) else {
            return Ok(None);
        };
        self.at += 1;
        let size = match opt {
            b'b' | b'B' | b'x' => 1,
            b'h' | b'H' => 2,
            b'l' | b'L' | b'T' | b'd' => 8,
            b'f' => 4,
            b'c' => self.number(1)?,
            b'i' | b'I' => {
                let n = self.number(4)?;
                if n > MAX_INT_SIZE {
                    return Err(error(format!(
                        "integral size {n} is larger than limit of {MAX_INT_SIZE}"
                    )));
                }
                n
            }
            _ => 0,
        };
        Ok(Some((opt, size)))
    }

    /// A control option (` `, `<`, `>`, `!`); any other is an error of `function`.
    fn control(&mut self, opt: u8, header: &mut Header, function: &str) -> Result<()> {
        match opt {
            b' ' => {}
            b'>' => header.little = false,
            b'<' => header.little = true,
            b'!' => {
                let a = self.number(MAX_ALIGN)?;
                if !a.is_power_of_two() {
                    return Err(error(format!("alignment {a} is not a power of 2")));
                }
                header.align = a;
            }
            _ => {
                let why = format!("invalid format option '{}'", char::from(opt));
                return Err(arg_error(1, function, &why));
            }
        }
        Ok(())
    }
}

/// Padding before an item of `size` at `len`, under the header's alignment.
fn padding(len: usize, header: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(header.align);
    if !size.is_power_of_two() {
        return 0;
    }
    (size - (len & (size - 1))) & (size - 1)
}

fn format_arg(args: &MultiValue, function: &str) -> Result<Vec<u8>> {
    string_arg(args, 1, function)
}

/// What Lua calls missing argument `n`: once pack has read its format it pushes a
/// marker past its arguments, so a value it lacks reads as nil.
fn missing(function: &str, n: usize) -> &'static str {
    if function == "pack" && n > 1 {
        "nil"
    } else {
        "no value"
    }
}

/// Argument `n` as luaL_checklstring reads it (numbers become their text).
fn string_arg(args: &MultiValue, n: usize, function: &str) -> Result<Vec<u8>> {
    match args.get(n - 1) {
        Some(Value::String(s)) => Ok(s.as_bytes().to_vec()),
        Some(Value::Integer(i)) => Ok(i.to_string().into_bytes()),
        Some(Value::Number(x)) => Ok(crate::cjson::format_number(*x).into_bytes()),
        other => Err(arg_error(
            n,
            function,
            &format!(
                "string expected, got {}",
                other.map_or(missing(function, n), Value::type_name)
            ),
        )),
    }
}

/// Argument `n` as luaL_checknumber reads it.
fn number_arg(args: &MultiValue, n: usize, function: &str) -> Result<f64> {
    let v = args.get(n - 1);
    let number = match v {
        Some(Value::Integer(i)) => Some(*i as f64),
        Some(Value::Number(x)) => Some(*x),
        Some(Value::String(s)) => s.to_str().ok().and_then(|t| t.trim().parse().ok()),
        _ => None,
    };
    number.ok_or_else(|| {
        let got = v.map_or(missing(function, n), Value::type_name);
        arg_error(n, function, &format!("number expected, got {got}"))
    })
}

/// Little-endian bytes in the record's order (reversed for big-endian), or the
/// record's bytes back in little-endian order: the same swap both ways.
fn in_order(mut bytes: Vec<u8>, little: bool) -> Vec<u8> {
    if !little {
        bytes.reverse();
    }
    bytes
}

fn put_int(out: &mut Vec<u8>, n: f64, little: bool, size: usize) {
    let value: u64 = if n < 0.0 { n as i64 as u64 } else { n as u64 };
    let mut bytes = vec![0u8; size];
    for (i, b) in bytes.iter_mut().enumerate().take(8) {
        *b = (value >> (8 * i)) as u8;
    }
    out.extend_from_slice(&in_order(bytes, little));
}

fn pack(lua: &Lua, args: &MultiValue) -> Result<mlua::LuaString> {
    let text = format_arg(args, "pack")?;
    let mut format = Format { text: &text, at: 0 };
    let mut header = Header::new();
    let mut out = Vec::new();
    let mut arg = 2;
    while let Some((opt, size)) = format.next()? {
        out.resize(out.len() + padding(out.len(), &header, opt, size), 0);
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = number_arg(args, arg, "pack")?;
                arg += 1;
                put_int(&mut out, n, header.little, size);
            }
            b'x' => out.push(0),
            b'f' | b'd' => {
                let n = number_arg(args, arg, "pack")?;
                arg += 1;
                let le = if opt == b'f' {
                    (n as f32).to_le_bytes().to_vec()
                } else {
                    n.to_le_bytes().to_vec()
                };
                out.extend_from_slice(&in_order(le, header.little));
            }
            b'c' | b's' => {
                let s = string_arg(args, arg, "pack")?;
                arg += 1;
                let take = if size == 0 { s.len() } else { size };
                if s.len() < take {
                    return Err(arg_error(arg, "pack", "string too short"));
                }
                out.extend_from_slice(&s[..take]);
                if opt == b's' {
                    out.push(0);
                }
            }
            _ => format.control(opt, &mut header, "pack")?,
        }
    }
    lua.create_string(&out)
}

fn get_int(bytes: &[u8], little: bool, signed: bool) -> f64 {
    let size = bytes.len();
    // Most significant byte first, so the shifts keep the low 64 bits as lua-struct's.
    let mut value: u64 = 0;
    for b in in_order(bytes.to_vec(), !little) {
        value = (value << 8) | u64::from(b);
    }
    if !signed {
        return value as f64;
    }
    if size < 8 && size > 0 {
        let sign = 1u64 << (size * 8 - 1);
        if value & sign != 0 {
            value |= !0u64 << (size * 8 - 1);
        }
    }
    value as i64 as f64
}

fn unpack(lua: &Lua, args: &MultiValue) -> Result<MultiValue> {
    let text = format_arg(args, "unpack")?;
    let data = string_arg(args, 2, "unpack")?;
    let start = match args.get(2) {
        None | Some(Value::Nil) => 1.0,
        Some(_) => number_arg(args, 3, "unpack")?,
    } as i64;
    if start <= 0 {
        return Err(arg_error(3, "unpack", "offset must be 1 or greater"));
    }
    let mut pos = (start - 1) as usize;
    let mut format = Format { text: &text, at: 0 };
    let mut header = Header::new();
    let mut out: Vec<Value> = Vec::new();
    let short = || arg_error(2, "unpack", "data string too short");
    while let Some((opt, mut size)) = format.next()? {
        pos += padding(pos, &header, opt, size);
        if size > data.len() || pos > data.len() - size {
            return Err(short());
        }
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let bytes = &data[pos..pos + size];
                let signed = opt.is_ascii_lowercase();
                out.push(Value::Number(get_int(bytes, header.little, signed)));
            }
            b'x' => {}
            b'f' => {
                let le = in_order(data[pos..pos + 4].to_vec(), header.little);
                let raw: [u8; 4] = le.try_into().expect("four bytes");
                out.push(Value::Number(f64::from(f32::from_le_bytes(raw))));
            }
            b'd' => {
                let le = in_order(data[pos..pos + 8].to_vec(), header.little);
                let raw: [u8; 8] = le.try_into().expect("eight bytes");
                out.push(Value::Number(f64::from_le_bytes(raw)));
            }
            b'c' => {
                if size == 0 {
                    let Some(Value::Number(n)) = out.pop() else {
                        return Err(error("format 'c0' needs a previous size"));
                    };
                    size = n as usize;
                    if size > data.len() || pos > data.len() - size {
                        return Err(short());
                    }
                }
                out.push(Value::String(lua.create_string(&data[pos..pos + size])?));
            }
            b's' => {
                let Some(end) = data[pos..].iter().position(|&b| b == 0) else {
                    return Err(error("unfinished string in data"));
                };
                out.push(Value::String(lua.create_string(&data[pos..pos + end])?));
                size = end + 1;
            }
            _ => format.control(opt, &mut header, "unpack")?,
        }
        pos += size;
    }
    out.push(Value::Number((pos + 1) as f64));
    Ok(out.into_iter().collect())
}

fn size(args: &MultiValue) -> Result<f64> {
    let text = format_arg(args, "size")?;
    let mut format = Format { text: &text, at: 0 };
    let mut header = Header::new();
    let mut pos = 0;
    while let Some((opt, size)) = format.next()? {
        pos += padding(pos, &header, opt, size);
        if opt == b's' {
            return Err(arg_error(1, "size", "option 's' has no fixed size"));
        }
        if opt == b'c' && size == 0 {
            return Err(arg_error(1, "size", "option 'c0' has no fixed size"));
        }
        if !opt.is_ascii_alphanumeric() {
            format.control(opt, &mut header, "size")?;
        }
        pos += size;
    }
    Ok(pos as f64)
}
