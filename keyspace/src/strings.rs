//! String commands: what SET, GET, APPEND, INCR and friends do to a slot's data.
//!
//! Argument parsing and reply encoding belong to the RESP layer; these functions take
//! typed arguments and the current time, and answer typed results.

use crate::error::{KeyspaceError, Result};
use crate::long_double::{self, FloatAddError};
use crate::slot_table::SlotTable;
use crate::value::{StrValue, Value};

/// When SET writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SetCondition {
    /// Always.
    #[default]
    Always,
    /// Only if the key does not exist (NX).
    IfAbsent,
    /// Only if the key exists (XX).
    IfPresent,
}

/// What a write does to the key's deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Deadline {
    /// Remove it (plain SET).
    #[default]
    Clear,
    /// Keep it (KEEPTTL).
    Keep,
    /// Set it to this Unix time in milliseconds.
    At(i64),
}

/// Options of SET.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SetOptions {
    /// NX / XX.
    pub condition: SetCondition,
    /// EX / PX / EXAT / PXAT / KEEPTTL.
    pub deadline: Deadline,
    /// GET: return the previous value.
    pub return_previous: bool,
}

/// What SET did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetOutcome {
    /// Whether the value was written.
    pub written: bool,
    /// The previous value, when SET ... GET asked for it.
    pub previous: Option<StrValue>,
}

/// GET: the string under `key`, counting a keyspace hit or miss.
pub fn get<'t>(t: &'t mut SlotTable, key: &[u8], now: i64) -> Result<Option<&'t StrValue>> {
    t.read(key, now).map(Value::as_string).transpose()
}

/// SET with all its options.
pub fn set(
    t: &mut SlotTable,
    key: &[u8],
    value: &[u8],
    options: SetOptions,
    now: i64,
) -> Result<SetOutcome> {
    // GET makes it a read too (Redis's getGenericCommand): a hit or miss is counted.
    let existing = if options.return_previous {
        t.read(key, now)
    } else {
        t.get(key, now)
    };
    let exists = existing.is_some();
    let previous = match (options.return_previous, existing) {
        (true, Some(v)) => Some(Value::as_string(v)?.clone()),
        _ => None,
    };
    let allowed = match options.condition {
        SetCondition::Always => true,
        SetCondition::IfAbsent => !exists,
        SetCondition::IfPresent => exists,
    };
    if !allowed {
        return Ok(SetOutcome {
            written: false,
            previous,
        });
    }
    let value = Value::Str(StrValue::new(value));
    match options.deadline {
        Deadline::Keep => {
            t.insert_keep_ttl(key, value);
        }
        Deadline::Clear => {
            t.insert(key, value);
        }
        Deadline::At(at) => {
            t.insert(key, value);
            t.set_deadline(key, at);
        }
    }
    Ok(SetOutcome {
        written: true,
        previous,
    })
}

/// GETDEL: removes a string key and returns its value.
pub fn getdel(t: &mut SlotTable, key: &[u8], now: i64) -> Result<Option<StrValue>> {
    match t.read(key, now) {
        None => Ok(None),
        Some(v) => {
            Value::as_string(v)?;
            match t.remove(key) {
                Some(Value::Str(s)) => Ok(Some(s)),
                _ => unreachable!("the key was just read as a string"),
            }
        }
    }
}

/// What GETEX does to the deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetExDeadline {
    /// Leave it.
    Keep,
    /// Remove it (PERSIST).
    Persist,
    /// Set it (EX/PX/EXAT/PXAT); a time already past deletes the key.
    At(i64),
}

/// GETEX: the value of a string key, changing its deadline.
pub fn getex(
    t: &mut SlotTable,
    key: &[u8],
    deadline: GetExDeadline,
    now: i64,
) -> Result<Option<StrValue>> {
    let value = match t.read(key, now) {
        None => return Ok(None),
        Some(v) => Value::as_string(v)?.clone(),
    };
    match deadline {
        GetExDeadline::Keep => {}
        GetExDeadline::Persist => {
            t.clear_deadline(key);
        }
        GetExDeadline::At(at) if at <= now => {
            t.remove(key);
        }
        GetExDeadline::At(at) => t.set_deadline(key, at),
    }
    Ok(Some(value))
}

/// Checks that a string of `offset + extra` bytes stays within `max_len`.
fn check_length(offset: usize, extra: usize, max_len: usize) -> Result<()> {
    match offset.checked_add(extra) {
        Some(total) if total <= max_len => Ok(()),
        _ => Err(KeyspaceError::StringTooLong),
    }
}

