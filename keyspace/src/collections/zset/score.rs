//! Scores as Redis reads and writes them: C's `strtod` with Redis's checks, the text a
//! listpack stores, and the ranges (`(1.5`, `[abc`, `-`, `+`) range commands take.

use std::cmp::Ordering;
use std::ffi::c_char;

use crate::number::format_g17;

unsafe extern "C" {
    fn strtod(text: *const c_char, end: *mut *mut c_char) -> f64;
}

#[cfg(target_os = "linux")]
unsafe extern "C" {
    fn __errno_location() -> *mut i32;
}

#[cfg(not(target_os = "linux"))]
unsafe extern "C" {
    #[link_name = "__error"]
    fn __errno_location() -> *mut i32;
}

const ERANGE: i32 = 34;

/// What C's `strtod` makes of `text` (read up to its first NUL, as Redis's strings
/// are): the value, how many bytes it read, and whether it set `ERANGE`.
///
/// Redis parses scores with the C library, so hex floats, `infinity`, leading spaces
/// in ranges and the exact overflow rules all follow it; calling it is the only way
/// to agree on every input.
pub(crate) fn c_strtod(text: &[u8]) -> (f64, usize, bool) {
    let mut owned = Vec::with_capacity(text.len() + 1);
    owned.extend_from_slice(text);
    owned.push(0);
    let mut end: *mut c_char = std::ptr::null_mut();
    // SAFETY: `owned` is NUL-terminated and outlives the call; strtod writes one
    // pointer into `end`, which points into `owned`. errno is this thread's own.
    unsafe {
        *__errno_location() = 0;
        let value = strtod(owned.as_ptr().cast(), &mut end);
        let range_error = *__errno_location() == ERANGE;
        let read = (end as usize).saturating_sub(owned.as_ptr() as usize);
        (value, read, range_error)
    }
}

/// Parses a score or weight as Redis's `string2d`: the whole text must be a float, no
/// leading space, no overflow or underflow to zero, not NaN.
pub fn parse_score(text: &[u8]) -> Option<f64> {
    if text.is_empty() || is_c_space(text[0]) {
        return None;
    }
    let (value, read, range_error) = c_strtod(text);
    let lost = range_error && (value.is_infinite() || value == 0.0);
    (read == text.len() && !lost && !value.is_nan()).then_some(value)
}

fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Parses one end of a score range as `zslParseRange` does: plain `strtod`, which
/// must stop at the end of the string (or a NUL in it), and not NaN.
fn parse_range_value(text: &[u8]) -> Option<f64> {
    let (value, read, _) = c_strtod(text);
    let stops = read == text.len() || text[read] == 0;
    (stops && !value.is_nan()).then_some(value)
}

/// The text Redis stores for a score in a listpack (`d2string`): integral scores
/// within +-2^62 (`LLONG_MAX/2`, Redis's `double2ll` range) in decimal, everything
/// else as `%.17g`. Negative zero is integral too: a listpack keeps `0` for it (a
/// skiplist keeps -0, as redis-server 7.0.15 shows in ZSCORE).
pub fn score_text(score: f64) -> String {
    const LIMIT: f64 = 4_611_686_018_427_387_904.0; // 2^62
    if (-LIMIT..=LIMIT).contains(&score) && score == score.trunc() {
        return (score as i64).to_string();
    }
    format_g17(score)
}

/// Compares a listpack or skiplist element `(score, member)` with another: by score,
/// then by member bytes.
#[inline]
pub fn compare(a: (f64, &[u8]), b: (f64, &[u8])) -> Ordering {
    a.0.partial_cmp(&b.0)
        .unwrap_or(Ordering::Equal)
        .then_with(|| a.1.cmp(b.1))
}

/// A score range: `min`/`max` with exclusive flags.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    /// Lower end.
    pub min: f64,
    /// Upper end.
    pub max: f64,
    /// `(` on min.
    pub min_exclusive: bool,
    /// `(` on max.
    pub max_exclusive: bool,
}

impl ScoreRange {
    /// Parses `min` and `max` as ZRANGEBYSCORE takes them; `None` is Redis's "min or
    /// max is not a float".
    pub fn parse(min: &[u8], max: &[u8]) -> Option<ScoreRange> {
        let end = |text: &[u8]| match text.strip_prefix(b"(") {
            Some(rest) => parse_range_value(rest).map(|v| (v, true)),
            None => parse_range_value(text).map(|v| (v, false)),
        };
        let (min, min_exclusive) = end(min)?;
        let (max, max_exclusive) = end(max)?;
        Some(ScoreRange {
            min,
            max,
            min_exclusive,
            max_exclusive,
        })
    }

    /// True when `score` is below the range's lower end.
    #[inline]
    pub fn below(&self, score: f64) -> bool {
        if self.min_exclusive {
            score <= self.min
        } else {
            score < self.min
        }
    }

    /// True when `score` is not above the range's upper end.
    #[inline]
    pub fn within_max(&self, score: f64) -> bool {
        if self.max_exclusive {
            score < self.max
        } else {
            score <= self.max
        }
    }

    /// True when no score can be in the range.
    pub fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.min_exclusive || self.max_exclusive))
    }
}

/// One end of a lexicographic range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexBound {
    /// `-`: below every member.
    Min,
    /// `+`: above every member.
    Max,
    /// `[x` (inclusive) or `(x` (exclusive).
    Value(Vec<u8>, bool),
}

