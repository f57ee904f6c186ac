//! Error replies clients see, byte for byte as Redis 7.0 writes them.

use tessera_keyspace::KeyspaceError;

/// A value of the wrong type.
pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
/// An argument or value that is not an integer.
pub const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
/// An argument that is not a float.
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
/// Bad option syntax.
pub const SYNTAX: &str = "ERR syntax error";
/// A command before AUTH.
pub const NOAUTH: &str = "NOAUTH Authentication required.";
/// Keys of one command in several slots, in cluster mode.
pub const CROSSSLOT: &str = "CROSSSLOT Keys in request don't hash to the same slot";
/// A wrong password.
pub const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";
/// The connection limit.
pub const MAX_CLIENTS: &str = "ERR max number of clients reached";

/// The reply for a keyspace error.
pub fn keyspace(e: KeyspaceError) -> &'static str {
    match e {
        KeyspaceError::WrongType => WRONGTYPE,
        KeyspaceError::NotInteger => NOT_INTEGER,
        KeyspaceError::Overflow => "ERR increment or decrement would overflow",
        KeyspaceError::NotFloat | KeyspaceError::IncrementNotFloat => NOT_FLOAT,
        KeyspaceError::NotFinite => "ERR increment would produce NaN or Infinity",
        KeyspaceError::StringTooLong => {
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
        }
        KeyspaceError::NoSuchKey => "ERR no such key",
    }
}

/// `ERR wrong number of arguments for '<name>' command`.
pub fn wrong_arity(full_name: &str) -> String {
    format!("ERR wrong number of arguments for '{full_name}' command")
}

/// `ERR invalid expire time in '<name>' command`.
pub fn invalid_expire(full_name: &str) -> String {
    format!("ERR invalid expire time in '{full_name}' command")
}

/// `ERR unknown command ...`, quoting the arguments as Redis does (at most about 128
/// characters of them).
pub fn unknown_command(name: &[u8], args: impl Iterator<Item = impl AsRef<[u8]>>) -> String {
    let mut quoted = String::new();
    for arg in args {
        if quoted.len() >= 128 {
            break;
        }
        let room = 128 - quoted.len();
        let text = String::from_utf8_lossy(arg.as_ref());
        let cut: String = text.chars().take(room).collect();
        quoted.push_str(&format!("'{cut}' "));
    }
    let name = String::from_utf8_lossy(name);
    let name: String = name.chars().take(128).collect();
    format!("ERR unknown command '{name}', with args beginning with: {quoted}")
}

/// `ERR unknown subcommand '<sub>'. Try <CMD> HELP.`
pub fn unknown_subcommand(sub: &[u8], container: &str) -> String {
    let sub = String::from_utf8_lossy(sub);
    let sub: String = sub.chars().take(128).collect();
    format!(
        "ERR unknown subcommand '{sub}'. Try {} HELP.",
        container.to_ascii_uppercase()
    )
}