/// APPEND: appends `data`, creating the key if needed; returns the new length.
pub fn append(
    t: &mut SlotTable,
    key: &[u8],
    data: &[u8],
    max_len: usize,
    now: i64,
) -> Result<usize> {
    match t.get_mut(key, now) {
        None => {
            check_length(0, data.len(), max_len)?;
            t.insert(key, Value::Str(StrValue::new(data)));
            Ok(data.len())
        }
        Some(v) => {
            let s = Value::as_string_mut(v)?;
            check_length(s.len(), data.len(), max_len)?;
            let buf = s.make_mut();
            buf.extend_from_slice(data);
            Ok(buf.len())
        }
    }
}

/// STRLEN: length of the string under `key` (0 when missing).
pub fn strlen(t: &mut SlotTable, key: &[u8], now: i64) -> Result<usize> {
    Ok(get(t, key, now)?.map_or(0, StrValue::len))
}

/// The byte range GETRANGE returns for a string of `len` bytes, with Redis's rules for
/// negative and out-of-range indexes. `None` means the empty string.
pub fn substring_range(len: usize, start: i64, end: i64) -> Option<std::ops::Range<usize>> {
    if len == 0 || (start < 0 && end < 0 && start > end) {
        return None;
    }
    let len_i = len as i64;
    let resolve = |i: i64| if i < 0 { (len_i + i).max(0) } else { i };
    let start = resolve(start);
    let end = resolve(end).min(len_i - 1);
    (start <= end).then(|| start as usize..end as usize + 1)
}

/// SETRANGE: overwrites part of a string, zero-padding as needed; returns the new length.
pub fn setrange(
    t: &mut SlotTable,
    key: &[u8],
    offset: usize,
    data: &[u8],
    max_len: usize,
    now: i64,
) -> Result<usize> {
    match t.get_mut(key, now) {
        None => {
            if data.is_empty() {
                return Ok(0);
            }
            check_length(offset, data.len(), max_len)?;
            let mut buf = vec![0u8; offset + data.len()];
            buf[offset..].copy_from_slice(data);
            let len = buf.len();
            let mut value = StrValue::new(b"");
            *value.make_mut() = buf;
            t.insert(key, Value::Str(value));
            Ok(len)
        }
        Some(v) => {
            let s = Value::as_string_mut(v)?;
            if data.is_empty() {
                return Ok(s.len());
            }
            check_length(offset, data.len(), max_len)?;
            let buf = s.make_mut();
            let end = offset + data.len();
            if buf.len() < end {
                buf.resize(end, 0);
            }
            buf[offset..end].copy_from_slice(data);
            Ok(buf.len())
        }
    }
}

/// INCRBY / DECRBY / INCR / DECR: adds `delta` to an integer string, keeping its deadline.
pub fn incr_by(t: &mut SlotTable, key: &[u8], delta: i64, now: i64) -> Result<i64> {
    match t.get_mut(key, now) {
        None => {
            t.insert(key, Value::Str(StrValue::from_i64(delta)));
            Ok(delta)
        }
        Some(v) => {
            let s = Value::as_string_mut(v)?;
            let current = s.as_i64().ok_or(KeyspaceError::NotInteger)?;
            let next = current.checked_add(delta).ok_or(KeyspaceError::Overflow)?;
            *s = StrValue::from_i64(next);
            Ok(next)
        }
    }
}

