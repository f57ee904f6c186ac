//! Raising Redis-shaped errors from Rust functions called by scripts.
//!
//! A Rust function's error reaches Lua as an opaque value; the sandbox's error handler
//! hands it back to [`unwrap`], which finds the [`Raise`] inside. Rust functions, not
//! Lua wrappers, so a script's `return redis.call(...)` (a tail call) still reports the
//! script's line: Lua 5.1 keeps the caller's frame only when the callee is a C function.

/// An error a script function raises.
#[derive(Debug, Clone)]
pub(crate) enum Raise {
    /// Raised as Redis raises a table `{err=...}`: the text is final, no position.
    Table(Vec<u8>),
    /// Raised as `luaL_error` does: the text follows the script's position.
    Positioned(String),
}

impl std::fmt::Display for Raise {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Raise::Table(t) => f.write_str(&String::from_utf8_lossy(t)),
            Raise::Positioned(t) => f.write_str(t),
        }
    }
}

impl std::error::Error for Raise {}

/// An error raised as a table with `text` (already with its code).
pub(crate) fn table(text: impl Into<Vec<u8>>) -> mlua::Error {
    mlua::Error::external(Raise::Table(text.into()))
}

/// An error raised with the script's position before `text`.
pub(crate) fn positioned(text: impl Into<String>) -> mlua::Error {
    mlua::Error::external(Raise::Positioned(text.into()))
}

/// What the error handler gets back: `("table", text)`, `("string", text)`, or
/// `(nil, nil)` for an error that is not a [`Raise`].
pub(crate) fn unwrap(v: &mlua::Value) -> (Option<&'static str>, Option<Vec<u8>>) {
    let mlua::Value::Error(e) = v else {
        return (None, None);
    };
    match e.downcast_ref::<Raise>() {
        Some(Raise::Table(t)) => (Some("table"), Some(t.clone())),
        Some(Raise::Positioned(t)) => (Some("string"), Some(t.clone().into_bytes())),
        None => (None, None),
    }
}
