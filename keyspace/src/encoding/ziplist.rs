//! A validating reader of Redis's legacy ziplist, which Redis 7.0 still loads from older
//! RDB files (list, hash and sorted-set ziplists, quicklist version 1 nodes) and converts
//! to listpacks. Tessera never writes ziplists.
//!
//! Layout (little-endian unless noted): `total bytes: u32 | offset of the last entry: u32 |
//! entry count: u16 (65535 = unknown) | entries... | 0xFF`. An entry is
//! `previous entry's size (1 byte below 254, else 0xFE + u32) | encoding | data`:
//!
//! | encoding            | meaning                                      |
//! |---------------------|----------------------------------------------|
//! | `00xxxxxx`          | string, 6-bit length                         |
//! | `01xxxxxx yyyyyyyy` | string, 14-bit length (big-endian)           |
//! | `0x80` + 4 bytes    | string, 32-bit length (big-endian)           |
//! | `0xC0 0xD0 0xE0`    | int16, int32, int64                          |
//! | `0xF0`, `0xFE`      | int24, int8                                  |
//! | `0xF1..=0xFD`       | the integer 0 to 12 in the encoding byte     |

use super::listpack::{ListpackError, LpEntryOwned};

const HEADER_SIZE: usize = 10;
const EOF: u8 = 0xFF;

/// The entries of the ziplist `bytes`, after checking all of its structure (lengths,
/// previous-entry sizes, tail offset, count, terminator). Safe on arbitrary input.
pub fn ziplist_entries(bytes: &[u8]) -> Result<Vec<LpEntryOwned>, ListpackError> {
    if bytes.len() < HEADER_SIZE + 1 {
        return Err(ListpackError);
    }
    let u32_at =
        |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let total = u32_at(0) as usize;
    let tail = u32_at(4) as usize;
    let declared = u16::from_le_bytes([bytes[8], bytes[9]]);
    if total != bytes.len() || bytes[total - 1] != EOF {
        return Err(ListpackError);
    }
    let end = total - 1;
    let mut entries = Vec::new();
    let mut pos = HEADER_SIZE;
    let mut prev_len = 0usize;
    let mut last_start = HEADER_SIZE;
    while pos < end {
        let (entry, len) = decode_entry(&bytes[..end], pos, prev_len).ok_or(ListpackError)?;
        entries.push(entry);
        last_start = pos;
        prev_len = len;
        pos += len;
    }
    if last_start != tail {
        return Err(ListpackError);
    }
    if declared != u16::MAX && usize::from(declared) != entries.len() {
        return Err(ListpackError);
    }
    Ok(entries)
}

