//! SORT and SORT_RO: what they read, how they order it, and what STORE writes.
//!
//! The elements of a list, set or sorted set are copied out, weighed (by themselves or
//! by other keys named through a `*` pattern), ordered as Redis 7.0's `sortCompare`
//! orders them, cut by LIMIT and mapped through the GET patterns. Patterns refer to
//! keys in any slot, so the caller locks every slot they may touch (a lookup in a slot
//! that is not locked finds nothing); in cluster mode Redis 7.0 refuses such patterns.

use std::cmp::Ordering;

use crate::EncodingLimits;
use crate::collections::ListValue;
use crate::collections::list::End;
use crate::collections::zset::score::c_strtod;
use crate::db::SlotLocks;
use crate::value::Value;

/// What a SORT call asked for, once its arguments are read.
#[derive(Debug, Clone, Default)]
pub struct SortOptions<'a> {
    /// The BY pattern, if any (the last one given).
    pub by: Option<&'a [u8]>,
    /// Some BY pattern had no `*`: keep the native order (lists, sorted sets).
    pub dont_sort: bool,
    /// The GET patterns, in order (`#` is the element itself).
    pub gets: Vec<&'a [u8]>,
    /// DESC was the last of ASC/DESC.
    pub desc: bool,
    /// Compare as strings, not as numbers.
    pub alpha: bool,
    /// LIMIT offset, as given (0 without LIMIT).
    pub offset: i64,
    /// LIMIT count, as given (-1 without LIMIT: everything).
    pub count: i64,
    /// The result goes to a key (changes how sets are ordered and strings compared).
    pub store: bool,
}

/// Why SORT failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortError {
    /// The key holds neither a list, a set nor a sorted set.
    WrongType,
    /// A weight is not a number (numeric sort).
    NotDouble,
}

/// True when `pattern` names other keys (has a `*` before any NUL), so a lookup
/// through it reads the keyspace.
pub fn is_pattern(pattern: &[u8]) -> bool {
    c_str(pattern).contains(&b'*')
}

/// True when these options read keys other than the sorted one.
pub fn reads_other_keys(options: &SortOptions<'_>) -> bool {
    let by = !options.dont_sort && options.by.is_some_and(is_pattern);
    by || options
        .gets
        .iter()
        .any(|g| *g != b"#".as_slice() && is_pattern(g))
}

/// The text up to its first NUL, as C's string functions see it.
fn c_str(text: &[u8]) -> &[u8] {
    let end = text.iter().position(|b| *b == 0).unwrap_or(text.len());
    &text[..end]
}

/// One element being sorted and what it is weighed by.
struct Item {
    element: Vec<u8>,
    score: f64,
    weight: Option<Vec<u8>>,
}

