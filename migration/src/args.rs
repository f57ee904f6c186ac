//! The options of MIGRATE and RESTORE, parsed in Redis 7.0's order so that a bad call
//! gets the error Redis would give first.

use std::fmt;

/// Why a MIGRATE or RESTORE call was refused before doing anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgError {
    /// `ERR syntax error`
    Syntax,
    /// `ERR value is not an integer or out of range`
    NotInteger,
    /// MIGRATE KEYS with a non-empty key argument.
    KeysNeedEmptyKey,
    /// RESTORE IDLETIME below zero.
    BadIdleTime,
    /// RESTORE FREQ outside 0..=255.
    BadFreq,
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ArgError::Syntax => "ERR syntax error",
            ArgError::NotInteger => "ERR value is not an integer or out of range",
            ArgError::KeysNeedEmptyKey => {
                "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string"
            }
            ArgError::BadIdleTime => "ERR Invalid IDLETIME value, must be >= 0",
            ArgError::BadFreq => "ERR Invalid FREQ value, must be >= 0 and <= 255",
        })
    }
}

fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

fn int(arg: &[u8]) -> Result<i64, ArgError> {
    tessera_keyspace::number::parse_i64(arg).ok_or(ArgError::NotInteger)
}

/// Credentials MIGRATE sends to its target first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetAuth {
    /// AUTH2's user name; None for plain AUTH.
    pub user: Option<Vec<u8>>,
    /// The password.
    pub password: Vec<u8>,
}

/// A parsed `MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw]
/// [AUTH2 user pw] [KEYS key ...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateRequest {
    /// Target host, as given.
    pub host: String,
    /// Target port, as given.
    pub port: String,
    /// Argument positions of the keys to move.
    pub key_positions: std::ops::Range<usize>,
    /// Target database.
    pub db: i64,
    /// I/O timeout in ms (Redis turns 0 or less into 1000).
    pub timeout_ms: u64,
    /// Keep the local keys.
    pub copy: bool,
    /// Overwrite keys the target has.
    pub replace: bool,
    /// AUTH / AUTH2.
    pub auth: Option<TargetAuth>,
}

impl MigrateRequest {
    /// Parses the arguments, the command name included (`args[0]`).
    pub fn parse(args: &[&[u8]]) -> Result<MigrateRequest, ArgError> {
        if args.len() < 6 {
            return Err(ArgError::Syntax);
        }
        let mut request = MigrateRequest {
            host: String::from_utf8_lossy(args[1]).into_owned(),
            port: String::from_utf8_lossy(args[2]).into_owned(),
            key_positions: 3..4,
            db: 0,
            timeout_ms: 0,
            copy: false,
            replace: false,
            auth: None,
        };
        let mut j = 6;
        while j < args.len() {
            let more = args.len() - 1 - j;
            let arg = args[j];
            if is(arg, "copy") {
                request.copy = true;
            } else if is(arg, "replace") {
                request.replace = true;
            } else if is(arg, "auth") {
                if more < 1 {
                    return Err(ArgError::Syntax);
                }
                request.auth = Some(TargetAuth {
                    user: None,
                    password: args[j + 1].to_vec(),
                });
                j += 1;
            } else if is(arg, "auth2") {
                if more < 2 {
                    return Err(ArgError::Syntax);
                }
                request.auth = Some(TargetAuth {
                    user: Some(args[j + 1].to_vec()),
                    password: args[j + 2].to_vec(),
                });
                j += 2;
            } else if is(arg, "keys") {
                if !args[3].is_empty() {
                    return Err(ArgError::KeysNeedEmptyKey);
                }
                request.key_positions = j + 1..args.len();
                break;
            } else {
                return Err(ArgError::Syntax);
            }
            j += 1;
        }
        let timeout = int(args[5])?;
        request.db = int(args[4])?;
        request.timeout_ms = if timeout <= 0 { 1000 } else { timeout as u64 };
        Ok(request)
    }
}

/// The options of `RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RestoreOptions {
    /// Overwrite an existing key.
    pub replace: bool,
    /// The TTL is a Unix time in ms, not a duration.
    pub absttl: bool,
    /// IDLETIME seconds.
    pub idle_seconds: Option<i64>,
    /// FREQ counter.
    pub freq: Option<u8>,
}

