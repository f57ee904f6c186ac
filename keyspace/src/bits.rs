//! Bit arithmetic on string values: GETBIT, BITCOUNT, BITPOS and BITOP.
//!
//! Bit 0 is the most significant bit of the first byte, as in Redis, so a bitmap reads
//! left to right. Bytes past the end of a string read as zeros.

/// Whether a range's indexes count bytes or bits (BITCOUNT and BITPOS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RangeUnit {
    /// Indexes are byte positions (the default).
    #[default]
    Byte,
    /// Indexes are bit positions.
    Bit,
}

/// The value of bit `offset` of `bytes`; zero past the end.
pub fn get_bit(bytes: &[u8], offset: u64) -> bool {
    let byte = offset >> 3;
    usize::try_from(byte)
        .ok()
        .and_then(|i| bytes.get(i))
        .is_some_and(|b| b & (0x80 >> (offset & 7)) != 0)
}

/// Sets bit `offset` of `buf` (which must already cover it) to `on`; returns its old value.
pub fn set_bit(buf: &mut [u8], offset: u64, on: bool) -> bool {
    let mask = 0x80u8 >> (offset & 7);
    let byte = &mut buf[(offset >> 3) as usize];
    let old = *byte & mask != 0;
    if on {
        *byte |= mask;
    } else {
        *byte &= !mask;
    }
    old
}

/// The number of bits set in `bytes`.
pub fn popcount(bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(8);
    let mut total = 0u64;
    for chunk in &mut chunks {
        let word = u64::from_ne_bytes(chunk.try_into().expect("chunks of eight"));
        total += u64::from(word.count_ones());
    }
    total
        + chunks
            .remainder()
            .iter()
            .map(|b| u64::from(b.count_ones()))
            .sum::<u64>()
}

/// A byte range with the bits to ignore in its first and last bytes (set in the masks).
struct Span {
    start: usize,
    end: usize,
    first_mask: u8,
    last_mask: u8,
}

/// Resolves a start/end pair over `len` bytes as BITCOUNT and BITPOS do: negative
/// indexes count from the end, both clamp to the string, and a bit range becomes the
/// bytes that hold it plus masks for the bits outside it. `None` is an empty range.
fn span(len: usize, mut start: i64, mut end: i64, unit: RangeUnit) -> Option<Span> {
    let total = match unit {
        RangeUnit::Byte => len as i64,
        RangeUnit::Bit => (len as i64) << 3,
    };
    if start < 0 {
        start += total;
    }
    if end < 0 {
        end += total;
    }
    start = start.max(0);
    end = end.max(0).min(total - 1);
    if start > end {
        return None;
    }
    Some(match unit {
        RangeUnit::Byte => Span {
            start: start as usize,
            end: end as usize,
            first_mask: 0,
            last_mask: 0,
        },
        RangeUnit::Bit => Span {
            start: (start >> 3) as usize,
            end: (end >> 3) as usize,
            first_mask: !(0xffu8 >> (start & 7)),
            last_mask: (1u8 << (7 - (end & 7))).wrapping_sub(1),
        },
    })
}

/// BITCOUNT: the bits set in `bytes`, within `range` (start, end, unit) when given.
pub fn bitcount(bytes: &[u8], range: Option<(i64, i64, RangeUnit)>) -> u64 {
    let Some((start, end, unit)) = range else {
        return popcount(bytes);
    };
    // Both negative and crossed: empty before the string's length matters.
    if start < 0 && end < 0 && start > end {
        return 0;
    }
    let Some(s) = span(bytes.len(), start, end, unit) else {
        return 0;
    };
    let mut count = popcount(&bytes[s.start..=s.end]);
    count -= u64::from((bytes[s.start] & s.first_mask).count_ones());
    count -= u64::from((bytes[s.end] & s.last_mask).count_ones());
    count
}