/// A lexicographic range (ZRANGEBYLEX).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexRange {
    /// Lower end.
    pub min: LexBound,
    /// Upper end.
    pub max: LexBound,
}

fn parse_lex_bound(text: &[u8]) -> Option<LexBound> {
    // Redis tests the byte after `+`/`-` against the string's NUL terminator.
    let alone = text.len() == 1 || text.get(1) == Some(&0);
    match text.first()? {
        b'+' if alone => Some(LexBound::Max),
        b'-' if alone => Some(LexBound::Min),
        b'(' => Some(LexBound::Value(text[1..].to_vec(), true)),
        b'[' => Some(LexBound::Value(text[1..].to_vec(), false)),
        _ => None,
    }
}

fn bound_order(a: &LexBound, b: &LexBound) -> Ordering {
    match (a, b) {
        (LexBound::Min, LexBound::Min) | (LexBound::Max, LexBound::Max) => Ordering::Equal,
        (LexBound::Min, _) | (_, LexBound::Max) => Ordering::Less,
        (_, LexBound::Min) | (LexBound::Max, _) => Ordering::Greater,
        (LexBound::Value(x, _), LexBound::Value(y, _)) => x.cmp(y),
    }
}

fn bound_exclusive(b: &LexBound) -> bool {
    match b {
        LexBound::Min | LexBound::Max => true,
        LexBound::Value(_, exclusive) => *exclusive,
    }
}

impl LexRange {
    /// True when no member can be in the range (Redis's first check).
    pub fn is_empty(&self) -> bool {
        match bound_order(&self.min, &self.max) {
            Ordering::Greater => true,
            Ordering::Equal => bound_exclusive(&self.min) || bound_exclusive(&self.max),
            Ordering::Less => false,
        }
    }

    /// Parses `min` and `max`; `None` is Redis's "min or max not valid string range item".
    pub fn parse(min: &[u8], max: &[u8]) -> Option<LexRange> {
        Some(LexRange {
            min: parse_lex_bound(min)?,
            max: parse_lex_bound(max)?,
        })
    }

    /// True when `member` is below the lower end.
    #[inline]
    pub fn below(&self, member: &[u8]) -> bool {
        match &self.min {
            LexBound::Min => false,
            LexBound::Max => true,
            LexBound::Value(v, exclusive) => {
                if *exclusive {
                    member <= v.as_slice()
                } else {
                    member < v.as_slice()
                }
            }
        }
    }

    /// True when `member` is not above the upper end.
    #[inline]
    pub fn within_max(&self, member: &[u8]) -> bool {
        match &self.max {
            LexBound::Min => false,
            LexBound::Max => true,
            LexBound::Value(v, exclusive) => {
                if *exclusive {
                    member < v.as_slice()
                } else {
                    member <= v.as_slice()
                }
            }
        }
    }
}

/// A score read back from a listpack string entry, as `zzlStrtod` reads it (what
/// strtod makes of it; garbage is 0).
pub fn lenient_score(text: &[u8]) -> f64 {
    // What Redis stores (`%.17g`, `inf`) parses to the same double in Rust, without
    // the copy strtod needs for its terminator; anything else goes to strtod.
    match std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse::<f64>().ok())
    {
        Some(value) if !value.is_nan() => value,
        _ => c_strtod(text).0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_parse_as_string2d() {
        assert_eq!(parse_score(b"1.5"), Some(1.5));
        assert_eq!(parse_score(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score(b"+Infinity"), Some(f64::INFINITY));
        assert_eq!(parse_score(b"0x10"), Some(16.0));
        assert_eq!(parse_score(b"1e-310").map(|v| v > 0.0), Some(true));
        for bad in [
            &b""[..],
            b" 1",
            b"1 ",
            b"nan",
            b"1e400",
            b"1e-400",
            b"abc",
            b"1\x002",
        ] {
            assert_eq!(parse_score(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn ranges_parse_as_zsl_parse_range() {
        let r = ScoreRange::parse(b"(1", b" 5").unwrap();
        assert!(r.min_exclusive && !r.max_exclusive && r.max == 5.0);
        assert_eq!(ScoreRange::parse(b"", b"(").unwrap().max, 0.0);
        assert_eq!(
            ScoreRange::parse(b"1e400", b"2").unwrap().min,
            f64::INFINITY
        );
        assert!(ScoreRange::parse(b"nan", b"1").is_none());
        assert!(ScoreRange::parse(b"1x", b"1").is_none());
        assert!(LexRange::parse(b"+a", b"-").is_none());
        assert_eq!(LexRange::parse(b"-", b"[b").unwrap().min, LexBound::Min);
    }

    #[test]
    fn listpack_score_text_is_d2string() {
        assert_eq!(score_text(3.0), "3");
        assert_eq!(score_text(-0.0), "0");
        assert_eq!(score_text(1.5), "1.5");
        // Read off ZSCAN of a listpack in redis-server 7.0.15.
        assert_eq!(score_text(1e17), "100000000000000000");
        assert_eq!(score_text(-4611686018427387904.0), "-4611686018427387904");
        assert_eq!(score_text(9223372036854775807.0), "9.2233720368547758e+18");
        assert_eq!(score_text(1e19), "1e+19");
        assert_eq!(score_text(f64::INFINITY), "inf");
    }
}
