//! BITFIELD's integers: signed and unsigned fields of 1 to 64 bits at any bit offset of
//! a string, read and written most significant bit first, with Redis's overflow rules.

/// The type of a field: `i1`..`i64` or `u1`..`u63`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldType {
    /// Two's complement when true.
    pub signed: bool,
    /// Width in bits.
    pub bits: u32,
}

impl FieldType {
    /// Parses `i16`, `u8`...: Redis refuses `u64` (its replies are signed) and any width
    /// outside 1..=64, leading zeros and signs included.
    pub fn parse(text: &[u8]) -> Option<FieldType> {
        let (&sign, digits) = text.split_first()?;
        let signed = match sign {
            b'i' => true,
            b'u' => false,
            _ => return None,
        };
        let bits = crate::number::parse_i64(digits)?;
        let max = if signed { 64 } else { 63 };
        (1..=max).contains(&bits).then_some(FieldType {
            signed,
            bits: bits as u32,
        })
    }
}

/// What INCRBY and SET do when the result does not fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overflow {
    /// Keep the low bits (the default).
    #[default]
    Wrap,
    /// Clamp to the type's minimum or maximum.
    Sat,
    /// Write nothing; the reply is null.
    Fail,
}

/// Reads `bits` bits at bit `offset` of `bytes` as an unsigned number; bits past the
/// end read as zeros.
pub fn get_unsigned(bytes: &[u8], offset: u64, bits: u32) -> u64 {
    (0..u64::from(bits)).fold(0u64, |value, j| {
        (value << 1) | u64::from(crate::bits::get_bit(bytes, offset + j))
    })
}

/// Reads a field of type `ty` at bit `offset`, sign-extended when signed.
pub fn get(bytes: &[u8], offset: u64, ty: FieldType) -> i64 {
    let raw = get_unsigned(bytes, offset, ty.bits);
    if ty.signed && ty.bits < 64 && raw & (1 << (ty.bits - 1)) != 0 {
        (raw | (u64::MAX << ty.bits)) as i64
    } else {
        raw as i64
    }
}

/// Writes the low `bits` bits of `value` at bit `offset` of `buf`, which covers them.
pub fn set(buf: &mut [u8], offset: u64, bits: u32, value: u64) {
    for j in 0..u64::from(bits) {
        let on = value & (1 << (u64::from(bits) - 1 - j)) != 0;
        crate::bits::set_bit(buf, offset + j, on);
    }
}

/// The value a field of type `ty` holding `old` takes after adding `incr`, under
/// `overflow`; `None` when it overflows and `overflow` is [`Overflow::Fail`]. SET is
/// the same with `old` the new value and `incr` 0.
pub fn add(old: i64, incr: i64, ty: FieldType, overflow: Overflow) -> Option<i64> {
    let bits = ty.bits;
    // Signed fields hold old in range already; unsigned ones are read as u64 and cast.
    let (min, max): (i128, i128) = if ty.signed {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    };
    let old_wide = if ty.signed {
        i128::from(old)
    } else {
        i128::from(old as u64)
    };
    let sum = old_wide + i128::from(incr);
    if (min..=max).contains(&sum) {
        return Some(sum as i64);
    }
    match overflow {
        Overflow::Fail => None,
        Overflow::Sat => Some(if sum > max { max as i64 } else { min as i64 }),
        Overflow::Wrap => {
            let low = (sum as u64)
                & if bits == 64 {
                    u64::MAX
                } else {
                    (1 << bits) - 1
                };
            Some(if ty.signed && bits < 64 && low & (1 << (bits - 1)) != 0 {
                (low | (u64::MAX << bits)) as i64
            } else {
                low as i64
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(text: &str) -> FieldType {
        FieldType::parse(text.as_bytes()).expect("a valid type")
    }

    #[test]
    fn types_follow_redis() {
        assert_eq!(
            ty("i64"),
            FieldType {
                signed: true,
                bits: 64
            }
        );
        assert_eq!(ty("u63").bits, 63);
        for bad in ["u64", "i65", "i0", "i08", "U8", "i", "i+8", "8", ""] {
            assert!(FieldType::parse(bad.as_bytes()).is_none(), "{bad}");
        }
    }

    #[test]
    fn fields_cross_bytes() {
        let mut buf = vec![0u8; 2];
        set(&mut buf, 7, 5, 23);
        assert_eq!(buf, [0b0000_0001, 0b0111_0000]);
        assert_eq!(get(&buf, 7, ty("u5")), 23);
        assert_eq!(get(&buf, 7, ty("i5")), -9);
        assert_eq!(get(&[0xff; 8], 0, ty("i64")), -1);
        assert_eq!(get(&[], 100, ty("u8")), 0);
    }

    #[test]
    fn overflow_rules() {
        let u2 = ty("u2");
        assert_eq!(add(3, 1, u2, Overflow::Wrap), Some(0));
        assert_eq!(add(3, 1, u2, Overflow::Sat), Some(3));
        assert_eq!(add(0, -1, u2, Overflow::Sat), Some(0));
        assert_eq!(add(3, 1, u2, Overflow::Fail), None);
        let i8 = ty("i8");
        assert_eq!(add(127, 1, i8, Overflow::Wrap), Some(-128));
        assert_eq!(add(-128, -1, i8, Overflow::Sat), Some(-128));
        assert_eq!(add(100, 0, i8, Overflow::Fail), Some(100));
        assert_eq!(add(200, 0, i8, Overflow::Wrap), Some(-56));
        let i64 = ty("i64");
        assert_eq!(add(i64::MAX, 1, i64, Overflow::Wrap), Some(i64::MIN));
        assert_eq!(add(i64::MAX, 1, i64, Overflow::Sat), Some(i64::MAX));
        let u63 = ty("u63");
        assert_eq!(add(-1, 0, u63, Overflow::Wrap), Some(i64::MAX));
        assert_eq!(add(-1, 0, u63, Overflow::Sat), Some(i64::MAX));
        assert_eq!(add(0, -5, u63, Overflow::Sat), Some(0));
    }
}
