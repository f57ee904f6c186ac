//! INCRBYFLOAT arithmetic in the platform's C `long double`, as Redis does it.
//!
//! See `csrc/long_double.c` for why this is not done in `f64`.

use std::ffi::c_char;

/// Size of the result buffer; large enough for any finite x87 long double in fixed notation.
const RESULT_CAPACITY: usize = 5 * 1024;

unsafe extern "C" {
    fn tessera_long_double_add(
        current: *const c_char,
        current_len: usize,
        increment: *const c_char,
        increment_len: usize,
        out: *mut c_char,
        cap: usize,
        out_len: *mut usize,
    ) -> i32;
    fn tessera_long_double_valid(text: *const c_char, len: usize) -> i32;
}

/// Why a long double addition failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloatAddError {
    /// The stored value is not a float.
    CurrentNotFloat,
    /// The increment is not a float.
    IncrementNotFloat,
    /// The sum is NaN or infinite.
    NotFinite,
}

/// `current + increment` parsed and printed as Redis prints INCRBYFLOAT results.
pub fn add(current: &[u8], increment: &[u8]) -> Result<Vec<u8>, FloatAddError> {
    let mut out = vec![0u8; RESULT_CAPACITY];
    let mut len = 0usize;
    // SAFETY: every pointer is valid for the length passed with it, and the C side
    // writes at most `cap` bytes into `out` and one usize into `len`.
    let rc = unsafe {
        tessera_long_double_add(
            current.as_ptr().cast(),
            current.len(),
            increment.as_ptr().cast(),
            increment.len(),
            out.as_mut_ptr().cast(),
            out.len(),
            &mut len,
        )
    };
    match rc {
        0 => {
            out.truncate(len);
            Ok(out)
        }
        1 => Err(FloatAddError::CurrentNotFloat),
        2 => Err(FloatAddError::IncrementNotFloat),
        // 4 (cannot be printed) only happens for values beyond any finite long double.
        _ => Err(FloatAddError::NotFinite),
    }
}

/// True when `text` is a float Redis would accept as an INCRBYFLOAT operand.
pub fn is_valid(text: &[u8]) -> bool {
    // SAFETY: the pointer is valid for `text.len()` bytes and only read.
    unsafe { tessera_long_double_valid(text.as_ptr().cast(), text.len()) == 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(a: &str, b: &str) -> String {
        String::from_utf8(add(a.as_bytes(), b.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn matches_redis_7_digits() {
        // Each expectation was read off redis-server 7.0.15.
        assert_eq!(sum("10", "1.5"), "11.5");
        assert_eq!(sum("10.50", "0.1"), "10.6");
        assert_eq!(sum("10.6", "1e3"), "1010.59999999999999998");
        assert_eq!(
            sum("1010.59999999999999998", "5.0e3"),
            "6010.60000000000000009"
        );
        assert_eq!(sum("0", "-0"), "0");
        assert_eq!(sum("5", "-5"), "0");
    }

    #[test]
    fn rejects_what_redis_rejects() {
        assert_eq!(add(b"abc", b"1"), Err(FloatAddError::CurrentNotFloat));
        assert_eq!(add(b"1", b" 1"), Err(FloatAddError::IncrementNotFloat));
        assert_eq!(add(b"1", b"1 "), Err(FloatAddError::IncrementNotFloat));
        assert_eq!(add(b"1", b""), Err(FloatAddError::IncrementNotFloat));
        assert_eq!(add(b"1", b"nan"), Err(FloatAddError::IncrementNotFloat));
        assert_eq!(add(b"1", b"inf"), Err(FloatAddError::NotFinite));
        assert_eq!(add(b"1", b"1e99999"), Err(FloatAddError::IncrementNotFloat));
        assert!(is_valid(b"1e400"));
        assert!(!is_valid(b"1,5"));
    }
}
