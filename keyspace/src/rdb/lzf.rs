//! LZF, the compression Redis applies to long strings in RDB files.
//!
//! A compressed stream is a sequence of control bytes: below 32, a run of `ctrl + 1`
//! literal bytes follows; otherwise a back reference copies `(ctrl >> 5) + 2` bytes (plus
//! an extra length byte when that field is 7) from `((ctrl & 31) << 8) + next + 1` bytes
//! back. Any valid stream decompresses the same, so our compressor need not match
//! liblzf's output byte for byte.

/// Longest distance a back reference can reach.
const MAX_OFFSET: usize = 1 << 13;
/// Longest match one back reference can encode.
const MAX_MATCH: usize = 255 + 7 + 2;
/// Longest literal run.
const MAX_LITERAL: usize = 32;
const HASH_BITS: u32 = 14;

fn hash(b: &[u8]) -> usize {
    let v = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
    (v.wrapping_mul(2_654_435_761) >> (32 - HASH_BITS)) as usize
}

/// Compresses `input`; `None` when the result would not be shorter than `limit` bytes.
pub fn compress(input: &[u8], limit: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(limit);
    let mut table = vec![usize::MAX; 1 << HASH_BITS];
    let mut literals_start = 0;
    let mut i = 0;
    let flush_literals = |out: &mut Vec<u8>, from: usize, to: usize| {
        for run in input[from..to].chunks(MAX_LITERAL) {
            out.push((run.len() - 1) as u8);
            out.extend_from_slice(run);
        }
    };
    while i + 2 < input.len() {
        let h = hash(&input[i..]);
        let candidate = table[h];
        table[h] = i;
        if candidate != usize::MAX
            && i - candidate <= MAX_OFFSET
            && input[candidate..candidate + 3] == input[i..i + 3]
        {
            let max = MAX_MATCH.min(input.len() - i);
            let mut len = 3;
            while len < max && input[candidate + len] == input[i + len] {
                len += 1;
            }
            flush_literals(&mut out, literals_start, i);
            let offset = i - candidate - 1;
            let encoded = len - 2;
            if encoded < 7 {
                out.push(((encoded << 5) | (offset >> 8)) as u8);
            } else {
                out.push(((7 << 5) | (offset >> 8)) as u8);
                out.push((encoded - 7) as u8);
            }
            out.push((offset & 0xff) as u8);
            i += len;
            literals_start = i;
        } else {
            i += 1;
        }
        if out.len() >= limit {
            return None;
        }
    }
    flush_literals(&mut out, literals_start, input.len());
    (out.len() < limit).then_some(out)
}

/// Decompresses `input` into exactly `expected_len` bytes, or `None` if the stream is
/// corrupt or does not produce that length.
pub fn decompress(input: &[u8], expected_len: usize) -> Option<Vec<u8>> {
    // The claimed length is untrusted: LZF expands at most 264 bytes out of 3 bytes in,
    // so no more than that is reserved up front, however large the claim.
    let most = input.len().saturating_mul(88).saturating_add(32);
    let mut out: Vec<u8> = Vec::with_capacity(expected_len.min(most));
    let mut i = 0;
    while i < input.len() {
        let ctrl = input[i] as usize;
        i += 1;
        if ctrl < 32 {
            let run = input.get(i..i + ctrl + 1)?;
            if out.len() + run.len() > expected_len {
                return None;
            }
            out.extend_from_slice(run);
            i += ctrl + 1;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += *input.get(i)? as usize;
                i += 1;
            }
            len += 2;
            let back = ((ctrl & 0x1f) << 8) + *input.get(i)? as usize + 1;
            i += 1;
            if back > out.len() || out.len() + len > expected_len {
                return None;
            }
            let start = out.len() - back;
            // The source may overlap what is being written (runs), so copy bytewise.
            for k in 0..len {
                let b = out[start + k];
                out.push(b);
            }
        }
    }
    (out.len() == expected_len).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decompresses_what_redis_wrote() {
        // "abcabcabc" x 20 as redis-server 7.0.15 stored it in dump.rdb.
        let stored = [
            0x03, b'a', b'b', b'c', b'a', 0xe0, 0xa5, 0x02, 0x01, b'b', b'c',
        ];
        let want = "abcabcabc".repeat(20);
        assert_eq!(decompress(&stored, want.len()).unwrap(), want.as_bytes());
    }

    #[test]
    fn compresses_repetitive_text() {
        let text = "hello hello hello hello hello hello".repeat(10);
        let packed = compress(text.as_bytes(), text.len() - 4).unwrap();
        assert!(packed.len() < text.len() / 4);
        assert_eq!(decompress(&packed, text.len()).unwrap(), text.as_bytes());
        assert!(
            compress(b"abcdefghijklmnopqrstuvwxyz", 22).is_none(),
            "incompressible"
        );
    }

    #[test]
    fn rejects_corrupt_streams() {
        assert!(decompress(&[0x05, b'a'], 6).is_none(), "short literal run");
        assert!(
            decompress(&[0x20, 0x05], 3).is_none(),
            "reference before the start"
        );
        assert!(decompress(&[0x00, b'a'], 2).is_none(), "wrong length");
    }

    proptest! {
        #[test]
        fn round_trip(data in proptest::collection::vec(0u8..4, 0..3000)) {
            if let Some(packed) = compress(&data, data.len() + 64) {
                prop_assert_eq!(decompress(&packed, data.len()).unwrap(), data);
            }
        }

        #[test]
        fn decompress_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200), len in 0usize..500) {
            let _ = decompress(&data, len);
        }
    }
}