/// The position of the first `bit` in `bytes`, or `None`. Whole words of the other
/// value are skipped eight bytes at a time: bitmaps are mostly long runs.
fn first_bit(bytes: &[u8], bit: bool) -> Option<u64> {
    let skip = if bit { 0u8 } else { 0xff };
    let skip_word = if bit { 0u64 } else { u64::MAX };
    let word = |w: &[u8]| u64::from_ne_bytes(w.try_into().expect("eight bytes"));
    // Four words at a time while all of them are skipped, then one at a time.
    let blocks = bytes
        .chunks_exact(32)
        .take_while(|b| b.chunks_exact(8).all(|w| word(w) == skip_word))
        .count()
        * 32;
    let skipped = blocks
        + bytes[blocks..]
            .chunks_exact(8)
            .take_while(|w| word(w) == skip_word)
            .count()
            * 8;
    let i = skipped + bytes[skipped..].iter().position(|&b| b != skip)?;
    let b = if bit { bytes[i] } else { !bytes[i] };
    Some(i as u64 * 8 + u64::from(b.leading_zeros()))
}

/// BITPOS: the position of the first `bit` in `bytes`, within `start..=end` in `unit`
/// when given, or -1. Without an explicit end a search for 0 treats the string as
/// followed by zeros, as Redis does.
pub fn bitpos(
    bytes: &[u8],
    bit: bool,
    start: Option<i64>,
    end: Option<i64>,
    unit: RangeUnit,
) -> i64 {
    let end_given = end.is_some();
    let start = start.unwrap_or(0);
    let end = end.unwrap_or(match unit {
        RangeUnit::Byte => bytes.len() as i64 - 1,
        RangeUnit::Bit => ((bytes.len() as i64) << 3) + 7,
    });
    let Some(s) = span(bytes.len(), start, end, unit) else {
        return -1;
    };
    // The bits outside the range are made to be the opposite of what is sought, in
    // copies of the edge bytes: the bytes between are searched in place.
    let window = &bytes[s.start..=s.end];
    let last = window.len() - 1;
    let masked = |i: usize| {
        let mask = match (i == 0, i == last) {
            (true, true) => s.first_mask | s.last_mask,
            (true, false) => s.first_mask,
            (false, _) => s.last_mask,
        };
        if bit {
            window[i] & !mask
        } else {
            window[i] | mask
        }
    };
    let found = first_bit(&[masked(0)], bit).or_else(|| {
        if last == 0 {
            return None;
        }
        first_bit(&window[1..last], bit)
            .map(|p| p + 8)
            .or_else(|| first_bit(&[masked(last)], bit).map(|p| p + last as u64 * 8))
    });
    match found {
        Some(pos) => (s.start as i64) * 8 + pos as i64,
        None if bit => -1,
        // Only a clear bit past the range is left: it counts when no end was given.
        None if end_given || s.last_mask != 0 => -1,
        None => (s.end as i64 + 1) * 8,
    }
}

/// A BITOP operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitOp {
    /// Bitwise AND of every source.
    And,
    /// Bitwise OR of every source.
    Or,
    /// Bitwise XOR of every source.
    Xor,
    /// Bitwise NOT of the one source.
    Not,
}