/// INCRBYFLOAT: adds a float to a string in extended precision; returns the new text.
pub fn incr_by_float(t: &mut SlotTable, key: &[u8], increment: &[u8], now: i64) -> Result<Vec<u8>> {
    let current = match t.get(key, now) {
        None => b"0".to_vec(),
        Some(v) => Value::as_string(v)?.to_vec(),
    };
    let next = long_double::add(&current, increment).map_err(|e| match e {
        FloatAddError::CurrentNotFloat => KeyspaceError::NotFloat,
        FloatAddError::IncrementNotFloat => KeyspaceError::IncrementNotFloat,
        FloatAddError::NotFinite => KeyspaceError::NotFinite,
    })?;
    t.insert_keep_ttl(key, Value::Str(StrValue::verbatim(&next)));
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use foldhash::fast::FixedState;

    fn table() -> SlotTable {
        SlotTable::new(FixedState::with_seed(1))
    }

    fn text(t: &mut SlotTable, key: &[u8]) -> Option<Vec<u8>> {
        get(t, key, 0).unwrap().map(StrValue::to_vec)
    }

    #[test]
    fn set_conditions_and_get() {
        let mut t = table();
        let nx = SetOptions {
            condition: SetCondition::IfAbsent,
            ..Default::default()
        };
        assert!(set(&mut t, b"k", b"1", nx, 0).unwrap().written);
        assert!(!set(&mut t, b"k", b"2", nx, 0).unwrap().written);
        let xx_get = SetOptions {
            condition: SetCondition::IfPresent,
            return_previous: true,
            ..Default::default()
        };
        let out = set(&mut t, b"k", b"3", xx_get, 0).unwrap();
        assert_eq!(out.previous.unwrap().to_vec(), b"1");
        assert!(!set(&mut t, b"other", b"x", xx_get, 0).unwrap().written);
        assert_eq!(text(&mut t, b"k").unwrap(), b"3");
    }

    #[test]
    fn set_deadlines() {
        let mut t = table();
        let at = SetOptions {
            deadline: Deadline::At(100),
            ..Default::default()
        };
        set(&mut t, b"k", b"v", at, 0).unwrap();
        assert_eq!(t.deadline(b"k"), Some(100));
        let keep = SetOptions {
            deadline: Deadline::Keep,
            ..Default::default()
        };
        set(&mut t, b"k", b"w", keep, 0).unwrap();
        assert_eq!(t.deadline(b"k"), Some(100));
        set(&mut t, b"k", b"x", SetOptions::default(), 0).unwrap();
        assert_eq!(t.deadline(b"k"), None);
    }

    #[test]
    fn getex_in_the_past_deletes() {
        let mut t = table();
        set(&mut t, b"k", b"v", SetOptions::default(), 0).unwrap();
        assert_eq!(
            getex(&mut t, b"k", GetExDeadline::At(5), 10)
                .unwrap()
                .unwrap()
                .to_vec(),
            b"v"
        );
        assert!(t.get(b"k", 10).is_none());
    }

    #[test]
    fn getrange_indexes_follow_redis() {
        // Expectations read off redis-server 7.0.15 with a 46-byte value.
        assert_eq!(substring_range(46, 0, -1), Some(0..46));
        assert_eq!(substring_range(46, -3, -1), Some(43..46));
        assert_eq!(substring_range(46, 5, 2), None);
        assert_eq!(substring_range(0, 0, 1), None);
        assert_eq!(substring_range(5, -100, 100), Some(0..5));
        assert_eq!(substring_range(5, -1, -3), None);
        assert_eq!(substring_range(5, 10, 20), None);
    }

    #[test]
    fn setrange_pads_and_limits() {
        let mut t = table();
        assert_eq!(setrange(&mut t, b"k", 3, b"ab", 100, 0).unwrap(), 5);
        assert_eq!(text(&mut t, b"k").unwrap(), b"\0\0\0ab");
        assert_eq!(setrange(&mut t, b"n", 3, b"", 100, 0).unwrap(), 0);
        assert!(t.get(b"n", 0).is_none(), "empty SETRANGE creates nothing");
        assert_eq!(
            setrange(&mut t, b"k", 100, b"x", 100, 0),
            Err(KeyspaceError::StringTooLong)
        );
        assert_eq!(setrange(&mut t, b"k", 0, b"", 100, 0).unwrap(), 5);
    }

    #[test]
    fn counters_keep_deadline_and_detect_overflow() {
        let mut t = table();
        assert_eq!(incr_by(&mut t, b"n", 5, 0).unwrap(), 5);
        t.set_deadline(b"n", 1000);
        assert_eq!(incr_by(&mut t, b"n", -7, 0).unwrap(), -2);
        assert_eq!(t.deadline(b"n"), Some(1000));
        assert_eq!(
            incr_by(&mut t, b"n", i64::MIN, 0),
            Err(KeyspaceError::Overflow)
        );
        set(&mut t, b"s", b" 12", SetOptions::default(), 0).unwrap();
        assert_eq!(incr_by(&mut t, b"s", 1, 0), Err(KeyspaceError::NotInteger));
        assert_eq!(incr_by_float(&mut t, b"n", b"0.5", 0).unwrap(), b"-1.5");
        assert_eq!(t.deadline(b"n"), Some(1000));
        assert_eq!(
            incr_by_float(&mut t, b"s", b"1", 0),
            Err(KeyspaceError::NotFloat)
        );
    }

    #[test]
    fn append_grows_and_checks_length() {
        let mut t = table();
        assert_eq!(append(&mut t, b"k", b"ab", 10, 0).unwrap(), 2);
        assert_eq!(append(&mut t, b"k", b"cd", 10, 0).unwrap(), 4);
        assert_eq!(text(&mut t, b"k").unwrap(), b"abcd");
        assert_eq!(
            append(&mut t, b"k", &[0; 7], 10, 0),
            Err(KeyspaceError::StringTooLong)
        );
        assert_eq!(strlen(&mut t, b"k", 0).unwrap(), 4);
    }
}