/// The rows SORT answers: one per element without GET, else one per GET per element
/// (`None` for a lookup that found nothing).
pub fn sort(
    locks: &mut SlotLocks<'_>,
    key: &[u8],
    options: &SortOptions<'_>,
    now: i64,
) -> Result<Vec<Option<Vec<u8>>>, SortError> {
    let mut dont_sort = options.dont_sort;
    let mut alpha = options.alpha;
    let mut by = options.by;
    let t = locks.for_key(key);
    let (mut elements, start, end, native) = match t.read(key, now) {
        None => (Vec::new(), 0, 0, true),
        Some(Value::Str(_)) | Some(Value::Hash(_)) => return Err(SortError::WrongType),
        Some(value) => {
            let len = match value {
                Value::List(l) => l.len(),
                Value::Set(s) => s.len(),
                Value::ZSet(z) => z.len(),
                _ => unreachable!("other types answered above"),
            };
            if dont_sort && matches!(value, Value::Set(_)) && options.store {
                // A set's own order is not the same on a replica: STORE sorts it.
                dont_sort = false;
                alpha = true;
                by = None;
            }
            let (start, end) = window(options.offset, options.count, len);
            let native = dont_sort && !matches!(value, Value::Set(_));
            let elements = if native {
                native_slice(t, key, now, start, end, options.desc)
            } else {
                all_elements(t, key, now)
            };
            (elements, start, end, native)
        }
    };
    let (start, end) = if native {
        (0, elements.len())
    } else {
        (start, end)
    };
    let mut failed = false;
    if !dont_sort {
        let mut items: Vec<Item> = elements
            .drain(..)
            .map(|element| Item {
                element,
                score: 0.0,
                weight: None,
            })
            .collect();
        for item in &mut items {
            let weight = match by {
                Some(pattern) => match lookup(locks, pattern, &item.element, options.store, now) {
                    Some(w) => Some(w),
                    None => continue,
                },
                None => None,
            };
            if alpha {
                item.weight = weight;
            } else {
                let text = weight.as_deref().unwrap_or(&item.element);
                match to_double(text) {
                    Some(score) => item.score = score,
                    None => failed = true,
                }
            }
        }
        if failed {
            return Err(SortError::NotDouble);
        }
        let compare = |a: &Item, b: &Item| {
            let order = compare_items(a, b, alpha, by.is_some(), options.store);
            if options.desc { order.reverse() } else { order }
        };
        items.sort_by(compare);
        elements = items.into_iter().map(|i| i.element).collect();
    }
    let mut rows = Vec::new();
    for element in elements.iter().take(end).skip(start) {
        if options.gets.is_empty() {
            rows.push(Some(element.clone()));
        }
        for pattern in &options.gets {
            rows.push(lookup(locks, pattern, element, options.store, now));
        }
    }
    Ok(rows)
}

/// LIMIT's window over `len` elements, clamped as Redis clamps it.
fn window(offset: i64, count: i64, len: usize) -> (usize, usize) {
    let len = len as i64;
    let start = offset.clamp(0, len);
    let count = count.clamp(-1, len);
    let end = if count < 0 {
        len
    } else {
        (start + count).min(len)
    };
    (start as usize, end.max(start) as usize)
}

/// Elements `start..end` of a list or sorted set in its own order (from the tail
/// with `desc`). Converts a listpack sorted set to a skiplist, as Redis does.
fn native_slice(
    t: &mut crate::SlotTable,
    key: &[u8],
    now: i64,
    start: usize,
    end: usize,
    desc: bool,
) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(end - start);
    match t.get_mut(key, now) {
        Some(Value::List(l)) => {
            let len = l.len();
            let first = if desc { len - end } else { start };
            l.for_each_in_range(first, end - start, false, |e| out.push(e.to_vec()));
        }
        Some(Value::ZSet(z)) => {
            z.make_skiplist();
            let len = z.len();
            let (first, last) = if desc {
                (len - end, len - start)
            } else {
                (start, end)
            };
            out.extend(z.range(first, last).into_iter().map(|(m, _)| m));
        }
        _ => {}
    }
    if desc {
        out.reverse();
    }
    out
}

/// Every element of a list, set or sorted set (a sorted set becomes a skiplist).
fn all_elements(t: &mut crate::SlotTable, key: &[u8], now: i64) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    match t.get_mut(key, now) {
        Some(Value::List(l)) => l.for_each_element(|e| out.push(e.to_vec())),
        Some(Value::Set(s)) => s.for_each_member(|m| out.push(m.to_vec())),
        Some(Value::ZSet(z)) => {
            z.make_skiplist();
            z.for_each_scored(|m, _| out.push(m.to_vec()));
        }
        _ => {}
    }
    out
}

/// A weight as Redis's numeric SORT reads it: C's strtod over the whole text (leading
/// blanks allowed, an empty text is 0), no overflow or underflow, not NaN.
fn to_double(text: &[u8]) -> Option<f64> {
    let (value, read, range_error) = c_strtod(text);
    let whole = read == text.len() || text[read] == 0;
    (whole && !range_error && !value.is_nan()).then_some(value)
}