/// BITOP: combines `sources` (shorter ones padded with zeros) into a string as long
/// as the longest source.
pub fn bitop(op: BitOp, sources: &[&[u8]]) -> Vec<u8> {
    let len = sources.iter().map(|s| s.len()).max().unwrap_or(0);
    let byte = |s: &[u8], j: usize| s.get(j).copied().unwrap_or(0);
    let Some((first, rest)) = sources.split_first() else {
        return Vec::new();
    };
    let mut out: Vec<u8> = (0..len).map(|j| byte(first, j)).collect();
    match op {
        BitOp::Not => out.iter_mut().for_each(|b| *b = !*b),
        BitOp::And => rest.iter().for_each(|s| {
            out.iter_mut()
                .enumerate()
                .for_each(|(j, b)| *b &= byte(s, j))
        }),
        BitOp::Or => rest
            .iter()
            .for_each(|s| out.iter_mut().zip(s.iter()).for_each(|(b, x)| *b |= x)),
        BitOp::Xor => rest
            .iter()
            .for_each(|s| out.iter_mut().zip(s.iter()).for_each(|(b, x)| *b ^= x)),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_read_left_to_right() {
        let mut buf = vec![0u8; 2];
        assert!(!set_bit(&mut buf, 1, true));
        assert!(set_bit(&mut buf, 1, true));
        set_bit(&mut buf, 15, true);
        assert_eq!(buf, [0x40, 0x01]);
        assert!(get_bit(&buf, 1) && get_bit(&buf, 15) && !get_bit(&buf, 0));
        assert!(!get_bit(&buf, 1 << 40));
    }

    #[test]
    fn bitcount_ranges_follow_redis() {
        // Expectations read off redis-server 7.0.15 with "foobar".
        let s = b"foobar";
        assert_eq!(bitcount(s, None), 26);
        assert_eq!(bitcount(s, Some((0, 0, RangeUnit::Byte))), 4);
        assert_eq!(bitcount(s, Some((1, 1, RangeUnit::Byte))), 6);
        assert_eq!(bitcount(s, Some((5, 30, RangeUnit::Bit))), 17);
        assert_eq!(bitcount(s, Some((-1, -3, RangeUnit::Byte))), 0);
        assert_eq!(bitcount(s, Some((-100, 100, RangeUnit::Byte))), 26);
        assert_eq!(bitcount(b"", Some((0, -1, RangeUnit::Bit))), 0);
    }

    #[test]
    fn bitpos_follows_redis() {
        // Expectations read off redis-server 7.0.15.
        let s = [0xff, 0xf0, 0x00];
        assert_eq!(bitpos(&s, false, None, None, RangeUnit::Byte), 12);
        assert_eq!(bitpos(&s, true, Some(2), None, RangeUnit::Byte), -1);
        assert_eq!(bitpos(&[0xff], false, None, None, RangeUnit::Byte), 8);
        assert_eq!(
            bitpos(&[0xff], false, Some(0), Some(-1), RangeUnit::Byte),
            -1
        );
        assert_eq!(bitpos(&s, true, Some(7), Some(15), RangeUnit::Bit), 7);
        assert_eq!(bitpos(&s, false, Some(7), Some(11), RangeUnit::Bit), -1);
        assert_eq!(
            bitpos(&[0x00, 0xff], true, Some(2), Some(-1), RangeUnit::Bit),
            8
        );
    }

    #[test]
    fn bitpos_crosses_long_runs() {
        let mut zeros = vec![0u8; 1000];
        zeros[777] = 0x10;
        assert_eq!(
            bitpos(&zeros, true, None, None, RangeUnit::Byte),
            777 * 8 + 3
        );
        assert_eq!(bitpos(&zeros, true, Some(778), None, RangeUnit::Byte), -1);
        let mut ones = vec![0xffu8; 1000];
        ones[999] = 0xfe;
        assert_eq!(bitpos(&ones, false, Some(3), None, RangeUnit::Bit), 7999);
        assert_eq!(
            bitpos(&[0xff; 100], false, None, None, RangeUnit::Byte),
            800
        );
    }

    #[test]
    fn bitop_pads_shorter_sources() {
        let (a, b): (&[u8], &[u8]) = (&[0xf0, 0xff], &[0x3c]);
        assert_eq!(bitop(BitOp::And, &[a, b]), [0x30, 0x00]);
        assert_eq!(bitop(BitOp::Or, &[a, b]), [0xfc, 0xff]);
        assert_eq!(bitop(BitOp::Xor, &[a, b]), [0xcc, 0xff]);
        assert_eq!(bitop(BitOp::Not, &[a]), [0x0f, 0x00]);
        assert_eq!(bitop(BitOp::Or, &[b"", b""]), Vec::<u8>::new());
        assert_eq!(popcount(&[0xff; 19]), 152);
    }
}
