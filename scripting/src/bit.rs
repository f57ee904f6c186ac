//! The `bit` library (LuaBitOp's API), which Redis bundles and Lua 5.1 lacks.

use mlua::{Lua, Result, Table, Variadic};

/// A Lua number as LuaBitOp sees it: rounded, then its low 32 bits, signed.
fn tobit(n: f64) -> i32 {
    (n.round_ties_even() as i64) as u32 as i32
}

fn fold(args: &Variadic<f64>, init: i32, op: fn(i32, i32) -> i32) -> i32 {
    args.iter().fold(init, |acc, &n| op(acc, tobit(n)))
}

/// Builds the `bit` table.
pub(crate) fn library(lua: &Lua) -> Result<Table> {
    let t = lua.create_table()?;
    t.set("tobit", lua.create_function(|_, n: f64| Ok(tobit(n)))?)?;
    t.set("bnot", lua.create_function(|_, n: f64| Ok(!tobit(n)))?)?;
    t.set(
        "band",
        lua.create_function(|_, a: Variadic<f64>| Ok(fold(&a, -1, |x, y| x & y)))?,
    )?;
    t.set(
        "bor",
        lua.create_function(|_, a: Variadic<f64>| Ok(fold(&a, 0, |x, y| x | y)))?,
    )?;
    t.set(
        "bxor",
        lua.create_function(|_, a: Variadic<f64>| Ok(fold(&a, 0, |x, y| x ^ y)))?,
    )?;
    let shift = |f: fn(i32, u32) -> i32| {
        move |_: &Lua, (n, s): (f64, f64)| Ok(f(tobit(n), tobit(s) as u32 & 31))
    };
    t.set(
        "lshift",
        lua.create_function(shift(|x, s| ((x as u32) << s) as i32))?,
    )?;
    t.set(
        "rshift",
        lua.create_function(shift(|x, s| ((x as u32) >> s) as i32))?,
    )?;
    t.set("arshift", lua.create_function(shift(|x, s| x >> s))?)?;
    t.set(
        "rol",
        lua.create_function(shift(|x, s| (x as u32).rotate_left(s) as i32))?,
    )?;
    t.set(
        "ror",
        lua.create_function(shift(|x, s| (x as u32).rotate_right(s) as i32))?,
    )?;
    t.set(
        "bswap",
        lua.create_function(|_, n: f64| Ok(tobit(n).swap_bytes()))?,
    )?;
    t.set(
        "tohex",
        lua.create_function(|_, (n, digits): (f64, Option<f64>)| {
            let x = tobit(n) as u32;
            let d = digits.map_or(8, tobit);
            let (upper, width) = if d < 0 {
                (true, (-d) as u32)
            } else {
                (false, d as u32)
            };
            let width = width.min(8);
            let masked = if width == 8 {
                x
            } else {
                x & ((1u32 << (4 * width)) - 1)
            };
            let text = if upper {
                format!("{masked:0w$X}", w = width as usize)
            } else {
                format!("{masked:0w$x}", w = width as usize)
            };
            Ok(text)
        })?,
    )?;
    Ok(t)
}