/// Redis 7.0's `sortCompare`, ascending.
fn compare_items(a: &Item, b: &Item, alpha: bool, by_pattern: bool, store: bool) -> Ordering {
    if !alpha {
        // Equal scores fall back to the elements, so the order is deterministic.
        return a
            .score
            .partial_cmp(&b.score)
            .unwrap_or(Ordering::Equal)
            .then_with(|| a.element.cmp(&b.element));
    }
    let (x, y) = if by_pattern {
        match (&a.weight, &b.weight) {
            (Some(x), Some(y)) => (x.as_slice(), y.as_slice()),
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
        }
    } else {
        (a.element.as_slice(), b.element.as_slice())
    };
    // STORE compares bytes; a reply collates, which in the C locale compares as
    // C strings (up to a NUL).
    if store {
        x.cmp(y)
    } else {
        c_str(x).cmp(c_str(y))
    }
}

/// What `pattern` names for `element` (Redis's `lookupKeyByPattern`): `#` is the
/// element; `*` is replaced by it to name a string key, or with `->field` a hash
/// field; no `*`, a missing key or a key of another type finds nothing.
fn lookup(
    locks: &mut SlotLocks<'_>,
    pattern: &[u8],
    element: &[u8],
    for_write: bool,
    now: i64,
) -> Option<Vec<u8>> {
    if pattern == b"#" {
        return Some(element.to_vec());
    }
    let star = c_str(pattern).iter().position(|b| *b == b'*')?;
    let after = &c_str(pattern)[star + 1..];
    let field = after
        .windows(2)
        .position(|w| w == b"->")
        .map(|at| star + 1 + at)
        .filter(|at| pattern.get(at + 2).is_some_and(|b| *b != 0))
        .map(|at| &pattern[at + 2..]);
    let suffix_end = pattern.len() - field.map_or(0, |f| f.len() + 2);
    let mut name = Vec::with_capacity(pattern.len() + element.len());
    name.extend_from_slice(&pattern[..star]);
    name.extend_from_slice(element);
    name.extend_from_slice(&pattern[star + 1..suffix_end]);
    let t = locks.try_for_key(&name)?;
    let value = if for_write {
        t.get(&name, now)
    } else {
        t.read(&name, now)
    }?;
    match (value, field) {
        (Value::Str(s), None) => Some(s.to_vec()),
        (Value::Hash(h), Some(f)) => h.get(f),
        _ => None,
    }
}

/// SORT ... STORE: replaces `destination` with the rows as a list (a missing row is
/// an empty string), or deletes it when there are none. Answers whether the keyspace
/// changed (something stored, or a key deleted).
pub fn store(
    locks: &mut SlotLocks<'_>,
    destination: &[u8],
    rows: &[Option<Vec<u8>>],
    limits: &EncodingLimits,
    now: i64,
) -> bool {
    let t = locks.for_key(destination);
    if rows.is_empty() {
        let existed = t.get(destination, now).is_some();
        if existed {
            t.remove(destination);
        }
        return existed;
    }
    let mut list = ListValue::new(limits);
    for row in rows {
        list.push(row.as_deref().unwrap_or_default(), End::Tail);
    }
    t.insert(destination, Value::List(Box::new(list)));
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_clamp_as_redis() {
        assert_eq!(window(0, -1, 5), (0, 5));
        assert_eq!(window(1, 2, 5), (1, 3));
        assert_eq!(window(-1, 2, 5), (0, 2));
        assert_eq!(window(4, 10, 5), (4, 5));
        assert_eq!(window(5, 1, 5), (5, 5));
        assert_eq!(window(2, -5, 5), (2, 5));
        assert_eq!(window(i64::MAX, i64::MAX, 5), (5, 5));
    }

    #[test]
    fn weights_parse_as_strtod() {
        assert_eq!(to_double(b""), Some(0.0));
        assert_eq!(to_double(b" 1.5"), Some(1.5));
        assert_eq!(to_double(b"0x10"), Some(16.0));
        assert_eq!(to_double(b"1 "), None);
        assert_eq!(to_double(b"nan"), None);
        assert_eq!(to_double(b"1e400"), None);
        assert_eq!(to_double(b"x"), None);
    }

    #[test]
    fn patterns_need_a_star_before_any_nul() {
        assert!(is_pattern(b"w_*"));
        assert!(!is_pattern(b"nosort"));
        assert!(!is_pattern(b"a\0*"));
    }
}