impl RestoreOptions {
    /// Parses the options after the payload (`args[4..]`, counting the command name).
    pub fn parse(args: &[&[u8]]) -> Result<RestoreOptions, ArgError> {
        let mut options = RestoreOptions::default();
        let mut j = 4;
        while j < args.len() {
            let more = args.len() - 1 - j;
            let arg = args[j];
            if is(arg, "replace") {
                options.replace = true;
            } else if is(arg, "absttl") {
                options.absttl = true;
            } else if is(arg, "idletime") && more >= 1 && options.freq.is_none() {
                let idle = int(args[j + 1])?;
                if idle < 0 {
                    return Err(ArgError::BadIdleTime);
                }
                options.idle_seconds = Some(idle);
                j += 1;
            } else if is(arg, "freq") && more >= 1 && options.idle_seconds.is_none() {
                let freq = int(args[j + 1])?;
                options.freq = Some(u8::try_from(freq).map_err(|_| ArgError::BadFreq)?);
                j += 1;
            } else {
                return Err(ArgError::Syntax);
            }
            j += 1;
        }
        Ok(options)
    }
}

/// The TTL argument of RESTORE, checked: `Ok(None)` for no expiry, `Ok(Some(at))` for
/// an absolute deadline in Unix ms.
pub fn restore_deadline(ttl: &[u8], absttl: bool, now_ms: i64) -> Result<Option<i64>, String> {
    let ttl = int(ttl).map_err(|e| e.to_string())?;
    if ttl < 0 {
        return Err("ERR Invalid TTL value, must be >= 0".into());
    }
    Ok(match ttl {
        0 => None,
        t if absttl => Some(t),
        t => Some(t.saturating_add(now_ms)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<&[u8]> {
        s.split(' ')
            .map(|a| if a == "\"\"" { &b""[..] } else { a.as_bytes() })
            .collect()
    }

    #[test]
    fn migrate_as_redis_cli_sends_it() {
        let a = args("MIGRATE 127.0.0.1 7001 \"\" 0 60000 REPLACE AUTH2 u p KEYS k1 k2");
        let r = MigrateRequest::parse(&a).unwrap();
        assert_eq!((r.host.as_str(), r.port.as_str()), ("127.0.0.1", "7001"));
        assert_eq!(r.key_positions, 11..13);
        assert_eq!(
            (r.db, r.timeout_ms, r.copy, r.replace),
            (0, 60000, false, true)
        );
        let auth = r.auth.unwrap();
        assert_eq!(auth.user.as_deref(), Some(&b"u"[..]));
        let one = args("MIGRATE h 1 key 0 0 COPY");
        let r = MigrateRequest::parse(&one).unwrap();
        assert_eq!(
            (r.key_positions.clone(), r.timeout_ms, r.copy),
            (3..4, 1000, true)
        );
    }

    #[test]
    fn migrate_errors_in_redis_order() {
        let bad = |s| MigrateRequest::parse(&args(s)).unwrap_err();
        assert_eq!(bad("MIGRATE h 1 k 0 x NOPE"), ArgError::Syntax);
        assert_eq!(bad("MIGRATE h 1 k 0 x AUTH"), ArgError::Syntax);
        assert_eq!(bad("MIGRATE h 1 k 0 x AUTH2 u"), ArgError::Syntax);
        assert_eq!(bad("MIGRATE h 1 k 0 5 KEYS a"), ArgError::KeysNeedEmptyKey);
        assert_eq!(bad("MIGRATE h 1 k 0 x"), ArgError::NotInteger);
        assert_eq!(bad("MIGRATE h 1 k y 5"), ArgError::NotInteger);
    }

    #[test]
    fn restore_options() {
        let o = RestoreOptions::parse(&args("RESTORE k 0 p REPLACE ABSTTL IDLETIME 5")).unwrap();
        assert!(o.replace && o.absttl && o.idle_seconds == Some(5));
        let bad = |s| RestoreOptions::parse(&args(s)).unwrap_err();
        assert_eq!(bad("RESTORE k 0 p IDLETIME -1"), ArgError::BadIdleTime);
        assert_eq!(bad("RESTORE k 0 p FREQ 256"), ArgError::BadFreq);
        assert_eq!(bad("RESTORE k 0 p FREQ 1 IDLETIME 1"), ArgError::Syntax);
        assert_eq!(bad("RESTORE k 0 p IDLETIME"), ArgError::Syntax);
        assert_eq!(bad("RESTORE k 0 p FREQ x"), ArgError::NotInteger);
        assert_eq!(restore_deadline(b"0", false, 100), Ok(None));
        assert_eq!(restore_deadline(b"50", false, 100), Ok(Some(150)));
        assert_eq!(restore_deadline(b"50", true, 100), Ok(Some(50)));
        assert!(restore_deadline(b"-1", false, 100).is_err());
    }
}