/// Decodes the entry at `pos` whose predecessor is `prev_len` bytes: the entry and its
/// whole size. `None` when anything runs past `buf` or disagrees.
fn decode_entry(buf: &[u8], pos: usize, prev_len: usize) -> Option<(LpEntryOwned, usize)> {
    let byte = |i: usize| buf.get(i).copied();
    let (stored_prev, prev_size) = match byte(pos)? {
        0xFE => {
            let b = buf.get(pos + 1..pos + 5)?;
            (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 5)
        }
        n => (usize::from(n), 1),
    };
    if stored_prev != prev_len {
        return None;
    }
    let at = pos + prev_size;
    let enc = byte(at)?;
    let int = |n: usize| -> Option<i64> {
        let b = buf.get(at + 1..at + 1 + n)?;
        let raw = b
            .iter()
            .rev()
            .fold(0u64, |acc, &x| (acc << 8) | u64::from(x));
        // Sign-extend from n bytes.
        let shift = 64 - 8 * n as u32;
        Some(((raw << shift) as i64) >> shift)
    };
    let string = |head: usize, len: usize| -> Option<(LpEntryOwned, usize)> {
        let start = at + head;
        let data = buf.get(start..start.checked_add(len)?)?;
        Some((LpEntryOwned::Str(data.to_vec()), prev_size + head + len))
    };
    let integer = |n: usize| -> Option<(LpEntryOwned, usize)> {
        Some((LpEntryOwned::Int(int(n)?), prev_size + 1 + n))
    };
    match enc {
        0x00..=0x3F => string(1, usize::from(enc & 0x3F)),
        0x40..=0x7F => string(
            2,
            (usize::from(enc & 0x3F) << 8) | usize::from(byte(at + 1)?),
        ),
        0x80 => {
            let b = buf.get(at + 1..at + 5)?;
            string(5, u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        }
        0xC0 => integer(2),
        0xD0 => integer(4),
        0xE0 => integer(8),
        0xF0 => integer(3),
        0xFE => integer(1),
        0xF1..=0xFD => Some((LpEntryOwned::Int(i64::from(enc - 0xF1)), prev_size + 1)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a ziplist the way Redis's ziplist.c lays one out (strings as strings,
    /// integers in the given encodings), for the reader to read back.
    fn build(entries: &[(u8, Vec<u8>)]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev = 0usize;
        let mut tail = HEADER_SIZE;
        for (enc, data) in entries {
            tail = HEADER_SIZE + body.len();
            let start = body.len();
            if prev < 254 {
                body.push(prev as u8);
            } else {
                body.push(0xFE);
                body.extend_from_slice(&(prev as u32).to_le_bytes());
            }
            body.push(*enc);
            body.extend_from_slice(data);
            prev = body.len() - start;
        }
        let total = HEADER_SIZE + body.len() + 1;
        let mut out = Vec::new();
        out.extend_from_slice(&(total as u32).to_le_bytes());
        out.extend_from_slice(&(tail as u32).to_le_bytes());
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&body);
        out.push(EOF);
        out
    }

    fn str6(s: &[u8]) -> (u8, Vec<u8>) {
        (s.len() as u8, s.to_vec())
    }

    #[test]
    fn reads_every_encoding() {
        let long = vec![b'q'; 300];
        let huge = vec![b'h'; 20_000];
        let mut e14 = vec![(300u16 & 0xFF) as u8];
        e14.extend_from_slice(&long);
        let mut e32 = 20_000u32.to_be_bytes().to_vec();
        e32.extend_from_slice(&huge);
        let zl = build(&[
            str6(b"hello"),
            (0x40 | 1, e14),
            (0x80, e32),
            (0xC0, (-2i16).to_le_bytes().to_vec()),
            (0xD0, 100_000i32.to_le_bytes().to_vec()),
            (0xE0, i64::MIN.to_le_bytes().to_vec()),
            (0xF0, vec![0xff, 0xff, 0x7f]),
            (0xF0, vec![0x00, 0x00, 0x80]),
            (0xFE, vec![0x80]),
            (0xF1, vec![]),
            (0xFD, vec![]),
            str6(b""),
        ]);
        let got = ziplist_entries(&zl).expect("valid");
        assert_eq!(
            got,
            vec![
                LpEntryOwned::Str(b"hello".to_vec()),
                LpEntryOwned::Str(long),
                LpEntryOwned::Str(huge),
                LpEntryOwned::Int(-2),
                LpEntryOwned::Int(100_000),
                LpEntryOwned::Int(i64::MIN),
                LpEntryOwned::Int(8_388_607),
                LpEntryOwned::Int(-8_388_608),
                LpEntryOwned::Int(-128),
                LpEntryOwned::Int(0),
                LpEntryOwned::Int(12),
                LpEntryOwned::Str(Vec::new()),
            ]
        );
        assert_eq!(ziplist_entries(&build(&[])), Ok(Vec::new()));
    }

    #[test]
    fn rejects_corruption() {
        let good = build(&[str6(b"ab"), (0xFE, vec![5]), str6(b"cd")]);
        assert!(ziplist_entries(&good).is_ok());
        let mut cases = vec![Vec::new(), good[..good.len() - 1].to_vec()];
        for (i, v) in [
            (0, 1u8),
            (4, 1),
            (8, 7),
            (10, 3),
            (15, 9),
            (15, 0xFE ^ 0xC1),
        ] {
            let mut bad = good.clone();
            bad[i] ^= v;
            cases.push(bad);
        }
        for (i, case) in cases.iter().enumerate() {
            assert_eq!(ziplist_entries(case), Err(ListpackError), "case {i}");
        }
        for cut in 0..good.len() {
            let _ = ziplist_entries(&good[..cut]);
        }
    }
}
